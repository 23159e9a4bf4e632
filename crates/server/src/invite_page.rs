//! The public invite page `/i/{code}`: a member's own page where a visitor gives their Matrix id
//! and the bot invites them, recording the referral (`qunzhu_ops::Ops::invite_from_page`).
//! Phone-first, zh/en (the `lang` cookie, `?lang=`, or the browser's language), nothing from
//! outside the binary, and each address may ask a few times per window.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use chrono::{DateTime, Duration, Utc};
use maud::html;
use qunzhu_ops::OpsError;
use serde::Deserialize;

use crate::auth::ClientAddr;
use crate::html::bare_page;
use crate::i18n::Lang;
use crate::Ctx;

/// Requests per address per window: enough for a typo or two, too few to script invites.
pub const PAGE_REQUESTS: usize = 5;
pub const PAGE_WINDOW_MINUTES: i64 = 10;

/// A sliding window of recent requests per client address.
#[derive(Default)]
pub struct PageLimiter {
    recent: Mutex<HashMap<IpAddr, VecDeque<DateTime<Utc>>>>,
}

impl PageLimiter {
    /// Counts a request at `now`; `false` when the address is over its allowance.
    pub fn allow(&self, address: Option<IpAddr>, now: DateTime<Utc>) -> bool {
        // Without a known address (tests, odd proxies) every caller shares one bucket.
        let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let since = now - Duration::minutes(PAGE_WINDOW_MINUTES);
        if recent.len() > 10_000 {
            // Bounded memory: forget addresses whose window is over.
            recent.retain(|_, times| times.back().is_some_and(|at| *at > since));
        }
        let times = recent.entry(address).or_default();
        while times.front().is_some_and(|at| *at <= since) {
            times.pop_front();
        }
        if times.len() >= PAGE_REQUESTS {
            return false;
        }
        times.push_back(now);
        true
    }
}

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/i/{code}", get(show).post(ask))
        .layer(Extension(Arc::new(PageLimiter::default())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct LangQuery {
    pub(crate) lang: Option<String>,
}

pub(crate) fn language(headers: &HeaderMap, query: &LangQuery) -> Lang {
    if let Some(code) = &query.lang {
        return Lang::parse(code);
    }
    if crate::auth::cookie(headers, "lang").is_some() {
        return Lang::from_headers(headers);
    }
    let browser = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if browser.trim_start().starts_with("en") {
        Lang::En
    } else {
        Lang::Zh
    }
}

fn page(
    lang: Lang,
    status: StatusCode,
    code: &str,
    title: Option<&str>,
    notice: Option<(&str, String)>,
    form: bool,
) -> Response {
    let body = html! {
        section class="card invite-page" {
            h1 { (lang.t("invite_page.title")) }
            @if let Some(title) = title { p class="muted" { (title) } }
            @if let Some((kind, text)) = &notice {
                p class={ "notice " (kind) } role=(if *kind == "error" { "alert" } else { "status" }) { (text) }
            }
            @if form {
                p { (lang.t("invite_page.lead")) }
                form method="post" action={ "/i/" (code) "?lang=" (lang.code()) } {
                    label for="matrix_id" { (lang.t("invite_page.label")) }
                    input id="matrix_id" name="matrix_id" type="text" inputmode="email" autocomplete="username"
                        placeholder="@alice:example.org" required maxlength="255";
                    button type="submit" { (lang.t("invite_page.submit")) }
                }
            }
            p { a href={ "/i/" (code) "?lang=" (lang.other().code()) } { (lang.other().t("invite_page.switch")) } }
        }
    };
    let html = bare_page(lang, lang.t("invite_page.title"), &body.into_string());
    (status, Html(html)).into_response()
}

fn refusal(lang: Lang, code: &str, error: &OpsError) -> Response {
    let (status, text) = match error {
        OpsError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            lang.t("invite_page.unknown").to_string(),
        ),
        OpsError::Invalid { field, message } if field == "matrix_id" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{} {message}", lang.t("invite_page.bad_id")),
        ),
        OpsError::Invalid { message, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{} {message}", lang.t("invite_page.unavailable")),
        ),
        other => {
            tracing::error!(error = %other, "invite page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                lang.t("invite_page.later").to_string(),
            )
        }
    };
    let form = status == StatusCode::UNPROCESSABLE_ENTITY;
    page(lang, status, code, None, Some(("error", text)), form)
}

async fn show(
    State(ctx): State<Ctx>,
    Path(code): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(&headers, &query);
    match ctx.ops().invite_page_target(&code).await {
        Ok(target) => page(
            lang,
            StatusCode::OK,
            &code,
            target.title.as_deref(),
            None,
            true,
        ),
        Err(error) => refusal(lang, &code, &error),
    }
}

#[derive(Deserialize)]
struct Ask {
    #[serde(default)]
    matrix_id: String,
}

async fn ask(
    State(ctx): State<Ctx>,
    Extension(limiter): Extension<Arc<PageLimiter>>,
    ClientAddr(address): ClientAddr,
    Path(code): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<Ask>,
) -> Response {
    let lang = language(&headers, &query);
    if !limiter.allow(address, ctx.app.clock.now()) {
        let text = lang.t("invite_page.rate_limited").to_string();
        let mut response = page(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            &code,
            None,
            Some(("error", text)),
            false,
        );
        let retry = (PAGE_WINDOW_MINUTES * 60).to_string();
        if let Ok(value) = header::HeaderValue::from_str(&retry) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    match ctx.ops().invite_from_page(&code, &form.matrix_id).await {
        Ok(invite) => {
            let key = if invite.new {
                "invite_page.sent"
            } else {
                "invite_page.again"
            };
            page(
                lang,
                StatusCode::OK,
                &code,
                None,
                Some(("success", lang.t(key).to_string())),
                false,
            )
        }
        Err(error) => refusal(lang, &code, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_a_few_requests_per_window() {
        let limiter = PageLimiter::default();
        let start = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let one = Some(IpAddr::from([10, 0, 0, 1]));
        let two = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..PAGE_REQUESTS {
            assert!(limiter.allow(one, start));
        }
        assert!(!limiter.allow(one, start + Duration::minutes(9)));
        assert!(
            limiter.allow(two, start),
            "another address has its own allowance"
        );
        assert!(limiter.allow(
            one,
            start + Duration::minutes(PAGE_WINDOW_MINUTES) + Duration::seconds(1)
        ));
    }
}

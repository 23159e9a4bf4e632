//! The public live-code link `/j/{code}` (活码): opening it counts a scan for its channel
//! (`?ch=store`; unknown or missing is `direct`); a Matrix visitor gives their id and the bot
//! invites them into the first group with room (`qunzhu_ops::Ops::join_from_livecode`).
//! `/j/{code}.png` and `/j/{code}.svg` are its QR image, encoding the absolute link.
//! Phone-first and zh/en like the invite page, with the same per-address allowance.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use maud::html;
use qunzhu_ops::{livecode_link, LiveJoin, OpsError};
use serde::Deserialize;

use crate::auth::ClientAddr;
use crate::html::bare_page;
use crate::i18n::Lang;
use crate::invite_page::{language, LangQuery, PageLimiter, PAGE_WINDOW_MINUTES};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/j/{code}", get(show).post(ask))
        .layer(Extension(Arc::new(PageLimiter::default())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    lang: Option<String>,
    ch: Option<String>,
}

impl PageQuery {
    fn lang(&self, headers: &HeaderMap) -> Lang {
        language(
            headers,
            &LangQuery {
                lang: self.lang.clone(),
            },
        )
    }

    /// The query string the form and the language switch keep (the channel travels on).
    fn keep(&self, lang: Lang) -> String {
        let channel = qunzhu_growth::livecode::channel(self.ch.as_deref());
        format!("?lang={}&ch={channel}", lang.code())
    }
}

struct Notice<'a> {
    kind: &'a str,
    text: String,
}

fn page(
    lang: Lang,
    status: StatusCode,
    code: &str,
    query: &PageQuery,
    title: Option<&str>,
    notice: Option<Notice<'_>>,
    form: bool,
) -> Response {
    let other = lang.other();
    let body = html! {
        section class="card invite-page" {
            h1 { (lang.t("livecode_page.title")) }
            @if let Some(title) = title { p class="muted" { (title) } }
            @if let Some(notice) = &notice {
                p class={ "notice " (notice.kind) } role=(if notice.kind == "error" { "alert" } else { "status" }) { (notice.text) }
            }
            @if form {
                p { (lang.t("livecode_page.lead")) }
                form method="post" action={ "/j/" (code) (query.keep(lang)) } {
                    label for="matrix_id" { (lang.t("invite_page.label")) }
                    input id="matrix_id" name="matrix_id" type="text" inputmode="email" autocomplete="username"
                        placeholder="@alice:example.org" required maxlength="255";
                    button type="submit" { (lang.t("invite_page.submit")) }
                }
            }
            p { a href={ "/j/" (code) (query.keep(other)) } { (other.t("invite_page.switch")) } }
        }
    };
    let html = bare_page(lang, lang.t("livecode_page.title"), &body.into_string());
    (status, Html(html)).into_response()
}

fn refusal(lang: Lang, code: &str, query: &PageQuery, error: &OpsError) -> Response {
    let (status, text) = match error {
        OpsError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            lang.t("livecode_page.unknown").to_string(),
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
            tracing::error!(error = %other, "live-code page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                lang.t("invite_page.later").to_string(),
            )
        }
    };
    let form = status == StatusCode::UNPROCESSABLE_ENTITY;
    let notice = Notice {
        kind: "error",
        text,
    };
    page(lang, status, code, query, None, Some(notice), form)
}

/// The QR image of a code's absolute link, as PNG or SVG.
async fn image(ctx: &Ctx, code: &str, png: bool) -> Response {
    if let Err(error) = ctx.ops().livecode_target(code).await {
        let status = match error {
            OpsError::NotFound(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        return (status, "no such live code").into_response();
    }
    let link = livecode_link(&ctx.app.base_url, code);
    let qr = match qunzhu_qr::Qr::encode(&link) {
        Ok(qr) => qr,
        Err(error) => {
            tracing::error!(%error, "live-code QR failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if png {
        match qr.png(8) {
            Ok(bytes) => ([(header::CONTENT_TYPE, "image/png")], bytes).into_response(),
            Err(error) => {
                tracing::error!(%error, "live-code PNG failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    } else {
        ([(header::CONTENT_TYPE, "image/svg+xml")], qr.svg()).into_response()
    }
}

async fn show(
    State(ctx): State<Ctx>,
    Path(code): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    // One route for the page and its images: a path segment cannot hold a parameter and a suffix.
    if let Some(code) = code.strip_suffix(".png") {
        return image(&ctx, code, true).await;
    }
    if let Some(code) = code.strip_suffix(".svg") {
        return image(&ctx, code, false).await;
    }
    let lang = query.lang(&headers);
    match ctx.ops().scan_livecode(&code, query.ch.as_deref()).await {
        Ok(target) => page(
            lang,
            StatusCode::OK,
            &code,
            &query,
            Some(&target.code.title),
            None,
            true,
        ),
        Err(error) => refusal(lang, &code, &query, &error),
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
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    Form(form): Form<Ask>,
) -> Response {
    let lang = query.lang(&headers);
    if !limiter.allow(address, ctx.app.clock.now()) {
        let notice = Notice {
            kind: "error",
            text: lang.t("invite_page.rate_limited").to_string(),
        };
        let mut response = page(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            &code,
            &query,
            None,
            Some(notice),
            false,
        );
        let retry = (PAGE_WINDOW_MINUTES * 60).to_string();
        if let Ok(value) = header::HeaderValue::from_str(&retry) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    match ctx
        .ops()
        .join_from_livecode(&code, &form.matrix_id, query.ch.as_deref())
        .await
    {
        Ok(LiveJoin::Invited { new, .. }) => {
            let key = if new {
                "invite_page.sent"
            } else {
                "invite_page.again"
            };
            let notice = Notice {
                kind: "success",
                text: lang.t(key).to_string(),
            };
            page(
                lang,
                StatusCode::OK,
                &code,
                &query,
                None,
                Some(notice),
                false,
            )
        }
        Ok(LiveJoin::Full) => {
            let notice = Notice {
                kind: "error",
                text: lang.t("livecode_page.full").to_string(),
            };
            page(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                &code,
                &query,
                None,
                Some(notice),
                false,
            )
        }
        Err(error) => refusal(lang, &code, &query, &error),
    }
}

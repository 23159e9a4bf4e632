//! The public live-code link `/j/{code}` (活码): opening it counts a scan for its channel
//! (`?ch=store`; unknown or missing is `direct`); a Matrix visitor gives their id and the bot
//! invites them into the first group with room (`qunzhu_ops::Ops::join_from_livecode`).
//! `/j/{code}.png` and `/j/{code}.svg` are its QR image, encoding the absolute link.
//! Phone-first and zh/en like the invite page, with the same per-address allowance.
//!
//! A Telegram visitor gives nothing: the page keeps a random token in a cookie (`qz_lc`, so a
//! reload takes no second seat and counts no second scan), seats them like anyone and hands
//! them their group's invite link for their channel (`qunzhu_ops::Ops::link_from_livecode`); a
//! WeCom visitor is sent (303) to their channel's join way QR image. While the link or way is
//! still being made the page waits a moment, then refreshes itself.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use maud::html;
use qunzhu_domain::Platform;
use qunzhu_ops::{livecode_link, valid_token, LinkJoin, LiveJoin, LiveTarget, OpsError};
use serde::Deserialize;

use crate::auth::ClientAddr;
use crate::html::{bare_page, bare_page_with_head};
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

fn refusal(
    lang: Lang,
    code: &str,
    query: &PageQuery,
    error: &OpsError,
    with_form: bool,
) -> Response {
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
    let form = with_form && status == StatusCode::UNPROCESSABLE_ENTITY;
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
    let target = match ctx.ops().livecode_target(&code).await {
        Ok(target) => target,
        Err(error) => return refusal(lang, &code, &query, &error, false),
    };
    match target.code.platform {
        Platform::Telegram | Platform::WeCom => {
            by_link(&ctx, lang, &code, &query, &headers, &target).await
        }
        platform => {
            if let Err(error) = ctx.ops().count_scan_of(&target, query.ch.as_deref()).await {
                return refusal(lang, &code, &query, &error, false);
            }
            // Only Matrix visitors can be invited by id; elsewhere the group's own code is the way.
            let notice = (platform != Platform::Matrix).then(|| Notice {
                kind: "info",
                text: lang.t("livecode_page.other_app").to_string(),
            });
            page(
                lang,
                StatusCode::OK,
                &code,
                &query,
                Some(&target.code.title),
                notice,
                platform == Platform::Matrix,
            )
        }
    }
}

const TOKEN_COOKIE: &str = "qz_lc";

/// The visitor's page token from the cookie, if it is one.
fn token_from(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == TOKEN_COOKIE && valid_token(value)).then(|| value.to_string())
    })
}

/// A visitor who joins by a link: on Telegram a seat by token and their group's invite link; on
/// WeCom the channel's join way, whose QR image they are sent to. A page waits while it is made.
async fn by_link(
    ctx: &Ctx,
    lang: Lang,
    code: &str,
    query: &PageQuery,
    headers: &HeaderMap,
    target: &LiveTarget,
) -> Response {
    let (token, fresh) = match token_from(headers) {
        Some(token) => (token, false),
        None => (format!("{:032x}", rand::random::<u128>()), true),
    };
    // A scan is a visitor: a reload (same cookie) is not counted again.
    if fresh {
        if let Err(error) = ctx.ops().count_scan_of(target, query.ch.as_deref()).await {
            return refusal(lang, code, query, &error, false);
        }
    }
    let channel = query.ch.as_deref();
    let mut outcome = ctx.ops().link_from_livecode(target, &token, channel).await;
    // The dispatcher usually makes a new link within a second: wait a little for it first.
    for _ in 0..4 {
        if !matches!(outcome, Ok(LinkJoin::Preparing { .. })) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        outcome = ctx.ops().link_from_livecode(target, &token, channel).await;
    }
    // WeCom's join way is a QR image for WeChat to read: the visitor is sent to it.
    if let (Platform::WeCom, Ok(LinkJoin::Ready { url, .. })) = (target.code.platform, &outcome) {
        let response = (StatusCode::SEE_OTHER, [(header::LOCATION, url.clone())]).into_response();
        return with_token(response, &token, fresh);
    }
    let again = format!("/j/{code}{}", query.keep(lang));
    let other = lang.other();
    let (status, head, notice, url) = match outcome {
        Ok(LinkJoin::Ready { url, .. }) => (
            StatusCode::OK,
            String::new(),
            Notice {
                kind: "success",
                text: lang.t("livecode_page.telegram_lead").to_string(),
            },
            Some(url),
        ),
        Ok(LinkJoin::Preparing { .. }) => (
            StatusCode::OK,
            format!(
                r#"<meta http-equiv="refresh" content="3;url={}">"#,
                crate::html::esc(&again)
            ),
            Notice {
                kind: "info",
                text: lang.t("livecode_page.preparing").to_string(),
            },
            None,
        ),
        Ok(LinkJoin::Full) => (
            StatusCode::SERVICE_UNAVAILABLE,
            String::new(),
            Notice {
                kind: "error",
                text: lang.t("livecode_page.full").to_string(),
            },
            None,
        ),
        Err(error) => return with_token(refusal(lang, code, query, &error, false), &token, fresh),
    };
    let preparing = url.is_none() && status == StatusCode::OK;
    let body = html! {
        section class="card invite-page" {
            h1 { (lang.t("livecode_page.title")) }
            p class="muted" { (target.code.title) }
            p class={ "notice " (notice.kind) } role=(if notice.kind == "error" { "alert" } else { "status" }) { (notice.text) }
            @if let Some(url) = &url {
                p { a class="btn primary" href=(url) rel="noopener" { (lang.t("livecode_page.open_telegram")) } }
            }
            @if preparing {
                p { a href=(again) { (lang.t("livecode_page.refresh")) } }
            }
            p { a href={ "/j/" (code) (query.keep(other)) } { (other.t("invite_page.switch")) } }
        }
    };
    let html = bare_page_with_head(
        lang,
        lang.t("livecode_page.title"),
        &head,
        &body.into_string(),
    );
    with_token((status, Html(html)).into_response(), &token, fresh)
}

/// Gives a fresh visitor their token cookie (30 days, this page's path only).
fn with_token(mut response: Response, token: &str, fresh: bool) -> Response {
    if fresh {
        let cookie =
            format!("{TOKEN_COOKIE}={token}; Max-Age=2592000; Path=/j; HttpOnly; SameSite=Lax");
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
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
        Err(error) => refusal(lang, &code, &query, &error, true),
    }
}

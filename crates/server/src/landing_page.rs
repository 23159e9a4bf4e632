//! The public landing pages `/h5/{workspace}/{page}` (H5 落地页) and their one renderer.
//!
//! [`render`] turns a checked page into a whole HTML document: phone-first, its own stylesheet
//! (`/assets/landing.css`), no script, nothing from outside the binary. The console's live
//! preview calls the same function, so what the operator previews is what visitors get.
//! A view is counted per channel (`?ch=`) when the page is shown, a phone when it is kept (once
//! per page and phone), a join when the button is followed (`/join` counts, then redirects).
//! An invalid number re-renders the page with the error next to the field (422), storing nothing.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use maud::{html, Markup, DOCTYPE};
use qunzhu_growth::{Bottom, LandingPage, Proof};
use qunzhu_ops::{OpsError, PhoneOutcome, PublicPage};
use qunzhu_storage::LandingHit;
use serde::Deserialize;

use crate::auth::ClientAddr;
use crate::html::url_part;
use crate::invite_page::PageLimiter;
use crate::Ctx;

/// What the bottom part shows besides the page itself.
#[derive(Debug, Clone, Default)]
pub struct Render {
    /// The page's public path (`/h5/brand/spring`); forms and buttons point under it.
    pub base: String,
    /// The visitor's `?ch=` as given, carried into the form and the join button.
    pub channel: Option<String>,
    /// What the visitor typed, shown again beside its error.
    pub typed: String,
    /// The error next to the phone field.
    pub error: Option<String>,
    /// The number was kept: the thanks replace the form.
    pub thanked: bool,
}

fn words(page: &LandingPage) -> (&'static str, &'static str, &'static str) {
    if page.english {
        ("Phone number", "Mainland mobile, or +country code", "en")
    } else {
        ("手机号", "11 位手机号，境外号码请加 +国家代码", "zh-CN")
    }
}

fn with_channel(path: &str, channel: &Option<String>) -> String {
    match channel
        .as_deref()
        .map(str::trim)
        .filter(|ch| !ch.is_empty())
    {
        Some(ch) => format!("{path}?ch={}", url_part(ch)),
        None => path.to_string(),
    }
}

fn proof(block: &Proof) -> Markup {
    match block {
        Proof::Credential { title, text } => html! {
            div.block.credential { h3 { (title) } p { (text) } }
        },
        Proof::Review { author, text } => html! {
            blockquote.block.review { p { (text) } footer { "— " (author) } }
        },
        Proof::Fact { value, label } => html! {
            div.block.fact { strong { (value) } span { (label) } }
        },
    }
}

fn bottom(page: &LandingPage, state: &Render) -> Markup {
    let (label, hint, _) = words(page);
    match &page.bottom {
        Bottom::Phone {
            cta,
            thanks,
            consent,
        } => html! {
            @if state.thanked {
                p.thanks role="status" data-thanks { (thanks) }
            } @else {
                form.capture method="post" action=(with_channel(&format!("{}/phone", state.base), &state.channel)) novalidate {
                    label for="phone" { (label) }
                    input #phone name="phone" type="tel" inputmode="tel" autocomplete="tel" maxlength="32"
                        placeholder=(hint) value=(state.typed)
                        aria-invalid=[state.error.as_ref().map(|_| "true")]
                        aria-describedby=[state.error.as_ref().map(|_| "phone-error")];
                    @if let Some(error) = &state.error {
                        p #phone-error.field-error role="alert" { (error) }
                    }
                    button.cta type="submit" { (cta) }
                    @if let Some(consent) = consent { p.consent { (consent) } }
                }
            }
        },
        Bottom::Join { cta, .. } => html! {
            a.cta href=(with_channel(&format!("{}/join", state.base), &state.channel)) data-join { (cta) }
        },
    }
}

/// The whole page as visitors get it (and as the console previews it).
pub fn render(page: &LandingPage, state: &Render) -> String {
    let (_, _, lang) = words(page);
    let top = &page.top;
    html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (page.title) }
                link rel="stylesheet" href="/assets/landing.css";
            }
            body class={ "landing theme-" (page.theme) } data-landing=(page.slug) {
                header.top {
                    h1 { (top.headline) }
                    @if let Some(subtitle) = &top.subtitle { p.subtitle { (subtitle) } }
                    p.bait { (top.bait) }
                    a.cta href="#act" { (top.cta) }
                }
                @if !page.middle.is_empty() {
                    main.middle { @for block in &page.middle { (proof(block)) } }
                }
                footer.bottom #act { (bottom(page, state)) }
            }
        }
    }
    .into_string()
}

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/h5/{workspace}/{page}", get(show))
        .route("/h5/{workspace}/{page}/phone", axum::routing::post(phone))
        .route("/h5/{workspace}/{page}/join", get(join))
        .layer(Extension(Arc::new(PageLimiter::default())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Channel {
    ch: Option<String>,
}

fn answer(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// An unknown page or workspace, or a failure: one plain sentence in both languages.
fn refusal(error: &OpsError) -> Response {
    let (status, zh, en) = match error {
        OpsError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            "页面不存在。",
            "There is no such page.",
        ),
        OpsError::Invalid { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "此页面不收集手机号。",
            "This page takes no phone numbers.",
        ),
        other => {
            tracing::error!(error = %other, "landing page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "页面暂时无法使用，请稍后再试。",
                "The page is unavailable; please try again later.",
            )
        }
    };
    let body = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (zh) " · " (en) }
                link rel="stylesheet" href="/assets/landing.css";
            }
            body.landing.theme-dark data-error=(status.as_u16()) { header.top { h1 { (zh) } p { (en) } } }
        }
    };
    answer(status, body.into_string())
}

fn base(workspace: &str, page: &str) -> String {
    format!("/h5/{}/{}", url_part(workspace), url_part(page))
}

async fn show(
    State(ctx): State<Ctx>,
    Path((workspace, slug)): Path<(String, String)>,
    Query(query): Query<Channel>,
) -> Response {
    let ops = ctx.ops();
    let found = match ops.public_landing(&workspace, &slug).await {
        Ok(found) => found,
        Err(error) => return refusal(&error),
    };
    if let Err(error) = ops
        .landing_hit(&found, query.ch.as_deref(), LandingHit::View)
        .await
    {
        // The visitor still gets the page; a lost count is logged, not shown.
        tracing::warn!(%error, "landing view not counted");
    }
    let state = Render {
        base: base(&workspace, &slug),
        channel: query.ch,
        ..Render::default()
    };
    answer(StatusCode::OK, render(&found.page, &state))
}

#[derive(Deserialize)]
struct PhoneForm {
    #[serde(default)]
    phone: String,
}

async fn phone(
    State(ctx): State<Ctx>,
    Extension(limiter): Extension<Arc<PageLimiter>>,
    ClientAddr(address): ClientAddr,
    Path((workspace, slug)): Path<(String, String)>,
    Query(query): Query<Channel>,
    Form(form): Form<PhoneForm>,
) -> Response {
    let ops = ctx.ops();
    let found: PublicPage = match ops.public_landing(&workspace, &slug).await {
        Ok(found) => found,
        Err(error) => return refusal(&error),
    };
    let mut state = Render {
        base: base(&workspace, &slug),
        channel: query.ch.clone(),
        typed: form.phone.chars().take(32).collect(),
        ..Render::default()
    };
    if !limiter.allow(address, ctx.app.clock.now()) {
        state.error = Some(
            if found.page.english {
                "Too many tries from here; please wait a few minutes."
            } else {
                "提交过于频繁，请几分钟后再试。"
            }
            .to_string(),
        );
        return answer(StatusCode::TOO_MANY_REQUESTS, render(&found.page, &state));
    }
    let Some(vault) = ctx.phone_vault.clone() else {
        tracing::error!("a landing page took a phone, but this process has no phone key");
        return refusal(&OpsError::Internal("no phone vault".into()));
    };
    match ops
        .landing_phone(&vault, &found, query.ch.as_deref(), &form.phone)
        .await
    {
        Ok(PhoneOutcome::Kept { .. }) => {
            state.thanked = true;
            state.typed.clear();
            answer(StatusCode::OK, render(&found.page, &state))
        }
        Ok(PhoneOutcome::Refused(error)) => {
            state.error = Some(error.message(found.page.english).to_string());
            answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&found.page, &state),
            )
        }
        Err(error) => refusal(&error),
    }
}

async fn join(
    State(ctx): State<Ctx>,
    Path((workspace, slug)): Path<(String, String)>,
    Query(query): Query<Channel>,
) -> Response {
    let ops = ctx.ops();
    let found = match ops.public_landing(&workspace, &slug).await {
        Ok(found) => found,
        Err(error) => return refusal(&error),
    };
    let Bottom::Join { url, .. } = &found.page.bottom else {
        return refusal(&OpsError::NotFound("join button"));
    };
    if let Err(error) = ops
        .landing_hit(&found, query.ch.as_deref(), LandingHit::Join)
        .await
    {
        tracing::warn!(%error, "landing join not counted");
    }
    Redirect::to(url).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_renderer_escapes_what_the_operator_wrote_and_keeps_the_channel() {
        let source = qunzhu_growth::landing::EXAMPLE.replace("王妈妈", "<script>x</script>");
        let page = qunzhu_growth::parse_landing("spring", &source).unwrap();
        let state = Render {
            base: "/h5/brand/spring".into(),
            channel: Some("xhs".into()),
            typed: "\"><b>".into(),
            error: Some("请填写手机号。".into()),
            thanked: false,
        };
        let out = render(&page, &state);
        assert!(!out.contains("<script>x"), "{out}");
        assert!(out.contains("&lt;script&gt;x"));
        assert!(out.contains(r#"action="/h5/brand/spring/phone?ch=xhs""#));
        assert!(out.contains(r#"aria-describedby="phone-error""#));
        assert!(out.contains("value=\"&quot;&gt;&lt;b&gt;\""));
        assert!(out.contains(r##"href="#act""##), "the early call to action");
        let thanked = render(
            &page,
            &Render {
                thanked: true,
                ..state
            },
        );
        assert!(thanked.contains("data-thanks") && !thanked.contains("<form"));
    }
}

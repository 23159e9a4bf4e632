//! The console: server-rendered pages, sign-in, and the extractors every page uses.
//!
//! [`Page`] signs a GET in (or redirects to `/login?next=…`); [`Posted`] does the same for a form
//! and checks its CSRF field. Role checks live in [`crate::ops`], which every change goes through.

mod analytics;
mod audit;
mod banlist;
mod campaigns;
mod documents;
mod drops;
mod flash_groups;
mod forms;
pub(crate) mod groups;
mod growth_forms;
mod health;
mod help;
mod landing;
mod leaderboards;
mod livecodes;
mod login;
mod lotteries;
mod members;
mod moderation;
mod names;
mod offers;
mod overview;
mod people;
mod plays;
mod points;
mod posters;
mod problem_text;
mod pushes;
mod races;
mod revenue;
mod settings;
mod sop;
mod today;
mod users;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};

use crate::auth::{same_secret, session_principal, CSRF_FIELD};
use crate::error::{ApiError, ErrorCode};
use crate::html::{bare_page, esc, url_part, Shell};
use crate::i18n::Lang;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .merge(login::routes())
        .merge(overview::routes())
        .merge(today::routes())
        .merge(groups::routes())
        .merge(members::routes())
        .merge(documents::routes())
        .merge(moderation::routes())
        .merge(banlist::routes())
        .merge(plays::routes())
        .merge(livecodes::routes())
        .merge(offers::routes())
        .merge(audit::routes())
        .merge(settings::routes())
        .merge(help::routes())
        .merge(users::routes())
        .merge(pushes::routes())
        .merge(revenue::routes())
        .merge(campaigns::routes())
        .merge(posters::routes())
        .merge(crate::invite_page::routes())
        .merge(landing::routes())
        .merge(crate::landing_page::routes())
        .merge(crate::livecode_page::routes())
        .merge(crate::poster_image::routes())
        .merge(analytics::routes())
        .merge(people::routes())
        .merge(lotteries::routes())
        .merge(leaderboards::routes())
        .merge(drops::routes())
        .merge(flash_groups::routes())
        .merge(races::routes())
        .merge(points::routes())
        .fallback(get(not_found))
}

async fn not_found() -> PageError {
    PageError(ApiError::not_found("page"))
}

/// A signed-in page request: the shell to render with.
pub struct Page(pub Shell);

/// Where to send someone whose session ended: back here after signing in.
fn login_redirect(parts: &Parts) -> Response {
    let next = if parts.method == Method::GET {
        parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |pq| pq.as_str().to_string())
    } else {
        // A form posted after the session ended: return to the page the form was on.
        parts
            .headers
            .get(header::REFERER)
            .and_then(|value| value.to_str().ok())
            .and_then(|referer| referer.parse::<axum::http::Uri>().ok())
            .and_then(|uri| uri.path_and_query().map(|pq| pq.as_str().to_string()))
            .unwrap_or_else(|| "/".to_string())
    };
    Redirect::to(&format!("/login?next={}", url_part(&safe_next(&next)))).into_response()
}

/// Only local paths: `next` must never send anyone to another site.
pub fn safe_next(next: &str) -> String {
    if same_origin_path(next) && !next.starts_with("/login") {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// A path on this site and nothing a browser could read as another one: it starts with one `/`,
/// and has no backslash and no control character or whitespace (browsers drop a tab or newline
/// from a URL, which turns `/\t/evil.example` into `//evil.example`).
pub fn same_origin_path(next: &str) -> bool {
    let mut chars = next.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

impl FromRequestParts<Ctx> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_headers(&parts.headers);
        let principal = match session_principal(ctx, &parts.headers).await {
            Ok(Some(principal)) => principal,
            Ok(None) => return Err(login_redirect(parts)),
            Err(error) => return Err(PageError(error).into_response()),
        };
        let workspace = ctx
            .app
            .store
            .workspace(principal.workspace)
            .await
            .map_err(|e| PageError(e.into()).into_response())?;
        let here = parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |pq| pq.as_str().to_string());
        Ok(Page(Shell {
            lang,
            principal,
            here,
            zone: workspace.time_zone,
        }))
    }
}

/// Submitted form fields, in order, with repeats (checkbox lists).
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }
}

/// A signed-in form post whose CSRF field matched the session.
pub struct Posted(pub Shell, pub FormData);

impl FromRequest<Ctx> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Page(shell) = Page::from_request_parts(&mut parts, ctx).await?;
        let request = Request::from_parts(parts, body);
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, ctx)
            .await
            .map_err(|rejection| {
                PageError(ApiError::invalid("form", rejection.body_text())).into_response()
            })?;
        let form = FormData(fields);
        let expected = shell.principal.csrf.as_deref().unwrap_or("");
        if expected.is_empty() || !same_secret(expected, form.get(CSRF_FIELD)) {
            return Err(PageError(ApiError::csrf()).into_response());
        }
        Ok(Posted(shell, form))
    }
}

/// An error page; the message is shown in both languages since it may come before any cookie.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError(error)
    }
}

impl From<qunzhu_ops::OpsError> for PageError {
    fn from(error: qunzhu_ops::OpsError) -> Self {
        PageError(error.into())
    }
}

impl From<qunzhu_storage::StoreError> for PageError {
    fn from(error: qunzhu_storage::StoreError) -> Self {
        PageError(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let key = match self.0.code {
            ErrorCode::NotFound => "error.not_found",
            ErrorCode::Forbidden => "error.forbidden",
            ErrorCode::CsrfFailed => "error.csrf",
            ErrorCode::Internal | ErrorCode::Unavailable => "error.internal",
            _ => "error.title",
        };
        let detail = match self.0.code {
            ErrorCode::InvalidInput | ErrorCode::Conflict | ErrorCode::RateLimited => {
                format!("<p class=\"muted\">{}</p>", esc(&self.0.message))
            }
            _ => String::new(),
        };
        let body = format!(
            r#"<section class="card narrow" data-error="{code}"><h1>{zh_title} · {en_title}</h1><p>{zh}</p><p>{en}</p>{detail}<p><a class="btn" href="/">{zh_back} · {en_back}</a></p></section>"#,
            code = self.0.code.as_str(),
            zh_title = Lang::Zh.t("error.title"),
            en_title = Lang::En.t("error.title"),
            zh = Lang::Zh.t(key),
            en = Lang::En.t(key),
            zh_back = Lang::Zh.t("nav.overview"),
            en_back = Lang::En.t("nav.overview"),
        );
        (
            self.0.code.status(),
            Html(bare_page(Lang::Zh, Lang::Zh.t("error.title"), &body)),
        )
            .into_response()
    }
}

pub type PageResult = Result<Response, PageError>;

/// A rendered page with status 200, or `422` when it shows a form's errors.
pub fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// After a successful form post: back to a page, with a flash key in the query.
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// The flash message a redirect asked for (`?ok=saved`), as a notice.
pub fn flash(shell: &Shell) -> String {
    let query = shell.here.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("ok="))
        .and_then(|key| match key {
            "saved" => Some("common.saved"),
            "decided" => Some("moderation.decided"),
            "undone" => Some("moderation.undone"),
            "revoked" => Some("settings.revoked"),
            "confirmed" => Some("today.confirmed"),
            "removed" => Some("moderation.removals_queued"),
            _ => None,
        })
        .map_or_else(String::new, |key| crate::html::notice("ok", shell.t(key)))
}

/// [`flash`] for pages written with maud (its text is a fixed translation, escaped by `notice`).
pub fn flash_markup(shell: &Shell) -> maud::Markup {
    maud::PreEscaped(flash(shell))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_leads_to_local_pages() {
        for (given, expected) in [
            ("/groups/3?x=1", "/groups/3?x=1"),
            ("//evil.example/", "/"),
            ("https://evil.example/", "/"),
            ("/\\evil", "/"),
            ("/login?next=/", "/"),
            ("", "/"),
            ("/\t/evil.example/", "/"),
            ("/\n/evil.example/", "/"),
            ("/\r\n//evil.example/", "/"),
            ("/\u{0}/evil.example", "/"),
            ("/\u{7f}x", "/"),
            ("/\u{85}/evil.example", "/"),
            ("/ /evil.example", "/"),
            ("/\u{3000}/evil.example", "/"),
            ("\\\\evil.example", "/"),
            ("javascript:alert(1)", "/"),
            ("http:/evil.example", "/"),
            ("evil.example", "/"),
            ("/groups?q=%09", "/groups?q=%09"),
            ("/成员", "/成员"),
        ] {
            assert_eq!(safe_next(given), expected, "{given}");
        }
    }
}

//! Sign-in, sign-out and the language switch.
//!
//! The sign-in form has no session yet, so its CSRF token is a double-submit cookie: a random
//! value set with the form and required back in a hidden field.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{html, safe_next, FormData, Posted};
use crate::auth::{self, cookie, random_secret, same_secret, ClientAddr};
use crate::error::ErrorCode;
use crate::html::{bare_page, esc, notice};
use crate::i18n::Lang;
use crate::Ctx;

const LOGIN_CSRF_COOKIE: &str = "qz_login_csrf";

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang", get(switch_lang))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NextQuery {
    next: Option<String>,
    expired: Option<String>,
}

fn render(
    ctx: &Ctx,
    lang: Lang,
    next: &str,
    login: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = random_secret();
    let error_html = error.map_or_else(String::new, |message| notice("error", message));
    let described = if error.is_some() {
        r#" aria-invalid="true" aria-describedby="login-error""#
    } else {
        ""
    };
    let body = format!(
        r#"<section class="card login">
<div class="brand big"><span class="logo" aria-hidden="true">群</span><div><strong>{app}</strong><small>{tagline}</small></div></div>
<h1>{title}</h1><div id="login-error">{error_html}</div>
<form method="post" action="/login" class="stack">
<input type="hidden" name="_csrf" value="{token}"><input type="hidden" name="next" value="{next}">
<label for="login">{login_label}</label><input id="login" name="login" autocomplete="username" required value="{login}"{described} autofocus>
<label for="password">{password_label}</label><input id="password" name="password" type="password" autocomplete="current-password" required{described}>
<button class="btn primary" type="submit">{submit}</button></form>
<p class="center"><a href="/lang?set={other}&amp;next={next_url}">{switch}</a></p></section>"#,
        app = lang.t("app.name"),
        tagline = lang.t("app.tagline"),
        title = lang.t("login.title"),
        next = esc(next),
        login_label = lang.t("login.login"),
        login = esc(login),
        password_label = lang.t("login.password"),
        submit = lang.t("login.submit"),
        other = lang.other().code(),
        next_url = crate::html::url_part(&format!("/login?next={}", crate::html::url_part(next))),
        switch = lang.t("lang.switch"),
    );
    let secure = if ctx.app.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let set =
        format!("{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict{secure}");
    let mut response = html(status, bare_page(lang, lang.t("login.title"), &body));
    if let Ok(value) = set.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn login_form(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    let error = q.expired.is_some().then(|| lang.t("login.expired"));
    render(&ctx, lang, &next, "", error, StatusCode::OK)
}

async fn login(
    State(ctx): State<Ctx>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(fields);
    let lang = Lang::from_headers(&headers);
    let next = safe_next(form.get("next"));
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(expected, form.get(auth::CSRF_FIELD)) {
        return super::PageError(crate::error::ApiError::csrf()).into_response();
    }
    match auth::sign_in(&ctx, form.get("login"), form.get("password"), address).await {
        Ok((_user, secret)) => {
            let cookie = auth::session_cookie(&secret, ctx.app.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(error) => {
            let (message, status) = match error.code {
                ErrorCode::RateLimited => {
                    (lang.t("login.throttled"), StatusCode::TOO_MANY_REQUESTS)
                }
                ErrorCode::Unauthorized => (lang.t("login.failed"), StatusCode::UNAUTHORIZED),
                ErrorCode::Forbidden => (lang.t("login.disabled"), StatusCode::FORBIDDEN),
                ErrorCode::Unavailable => (lang.t("login.busy"), StatusCode::SERVICE_UNAVAILABLE),
                _ => return super::PageError(error).into_response(),
            };
            render(&ctx, lang, &next, form.get("login"), Some(message), status)
        }
    }
}

async fn logout(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Posted(_shell, _form): Posted,
) -> Response {
    if let Some(secret) = cookie(&headers, auth::SESSION_COOKIE) {
        if let Err(error) = ctx
            .app
            .store
            .delete_session(&auth::sha256_hex(secret))
            .await
        {
            return super::PageError(error.into()).into_response();
        }
    }
    (
        [(
            header::SET_COOKIE,
            auth::clear_session_cookie(ctx.app.secure_cookies),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LangQuery {
    set: String,
    next: Option<String>,
}

/// Remembers the language for a year and goes back to the page.
async fn switch_lang(Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&q.set);
    let next = q
        .next
        .as_deref()
        .filter(|n| n.starts_with("/login"))
        .map_or_else(|| safe_next(q.next.as_deref().unwrap_or("/")), safe_login);
    let cookie = format!(
        "lang={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

/// The sign-in page itself is a fine place to come back to after switching language.
fn safe_login(next: &str) -> String {
    if next.contains("//") || next.contains('\\') {
        "/login".to_string()
    } else {
        next.to_string()
    }
}

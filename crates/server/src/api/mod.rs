//! REST API v1: JSON over the same operations as the console, for scripts and automation.
//!
//! Authentication is a bearer API token or the console's session cookie (then mutating calls
//! need the `X-CSRF-Token` header). Every handler scopes its reads to the principal's workspace.

mod admin;
pub(crate) mod analytics;
mod banlist;
mod campaigns;
pub(crate) mod community;
mod coupons;
mod documents;
pub(crate) mod engine;
mod flash;
mod growth;
mod invites;
mod landing;
mod ledger;
mod livecodes;
mod moderation;
mod offers;
pub mod openapi;
pub(crate) mod orders;
pub(crate) mod people;
mod plays;
pub mod posters;
mod races;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, api_principal, ClientAddr, Principal};
use crate::error::{ApiError, ApiResult};
use crate::Ctx;

/// The authenticated caller of an API route.
pub struct Api(pub Principal);

impl FromRequestParts<Ctx> for Api {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        api_principal(ctx, parts).await.map(Api)
    }
}

/// A JSON body whose problems are answered as `invalid_input` in the API's error shape.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Ctx> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(request, ctx)
            .await
            .map(|Json(value)| Body(value))
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        crate::ErrorCode::PayloadTooLarge,
                        format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
                    )
                } else {
                    ApiError::invalid("body", rejection.body_text())
                }
            })
    }
}

/// Query parameters whose problems are answered as `invalid_input`.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Params(value))
            .map_err(|rejection| ApiError::invalid("query", rejection.body_text()))
    }
}

/// Reads an optional query value where an empty string (an untouched form field) means absent.
pub fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    let text: Option<String> = Option::deserialize(deserializer)?;
    let Some(text) = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    // Numbers parse as JSON numbers; words (enum names) as JSON strings.
    serde_json::from_str::<T>(&text)
        .or_else(|_| serde_json::from_value::<T>(serde_json::Value::String(text.clone())))
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("unexpected value `{text}`")))
}

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/session", post(sign_in).delete(sign_out))
        .route("/me", get(me))
        .merge(community::routes())
        .merge(documents::routes())
        .merge(moderation::routes())
        .merge(ledger::routes())
        .merge(coupons::routes())
        .merge(invites::routes())
        .merge(orders::routes())
        .merge(campaigns::routes())
        .merge(posters::routes())
        .merge(growth::routes())
        .merge(plays::routes())
        .merge(livecodes::routes())
        .merge(flash::routes())
        .merge(races::routes())
        .merge(offers::routes())
        .merge(analytics::routes())
        .merge(people::routes())
        .merge(admin::routes())
        .merge(engine::routes())
        .merge(banlist::routes())
        .merge(landing::routes())
        .fallback(|| async { ApiError::not_found("route") })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    login: String,
    password: String,
}

/// Starts a cookie session (for the console's own scripts); answers the CSRF token to send back.
async fn sign_in(
    axum::extract::State(ctx): axum::extract::State<Ctx>,
    ClientAddr(address): ClientAddr,
    Body(body): Body<SignIn>,
) -> ApiResult<Response> {
    let (user, secret) = auth::sign_in(&ctx, &body.login, &body.password, address).await?;
    let principal = Principal::from_user(&user, Some(auth::csrf_for(&secret)));
    let cookie = auth::session_cookie(&secret, ctx.app.secure_cookies);
    let body = json!({ "user": user, "csrf_token": principal.csrf });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

async fn sign_out(
    axum::extract::State(ctx): axum::extract::State<Ctx>,
    Api(_who): Api,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    if let Some(secret) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        ctx.app
            .store
            .delete_session(&auth::sha256_hex(secret))
            .await?;
    }
    let cookie = auth::clear_session_cookie(ctx.app.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

async fn me(Api(who): Api) -> Json<serde_json::Value> {
    Json(json!({
        "workspace": who.workspace,
        "actor": who.actor.to_string(),
        "role": who.role,
        "display_name": who.display_name,
        "csrf_token": who.csrf,
    }))
}

/// `204 No Content` for operations that answer nothing.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

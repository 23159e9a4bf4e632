//! API for workspace administration: API tokens and console users (admins and owners only).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use qunzhu_ops::UserView;
use qunzhu_storage::{ApiToken, User, UserRole};
use serde::Deserialize;
use serde_json::json;

use super::{no_content, Api, Body};
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/tokens", get(tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/users", get(users).post(create_user))
        .route("/users/{login}", delete(delete_user))
        .route("/users/{login}/disable", post(disable_user))
        .route("/users/{login}/enable", post(enable_user))
        .route("/users/{login}/password", put(set_password))
        .route("/users/{login}/revoke-sessions", post(revoke_sessions))
}

async fn tokens(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<ApiToken>>> {
    who.require(UserRole::Admin)?;
    Ok(Json(ctx.app.store.api_tokens(who.workspace).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: UserRole,
}

/// Answers the token with its secret, which is never shown again.
async fn create_token(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<NewToken>,
) -> ApiResult<(axum::http::StatusCode, Json<serde_json::Value>)> {
    let (token, secret) = ctx
        .ops()
        .create_token(&who.actor(), &body.name, body.role)
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({ "token": token, "secret": secret })),
    ))
}

async fn revoke_token(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    ctx.ops().revoke_token(&who.actor(), id).await?;
    Ok(no_content())
}

async fn users(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(ctx.ops().list_users(&who.actor()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    login: String,
    password: String,
    role: UserRole,
}

async fn create_user(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<NewUserBody>,
) -> ApiResult<(axum::http::StatusCode, Json<User>)> {
    let user = ctx
        .ops()
        .add_user(&who.actor(), &body.login, &body.password, body.role)
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(user)))
}

async fn delete_user(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(login): Path<String>,
) -> ApiResult<Response> {
    ctx.ops().delete_user(&who.actor(), &login).await?;
    Ok(no_content())
}

async fn disable_user(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(login): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(ctx.ops().disable_user(&who.actor(), &login).await?))
}

async fn enable_user(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(login): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(ctx.ops().enable_user(&who.actor(), &login).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

/// Sets a new password; the user's sessions end.
async fn set_password(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(login): Path<String>,
    Body(body): Body<NewPassword>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        ctx.ops()
            .set_password(&who.actor(), &login, &body.password)
            .await?,
    ))
}

async fn revoke_sessions(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(login): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let ended = ctx.ops().revoke_sessions(&who.actor(), &login).await?;
    Ok(Json(json!({ "sessions_ended": ended })))
}

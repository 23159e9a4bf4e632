//! API for workspace administration: API tokens and console users (admins and owners only).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get};
use axum::{Json, Router};
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

async fn users(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<User>>> {
    who.require(UserRole::Admin)?;
    Ok(Json(ctx.app.store.users(who.workspace).await?))
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

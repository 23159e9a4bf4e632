//! API for 秒杀 time-limited offers: create one from its document, list them with their stock
//! counters, read one with its claims, and claim for a member (the shop's door). A refusal
//! (not started, ended, sold out, already claimed, cannot pay) is `409 conflict` whose `field`
//! names the reason, so a shop can tell the buyer exactly why. `GET /swaps` reads the swap board.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu_ops::{ClaimAnswer, OfferView};
use qunzhu_storage::{GroupSwap, StoredOffer};
use serde::Deserialize;

use super::community::parse_platform;
use super::{Api, Body};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/offers", get(list).post(create))
        .route("/offers/{id}", get(one))
        .route("/offers/{id}/claims", post(claim))
        .route("/swaps", get(swaps))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    /// The offer document (TOML).
    source: String,
    /// The caller's idempotency key: a retry with the same id creates nothing more.
    request: String,
}

async fn create(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<Create>,
) -> ApiResult<Json<OfferView>> {
    Ok(Json(
        ctx.ops()
            .create_offer(&who.actor(), &body.source, &body.request)
            .await?,
    ))
}

async fn list(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<StoredOffer>>> {
    Ok(Json(ctx.ops().offers(&who.actor(), 100).await?))
}

async fn one(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<i64>,
) -> ApiResult<Json<OfferView>> {
    Ok(Json(ctx.ops().offer(&who.actor(), id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Claim {
    platform: String,
    user: String,
    request: String,
}

async fn claim(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<i64>,
    Body(body): Body<Claim>,
) -> ApiResult<Json<ClaimAnswer>> {
    let platform = parse_platform(&body.platform)?;
    let answer = ctx
        .ops()
        .claim_offer(&who.actor(), id, platform, &body.user, &body.request)
        .await?;
    match &answer.refusal {
        None => Ok(Json(answer)),
        Some(refusal) => Err(ApiError {
            code: ErrorCode::Conflict,
            message: answer.message.clone(),
            field: Some(refusal.code().to_string()),
        }),
    }
}

async fn swaps(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<GroupSwap>>> {
    Ok(Json(ctx.ops().swaps(&who.actor(), 200).await?))
}

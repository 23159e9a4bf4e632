//! API for points: balances and entries per member, the leaders, hand-made grants and
//! deductions, reversals, the reward catalogue, and redemptions the shop makes.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use qunzhu_ops::{Adjustment, MemberPoints, PointsLeader};
use qunzhu_storage::{Posting, Redemption, Reward};
use serde::Deserialize;

use super::community::parse_platform;
use super::{Api, Body, Params};
use crate::error::{ApiError, ApiResult};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/ledger/leaders", get(leaders))
        .route("/ledger/members/{platform}/{user}", get(member_points))
        .route("/ledger/members/{platform}/{user}/adjust", post(adjust))
        .route("/ledger/entries/{key}/reverse", post(reverse))
        .route("/rewards", get(rewards))
        .route("/rewards/{code}", put(put_reward))
        .route("/rewards/{code}/redeem", post(redeem))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Limit {
    limit: Option<usize>,
}

async fn leaders(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Limit>,
) -> ApiResult<Json<Vec<PointsLeader>>> {
    let limit = q.limit.unwrap_or(20);
    Ok(Json(ctx.ops().points_leaders(&who.actor(), limit).await?))
}

async fn member_points(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((platform, user)): Path<(String, String)>,
    Params(q): Params<Limit>,
) -> ApiResult<Json<MemberPoints>> {
    let platform = parse_platform(&platform)?;
    let limit = q.limit.unwrap_or(100);
    Ok(Json(
        ctx.ops()
            .member_points(&who.actor(), platform, &user, limit)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Adjust {
    points: i64,
    #[serde(default)]
    memo: String,
    /// The caller's idempotency key: a retry with the same id changes nothing.
    request: String,
}

async fn adjust(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((platform, user)): Path<(String, String)>,
    Body(body): Body<Adjust>,
) -> ApiResult<Json<Posting>> {
    let platform = parse_platform(&platform)?;
    let adjustment = Adjustment {
        points: body.points,
        memo: body.memo,
        request: body.request,
    };
    Ok(Json(
        ctx.ops()
            .adjust_points(&who.actor(), platform, &user, adjustment)
            .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Reverse {
    memo: String,
}

async fn reverse(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(key): Path<String>,
    Body(body): Body<Reverse>,
) -> ApiResult<Json<Posting>> {
    Ok(Json(
        ctx.ops()
            .reverse_entry(&who.actor(), &key, &body.memo)
            .await?,
    ))
}

async fn rewards(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<Reward>>> {
    Ok(Json(ctx.ops().rewards(&who.actor()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RewardBody {
    name: String,
    cost: i64,
    #[serde(default)]
    stock: Option<i64>,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

async fn put_reward(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(code): Path<String>,
    Body(body): Body<RewardBody>,
) -> ApiResult<Json<Reward>> {
    let reward = Reward {
        code,
        name: body.name,
        cost: body.cost,
        stock: body.stock,
        active: body.active,
    };
    Ok(Json(ctx.ops().put_reward(&who.actor(), reward).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    platform: String,
    user: String,
    /// The shop's order or request id: a retry with the same id spends once.
    request: String,
}

async fn redeem(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(code): Path<String>,
    Body(body): Body<RedeemBody>,
) -> ApiResult<Json<Redemption>> {
    let platform = parse_platform(&body.platform)?;
    if body.user.trim().is_empty() {
        return Err(ApiError::invalid("user", "the member's platform id"));
    }
    Ok(Json(
        ctx.ops()
            .redeem(&who.actor(), &code, platform, &body.user, &body.request)
            .await?,
    ))
}

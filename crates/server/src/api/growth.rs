//! API for the growth tools: lotteries (open, list, standings, sell chances, draw), point drops
//! (schedule, list) and the live leaderboards of a group.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use qunzhu_domain::GroupId;
use qunzhu_growth::drop::DropSpec;
use qunzhu_growth::leaderboard::{Board, Ranked};
use qunzhu_growth::lottery::{ChanceRule, Entry, Prize, PrizeTier};
use qunzhu_ops::{CreateLottery, DrawOutcome, LotteryView, ScheduleDrop};
use qunzhu_storage::{Posting, StoredDrop};
use serde::Deserialize;

use super::community::parse_platform;
use super::{Api, Body, Params};
use crate::error::{ApiError, ApiResult};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/lotteries", get(list).post(create))
        .route("/lotteries/{id}", get(one))
        .route("/lotteries/{id}/entries", get(entries))
        .route("/lotteries/{id}/chances", post(buy))
        .route("/lotteries/{id}/draw", post(draw))
        .route("/drops", get(drops).post(schedule))
        .route("/leaderboards/{board}/groups/{id}", get(board))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    platform: String,
    chat: String,
    #[serde(default)]
    campaign: Option<String>,
    rules: Vec<ChanceRule>,
    prizes: Vec<PrizeTier>,
    #[serde(default)]
    pool: Option<String>,
    closes_at: DateTime<Utc>,
    /// The caller's idempotency key: a retry with the same id opens nothing more.
    request: String,
}

async fn create(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<Create>,
) -> ApiResult<Json<LotteryView>> {
    let platform = parse_platform(&body.platform)?;
    let create = CreateLottery {
        name: body.name,
        platform,
        chat: body.chat,
        campaign: body.campaign,
        rules: body.rules,
        prizes: body.prizes,
        pool: body.pool,
        closes_at: body.closes_at,
        request: body.request,
    };
    Ok(Json(ctx.ops().create_lottery(&who.actor(), create).await?))
}

async fn list(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<LotteryView>>> {
    Ok(Json(ctx.ops().lotteries(&who.actor(), 100).await?))
}

async fn one(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<i64>,
) -> ApiResult<Json<LotteryView>> {
    Ok(Json(ctx.ops().lottery(&who.actor(), id).await?))
}

async fn entries(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<Entry>>> {
    Ok(Json(ctx.ops().lottery_entries(&who.actor(), id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Buy {
    platform: String,
    user: String,
    points: i64,
    /// The caller's idempotency key: a retry with the same id spends nothing more.
    request: String,
}

async fn buy(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<i64>,
    Body(body): Body<Buy>,
) -> ApiResult<Json<Posting>> {
    let platform = parse_platform(&body.platform)?;
    Ok(Json(
        ctx.ops()
            .buy_lottery_chances(
                &who.actor(),
                id,
                platform,
                &body.user,
                body.points,
                &body.request,
            )
            .await?,
    ))
}

async fn draw(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<i64>,
) -> ApiResult<Json<DrawOutcome>> {
    Ok(Json(ctx.ops().draw_lottery(&who.actor(), id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Schedule {
    platform: String,
    chat: String,
    keyword: String,
    shares: u32,
    prize: Prize,
    minutes: u32,
    #[serde(default)]
    starts_at: Option<DateTime<Utc>>,
    /// The caller's idempotency key: a retry with the same id schedules nothing more.
    request: String,
}

async fn schedule(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<Schedule>,
) -> ApiResult<Json<StoredDrop>> {
    let platform = parse_platform(&body.platform)?;
    let drop = ScheduleDrop {
        platform,
        chat: body.chat,
        spec: DropSpec {
            keyword: body.keyword,
            shares: body.shares,
            prize: body.prize,
            minutes: body.minutes,
        },
        starts_at: body.starts_at,
        request: body.request,
    };
    Ok(Json(ctx.ops().schedule_drop(&who.actor(), drop).await?))
}

async fn drops(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<StoredDrop>>> {
    Ok(Json(ctx.ops().drops(&who.actor()).await?))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct BoardQuery {
    limit: Option<usize>,
}

async fn board(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((board, group)): Path<(String, GroupId)>,
    Params(q): Params<BoardQuery>,
) -> ApiResult<Json<Vec<Ranked>>> {
    let board = Board::parse(&board)
        .ok_or_else(|| ApiError::invalid("board", "one of invites, check_ins, points"))?;
    Ok(Json(
        ctx.ops()
            .group_leaderboard(&who.actor(), board, group, q.limit.unwrap_or(10))
            .await?,
    ))
}

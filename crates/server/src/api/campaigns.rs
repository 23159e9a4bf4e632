//! API for invite tasks (任务宝): campaign documents, shipped templates, and the prize review
//! queue with its decisions; every change goes through `qunzhu-ops`.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use qunzhu_domain::CampaignId;
use qunzhu_growth::{PrizeState, TaskPrizeRow};
use qunzhu_ops::{CampaignView, PrizeDecision};
use qunzhu_storage::{Document, PrizeFilter};
use serde::Deserialize;

use super::community::parse_platform;
use super::{no_content, Api, Body, Params};
use crate::error::{ApiError, ApiResult};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/campaigns", get(list))
        .route("/campaigns/apply-template", post(apply_template))
        .route("/campaigns/{name}", put(save).delete(delete))
        .route("/campaign-prizes", get(prizes))
        .route("/campaign-prizes/decide", post(decide))
}

async fn list(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<CampaignView>>> {
    Ok(Json(ctx.ops().campaigns(&who.actor()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: String,
}

async fn save(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
    Body(body): Body<Source>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        ctx.ops()
            .save_campaign(&who.actor(), &name, &body.source)
            .await?,
    ))
}

async fn delete(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    ctx.ops().delete_campaign(&who.actor(), &name).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyTemplate {
    /// `invite_ten` or `join_gift_both`.
    template: String,
    name: String,
    platform: String,
    groups: Vec<String>,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    #[serde(default)]
    language: Option<String>,
}

async fn apply_template(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<ApplyTemplate>,
) -> ApiResult<Json<Document>> {
    let platform = parse_platform(&body.platform)?;
    let english = match body.language.as_deref() {
        None | Some("zh") => false,
        Some("en") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "language",
                format!("`{other}` is not one of zh, en"),
            ))
        }
    };
    let saved = ctx
        .ops()
        .apply_campaign_template(
            &who.actor(),
            &body.template,
            &body.name,
            platform,
            &body.groups,
            body.starts,
            body.ends,
            english,
        )
        .await?;
    Ok(Json(saved))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct PrizeQuery {
    campaign: Option<CampaignId>,
    /// `pending` is the review queue.
    state: Option<String>,
    inviter: Option<String>,
    limit: Option<usize>,
}

pub(crate) fn parse_state(text: &str) -> ApiResult<PrizeState> {
    PrizeState::parse(text).ok_or_else(|| {
        let known: Vec<&str> = PrizeState::ALL.iter().map(|state| state.as_str()).collect();
        ApiError::invalid(
            "state",
            format!("`{text}` is not one of {}", known.join(", ")),
        )
    })
}

async fn prizes(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<PrizeQuery>,
) -> ApiResult<Json<Vec<TaskPrizeRow>>> {
    let filter = PrizeFilter {
        campaign: q.campaign.filter(|campaign| !campaign.as_str().is_empty()),
        state: q
            .state
            .filter(|text| !text.is_empty())
            .map(|text| parse_state(&text))
            .transpose()?,
        inviter: q.inviter.filter(|text| !text.is_empty()),
    };
    Ok(Json(
        ctx.ops()
            .task_prizes(&who.actor(), &filter, q.limit.unwrap_or(100))
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decide {
    campaign: String,
    inviter: String,
    threshold: u32,
    approve: bool,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<Decide>,
) -> ApiResult<Json<TaskPrizeRow>> {
    let decision = if body.approve {
        PrizeDecision::Approve
    } else {
        PrizeDecision::Reject
    };
    let decided = ctx
        .ops()
        .decide_prize(
            &who.actor(),
            &body.campaign,
            &body.inviter,
            body.threshold,
            decision,
            &body.reason,
        )
        .await?;
    Ok(Json(decided))
}

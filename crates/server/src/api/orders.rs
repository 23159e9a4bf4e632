//! API for orders: the shop's signed webhook, the orders list with attribution, campaign costs
//! and ROI, group owners and commission statements.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{Datelike, Duration, NaiveDate};
use qunzhu_domain::GroupId;
use qunzhu_growth::roi::CampaignRoi;
use qunzhu_ops::OpsError;
use qunzhu_storage::{CampaignCost, Order, OrderRecorded, StatementLine};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{empty_as_none, no_content, Api, Body, Params};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::orders_hook::parse_order;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/orders", post(webhook).get(orders))
        .route("/campaigns/roi", get(roi))
        .route("/campaigns/{campaign}/costs", post(add_cost))
        .route("/groups/{id}/owner", put(set_owner))
        .route("/commissions/statement", get(statement))
        .route("/pushes", get(pushes))
}

/// Logs a refused delivery (never the secret or the body) and answers it.
fn refused(error: ApiError) -> ApiError {
    tracing::warn!(code = error.code.as_str(), field = ?error.field, reason = %error.message, "orders webhook refused a delivery");
    error
}

async fn webhook(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let Some(hook) = ctx.orders.clone() else {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "the orders webhook is off: set [orders] secret (or QUNZHU_ORDERS_SECRET)",
        ));
    };
    let now = ctx.app.clock.now();
    let (nonce, remember_until) = hook.verify(&headers, &body, now).map_err(refused)?;
    if !ctx
        .app
        .store
        .remember_nonce(hook.workspace, &nonce, now, remember_until)
        .await?
    {
        return Err(refused(ApiError::new(
            ErrorCode::ReplayedNonce,
            format!("nonce `{nonce}` was already used within the last 5 minutes; sign each delivery with a fresh nonce"),
        )));
    }
    let incoming = parse_order(&body).map_err(refused)?;
    let recorded = ctx
        .ops()
        .accept_order(hook.workspace, incoming, &hook.policy)
        .await
        .map_err(|error| match error {
            OpsError::NotFound("member") => ApiError {
                code: ErrorCode::UnknownMember,
                message: "no member of this workspace has that platform id or member code".into(),
                field: Some("member".into()),
            },
            other => ApiError::from(other),
        })
        .map_err(refused)?;
    let (outcome, order) = match recorded {
        OrderRecorded::New { order } => ("accepted", order),
        OrderRecorded::Duplicate { order } => ("duplicate", order),
    };
    Ok(Json(json!({ "outcome": outcome, "order": order })))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Period {
    #[serde(deserialize_with = "empty_as_none")]
    pub(crate) from: Option<NaiveDate>,
    #[serde(deserialize_with = "empty_as_none")]
    pub(crate) to: Option<NaiveDate>,
    pub(crate) limit: Option<usize>,
}

impl Period {
    /// The days asked for, or the default span ending today (local dates as the caller gave).
    pub(crate) fn days(
        &self,
        today: NaiveDate,
        default_from: NaiveDate,
    ) -> ApiResult<(NaiveDate, NaiveDate)> {
        let to = match self.to {
            Some(day) => ApiError::check_day("to", day)?,
            None => today,
        };
        let from = match self.from {
            Some(day) => ApiError::check_day("from", day)?,
            None => default_from.min(to),
        };
        Ok((from, to))
    }
}

async fn orders(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Period>,
) -> ApiResult<Json<Vec<Order>>> {
    let today = ctx.today(who.workspace).await?;
    let (from, to) = q.days(today, today - Duration::days(29))?;
    Ok(Json(
        ctx.ops()
            .orders(&who.actor(), from, to, q.limit.unwrap_or(200))
            .await?,
    ))
}

async fn roi(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<CampaignRoi>>> {
    Ok(Json(
        ctx.ops()
            .campaign_roi(&who.actor(), ctx.point_value_cents)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cost {
    amount_cents: i64,
    #[serde(default)]
    memo: String,
    /// The caller's idempotency key: a retry with the same id adds nothing more.
    request: String,
}

async fn add_cost(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(campaign): Path<String>,
    Body(body): Body<Cost>,
) -> ApiResult<Json<CampaignCost>> {
    Ok(Json(
        ctx.ops()
            .add_campaign_cost(
                &who.actor(),
                &campaign,
                body.amount_cents,
                &body.memo,
                &body.request,
            )
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Owner {
    owner: String,
}

async fn set_owner(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<GroupId>,
    Body(body): Body<Owner>,
) -> ApiResult<axum::response::Response> {
    ctx.ops()
        .set_group_owner(&who.actor(), id, body.owner.trim())
        .await?;
    Ok(no_content())
}

async fn statement(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Period>,
) -> ApiResult<Json<Vec<StatementLine>>> {
    let today = ctx.today(who.workspace).await?;
    let (from, to) = q.days(today, today.with_day(1).unwrap_or(today))?;
    Ok(Json(
        ctx.ops()
            .commission_statement(&who.actor(), from, to)
            .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Limit {
    limit: Option<usize>,
}

async fn pushes(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Limit>,
) -> ApiResult<Json<Vec<qunzhu_ops::PushEntry>>> {
    let limit = q.limit.unwrap_or(200).clamp(1, 2_000);
    Ok(Json(ctx.ops().pushes(&who.actor(), limit).await?))
}

//! API for analytics: daily rollups (JSON and CSV), the AARRR funnel, the retention triangle
//! (JSON and CSV) and the members behind a cell; every read filters and pages.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use qunzhu_domain::funnel::{CohortRow, FunnelConfig};
use qunzhu_domain::{GroupId, InviteChannel};
use qunzhu_ops::analytics::{
    FactsPage, FateDecision, FateOutcome, FunnelBy, FunnelReport, GroupVerdict,
};
use qunzhu_storage::{FactsQuery, PlatformCountDay, RollupDay, RollupDayQuery};
use serde::Deserialize;
use serde_json::json;

use super::community::parse_platform;
use super::{empty_as_none, Api, Body, Params};
use crate::error::{ApiError, ApiResult};
use crate::pages::groups::csv_cell;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/analytics/days", get(days))
        .route("/analytics/days.csv", get(days_csv))
        .route("/analytics/funnel", get(funnel))
        .route("/analytics/cohorts", get(cohorts))
        .route("/analytics/cohorts.csv", get(cohorts_csv))
        .route("/analytics/cohorts/members", get(cohort_members))
        .route("/analytics/groups", get(group_verdicts))
        .route("/analytics/platform-counts", get(platform_counts))
        .route("/groups/{id}/fate", post(decide_fate))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct VerdictQuery {
    #[serde(deserialize_with = "empty_as_none")]
    dying: Option<bool>,
}

async fn group_verdicts(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<VerdictQuery>,
) -> ApiResult<Json<Vec<GroupVerdict>>> {
    Ok(Json(
        ctx.ops()
            .group_verdicts(&who.actor(), q.dying.unwrap_or(false))
            .await?,
    ))
}

/// One compared day with its difference spelled out, so a client need not subtract.
#[derive(serde::Serialize)]
struct CountedDay {
    #[serde(flatten)]
    day: PlatformCountDay,
    difference: i64,
}

async fn platform_counts(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Filter>,
) -> ApiResult<Json<serde_json::Value>> {
    let today = ctx.app.clock.now().date_naive();
    let to = q.to.unwrap_or(today);
    let from = q.from.unwrap_or(to - Duration::days(29));
    let rows: Vec<CountedDay> = ctx
        .ops()
        .platform_counts(&who.actor(), from, to)
        .await?
        .into_iter()
        .map(|day| CountedDay {
            difference: day.difference(),
            day,
        })
        .collect();
    let differing = rows.iter().filter(|row| row.difference != 0).count();
    Ok(Json(
        json!({ "from": from, "to": to, "differing": differing, "rows": rows }),
    ))
}

async fn decide_fate(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<GroupId>,
    Body(decision): Body<FateDecision>,
) -> ApiResult<Json<FateOutcome>> {
    Ok(Json(
        ctx.ops()
            .decide_group_fate(&who.actor(), id, decision)
            .await?,
    ))
}

/// The selection every analytics read shares.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Filter {
    #[serde(deserialize_with = "empty_as_none")]
    pub platform: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub chat: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub channel: Option<InviteChannel>,
    #[serde(deserialize_with = "empty_as_none")]
    pub campaign: Option<String>,
    /// Joined on or after this day (UTC midnight).
    #[serde(deserialize_with = "empty_as_none")]
    pub joined_from: Option<NaiveDate>,
    /// Joined on or before this day.
    #[serde(deserialize_with = "empty_as_none")]
    pub joined_to: Option<NaiveDate>,
    // Days (rollups).
    #[serde(deserialize_with = "empty_as_none")]
    pub from: Option<NaiveDate>,
    #[serde(deserialize_with = "empty_as_none")]
    pub to: Option<NaiveDate>,
    // Funnel windows and breakdown.
    #[serde(deserialize_with = "empty_as_none")]
    pub by: Option<FunnelBy>,
    #[serde(deserialize_with = "empty_as_none")]
    pub activation_days: Option<u32>,
    #[serde(deserialize_with = "empty_as_none")]
    pub retention_week: Option<u32>,
    #[serde(deserialize_with = "empty_as_none")]
    pub revenue_days: Option<u32>,
    // Cohorts.
    #[serde(deserialize_with = "empty_as_none")]
    pub weeks: Option<usize>,
    #[serde(deserialize_with = "empty_as_none")]
    pub week: Option<NaiveDate>,
    #[serde(deserialize_with = "empty_as_none")]
    pub k: Option<u32>,
    // Paging.
    #[serde(deserialize_with = "empty_as_none")]
    pub offset: Option<usize>,
    #[serde(deserialize_with = "empty_as_none")]
    pub limit: Option<usize>,
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

impl Filter {
    pub(crate) fn group(&self) -> ApiResult<Option<(qunzhu_domain::Platform, String)>> {
        match (&self.platform, &self.chat) {
            (Some(platform), Some(chat)) => Ok(Some((parse_platform(platform)?, chat.clone()))),
            (None, None) => Ok(None),
            _ => Err(ApiError::invalid(
                "chat",
                "a group is named by both `platform` and `chat`",
            )),
        }
    }

    pub(crate) fn facts(&self) -> ApiResult<FactsQuery> {
        Ok(FactsQuery {
            group: self.group()?,
            channel: self.channel,
            campaign: self.campaign.clone(),
            joined_since: self.joined_from.map(midnight),
            joined_until: self.joined_to.map(|day| midnight(day) + Duration::days(1)),
        })
    }

    pub(crate) fn funnel_config(&self, configured: FunnelConfig) -> FunnelConfig {
        FunnelConfig {
            activation_days: self.activation_days.unwrap_or(configured.activation_days),
            retention_week: self.retention_week.unwrap_or(configured.retention_week),
            revenue_days: self.revenue_days.unwrap_or(configured.revenue_days),
        }
    }

    fn days(&self, today: NaiveDate) -> ApiResult<RollupDayQuery> {
        let to = self.to.unwrap_or(today);
        Ok(RollupDayQuery {
            group: self.group()?,
            from: self.from.unwrap_or(to - Duration::days(29)),
            to,
        })
    }
}

async fn read_days(
    ctx: &Ctx,
    who: &crate::Principal,
    q: &Filter,
) -> ApiResult<(usize, Vec<RollupDay>)> {
    let today = ctx.app.clock.now().date_naive();
    Ok(ctx
        .ops()
        .rollup_days(
            &who.actor(),
            &q.days(today)?,
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(1000),
        )
        .await?)
}

async fn days(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Filter>,
) -> ApiResult<Json<serde_json::Value>> {
    let (total, rows) = read_days(&ctx, &who, &q).await?;
    Ok(Json(json!({ "total": total, "rows": rows })))
}

pub(crate) fn csv_response(name: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> Response {
    let mut out = header_row.join(",");
    out.push_str("\r\n");
    for row in rows {
        let line: Vec<String> = row.iter().map(|cell| csv_cell(cell)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        // A byte-order mark so spreadsheet programs read Chinese names as UTF-8.
        format!("\u{feff}{out}"),
    )
        .into_response()
}

pub(crate) fn days_csv_rows(rows: &[RollupDay]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            let c = &row.counts;
            let mut cells = vec![
                row.platform.as_str().to_string(),
                row.chat.clone(),
                row.day.to_string(),
            ];
            cells.extend(
                [
                    c.members_end,
                    c.joins_invited,
                    c.joins_link,
                    c.joins_knock,
                    c.joins_direct,
                    c.left,
                    c.removed,
                    c.speakers,
                    c.messages,
                    c.checkins,
                    c.invites,
                    c.orders,
                    c.revenue_cents,
                    row.clicks,
                ]
                .iter()
                .map(i64::to_string),
            );
            cells
        })
        .collect()
}

pub(crate) const DAYS_CSV_HEADER: &[&str] = &[
    "platform",
    "chat",
    "day",
    "members_end",
    "joins_invited",
    "joins_link",
    "joins_knock",
    "joins_direct",
    "left",
    "removed",
    "speakers",
    "messages",
    "checkins",
    "invites",
    "orders",
    "revenue_cents",
    "clicks",
];

async fn days_csv(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Filter>,
) -> ApiResult<Response> {
    let (_, rows) = read_days(&ctx, &who, &q).await?;
    Ok(csv_response(
        "rollups.csv",
        DAYS_CSV_HEADER,
        days_csv_rows(&rows),
    ))
}

async fn funnel(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Filter>,
) -> ApiResult<Json<FunnelReport>> {
    let config = q.funnel_config(ctx.funnel);
    Ok(Json(
        ctx.ops()
            .funnel(&who.actor(), &q.facts()?, config, q.by)
            .await?,
    ))
}

async fn cohorts(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Filter>,
) -> ApiResult<Json<Vec<CohortRow>>> {
    Ok(Json(
        ctx.ops()
            .cohorts(&who.actor(), &q.facts()?, q.weeks.unwrap_or(12))
            .await?,
    ))
}

async fn cohorts_csv(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Filter>,
) -> ApiResult<Response> {
    let rows = ctx
        .ops()
        .cohorts(&who.actor(), &q.facts()?, q.weeks.unwrap_or(12))
        .await?;
    let width = rows.iter().map(|row| row.active.len()).max().unwrap_or(0);
    let mut header_row = vec!["join_week".to_string(), "size".to_string()];
    header_row.extend((0..width).map(|k| format!("week_{k}")));
    let header_refs: Vec<&str> = header_row.iter().map(String::as_str).collect();
    let lines = rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.week.to_string(), row.size.to_string()];
            cells.extend(row.active.iter().map(u64::to_string));
            cells
        })
        .collect();
    Ok(csv_response("cohorts.csv", &header_refs, lines))
}

async fn cohort_members(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<Filter>,
) -> ApiResult<Json<FactsPage>> {
    Ok(Json(
        ctx.ops()
            .cohort_members(
                &who.actor(),
                &q.facts()?,
                q.week,
                q.k.unwrap_or(0),
                q.offset.unwrap_or(0),
                q.limit.unwrap_or(100),
            )
            .await?,
    ))
}

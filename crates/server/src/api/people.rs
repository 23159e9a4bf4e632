//! API for the people views of analytics: member tiers from behaviour, KOLs and lurkers, each
//! as JSON (paged, with its definition) and CSV, filtered by group and the view's thresholds.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use qunzhu_domain::MemberTier;
use qunzhu_ops::people::{KolFilter, LurkerFilter, Page};
use qunzhu_storage::{KolRow, LurkerRow, MemberTierRow};
use serde::Deserialize;
use serde_json::json;

use super::analytics::csv_response;
use super::community::parse_platform;
use super::{empty_as_none, Api, Params};
use crate::error::{ApiError, ApiResult};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/analytics/tiers", get(tiers))
        .route("/analytics/tiers.csv", get(tiers_csv))
        .route("/analytics/kols", get(kols))
        .route("/analytics/kols.csv", get(kols_csv))
        .route("/analytics/lurkers", get(lurkers))
        .route("/analytics/lurkers.csv", get(lurkers_csv))
}

/// The filters the three views share (each reads the ones that concern it).
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PeopleFilter {
    #[serde(deserialize_with = "empty_as_none")]
    pub platform: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub chat: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub tier: Option<MemberTier>,
    #[serde(deserialize_with = "empty_as_none")]
    pub min_referrals: Option<i64>,
    #[serde(deserialize_with = "empty_as_none")]
    pub max_messages: Option<i64>,
    #[serde(deserialize_with = "empty_as_none")]
    pub grace_days: Option<i64>,
    #[serde(deserialize_with = "empty_as_none")]
    pub offset: Option<usize>,
    #[serde(deserialize_with = "empty_as_none")]
    pub limit: Option<usize>,
}

impl PeopleFilter {
    fn group(&self) -> ApiResult<Option<(qunzhu_domain::Platform, String)>> {
        match (&self.platform, &self.chat) {
            (Some(platform), Some(chat)) => Ok(Some((parse_platform(platform)?, chat.clone()))),
            (None, None) => Ok(None),
            _ => Err(ApiError::invalid(
                "chat",
                "a group is named by both `platform` and `chat`",
            )),
        }
    }

    pub(crate) fn kols(&self) -> ApiResult<KolFilter> {
        Ok(KolFilter {
            group: self.group()?,
            min_referrals: self.min_referrals,
        })
    }

    pub(crate) fn lurkers(&self) -> ApiResult<LurkerFilter> {
        Ok(LurkerFilter {
            group: self.group()?,
            max_messages: self.max_messages,
            grace_days: self.grace_days,
        })
    }

    fn offset(&self) -> usize {
        self.offset.unwrap_or(0)
    }

    fn limit(&self) -> usize {
        self.limit.unwrap_or(100)
    }

    /// CSV exports take everything up to the page cap unless asked for less.
    fn csv_limit(&self) -> usize {
        self.limit.unwrap_or(qunzhu_ops::people::MAX_PAGE)
    }
}

async fn tiers(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<PeopleFilter>,
) -> ApiResult<Json<serde_json::Value>> {
    let page = ctx
        .ops()
        .member_tiers(&who.actor(), q.tier, q.offset(), q.limit())
        .await?;
    Ok(Json(json!({ "rules": ctx.tiers, "page": page })))
}

pub(crate) const TIERS_CSV_HEADER: &[&str] = &[
    "platform",
    "member",
    "tier",
    "spend_cents",
    "points",
    "active_days",
    "checkins",
    "computed_at",
];

pub(crate) fn tiers_csv_rows(page: &Page<MemberTierRow>) -> Vec<Vec<String>> {
    page.rows
        .iter()
        .map(|row| {
            vec![
                row.platform.as_str().to_string(),
                row.member.clone(),
                row.tier.as_str().to_string(),
                row.inputs.spend_cents.to_string(),
                row.inputs.points.to_string(),
                row.inputs.active_days.to_string(),
                row.inputs.checkins.to_string(),
                row.computed_at.to_rfc3339(),
            ]
        })
        .collect()
}

async fn tiers_csv(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<PeopleFilter>,
) -> ApiResult<Response> {
    let page = ctx
        .ops()
        .member_tiers(&who.actor(), q.tier, q.offset(), q.csv_limit())
        .await?;
    Ok(csv_response(
        "tiers.csv",
        TIERS_CSV_HEADER,
        tiers_csv_rows(&page),
    ))
}

async fn kols(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<PeopleFilter>,
) -> ApiResult<Json<serde_json::Value>> {
    let filter = q.kols()?;
    let page = ctx
        .ops()
        .kols(&who.actor(), &filter, q.offset(), q.limit())
        .await?;
    Ok(Json(
        json!({ "definition": filter.definition(), "page": page }),
    ))
}

pub(crate) const KOLS_CSV_HEADER: &[&str] = &[
    "platform",
    "member",
    "referrals_stayed",
    "messages",
    "groups",
];

pub(crate) fn kols_csv_rows(page: &Page<KolRow>) -> Vec<Vec<String>> {
    page.rows
        .iter()
        .map(|row| {
            vec![
                row.platform.as_str().to_string(),
                row.member.clone(),
                row.referrals_stayed.to_string(),
                row.messages.to_string(),
                row.groups.to_string(),
            ]
        })
        .collect()
}

async fn kols_csv(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<PeopleFilter>,
) -> ApiResult<Response> {
    let page = ctx
        .ops()
        .kols(&who.actor(), &q.kols()?, q.offset(), q.csv_limit())
        .await?;
    Ok(csv_response(
        "kols.csv",
        KOLS_CSV_HEADER,
        kols_csv_rows(&page),
    ))
}

async fn lurkers(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<PeopleFilter>,
) -> ApiResult<Json<serde_json::Value>> {
    let filter = q.lurkers()?;
    let page = ctx
        .ops()
        .lurker_view(&who.actor(), &filter, q.offset(), q.limit())
        .await?;
    Ok(Json(
        json!({ "definition": filter.definition(), "page": page }),
    ))
}

pub(crate) const LURKERS_CSV_HEADER: &[&str] = &[
    "platform",
    "chat",
    "member",
    "joined_at",
    "messages",
    "last_active_at",
];

pub(crate) fn lurkers_csv_rows(page: &Page<LurkerRow>) -> Vec<Vec<String>> {
    let when = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map(|at| at.to_rfc3339()).unwrap_or_default()
    };
    page.rows
        .iter()
        .map(|row| {
            vec![
                row.platform.as_str().to_string(),
                row.chat.clone(),
                row.member.clone(),
                when(row.joined_at),
                row.messages.to_string(),
                when(row.last_active_at),
            ]
        })
        .collect()
}

async fn lurkers_csv(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<PeopleFilter>,
) -> ApiResult<Response> {
    let page = ctx
        .ops()
        .lurker_view(&who.actor(), &q.lurkers()?, q.offset(), q.csv_limit())
        .await?;
    Ok(csv_response(
        "lurkers.csv",
        LURKERS_CSV_HEADER,
        lurkers_csv_rows(&page),
    ))
}

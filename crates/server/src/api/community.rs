//! API for the community itself: overview numbers, groups and members.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use qunzhu_domain::{
    local_day, Group, GroupId, Member, MemberId, MemberRole, MemberTier, Platform,
};
use qunzhu_storage::{
    GroupDayRow, GroupUpdate, MemberQuery, MemberSummary, MemberUpdate, StoredEvent,
};
use serde::Deserialize;

use super::{Api, Body, Params};
use crate::error::{ApiError, ApiResult};
use crate::stats::{self, GroupActivity, Overview};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/overview", get(overview))
        .route("/groups", get(groups))
        .route("/group-table", get(group_table))
        .route("/groups/{id}", get(group).patch(update_group))
        .route("/groups/{id}/events", get(group_events))
        .route("/groups/{id}/days", get(group_days))
        .route("/members", get(members))
        .route("/member-page", get(member_page))
        .route(
            "/members/{platform}/{user}",
            get(member).patch(update_member),
        )
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct OverviewQuery {
    days: Option<u32>,
}

async fn overview(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<OverviewQuery>,
) -> ApiResult<Json<Overview>> {
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::invalid("days", "between 1 and 366"));
    }
    let workspace = ctx.app.store.workspace(who.workspace).await?;
    let now = ctx.app.clock.now();
    Ok(Json(
        stats::overview(
            ctx.app.store.as_ref(),
            who.workspace,
            workspace.time_zone,
            now,
            days,
        )
        .await?,
    ))
}

async fn groups(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<GroupActivity>>> {
    let workspace = ctx.app.store.workspace(who.workspace).await?;
    let now = ctx.app.clock.now();
    Ok(Json(
        stats::group_activity(
            ctx.app.store.as_ref(),
            who.workspace,
            workspace.time_zone,
            now,
        )
        .await?,
    ))
}

/// The group table: per group today / 7 / 30 days, capacity and health, filtered and sorted
/// like the console's `/groups`.
async fn group_table(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<crate::group_table::TableQuery>,
) -> ApiResult<Json<Vec<crate::group_table::GroupRow>>> {
    let view = q
        .view()
        .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let workspace = ctx.app.store.workspace(who.workspace).await?;
    let table = ctx.group_rows(who.workspace, workspace.time_zone).await?;
    let rows = view.select(&table);
    // Every matching row, or one page of them when `page` is given.
    let rows = match q.page {
        Some(_) => rows
            .chunks(crate::group_table::PAGE_ROWS)
            .nth(view.page.saturating_sub(1))
            .unwrap_or_default()
            .to_vec(),
        None => rows,
    };
    Ok(Json(rows.into_iter().cloned().collect()))
}

async fn group(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<GroupId>,
) -> ApiResult<Json<Group>> {
    Ok(Json(ctx.app.store.group(who.workspace, id).await?))
}

async fn update_group(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<GroupId>,
    Body(update): Body<GroupUpdate>,
) -> ApiResult<Json<Group>> {
    let group = ctx.ops().update_group(&who.actor(), id, update).await?;
    ctx.snapshots.groups.forget(who.workspace);
    Ok(Json(group))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Limit {
    limit: Option<usize>,
}

async fn group_events(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<GroupId>,
    Params(q): Params<Limit>,
) -> ApiResult<Json<Vec<StoredEvent>>> {
    let group = ctx.app.store.group(who.workspace, id).await?;
    let limit = q.limit.unwrap_or(50).min(500);
    Ok(Json(
        ctx.app
            .store
            .recent_events(who.workspace, &group.chat, limit)
            .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct DayRange {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

async fn group_days(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<GroupId>,
    Params(q): Params<DayRange>,
) -> ApiResult<Json<Vec<GroupDayRow>>> {
    let group = ctx.app.store.group(who.workspace, id).await?;
    let workspace = ctx.app.store.workspace(who.workspace).await?;
    let to = match q.to {
        Some(day) => ApiError::check_day("to", day)?,
        None => local_day(ctx.app.clock.now(), workspace.time_zone),
    };
    let from = match q.from {
        Some(day) => ApiError::check_day("from", day)?,
        None => to - Duration::days(29),
    };
    if from > to || (to - from).num_days() > 366 {
        return Err(ApiError::invalid(
            "from",
            "from must be on or before to, at most 366 days apart",
        ));
    }
    Ok(Json(
        ctx.app
            .store
            .group_days(who.workspace, Some(group.id), from, to)
            .await?,
    ))
}

/// Member search as query parameters; days are counted back from now.
#[derive(Deserialize, Default, Debug, Clone, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MemberParams {
    #[serde(deserialize_with = "super::empty_as_none")]
    pub text: Option<String>,
    #[serde(deserialize_with = "super::empty_as_none")]
    pub tag: Option<String>,
    #[serde(deserialize_with = "super::empty_as_none")]
    pub tier: Option<MemberTier>,
    #[serde(deserialize_with = "super::empty_as_none")]
    pub role: Option<MemberRole>,
    #[serde(deserialize_with = "super::empty_as_none")]
    pub group_id: Option<GroupId>,
    #[serde(deserialize_with = "super::empty_as_none")]
    pub active_days: Option<i64>,
    #[serde(deserialize_with = "super::empty_as_none")]
    pub silent_days: Option<i64>,
    #[serde(deserialize_with = "super::empty_as_none")]
    pub limit: Option<usize>,
}

impl MemberParams {
    /// Builds the store query; `days` filters count back from `now`.
    pub fn to_query(&self, now: chrono::DateTime<chrono::Utc>) -> MemberQuery {
        let non_empty = |text: &Option<String>| {
            text.as_ref()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        };
        MemberQuery {
            text: non_empty(&self.text),
            tag: non_empty(&self.tag),
            tier: self.tier,
            role: self.role,
            group_id: self.group_id,
            active_since: self
                .active_days
                .map(|days| now - Duration::days(days.clamp(0, 3650))),
            silent_since: self
                .silent_days
                .map(|days| now - Duration::days(days.clamp(0, 3650))),
            limit: Some(self.limit.unwrap_or(200).min(1000)),
        }
    }
}

async fn members(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<MemberParams>,
) -> ApiResult<Json<Vec<MemberSummary>>> {
    if let Some(id) = q.group_id {
        // Makes another workspace's group id a 404 rather than an empty list.
        ctx.app.store.group(who.workspace, id).await?;
    }
    let query = q.to_query(ctx.app.clock.now());
    Ok(Json(ctx.app.store.members(who.workspace, &query).await?))
}

pub(crate) fn parse_platform(text: &str) -> ApiResult<Platform> {
    Platform::parse(text).map_err(|error| ApiError::invalid("platform", error.to_string()))
}

async fn member(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((platform, user)): Path<(String, MemberId)>,
) -> ApiResult<Json<serde_json::Value>> {
    let platform = parse_platform(&platform)?;
    let member = ctx.app.store.member(who.workspace, platform, &user).await?;
    let history = ctx.ops().member_history(&who.actor(), &member, 100).await?;
    Ok(Json(
        serde_json::json!({ "member": member, "history": history }),
    ))
}

async fn update_member(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((platform, user)): Path<(String, MemberId)>,
    Body(update): Body<MemberUpdate>,
) -> ApiResult<Json<Member>> {
    let platform = parse_platform(&platform)?;
    Ok(Json(
        ctx.ops()
            .update_member(&who.actor(), platform, &user, update)
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouched_filter_fields_mean_no_filter_and_bad_words_are_refused() {
        let parse = |query: &str| serde_urlencoded::from_str::<MemberParams>(query);
        let empty = parse("text=&tag=&tier=&role=&group_id=&active_days=&silent_days=")
            .expect("empty filters");
        assert_eq!(empty, MemberParams::default());
        let some = parse("tier=vip&role=kol&group_id=7&silent_days=28").expect("filters");
        assert_eq!(
            (some.tier, some.role, some.group_id, some.silent_days),
            (
                Some(MemberTier::Vip),
                Some(MemberRole::Kol),
                Some(GroupId(7)),
                Some(28)
            )
        );
        assert!(parse("tier=gold").is_err());
        assert!(parse("group_id=seven").is_err());
    }
}

/// Members sorted (`sort`: last_spoke, messages, checkins, clicks, joined) and paged (`page`,
/// 50 a page), with the total; bots and members gone from every group only with `bots=1`, `gone=1`.
async fn member_page(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<PageParams>,
) -> ApiResult<Json<qunzhu_storage::MemberPage>> {
    let now = ctx.app.clock.now();
    let base = q.filter().to_query(now);
    let sort = match q.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => qunzhu_storage::MemberSort::parse(text)
            .ok_or_else(|| ApiError::invalid("sort", format!("unknown sort `{text}`")))?,
        None => qunzhu_storage::MemberSort::default(),
    };
    let page = q.page.unwrap_or(1).max(1);
    let query = qunzhu_storage::MemberPageQuery {
        text: base.text,
        tag: base.tag,
        tier: base.tier,
        role: base.role,
        group_id: base.group_id,
        active_since: base.active_since,
        silent_since: base.silent_since,
        include_bots: q.bots == Some(1),
        include_gone: q.gone == Some(1),
        sort,
        offset: (page - 1) * MEMBER_PAGE,
        limit: MEMBER_PAGE,
    };
    Ok(Json(
        ctx.app.store.member_page(who.workspace, &query).await?,
    ))
}

const MEMBER_PAGE: usize = 50;

/// The member filters plus sort, page and the two "show hidden" switches.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct PageParams {
    #[serde(deserialize_with = "super::empty_as_none")]
    text: Option<String>,
    #[serde(deserialize_with = "super::empty_as_none")]
    tag: Option<String>,
    #[serde(deserialize_with = "super::empty_as_none")]
    tier: Option<MemberTier>,
    #[serde(deserialize_with = "super::empty_as_none")]
    role: Option<MemberRole>,
    #[serde(deserialize_with = "super::empty_as_none")]
    group_id: Option<GroupId>,
    #[serde(deserialize_with = "super::empty_as_none")]
    active_days: Option<i64>,
    #[serde(deserialize_with = "super::empty_as_none")]
    silent_days: Option<i64>,
    sort: Option<String>,
    #[serde(deserialize_with = "super::empty_as_none")]
    page: Option<usize>,
    #[serde(deserialize_with = "super::empty_as_none")]
    bots: Option<u8>,
    #[serde(deserialize_with = "super::empty_as_none")]
    gone: Option<u8>,
}

impl PageParams {
    fn filter(&self) -> MemberParams {
        MemberParams {
            text: self.text.clone(),
            tag: self.tag.clone(),
            tier: self.tier,
            role: self.role,
            group_id: self.group_id,
            active_days: self.active_days,
            silent_days: self.silent_days,
            limit: None,
        }
    }
}

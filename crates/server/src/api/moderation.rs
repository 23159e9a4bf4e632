//! API for moderation and the record: join requests, bot actions and undo, lurkers, outbox, audit.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu_domain::{ActionId, ActionRecord, ActionStatus, GroupId};
use qunzhu_storage::{ActionFilter, AuditEntry, StoredEvent};
use serde::Deserialize;

use super::{no_content, Api, Body, Params};
use crate::error::{ApiError, ApiResult};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/join-requests", get(join_requests))
        .route("/join-requests/decide", post(decide))
        .route("/moderation/actions", get(bot_actions))
        .route("/moderation/actions/{id}/undo", post(undo))
        .route("/moderation/lurkers", get(lurkers))
        .route("/moderation/lurker-reports", get(lurker_reports))
        .route("/groups/{id}/lurkers/confirm", post(confirm_lurkers))
        .route("/tasks", get(tasks))
        .route("/tasks/{id}/confirm", post(confirm_task))
        .route("/actions", get(actions))
        .route("/audit", get(audit_log))
}

async fn join_requests(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<StoredEvent>>> {
    Ok(Json(
        ctx.app.store.pending_join_requests(who.workspace).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decide {
    group_id: GroupId,
    member: String,
    approve: bool,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<Decide>,
) -> ApiResult<Response> {
    ctx.ops()
        .decide_join_request(
            &who.actor(),
            body.group_id,
            &body.member,
            body.approve,
            &body.reason,
        )
        .await?;
    Ok(no_content())
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ActionQuery {
    status: Option<ActionStatus>,
    chat: Option<String>,
    origin: Option<String>,
    limit: Option<usize>,
}

async fn bot_actions(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<ActionQuery>,
) -> ApiResult<Json<Vec<ActionRecord>>> {
    let filter = ActionFilter {
        status: q.status,
        chat: q.chat,
        origin_prefix: Some(format!(
            "{}{}",
            qunzhu_domain::ActionOrigin::RULE_PREFIX,
            q.origin.unwrap_or_default()
        )),
        limit: Some(q.limit.unwrap_or(100).min(1000)),
    };
    Ok(Json(ctx.app.store.actions(who.workspace, &filter).await?))
}

async fn undo(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<ActionId>,
) -> ApiResult<Response> {
    ctx.ops().undo_action(&who.actor(), id).await?;
    Ok(no_content())
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct LurkerQuery {
    days: Option<i64>,
}

async fn lurkers(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<LurkerQuery>,
) -> ApiResult<Json<Vec<qunzhu_moderation::LurkerEntry>>> {
    let days = q.days.unwrap_or(28);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::invalid("days", "between 1 and 3650"));
    }
    Ok(Json(ctx.ops().lurkers(&who.actor(), days).await?))
}

async fn actions(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<ActionQuery>,
) -> ApiResult<Json<Vec<ActionRecord>>> {
    let filter = ActionFilter {
        status: q.status,
        chat: q.chat,
        origin_prefix: q.origin,
        limit: Some(q.limit.unwrap_or(100).min(1000)),
    };
    Ok(Json(ctx.app.store.actions(who.workspace, &filter).await?))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct AuditQuery {
    before: Option<i64>,
    limit: Option<usize>,
}

async fn audit_log(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let limit = q.limit.unwrap_or(100).min(1000);
    Ok(Json(
        ctx.app
            .store
            .audit_log(who.workspace, q.before, limit)
            .await?,
    ))
}

/// Dry-run lurker removals of the last week's reports, waiting for "确认移出".
async fn lurker_reports(
    State(ctx): State<Ctx>,
    Api(who): Api,
) -> ApiResult<Json<Vec<ActionRecord>>> {
    Ok(Json(ctx.ops().lurker_report(&who.actor(), None).await?))
}

async fn confirm_lurkers(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<GroupId>,
) -> ApiResult<Json<qunzhu_ops::Removals>> {
    Ok(Json(
        ctx.ops().confirm_lurker_removals(&who.actor(), id).await?,
    ))
}

/// Posts a person must make (platforms that cannot send by themselves), oldest due first.
async fn tasks(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<ActionRecord>>> {
    let query = qunzhu_storage::ActionQuery {
        kinds: vec!["person_task".into()],
        statuses: vec![ActionStatus::Pending],
        limit: 1000,
        ..qunzhu_storage::ActionQuery::default()
    };
    let mut tasks = ctx.app.store.query_actions(who.workspace, &query).await?;
    tasks.sort_by_key(|t| t.not_before);
    Ok(Json(tasks))
}

async fn confirm_task(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<ActionId>,
) -> ApiResult<Json<ActionRecord>> {
    Ok(Json(ctx.ops().confirm_task(&who.actor(), id).await?))
}

//! Operator operations the cockpit pages added (confirming a person task, turning a dry-run
//! lurker report into removals), shared by the console and the API like everything in
//! [`crate::ops`]: role checked, workspace kept, one audit entry each.
//! They move into the `qunzhu-ops` crate with the rest of the operations layer.

use chrono::Duration;
use qunzhu_domain::{ActionKind, ActionRecord, ActionStatus, NewAction};
use qunzhu_storage::{ActionOutcome, ActionQuery, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ops::audit;
use crate::Ctx;

/// Marks a post a person had to make (`person_task`) as done.
pub async fn confirm_person_task(
    ctx: &Ctx,
    who: &Principal,
    action_id: i64,
) -> ApiResult<ActionRecord> {
    who.require(UserRole::Operator)?;
    let task = ctx.app.store.action(action_id).await?;
    // Looked up by id alone: another workspace's task must look missing.
    if task.workspace != who.workspace {
        return Err(ApiError::not_found("task"));
    }
    if !matches!(task.kind, ActionKind::PersonTask { .. }) {
        return Err(ApiError::invalid("action", "not a task for a person"));
    }
    if task.status != ActionStatus::Pending {
        return Err(ApiError {
            code: ErrorCode::Conflict,
            message: format!("task {action_id} is already {}", task.status.as_str()),
            field: None,
        });
    }
    let now = ctx.app.clock.now();
    ctx.app
        .store
        .finish_action(
            action_id,
            ActionOutcome::Done {
                receipt: Some(format!("confirmed:{}", who.actor)),
            },
            now,
        )
        .await?;
    audit(
        ctx,
        who,
        "sop.task_confirm",
        &task.chat,
        json!({ "action": action_id, "key": task.key }),
    )
    .await?;
    Ok(ctx.app.store.action(action_id).await?)
}

/// What confirming a lurker report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Removals {
    /// Kicks in the report.
    pub reported: usize,
    /// Kicks newly written to the outbox (a second confirmation writes none).
    pub queued: usize,
}

/// How far back a dry-run lurker report can still be confirmed.
const REPORT_DAYS: i64 = 7;

/// The dry-run lurker removals of a group's recent reports, newest first.
pub async fn lurker_report(
    ctx: &Ctx,
    who: &Principal,
    chat: Option<&str>,
) -> ApiResult<Vec<ActionRecord>> {
    let query = ActionQuery {
        chat: chat.map(str::to_string),
        kinds: vec!["kick".into()],
        origins: vec!["rule:lurker:".into()],
        statuses: vec![ActionStatus::DryRun],
        since: Some(ctx.app.clock.now() - Duration::days(REPORT_DAYS)),
        limit: 10_000,
        ..ActionQuery::default()
    };
    Ok(ctx.app.store.query_actions(who.workspace, &query).await?)
}

/// "确认移出": turns a group's dry-run lurker report into removals through the outbox, each kick
/// keyed by the dry-run action it confirms, so confirming twice removes once.
pub async fn confirm_lurker_removals(
    ctx: &Ctx,
    who: &Principal,
    group_id: i64,
) -> ApiResult<Removals> {
    who.require(UserRole::Operator)?;
    let group = ctx.app.store.group(who.workspace, group_id).await?;
    let report = lurker_report(ctx, who, Some(&group.chat)).await?;
    if report.is_empty() {
        return Err(ApiError::not_found("lurker report"));
    }
    let now = ctx.app.clock.now();
    let mut seen = std::collections::HashSet::new();
    let actions: Vec<NewAction> = report
        .iter()
        // One removal per member even if several days' reports name them.
        .filter(|dry| match &dry.kind {
            ActionKind::Kick { member, .. } => seen.insert(member.clone()),
            _ => false,
        })
        .map(|dry| NewAction {
            workspace: who.workspace,
            platform: dry.platform,
            chat: dry.chat.clone(),
            key: format!("{}:confirmed", dry.key),
            kind: dry.kind.clone(),
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: dry.origin.clone(),
            cause: Some(dry.key.clone()),
        })
        .collect();
    let reported = actions.len();
    let queued = ctx.app.store.enqueue(actions).await?;
    audit(
        ctx,
        who,
        "lurker.confirm",
        &group.chat,
        json!({ "reported": reported, "queued": queued }),
    )
    .await?;
    Ok(Removals { reported, queued })
}

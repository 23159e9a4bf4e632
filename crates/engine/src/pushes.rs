//! What each scheduled push led to: reach, delivery, lateness, clicks and replies.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionKind, ActionStatus, WorkspaceId};
use qunzhu_storage::{ActionFilter, LinkStats, PushRow, Store};
use serde::Serialize;

/// The numbers of one push (one SOP occurrence in one group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    pub key: String,
    pub chat: String,
    pub origin: String,
    pub scheduled: DateTime<Utc>,
    pub status: ActionStatus,
    pub sent_at: Option<DateTime<Utc>>,
    /// Seconds after its scheduled time it went out.
    pub late_seconds: Option<i64>,
    /// Members in the group when it went out.
    pub reach: u64,
    pub clicks: u64,
    pub unique_clickers: u64,
    /// Messages by members (not bots) in the group within an hour after it went out.
    pub replies_within_hour: u64,
    /// What it was sent as (or, before it went out, its template).
    pub text: String,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
}

/// The latest `limit` SOP pushes of a workspace, newest first, from the read models: the
/// outbox row, what it was sent as (reach counted then) and the replies the consumer counted.
pub async fn push_reports(
    store: &dyn Store,
    workspace: WorkspaceId,
    limit: usize,
) -> qunzhu_storage::Result<Vec<PushReport>> {
    let filter = ActionFilter {
        origin_prefix: Some("sop:".into()),
        limit: Some(limit),
        ..ActionFilter::default()
    };
    let actions: Vec<_> = store
        .actions(workspace, &filter)
        .await?
        .into_iter()
        .filter(|action| {
            matches!(
                action.kind,
                ActionKind::SendMessage { .. } | ActionKind::PersonTask { .. }
            )
        })
        .collect();
    let ids: Vec<i64> = actions.iter().map(|action| action.id).collect();
    let mut rendered: HashMap<i64, PushRow> = store
        .pushes(workspace, &ids)
        .await?
        .into_iter()
        .map(|row| (row.action, row))
        .collect();
    let mut reports = Vec::with_capacity(actions.len());
    for action in actions {
        let row = rendered.remove(&action.id);
        let sent = action.status == ActionStatus::Done;
        // Links exist from planning on, but nobody can click one before it is sent.
        let stats = if sent {
            store.push_link_stats(workspace, &action.key).await?
        } else {
            LinkStats::default()
        };
        let template = match &action.kind {
            ActionKind::SendMessage { text, .. } | ActionKind::PersonTask { text } => text.clone(),
            _ => String::new(),
        };
        reports.push(PushReport {
            late_seconds: action.lateness().map(|late| late.num_seconds()),
            key: action.key,
            chat: action.chat,
            origin: action.origin,
            scheduled: action.not_before,
            status: action.status,
            sent_at: action.done_at,
            reach: row.as_ref().filter(|_| sent).map_or(0, |row| row.reach),
            clicks: stats.clicks,
            unique_clickers: stats.unique_visitors,
            replies_within_hour: row
                .as_ref()
                .filter(|_| sent)
                .map_or(0, |row| row.replies_within_hour),
            text: row.map_or(template, |row| row.text),
            reason: action.last_error,
        });
    }
    Ok(reports)
}

/// How a push turned out, for calendars and lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushOutcome {
    /// Not sent yet (waiting, or being sent).
    Queued,
    Sent,
    /// Sent, but more than [`LATE_AFTER_SECONDS`] after its time.
    Late,
    Failed,
    Skipped,
}

/// A push sent later than this counts as late.
pub const LATE_AFTER_SECONDS: i64 = 60;

impl PushReport {
    pub fn outcome(&self) -> PushOutcome {
        match self.status {
            ActionStatus::Done if self.late_seconds.unwrap_or(0) > LATE_AFTER_SECONDS => {
                PushOutcome::Late
            }
            ActionStatus::Done => PushOutcome::Sent,
            ActionStatus::Dead => PushOutcome::Failed,
            ActionStatus::Skipped | ActionStatus::DryRun => PushOutcome::Skipped,
            ActionStatus::Pending | ActionStatus::InFlight => PushOutcome::Queued,
        }
    }

    /// `(plan id, plan version, step)` from the origin `sop:{plan}@v{version}/{step}`.
    pub fn plan_step(&self) -> Option<(&str, u32, &str)> {
        let rest = self.origin.strip_prefix("sop:")?;
        let (plan, rest) = rest.split_once("@v")?;
        let (version, step) = rest.split_once('/')?;
        Some((plan, version.parse().ok()?, step))
    }
}

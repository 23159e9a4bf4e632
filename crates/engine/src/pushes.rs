//! What each scheduled push led to: reach, delivery, lateness, clicks and replies.

use chrono::{DateTime, Utc};
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{ActionStatus, WorkspaceId};
use qunzhu_storage::{PushFigures, PushWindow, Store};
use serde::Serialize;

/// The numbers of one push (one SOP occurrence in one group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    pub key: String,
    pub chat: String,
    pub origin: ActionOrigin,
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
/// outbox row, what it was sent as (reach counted then), the replies the consumer counted and
/// the clicks on its links — one query, whatever the history.
pub async fn push_reports(
    store: &dyn Store,
    workspace: WorkspaceId,
    limit: usize,
) -> qunzhu_storage::Result<Vec<PushReport>> {
    let window = PushWindow {
        from: None,
        until: None,
        limit,
    };
    push_reports_in(store, workspace, window).await
}

/// The SOP pushes scheduled in a window (the calendar's week), newest first.
pub async fn push_reports_in(
    store: &dyn Store,
    workspace: WorkspaceId,
    window: PushWindow,
) -> qunzhu_storage::Result<Vec<PushReport>> {
    Ok(store
        .push_figures(workspace, window)
        .await?
        .into_iter()
        .map(PushReport::from)
        .collect())
}

impl From<PushFigures> for PushReport {
    fn from(figures: PushFigures) -> Self {
        // Reach and replies mean something only for a push that went out.
        let sent = figures.status == ActionStatus::Done;
        PushReport {
            late_seconds: figures
                .done_at
                .map(|done| (done - figures.scheduled).num_seconds()),
            key: figures.key,
            chat: figures.chat,
            origin: figures.origin,
            scheduled: figures.scheduled,
            status: figures.status,
            sent_at: figures.done_at,
            reach: if sent { figures.reach } else { 0 },
            clicks: figures.clicks,
            unique_clickers: figures.unique_visitors,
            replies_within_hour: if sent { figures.replies } else { 0 },
            text: figures.rendered.unwrap_or(figures.template),
            reason: figures.last_error,
        }
    }
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
        match &self.origin {
            ActionOrigin::Sop {
                plan,
                version: Some(version),
                step,
            } => Some((plan, u32::try_from(*version).ok()?, step)),
            _ => None,
        }
    }
}

//! Read models of the SOP side: check-in streaks and leaderboards, when each group was first
//! seen, and what each push was sent as and led to.
//!
//! They are kept by one incremental consumer of the log (`qunzhu_engine::SopFacts`) whose
//! watermark is stored in the same transaction as the rows it wrote, so nothing ever rescans the
//! log: a start reads the tables, and catching up reads only the events after the watermark.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{ActionId, ActionOrigin, ActionStatus, Platform, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// One member's check-in record in one group: enough to extend or reset the streak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckinRow {
    pub platform: Platform,
    pub chat: String,
    pub member: String,
    /// The latest local day checked in.
    pub last_day: NaiveDate,
    /// Consecutive days ending on `last_day`.
    pub streak: u32,
    pub total: u32,
}

/// A bot post that asks for check-ins: reactions to it count as check-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MorningPost {
    pub platform: Platform,
    pub chat: String,
    pub message_id: String,
    pub at: DateTime<Utc>,
}

/// The earliest moment a group is known to have existed (first event or registration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSeen {
    pub platform: Platform,
    pub chat: String,
    pub at: DateTime<Utc>,
}

/// What the consumer learned from the events `(from_seq, to_seq]`, written in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SopFactsUpdate {
    /// The watermark the consumer read from; the update is refused if it moved meanwhile.
    pub from_seq: i64,
    pub to_seq: i64,
    /// Replaces these members' rows.
    pub checkins: Vec<CheckinRow>,
    pub morning_posts: Vec<MorningPost>,
    /// Lowers a group's first-seen time (kept as the minimum).
    pub groups_seen: Vec<GroupSeen>,
    /// `(outbox action id, replies to add)`.
    pub replies: Vec<(ActionId, u64)>,
}

/// What a start needs to resume deciding check-ins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckinSnapshot {
    pub watermark: i64,
    pub members: Vec<CheckinRow>,
    pub morning_posts: Vec<MorningPost>,
}

/// One leaderboard line, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaderRow {
    pub member: String,
    pub display_name: String,
    /// The streak alive on the day asked (ending that day or the day before), else 0.
    pub streak: u32,
    pub total: u32,
}

/// A push as it went out: the text after its variables were filled, recorded against the
/// outbox row just before the connector was asked to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRender {
    pub action: ActionId,
    pub workspace: WorkspaceId,
    pub chat: String,
    pub at: DateTime<Utc>,
    pub text: String,
    /// Members present at that moment: the push's reach.
    pub reach: u64,
}

/// The read model of one push (one outbox action of an SOP plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushRow {
    pub action: ActionId,
    pub chat: String,
    pub rendered_at: DateTime<Utc>,
    pub text: String,
    pub reach: u64,
    /// Messages by members (not bots) in the group within an hour after it went out.
    pub replies_within_hour: u64,
}

/// Which pushes to read: scheduled in `[from, until)` where given, newest first, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushWindow {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: usize,
}

/// One SOP push with everything known about it, read in one query: its outbox row, what it was
/// sent as, reach, replies and clicks on its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushFigures {
    pub action: ActionId,
    pub key: String,
    pub chat: String,
    pub origin: ActionOrigin,
    pub status: ActionStatus,
    pub scheduled: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The text it was sent as, if it was rendered.
    pub rendered: Option<String>,
    /// The outbox row's text (the template until it is sent).
    pub template: String,
    pub reach: u64,
    pub replies: u64,
    pub clicks: u64,
    pub unique_visitors: u64,
}

#[async_trait]
pub trait SopStore: Send + Sync {
    /// The sequence number of the last event the consumer has applied (0 before the first).
    async fn sop_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Applies one update and moves the watermark to `to_seq`, in one transaction. Returns
    /// false and changes nothing when the watermark is no longer `from_seq` (another instance
    /// applied these events first).
    async fn apply_sop_facts(&self, workspace: WorkspaceId, update: SopFactsUpdate)
        -> Result<bool>;

    /// Every check-in row of the workspace, and the morning posts at or after `posts_since`.
    async fn checkin_snapshot(
        &self,
        workspace: WorkspaceId,
        posts_since: DateTime<Utc>,
    ) -> Result<CheckinSnapshot>;

    /// The top `limit` of one group on local day `today`: by live streak, then total, then id.
    async fn leaderboard(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        today: NaiveDate,
        limit: usize,
    ) -> Result<Vec<LeaderRow>>;

    /// Records that a group existed at `at` (registration); an earlier time already known wins.
    async fn note_group_seen(&self, workspace: WorkspaceId, seen: GroupSeen) -> Result<()>;

    /// When each group of the workspace was first seen.
    async fn groups_seen(&self, workspace: WorkspaceId) -> Result<Vec<GroupSeen>>;

    /// Records (or, on a retry, replaces) what a push is being sent as.
    async fn record_render(&self, render: PushRender) -> Result<()>;

    /// Pushes rendered at or after `since`, oldest first (the consumer counts replies to them).
    async fn pushes_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<Vec<PushRow>>;

    /// The rows of these outbox actions (those never rendered are absent).
    async fn pushes(&self, workspace: WorkspaceId, actions: &[ActionId]) -> Result<Vec<PushRow>>;

    /// SOP posts and person tasks (origin `sop:`) in a window, with their figures, in one query.
    async fn push_figures(
        &self,
        workspace: WorkspaceId,
        window: PushWindow,
    ) -> Result<Vec<PushFigures>>;
}

//! Invite tasks (任务宝) in storage: each campaign's invitees and prizes as rows, the consumer's
//! watermark written with them, and the invite page's referrals (who a visitor was invited for).
//!
//! Campaign definitions themselves are documents of kind [`qunzhu_domain::DocumentKind::Campaign`] in the
//! [`crate::DocumentStore`], kept as the source the operator wrote.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{CampaignId, Platform, WorkspaceId};
use qunzhu_growth::{PrizeState, TaskInvite, TaskPrizeRow};
use serde::Serialize;

use crate::Result;

/// One consumer round's writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InviteTaskUpdate {
    /// The watermark the round started from and the one it reached; `None` writes rows only
    /// (an operator's decision).
    pub watermark: Option<(i64, i64)>,
    /// Invitee rows to upsert.
    pub invites: Vec<TaskInvite>,
    /// Prize rows, each written only against the version it carries.
    pub prizes: Vec<TaskPrizeRow>,
}

/// Narrows the prize list (the review queue is `state = pending`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrizeFilter {
    pub campaign: Option<CampaignId>,
    pub state: Option<PrizeState>,
    pub inviter: Option<String>,
}

/// A visitor of a member's invite page, invited by the bot on that member's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageReferral {
    pub platform: Platform,
    pub chat: String,
    pub visitor: String,
    pub code: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait InviteTaskStore: Send + Sync {
    /// The last log sequence number the invite-task consumer applied (0 before the first).
    async fn invite_task_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Every row of one campaign, to rebuild its book.
    async fn invite_task_rows(
        &self,
        workspace: WorkspaceId,
        campaign: &CampaignId,
    ) -> Result<(Vec<TaskInvite>, Vec<TaskPrizeRow>)>;

    /// Writes a round in one transaction. Returns `false` and writes nothing when the watermark
    /// is no longer the one the round started from or a prize is no longer at its version
    /// (another instance or an operator got there first; the caller rereads and tries again).
    async fn apply_invite_tasks(
        &self,
        workspace: WorkspaceId,
        update: InviteTaskUpdate,
    ) -> Result<bool>;

    /// Prizes, newest first.
    async fn task_prizes(
        &self,
        workspace: WorkspaceId,
        filter: &PrizeFilter,
        limit: usize,
    ) -> Result<Vec<TaskPrizeRow>>;

    /// Whether `member` is present in a group of the workspace other than `chat` (the invites
    /// read model).
    async fn present_elsewhere(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
        chat: &str,
    ) -> Result<bool>;

    /// Records a page visitor's referral; the first for a (group, visitor) stays. Returns the
    /// one kept and whether this call created it.
    async fn put_page_referral(
        &self,
        workspace: WorkspaceId,
        referral: PageReferral,
    ) -> Result<(PageReferral, bool)>;

    /// The referral of a visitor into a group, if any.
    async fn page_referral(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        visitor: &str,
    ) -> Result<Option<PageReferral>>;
}

/// The `flags` column: flag names joined by commas.
pub fn flags_text(flags: &[qunzhu_growth::Flag]) -> String {
    flags
        .iter()
        .map(|flag| flag.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads the `flags` column back; an unknown name is a backend error naming it.
pub fn flags_of(text: &str) -> Result<Vec<qunzhu_growth::Flag>> {
    text.split(',')
        .filter(|name| !name.is_empty())
        .map(|name| {
            qunzhu_growth::Flag::parse(name)
                .ok_or_else(|| crate::StoreError::Backend(format!("unknown invite flag `{name}`")))
        })
        .collect()
}

/// Reads a `state` column back.
pub fn state_of<T>(text: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| crate::StoreError::Backend(format!("unknown state `{text}`")))
}

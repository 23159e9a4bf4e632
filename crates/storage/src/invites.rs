//! Invite attribution in storage: a read model of who brought whom, per group, kept by an
//! incremental consumer of the log whose watermark is stored with its changes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{InviteChange, InviteChannel, InviteCode, Platform, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// One member's arrival in one group, as attributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invite {
    pub platform: Platform,
    pub chat: String,
    pub invitee: String,
    pub inviter: Option<String>,
    pub channel: InviteChannel,
    pub code: Option<String>,
    pub campaign: Option<String>,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    /// Still in the group: only present invitees count for their inviter.
    pub present: bool,
}

/// Invites per inviter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InviteCount {
    pub platform: Platform,
    pub inviter: String,
    /// Everyone they ever brought.
    pub joined: u64,
    /// Of those, still in the group.
    pub present: u64,
}

/// Narrows invite counts to one group and/or one campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InviteFilter {
    pub chat: Option<String>,
    pub campaign: Option<String>,
}

#[async_trait]
pub trait InviteStore: Send + Sync {
    /// The last log sequence number the consumer applied (0 before the first).
    async fn invite_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Applies changes in order and stores the watermark, in one transaction. The first join of
    /// a member in a group keeps its attribution; a later join only makes them present again.
    async fn apply_invite_changes(
        &self,
        workspace: WorkspaceId,
        changes: Vec<InviteChange>,
        watermark: i64,
    ) -> Result<()>;

    /// Registers a member's invite code; a code already registered is a `Conflict` unless it is
    /// the same member's.
    async fn put_invite_code(&self, workspace: WorkspaceId, code: InviteCode)
        -> Result<InviteCode>;

    /// `NotFound` for an unknown code.
    async fn invite_code(&self, workspace: WorkspaceId, code: &str) -> Result<InviteCode>;

    /// Everyone one member brought, newest first.
    async fn invites_by(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        inviter: &str,
    ) -> Result<Vec<Invite>>;

    /// Invites per inviter, most present first.
    async fn invite_counts(
        &self,
        workspace: WorkspaceId,
        filter: &InviteFilter,
        limit: usize,
    ) -> Result<Vec<InviteCount>>;
}

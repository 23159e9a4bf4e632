//! Landing pages in storage: per page and channel the counters of views, phones left and join
//! clicks (a read model bumped as each happens, never counted from history), and the leads —
//! phone numbers sealed by the caller (ciphertext and a keyed hash only; the store never sees a
//! number), one per page and phone.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::WorkspaceId;
use serde::Serialize;

use crate::Result;

/// What a visitor did that a counter counts (a phone left is counted by [`LandingStore::record_lead`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandingHit {
    View,
    Join,
}

/// One page's counters for one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    pub page: String,
    pub channel: String,
    pub views: i64,
    /// Distinct phones left (a phone left again on the same page is not counted again).
    pub phones: i64,
    pub joins: i64,
}

/// A lead to keep: the number is already sealed (`cipher`) and hashed (`phone_hash`) by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLead {
    pub page: String,
    pub channel: String,
    /// A keyed hash of the number, unique per page: the same phone is one lead.
    pub phone_hash: String,
    pub cipher: String,
    pub at: DateTime<Utc>,
}

/// A kept lead, still sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lead {
    pub id: i64,
    pub page: String,
    pub channel: String,
    #[serde(skip)]
    pub cipher: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait LandingStore: Send + Sync {
    /// Adds one to a page's `hit` counter for `channel`.
    async fn count_landing(
        &self,
        workspace: WorkspaceId,
        page: &str,
        channel: &str,
        hit: LandingHit,
    ) -> Result<()>;

    /// Keeps a lead unless its phone is already a lead of that page; a new lead adds one to its
    /// channel's `phones` counter in the same transaction. Answers the lead's id and whether it is new.
    async fn record_lead(&self, workspace: WorkspaceId, lead: NewLead) -> Result<(i64, bool)>;

    /// Counters of one page (or every page), by page then channel.
    async fn landing_counts(
        &self,
        workspace: WorkspaceId,
        page: Option<&str>,
    ) -> Result<Vec<ChannelCounts>>;

    /// A page's leads, newest first, at most `limit`.
    async fn leads(&self, workspace: WorkspaceId, page: &str, limit: usize) -> Result<Vec<Lead>>;

    /// Removes one lead for good; `NotFound` if it is not in the workspace.
    async fn delete_lead(&self, workspace: WorkspaceId, id: i64) -> Result<Lead>;

    /// Removes every lead of the workspace with this phone hash (any page); answers what went.
    async fn forget_phone(&self, workspace: WorkspaceId, phone_hash: &str) -> Result<Vec<Lead>>;
}

//! Tracked short links (`/l/{code}`): what each points to, which push it came from, who clicked.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::WorkspaceId;
use serde::Serialize;

use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub code: String,
    pub workspace: WorkspaceId,
    pub url: String,
    /// The push it was sent in: the outbox action key (e.g. an SOP occurrence).
    pub push: String,
    pub chat: String,
    /// Set where the platform lets the link be personal.
    pub member: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub code: String,
    pub workspace: WorkspaceId,
    pub url: String,
    pub push: String,
    pub chat: String,
    pub member: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One click on a short link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClick {
    pub code: String,
    pub at: DateTime<Utc>,
    /// A stable, non-reversible visitor id (hash of a cookie or of address + agent), for uniques.
    pub visitor: String,
}

/// Clicks on the links of one push.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    pub clicks: u64,
    pub unique_visitors: u64,
}

#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Stores links; a code already stored is left as it is (codes are derived from their push).
    async fn put_links(&self, links: Vec<NewLink>) -> Result<()>;
    /// `NotFound` for an unknown code.
    async fn link(&self, code: &str) -> Result<Link>;
    async fn record_click(&self, click: LinkClick) -> Result<()>;
    /// Clicks on every link of one push (scoped to the workspace).
    async fn push_link_stats(&self, workspace: WorkspaceId, push: &str) -> Result<LinkStats>;
}

//! Point drops (红包雨) in storage: each drop an operator or an SOP step scheduled, once per key,
//! for the engine's watcher to pick up. Who got a share is not kept here: each share is an outbox
//! action keyed `drop:{id}:{member}`, which is what a restarted engine reads back.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionOrigin, Platform, WorkspaceId};
use qunzhu_growth::drop::DropSpec;
use serde::Serialize;

use crate::Result;

/// A drop about to be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDrop {
    /// Idempotency key (the caller's request id, an SOP occurrence's key).
    pub key: String,
    pub platform: Platform,
    pub chat: String,
    pub spec: DropSpec,
    pub starts_at: DateTime<Utc>,
    /// Who scheduled it: `user:…`, `sop:<plan>@v<n>/<step>`.
    pub origin: ActionOrigin,
}

/// A scheduled drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredDrop {
    pub id: i64,
    #[serde(flatten)]
    pub drop: NewDrop,
}

#[async_trait]
pub trait DropStore: Send + Sync {
    /// Schedules a drop; a key already used answers the drop stored under it.
    async fn schedule_drop(&self, workspace: WorkspaceId, drop: NewDrop) -> Result<StoredDrop>;

    /// Drops starting at or after `since`, oldest first (the watcher asks for the last day).
    async fn drops_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<Vec<StoredDrop>>;
}

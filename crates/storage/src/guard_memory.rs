//! What a connector's guardian remembers (flood windows, warnings, newcomers, pending welcomes,
//! checks, raids), saved beside the log now and then with the log position it is level with,
//! so a restart reads it back and replays only the events after that position instead of days
//! of log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};

use crate::Result;

/// One saved memory: the text the engine wrote and the log position it is level with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardMemory {
    /// The log's newest `seq` when it was saved: every event at or before it was decided.
    pub seq: i64,
    pub taken_at: DateTime<Utc>,
    pub memory: String,
}

#[async_trait]
pub trait GuardMemoryStore: Send + Sync {
    /// Saves the memory of one connector's guardian, stamped with the log's newest `seq` in
    /// the same statement (so it is level with every event committed before it), replacing
    /// the one before.
    async fn put_guard_memory(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        taken_at: DateTime<Utc>,
        memory: &str,
    ) -> Result<GuardMemory>;

    /// The saved memory, if any.
    async fn guard_memory(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
    ) -> Result<Option<GuardMemory>>;
}

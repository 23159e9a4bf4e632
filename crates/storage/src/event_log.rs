//! The event log and the derived state kept with it: what happened, appended once, in order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{DerivedState, WorkspaceId};

use crate::*;

/// Appending platform events idempotently, with the derived state (membership, daily counts)
/// and the actions they cause written in the same transaction; reading the log back.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends a batch in one transaction: skips events already logged (counted), updates derived
    /// state for the new ones, writes the actions `decide` returns for each new event (skipping
    /// idempotency keys already in the outbox), and stores the connector cursor if given.
    /// An action with `dry_run` is stored with status `dry_run` and is never claimed; so is one
    /// written by `enqueue`.
    async fn ingest(&self, batch: IngestBatch, decide: &mut Decide<'_>) -> Result<IngestReport>;

    /// The cursor a connector stored with its last ingested batch.
    async fn cursor(&self, connector: &str) -> Result<Option<String>>;

    /// Events in log order after `after_seq`, at most `limit`.
    async fn events(
        &self,
        workspace: WorkspaceId,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>>;

    /// Events at or after an instant, in log order; past `limit`, the newest `limit` of them
    /// (the oldest are the ones a reader warming up can spare).
    async fn events_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>>;

    /// Events of one group, newest first.
    async fn recent_events(
        &self,
        workspace: WorkspaceId,
        chat: &str,
        limit: usize,
    ) -> Result<Vec<StoredEvent>>;

    /// Total events logged and duplicates refused since the store was created.
    async fn log_stats(&self) -> Result<LogStats>;

    /// Drops all derived state and rebuilds it by replaying the log in order.
    async fn rebuild_derived(&self) -> Result<()>;

    /// All derived state, for tests and the replay check; small deployments only.
    async fn derived_state(&self) -> Result<DerivedState>;

    /// Join requests (events `join_requested`) not yet followed by the member joining or being
    /// denied in that group, oldest first.
    async fn pending_join_requests(&self, workspace: WorkspaceId) -> Result<Vec<StoredEvent>>;

    /// Plain bulk insert of the same rows into a scratch table of the same shape as the log, with
    /// the same unique idempotency key, in one transaction, with no dedupe and no derived state:
    /// the floor `qunzhu bench ingest` compares the full ingest path against. Appends, so the
    /// table grows as the log does (a bench runs on a fresh database, where it starts empty).
    async fn baseline_insert(&self, events: &[NewEvent]) -> Result<()>;
}

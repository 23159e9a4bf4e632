//! The durable outbox: every action the bot decided, until it is done, dead or skipped.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionId, ActionRecord, NewAction, WorkspaceId};

use crate::*;

/// Writing actions with idempotency keys, claiming due ones under a lease, recording outcomes.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Writes actions not tied to an event (scheduled posts, operator commands); known keys are
    /// skipped. Returns how many were new.
    async fn enqueue(&self, actions: Vec<NewAction>) -> Result<usize>;

    /// Claims up to `limit` platform actions due at `now` for one platform, leasing them to
    /// `owner` until `lease_until`. An in-flight action whose lease ran out (its dispatcher died)
    /// is due again. Safe with several dispatchers on one database.
    async fn claim_actions(&self, claim: Claim<'_>) -> Result<Vec<ActionRecord>>;

    /// Records what became of a claimed action.
    async fn finish_action(
        &self,
        id: ActionId,
        outcome: ActionOutcome,
        now: DateTime<Utc>,
    ) -> Result<()>;

    async fn action(&self, id: ActionId) -> Result<ActionRecord>;
    /// The action with this idempotency key in this workspace (keys are unique per workspace).
    async fn action_by_key(&self, workspace: WorkspaceId, key: &str) -> Result<ActionRecord>;
    async fn actions(
        &self,
        workspace: WorkspaceId,
        filter: &ActionFilter,
    ) -> Result<Vec<ActionRecord>>;
    async fn action_counts(&self, workspace: WorkspaceId) -> Result<ActionCounts>;

    /// Marks pending actions whose origin starts with `origin_prefix` and whose `not_before` is at
    /// or after `from` as skipped with `reason` (a plan was edited: future posts are re-planned).
    /// Returns how many.
    async fn cancel_actions(
        &self,
        workspace: WorkspaceId,
        origin_prefix: &str,
        from: DateTime<Utc>,
        reason: &str,
    ) -> Result<usize>;
}

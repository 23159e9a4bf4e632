//! The storage trait: the domain operations qunzhu needs from a database, whatever the database.
//!
//! Backends (`qunzhu-storage-sqlite`, `qunzhu-storage-postgres`) implement [`Store`] and run the
//! same [`conformance`] suite. Operations are domain-shaped (ingest a batch, claim due actions),
//! not CRUD, so each backend can make them atomic and fast in its own way.

pub mod accounts;
pub mod codec;
pub mod conformance;
pub mod coupons;
pub mod documents;
pub mod invites;
pub mod ledger;
pub mod links;
mod types;

pub use accounts::*;
pub use coupons::{CouponRedemption, CouponStore, RedeemCoupon};
pub use documents::{Document, DocumentStore};
pub use invites::{Invite, InviteCount, InviteFilter, InviteStore};
pub use ledger::{LedgerStore, Posting, Redeem, Redemption, Reward};
pub use links::{Link, LinkClick, LinkStats, LinkStore, NewLink};
/// Re-exported for the conformance suite's macro.
pub use proptest;
pub use types::*;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{
    ActionRecord, DerivedState, Event, Group, Member, NewAction, Platform, WorkspaceId,
};

/// Storage failures, sorted by what the caller can do about them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{object} `{id}` not found")]
    NotFound { object: &'static str, id: String },
    #[error("{object} `{id}` already exists")]
    Conflict { object: &'static str, id: String },
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The database could not be reached or opened; one sentence for the operator.
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Decides the actions an event causes. Called inside the ingest transaction, once per event
/// that is new to the log, in log order; a redelivered event never reaches it.
pub type Decide<'a> = dyn FnMut(&Event) -> Vec<NewAction> + Send + 'a;

/// Everything qunzhu keeps, as domain operations.
#[async_trait]
pub trait Store:
    AccountStore
    + DocumentStore
    + LinkStore
    + LedgerStore
    + CouponStore
    + InviteStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`, for `/healthz` and logs.
    fn backend(&self) -> &'static str;

    /// Cheap liveness check for `/healthz`.
    async fn ping(&self) -> Result<()>;

    // --- workspaces --------------------------------------------------------------------------

    /// Returns the workspace with this slug, creating it if missing.
    async fn ensure_workspace(&self, new: NewWorkspace) -> Result<Workspace>;
    async fn workspace(&self, id: WorkspaceId) -> Result<Workspace>;
    async fn workspaces(&self) -> Result<Vec<Workspace>>;

    // --- event log ---------------------------------------------------------------------------

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

    /// Events at or after an instant, in log order, at most `limit` (rebuilding in-memory
    /// decision state from the recent log on start).
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

    // --- groups and members ------------------------------------------------------------------

    async fn groups(&self, workspace: WorkspaceId) -> Result<Vec<GroupSummary>>;
    async fn group(&self, workspace: WorkspaceId, group_id: i64) -> Result<Group>;
    /// Creates the group if missing (first event or operator registration), else returns it.
    async fn ensure_group(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Group>;
    async fn update_group(
        &self,
        workspace: WorkspaceId,
        group_id: i64,
        update: GroupUpdate,
    ) -> Result<Group>;

    async fn members(
        &self,
        workspace: WorkspaceId,
        query: &MemberQuery,
    ) -> Result<Vec<MemberSummary>>;
    async fn member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &str,
    ) -> Result<Member>;
    async fn update_member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &str,
        update: MemberUpdate,
    ) -> Result<Member>;

    /// Daily counts per group between two local days inclusive; `group_id` narrows to one group.
    async fn group_days(
        &self,
        workspace: WorkspaceId,
        group_id: Option<i64>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<GroupDayRow>>;

    // --- outbox ------------------------------------------------------------------------------

    /// Writes actions not tied to an event (scheduled posts, operator commands); known keys are
    /// skipped. Returns how many were new.
    async fn enqueue(&self, actions: Vec<NewAction>) -> Result<usize>;

    /// Claims up to `limit` actions of the claim's target due at `now` for one platform, leasing them to
    /// `owner` until `lease_until`. An in-flight action whose lease ran out (its dispatcher died)
    /// is due again. Safe with several dispatchers on one database.
    async fn claim_actions(&self, claim: Claim<'_>) -> Result<Vec<ActionRecord>>;

    /// Records what became of a claimed action.
    async fn finish_action(
        &self,
        id: i64,
        outcome: ActionOutcome,
        now: DateTime<Utc>,
    ) -> Result<()>;

    async fn action(&self, id: i64) -> Result<ActionRecord>;
    async fn action_by_key(&self, key: &str) -> Result<ActionRecord>;
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

    /// Join requests (events `join_requested`) not yet followed by the member joining or being
    /// denied in that group, oldest first.
    async fn pending_join_requests(&self, workspace: WorkspaceId) -> Result<Vec<StoredEvent>>;

    // --- benchmark floor ---------------------------------------------------------------------

    /// Plain bulk insert of the same rows into a scratch table of the same shape as the log, in
    /// one transaction, with no dedupe and no derived state: the floor `qunzhu bench ingest`
    /// compares the full ingest path against. Clears the scratch table first.
    async fn baseline_insert(&self, events: &[NewEvent]) -> Result<()>;
}

//! The growth plays 拼 砍 帮 送 in storage: one row per run (a team, a bargain, an assist) with
//! its participants, and the play consumer's watermark written with the runs it changed in one
//! compare-and-set transaction, so a round that lost a race writes nothing and is redone.
//!
//! Play definitions are documents of kind [`qunzhu_domain::DocumentKind::Play`] in the [`crate::DocumentStore`].

use async_trait::async_trait;
use qunzhu_domain::WorkspaceId;
use qunzhu_growth::play::RunState;
use qunzhu_growth::run::Run;

use crate::Result;

/// Narrows the run list (the console's running group-buys and bargains).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub play: Option<String>,
    pub state: Option<RunState>,
}

#[async_trait]
pub trait PlayStore: Send + Sync {
    /// The last log sequence number the play consumer applied (0 before the first).
    async fn play_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Every run of one play, by number, to rebuild its board.
    async fn play_runs(&self, workspace: WorkspaceId, play: &str) -> Result<Vec<Run>>;

    /// Moves the watermark from `from` to `to` and upserts `runs`, in one transaction; returns
    /// `false` and writes nothing when the watermark is no longer `from`.
    async fn apply_plays(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
        runs: Vec<Run>,
    ) -> Result<bool>;

    /// Runs, newest start first.
    async fn runs(
        &self,
        workspace: WorkspaceId,
        filter: &RunFilter,
        limit: usize,
    ) -> Result<Vec<Run>>;
}

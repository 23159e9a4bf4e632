//! Member tags from poll answers in storage: each member's current answer per tagged poll and
//! the consumer's watermark, written with the members' new tags in one transaction.

use async_trait::async_trait;
use qunzhu_domain::{PollAnswer, WorkspaceId};

use crate::Result;

#[async_trait]
pub trait PollTagStore: Send + Sync {
    /// The last log sequence number the poll-tag consumer applied (0 before the first).
    async fn poll_tag_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Applies answers in order and stores the watermark, in one transaction: each answer
    /// replaces the member's previous answer to that poll and their tags change by
    /// [`qunzhu_domain::poll_tags::retag`]; a member the directory does not know yet is added.
    async fn apply_poll_answers(
        &self,
        workspace: WorkspaceId,
        answers: Vec<PollAnswer>,
        watermark: i64,
    ) -> Result<()>;
}

//! The swap board (换) in storage: each group's offers numbered from 1, and the two ways an offer
//! closes, each compare-and-set on `state = 'open'` so it closes once whichever instance asks:
//! [`SwapStore::accept_swap`] closes the offer and the taker's mirror offer in one transaction
//! (both or neither), [`SwapStore::withdraw_swap`] takes one down for its poster.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::swap::SwapOffer;
use serde::Serialize;

use crate::Result;

/// An offer posted in a group (`有X换Y`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSwap {
    /// Idempotency key: the message's event key, so a message read twice posts once.
    pub key: String,
    pub platform: Platform,
    pub chat: String,
    pub member: String,
    pub have: String,
    pub want: String,
    pub at: DateTime<Utc>,
}

/// An offer with the group it is in, for the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupSwap {
    pub platform: Platform,
    pub chat: String,
    #[serde(flatten)]
    pub offer: SwapOffer,
}

#[async_trait]
pub trait SwapStore: Send + Sync {
    /// Posts an offer under the group's next number; a key already used answers its offer.
    async fn post_swap(&self, workspace: WorkspaceId, swap: NewSwap) -> Result<SwapOffer>;

    /// A group's offers posted at or after `since`, by number.
    async fn group_swaps(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<SwapOffer>>;

    /// Every group's offers posted at or after `since`, newest first, at most `limit`.
    async fn swaps(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<GroupSwap>>;

    /// `taker` takes offer `number`; with `pair`, the taker's own open offer `pair` closes with
    /// it. Both are open and change together, or nothing changes (false).
    #[allow(clippy::too_many_arguments)]
    async fn accept_swap(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        number: u32,
        taker: &str,
        pair: Option<u32>,
        at: DateTime<Utc>,
    ) -> Result<bool>;

    /// The poster takes an open offer down; false when it was not open or not theirs.
    async fn withdraw_swap(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        number: u32,
        member: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;

    /// The swap consumer's watermark, 0 before its first round.
    async fn swap_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Moves it from `from` to `to`; false when another instance moved it meanwhile.
    async fn advance_swap_watermark(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
    ) -> Result<bool>;
}

/// A stored row back into the board's offer (shared by both backends).
#[allow(clippy::too_many_arguments)]
pub fn swap_from_columns(
    number: i64,
    member: String,
    have: String,
    want: String,
    posted_at: DateTime<Utc>,
    state: &str,
    with_member: Option<String>,
    pair: Option<i64>,
    closed_at: Option<DateTime<Utc>>,
) -> SwapOffer {
    use qunzhu_growth::swap::SwapState;
    let at = closed_at.unwrap_or(posted_at);
    let state = match state {
        "swapped" => SwapState::Swapped {
            with: with_member.unwrap_or_default(),
            at,
            pair: pair.and_then(|pair| u32::try_from(pair).ok()),
        },
        "withdrawn" => SwapState::Withdrawn { at },
        _ => SwapState::Open,
    };
    SwapOffer {
        id: u32::try_from(number).unwrap_or(0),
        member,
        have,
        want,
        posted_at,
        state,
    }
}

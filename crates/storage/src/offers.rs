//! Time-limited offers (秒杀) in storage: each offer with its stock counter, and one claim row per
//! member. [`OfferStore::claim_offer`] is the one place stock moves: the claim row and the
//! conditional decrement (`remaining > 0`) are one transaction, so concurrent claims, from one
//! instance or several sharing a database, never sell more than the stock or twice to a member.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionOrigin, WorkspaceId};
use qunzhu_growth::flash_sale::OfferSpec;
use serde::Serialize;

use crate::Result;

/// An offer about to be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewOffer {
    /// Idempotency key (`offer:{request}`): a retried create answers the stored offer.
    pub key: String,
    pub spec: OfferSpec,
    /// The document it was read from, for the console's editor.
    pub source: String,
    /// Who created it: `user:…`, `token:…`.
    pub origin: ActionOrigin,
    pub created_at: DateTime<Utc>,
}

/// A stored offer with its stock counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredOffer {
    pub id: i64,
    #[serde(flatten)]
    pub offer: NewOffer,
    /// Items left; never below zero, never above the stock.
    pub remaining: u32,
}

/// Where a claim stands: reserved when the stock moved, paid once the ledger took the price
/// (and the coupon was queued). A reserved claim is finished by the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    Reserved,
    Paid,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::Reserved => "reserved",
            ClaimState::Paid => "paid",
        }
    }

    pub fn parse(text: &str) -> ClaimState {
        if text == "paid" {
            ClaimState::Paid
        } else {
            ClaimState::Reserved
        }
    }
}

/// One member's claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferClaim {
    pub offer: i64,
    pub member: String,
    /// The rank among claims (1 = first), from the stock left when it was taken.
    pub rank: u32,
    pub state: ClaimState,
    pub at: DateTime<Utc>,
    /// Where it came from: `chat:{event key}`, `api:{request}`.
    pub via: String,
}

/// What one claim did to the stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Claimed {
    /// New: one item taken; `remaining` is what is left after it.
    Taken { claim: OfferClaim, remaining: u32 },
    /// The member already holds one (maybe still reserved); the stock did not move.
    Held { claim: OfferClaim, remaining: u32 },
    /// Nothing left; nothing stored.
    SoldOut,
}

#[async_trait]
pub trait OfferStore: Send + Sync {
    /// Stores an offer with `remaining = stock`; a key already used answers the offer under it.
    async fn create_offer(&self, workspace: WorkspaceId, offer: NewOffer) -> Result<StoredOffer>;

    async fn offer(&self, workspace: WorkspaceId, id: i64) -> Result<StoredOffer>;

    /// Newest first.
    async fn offers(&self, workspace: WorkspaceId, limit: usize) -> Result<Vec<StoredOffer>>;

    /// Offers whose window contains `at` (for the chat consumer), oldest first.
    async fn open_offers(
        &self,
        workspace: WorkspaceId,
        at: DateTime<Utc>,
    ) -> Result<Vec<StoredOffer>>;

    /// Takes one item for `member` atomically: the claim row and `remaining - 1 WHERE remaining
    /// > 0` in one transaction. The window is the caller's to check (it knows the clock).
    async fn claim_offer(
        &self,
        workspace: WorkspaceId,
        offer: i64,
        member: &str,
        via: &str,
        at: DateTime<Utc>,
    ) -> Result<Claimed>;

    /// Marks a claim paid; true when it was reserved.
    async fn mark_claim_paid(
        &self,
        workspace: WorkspaceId,
        offer: i64,
        member: &str,
    ) -> Result<bool>;

    /// Gives a reserved claim's item back (the ledger refused the price): the row goes and the
    /// stock rises by one, in one transaction; a paid claim is never released. True when released.
    async fn release_claim(&self, workspace: WorkspaceId, offer: i64, member: &str)
        -> Result<bool>;

    /// An offer's claims, first first.
    async fn offer_claims(&self, workspace: WorkspaceId, offer: i64) -> Result<Vec<OfferClaim>>;

    /// The chat consumer's watermark (last event seq read), 0 before the first round.
    async fn offer_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Moves the watermark from `from` to `to`; false (nothing written) when another instance
    /// moved it meanwhile.
    async fn advance_offer_watermark(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
    ) -> Result<bool>;
}

//! The storage trait: the domain operations qunzhu needs from a database, whatever the database.
//!
//! Backends (`qunzhu-storage-sqlite`, `qunzhu-storage-postgres`) implement the role-sized traits
//! that make up [`Store`] ([`EventLog`], [`Outbox`], [`Directory`], [`Analytics`], accounts,
//! documents, links) and pass the same conformance suite (`qunzhu-storage-conformance`, a
//! dev-dependency of theirs). Operations are domain-shaped (ingest a batch, claim due actions),
//! not CRUD, so each backend can make them atomic and fast in its own way.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
pub mod analytics;
pub mod analytics_models;
pub mod banlist;
pub mod bot_powers;
pub mod click_rollups;
pub mod codec;
pub mod connector_state;
pub mod coupon_revocations;
pub mod coupons;
pub mod directory;
pub mod documents;
pub mod drops;
pub mod event_log;
pub mod guard_memory;
pub mod invite_tasks;
pub mod invites;
pub mod landing;
pub mod leases;
pub mod ledger;
pub mod links;
pub mod livecode_links;
pub mod livecodes;
pub mod lottery;
pub mod offers;
pub mod orders;
pub mod outbox;
pub mod platform_counts;
pub mod plays;
pub mod poll_tags;
pub mod races;
pub mod reports;
pub mod rollups;
pub mod sop;
pub mod swaps;
pub mod tiers;
mod types;

pub use accounts::*;
pub use analytics::Analytics;
pub use analytics_models::FunnelCountStore;
pub use banlist::{BanStore, Presence};
pub use bot_powers::{BotPowers, BotPowersStore};
pub use click_rollups::{ClickRollupStore, ClickRow};
pub use connector_state::{ConnectorSecret, ConnectorStateStore};
pub use coupon_revocations::{CouponRevocationStore, Revocation};
pub use coupons::{CouponRedemption, CouponStore, RedeemCoupon};
pub use directory::Directory;
pub use documents::{Document, DocumentStore};
pub use drops::{DropStore, NewDrop, StoredDrop};
pub use event_log::EventLog;
pub use guard_memory::{GuardMemory, GuardMemoryStore};
pub use invite_tasks::{
    flags_of, flags_text, state_of, InviteTaskStore, InviteTaskUpdate, PageReferral, PrizeFilter,
};
pub use invites::{Invite, InviteCount, InviteFilter, InviteStore};
pub use landing::{ChannelCounts, LandingHit, LandingStore, Lead, NewLead};
pub use leases::{Lease, Leases};
pub use ledger::{LedgerStore, Posting, Redeem, Redemption, Reward};
pub use links::{Link, LinkClick, LinkStats, LinkStore, NewLink};
pub use livecode_links::{LinkJoins, LiveCodeLink, LiveCodeLinkStore};
pub use livecodes::{
    Candidate, ChannelFigures, LiveCodeAlert, LiveCodeRecord, LiveCodeStore, Seat, SeatRequest,
    SpareGroup,
};
pub use lottery::{Baseline, Drawn, Lottery, LotteryStore, NewLottery, Purchase};
pub use offers::{ClaimState, Claimed, NewOffer, OfferClaim, OfferStore, StoredOffer};
pub use orders::{
    CampaignCost, CampaignTotals, CommissionRow, Order, OrderRecorded, OrderStore, Revenue,
    ShowcasePost, StatementLine,
};
pub use outbox::Outbox;
pub use platform_counts::{PlatformCountDay, PlatformCountStore};
pub use plays::{PlayStore, RunFilter};
pub use poll_tags::PollTagStore;
pub use races::{NewRace, RaceState, RaceStore, StoredRace};
pub use reports::*;
pub use rollups::{
    DayLeader, FactsQuery, LeaderBy, MemberFactsRow, RollupDay, RollupDayQuery, RollupStore,
};
pub use sop::{
    CheckinRow, CheckinSnapshot, GroupSeen, LeaderRow, MorningPost, PushFigures, PushRender,
    PushRow, PushWindow, SopFactsUpdate, SopStore,
};
pub use swaps::{swap_from_columns, GroupSwap, NewSwap, SwapStore};
pub use tiers::{
    KolQuery, KolRow, LurkerQuery, LurkerRow, MemberKey, MemberTierRow, TierMarks, TierQuery,
    TierStore,
};
pub use types::*;

use async_trait::async_trait;
use qunzhu_domain::{Event, NewAction};

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

/// Everything qunzhu keeps: the role-sized traits below, each implemented directly by a backend.
///
/// Code that needs one role takes `&dyn Store` and calls that role's methods; the split keeps each
/// trait small enough to hold in one's head and lets a new area (ledger, campaigns) add its own.
#[async_trait]
pub trait Store:
    EventLog
    + Outbox
    + Directory
    + Analytics
    + Leases
    + AccountStore
    + DocumentStore
    + LinkStore
    + SopStore
    + ConnectorStateStore
    + GuardMemoryStore
    + ReportStore
    + LedgerStore
    + CouponStore
    + CouponRevocationStore
    + InviteStore
    + PollTagStore
    + OrderStore
    + InviteTaskStore
    + LotteryStore
    + DropStore
    + BanStore
    + RollupStore
    + ClickRollupStore
    + TierStore
    + LandingStore
    + PlayStore
    + LiveCodeStore
    + LiveCodeLinkStore
    + OfferStore
    + SwapStore
    + BotPowersStore
    + RaceStore
    + FunnelCountStore
    + PlatformCountStore
    + 'static
{
    /// `sqlite` or `postgres`, for `/healthz` and logs.
    fn backend(&self) -> &'static str;

    /// Cheap liveness check for `/healthz`.
    async fn ping(&self) -> Result<()>;
}

//! qunzhu's domain core: the vocabulary every other crate speaks, with no IO at all.
//!
//! Nothing here knows SQL, HTTP or a platform's wire format; it is plain data and pure functions
//! so that rules, schedules and derived statistics can be tested with a fake clock and no server.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod action;
pub mod actor;
pub mod click_rollup;
pub mod clock;
pub mod coupon;
pub mod digest;
pub mod event;
pub mod game;
pub mod instant;
pub mod keys;
#[macro_use]
pub mod model;
pub mod ban;
pub mod document_kind;
pub mod fate;
pub mod funnel;
pub mod funnel_counts;
pub mod invite;
pub mod ledger;
pub mod origin;
pub mod poll_tags;
pub mod rollup;
pub mod state;
pub mod tier;

pub use action::{ActionKind, ActionRecord, ActionStatus, ActionTarget, Button, NewAction};
pub use actor::ActorName;
pub use ban::{Ban, BanSource, BanTarget, ListMode, ListedRule, NewBan, PolicyList};
pub use clock::{Clock, FakeClock, SystemClock};
pub use coupon::{Coupon, CouponError, CouponOffer, CouponStatus, NewCoupon, Revoke};
pub use document_kind::DocumentKind;
pub use event::{Event, EventKind, JoinVia, LeaveHow, MessageKind};
pub use game::{DropPlan, GamePlan, QuizQuestion};
pub use instant::Instant;
pub use invite::{InviteChange, InviteChannel, InviteCode};
pub use ledger::{Account, AccountKind, Entry, Ledger, LedgerError, NewEntry, Posted, Reason};
pub use model::{
    ActionId, CampaignId, Group, GroupId, GroupStatus, GroupType, JoinRule, Member, MemberId,
    MemberRole, MemberTier, Platform, Positioning, WorkspaceId,
};
pub use origin::{ActionOrigin, BanStep, LegacyOrigin};
pub use poll_tags::PollAnswer;
pub use state::{local_day, DerivedState, GroupDay, MemberDay, Membership};

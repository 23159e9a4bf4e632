//! What an operator can do, in one place: the console, the REST API and the CLI all call these.
//!
//! Each operation takes the [`Actor`] who asks (workspace, name for the audit log, role), checks
//! the role, stays inside the actor's workspace, derives the idempotency key of any action it
//! writes from what it decides (so one decision is one action whichever door it came through),
//! and writes exactly one audit entry with one verb when it changes something.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
pub mod analytics;
pub mod backroom;
pub mod banlist;
pub mod check;
mod community;
mod coupons;
mod documents;
pub mod drops;
pub mod flash;
pub mod growth_views;
mod invite_page;
mod invite_tasks;
mod invites;
pub mod landing;
mod leaderboards;
mod ledger;
pub mod limits;
mod livecode_links;
mod livecodes;
pub mod lottery;
mod moderation;
pub mod offers;
mod orders;
pub mod people;
pub mod phone_vault;
mod plays;
pub mod poster_backgrounds;
pub mod posters;
pub mod powers;
pub mod races;
mod removals;
mod sop;
mod tasks;
pub mod users;

use std::sync::Arc;

use qunzhu_domain::{ActorName, Clock, WorkspaceId};
use qunzhu_storage::{NewAuditEntry, Store, StoreError, UserRole};

pub use check::{EditableKind, Problem};
pub use coupons::IssueCoupon;
pub use documents::CalendarEntry;
pub use drops::ScheduleDrop;
pub use flash::FlashView;
pub use growth_views::{DropPhase, DropView};
pub use invite_page::{parse_matrix_id, PageInvite, PageTarget};
pub use invite_tasks::{CampaignView, PrizeDecision, Standing};
pub use landing::{LandingView, LeadView, PhoneOutcome, PublicPage};
pub use ledger::{Adjustment, MemberPoints, PointsLeader};
pub use livecode_links::{valid_token, LinkJoin};
pub use livecodes::{
    livecode_link, AlertPost, GroupFill, LiveCodeView, LiveJoin, LiveTarget, RoutedAlert,
};
pub use lottery::{CreateLottery, DrawOutcome, LotteryView};
pub use moderation::Decided;
pub use offers::{ClaimAnswer, OfferView};
pub use orders::{
    order_event_key, showcase_invite_key, Buyer, IncomingOrder, OrderPolicy, ShowcasePolicy,
};
pub use phone_vault::PhoneVault;
pub use plays::PlayView;
pub use qunzhu_engine::{PushOutcome, PushReport};
pub use races::RaceView;
pub use removals::Removals;
pub use sop::{CardOutcome, PushEntry};
pub use users::{generate_password, UserView};

/// Who asks: the workspace they act in, their name as the audit log writes it, their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub workspace: WorkspaceId,
    /// `user:<login>`, `token:<name>` or `cli` in the audit log.
    pub name: ActorName,
    pub role: UserRole,
}

impl Actor {
    /// The terminal on the server: whoever can run `qunzhu` there owns the data already.
    pub fn cli(workspace: WorkspaceId) -> Actor {
        Actor {
            workspace,
            name: ActorName::Cli,
            role: UserRole::Owner,
        }
    }

    /// Refuses unless the role is at least `needed`.
    pub fn require(&self, needed: UserRole) -> Result<()> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(OpsError::Forbidden { needed })
        }
    }
}

/// Why an operation did not happen, in terms each door can show.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("your role does not allow this (needs {})", needed.as_str())]
    Forbidden { needed: UserRole },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A rule file or plan that does not pass its checker; nothing was stored.
    #[error("{}", problems_text(.0))]
    Problems(Vec<Problem>),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not fail did (a hashing task died); logged by the door.
    #[error("internal error: {0}")]
    Internal(String),
}

impl OpsError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        OpsError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

fn problems_text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| match problem.line {
            Some(line) => format!("line {line}: {}", problem.message),
            None => problem.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub type Result<T, E = OpsError> = std::result::Result<T, E>;

/// The operations, over one store and one clock; cheap to build per request.
#[derive(Clone)]
pub struct Ops {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Ops {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Ops {
        Ops { store, clock }
    }

    /// Writes the audit entry for a change `who` made.
    async fn audit(
        &self,
        who: &Actor,
        verb: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        let entry = NewAuditEntry {
            workspace: who.workspace,
            at: self.clock.now(),
            actor: who.name.to_string(),
            action: verb.to_string(),
            subject: subject.to_string(),
            detail,
        };
        self.store.append_audit(entry).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;

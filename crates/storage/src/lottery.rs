//! Lotteries in storage: each lottery with its secret seed and published commitment, the
//! members' standing when it opened, chances bought with points, and the draw once made.
//!
//! The draw is written compare-and-set (only while undrawn), so two operators drawing at once
//! record one draw; the frozen entries are kept with it, so `qunzhu lottery verify --lottery`
//! re-runs exactly what was drawn.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::lottery::{ChanceRule, Entry, MemberFacts, PrizeTier};
use serde::{Deserialize, Serialize};

use crate::Result;

/// A member's counters when the lottery opened; chances count what happened since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub member: String,
    pub invites: u32,
    pub check_ins: u32,
}

/// A lottery about to be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewLottery {
    /// The caller's idempotency key: creating twice stores once.
    pub key: String,
    pub name: String,
    pub platform: Platform,
    pub chat: String,
    /// Invites count only through this campaign's links, when set.
    pub campaign: Option<String>,
    pub rules: Vec<ChanceRule>,
    pub prizes: Vec<PrizeTier>,
    /// The reward pool point prizes are paid from; `None` issues them.
    pub pool: Option<String>,
    /// 64 hex digits; secret until drawn (never serialized).
    #[serde(skip)]
    pub seed: String,
    pub commitment: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    #[serde(skip)]
    pub baseline: Vec<Baseline>,
}

/// The draw as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drawn {
    pub at: DateTime<Utc>,
    /// The entries the draw saw, sorted by member.
    pub entries: Vec<Entry>,
    /// Winners in draw order.
    pub winners: Vec<String>,
}

/// A stored lottery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lottery {
    pub id: i64,
    #[serde(flatten)]
    pub body: NewLottery,
    pub drawn: Option<Drawn>,
}

impl Lottery {
    /// The seed, once it may be shown: after the draw.
    pub fn revealed_seed(&self) -> Option<&str> {
        self.drawn.as_ref().map(|_| self.body.seed.as_str())
    }

    /// A member's standing when it opened (zeros for a newcomer).
    pub fn baseline_of(&self, member: &str) -> MemberFacts {
        self.body
            .baseline
            .iter()
            .find(|row| row.member == member)
            .map(|row| MemberFacts {
                invites: row.invites,
                check_ins: row.check_ins,
                points_spent: 0,
            })
            .unwrap_or_default()
    }
}

/// Chances bought with points (the ledger entry is posted under the same key first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purchase {
    pub lottery: i64,
    pub key: String,
    pub member: String,
    pub points: i64,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait LotteryStore: Send + Sync {
    /// Stores a lottery; a key already used answers the lottery stored under it.
    async fn create_lottery(&self, workspace: WorkspaceId, lottery: NewLottery) -> Result<Lottery>;

    /// `NotFound` for an unknown id (in this workspace).
    async fn lottery(&self, workspace: WorkspaceId, id: i64) -> Result<Lottery>;

    /// The workspace's lotteries, newest first.
    async fn lotteries(&self, workspace: WorkspaceId, limit: usize) -> Result<Vec<Lottery>>;

    /// Records a purchase once per key (a retry is a no-op); `Invalid` once the lottery is drawn.
    async fn record_purchase(&self, workspace: WorkspaceId, purchase: Purchase) -> Result<()>;

    /// Points spent per member on one lottery, by member.
    async fn points_spent(
        &self,
        workspace: WorkspaceId,
        lottery: i64,
    ) -> Result<Vec<(String, i64)>>;

    /// Records the draw unless one is recorded; answers the lottery as stored and whether this
    /// call's draw is the one recorded.
    async fn record_draw(
        &self,
        workspace: WorkspaceId,
        lottery: i64,
        drawn: Drawn,
    ) -> Result<(Lottery, bool)>;
}

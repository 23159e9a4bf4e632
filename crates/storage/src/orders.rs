//! Orders in storage: the webhook's nonces, each order with its attribution (the orders read
//! model, written once per order id), per-push and per-campaign revenue, the 晒单 showcase
//! consumer's watermark, campaign costs, and commissions earned.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use serde::Serialize;

use crate::{Invite, Result};

/// An accepted order (or refund, with a negative amount) and what it is credited to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    pub order_id: String,
    pub platform: Platform,
    pub member: String,
    pub amount_cents: i64,
    pub currency: String,
    pub items: Vec<String>,
    pub coupon: Option<String>,
    pub link_token: Option<String>,
    pub refund_of: Option<String>,
    pub at: DateTime<Utc>,
    pub chat: Option<String>,
    pub push: Option<String>,
    pub campaign: Option<String>,
    pub live_code: Option<String>,
    pub inviter: Option<String>,
    /// Until when a post by the buyer counts as their 晒单 (none for a refund).
    pub showcase_until: Option<DateTime<Utc>>,
    /// The message recognised as the showcase, once there is one.
    pub showcase_message: Option<String>,
    pub showcase_at: Option<DateTime<Utc>>,
}

/// What became of recording an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OrderRecorded {
    New {
        order: Order,
    },
    /// The order id was recorded before; the stored order is unchanged.
    Duplicate {
        order: Order,
    },
}

impl OrderRecorded {
    pub fn order(&self) -> &Order {
        match self {
            OrderRecorded::New { order } | OrderRecorded::Duplicate { order } => order,
        }
    }
}

/// Orders and net revenue credited to one push (or campaign, or group).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Revenue {
    pub key: String,
    /// Orders, not counting refunds.
    pub orders: u64,
    /// Distinct buyers of those orders.
    pub buyers: u64,
    /// Net of refunds, in cents.
    pub revenue_cents: i64,
}

/// A buyer's post recognised as the showcase of their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowcasePost {
    pub order_id: String,
    pub message_id: String,
    pub at: DateTime<Utc>,
}

/// A cost the operator entered against a campaign; `key` is the caller's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignCost {
    pub key: String,
    pub campaign: String,
    pub amount_cents: i64,
    pub memo: String,
    pub at: DateTime<Utc>,
}

/// Per campaign: entered costs, members acquired through its codes, reward points its ledger
/// account paid out, and attributed revenue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CampaignTotals {
    pub campaign: String,
    pub entered_cents: i64,
    pub acquired: u64,
    pub reward_points: i64,
    pub revenue: Revenue,
}

/// A commission earned on one order by one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommissionRow {
    pub order_id: String,
    pub rule: String,
    pub platform: Platform,
    pub earner: String,
    pub amount_cents: i64,
    pub at: DateTime<Utc>,
}

/// One earner's commissions over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub platform: Platform,
    pub earner: String,
    pub orders: u64,
    pub amount_cents: i64,
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Remembers a webhook nonce until `expires_at`; false when it is already remembered (a
    /// replay). Forgets nonces that expired before `at` in the same transaction.
    async fn remember_nonce(
        &self,
        workspace: WorkspaceId,
        nonce: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;

    /// Records an order once per order id; a repeat answers the stored order unchanged.
    async fn record_order(&self, workspace: WorkspaceId, order: Order) -> Result<OrderRecorded>;

    /// `NotFound` for an unknown order id.
    async fn order(&self, workspace: WorkspaceId, order_id: &str) -> Result<Order>;

    /// Orders placed in `[from, until)`, newest first, at most `limit`.
    async fn orders(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>>;

    /// The member's arrivals in groups from the invites read model (their attribution touches),
    /// oldest first.
    async fn member_arrivals(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
    ) -> Result<Vec<Invite>>;

    /// Revenue per push for the given push keys, in one query (pushes without orders absent).
    async fn push_revenue(&self, workspace: WorkspaceId, pushes: &[String])
        -> Result<Vec<Revenue>>;

    /// The showcase consumer's watermark (0 before the first round).
    async fn showcase_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Orders whose showcase window is still open at `at` and has no post yet.
    async fn open_showcases(&self, workspace: WorkspaceId, at: DateTime<Utc>)
        -> Result<Vec<Order>>;

    /// Marks showcase posts (the first per order counts) and moves the watermark from
    /// `from_seq` to `to_seq`, in one transaction; false and nothing changed when the watermark
    /// is no longer `from_seq` (another instance got there first).
    async fn apply_showcases(
        &self,
        workspace: WorkspaceId,
        posts: Vec<ShowcasePost>,
        from_seq: i64,
        to_seq: i64,
    ) -> Result<bool>;

    /// Adds a campaign cost once per key; a repeated key answers the stored cost and false.
    async fn add_campaign_cost(
        &self,
        workspace: WorkspaceId,
        cost: CampaignCost,
    ) -> Result<(CampaignCost, bool)>;

    /// Every campaign with costs, acquisitions, reward payouts or revenue, by name.
    async fn campaign_totals(&self, workspace: WorkspaceId) -> Result<Vec<CampaignTotals>>;

    /// Records commissions once per `(order, rule)`; answers how many were new.
    async fn record_commissions(
        &self,
        workspace: WorkspaceId,
        rows: Vec<CommissionRow>,
    ) -> Result<usize>;

    /// Commissions per earner for orders placed in `[from, until)`, largest first.
    async fn commission_statement(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<StatementLine>>;

    /// The size of the largest group the member owns and how many members they brought who are
    /// still present, for commission rules (from the directory and invites read models).
    async fn earner_facts(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
    ) -> Result<(u64, u64)>;

    /// Names the member who owns a group (the group builder commission rules pay).
    async fn set_group_owner(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        owner: &str,
    ) -> Result<()>;

    /// The member named as a group's owner, if any.
    async fn group_owner(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Option<String>>;
}

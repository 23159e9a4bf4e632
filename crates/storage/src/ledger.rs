//! The points ledger in storage: entries appended with their balances in one transaction, the
//! reward catalogue, and spending points on it.
//!
//! Backends do not re-implement the ledger's rules: they load what a batch touches (balances,
//! entries whose keys it repeats or reverses), decide the batch with the pure
//! [`qunzhu_domain::Ledger`] through [`settle`], and write back what it applied.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{
    Account, AccountKind, Entry, Ledger, LedgerError, NewEntry, Posted, WorkspaceId,
};
use serde::{Deserialize, Serialize};

use crate::Result;

/// What became of one posted entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Posting {
    /// New: stored, balances moved.
    Applied { entry: Entry },
    /// Its key was already stored; nothing moved.
    Duplicate { entry: Entry },
    /// Against the rules (it would overdraw an account, a bad reversal); nothing moved.
    Refused { error: LedgerError },
}

impl Posting {
    pub fn entry(&self) -> Option<&Entry> {
        match self {
            Posting::Applied { entry } | Posting::Duplicate { entry } => Some(entry),
            Posting::Refused { .. } => None,
        }
    }
}

/// A reward in the catalogue an operator defines: what it costs and how many are left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reward {
    /// Stable code the shop names it by.
    pub code: String,
    pub name: String,
    /// Points it costs; positive.
    pub cost: i64,
    /// How many are left; `None` is unlimited.
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl Reward {
    /// Checks an operator's reward; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let invalid =
            |field: &'static str, message: String| crate::StoreError::Invalid { field, message };
        if self.code.trim().is_empty() || self.code.chars().any(char::is_whitespace) {
            return Err(invalid(
                "code",
                format!("`{}` must be a non-empty word without spaces", self.code),
            ));
        }
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".into()));
        }
        if self.cost <= 0 {
            return Err(invalid(
                "cost",
                format!("must be positive, got {}", self.cost),
            ));
        }
        if let Some(stock) = self.stock.filter(|stock| *stock < 0) {
            return Err(invalid(
                "stock",
                format!("must not be negative, got {stock}"),
            ));
        }
        Ok(())
    }
}

/// The shop spends a member's points on a reward; `request` is the shop's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeem {
    pub member: Account,
    pub reward: String,
    pub request: String,
    pub at: DateTime<Utc>,
}

impl Redeem {
    /// The ledger key of the spend, so a retried request spends once.
    pub fn entry_key(&self) -> String {
        format!("redeem:{}", self.request)
    }
}

/// A redemption's result: the spend (or why it was refused) and the reward as it now stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redemption {
    pub posting: Posting,
    pub reward: Reward,
}

#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Posts entries in order in one transaction: each is applied, a duplicate of a stored (or
    /// earlier in the batch) key, or refused by the ledger's rules, exactly as [`Ledger::post`]
    /// decides. Balances are updated in the same transaction.
    async fn post_entries(
        &self,
        workspace: WorkspaceId,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<Posting>>;

    /// The balance of one account (zero if it never moved).
    async fn balance(&self, workspace: WorkspaceId, account: &Account) -> Result<i64>;

    /// Balances of one kind of account (all kinds with `None`), highest first, then by account.
    async fn balances(
        &self,
        workspace: WorkspaceId,
        kind: Option<AccountKind>,
        limit: usize,
    ) -> Result<Vec<(Account, i64)>>;

    /// Entries touching an account (all with `None`), newest first.
    async fn ledger_entries(
        &self,
        workspace: WorkspaceId,
        account: Option<&Account>,
        limit: usize,
    ) -> Result<Vec<Entry>>;

    /// `NotFound` for an unknown key.
    async fn ledger_entry(&self, workspace: WorkspaceId, key: &str) -> Result<Entry>;

    /// Adds or replaces a reward in the catalogue (after [`Reward::validate`]).
    async fn put_reward(&self, workspace: WorkspaceId, reward: Reward) -> Result<Reward>;

    /// The catalogue, by code.
    async fn rewards(&self, workspace: WorkspaceId) -> Result<Vec<Reward>>;

    /// Spends the member's points on a reward and takes one from its stock, in one
    /// transaction. `NotFound` for an unknown reward, `Invalid` for an inactive or sold-out one;
    /// a repeated request is a duplicate that takes nothing more.
    async fn redeem(&self, workspace: WorkspaceId, redeem: Redeem) -> Result<Redemption>;

    /// Plain insert of the same entries into a scratch table of the same shape, no checks and no
    /// balances (same columns and indexes): the floor `qunzhu bench ledger` compares posting
    /// against. `fresh` empties it first (the first batch of a run).
    async fn ledger_baseline_insert(
        &self,
        workspace: WorkspaceId,
        entries: &[NewEntry],
        fresh: bool,
    ) -> Result<()>;
}

/// What a batch needs loaded: every account it moves and every key it repeats or reverses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub accounts: BTreeSet<Account>,
    pub keys: BTreeSet<String>,
    /// Keys of entries the batch reverses (whether each was already reversed is loaded too).
    pub originals: BTreeSet<String>,
}

pub fn touched(entries: &[NewEntry]) -> Touched {
    let mut touched = Touched::default();
    for entry in entries {
        touched.accounts.insert(entry.from.clone());
        touched.accounts.insert(entry.to.clone());
        touched.keys.insert(entry.key.clone());
        if let Some(original) = &entry.reverses {
            touched.keys.insert(original.clone());
            touched.originals.insert(original.clone());
        }
    }
    touched
}

/// A batch decided: the outcome per entry (applied entries carry id 0 until stored), which of
/// them to insert, and the new balance of every touched account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub postings: Vec<Posting>,
    /// Indexes into `postings` of the entries to insert, in order.
    pub applied: Vec<usize>,
    pub balances: Vec<(Account, i64)>,
}

/// Decides a batch against the loaded state with the domain ledger.
pub fn settle(
    touched: &Touched,
    balances: Vec<(Account, i64)>,
    stored: Vec<Entry>,
    reversed: Vec<String>,
    entries: Vec<NewEntry>,
) -> Settled {
    let mut ledger = Ledger::with_state(balances, stored, reversed);
    let mut postings = Vec::with_capacity(entries.len());
    let mut applied = Vec::new();
    for entry in entries {
        postings.push(match ledger.post(entry) {
            Ok(Posted::Applied(mut entry)) => {
                entry.id = 0;
                applied.push(postings.len());
                Posting::Applied { entry }
            }
            Ok(Posted::Duplicate(entry)) => Posting::Duplicate { entry },
            Err(error) => Posting::Refused { error },
        });
    }
    let balances = touched
        .accounts
        .iter()
        .map(|account| (account.clone(), ledger.balance(account)))
        .collect();
    Settled {
        postings,
        applied,
        balances,
    }
}

/// The one entry a redemption posts.
pub fn spend_entry(redeem: &Redeem, reward: &Reward) -> NewEntry {
    NewEntry {
        key: redeem.entry_key(),
        reason: qunzhu_domain::Reason::Spend,
        cause: Some(format!("redeem:{}", redeem.request)),
        from: redeem.member.clone(),
        to: Account::Redeemed,
        amount: reward.cost,
        at: redeem.at,
        memo: reward.name.clone(),
        reverses: None,
    }
}

/// Why a reward cannot be redeemed now, if it cannot.
pub fn unavailable(reward: &Reward) -> Option<crate::StoreError> {
    let message = if !reward.active {
        format!("`{}` is not offered", reward.code)
    } else if reward.stock.is_some_and(|stock| stock <= 0) {
        format!("`{}` is out of stock", reward.code)
    } else {
        return None;
    };
    Some(crate::StoreError::Invalid {
        field: "reward",
        message,
    })
}

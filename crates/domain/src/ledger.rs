//! The points ledger: double-entry, append-only, idempotent; the pure reducer is its specification.
//!
//! Every entry moves a positive amount from one account to another, so the sum of all balances is
//! always zero and a balance is never a sum over history the reader has to compute.
//! No account but the workspace's issuance account may go below zero; a reversal is a new entry
//! that undoes an earlier one, never an edit. The storage backends load the accounts and entries a
//! batch touches into a [`Ledger`], post through it, and write back what it applied, so the rules
//! live here once.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::action::{ActionKind, ActionRecord};
use crate::model::Platform;
use crate::origin::ActionOrigin;

string_enum! {
    /// Why points moved.
    Reason {
        CheckIn => "check_in", Invite => "invite", Lottery => "lottery", JoinGift => "join_gift",
        Drop => "drop", Manual => "manual", Spend => "spend", Reversal => "reversal",
        Commission => "commission", Race => "race",
    }
}

string_enum! {
    /// The kinds of account, for listing balances of one kind (a points leaderboard).
    AccountKind { Member => "member", Campaign => "campaign", Pool => "pool", Issuance => "issuance", Redeemed => "redeemed" }
}

/// An account in one workspace's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Account {
    /// A member's points (their platform identity, across the workspace's groups).
    Member { platform: Platform, user: String },
    /// Points a campaign holds to pay out.
    Campaign { name: String },
    /// A reward pool (a budget an operator tops up).
    Pool { name: String },
    /// Where points come from: the only account allowed below zero.
    Issuance,
    /// Where spent points go (the shop redeemed them).
    Redeemed,
}

impl Account {
    pub fn member(platform: Platform, user: impl Into<String>) -> Account {
        Account::Member {
            platform,
            user: user.into(),
        }
    }

    pub fn kind(&self) -> AccountKind {
        match self {
            Account::Member { .. } => AccountKind::Member,
            Account::Campaign { .. } => AccountKind::Campaign,
            Account::Pool { .. } => AccountKind::Pool,
            Account::Issuance => AccountKind::Issuance,
            Account::Redeemed => AccountKind::Redeemed,
        }
    }

    /// Designated source accounts may be overdrawn; every other balance stays at or above zero.
    pub fn may_go_negative(&self) -> bool {
        matches!(self, Account::Issuance)
    }

    /// The stable text form the stores keep: `member:matrix:@a:hs`, `pool:spring`, `issuance`.
    pub fn encode(&self) -> String {
        match self {
            Account::Member { platform, user } => format!("member:{platform}:{user}"),
            Account::Campaign { name } => format!("campaign:{name}"),
            Account::Pool { name } => format!("pool:{name}"),
            Account::Issuance => "issuance".into(),
            Account::Redeemed => "redeemed".into(),
        }
    }

    pub fn parse(text: &str) -> Result<Account, LedgerError> {
        let bad = || LedgerError::BadAccount {
            text: text.to_string(),
        };
        let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
        Ok(match (kind, rest) {
            ("issuance", "") => Account::Issuance,
            ("redeemed", "") => Account::Redeemed,
            ("campaign", name) if !name.is_empty() => Account::Campaign { name: name.into() },
            ("pool", name) if !name.is_empty() => Account::Pool { name: name.into() },
            ("member", rest) => {
                let (platform, user) = rest.split_once(':').ok_or_else(bad)?;
                if user.is_empty() {
                    return Err(bad());
                }
                Account::Member {
                    platform: Platform::parse(platform).map_err(|_| bad())?,
                    user: user.into(),
                }
            }
            _ => return Err(bad()),
        })
    }
}

impl std::fmt::Display for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

/// An entry on its way into the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    /// Idempotency key, derived from the cause (an outbox action key, a redemption request id):
    /// posting the same key twice is one entry.
    pub key: String,
    pub reason: Reason,
    /// The action id or event key that caused it.
    pub cause: Option<String>,
    pub from: Account,
    pub to: Account,
    /// Always positive; the direction is `from` → `to`.
    pub amount: i64,
    pub at: DateTime<Utc>,
    /// Free text for the operator (a check-in day, a reward's name).
    pub memo: String,
    /// For a reversal: the key of the entry it undoes.
    pub reverses: Option<String>,
}

/// An entry as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    #[serde(flatten)]
    pub body: NewEntry,
}

/// What became of one posting that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// New; the balances moved.
    Applied(Entry),
    /// The key was already in the ledger: nothing moved; the earlier entry is returned.
    Duplicate(Entry),
}

impl Posted {
    pub fn entry(&self) -> &Entry {
        match self {
            Posted::Applied(entry) | Posted::Duplicate(entry) => entry,
        }
    }
}

/// Why a posting was refused; nothing moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum LedgerError {
    #[error("entry `{key}`: amount must be positive, got {amount}")]
    NotPositive { key: String, amount: i64 },
    #[error("entry `{key}`: moves points from `{account}` to itself")]
    SameAccount { key: String, account: String },
    #[error("entry `{key}`: `{account}` holds {balance}, cannot pay {amount}")]
    Insufficient {
        key: String,
        account: String,
        balance: i64,
        amount: i64,
    },
    #[error("entry `{key}`: a reversal must name the entry it reverses")]
    ReversalWithoutOriginal { key: String },
    #[error("entry `{key}`: only a reversal may name an entry it reverses")]
    NotAReversal { key: String },
    #[error("entry `{key}`: reverses `{original}`, which is not in the ledger")]
    UnknownOriginal { key: String, original: String },
    #[error("entry `{key}`: `{original}` is itself a reversal and cannot be reversed")]
    ReversalOfReversal { key: String, original: String },
    #[error("entry `{key}`: `{original}` was already reversed")]
    AlreadyReversed { key: String, original: String },
    #[error(
        "entry `{key}`: a reversal of `{original}` must move its amount back between its accounts"
    )]
    ReversalMismatch { key: String, original: String },
    #[error("unknown account `{text}`, expected member:PLATFORM:USER, campaign:NAME, pool:NAME, issuance or redeemed")]
    BadAccount { text: String },
}

/// A workspace's ledger, or the part of it a batch touches.
///
/// Loaded whole it is the reducer the backends are tested against; loaded with just the
/// accounts, keys and originals a batch names, it decides that batch exactly as the whole would.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    balances: BTreeMap<Account, i64>,
    by_key: HashMap<String, Entry>,
    /// Keys of entries already reversed.
    reversed: HashSet<String>,
    next_id: i64,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger {
            next_id: 1,
            ..Ledger::default()
        }
    }

    /// A partial ledger: the current balances of some accounts, some entries already stored
    /// (those whose keys a batch repeats or reverses), and which of those were reversed.
    /// Accounts not given count as zero, so every account a batch touches must be given.
    pub fn with_state(
        balances: impl IntoIterator<Item = (Account, i64)>,
        entries: impl IntoIterator<Item = Entry>,
        reversed: impl IntoIterator<Item = String>,
    ) -> Ledger {
        let by_key: HashMap<String, Entry> = entries
            .into_iter()
            .map(|entry| (entry.body.key.clone(), entry))
            .collect();
        let next_id = by_key.values().map(|entry| entry.id).max().unwrap_or(0) + 1;
        Ledger {
            balances: balances.into_iter().collect(),
            by_key,
            reversed: reversed.into_iter().collect(),
            next_id,
        }
    }

    /// Replays stored entries in order (their ids are kept), checking every rule again.
    pub fn replay<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Result<Ledger, LedgerError> {
        let mut ledger = Ledger::new();
        for entry in entries {
            ledger.next_id = entry.id;
            ledger.post(entry.body.clone())?;
        }
        Ok(ledger)
    }

    pub fn balance(&self, account: &Account) -> i64 {
        self.balances.get(account).copied().unwrap_or(0)
    }

    /// Every account that ever moved, with its balance.
    pub fn balances(&self) -> &BTreeMap<Account, i64> {
        &self.balances
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.by_key.get(key)
    }

    /// Checks a posting against the rules without applying it.
    pub fn check(&self, new: &NewEntry) -> Result<(), LedgerError> {
        let key = || new.key.clone();
        if new.amount <= 0 {
            return Err(LedgerError::NotPositive {
                key: key(),
                amount: new.amount,
            });
        }
        if new.from == new.to {
            return Err(LedgerError::SameAccount {
                key: key(),
                account: new.from.encode(),
            });
        }
        match (&new.reverses, new.reason) {
            (None, Reason::Reversal) => {
                return Err(LedgerError::ReversalWithoutOriginal { key: key() })
            }
            (Some(_), reason) if reason != Reason::Reversal => {
                return Err(LedgerError::NotAReversal { key: key() })
            }
            (Some(original_key), _) => {
                let original = || original_key.clone();
                let Some(original_entry) = self.by_key.get(original_key) else {
                    return Err(LedgerError::UnknownOriginal {
                        key: key(),
                        original: original(),
                    });
                };
                let body = &original_entry.body;
                if body.reason == Reason::Reversal {
                    return Err(LedgerError::ReversalOfReversal {
                        key: key(),
                        original: original(),
                    });
                }
                if self.reversed.contains(original_key) {
                    return Err(LedgerError::AlreadyReversed {
                        key: key(),
                        original: original(),
                    });
                }
                if body.from != new.to || body.to != new.from || body.amount != new.amount {
                    return Err(LedgerError::ReversalMismatch {
                        key: key(),
                        original: original(),
                    });
                }
            }
            (None, _) => {}
        }
        let balance = self.balance(&new.from);
        if !new.from.may_go_negative() && balance < new.amount {
            return Err(LedgerError::Insufficient {
                key: key(),
                account: new.from.encode(),
                balance,
                amount: new.amount,
            });
        }
        Ok(())
    }

    /// Posts one entry: a known key is a duplicate (nothing moves), a refused one changes nothing.
    pub fn post(&mut self, new: NewEntry) -> Result<Posted, LedgerError> {
        if let Some(existing) = self.by_key.get(&new.key) {
            return Ok(Posted::Duplicate(existing.clone()));
        }
        self.check(&new)?;
        *self.balances.entry(new.from.clone()).or_insert(0) -= new.amount;
        *self.balances.entry(new.to.clone()).or_insert(0) += new.amount;
        if let Some(original) = &new.reverses {
            self.reversed.insert(original.clone());
        }
        let entry = Entry {
            id: self.next_id,
            body: new,
        };
        self.next_id += 1;
        self.by_key.insert(entry.body.key.clone(), entry.clone());
        Ok(Posted::Applied(entry))
    }
}

/// The entry that undoes `original`: the same amount back between the same accounts.
pub fn reversal(original: &Entry, key: String, at: DateTime<Utc>, memo: String) -> NewEntry {
    NewEntry {
        key,
        reason: Reason::Reversal,
        cause: Some(original.body.key.clone()),
        from: original.body.to.clone(),
        to: original.body.from.clone(),
        amount: original.body.amount,
        at,
        memo,
        reverses: Some(original.body.key.clone()),
    }
}

/// The entry a `GrantReward` action stands for, keyed by the action's own key so a grant
/// delivered twice is one entry. A deduction (negative points) moves points back to issuance;
/// zero points is nothing to post.
pub fn grant_entry(action: &ActionRecord) -> Option<NewEntry> {
    let ActionKind::GrantReward {
        member,
        points,
        reason,
    } = &action.kind
    else {
        return None;
    };
    if *points == 0 {
        return None;
    }
    let member = Account::member(action.platform, member.clone());
    let (from, to) = if *points > 0 {
        (Account::Issuance, member)
    } else {
        (member, Account::Issuance)
    };
    Some(NewEntry {
        key: action.key.clone(),
        reason: reason_of_origin(&action.origin),
        cause: Some(format!("action:{}", action.id)),
        from,
        to,
        amount: points.saturating_abs(),
        at: action.created_at,
        memo: reason.clone(),
        reverses: None,
    })
}

/// The reason a grant's origin implies (`checkin`, `rule:welcome.gift`, `campaign:…`, `drop:…`).
pub fn reason_of_origin(origin: &ActionOrigin) -> Reason {
    match origin {
        ActionOrigin::Checkin => Reason::CheckIn,
        ActionOrigin::Campaign { gift: true, .. } => Reason::JoinGift,
        ActionOrigin::Campaign { .. } | ActionOrigin::InvitePage(_) => Reason::Invite,
        ActionOrigin::Lottery(_) => Reason::Lottery,
        ActionOrigin::Drop(_) => Reason::Drop,
        ActionOrigin::Race(_) => Reason::Race,
        // Rules are named by whoever wrote them (`welcome.gift`, `checkin:bonus`): the name says.
        ActionOrigin::Rule(name) => reason_of_name(name),
        ActionOrigin::Legacy(text) => reason_of_name(text.as_str()),
        _ => Reason::Manual,
    }
}

/// The reason a rule's (or an older origin's) name suggests.
fn reason_of_name(name: &str) -> Reason {
    if name.starts_with("checkin") {
        Reason::CheckIn
    } else if name.contains("gift") {
        Reason::JoinGift
    } else if name.starts_with("invite") || name.starts_with("campaign") {
        Reason::Invite
    } else if name.starts_with("lottery") {
        Reason::Lottery
    } else if name.starts_with("drop") {
        Reason::Drop
    } else if name.starts_with("race") {
        Reason::Race
    } else {
        Reason::Manual
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
    }

    fn member(user: &str) -> Account {
        Account::member(Platform::Sandbox, user)
    }

    fn grant(key: &str, to: Account, amount: i64) -> NewEntry {
        NewEntry {
            key: key.into(),
            reason: Reason::CheckIn,
            cause: None,
            from: Account::Issuance,
            to,
            amount,
            at: at(),
            memo: String::new(),
            reverses: None,
        }
    }

    fn spend(key: &str, from: Account, amount: i64) -> NewEntry {
        NewEntry {
            reason: Reason::Spend,
            from,
            to: Account::Redeemed,
            ..grant(key, Account::Redeemed, amount)
        }
    }

    #[test]
    fn accounts_round_trip_through_their_text_and_bad_text_says_what_is_expected() {
        for account in [
            member("@a:example.org"),
            Account::Campaign {
                name: "spring".into(),
            },
            Account::Pool { name: "p".into() },
            Account::Issuance,
            Account::Redeemed,
        ] {
            assert_eq!(Account::parse(&account.encode()), Ok(account));
        }
        for bad in ["member:irc:@a", "member:matrix:", "pool:", "bank", ""] {
            let error = Account::parse(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn grants_spends_and_reversals_follow_the_rules() {
        let mut ledger = Ledger::new();
        let a = member("@a");
        assert!(matches!(
            ledger.post(grant("g1", a.clone(), 10)),
            Ok(Posted::Applied(_))
        ));
        assert!(matches!(
            ledger.post(grant("g1", a.clone(), 999)),
            Ok(Posted::Duplicate(entry)) if entry.body.amount == 10
        ));
        assert_eq!(ledger.balance(&a), 10);
        assert_eq!(ledger.balance(&Account::Issuance), -10);
        let refused = ledger.post(spend("s1", a.clone(), 11)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "entry `s1`: `member:sandbox:@a` holds 10, cannot pay 11"
        );
        ledger.post(spend("s2", a.clone(), 4)).unwrap();
        let original = ledger.entry("s2").cloned().unwrap();
        let undo = reversal(&original, "r-s2".into(), at(), "refund".into());
        ledger.post(undo.clone()).unwrap();
        assert_eq!(ledger.balance(&a), 10);
        let again = reversal(&original, "r-s2-again".into(), at(), String::new());
        assert!(matches!(
            ledger.post(again),
            Err(LedgerError::AlreadyReversed { .. })
        ));
        let of_reversal = reversal(
            ledger.entry("r-s2").unwrap(),
            "r-r".into(),
            at(),
            String::new(),
        );
        assert!(matches!(
            ledger.post(of_reversal),
            Err(LedgerError::ReversalOfReversal { .. })
        ));
        // The member spent 4 of 10 and got them back; taking back the grant of 10 is fine,
        // but after spending again, reversing the grant would overdraw them and is refused.
        ledger.post(spend("s3", a.clone(), 5)).unwrap();
        let grant_entry = ledger.entry("g1").cloned().unwrap();
        assert!(matches!(
            ledger.post(reversal(&grant_entry, "r-g1".into(), at(), String::new())),
            Err(LedgerError::Insufficient { balance: 5, .. })
        ));
        assert_eq!(ledger.balances().values().sum::<i64>(), 0);
    }

    #[test]
    fn malformed_postings_are_refused_with_their_key() {
        let ledger = Ledger::new();
        let cases: Vec<(NewEntry, &str)> = vec![
            (
                grant("zero", member("@a"), 0),
                "entry `zero`: amount must be positive, got 0",
            ),
            (
                NewEntry {
                    from: member("@a"),
                    ..grant("self", member("@a"), 1)
                },
                "entry `self`: moves points from `member:sandbox:@a` to itself",
            ),
            (
                NewEntry {
                    reason: Reason::Reversal,
                    ..grant("rev", member("@a"), 1)
                },
                "entry `rev`: a reversal must name the entry it reverses",
            ),
            (
                NewEntry {
                    reverses: Some("x".into()),
                    ..grant("odd", member("@a"), 1)
                },
                "entry `odd`: only a reversal may name an entry it reverses",
            ),
            (
                NewEntry {
                    reason: Reason::Reversal,
                    reverses: Some("ghost".into()),
                    ..grant("r", member("@a"), 1)
                },
                "entry `r`: reverses `ghost`, which is not in the ledger",
            ),
        ];
        for (posting, expected) in cases {
            assert_eq!(ledger.check(&posting).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn grant_actions_become_entries_keyed_by_the_action() {
        let record = ActionRecord {
            id: crate::ActionId(7),
            workspace: crate::WorkspaceId(1),
            platform: Platform::Matrix,
            chat: "!g".into(),
            key: "checkin:!g:@a:2026-11-24".into(),
            kind: ActionKind::GrantReward {
                member: "@a:hs".into(),
                points: 10,
                reason: "check-in 2026-11-24".into(),
            },
            origin: ActionOrigin::Checkin,
            cause: Some("$e".into()),
            status: crate::ActionStatus::InFlight,
            attempts: 0,
            created_at: at(),
            not_before: at(),
            next_attempt_at: at(),
            expires_at: None,
            done_at: None,
            last_error: None,
            receipt: None,
        };
        let entry = grant_entry(&record).unwrap();
        assert_eq!(
            (
                entry.key.as_str(),
                entry.reason,
                entry.to.encode(),
                entry.amount
            ),
            (
                "checkin:!g:@a:2026-11-24",
                Reason::CheckIn,
                "member:matrix:@a:hs".to_string(),
                10
            )
        );
        for (origin, reason) in [
            ("rule:welcome.gift", Reason::JoinGift),
            ("campaign:spring.gift", Reason::JoinGift),
            ("campaign:spring", Reason::Invite),
            ("invite_page:c1", Reason::Invite),
            ("lottery:3", Reason::Lottery),
            ("drop:7", Reason::Drop),
            ("checkin", Reason::CheckIn),
            ("rule:checkin:bonus", Reason::CheckIn),
            ("api:user:ops", Reason::Manual),
            ("user:ops", Reason::Manual),
            ("welcome.gift", Reason::JoinGift),
        ] {
            assert_eq!(
                reason_of_origin(&ActionOrigin::parse(origin)),
                reason,
                "{origin}"
            );
        }
    }

    /// One step of a random ledger history.
    #[derive(Debug, Clone)]
    enum Step {
        Grant(usize, i64),
        Spend(usize, i64),
        Transfer(usize, usize, i64),
        Repeat(usize),
        Reverse(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..4usize, 1..50i64).prop_map(|(to, amount)| Step::Grant(to, amount)),
            (0..4usize, 1..80i64).prop_map(|(from, amount)| Step::Spend(from, amount)),
            (0..4usize, 0..4usize, 1..60i64)
                .prop_map(|(from, to, amount)| Step::Transfer(from, to, amount)),
            (0..64usize).prop_map(Step::Repeat),
            (0..64usize).prop_map(Step::Reverse),
        ]
    }

    proptest! {
        #[test]
        fn never_negative_sums_to_zero_duplicates_are_one_entry_and_replay_is_the_same(
            steps in proptest::collection::vec(step(), 0..80)
        ) {
            let accounts = [member("@a"), member("@b"), Account::Pool { name: "p".into() }, Account::Campaign { name: "c".into() }];
            let mut ledger = Ledger::new();
            let mut posted: Vec<NewEntry> = Vec::new();
            let mut applied: Vec<Entry> = Vec::new();
            for (index, step) in steps.into_iter().enumerate() {
                let key = format!("k{index}");
                let posting = match step {
                    Step::Grant(to, amount) => grant(&key, accounts[to].clone(), amount),
                    Step::Spend(from, amount) => spend(&key, accounts[from].clone(), amount),
                    Step::Transfer(from, to, amount) => NewEntry { from: accounts[from].clone(), reason: Reason::Manual, ..grant(&key, accounts[to].clone(), amount) },
                    Step::Repeat(pick) if !posted.is_empty() => posted[pick % posted.len()].clone(),
                    Step::Reverse(pick) if !applied.is_empty() => reversal(&applied[pick % applied.len()], format!("r{index}"), at(), String::new()),
                    _ => continue,
                };
                let before = ledger.clone();
                match ledger.post(posting.clone()) {
                    Ok(Posted::Applied(entry)) => applied.push(entry),
                    Ok(Posted::Duplicate(_)) => prop_assert_eq!(&ledger, &before),
                    Err(_) => prop_assert_eq!(&ledger, &before),
                }
                posted.push(posting);
                for (account, balance) in ledger.balances() {
                    prop_assert!(account.may_go_negative() || *balance >= 0, "{account} at {balance}");
                }
                prop_assert_eq!(ledger.balances().values().sum::<i64>(), 0);
            }
            let replayed = Ledger::replay(&applied).expect("replay accepts what was applied");
            prop_assert_eq!(replayed.balances(), ledger.balances());
        }
    }
}

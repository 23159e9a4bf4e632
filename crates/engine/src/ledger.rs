//! The ledger worker: claims the outbox's ledger actions (grants, balance questions), applies
//! them to the points ledger idempotently by the action key, and marks them done.
//!
//! A grant is posted with the action's key as the entry's key, so a worker that dies between
//! posting and marking the action done posts nothing twice when the lease runs out and the
//! action is claimed again. Grants written before this worker existed wait in the outbox as
//! `pending` ledger actions and are applied the first time it runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::ledger::grant_entry;
use qunzhu_domain::{
    Account, ActionKind, ActionRecord, ActionTarget, Clock, Event, EventKind, NewAction, Platform,
    WorkspaceId,
};
use qunzhu_storage::{ActionOutcome, Claim, Posting, Store};
use tokio::sync::watch;

use crate::decide::Decider;

#[derive(Debug, Clone)]
pub struct LedgerWorkerConfig {
    /// How many actions one round claims per platform.
    pub batch: usize,
    /// How long a claim is held before another worker may take it again.
    pub lease: Duration,
    pub owner: String,
    /// How often the outbox is looked at.
    pub every: StdDuration,
}

impl Default for LedgerWorkerConfig {
    fn default() -> Self {
        LedgerWorkerConfig {
            batch: 500,
            lease: Duration::seconds(30),
            owner: format!("ledger-{}", std::process::id()),
            every: StdDuration::from_millis(500),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerRound {
    pub claimed: usize,
    /// New entries in the ledger.
    pub applied: usize,
    /// Grants already in the ledger (a redelivery after a crash).
    pub duplicates: usize,
    /// Refused by the ledger's rules (a deduction the member cannot cover); the action is dead
    /// with the reason.
    pub refused: usize,
    pub balances_reported: usize,
}

pub struct LedgerWorker {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: LedgerWorkerConfig,
}

impl LedgerWorker {
    /// Claims and settles every due ledger action on every platform; repeats until none is due.
    pub async fn run_once(&self) -> qunzhu_storage::Result<LedgerRound> {
        let mut round = LedgerRound::default();
        for platform in Platform::ALL {
            loop {
                let claimed = self.claim(*platform).await?;
                if claimed.is_empty() {
                    break;
                }
                let full = claimed.len() >= self.config.batch;
                self.settle(claimed, &mut round).await?;
                if !full {
                    break;
                }
            }
        }
        Ok(round)
    }

    async fn claim(&self, platform: Platform) -> qunzhu_storage::Result<Vec<ActionRecord>> {
        let now = self.clock.now();
        self.store
            .claim_actions(Claim {
                platform,
                target: ActionTarget::Ledger,
                now,
                limit: self.config.batch,
                owner: &self.config.owner,
                lease_until: now + self.config.lease,
            })
            .await
    }

    async fn settle(
        &self,
        claimed: Vec<ActionRecord>,
        round: &mut LedgerRound,
    ) -> qunzhu_storage::Result<()> {
        round.claimed += claimed.len();
        let now = self.clock.now();
        // Grants are posted per workspace in one batch (one transaction); balance questions are
        // answered after, so a check-in and "积分" in the same round report the new balance.
        let mut grants: BTreeMap<WorkspaceId, Vec<(ActionRecord, qunzhu_domain::NewEntry)>> =
            BTreeMap::new();
        let mut questions = Vec::new();
        for action in claimed {
            match &action.kind {
                ActionKind::GrantReward { .. } => match grant_entry(&action) {
                    Some(entry) => grants
                        .entry(action.workspace)
                        .or_default()
                        .push((action, entry)),
                    None => {
                        self.finish(
                            action.id,
                            ActionOutcome::Skip {
                                reason: "a grant of zero points moves nothing".into(),
                            },
                            now,
                        )
                        .await?
                    }
                },
                ActionKind::ReportBalance { member } => {
                    questions.push((member.clone(), action));
                }
                other => {
                    let error = format!("{} is not a ledger action", other.name());
                    self.finish(action.id, ActionOutcome::Dead { error }, now)
                        .await?;
                }
            }
        }
        for (workspace, batch) in grants {
            let (actions, entries): (Vec<ActionRecord>, Vec<_>) = batch.into_iter().unzip();
            let postings = self.store.post_entries(workspace, entries).await?;
            for (action, posting) in actions.iter().zip(postings) {
                let outcome = match posting {
                    Posting::Applied { entry } => {
                        round.applied += 1;
                        ActionOutcome::Done {
                            receipt: Some(format!("ledger:{}", entry.id)),
                        }
                    }
                    Posting::Duplicate { entry } => {
                        round.duplicates += 1;
                        ActionOutcome::Done {
                            receipt: Some(format!("ledger:{}", entry.id)),
                        }
                    }
                    Posting::Refused { error } => {
                        round.refused += 1;
                        tracing::warn!(action = %action.key, %error, "grant refused by the ledger");
                        ActionOutcome::Dead {
                            error: error.to_string(),
                        }
                    }
                };
                self.finish(action.id, outcome, now).await?;
            }
        }
        for (member, action) in questions {
            let account = Account::member(action.platform, member.clone());
            let balance = self.store.balance(action.workspace, &account).await?;
            self.store
                .enqueue(vec![balance_reply(&action, &member, balance, now)])
                .await?;
            round.balances_reported += 1;
            self.finish(action.id, ActionOutcome::Done { receipt: None }, now)
                .await?;
        }
        Ok(())
    }

    async fn finish(
        &self,
        id: i64,
        outcome: ActionOutcome,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<()> {
        self.store.finish_action(id, outcome, now).await
    }

    /// Runs rounds until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.run_once().await {
                tracing::error!(%error, "ledger round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// The group message answering a balance question, keyed by the question so it is sent once.
fn balance_reply(
    question: &ActionRecord,
    member: &str,
    balance: i64,
    now: DateTime<Utc>,
) -> NewAction {
    NewAction {
        workspace: question.workspace,
        platform: question.platform,
        chat: question.chat.clone(),
        key: format!("{}:reply", question.key),
        kind: ActionKind::SendMessage {
            text: format!("💰 当前积分 {balance}"),
            html: None,
            mentions: vec![member.to_string()],
            reply_to: None,
        },
        created_at: now,
        not_before: now,
        expires_at: None,
        dry_run: false,
        origin: "ledger.balance".into(),
        cause: Some(question.key.clone()),
    }
}

/// Members ask for their balance with a keyword (`积分` unless configured otherwise).
pub struct BalanceQuestions {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    /// Whole messages (trimmed) that ask.
    pub keywords: Vec<String>,
}

impl Decider for BalanceQuestions {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        if event.workspace != self.workspace || event.platform != self.platform {
            return Vec::new();
        }
        let EventKind::MessagePosted {
            member,
            text,
            from_bot: false,
            ..
        } = &event.kind
        else {
            return Vec::new();
        };
        if !self
            .keywords
            .iter()
            .any(|keyword| keyword.as_str() == text.trim())
        {
            return Vec::new();
        }
        vec![NewAction {
            workspace: event.workspace,
            platform: event.platform,
            chat: event.chat.clone(),
            key: format!("balance:{}", event.key),
            kind: ActionKind::ReportBalance {
                member: member.clone(),
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: "ledger.balance".into(),
            cause: Some(event.key.clone()),
        }]
    }
}

//! The ledger worker: claims the outbox's ledger actions (grants, coupons, balance questions),
//! applies them to the ledger idempotently by the action key, and marks them done.
//!
//! A grant is posted with the action's key as the entry's key, so a worker that dies between
//! posting and marking the action done posts nothing twice when the lease runs out and the
//! action is claimed again. Grants written before this worker existed wait in the outbox as
//! `pending` ledger actions and are applied the first time it runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::coupon::coupon_code;
use qunzhu_domain::ledger::grant_entry;
use qunzhu_domain::{
    Account, ActionId, ActionKind, ActionRecord, ActionTarget, Clock, Event, EventKind, JoinVia,
    NewAction, NewCoupon, Platform, WorkspaceId,
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
    /// Coupons issued (or found already issued under the action's key).
    pub coupons: usize,
}

#[derive(Clone)]
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
                ActionKind::IssueCoupon { .. } => {
                    let outcome = self.issue_coupon(&action, now).await?;
                    round.coupons += 1;
                    self.finish(action.id, outcome, now).await?;
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

    /// Issues the coupon under the action's key (a redelivery finds the one already issued) and
    /// tells the member in the group, once.
    async fn issue_coupon(
        &self,
        action: &ActionRecord,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<ActionOutcome> {
        let ActionKind::IssueCoupon {
            member,
            offer,
            valid_days,
            memo,
        } = &action.kind
        else {
            return Ok(ActionOutcome::Dead {
                error: "not a coupon".into(),
            });
        };
        if let Err(error) = offer.validate() {
            return Ok(ActionOutcome::Dead {
                error: error.to_string(),
            });
        }
        let new = |code: String| NewCoupon {
            key: action.key.clone(),
            code,
            platform: action.platform,
            user: member.clone(),
            offer: offer.clone(),
            issued_at: action.created_at,
            expires_at: valid_days.map(|days| action.created_at + Duration::days(i64::from(days))),
            memo: memo.clone(),
        };
        // A fresh random code collides with an existing one about never; a second try settles it.
        let mut issued = None;
        for _ in 0..3 {
            match self
                .store
                .issue_coupons(action.workspace, vec![new(coupon_code(rand::random()))])
                .await
            {
                Ok(mut coupons) => {
                    issued = coupons.pop();
                    break;
                }
                Err(qunzhu_storage::StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
        let Some(coupon) = issued else {
            return Ok(ActionOutcome::Retry {
                at: now + Duration::seconds(5),
                error: "no free coupon code".into(),
            });
        };
        let until = coupon
            .issued
            .expires_at
            .map(|at| format!("，{} 前有效", at.format("%Y-%m-%d")))
            .unwrap_or_default();
        let text = format!(
            "🎁 {}：{}（券码 {}{until}，仅限本人使用）",
            coupon.issued.memo,
            coupon.issued.offer.describe(),
            coupon.issued.code
        );
        self.store
            .enqueue(vec![NewAction {
                workspace: action.workspace,
                platform: action.platform,
                chat: action.chat.clone(),
                key: qunzhu_domain::keys::notice(&action.key),
                kind: ActionKind::SendMessage {
                    text,
                    html: None,
                    mentions: vec![member.clone()],
                    reply_to: None,
                },
                created_at: now,
                not_before: now,
                expires_at: None,
                dry_run: false,
                origin: qunzhu_domain::ActionOrigin::LedgerCoupon,
                cause: Some(action.key.clone()),
            }])
            .await?;
        Ok(ActionOutcome::Done {
            receipt: Some(format!("coupon:{}", coupon.issued.code)),
        })
    }

    async fn finish(
        &self,
        id: ActionId,
        outcome: ActionOutcome,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<()> {
        self.store.finish_action(id, outcome, now).await
    }

    /// Runs rounds until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            // Tells the supervisor this loop is alive (a no-op outside one).
            crate::health::beat();
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
        key: qunzhu_domain::keys::reply(&question.key),
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
        origin: qunzhu_domain::ActionOrigin::LedgerBalance,
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
            key: qunzhu_domain::keys::balance_reply(&event.key),
            kind: ActionKind::ReportBalance {
                member: member.0.clone(),
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::LedgerBalance,
            cause: Some(event.key.clone()),
        }]
    }
}

/// The coupon a join gift gives: to the newcomer, and (invited, not by themselves) to the inviter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCoupon {
    pub offer: qunzhu_domain::CouponOffer,
    pub valid_days: Option<u32>,
    /// Also gift the member who invited them (both sides, 001).
    pub inviter: bool,
}

/// Join gifts as coupons: one per member per group (rejoining earns nothing), and one per
/// invitee for the inviter.
pub struct JoinCoupons {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub gift: JoinCoupon,
}

impl Decider for JoinCoupons {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        if event.workspace != self.workspace || event.platform != self.platform {
            return Vec::new();
        }
        let EventKind::MemberJoined { member, via, .. } = &event.kind else {
            return Vec::new();
        };
        let coupon = |key: String, to: &str, memo: &str| NewAction {
            workspace: event.workspace,
            platform: event.platform,
            chat: event.chat.clone(),
            key,
            kind: ActionKind::IssueCoupon {
                member: to.to_string(),
                offer: self.gift.offer.clone(),
                valid_days: self.gift.valid_days,
                memo: memo.to_string(),
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::LedgerJoinCoupon,
            cause: Some(event.key.clone()),
        };
        let mut out = vec![coupon(
            format!("coupon-gift:{}:{member}", event.chat),
            member.as_str(),
            "入群礼",
        )];
        if let (true, JoinVia::Invited { by }) = (self.gift.inviter, via) {
            if by != member {
                out.push(coupon(
                    format!("coupon-invite:{}:{member}", event.chat),
                    by,
                    "邀请礼",
                ));
            }
        }
        out
    }
}

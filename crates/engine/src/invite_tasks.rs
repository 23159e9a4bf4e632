//! The invite-task (任务宝) consumer: reads the log after its stored watermark, feeds each
//! campaign's book (`qunzhu_growth::Book`) the joins, posts and leaves, runs its timers on the
//! injected clock, and writes the touched rows with the new watermark in one compare-and-set
//! transaction. Its effects become outbox actions keyed by their cause (progress messages,
//! grants, announcements), reversal entries keyed by the grant they undo and revocations of the
//! coupons such grants issued (a redeemed one is kept and the prize says so), all written before
//! the rows, so a round retried after a crash or a lost race writes nothing twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use qunzhu_domain::ledger::reversal;
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{
    ActionKind, ActionStatus, Clock, DocumentKind, Event, EventKind, InviteCode, JoinVia,
    NewAction, WorkspaceId,
};
use qunzhu_growth::invite_task::{granted_text, progress_text};
use qunzhu_growth::{parse_campaign, Book, Campaign, Effect, Join, TaskPrize, TaskPrizeRow};
use qunzhu_storage::{InviteTaskUpdate, Posting, Revocation, Store, StoreError};
use tokio::sync::watch;

#[derive(Clone)]
pub struct InviteTasks {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    /// Events read per round.
    pub batch: usize,
    pub every: StdDuration,
}

/// What one round did, for tests and logs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TaskRound {
    pub events: usize,
    pub actions: usize,
    pub reversals: usize,
    /// Another writer moved first; the round wrote nothing and will be redone.
    pub lost_race: bool,
}

impl InviteTasks {
    /// The checked campaigns of the workspace; a document that fails its check is skipped
    /// (the console shows its errors where it is edited).
    pub async fn campaigns(&self) -> qunzhu_storage::Result<Vec<Campaign>> {
        let documents = self
            .store
            .documents(self.workspace, DocumentKind::Campaign)
            .await?;
        Ok(documents
            .iter()
            .filter_map(|document| match parse_campaign(&document.name, &document.source) {
                Ok(campaign) => Some(campaign),
                Err(errors) => {
                    tracing::warn!(campaign = %document.name, errors = errors.len(), "campaign document rejected");
                    None
                }
            })
            .collect())
    }

    /// One round: a batch of the log, then the timers at the clock's now.
    pub async fn run_once(&self) -> qunzhu_storage::Result<TaskRound> {
        let mut round = TaskRound::default();
        let campaigns = self.campaigns().await?;
        let from = self.store.invite_task_watermark(self.workspace).await?;
        let events = self
            .store
            .events(self.workspace, from, self.batch.max(1))
            .await?;
        let to = events.last().map_or(from, |stored| stored.seq);
        round.events = events.len();
        let now = self.clock.now();
        let mut books = Vec::new();
        for campaign in campaigns {
            let (invites, prizes) = self
                .store
                .invite_task_rows(self.workspace, &campaign.name)
                .await?;
            books.push(Book::new(campaign, invites, prizes));
        }
        if books.is_empty() {
            // Nothing to keep: the watermark still moves, so a campaign created later starts
            // from its own start time rather than from a replay of everything before it.
            if to != from {
                self.store
                    .apply_invite_tasks(
                        self.workspace,
                        InviteTaskUpdate {
                            watermark: Some((from, to)),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
            return Ok(round);
        }
        let mut effects: Vec<(usize, Effect)> = Vec::new();
        let mut codes: HashMap<String, Option<InviteCode>> = HashMap::new();
        for stored in &events {
            let event = &stored.event;
            match &event.kind {
                EventKind::MemberJoined {
                    member,
                    display_name,
                    via,
                } => {
                    if !books
                        .iter()
                        .any(|book| book.campaign.covers(event.platform, &event.chat, event.at))
                    {
                        continue;
                    }
                    let Some(inviter) = self
                        .inviter(event, member.as_str(), via, &mut codes)
                        .await?
                    else {
                        continue;
                    };
                    let elsewhere = self
                        .store
                        .present_elsewhere(
                            self.workspace,
                            event.platform,
                            member.as_str(),
                            &event.chat,
                        )
                        .await?;
                    for (index, book) in books.iter_mut().enumerate() {
                        if book.campaign.platform != event.platform {
                            continue;
                        }
                        let join = Join {
                            chat: event.chat.clone(),
                            invitee: member.0.clone(),
                            inviter: inviter.clone(),
                            display_name: display_name.clone(),
                            elsewhere,
                            at: event.at,
                        };
                        effects.extend(book.join(join).into_iter().map(|effect| (index, effect)));
                    }
                }
                EventKind::MessagePosted { member, .. } => {
                    for book in books
                        .iter_mut()
                        .filter(|book| book.campaign.platform == event.platform)
                    {
                        book.posted(&event.chat, member.as_str(), event.at);
                    }
                }
                EventKind::MemberLeft { member, .. } => {
                    for (index, book) in books.iter_mut().enumerate() {
                        if book.campaign.platform == event.platform {
                            effects.extend(
                                book.left(&event.chat, member.as_str(), event.at)
                                    .into_iter()
                                    .map(|effect| (index, effect)),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        for (index, book) in books.iter_mut().enumerate() {
            effects.extend(book.tick(now).into_iter().map(|effect| (index, effect)));
        }
        // Effects first, each idempotent by its key: a round that then loses the race (or
        // crashes) is redone and writes the same keys again, which are duplicates.
        let mut actions = Vec::new();
        let mut notes: HashMap<(usize, String, u32), Undone> = HashMap::new();
        for (index, effect) in &effects {
            let campaign = &books[*index].campaign;
            match effect {
                Effect::Progress {
                    chat,
                    inviter,
                    counted,
                    missing,
                    key,
                } => {
                    let text = progress_text(campaign, display(inviter), *counted, *missing);
                    actions.push(self.message(campaign, chat, key.clone(), text, inviter, now));
                }
                Effect::Grant { prize } => actions.extend(self.grant(campaign, prize, now)),
                Effect::Gift {
                    chat,
                    invitee,
                    prize,
                    key,
                } => {
                    let memo = format!("{} · 入群礼", campaign.title);
                    let mut gift =
                        self.message(campaign, chat, key.clone(), String::new(), invitee, now);
                    // `.gift` in the origin makes the ledger file it as a join gift.
                    gift.origin = ActionOrigin::Campaign {
                        name: campaign.name.clone(),
                        gift: true,
                    };
                    gift.kind = match prize {
                        TaskPrize::Points { points } => ActionKind::GrantReward {
                            member: invitee.clone(),
                            points: *points,
                            reason: memo,
                        },
                        TaskPrize::Coupon { offer, valid_days } => ActionKind::IssueCoupon {
                            member: invitee.clone(),
                            offer: offer.clone(),
                            valid_days: *valid_days,
                            memo,
                        },
                    };
                    actions.push(gift);
                }
                Effect::Reverse { prize } => match self.reverse(prize, now).await? {
                    Undone::Done => round.reversals += 1,
                    other => {
                        notes.insert((*index, prize.inviter.clone(), prize.threshold), other);
                    }
                },
            }
        }
        round.actions = actions.len();
        if !actions.is_empty() {
            self.store.enqueue(actions).await?;
        }
        let mut update = InviteTaskUpdate {
            watermark: Some((from, to)),
            ..Default::default()
        };
        for (index, book) in books.iter_mut().enumerate() {
            let (invites, mut prizes) = book.take_changes();
            for prize in &mut prizes {
                match notes.remove(&(index, prize.inviter.clone(), prize.threshold)) {
                    Some(Undone::Refused(note)) => prize.note = note,
                    Some(Undone::CouponKept { code, redeemed_at }) => {
                        prize.keep_redeemed_coupon(&code, redeemed_at);
                    }
                    Some(Undone::Done) | None => {}
                }
            }
            update.invites.extend(invites);
            update.prizes.extend(prizes);
        }
        round.lost_race = !self
            .store
            .apply_invite_tasks(self.workspace, update)
            .await?;
        Ok(round)
    }

    /// Who a join counts for: a member's link or invite page, else whoever invited them.
    async fn inviter(
        &self,
        event: &Event,
        member: &str,
        via: &JoinVia,
        codes: &mut HashMap<String, Option<InviteCode>>,
    ) -> qunzhu_storage::Result<Option<String>> {
        let code = match via {
            JoinVia::Link { code } => Some(code.clone()),
            JoinVia::Invited { .. } => self
                .store
                .page_referral(self.workspace, event.platform, &event.chat, member)
                .await?
                .map(|referral| referral.code),
            _ => None,
        };
        if let Some(code) = code {
            if !codes.contains_key(&code) {
                let known = match self.store.invite_code(self.workspace, &code).await {
                    Ok(known) => Some(known),
                    Err(StoreError::NotFound { .. }) => None,
                    Err(error) => return Err(error),
                };
                codes.insert(code.clone(), known);
            }
            if let Some(Some(known)) = codes.get(&code) {
                if known.platform == event.platform {
                    return Ok(Some(known.member.clone()));
                }
            }
            return Ok(None);
        }
        Ok(match via {
            JoinVia::Invited { by } => Some(by.clone()),
            _ => None,
        })
    }

    fn message(
        &self,
        campaign: &Campaign,
        chat: &str,
        key: String,
        text: String,
        member: &str,
        now: DateTime<Utc>,
    ) -> NewAction {
        NewAction {
            workspace: self.workspace,
            platform: campaign.platform,
            chat: chat.to_string(),
            key,
            kind: ActionKind::SendMessage {
                text,
                html: None,
                mentions: vec![member.to_string()],
                reply_to: None,
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: ActionOrigin::Campaign {
                name: campaign.name.clone(),
                gift: false,
            },
            cause: None,
        }
    }

    /// The payment (keyed by the prize's grant key) and, for points, its announcement.
    fn grant(
        &self,
        campaign: &Campaign,
        prize: &TaskPrizeRow,
        now: DateTime<Utc>,
    ) -> Vec<NewAction> {
        let key = prize.grant_key();
        let memo = format!("{} · {} 人", campaign.title, prize.threshold);
        let kind = match &prize.prize {
            TaskPrize::Points { points } => ActionKind::GrantReward {
                member: prize.inviter.clone(),
                points: *points,
                reason: memo,
            },
            // The ledger worker issues the coupon and tells the member (with its code) itself.
            TaskPrize::Coupon { offer, valid_days } => ActionKind::IssueCoupon {
                member: prize.inviter.clone(),
                offer: offer.clone(),
                valid_days: *valid_days,
                memo,
            },
        };
        let mut payment = self.message(
            campaign,
            &prize.chat,
            key.clone(),
            String::new(),
            &prize.inviter,
            now,
        );
        payment.kind = kind;
        let mut actions = vec![payment];
        if matches!(prize.prize, TaskPrize::Points { .. }) {
            let text = granted_text(campaign, display(&prize.inviter), prize);
            actions.push(self.message(
                campaign,
                &prize.chat,
                format!("{key}:told"),
                text,
                &prize.inviter,
                now,
            ));
        }
        actions
    }

    /// Takes a paid prize back: points with a reversal entry of its grant, a coupon by revoking
    /// it (once: the coupon row carries the revocation). An error (the round is redone later)
    /// while the payment is still on its way to the ledger.
    async fn reverse(
        &self,
        prize: &TaskPrizeRow,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<Undone> {
        let key = prize.grant_key();
        let entry = match self.store.ledger_entry(self.workspace, &key).await {
            Ok(entry) => entry,
            Err(StoreError::NotFound { .. }) => {
                return match self.store.action_by_key(self.workspace, &key).await {
                    Ok(action)
                        if matches!(
                            action.status,
                            ActionStatus::Pending | ActionStatus::InFlight
                        ) =>
                    {
                        Err(StoreError::Unavailable(format!(
                            "the payment {key} is not carried out yet"
                        )))
                    }
                    Ok(action) if matches!(action.kind, ActionKind::IssueCoupon { .. }) => {
                        self.revoke(&key, now).await
                    }
                    // A grant that was never carried out: nothing to take back.
                    Ok(_) | Err(StoreError::NotFound { .. }) => Ok(Undone::Done),
                    Err(error) => Err(error),
                };
            }
            Err(error) => return Err(error),
        };
        let undo = reversal(
            &entry,
            format!("{key}:reversal"),
            now,
            "invitee left: invite task reversed".into(),
        );
        let posted = self.store.post_entries(self.workspace, vec![undo]).await?;
        Ok(match posted.first() {
            Some(Posting::Refused { error }) => {
                Undone::Refused(format!("the reversal was refused: {error}"))
            }
            _ => Undone::Done,
        })
    }

    /// Revokes the coupon issued under the prize's key; one already redeemed stays the member's
    /// and the prize says so.
    async fn revoke(&self, key: &str, now: DateTime<Utc>) -> qunzhu_storage::Result<Undone> {
        let reason = "invitee left: invite task reversed";
        match self
            .store
            .revoke_coupon(self.workspace, key, now, reason)
            .await
        {
            Ok(Revocation::Revoked { coupon }) => {
                tracing::info!(grant = %key, code = %coupon.issued.code, "invite-task coupon revoked");
                Ok(Undone::Done)
            }
            Ok(Revocation::AlreadyRevoked { .. }) => Ok(Undone::Done),
            Ok(Revocation::Redeemed { coupon }) => Ok(Undone::CouponKept {
                code: coupon.issued.code.clone(),
                redeemed_at: coupon.redeemed_at.unwrap_or(now),
            }),
            // The issue was dead-lettered (a bad offer): no coupon exists to take back.
            Err(StoreError::NotFound { .. }) => Ok(Undone::Done),
            Err(error) => Err(error),
        }
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            match self.run_once().await {
                Ok(round) if round.events >= self.batch.max(1) || round.lost_race => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "invite-task round failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// How taking a paid prize back ended.
enum Undone {
    /// Taken back, or nothing was paid.
    Done,
    /// The ledger refused the reversal; the prize notes why.
    Refused(String),
    /// Its coupon was redeemed before it could be revoked.
    CouponKept {
        code: String,
        redeemed_at: DateTime<Utc>,
    },
}

/// A member as named in a message: the id without a leading `@` (the text adds its own).
fn display(member: &str) -> &str {
    member.trim_start_matches('@')
}

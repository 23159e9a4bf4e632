//! 秒杀 claims, from the group and from the shop: [`claim`] is the one path both take (the ops
//! layer calls it for `POST /api/v1/offers/{id}/claims`, [`OfferClaims`] for keyword messages),
//! and [`offer_posts`] are the countdown and opening posts an offer schedules in the outbox.
//!
//! A claim is three steps, each idempotent by the offer and the member: the store takes one item
//! atomically (or says the member already holds one, or none is left), the ledger takes the
//! points price under `keys::offer_claim`, and the coupon is queued under `keys::offer_coupon`;
//! then the claim is marked paid. A crash between steps leaves a reserved claim that the next
//! attempt finishes; a price the member cannot pay gives the item back.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{
    keys, Account, ActionKind, Clock, EventKind, NewAction, NewEntry, Reason, WorkspaceId,
};
use qunzhu_growth::drop::says_keyword;
use qunzhu_growth::flash_sale::{OfferSpec, Refusal};
use qunzhu_storage::{ClaimState, Claimed, OfferClaim, Posting, Store, StoredOffer};
use serde::Serialize;
use tokio::sync::watch;

/// A claim that got an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Won {
    pub claim: OfferClaim,
    /// Items left after it.
    pub remaining: u32,
    /// False when this call finished or repeated an earlier claim of the same member.
    pub fresh: bool,
}

/// The account a 秒杀's points price goes to.
pub fn offer_account(offer: i64) -> Account {
    Account::Campaign {
        name: format!("offer:{offer}"),
    }
}

/// A group message of the offer: its text, whom it mentions, the message it answers.
struct Say {
    text: String,
    mentions: Vec<String>,
    reply_to: Option<String>,
}

fn say(text: String) -> Say {
    Say {
        text,
        mentions: Vec::new(),
        reply_to: None,
    }
}

fn post(
    spec: &OfferSpec,
    workspace: WorkspaceId,
    offer: i64,
    key: String,
    message: Say,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> NewAction {
    NewAction {
        workspace,
        platform: spec.platform,
        chat: spec.chat.clone(),
        key,
        kind: ActionKind::SendMessage {
            text: message.text,
            html: None,
            mentions: message.mentions,
            reply_to: message.reply_to,
        },
        created_at: now,
        not_before: at.max(now),
        expires_at: None,
        dry_run: false,
        origin: ActionOrigin::Offer(offer),
        cause: None,
    }
}

/// The posts an offer schedules when it is created: the countdown (if any, and not yet past
/// the opening) and the opening with the stock, each at its time and once per offer.
pub fn offer_posts(
    workspace: WorkspaceId,
    offer: &StoredOffer,
    tz: Tz,
    now: DateTime<Utc>,
) -> Vec<NewAction> {
    let spec = &offer.offer.spec;
    let mut posts = Vec::new();
    if let Some(at) = spec.countdown_at() {
        if now < spec.starts_at {
            posts.push(post(
                spec,
                workspace,
                offer.id,
                keys::offer_post(offer.id, "countdown"),
                say(spec.countdown_text(tz)),
                at,
                now,
            ));
        }
    }
    if now < spec.ends_at {
        posts.push(post(
            spec,
            workspace,
            offer.id,
            keys::offer_post(offer.id, "open"),
            say(spec.open_text(spec.stock, tz)),
            spec.starts_at,
            now,
        ));
    }
    posts
}

/// One claim of `member` at `at` (the message's time, or the API call's): the item, or why not.
pub async fn claim(
    store: &dyn Store,
    workspace: WorkspaceId,
    offer: &StoredOffer,
    member: &str,
    via: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> qunzhu_storage::Result<Result<Won, Refusal>> {
    let spec = &offer.offer.spec;
    if let Err(refusal) = spec.window(at) {
        return Ok(Err(refusal));
    }
    let (claim, remaining, fresh) = match store
        .claim_offer(workspace, offer.id, member, via, at)
        .await?
    {
        Claimed::SoldOut => return Ok(Err(Refusal::SoldOut)),
        Claimed::Held { claim, .. } if claim.state == ClaimState::Paid => {
            return Ok(Err(Refusal::AlreadyClaimed))
        }
        Claimed::Held { claim, remaining } => (claim, remaining, false),
        Claimed::Taken { claim, remaining } => (claim, remaining, true),
    };
    if spec.points > 0 {
        let entry = NewEntry {
            key: keys::offer_claim(offer.id, member),
            reason: Reason::Spend,
            cause: Some(format!("offer:{}", offer.id)),
            from: Account::member(spec.platform, member),
            to: offer_account(offer.id),
            amount: spec.points,
            at: now,
            memo: format!("秒杀「{}」", spec.title),
            reverses: None,
        };
        let posting = store
            .post_entries(workspace, vec![entry])
            .await?
            .into_iter()
            .next();
        if !matches!(
            posting,
            Some(Posting::Applied { .. } | Posting::Duplicate { .. })
        ) {
            // Not paid: the item goes back to the stock, for someone who can.
            store.release_claim(workspace, offer.id, member).await?;
            return Ok(Err(Refusal::CannotPay {
                points: spec.points,
            }));
        }
    }
    let mut actions = Vec::new();
    if let Some(coupon) = &spec.coupon {
        actions.push(NewAction {
            workspace,
            platform: spec.platform,
            chat: spec.chat.clone(),
            key: keys::offer_coupon(offer.id, member),
            kind: ActionKind::IssueCoupon {
                member: member.to_string(),
                offer: coupon.offer.clone(),
                valid_days: coupon.valid_days,
                memo: format!("秒杀「{}」", spec.title),
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: ActionOrigin::Offer(offer.id),
            cause: None,
        });
    }
    if remaining == 0 {
        actions.push(post(
            spec,
            workspace,
            offer.id,
            keys::offer_post(offer.id, "sold_out"),
            say(spec.sold_out_text()),
            now,
            now,
        ));
    }
    if !actions.is_empty() {
        store.enqueue(actions).await?;
    }
    store.mark_claim_paid(workspace, offer.id, member).await?;
    Ok(Ok(Won {
        claim,
        remaining,
        fresh,
    }))
}

/// Messages older than this when read are history: judged by nobody, answered by nobody.
const HISTORY: i64 = 10;

/// The chat side: an incremental consumer of the log that treats a member's keyword message in
/// an offer's group as a claim and answers it there (`剩余 N 件`), keyed by the message.
#[derive(Clone)]
pub struct OfferClaims {
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    pub tz: Tz,
    pub clock: Arc<dyn Clock>,
    pub batch: usize,
    pub every: StdDuration,
}

impl OfferClaims {
    /// Reads the log after the watermark; returns how many claims it judged.
    pub async fn run_once(&self) -> qunzhu_storage::Result<usize> {
        let mut judged = 0;
        loop {
            let after = self.store.offer_watermark(self.workspace).await?;
            let events = self
                .store
                .events(self.workspace, after, self.batch.max(1))
                .await?;
            let Some(last) = events.last().map(|stored| stored.seq) else {
                return Ok(judged);
            };
            let now = self.clock.now();
            // Offers still answering: open, or closed within the last hour (a late 抢 hears it ended).
            let offers: Vec<StoredOffer> = self
                .store
                .offers(self.workspace, 200)
                .await?
                .into_iter()
                .filter(|offer| {
                    offer.offer.spec.ends_at + Duration::hours(1) > now - Duration::minutes(HISTORY)
                })
                .collect();
            let mut replies = Vec::new();
            for stored in &events {
                let EventKind::MessagePosted {
                    member,
                    message_id,
                    text,
                    from_bot: false,
                    ..
                } = &stored.event.kind
                else {
                    continue;
                };
                let at = stored.event.at;
                if at < now - Duration::minutes(HISTORY) {
                    continue;
                }
                let target = offers.iter().find(|offer| {
                    let spec = &offer.offer.spec;
                    spec.platform == stored.event.platform
                        && spec.chat == stored.event.chat
                        && at >= offer.offer.created_at
                        && at < spec.ends_at + Duration::hours(1)
                        && says_keyword(text, &spec.keyword)
                });
                let Some(offer) = target else { continue };
                let via = format!("chat:{}", stored.event.key);
                let outcome = claim(
                    &*self.store,
                    self.workspace,
                    offer,
                    member.as_str(),
                    &via,
                    at,
                    now,
                )
                .await?;
                judged += 1;
                let spec = &offer.offer.spec;
                let text = match &outcome {
                    Ok(won) if won.fresh => spec.claimed_text(won.remaining),
                    Ok(won) => format!(
                        "{}（剩余 {} 件）",
                        Refusal::AlreadyClaimed.text(self.tz),
                        won.remaining
                    ),
                    Err(refusal) => refusal.text(self.tz),
                };
                replies.push(post(
                    spec,
                    self.workspace,
                    offer.id,
                    keys::offer_reply(offer.id, &stored.event.key),
                    Say {
                        text,
                        mentions: vec![member.0.clone()],
                        reply_to: Some(message_id.clone()),
                    },
                    now,
                    now,
                ));
            }
            if !replies.is_empty() {
                self.store.enqueue(replies).await?;
            }
            // Another instance that read the same batch answered it with the same keys.
            if !self
                .store
                .advance_offer_watermark(self.workspace, after, last)
                .await?
            {
                continue;
            }
            if events.len() < self.batch.max(1) {
                return Ok(judged);
            }
        }
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.run_once().await {
                tracing::error!(%error, "秒杀 claim round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

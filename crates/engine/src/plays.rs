//! The growth-play consumer (拼 砍 帮 送): reads the log after its stored watermark, gives each
//! play's board (`qunzhu_growth::board`) the group messages, runs its windows on the injected
//! clock, and writes the changed runs with the new watermark in one compare-and-set transaction.
//!
//! A board's outputs are written first, each idempotent by its key: chat answers and progress
//! as `SendMessage`, coupons as `IssueCoupon` and points as `GrantReward` for the ledger
//! worker, and a gift as a member-to-member ledger entry posted under its key (the ledger
//! refuses one the giver cannot cover, so no balance goes below zero). A round that crashes or
//! loses the race is redone from the stored runs and writes the same keys, which are no-ops.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use qunzhu_domain::ledger::{Account, NewEntry, Reason};
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{ActionKind, Clock, DocumentKind, EventKind, NewAction, Platform, WorkspaceId};
use qunzhu_growth::board::{Board, Out, Said};
use qunzhu_growth::play::{parse_play, Play};
use qunzhu_storage::{Posting, Store};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Plays {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    /// Events read per round.
    pub batch: usize,
    pub every: StdDuration,
}

/// What one round did, for tests and logs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PlayRound {
    pub events: usize,
    pub actions: usize,
    pub transfers: usize,
    /// Another writer moved first; the round wrote nothing and will be redone.
    pub lost_race: bool,
}

impl Plays {
    /// The checked plays of the workspace; a document that fails its check is skipped (the
    /// console shows its errors where it is saved).
    pub async fn plays(&self) -> qunzhu_storage::Result<Vec<Play>> {
        let documents = self
            .store
            .documents(self.workspace, DocumentKind::Play)
            .await?;
        Ok(documents
            .iter()
            .filter_map(|document| match parse_play(&document.name, &document.source) {
                Ok(play) => Some(play),
                Err(errors) => {
                    tracing::warn!(play = %document.name, errors = errors.len(), "play document rejected");
                    None
                }
            })
            .collect())
    }

    /// One round: a batch of the log, then the windows at the clock's now.
    pub async fn run_once(&self) -> qunzhu_storage::Result<PlayRound> {
        let mut round = PlayRound::default();
        let plays = self.plays().await?;
        let from = self.store.play_watermark(self.workspace).await?;
        let events = self
            .store
            .events(self.workspace, from, self.batch.max(1))
            .await?;
        let to = events.last().map_or(from, |stored| stored.seq);
        round.events = events.len();
        let now = self.clock.now();
        let mut boards = Vec::new();
        for play in plays {
            let runs = self.store.play_runs(self.workspace, &play.name).await?;
            boards.push(Board::new(play, runs));
        }
        let mut outs: Vec<(Platform, Out)> = Vec::new();
        for stored in &events {
            let event = &stored.event;
            let EventKind::MessagePosted {
                member,
                text,
                mentions,
                from_bot: false,
                ..
            } = &event.kind
            else {
                continue;
            };
            let said = Said {
                platform: event.platform,
                chat: &event.chat,
                member: member.as_str(),
                text,
                mentions,
                at: event.at,
                key: &event.key,
            };
            for board in &mut boards {
                let platform = board.play.platform;
                outs.extend(board.message(&said).into_iter().map(|out| (platform, out)));
            }
        }
        for board in &mut boards {
            let platform = board.play.platform;
            outs.extend(board.tick(now).into_iter().map(|out| (platform, out)));
        }
        let mut actions = Vec::new();
        for (platform, out) in outs {
            let play = out
                .key()
                .strip_prefix("play:")
                .and_then(|rest| rest.split(':').next())
                .unwrap_or("")
                .to_string();
            let action = |chat: &str, key: &str, kind: ActionKind| NewAction {
                workspace: self.workspace,
                platform,
                chat: chat.to_string(),
                key: key.to_string(),
                kind,
                created_at: now,
                not_before: now,
                expires_at: None,
                dry_run: false,
                origin: ActionOrigin::Play(play.clone()),
                cause: None,
            };
            match out {
                Out::Say {
                    key,
                    chat,
                    text,
                    mentions,
                } => actions.push(action(&chat, &key, say(text, mentions))),
                Out::Coupon {
                    key,
                    chat,
                    member,
                    offer,
                    valid_days,
                    memo,
                } => actions.push(action(
                    &chat,
                    &key,
                    ActionKind::IssueCoupon {
                        member,
                        offer,
                        valid_days,
                        memo,
                    },
                )),
                Out::Points {
                    key,
                    chat,
                    member,
                    points,
                    memo,
                } => actions.push(action(
                    &chat,
                    &key,
                    ActionKind::GrantReward {
                        member,
                        points,
                        reason: memo,
                    },
                )),
                Out::Transfer {
                    key,
                    chat,
                    from,
                    to,
                    points,
                    memo,
                    done,
                    refused,
                } => {
                    round.transfers += 1;
                    let stands = self
                        .transfer(platform, &key, &from, &to, points, memo, now)
                        .await?;
                    let text = if stands { done } else { refused };
                    actions.push(action(&chat, &format!("{key}:said"), say(text, vec![from])));
                }
            }
        }
        round.actions = actions.len();
        if !actions.is_empty() {
            self.store.enqueue(actions).await?;
        }
        let runs = boards
            .iter_mut()
            .flat_map(|board| board.take_changes())
            .collect();
        round.lost_race = !self
            .store
            .apply_plays(self.workspace, from, to, runs)
            .await?;
        Ok(round)
    }

    /// Posts a gift member to member under its key; `true` when it stands (now or before).
    #[allow(clippy::too_many_arguments)]
    async fn transfer(
        &self,
        platform: Platform,
        key: &str,
        from: &str,
        to: &str,
        points: i64,
        memo: String,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<bool> {
        let entry = NewEntry {
            key: key.to_string(),
            reason: Reason::Manual,
            cause: None,
            from: Account::member(platform, from),
            to: Account::member(platform, to),
            amount: points,
            at: now,
            memo,
            reverses: None,
        };
        let posted = self.store.post_entries(self.workspace, vec![entry]).await?;
        Ok(matches!(
            posted.first(),
            Some(Posting::Applied { .. } | Posting::Duplicate { .. })
        ))
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            match self.run_once().await {
                Ok(round) if round.events >= self.batch.max(1) || round.lost_race => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "growth-play round failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

fn say(text: String, mentions: Vec<String>) -> ActionKind {
    ActionKind::SendMessage {
        text,
        html: None,
        mentions,
        reply_to: None,
    }
}

#[cfg(test)]
#[path = "plays_tests.rs"]
mod tests;

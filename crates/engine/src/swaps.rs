//! The swap board's chat side (换): an incremental consumer of the log that reads `有X换Y`,
//! `换 #N`, `撤回 #N` and `换物墙` in every group and answers each message once
//! (`keys::swap_reply`). The pure [`SwapBoard`] judges a message against the group's stored
//! offers at the message's time; the store then closes what was decided compare-and-set, so an
//! offer two instances (or two members) accept at once is swapped once.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{keys, ActionKind, Clock, EventKind, NewAction, Platform, WorkspaceId};
use qunzhu_growth::swap::{read_message, SwapBoard, SwapError, SwapMessage};
use qunzhu_storage::{NewSwap, Store};
use tokio::sync::watch;

/// Messages older than this when read are history: nobody answers them.
const HISTORY_MINUTES: i64 = 10;

#[derive(Clone)]
pub struct SwapDesk {
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    pub clock: Arc<dyn Clock>,
    /// How long an offer stays on the board.
    pub ttl: Duration,
    pub batch: usize,
    pub every: StdDuration,
}

/// One message's place and author.
struct Said<'a> {
    platform: Platform,
    chat: &'a str,
    member: &'a str,
    key: &'a str,
    at: DateTime<Utc>,
}

impl SwapDesk {
    /// What the board answers one message, after storing what it decided.
    async fn answer(
        &self,
        said: &Said<'_>,
        message: SwapMessage,
    ) -> qunzhu_storage::Result<(String, Vec<String>)> {
        let offers = self
            .store
            .group_swaps(self.workspace, said.platform, said.chat, said.at - self.ttl)
            .await?;
        let mut board = SwapBoard::new(self.ttl, offers);
        let (ws, platform, chat, at) = (self.workspace, said.platform, said.chat, said.at);
        let mine = vec![said.member.to_string()];
        Ok(match message {
            SwapMessage::List => (board.listing_text(at), Vec::new()),
            SwapMessage::Post { have, want } => match board.post(said.member, &have, &want, at) {
                Ok(_) => {
                    let stored = self
                        .store
                        .post_swap(
                            ws,
                            NewSwap {
                                key: said.key.to_string(),
                                platform,
                                chat: chat.to_string(),
                                member: said.member.to_string(),
                                have: have.clone(),
                                want: want.clone(),
                                at,
                            },
                        )
                        .await?;
                    (
                        format!(
                            "已挂上换物墙 #{}：有{}换{}（{} 天内有效，其他人回复「换 #{}」即可交换）",
                            stored.id,
                            stored.have,
                            stored.want,
                            self.ttl.num_days(),
                            stored.id
                        ),
                        mine,
                    )
                }
                Err(error) => (error.to_string(), mine),
            },
            SwapMessage::Accept { id } => match board.accept(id, said.member, at) {
                Ok(swapped) => {
                    let pair = swapped.pair.as_ref().map(|pair| pair.id);
                    if self
                        .store
                        .accept_swap(ws, platform, chat, id, said.member, pair, at)
                        .await?
                    {
                        let offer = &swapped.offer;
                        (
                            format!(
                                "✅ #{id} 交换成功：{} 的「{}」⇄ {} 的「{}」，请两位私下联系完成交换。",
                                offer.member, offer.have, said.member, offer.want
                            ),
                            vec![offer.member.clone(), said.member.to_string()],
                        )
                    } else {
                        (SwapError::NotOpen(id).to_string(), mine)
                    }
                }
                Err(error) => (error.to_string(), mine),
            },
            SwapMessage::Withdraw { id } => match board.withdraw(id, said.member, at) {
                Ok(_)
                    if self
                        .store
                        .withdraw_swap(ws, platform, chat, id, said.member, at)
                        .await? =>
                {
                    (format!("#{id} 已从换物墙撤下。"), mine)
                }
                Ok(_) => (SwapError::NotOpen(id).to_string(), mine),
                Err(error) => (error.to_string(), mine),
            },
        })
    }

    /// Reads the log after the watermark; returns how many swap messages it answered.
    pub async fn run_once(&self) -> qunzhu_storage::Result<usize> {
        let mut answered = 0;
        loop {
            let after = self.store.swap_watermark(self.workspace).await?;
            let events = self
                .store
                .events(self.workspace, after, self.batch.max(1))
                .await?;
            let Some(last) = events.last().map(|stored| stored.seq) else {
                return Ok(answered);
            };
            let now = self.clock.now();
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
                if stored.event.at < now - Duration::minutes(HISTORY_MINUTES) {
                    continue;
                }
                let Some(message) = read_message(text) else {
                    continue;
                };
                let said = Said {
                    platform: stored.event.platform,
                    chat: &stored.event.chat,
                    member: member.as_str(),
                    key: &stored.event.key,
                    at: stored.event.at,
                };
                let (text, mentions) = self.answer(&said, message).await?;
                answered += 1;
                replies.push(NewAction {
                    workspace: self.workspace,
                    platform: said.platform,
                    chat: said.chat.to_string(),
                    key: keys::swap_reply(said.key),
                    kind: ActionKind::SendMessage {
                        text,
                        html: None,
                        mentions,
                        reply_to: Some(message_id.clone()),
                    },
                    created_at: now,
                    not_before: now,
                    expires_at: None,
                    dry_run: false,
                    origin: qunzhu_domain::ActionOrigin::Swap,
                    cause: None,
                });
            }
            if !replies.is_empty() {
                self.store.enqueue(replies).await?;
            }
            if !self
                .store
                .advance_swap_watermark(self.workspace, after, last)
                .await?
            {
                continue;
            }
            if events.len() < self.batch.max(1) {
                return Ok(answered);
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
                tracing::error!(%error, "swap board round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

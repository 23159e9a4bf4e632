//! The Telegram connector: hears groups through the Bot API (`getUpdates` long-poll, or a
//! webhook recorded in a durable inbox) and acts through its methods.
//!
//! Telegram has what attribution and review need (per-member invite links, join requests,
//! mutes with an end time, dice and quiz polls) but no member listing and no idempotency key
//! for sends; the connector's journal keeps receipts so a crash never blindly sends twice.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod actions;
mod client;
mod config;
mod journal;
mod map;
pub mod types;
mod webhook;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use qunzhu_connector::inbox::Inbox;
use qunzhu_connector::{Batch, Capabilities, Connector, ConnectorError, RequesterChat, Result};
use qunzhu_domain::{ActionRecord, Clock, Event, Platform, WorkspaceId};
use serde_json::{json, Value};
use tokio::sync::Notify;

pub use actions::mention_entities;
pub use client::{CallError, Client, MAX_RETRY_AFTER};
pub use config::{Mode, Secret, TelegramConfig};
pub use journal::{Attempt, Journal};
pub use map::{links_and_mentions, parse_update, Mapper, ParseError, SentPoll};
pub use webhook::SECRET_HEADER;

/// How long after a join request the bot may write to the requester (`user_chat_id`).
pub const REQUESTER_CHAT_SECS: i64 = 5 * 60;

/// The updates qunzhu asks for; `chat_member` only arrives when listed here (and the bot is an
/// administrator).
pub const ALLOWED_UPDATES: &[&str] = &[
    "message",
    "edited_message",
    "chat_member",
    "my_chat_member",
    "chat_join_request",
    "message_reaction",
    "poll_answer",
    "callback_query",
];

/// One bot account.
pub struct TelegramConnector {
    client: Client,
    config: TelegramConfig,
    bot_id: i64,
    bot_username: String,
    id: String,
    capabilities: Capabilities,
    mapper: Mapper,
    /// Join requests not yet decided: (chat, member) → (`user_chat_id`, until when the bot may
    /// write there). In memory: the five-minute window rarely outlives a restart.
    requesters: std::sync::Mutex<std::collections::HashMap<(String, String), (i64, i64)>>,
    journal: Journal,
    inbox: Option<Inbox>,
    arrived: Notify,
    clock: Arc<dyn Clock>,
    /// The inbox sequence last compacted up to.
    compacted: AtomicU64,
    creating_link: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TelegramConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConnector")
            .field("bot", &self.bot_username)
            .field("mode", &self.config.mode)
            .finish_non_exhaustive()
    }
}

/// What Telegram lets a bot do, honestly.
pub fn telegram_capabilities(config: &TelegramConfig) -> Capabilities {
    Capabilities {
        // A kick is a ban followed by an unban.
        kick: true,
        ban: true,
        mute: true,
        redact: true,
        // Bots cannot add people; they hand out invite links.
        invite: false,
        send_autonomously: true,
        formatted_messages: true,
        per_member_invite_links: true,
        review_join_requests: true,
        list_members: false,
        set_power_level: false,
        // setChatPermissions: the chat's default permissions, with every can_send_* false.
        lock_posting: true,
        edit_group: true,
        pin: true,
        idempotent_actions: false,
        per_group_rate: config.group_rate(),
        global_rate: config.global_rate(),
        delete_window_secs: Some(48 * 3600),
        delete_batch: 100,
        timed_mute: true,
        ban_revokes_messages: true,
        buttons: true,
        games: true,
        policy_lists: false,
        create_groups: false,
        send_images: true,
    }
}

fn cursor_number(cursor: Option<&str>, prefix: &str) -> Option<i64> {
    cursor?.strip_prefix(prefix)?.parse().ok()
}

impl TelegramConnector {
    /// Checks the token (`getMe`), opens the journal (and inbox) under `state_dir`, and sets
    /// or removes the webhook for the configured mode.
    pub async fn connect(
        config: TelegramConfig,
        workspace: WorkspaceId,
        state_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<TelegramConnector> {
        if config.token.is_empty() {
            return Err(ConnectorError::Auth(
                "no bot token: set QUNZHU_TELEGRAM_TOKEN (or telegram.token) to the token @BotFather gave".into(),
            ));
        }
        let client = Client::new(&config.api_url, config.token.expose())?;
        let me = client
            .call("getMe", &json!({}), Duration::from_secs(30))
            .await
            .map_err(|error| error.into_connector("getMe"))?;
        let bot = serde_json::from_value::<types::User>(me).map_err(|error| {
            ConnectorError::Transient(format!("getMe answered an unexpected shape: {error}"))
        })?;
        let bot_username = bot.username.clone().unwrap_or_else(|| bot.id.to_string());
        let journal = Journal::open(
            &state_dir.join(format!("telegram-{}.journal", bot.id)),
            clock.now().timestamp(),
        )
        .map_err(|error| ConnectorError::Permanent(error.to_string()))?;
        let inbox = match config.mode {
            Mode::Poll => {
                // getUpdates is refused while a webhook is set.
                client
                    .call("deleteWebhook", &json!({}), Duration::from_secs(30))
                    .await
                    .map_err(|error| error.into_connector("deleteWebhook"))?;
                None
            }
            Mode::Webhook => {
                if config.webhook_url.is_empty() || config.webhook_secret.is_empty() {
                    return Err(ConnectorError::Permanent(
                        "telegram.mode = \"webhook\" needs telegram.webhook_url and telegram.webhook_secret".into(),
                    ));
                }
                let inbox = Inbox::open(state_dir.join(format!("telegram-{}.inbox", bot.id)))
                    .map_err(|error| ConnectorError::Permanent(error.to_string()))?;
                client
                    .call(
                        "setWebhook",
                        &json!({"url": config.webhook_url, "secret_token": config.webhook_secret.expose(),
                                "allowed_updates": ALLOWED_UPDATES}),
                        Duration::from_secs(30),
                    )
                    .await
                    .map_err(|error| error.into_connector("setWebhook"))?;
                Some(inbox)
            }
        };
        tracing::info!(bot = %bot_username, mode = ?config.mode, "connected to Telegram");
        Ok(TelegramConnector {
            capabilities: telegram_capabilities(&config),
            id: format!("telegram:{}", bot.id),
            mapper: Mapper {
                bot_id: bot.id,
                workspace,
            },
            requesters: Default::default(),
            bot_id: bot.id,
            bot_username,
            client,
            config,
            journal,
            inbox,
            arrived: Notify::new(),
            clock,
            compacted: AtomicU64::new(0),
            creating_link: tokio::sync::Mutex::new(()),
        })
    }

    pub fn bot_id(&self) -> i64 {
        self.bot_id
    }

    pub fn bot_username(&self) -> &str {
        &self.bot_username
    }

    /// The webhook route, to be nested by qunzhu's HTTP server (e.g. under
    /// `/hooks/telegram/{bot id}`); refused with 404 in poll mode.
    pub fn webhook(self: &Arc<Self>) -> axum::Router {
        webhook::router(self.clone())
    }

    /// Maps raw updates, skipping (with a warning naming the field) what does not parse.
    fn map_raw(&self, raw: &[Value]) -> Vec<Event> {
        let now = self.clock.now();
        let polls = |id: &str| self.journal.poll(id);
        let mut events = Vec::new();
        for value in raw {
            let bytes = value.to_string();
            match parse_update(bytes.as_bytes()) {
                Ok(update) => {
                    if let Some(query) = &update.callback_query {
                        self.answer_click(query.id.clone());
                    }
                    if let Some(request) = &update.chat_join_request {
                        self.note_requester(request);
                    }
                    if let Some(change) = &update.my_chat_member {
                        tracing::info!(chat = change.chat.id, status = %change.new_chat_member.status, "the bot's own standing changed");
                    }
                    events.extend(self.mapper.map(&update, now, &polls));
                }
                Err(error) => {
                    let update_id = value.get("update_id").and_then(|id| id.as_i64());
                    tracing::warn!(?update_id, %error, "skipping a malformed Telegram update")
                }
            }
        }
        events
    }

    /// Keeps a join request's private chat for the five minutes Telegram allows writing there.
    fn note_requester(&self, request: &types::ChatJoinRequest) {
        let Some(user_chat) = request.user_chat_id else {
            return;
        };
        let key = (request.chat.id.to_string(), request.from.id.to_string());
        let until = request.date + REQUESTER_CHAT_SECS;
        let mut requesters = self
            .requesters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = self.clock.now().timestamp();
        requesters.retain(|_, (_, until)| *until > now);
        requesters.insert(key, (user_chat, until));
    }

    /// Stops the button's spinner; a lost answer only leaves a spinner, so it is not retried.
    fn answer_click(&self, id: String) {
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(error) = client
                .call(
                    "answerCallbackQuery",
                    &json!({"callback_query_id": id}),
                    Duration::from_secs(10),
                )
                .await
            {
                tracing::debug!(error = %error.description(), "could not answer a button click");
            }
        });
    }

    async fn poll_updates(&self, cursor: Option<&str>) -> Result<Batch> {
        let offset = cursor_number(cursor, "offset:");
        let timeout = self.config.poll_timeout_secs;
        let mut body =
            json!({"timeout": timeout, "limit": 100, "allowed_updates": ALLOWED_UPDATES});
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        let answer = self
            .client
            .call("getUpdates", &body, Duration::from_secs(timeout + 15))
            .await
            .map_err(|error| match error {
                CallError::Api {
                    code: 409,
                    description,
                    ..
                } => ConnectorError::Transient(format!(
                    "getUpdates: {description} (another qunzhu or a webhook uses this bot)"
                )),
                other => other.into_connector("getUpdates"),
            })?;
        let raw = answer.as_array().cloned().unwrap_or_default();
        let next = raw
            .iter()
            .filter_map(|update| update.get("update_id").and_then(Value::as_i64))
            .max()
            .map(|last| last + 1)
            .or(offset);
        Ok(Batch {
            events: self.map_raw(&raw),
            cursor: next.map(|next| format!("offset:{next}")),
        })
    }

    async fn poll_inbox(&self, inbox: &Inbox, cursor: Option<&str>) -> Result<Batch> {
        let after = cursor_number(cursor, "inbox:")
            .and_then(|seq| u64::try_from(seq).ok())
            .unwrap_or(0);
        // What the engine stored (the cursor it passes back) is acknowledged: compact now and
        // then so the file does not grow forever.
        if after >= self.compacted.load(Ordering::Relaxed) + 1000 {
            match inbox.compact(after, self.clock.now().timestamp()) {
                Ok(()) => self.compacted.store(after, Ordering::Relaxed),
                Err(error) => tracing::warn!(%error, "could not compact the Telegram inbox"),
            }
        }
        let mut entries = inbox.read_after(after, 100);
        if entries.is_empty() {
            let wait = Duration::from_secs(self.config.poll_timeout_secs.max(1));
            let _ = tokio::time::timeout(wait, self.arrived.notified()).await;
            entries = inbox.read_after(after, 100);
        }
        let Some(last) = entries.last().map(|entry| entry.seq) else {
            return Ok(Batch {
                events: Vec::new(),
                cursor: cursor.map(str::to_string),
            });
        };
        let raw: Vec<Value> = entries
            .iter()
            .filter_map(|entry| entry.payload.as_deref())
            .filter_map(|payload| match serde_json::from_str(payload) {
                Ok(value) => Some(value),
                Err(error) => {
                    tracing::warn!(%error, "skipping an inbox entry that is not JSON");
                    None
                }
            })
            .collect();
        Ok(Batch {
            events: self.map_raw(&raw),
            cursor: Some(format!("inbox:{last}")),
        })
    }
}

#[async_trait]
impl Connector for TelegramConnector {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn bot_user(&self) -> Option<String> {
        Some(self.bot_id.to_string())
    }

    async fn poll(&self, cursor: Option<&str>) -> Result<Batch> {
        match &self.inbox {
            Some(inbox) => self.poll_inbox(inbox, cursor).await,
            None => self.poll_updates(cursor).await,
        }
    }

    fn requester_chat(&self, chat: &str, member: &str) -> Option<RequesterChat> {
        let requesters = self
            .requesters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (user_chat, until) = *requesters.get(&(chat.to_string(), member.to_string()))?;
        let until = chrono::DateTime::from_timestamp(until, 0)?;
        (until > self.clock.now()).then(|| RequesterChat {
            chat: user_chat.to_string(),
            until,
        })
    }

    async fn execute(&self, action: &ActionRecord) -> Result<Option<String>> {
        let ctx = actions::Context {
            client: &self.client,
            journal: &self.journal,
            bot_id: self.bot_id,
            now: self.clock.now(),
            resend_uncertain: self.config.resend_uncertain,
            timeout: Duration::from_secs(self.config.request_timeout_secs.max(1)),
        };
        let done = actions::execute(&ctx, action).await;
        // A decided request closes its private chat (Telegram refuses writing there after).
        if let (Ok(_), qunzhu_domain::ActionKind::DecideJoinRequest { member, .. }) =
            (&done, &action.kind)
        {
            self.requesters
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .remove(&(action.chat.clone(), member.clone()));
        }
        done
    }

    async fn member_link(&self, chat: &str, code: &str) -> Result<String> {
        // One creation at a time, so two asks for the same code make one link.
        let _creating = self.creating_link.lock().await;
        if let Some(link) = self.journal.link(chat, code) {
            return Ok(link);
        }
        let chat_number: i64 = chat.parse().map_err(|_| {
            ConnectorError::Permanent(format!("unknown chat `{chat}`: not a Telegram chat id"))
        })?;
        let name: String = code.chars().take(32).collect();
        let answer = self
            .client
            .call(
                "createChatInviteLink",
                &json!({"chat_id": chat_number, "name": name}),
                Duration::from_secs(30),
            )
            .await
            .map_err(|error| {
                let refused = error.description().to_ascii_lowercase();
                if refused.contains("not enough rights") || refused.contains("admin") {
                    ConnectorError::Permanent(format!(
                        "cannot create an invite link in {chat}: the bot lacks can_invite_users ({})",
                        error.description()
                    ))
                } else {
                    error.into_connector(&format!("cannot create an invite link in {chat}"))
                }
            })?;
        let link = answer
            .get("invite_link")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ConnectorError::Transient("createChatInviteLink answered without a link".into())
            })?
            .to_string();
        self.journal
            .link_created(chat, code, &link)
            .map_err(|error| ConnectorError::Transient(error.to_string()))?;
        Ok(link)
    }
}

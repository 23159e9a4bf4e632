//! The WeCom (企业微信) connector: customer groups heard through encrypted callbacks and the
//! `externalcontact/groupchat` API, live codes as join ways, and sends as tasks a person confirms.
//!
//! WeCom cannot kick, cannot post by itself and cannot read group messages (see the README), so
//! its capabilities say so and the engine plans around them. What it can do: tell who joined
//! through which live code (`state`), who left and whether they were removed, and hand a post to
//! the group's owner as a group-send task that is followed until sent.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod callback;
pub mod callback_xml;
pub mod config;
pub mod crypto;
pub mod joinways;
pub mod livecode_ways;
pub mod roster;
pub mod sends;
pub mod state;
pub mod stats;
pub mod tasks;
pub mod token;
pub mod welcome;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use qunzhu_connector::inbox::Inbox;
use qunzhu_connector::{Batch, Capabilities, Connector, ConnectorError, Rate, Result};
use qunzhu_domain::{ActionRecord, Clock, Event, EventKind, Platform, WorkspaceId};
use serde_json::{json, Value};
use tokio::sync::{Mutex, Notify};

pub use api::{Api, ApiConfig, ApiLimits};
pub use callback::{fuzz_one, open_callback, router, CallbackQuery, CallbackState, Refusal};
pub use config::{Secret, WecomConfig};
pub use crypto::{CryptoError, MsgCrypt};
pub use roster::GroupSnapshot;
pub use token::{CachedToken, MemoryTokenCache, StoreTokenCache, TokenCache};

use callback_xml::{parse_callback, Callback, ChangeType, UpdateDetail};
use state::{parse_cursor, Known, Pending, StateFile};

/// Inbox entries handled per poll at most.
const PAGE: usize = 500;
/// Groups re-fetched per poll at most (the rest wait for the next poll).
const FETCHES: usize = 50;

/// One corp's customer groups.
pub struct WecomConnector {
    id: String,
    workspace: WorkspaceId,
    config: WecomConfig,
    api: Arc<Api>,
    inbox: Arc<Inbox>,
    callbacks: Arc<CallbackState>,
    wake: Arc<Notify>,
    clock: Arc<dyn Clock>,
    state_path: PathBuf,
    state: Mutex<StateFile>,
    /// The acknowledged inbox position and when the inbox was last compacted (Unix seconds).
    compacted: std::sync::Mutex<(u64, i64)>,
    capabilities: Capabilities,
}

impl std::fmt::Debug for WecomConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WecomConnector")
            .field("id", &self.id)
            .field("corp_id", &self.config.corp_id)
            .finish_non_exhaustive()
    }
}

/// What WeCom's official API lets an app do in customer groups.
pub fn wecom_capabilities() -> Capabilities {
    // Group sends are per-owner tasks, far below any per-second pace.
    let pace = Rate {
        per_second: 10_000.0 / 60.0,
        burst: 100,
    };
    Capabilities {
        kick: false,
        ban: false,
        mute: false,
        redact: false,
        invite: false,
        send_autonomously: false,
        formatted_messages: false,
        // Live codes (join ways) are per channel, at most a few hundred: not a link per member.
        per_member_invite_links: false,
        review_join_requests: false,
        list_members: true,
        set_power_level: false,
        lock_posting: false,
        edit_group: false,
        pin: false,
        idempotent_actions: false,
        per_group_rate: pace,
        global_rate: pace,
        // WeCom cannot delete, mute, ban, send buttons or run games from an app.
        delete_window_secs: None,
        delete_batch: 0,
        timed_mute: false,
        ban_revokes_messages: false,
        buttons: false,
        games: false,
        policy_lists: false,
        create_groups: false,
        send_images: false,
    }
}

impl WecomConnector {
    /// Opens the connector's inbox and state file under `config.state_dir`; no network yet.
    pub fn open(
        config: WecomConfig,
        workspace: WorkspaceId,
        clock: Arc<dyn Clock>,
        tokens: Arc<dyn TokenCache>,
    ) -> Result<WecomConnector> {
        let missing = [
            ("wecom.corp_id", config.corp_id.is_empty()),
            (
                "wecom.secret (QUNZHU_WECOM_SECRET)",
                config.secret.is_empty(),
            ),
            (
                "wecom.callback_token (QUNZHU_WECOM_TOKEN)",
                config.callback_token.is_empty(),
            ),
            (
                "wecom.encoding_aes_key (QUNZHU_WECOM_AES_KEY)",
                config.encoding_aes_key.is_empty(),
            ),
        ];
        if let Some((name, _)) = missing.iter().find(|(_, missing)| *missing) {
            return Err(ConnectorError::Permanent(format!("{name} is not set")));
        }
        let crypt = MsgCrypt::new(
            config.callback_token.expose(),
            config.encoding_aes_key.expose(),
            &config.corp_id,
        )
        .map_err(|error| ConnectorError::Permanent(format!("wecom.encoding_aes_key: {error}")))?;
        let dir = PathBuf::from(&config.state_dir);
        let inbox = Arc::new(
            Inbox::open(dir.join(format!("{}-inbox.jsonl", config.account)))
                .map_err(|error| ConnectorError::Permanent(error.to_string()))?,
        );
        let state_path = dir.join(format!("{}-state.json", config.account));
        let state = StateFile::load(&state_path)
            .map_err(|error| ConnectorError::Permanent(error.to_string()))?;
        let api = Arc::new(Api::new(
            ApiConfig {
                base_url: config.api_base.trim_end_matches('/').to_string(),
                corp_id: config.corp_id.clone(),
                secret: config.secret.expose().to_string(),
                limits: ApiLimits::default(),
            },
            tokens,
            clock.clone(),
        )?);
        let wake = Arc::new(Notify::new());
        let callbacks = CallbackState::new(crypt, inbox.clone(), clock.clone(), wake.clone());
        Ok(WecomConnector {
            id: format!("wecom:{}:{}", config.corp_id, config.account),
            workspace,
            config,
            api,
            inbox,
            callbacks,
            wake,
            clock,
            state_path,
            state: Mutex::new(state),
            compacted: std::sync::Mutex::new((0, 0)),
            capabilities: wecom_capabilities(),
        })
    }

    /// The callback endpoint; the binary nests it at `/hooks/wecom/{account}`.
    pub fn router(&self) -> axum::Router {
        router(self.callbacks.clone())
    }

    pub fn callbacks(&self) -> &Arc<CallbackState> {
        &self.callbacks
    }

    pub fn api(&self) -> &Arc<Api> {
        &self.api
    }

    pub fn config(&self) -> &WecomConfig {
        &self.config
    }

    /// The committed roster of a group, if seen.
    pub async fn roster(&self, chat: &str) -> Option<GroupSnapshot> {
        self.state.lock().await.committed.groups.get(chat).cloned()
    }

    /// Callbacks refused as already recorded (WeCom's retries) since start.
    pub fn duplicate_callbacks(&self) -> u64 {
        self.inbox.duplicates()
    }

    /// Member-version gaps found (callbacks lost or out of order), as committed.
    pub async fn gaps(&self) -> u64 {
        self.state.lock().await.committed.gaps
    }

    /// Calls `groupchat/get` for one group.
    pub async fn fetch_group(&self, chat: &str) -> Result<GroupSnapshot> {
        let answer = self
            .api
            .post(
                "externalcontact/groupchat/get",
                json!({"chat_id": chat, "need_name": 1}),
            )
            .await?;
        roster::snapshot_from(&answer)
            .map(|(_, snapshot)| snapshot)
            .map_err(|error| ConnectorError::Transient(error.to_string()))
    }

    /// Every customer group's chat id (`groupchat/list`, all pages).
    pub async fn list_groups(&self) -> Result<Vec<String>> {
        let mut chats = Vec::new();
        let mut cursor = String::new();
        loop {
            let answer = self
                .api
                .post(
                    "externalcontact/groupchat/list",
                    json!({"status_filter": 0, "cursor": cursor, "limit": 1000}),
                )
                .await?;
            for group in answer
                .get("group_chat_list")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                if let Some(chat) = group.get("chat_id").and_then(Value::as_str) {
                    chats.push(chat.to_string());
                }
            }
            cursor = answer
                .get("next_cursor")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if cursor.is_empty() {
                return Ok(chats);
            }
        }
    }

    /// Rewrites the inbox without what the engine acknowledged, at most once a minute (the
    /// rewrite costs the whole file).
    fn compact(&self, acknowledged: u64) {
        let now = self.clock.now().timestamp();
        let mut last = self
            .compacted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if acknowledged <= last.0 || now - last.1 < 60 {
            return;
        }
        match self.inbox.compact(acknowledged, now) {
            Ok(()) => *last = (acknowledged, now),
            Err(error) => tracing::warn!(%error, "WeCom inbox compaction failed"),
        }
    }

    /// Applies one callback to `next`; a dismissal is an event at once, member and group
    /// changes wait for a settled `groupchat/get`.
    /// `arrived_ms` is when the callback reached the inbox, so applying the same entry again
    /// (a proposal the engine never stored) gives the same due time.
    fn apply(&self, next: &mut Known, plain: &str, arrived_ms: i64, events: &mut Vec<Event>) {
        let change = match parse_callback(plain) {
            Ok(Callback::ExternalChat(change)) => change,
            Ok(Callback::Other { msg_type, event }) => {
                tracing::debug!(%msg_type, ?event, "WeCom callback not about customer groups");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "unreadable WeCom callback in the inbox; skipped");
                return;
            }
        };
        let chat = change.chat_id.clone();
        if change.change == ChangeType::Dismiss {
            next.pending.remove(&chat);
            next.groups.entry(chat.clone()).or_default().dismissed = true;
            events.push(Event {
                workspace: self.workspace,
                platform: Platform::WeCom,
                key: format!("wecom:{chat}:dismissed"),
                chat,
                at: DateTime::from_timestamp(change.at, 0).unwrap_or_else(|| self.clock.now()),
                kind: EventKind::GroupDismissed,
            });
            return;
        }
        if matches!(
            change.detail,
            Some(UpdateDetail::AddMember | UpdateDetail::DelMember)
        ) {
            let stored = next
                .groups
                .get(&chat)
                .and_then(|group| group.version.clone());
            if let (Some(stored), Some(last)) = (stored, change.last_mem_ver.as_ref()) {
                if &stored != last {
                    next.gaps += 1;
                    tracing::warn!(%chat, %stored, %last, "WeCom member version gap: a callback was lost or came out of order; re-fetching the group");
                }
            }
        }
        let pending = next.pending.entry(chat).or_default();
        pending.due_ms = pending
            .due_ms
            .max(arrived_ms + self.config.settle_ms as i64);
        pending.at = pending.at.max(change.at);
        if change.detail == Some(UpdateDetail::DelMember) && change.quit_scene == Some(1) {
            pending.removed.extend(change.members);
        }
    }

    async fn reconcile(&self, next: &mut Known, now_ms: i64) {
        if now_ms < next.next_reconcile_ms {
            return;
        }
        match self.list_groups().await {
            Ok(chats) => {
                for chat in chats {
                    next.pending.entry(chat).or_insert(Pending {
                        due_ms: now_ms,
                        removed: Vec::new(),
                        at: now_ms / 1000,
                    });
                }
                next.next_reconcile_ms =
                    now_ms + (self.config.reconcile_minutes.max(1) * 60_000) as i64;
            }
            Err(error) => {
                tracing::warn!(%error, "WeCom reconciliation could not list the groups");
                next.next_reconcile_ms = now_ms + 60_000;
            }
        }
    }

    async fn refetch_due(
        &self,
        next: &mut Known,
        now_ms: i64,
        events: &mut Vec<Event>,
    ) -> Result<()> {
        let due: Vec<(String, Pending)> = next
            .pending
            .iter()
            .filter(|(_, pending)| pending.due_ms <= now_ms)
            .take(FETCHES)
            .map(|(chat, pending)| (chat.clone(), pending.clone()))
            .collect();
        for (chat, pending) in due {
            match self.fetch_group(&chat).await {
                Ok(snapshot) => {
                    let at =
                        DateTime::from_timestamp(pending.at, 0).unwrap_or_else(|| self.clock.now());
                    let old = next.groups.get(&chat).filter(|group| !group.dismissed);
                    let (found, snapshot) =
                        roster::diff(self.workspace, &chat, old, snapshot, &pending.removed, at);
                    events.extend(found);
                    next.groups.insert(chat.clone(), snapshot);
                    next.pending.remove(&chat);
                }
                Err(ConnectorError::Permanent(error)) => {
                    tracing::warn!(%chat, %error, "WeCom group cannot be fetched; dropped from the watch list");
                    next.pending.remove(&chat);
                }
                Err(error @ ConnectorError::Auth(_)) => return Err(error),
                Err(error) => {
                    tracing::info!(%chat, %error, "WeCom group fetch failed; trying again later");
                    if let Some(pending) = next.pending.get_mut(&chat) {
                        pending.due_ms = now_ms + 5_000;
                    }
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Connector for WecomConnector {
    fn platform(&self) -> Platform {
        Platform::WeCom
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn poll(&self, cursor: Option<&str>) -> Result<Batch> {
        let (seq, epoch) = parse_cursor(cursor);
        let mut waited = false;
        loop {
            let mut state = self.state.lock().await;
            state.acknowledge(epoch);
            self.compact(seq);
            let mut next = state.committed.clone();
            let now_ms = self.clock.now().timestamp_millis();
            let mut events = Vec::new();
            let entries = self.inbox.read_after(seq, PAGE);
            let last_seq = entries.last().map_or(seq, |entry| entry.seq);
            for entry in &entries {
                if let Some(plain) = &entry.payload {
                    self.apply(&mut next, plain, entry.at * 1000, &mut events);
                }
            }
            self.reconcile(&mut next, now_ms).await;
            self.refetch_due(&mut next, now_ms, &mut events).await?;
            if next != state.committed || last_seq != seq {
                let proposed = state.epoch.max(epoch) + 1;
                state.proposed = Some((proposed, next));
                state
                    .save(&self.state_path)
                    .map_err(|error| ConnectorError::Transient(error.to_string()))?;
                return Ok(Batch {
                    events,
                    cursor: Some(format!("{last_seq}:{proposed}")),
                });
            }
            // Wake for the earliest settled re-fetch or reconciliation, else a callback.
            let earliest = state
                .committed
                .pending
                .values()
                .map(|pending| pending.due_ms)
                .chain(std::iter::once(state.committed.next_reconcile_ms))
                .min()
                .unwrap_or(i64::MAX);
            drop(state);
            let until_due = u64::try_from(earliest.saturating_sub(now_ms)).unwrap_or(0);
            if waited {
                return Ok(Batch {
                    events: Vec::new(),
                    cursor: cursor.map(str::to_string),
                });
            }
            waited = true;
            let _ = tokio::time::timeout(
                Duration::from_millis(self.config.poll_wait_ms.min(until_due.max(10))),
                self.wake.notified(),
            )
            .await;
        }
    }

    async fn execute(&self, action: &ActionRecord) -> Result<Option<String>> {
        Err(ConnectorError::Permanent(format!(
            "WeCom's API cannot {} in a customer group; qunzhu alerts a person instead",
            action.kind.name()
        )))
    }
}

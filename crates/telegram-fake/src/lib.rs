//! A fake Telegram Bot API server for tests: an axum server on 127.0.0.1:0 that answers the
//! methods qunzhu uses with the documented shapes (`{ok, result}` / `{ok: false, error_code,
//! description, parameters}`), errors (400 with a description, 401 for a bad token, 403 when
//! the bot is not in the chat, 429 with `parameters.retry_after`) and limits (48 h delete
//! window, 1–100 ids per deleteMessages, 20 messages a minute per group, mutes under 30 s or
//! over 366 days are forever, a chat's default permissions binding its members' posts).
//!
//! Tests drive it as members would (join by a link, ask to join, talk, roll dice, answer
//! polls, click buttons) and inspect its [`World`]: messages, restrictions with their end,
//! invite links with their names, join requests. Its clock is real time plus a settable offset.

#![allow(clippy::missing_panics_doc)]

mod drive;
mod methods;
mod world;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::Notify;

pub use world::{
    Chat, FakeMessage, FakePoll, InviteLink, JoinRequest, Request, Restriction, Status, World,
    BOT_ID, BOT_USERNAME, PERMISSIONS, RIGHTS, TOKEN,
};

pub(crate) struct Shared {
    pub(crate) world: Mutex<World>,
    pub(crate) arrived: Notify,
}

/// The running fake.
pub struct FakeTelegram {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, World> {
    shared.world.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeTelegram {
    /// Starts the server with one supergroup per id, the bot an administrator with every right.
    pub async fn start(chats: &[i64]) -> FakeTelegram {
        let mut world = World {
            offset_secs: 0,
            direct: Vec::new(),
            token_valid: true,
            chats: BTreeMap::new(),
            polls: BTreeMap::new(),
            updates: VecDeque::new(),
            next_update: 1,
            calls: Vec::new(),
            storm: 0,
            storm_retry_after: 1,
            swallow_answers: 0,
            webhook: None,
            per_group_per_minute: 20,
            allowed_updates: None,
            next_link: 1,
            next_poll: 1,
        };
        for id in chats {
            world.chats.insert(
                *id,
                Chat {
                    title: format!("Group {id}"),
                    description: String::new(),
                    bot_present: true,
                    bot_admin: true,
                    bot_rights: RIGHTS.iter().map(|r| r.to_string()).collect(),
                    members: BTreeMap::new(),
                    messages: BTreeMap::new(),
                    next_message: 1,
                    links: Vec::new(),
                    requests: BTreeMap::new(),
                    recent_sends: VecDeque::new(),
                    permissions: world::PERMISSIONS
                        .iter()
                        .map(|name| (name.to_string(), true))
                        .collect(),
                },
            );
        }
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            arrived: Notify::new(),
        });
        let app = Router::new()
            .route("/{token}/{method}", post(methods::handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram { url, shared, task }
    }

    /// The world, locked; keep the guard short (never across an await).
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.shared)
    }

    pub(crate) fn pushed(&self) {
        self.shared.arrived.notify_waiters();
    }

    /// Moves the fake's clock.
    pub fn advance(&self, seconds: i64) {
        self.world().offset_secs += seconds;
    }

    /// Queues a raw update (for malformed input); `update_id` is added when missing.
    pub fn push_raw(&self, mut update: Value) {
        {
            let mut world = self.world();
            if update.get("update_id").is_none() {
                let id = world.next_update;
                world.next_update += 1;
                update["update_id"] = json!(id);
            }
            world.updates.push_back(update);
        }
        self.pushed();
    }
}

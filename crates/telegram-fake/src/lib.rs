//! A fake Telegram Bot API server for tests: an axum server on 127.0.0.1:0 that answers the
//! methods qunzhu uses with the documented shapes (`{ok, result}` / `{ok: false, error_code,
//! description, parameters}`), errors (400 with a description, 401 for a bad token, 403 when
//! the bot is not in the chat, 429 with `parameters.retry_after`) and limits (48 h delete
//! window, 1–100 ids per deleteMessages, 20 messages a minute per group, mutes under 30 s or
//! over 366 days are forever).
//!
//! Tests drive it as members would (join by a link, ask to join, talk, roll dice, answer
//! polls, click buttons) and inspect its [`World`]: messages, restrictions with their end,
//! invite links with their names, join requests. Its clock is real time plus a settable offset.

#![allow(clippy::missing_panics_doc)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

pub const BOT_ID: i64 = 1000;
pub const BOT_USERNAME: &str = "qunzhu_test_bot";
pub const TOKEN: &str = "1000:FAKE-TOKEN-for-tests";

/// An administrator right of the bot in a chat.
pub const RIGHTS: &[&str] = &[
    "can_restrict_members",
    "can_delete_messages",
    "can_invite_users",
    "can_change_info",
    "can_pin_messages",
];

#[derive(Debug, Clone)]
pub struct FakeMessage {
    pub id: i64,
    pub from: i64,
    pub date: i64,
    pub text: String,
    pub deleted: bool,
    pub pinned: bool,
    /// The raw message as sent out (entities, reply markup, dice, poll).
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Restriction {
    pub can_send_messages: bool,
    /// Unix seconds; 0 is forever.
    pub until: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Member,
    Restricted(Restriction),
    Left,
    /// Banned; `until` 0 is forever.
    Kicked {
        until: i64,
    },
}

#[derive(Debug, Clone)]
pub struct InviteLink {
    pub url: String,
    pub name: Option<String>,
    pub creates_join_request: bool,
    pub member_limit: Option<i64>,
    pub expire_date: Option<i64>,
    pub revoked: bool,
    pub joined: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Pending,
    Approved,
    Declined,
}

#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub state: Request,
    pub bio: Option<String>,
    pub link: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FakePoll {
    pub chat: i64,
    pub message_id: i64,
    pub options: Vec<String>,
    pub quiz: bool,
    pub correct: Option<i64>,
    pub open_period: Option<i64>,
    pub anonymous: bool,
}

#[derive(Debug, Clone)]
pub struct Chat {
    pub title: String,
    pub description: String,
    /// The bot's standing: in the chat at all, an administrator, and which rights.
    pub bot_present: bool,
    pub bot_admin: bool,
    pub bot_rights: Vec<String>,
    pub members: BTreeMap<i64, Status>,
    pub messages: BTreeMap<i64, FakeMessage>,
    pub next_message: i64,
    pub links: Vec<InviteLink>,
    pub requests: BTreeMap<i64, JoinRequest>,
    /// When the bot's recent group messages were sent, for the 20-a-minute limit.
    pub recent_sends: VecDeque<i64>,
}

/// Everything the fake knows; tests read and change it through [`FakeTelegram::world`].
#[derive(Debug)]
pub struct World {
    pub offset_secs: i64,
    pub token_valid: bool,
    pub chats: BTreeMap<i64, Chat>,
    pub polls: BTreeMap<String, FakePoll>,
    pub updates: VecDeque<Value>,
    pub next_update: i64,
    /// Every call: method and body.
    pub calls: Vec<(String, Value)>,
    /// The next this-many sends are answered 429 with `storm_retry_after`.
    pub storm: u32,
    pub storm_retry_after: u64,
    /// Sends carried out whose answers were then withheld (a lost answer).
    pub swallow_answers: u32,
    pub webhook: Option<(String, String)>,
    pub per_group_per_minute: usize,
    /// The update kinds the bot asked for (`allowed_updates`); `None` is Telegram's default:
    /// everything but `chat_member`, `message_reaction` and `message_reaction_count`.
    pub allowed_updates: Option<Vec<String>>,
    next_link: u64,
    next_poll: u64,
}

impl World {
    pub fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        real + self.offset_secs
    }

    pub fn chat(&self, chat: i64) -> &Chat {
        &self.chats[&chat]
    }

    pub fn chat_mut(&mut self, chat: i64) -> &mut Chat {
        self.chats.get_mut(&chat).expect("unknown chat in test")
    }

    /// A member's standing now (a restriction past its end is over).
    pub fn status(&self, chat: i64, user: i64) -> Status {
        let now = self.now();
        match self.chats.get(&chat).and_then(|c| c.members.get(&user)) {
            Some(Status::Restricted(r)) if r.until != 0 && r.until <= now => Status::Member,
            Some(Status::Kicked { until }) if *until != 0 && *until <= now => Status::Left,
            Some(status) => status.clone(),
            None => Status::Left,
        }
    }

    /// Messages still visible in a chat, oldest first.
    pub fn visible(&self, chat: i64) -> Vec<FakeMessage> {
        self.chat(chat)
            .messages
            .values()
            .filter(|m| !m.deleted)
            .cloned()
            .collect()
    }

    /// The bot's messages in a chat, deleted or not.
    pub fn bot_messages(&self, chat: i64) -> Vec<FakeMessage> {
        self.chat(chat)
            .messages
            .values()
            .filter(|m| m.from == BOT_ID)
            .cloned()
            .collect()
    }

    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// Whether Telegram would deliver an update of this kind to the bot.
    pub fn allowed(&self, update: &Value) -> bool {
        let Some(kind) = update
            .as_object()
            .and_then(|u| u.keys().find(|k| *k != "update_id"))
        else {
            return true;
        };
        match &self.allowed_updates {
            Some(allowed) if !allowed.is_empty() => allowed.iter().any(|a| a == kind),
            _ => !["chat_member", "message_reaction", "message_reaction_count"]
                .contains(&kind.as_str()),
        }
    }

    fn push(&mut self, kind: &str, payload: Value) -> i64 {
        let id = self.next_update;
        self.next_update += 1;
        self.updates
            .push_back(json!({"update_id": id, kind: payload}));
        id
    }
}

fn user_json(id: i64) -> Value {
    if id == BOT_ID {
        return json!({"id": BOT_ID, "is_bot": true, "first_name": "qunzhu", "username": BOT_USERNAME});
    }
    json!({"id": id, "is_bot": false, "first_name": format!("User{id}"), "username": format!("user{id}")})
}

fn chat_json(id: i64, chat: &Chat) -> Value {
    json!({"id": id, "type": "supergroup", "title": chat.title})
}

fn member_json(id: i64, status: &Status) -> Value {
    match status {
        Status::Member => json!({"status": "member", "user": user_json(id)}),
        Status::Left => json!({"status": "left", "user": user_json(id)}),
        Status::Kicked { until } => {
            json!({"status": "kicked", "user": user_json(id), "until_date": until})
        }
        Status::Restricted(r) => {
            json!({"status": "restricted", "user": user_json(id), "is_member": true,
            "can_send_messages": r.can_send_messages, "until_date": r.until})
        }
    }
}

/// URLs in a text as `url` entities, offsets in UTF-16 like Telegram's.
fn url_entities(text: &str) -> Vec<Value> {
    let mut entities = Vec::new();
    let mut offset = 0usize;
    for word in text.split_inclusive(char::is_whitespace) {
        let trimmed = word.trim_end();
        if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
            entities.push(
                json!({"type": "url", "offset": offset, "length": trimmed.encode_utf16().count()}),
            );
        }
        offset += word.encode_utf16().count();
    }
    entities
}

type Answer = (StatusCode, Json<Value>);

fn ok(result: Value) -> Answer {
    (StatusCode::OK, Json(json!({"ok": true, "result": result})))
}

fn fail(code: u16, description: &str) -> Answer {
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({"ok": false, "error_code": code, "description": description})),
    )
}

fn too_many(retry_after: u64) -> Answer {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"ok": false, "error_code": 429,
            "description": format!("Too Many Requests: retry after {retry_after}"),
            "parameters": {"retry_after": retry_after}})),
    )
}

struct Shared {
    world: Mutex<World>,
    arrived: Notify,
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

fn lock(shared: &Shared) -> MutexGuard<'_, World> {
    shared.world.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeTelegram {
    /// Starts the server with one supergroup per id, the bot an administrator with every right.
    pub async fn start(chats: &[i64]) -> FakeTelegram {
        let mut world = World {
            offset_secs: 0,
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
                },
            );
        }
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            arrived: Notify::new(),
        });
        let app = Router::new()
            .route("/{token}/{method}", post(handle))
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

    fn pushed(&self) {
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

    fn member_update(
        world: &mut World,
        chat: i64,
        user: i64,
        from: i64,
        old: Status,
        new: Status,
        extra: Value,
    ) {
        let c = world.chat(chat);
        let mut change = json!({
            "chat": chat_json(chat, c), "from": user_json(from), "date": world.now(),
            "old_chat_member": member_json(user, &old), "new_chat_member": member_json(user, &new),
        });
        if let (Some(change), Some(extra)) = (change.as_object_mut(), extra.as_object()) {
            change.extend(extra.clone());
        }
        world.push("chat_member", change);
    }

    fn link_json(link: &InviteLink) -> Value {
        json!({"invite_link": link.url, "creator": user_json(BOT_ID), "name": link.name,
               "creates_join_request": link.creates_join_request, "is_primary": false, "is_revoked": link.revoked})
    }

    /// A user follows an invite link: joins, or asks to join if the link says so. Returns
    /// false if the link is unknown, revoked or full.
    pub fn join_by_link(&self, chat: i64, user: i64, url: &str, bio: Option<&str>) -> bool {
        let joined = {
            let mut world = self.world();
            let now = world.now();
            let Some(link) = world
                .chat(chat)
                .links
                .iter()
                .find(|l| l.url == url)
                .cloned()
            else {
                return false;
            };
            if link.revoked
                || link.expire_date.is_some_and(|at| at <= now)
                || link
                    .member_limit
                    .is_some_and(|limit| link.joined.len() as i64 >= limit)
            {
                return false;
            }
            if link.creates_join_request {
                world.chat_mut(chat).requests.insert(
                    user,
                    JoinRequest {
                        state: Request::Pending,
                        bio: bio.map(str::to_string),
                        link: Some(url.to_string()),
                    },
                );
                let c = world.chat(chat);
                let request = json!({"chat": chat_json(chat, c), "from": user_json(user), "user_chat_id": user,
                    "date": now, "bio": bio, "invite_link": Self::link_json(&link)});
                world.push("chat_join_request", request);
            } else {
                world.chat_mut(chat).members.insert(user, Status::Member);
                if let Some(l) = world.chat_mut(chat).links.iter_mut().find(|l| l.url == url) {
                    l.joined.push(user);
                }
                Self::member_update(
                    &mut world,
                    chat,
                    user,
                    user,
                    Status::Left,
                    Status::Member,
                    json!({"invite_link": Self::link_json(&link)}),
                );
            }
            true
        };
        self.pushed();
        joined
    }

    /// A user joins through the group's public link (no attribution).
    pub fn join(&self, chat: i64, user: i64) {
        {
            let mut world = self.world();
            world.chat_mut(chat).members.insert(user, Status::Member);
            Self::member_update(
                &mut world,
                chat,
                user,
                user,
                Status::Left,
                Status::Member,
                json!({}),
            );
        }
        self.pushed();
    }

    pub fn leave(&self, chat: i64, user: i64) {
        {
            let mut world = self.world();
            world.chat_mut(chat).members.insert(user, Status::Left);
            Self::member_update(
                &mut world,
                chat,
                user,
                user,
                Status::Member,
                Status::Left,
                json!({}),
            );
        }
        self.pushed();
    }

    /// A member posts; `None` if Telegram would refuse (not a member, muted).
    pub fn say(&self, chat: i64, user: i64, text: &str) -> Option<i64> {
        self.post(
            chat,
            user,
            json!({"text": text, "entities": url_entities(text)}),
            text,
        )
    }

    pub fn roll(&self, chat: i64, user: i64, emoji: &str, value: i64) -> Option<i64> {
        self.post(
            chat,
            user,
            json!({"dice": {"emoji": emoji, "value": value}}),
            "",
        )
    }

    fn post(&self, chat: i64, user: i64, content: Value, text: &str) -> Option<i64> {
        let id = {
            let mut world = self.world();
            match world.status(chat, user) {
                Status::Member => {}
                Status::Restricted(r) if r.can_send_messages => {}
                _ => return None,
            }
            let now = world.now();
            let c = world.chat_mut(chat);
            let id = c.next_message;
            c.next_message += 1;
            let mut message = json!({"message_id": id, "from": user_json(user), "chat": chat_json(chat, c), "date": now});
            if let (Some(m), Some(extra)) = (message.as_object_mut(), content.as_object()) {
                m.extend(extra.clone());
            }
            c.messages.insert(
                id,
                FakeMessage {
                    id,
                    from: user,
                    date: now,
                    text: text.to_string(),
                    deleted: false,
                    pinned: false,
                    raw: message.clone(),
                },
            );
            world.push("message", message);
            id
        };
        self.pushed();
        Some(id)
    }

    pub fn edit(&self, chat: i64, message: i64, text: &str) {
        {
            let mut world = self.world();
            let now = world.now();
            let c = world.chat_mut(chat);
            let Some(m) = c.messages.get_mut(&message) else {
                return;
            };
            m.text = text.to_string();
            let from = m.from;
            let date = m.date;
            let edited = json!({"message_id": message, "from": user_json(from), "chat": chat_json(chat, c),
                "date": date, "edit_date": now, "text": text, "entities": url_entities(text)});
            world.push("edited_message", edited);
        }
        self.pushed();
    }

    pub fn react(&self, chat: i64, message: i64, user: i64, emoji: &str) {
        {
            let mut world = self.world();
            let now = world.now();
            let c = world.chat(chat);
            let reaction = json!({"chat": chat_json(chat, c), "message_id": message, "user": user_json(user), "date": now,
                "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": emoji}]});
            world.push("message_reaction", reaction);
        }
        self.pushed();
    }

    /// A member answers a poll; false if the poll is unknown or anonymous (no update then).
    pub fn answer_poll(&self, poll: &str, user: i64, options: &[i64]) -> bool {
        {
            let mut world = self.world();
            let Some(p) = world.polls.get(poll).cloned() else {
                return false;
            };
            if p.anonymous {
                return false;
            }
            world.push(
                "poll_answer",
                json!({"poll_id": poll, "user": user_json(user), "option_ids": options}),
            );
        }
        self.pushed();
        true
    }

    pub fn click(&self, chat: i64, message: i64, user: i64, data: &str) {
        {
            let mut world = self.world();
            let c = world.chat(chat);
            let query = json!({"id": format!("cq{message}{user}"), "from": user_json(user), "chat_instance": "ci",
                "data": data, "message": {"message_id": message, "chat": chat_json(chat, c), "date": 0}});
            world.push("callback_query", query);
        }
        self.pushed();
    }

    /// The poll id of the bot's poll message.
    pub fn poll_of(&self, chat: i64, message: i64) -> Option<String> {
        self.world()
            .polls
            .iter()
            .find(|(_, p)| p.chat == chat && p.message_id == message)
            .map(|(id, _)| id.clone())
    }

    /// POSTs queued updates to the webhook with `secret` (the configured one unless given);
    /// returns each answer's status. Delivered updates leave the queue only on 200.
    pub async fn deliver_webhook(&self, secret: Option<&str>) -> Vec<u16> {
        let (url, configured) = self.world().webhook.clone().expect("no webhook set");
        let secret = secret.map(str::to_string).unwrap_or(configured);
        let http = reqwest::Client::new();
        let mut statuses = Vec::new();
        loop {
            let Some(update) = self.world().updates.front().cloned() else {
                break;
            };
            let status = http
                .post(&url)
                .header("X-Telegram-Bot-Api-Secret-Token", &secret)
                .json(&update)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            statuses.push(status);
            if status != 200 {
                break;
            }
            self.world().updates.pop_front();
        }
        statuses
    }
}

fn int(body: &Value, key: &str) -> Option<i64> {
    body.get(key).and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((token, method)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Answer {
    let body = body.map(|Json(b)| b).unwrap_or_else(|| json!({}));
    if method == "getUpdates" {
        return get_updates(&shared, &token, &body).await;
    }
    let (answer, swallow) = {
        let mut world = lock(&shared);
        world.calls.push((method.clone(), body.clone()));
        if token != format!("bot{TOKEN}") || !world.token_valid {
            return fail(401, "Unauthorized");
        }
        let answer = call(&mut world, &method, &body);
        let swallow =
            answer.0 == StatusCode::OK && method.starts_with("send") && world.swallow_answers > 0;
        if swallow {
            world.swallow_answers -= 1;
        }
        (answer, swallow)
    };
    shared.arrived.notify_waiters();
    if swallow {
        // Carried out, but the answer never comes back (the client times out).
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    answer
}

async fn get_updates(shared: &Shared, token: &str, body: &Value) -> Answer {
    let timeout = int(body, "timeout").unwrap_or(0).clamp(0, 50) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let waiting = shared.arrived.notified();
        {
            let mut world = lock(shared);
            world.calls.push(("getUpdates".into(), body.clone()));
            if token != format!("bot{TOKEN}") || !world.token_valid {
                return fail(401, "Unauthorized");
            }
            if world.webhook.is_some() {
                return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
            }
            if let Some(allowed) = body.get("allowed_updates").and_then(Value::as_array) {
                world.allowed_updates = Some(
                    allowed
                        .iter()
                        .filter_map(|kind| kind.as_str().map(str::to_string))
                        .collect(),
                );
            }
            // Kinds the bot did not ask for are never delivered.
            let queued = std::mem::take(&mut world.updates);
            world.updates = queued.into_iter().filter(|u| world.allowed(u)).collect();
            if let Some(offset) = int(body, "offset") {
                // An offset confirms every update before it: they are gone for good.
                while world
                    .updates
                    .front()
                    .and_then(|u| u["update_id"].as_i64())
                    .is_some_and(|id| id < offset)
                {
                    world.updates.pop_front();
                }
            }
            let limit = int(body, "limit").unwrap_or(100).clamp(1, 100) as usize;
            if !world.updates.is_empty() {
                let batch: Vec<Value> = world.updates.iter().take(limit).cloned().collect();
                return ok(Value::Array(batch));
            }
        }
        if tokio::time::timeout_at(deadline, waiting).await.is_err() {
            return ok(json!([]));
        }
    }
}

const SENDS: &[&str] = &["sendMessage", "sendDice", "sendPoll"];

fn call(world: &mut World, method: &str, body: &Value) -> Answer {
    let now = world.now();
    match method {
        "getMe" => return ok(user_json(BOT_ID)),
        "deleteWebhook" => {
            world.webhook = None;
            return ok(json!(true));
        }
        "setWebhook" => {
            let url = body["url"].as_str().unwrap_or("").to_string();
            let secret = body["secret_token"].as_str().unwrap_or("").to_string();
            if url.is_empty() {
                return fail(
                    400,
                    "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
                );
            }
            world.webhook = Some((url, secret));
            if let Some(allowed) = body.get("allowed_updates").and_then(Value::as_array) {
                world.allowed_updates = Some(
                    allowed
                        .iter()
                        .filter_map(|kind| kind.as_str().map(str::to_string))
                        .collect(),
                );
            }
            return ok(json!(true));
        }
        "answerCallbackQuery" => return ok(json!(true)),
        _ => {}
    }
    let Some(chat) = int(body, "chat_id") else {
        return fail(400, "Bad Request: chat_id is empty");
    };
    let Some(c) = world.chats.get(&chat) else {
        return fail(400, "Bad Request: chat not found");
    };
    if !c.bot_present {
        return fail(403, "Forbidden: bot is not a member of the supergroup chat");
    }
    let (bot_admin, rights, title, description) = (
        c.bot_admin,
        c.bot_rights.clone(),
        c.title.clone(),
        c.description.clone(),
    );
    let has = |right: &str| bot_admin && rights.iter().any(|r| r == right);
    if SENDS.contains(&method) {
        if world.storm > 0 {
            world.storm -= 1;
            return too_many(world.storm_retry_after);
        }
        let limit = world.per_group_per_minute;
        let c = world.chat_mut(chat);
        while c.recent_sends.front().is_some_and(|at| *at <= now - 60) {
            c.recent_sends.pop_front();
        }
        if c.recent_sends.len() >= limit {
            let wait = c
                .recent_sends
                .front()
                .map_or(1, |at| (at + 60 - now).max(1));
            return too_many(wait as u64);
        }
        c.recent_sends.push_back(now);
    }
    let user = int(body, "user_id");
    match method {
        "getChat" => ok(
            json!({"id": chat, "type": "supergroup", "title": title, "description": description,
            "permissions": {"can_send_messages": true}}),
        ),
        "getChatMember" => {
            let Some(user) = user else {
                return fail(400, "Bad Request: user_id is empty");
            };
            if user == BOT_ID {
                let mut me = json!({"status": if bot_admin { "administrator" } else { "member" }, "user": user_json(BOT_ID)});
                if bot_admin {
                    for right in RIGHTS {
                        me[*right] = json!(rights.iter().any(|r| r == right));
                    }
                }
                return ok(me);
            }
            ok(member_json(user, &world.status(chat, user)))
        }
        "sendMessage" | "sendDice" | "sendPoll" => {
            let text = body["text"].as_str().unwrap_or("").to_string();
            if method == "sendMessage" && text.trim().is_empty() {
                return fail(400, "Bad Request: message text is empty");
            }
            if text.encode_utf16().count() > 4096 {
                return fail(400, "Bad Request: message is too long");
            }
            let buttons = body["reply_markup"]["inline_keyboard"]
                .as_array()
                .into_iter()
                .flatten();
            for button in buttons.filter_map(Value::as_array).flatten() {
                let data = button["callback_data"].as_str().unwrap_or("");
                if data.is_empty() || data.len() > 64 {
                    return fail(400, "Bad Request: BUTTON_DATA_INVALID");
                }
            }
            if method == "sendPoll" {
                let options = body["options"].as_array().map_or(0, Vec::len);
                if !(2..=12).contains(&options) {
                    return fail(400, "Bad Request: poll must have 2-12 options");
                }
            }
            let c = world.chat_mut(chat);
            let id = c.next_message;
            c.next_message += 1;
            let mut message = json!({"message_id": id, "from": user_json(BOT_ID), "chat": chat_json(chat, c), "date": now});
            for key in [
                "text",
                "entities",
                "reply_markup",
                "reply_parameters",
                "parse_mode",
            ] {
                if let Some(value) = body.get(key) {
                    message[key] = value.clone();
                }
            }
            if method == "sendDice" {
                let emoji = body["emoji"].as_str().unwrap_or("🎲");
                message["dice"] = json!({"emoji": emoji, "value": (now % 6) + 1});
            }
            if method == "sendPoll" {
                let id_text = format!("poll{}", world.next_poll);
                world.next_poll += 1;
                let options: Vec<String> = body["options"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| o["text"].as_str().unwrap_or("").to_string())
                    .collect();
                let correct = int(body, "correct_option_id")
                    .or_else(|| body["correct_option_ids"][0].as_i64());
                world.polls.insert(
                    id_text.clone(),
                    FakePoll {
                        chat,
                        message_id: id,
                        options: options.clone(),
                        quiz: body["type"] == "quiz",
                        correct,
                        open_period: int(body, "open_period"),
                        anonymous: body["is_anonymous"].as_bool().unwrap_or(true),
                    },
                );
                message["poll"] = json!({"id": id_text, "question": body["question"], "options": options.iter().map(|t| json!({"text": t, "voter_count": 0})).collect::<Vec<_>>(),
                    "type": body["type"], "is_anonymous": body["is_anonymous"]});
            }
            let c = world.chat_mut(chat);
            c.messages.insert(
                id,
                FakeMessage {
                    id,
                    from: BOT_ID,
                    date: now,
                    text,
                    deleted: false,
                    pinned: false,
                    raw: message.clone(),
                },
            );
            ok(message)
        }
        "deleteMessage" | "deleteMessages" => {
            let ids: Vec<i64> = if method == "deleteMessage" {
                int(body, "message_id").into_iter().collect()
            } else {
                body["message_ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_i64)
                    .collect()
            };
            if ids.is_empty() {
                return fail(400, "Bad Request: message identifiers are not specified");
            }
            if ids.len() > 100 {
                return fail(400, "Bad Request: too many message identifiers specified");
            }
            let can_delete = has("can_delete_messages");
            let c = world.chat_mut(chat);
            for id in &ids {
                let Some(m) = c.messages.get_mut(id).filter(|m| !m.deleted) else {
                    if method == "deleteMessage" {
                        return fail(400, "Bad Request: message to delete not found");
                    }
                    continue;
                };
                let deletable = (m.from == BOT_ID || can_delete) && now - m.date < 48 * 3600;
                if !deletable {
                    if method == "deleteMessage" {
                        return fail(400, "Bad Request: message can't be deleted for everyone");
                    }
                    continue;
                }
                m.deleted = true;
            }
            ok(json!(true))
        }
        "restrictChatMember" | "banChatMember" | "unbanChatMember" => {
            if !has("can_restrict_members") {
                return fail(
                    400,
                    "Bad Request: not enough rights to restrict/unrestrict chat member",
                );
            }
            let Some(user) = user else {
                return fail(400, "Bad Request: user_id is empty");
            };
            let old = world.status(chat, user);
            let until = int(body, "until_date").unwrap_or(0);
            // Under 30 s or over 366 days is forever.
            let until = if until != 0 && (until - now < 30 || until - now > 366 * 86400) {
                0
            } else {
                until
            };
            let new = match method {
                "restrictChatMember" => {
                    if matches!(old, Status::Left | Status::Kicked { .. }) {
                        return fail(400, "Bad Request: user is not a member of the chat");
                    }
                    let can_send = body["permissions"]["can_send_messages"]
                        .as_bool()
                        .unwrap_or(false);
                    if can_send {
                        Status::Member
                    } else {
                        Status::Restricted(Restriction {
                            can_send_messages: false,
                            until,
                        })
                    }
                }
                "banChatMember" => {
                    if body["revoke_messages"].as_bool().unwrap_or(false) {
                        for m in world
                            .chat_mut(chat)
                            .messages
                            .values_mut()
                            .filter(|m| m.from == user)
                        {
                            m.deleted = true;
                        }
                    }
                    Status::Kicked { until }
                }
                _ => {
                    let only_if_banned = body["only_if_banned"].as_bool().unwrap_or(false);
                    match old {
                        Status::Kicked { .. } => Status::Left,
                        _ if only_if_banned => return ok(json!(true)),
                        _ => Status::Left,
                    }
                }
            };
            world.chat_mut(chat).members.insert(user, new.clone());
            let present = |s: &Status| matches!(s, Status::Member | Status::Restricted(_));
            if present(&old) != present(&new)
                || matches!((&old, &new), (Status::Kicked { .. }, Status::Left))
            {
                FakeTelegram::member_update(world, chat, user, BOT_ID, old, new, json!({}));
            }
            ok(json!(true))
        }
        "approveChatJoinRequest" | "declineChatJoinRequest" => {
            if !has("can_invite_users") {
                return fail(400, "Bad Request: CHAT_ADMIN_REQUIRED");
            }
            let Some(user) = user else {
                return fail(400, "Bad Request: user_id is empty");
            };
            let c = world.chat_mut(chat);
            let Some(request) = c
                .requests
                .get_mut(&user)
                .filter(|r| r.state == Request::Pending)
            else {
                return fail(400, "Bad Request: HIDE_REQUESTER_MISSING");
            };
            let approve = method == "approveChatJoinRequest";
            request.state = if approve {
                Request::Approved
            } else {
                Request::Declined
            };
            let link = request.link.clone();
            if approve {
                c.members.insert(user, Status::Member);
                let link_json = link.and_then(|url| {
                    let l = c.links.iter_mut().find(|l| l.url == url)?;
                    l.joined.push(user);
                    Some(FakeTelegram::link_json(l))
                });
                let mut extra = json!({"via_join_request": true});
                if let Some(link) = link_json {
                    extra["invite_link"] = link;
                }
                FakeTelegram::member_update(
                    world,
                    chat,
                    user,
                    BOT_ID,
                    Status::Left,
                    Status::Member,
                    extra,
                );
            }
            ok(json!(true))
        }
        "createChatInviteLink" | "editChatInviteLink" | "revokeChatInviteLink" => {
            if !has("can_invite_users") {
                return fail(
                    400,
                    "Bad Request: not enough rights to manage chat invite link",
                );
            }
            let name = body["name"].as_str().map(str::to_string);
            if name.as_ref().is_some_and(|n| n.chars().count() > 32) {
                return fail(400, "Bad Request: invite link name is too long");
            }
            let join_request = body["creates_join_request"].as_bool().unwrap_or(false);
            let member_limit = int(body, "member_limit");
            if join_request && member_limit.is_some() {
                return fail(
                    400,
                    "Bad Request: can't combine member limit with join requests",
                );
            }
            let expire_date = int(body, "expire_date");
            if method == "createChatInviteLink" {
                let url = format!("https://t.me/+fake{chat}x{}", world.next_link);
                world.next_link += 1;
                let link = InviteLink {
                    url,
                    name,
                    creates_join_request: join_request,
                    member_limit,
                    expire_date,
                    revoked: false,
                    joined: Vec::new(),
                };
                let answer = FakeTelegram::link_json(&link);
                world.chat_mut(chat).links.push(link);
                return ok(answer);
            }
            let url = body["invite_link"].as_str().unwrap_or("");
            let Some(link) = world.chat_mut(chat).links.iter_mut().find(|l| l.url == url) else {
                return fail(400, "Bad Request: INVITE_HASH_EXPIRED");
            };
            if method == "revokeChatInviteLink" {
                link.revoked = true;
            } else {
                link.name = name;
                link.creates_join_request = join_request;
                link.member_limit = member_limit;
                link.expire_date = expire_date;
            }
            ok(FakeTelegram::link_json(link))
        }
        "setChatTitle" | "setChatDescription" => {
            if !has("can_change_info") {
                return fail(400, "Bad Request: not enough rights to change chat title");
            }
            let c = world.chat_mut(chat);
            if method == "setChatTitle" {
                c.title = body["title"].as_str().unwrap_or("").to_string();
            } else {
                let description = body["description"].as_str().unwrap_or("").to_string();
                if description == c.description {
                    return fail(400, "Bad Request: chat description is not modified");
                }
                c.description = description;
            }
            ok(json!(true))
        }
        "pinChatMessage" => {
            if !has("can_pin_messages") {
                return fail(
                    400,
                    "Bad Request: not enough rights to manage pinned messages in the chat",
                );
            }
            let Some(id) = int(body, "message_id") else {
                return fail(400, "Bad Request: message_id is empty");
            };
            match world.chat_mut(chat).messages.get_mut(&id) {
                Some(m) => {
                    m.pinned = true;
                    ok(json!(true))
                }
                None => fail(400, "Bad Request: message to pin not found"),
            }
        }
        _ => fail(404, "Not Found"),
    }
}

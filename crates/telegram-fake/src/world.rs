//! The fake's state: chats, members and their standing, messages, invite links, join requests,
//! polls and queued updates, with the JSON shapes the Bot API gives them.

use std::collections::{BTreeMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

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
    /// When it was made: the bot may write to the requester for five minutes after.
    pub date: i64,
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
    /// The chat's default `ChatPermissions` for members (`setChatPermissions`); administrators
    /// are not bound by them.
    pub permissions: BTreeMap<String, bool>,
}

/// The `ChatPermissions` fields of Bot API 10 (a supergroup's defaults start all true but the
/// info, invite, pin and topic rights; here all start true, as a fresh test group).
pub const PERMISSIONS: &[&str] = &[
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
];

impl Chat {
    /// Whether members may post this kind of message by the chat's default permissions.
    pub fn members_may(&self, right: &str) -> bool {
        self.permissions.get(right).copied().unwrap_or(false)
    }
}

/// Everything the fake knows; tests read and change it through [`FakeTelegram::world`].
#[derive(Debug)]
pub struct World {
    pub offset_secs: i64,
    /// Private messages the bot wrote to requesters: (user, text).
    pub direct: Vec<(i64, String)>,
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
    pub(crate) next_link: u64,
    pub(crate) next_poll: u64,
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

    pub(crate) fn push(&mut self, kind: &str, payload: Value) -> i64 {
        let id = self.next_update;
        self.next_update += 1;
        self.updates
            .push_back(json!({"update_id": id, kind: payload}));
        id
    }
}

pub(crate) fn user_json(id: i64) -> Value {
    if id == BOT_ID {
        return json!({"id": BOT_ID, "is_bot": true, "first_name": "qunzhu", "username": BOT_USERNAME});
    }
    json!({"id": id, "is_bot": false, "first_name": format!("User{id}"), "username": format!("user{id}")})
}

pub(crate) fn chat_json(id: i64, chat: &Chat) -> Value {
    json!({"id": id, "type": "supergroup", "title": chat.title})
}

pub(crate) fn member_json(id: i64, status: &Status) -> Value {
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
pub(crate) fn url_entities(text: &str) -> Vec<Value> {
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

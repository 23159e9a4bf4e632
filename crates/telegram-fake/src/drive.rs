//! Driving the fake as members would: joining by a link or asking to, talking, editing,
//! reacting, rolling dice, answering polls, clicking buttons; and delivering to a webhook.

use serde_json::{json, Value};

use crate::world::{chat_json, member_json, url_entities, user_json, World};
use crate::world::{FakeMessage, InviteLink, JoinRequest, Request, Status, BOT_ID};
use crate::FakeTelegram;

impl FakeTelegram {
    pub(crate) fn member_update(
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

    pub(crate) fn link_json(link: &InviteLink) -> Value {
        json!({"invite_link": link.url, "creator": user_json(BOT_ID), "name": link.name,
               "creates_join_request": link.creates_join_request, "is_primary": false, "is_revoked": link.revoked})
    }

    /// A user follows an invite link: joins, or asks to join if the link says so. Returns
    /// false if the link is unknown, revoked or full, or the user is in the group already.
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
            // Someone already in the group who follows a link again just opens the chat:
            // Telegram sends no `chat_member` update and the link counts nobody.
            if matches!(
                world.status(chat, user),
                Status::Member | Status::Restricted(_)
            ) {
                return false;
            }
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
                        date: now,
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
            "can_send_messages",
        )
    }

    pub fn roll(&self, chat: i64, user: i64, emoji: &str, value: i64) -> Option<i64> {
        self.post(
            chat,
            user,
            json!({"dice": {"emoji": emoji, "value": value}}),
            "",
            "can_send_other_messages",
        )
    }

    /// A member's post, refused as Telegram refuses it: not a member, muted, or the chat's
    /// default permissions (`setChatPermissions`) deny this kind of message.
    fn post(&self, chat: i64, user: i64, content: Value, text: &str, right: &str) -> Option<i64> {
        let id = {
            let mut world = self.world();
            match world.status(chat, user) {
                Status::Member => {}
                Status::Restricted(r) if r.can_send_messages => {}
                _ => return None,
            }
            if !world.chat(chat).members_may(right) {
                return None;
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

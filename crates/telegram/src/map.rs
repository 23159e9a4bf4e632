//! From Bot API updates to normalized events. Parsing is strict about shape (a malformed update
//! is an error naming the field path) and mapping never panics: offsets out of range, unknown
//! statuses and service messages are simply not events.

use chrono::{DateTime, Utc};
use qunzhu_domain::{Event, EventKind, JoinVia, LeaveHow, MessageKind, Platform, WorkspaceId};

use crate::types::{ChatMemberUpdated, Message, MessageEntity, Update, User};

/// A malformed update: what was wrong and where (a JSON field path like `message.chat.id`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed update at `{path}`: {message}")]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

/// Parses one update as the Bot API sends it (a getUpdates element or a webhook body).
pub fn parse_update(bytes: &[u8]) -> Result<Update, ParseError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| ParseError {
        path: error.path().to_string(),
        message: error.inner().to_string(),
    })
}

/// What the mapper knows about a poll the bot sent: the action key and the option texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPoll {
    pub key: String,
    pub options: Vec<String>,
}

/// What makes an update's key unique beyond its id: after a week without updates Telegram
/// picks the next update id at random, so an id alone could repeat one logged long ago. A
/// redelivery of the same update has the same suffix, so it is still recognised.
fn key_suffix(update: &Update) -> String {
    let dated = update
        .message
        .as_ref()
        .or(update.edited_message.as_ref())
        .map(|message| message.date)
        .or(update.chat_member.as_ref().map(|change| change.date))
        .or(update
            .chat_join_request
            .as_ref()
            .map(|request| request.date))
        .or(update
            .message_reaction
            .as_ref()
            .map(|reaction| reaction.date));
    if let Some(date) = dated {
        return format!("@{date}");
    }
    if let Some(query) = &update.callback_query {
        return format!("#{}", query.id);
    }
    if let Some(answer) = &update.poll_answer {
        let user = answer.user.as_ref().map_or(0, |user| user.id);
        return format!("#{}/{user}", answer.poll_id);
    }
    String::new()
}

/// Turns updates into events for one bot in one workspace.
pub struct Mapper {
    pub bot_id: i64,
    pub workspace: WorkspaceId,
}

fn at(unix: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(unix, 0)
}

/// The text an entity covers, by UTF-16 offsets; `None` if out of range.
fn covered(utf16: &[u16], entity: &MessageEntity) -> Option<String> {
    let start = usize::try_from(entity.offset).ok()?;
    let length = usize::try_from(entity.length).ok()?;
    let end = start.checked_add(length)?;
    let slice = utf16.get(start..end)?;
    Some(String::from_utf16_lossy(slice))
}

/// Links and mentions from a message's entities (Telegram detects them for us).
pub fn links_and_mentions(text: &str, entities: &[MessageEntity]) -> (Vec<String>, Vec<String>) {
    let utf16: Vec<u16> = text.encode_utf16().collect();
    let mut links = Vec::new();
    let mut mentions = Vec::new();
    for entity in entities {
        match entity.kind.as_str() {
            "url" => links.extend(covered(&utf16, entity)),
            "text_link" => links.extend(entity.url.clone()),
            "mention" => mentions.extend(covered(&utf16, entity)),
            "text_mention" => mentions.extend(entity.user.as_ref().map(|user| user.id.to_string())),
            _ => {}
        }
    }
    (links, mentions)
}

fn message_kind(message: &Message) -> MessageKind {
    if message.photo.is_some() || message.sticker.is_some() || message.animation.is_some() {
        MessageKind::Image
    } else if message.document.is_some() || message.audio.is_some() {
        MessageKind::File
    } else if message.video.is_some()
        || message.voice.is_some()
        || message.video_note.is_some()
        || message.location.is_some()
        || message.contact.is_some()
        || message.poll.is_some()
    {
        MessageKind::Other
    } else {
        MessageKind::Text
    }
}

fn has_content(message: &Message) -> bool {
    message.text.is_some()
        || message.caption.is_some()
        || message_kind(message) != MessageKind::Text
}

impl Mapper {
    fn event(&self, key: String, chat: i64, at: DateTime<Utc>, kind: EventKind) -> Event {
        Event {
            workspace: self.workspace,
            platform: Platform::Telegram,
            key,
            chat: chat.to_string(),
            at,
            kind,
        }
    }

    /// The events one update carries (usually one, none for what qunzhu ignores).
    ///
    /// `now` dates the updates that carry no date (poll answers, button clicks); `poll` looks
    /// up a poll the bot sent.
    pub fn map(
        &self,
        update: &Update,
        now: DateTime<Utc>,
        poll: &dyn Fn(&str) -> Option<(i64, SentPoll)>,
    ) -> Vec<Event> {
        let key = format!(
            "tg:{}:{}{}",
            self.bot_id,
            update.update_id,
            key_suffix(update)
        );
        if let Some(message) = &update.message {
            return self.message(key, message, false).into_iter().collect();
        }
        if let Some(message) = &update.edited_message {
            return self.message(key, message, true).into_iter().collect();
        }
        if let Some(change) = &update.chat_member {
            return self.membership(key, change).into_iter().collect();
        }
        if let Some(request) = &update.chat_join_request {
            let Some(when) = at(request.date) else {
                return Vec::new();
            };
            return vec![self.event(
                key,
                request.chat.id,
                when,
                EventKind::JoinRequested {
                    member: request.from.id.to_string().into(),
                    display_name: Some(request.from.full_name()),
                    reason: request.bio.clone(),
                },
            )];
        }
        if let Some(reaction) = &update.message_reaction {
            let (Some(user), Some(when)) = (&reaction.user, at(reaction.date)) else {
                return Vec::new();
            };
            let old: Vec<String> = reaction.old_reaction.iter().map(|r| r.label()).collect();
            return reaction
                .new_reaction
                .iter()
                .map(|r| r.label())
                .filter(|label| !old.contains(label))
                .enumerate()
                .map(|(index, label)| {
                    let key = if index == 0 {
                        key.clone()
                    } else {
                        format!("{key}:{index}")
                    };
                    self.event(
                        key,
                        reaction.chat.id,
                        when,
                        EventKind::Reaction {
                            member: user.id.to_string().into(),
                            target: reaction.message_id.to_string(),
                            reaction: label,
                        },
                    )
                })
                .collect();
        }
        if let Some(answer) = &update.poll_answer {
            let Some(user) = &answer.user else {
                return Vec::new();
            };
            // Answers only come for polls the bot sent; without the chat it was sent to, the
            // answer belongs to no group.
            let Some((chat, sent)) = poll(&answer.poll_id) else {
                tracing::info!(poll = %answer.poll_id, "an answer to a poll qunzhu does not know; skipped");
                return Vec::new();
            };
            let option_ids: Vec<u32> = answer
                .option_ids
                .iter()
                .filter_map(|id| u32::try_from(*id).ok())
                .collect();
            let options = option_ids
                .iter()
                .filter_map(|id| sent.options.get(*id as usize).cloned())
                .collect();
            return vec![self.event(
                key,
                chat,
                now,
                EventKind::PollAnswered {
                    member: user.id.to_string().into(),
                    poll_id: answer.poll_id.clone(),
                    poll_key: Some(sent.key),
                    option_ids,
                    options,
                },
            )];
        }
        if let Some(query) = &update.callback_query {
            let (Some(message), Some(data)) = (&query.message, &query.data) else {
                return Vec::new();
            };
            return vec![self.event(
                key,
                message.chat.id,
                now,
                EventKind::ButtonClicked {
                    member: query.from.id.to_string().into(),
                    message_id: Some(message.message_id.to_string()),
                    data: data.clone(),
                },
            )];
        }
        Vec::new()
    }

    fn message(&self, key: String, message: &Message, edited: bool) -> Option<Event> {
        let when = at(message.date)?;
        let from: &User = message.from.as_ref()?;
        let member = from.id.to_string();
        let message_id = message.message_id.to_string();
        if let Some(title) = &message.new_chat_title {
            return Some(self.event(
                key,
                message.chat.id,
                when,
                EventKind::GroupRenamed {
                    name: title.clone(),
                    by: Some(member),
                },
            ));
        }
        if let Some(dice) = &message.dice {
            if edited {
                return None;
            }
            return Some(self.event(
                key,
                message.chat.id,
                when,
                EventKind::DiceRolled {
                    member: member.into(),
                    message_id,
                    emoji: dice.emoji.clone(),
                    value: u32::try_from(dice.value).unwrap_or(0),
                },
            ));
        }
        // Service messages (joins, leaves, pins…) are not chat; joins come from chat_member,
        // which is reliable where new_chat_members is not.
        if !has_content(message) {
            return None;
        }
        let (text, entities) = match (&message.text, &message.caption) {
            (Some(text), _) => (text.clone(), &message.entities),
            (None, Some(caption)) => (caption.clone(), &message.caption_entities),
            (None, None) => (String::new(), &message.entities),
        };
        let (links, mentions) = links_and_mentions(&text, entities);
        let kind = if edited {
            EventKind::MessageEdited {
                member: member.into(),
                message_id,
                text,
                links,
                mentions,
            }
        } else {
            EventKind::MessagePosted {
                member: member.into(),
                message_id,
                text,
                links,
                mentions,
                reply_to: message
                    .reply_to_message
                    .as_ref()
                    .map(|reply| reply.message_id.to_string()),
                message_kind: message_kind(message),
                from_bot: from.is_bot,
            }
        };
        Some(self.event(key, message.chat.id, when, kind))
    }

    fn membership(&self, key: String, change: &ChatMemberUpdated) -> Option<Event> {
        let when = at(change.date)?;
        let old = &change.old_chat_member;
        let new = &change.new_chat_member;
        let user = &new.user;
        let member = user.id.to_string();
        let actor = change.from.id;
        let by_other = actor != user.id;
        let kind = match (old.present(), new.present()) {
            (false, true) => {
                let via = if let Some(link) = &change.invite_link {
                    JoinVia::Link {
                        code: link
                            .name
                            .clone()
                            .filter(|name| !name.is_empty())
                            .unwrap_or_else(|| link.invite_link.clone()),
                    }
                } else if change.via_join_request {
                    JoinVia::KnockApproved {
                        by: by_other.then(|| actor.to_string()),
                    }
                } else if by_other {
                    JoinVia::Invited {
                        by: actor.to_string(),
                    }
                } else {
                    JoinVia::Direct
                };
                EventKind::MemberJoined {
                    member: member.into(),
                    display_name: Some(user.full_name()),
                    via,
                }
            }
            (true, false) => {
                let how = if new.status == "kicked" {
                    LeaveHow::Banned
                } else if by_other {
                    LeaveHow::Kicked
                } else {
                    LeaveHow::Left
                };
                EventKind::MemberLeft {
                    member: member.into(),
                    how,
                    by: by_other.then(|| actor.to_string()),
                }
            }
            (false, false) if old.status == "kicked" && new.status != "kicked" => {
                EventKind::MemberUnbanned {
                    member: member.into(),
                    by: actor.to_string(),
                }
            }
            _ => return None,
        };
        Some(self.event(key, change.chat.id, when, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapper() -> Mapper {
        Mapper {
            bot_id: 99,
            workspace: WorkspaceId(1),
        }
    }

    fn map(value: serde_json::Value) -> Vec<EventKind> {
        let update = parse_update(value.to_string().as_bytes()).expect("parses");
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let poll = |id: &str| {
            (id == "p1").then(|| {
                (
                    -100,
                    SentPoll {
                        key: "quiz:1".into(),
                        options: vec!["A".into(), "B".into()],
                    },
                )
            })
        };
        mapper()
            .map(&update, now, &poll)
            .into_iter()
            .map(|event| event.kind)
            .collect()
    }

    fn user(id: i64) -> serde_json::Value {
        json!({"id": id, "is_bot": false, "first_name": "U", "last_name": format!("{id}")})
    }

    fn member_update(
        old: &str,
        new: &str,
        from: i64,
        extra: serde_json::Value,
    ) -> serde_json::Value {
        let mut change = json!({
            "chat": {"id": -100, "type": "supergroup"},
            "from": user(from), "date": 1_800_000_000,
            "old_chat_member": {"status": old, "user": user(7)},
            "new_chat_member": {"status": new, "user": user(7)},
        });
        if let (Some(change), Some(extra)) = (change.as_object_mut(), extra.as_object()) {
            change.extend(extra.clone());
        }
        json!({"update_id": 5, "chat_member": change})
    }

    #[test]
    fn membership_transitions_become_joins_leaves_and_unbans() {
        let cases = [
            (
                member_update(
                    "left",
                    "member",
                    7,
                    json!({"invite_link": {"invite_link": "https://t.me/+abc", "name": "M42", "creates_join_request": false}}),
                ),
                EventKind::MemberJoined {
                    member: "7".into(),
                    display_name: Some("U 7".into()),
                    via: JoinVia::Link { code: "M42".into() },
                },
            ),
            (
                member_update("left", "member", 3, json!({"via_join_request": true})),
                EventKind::MemberJoined {
                    member: "7".into(),
                    display_name: Some("U 7".into()),
                    via: JoinVia::KnockApproved {
                        by: Some("3".into()),
                    },
                },
            ),
            (
                member_update("left", "member", 3, json!({})),
                EventKind::MemberJoined {
                    member: "7".into(),
                    display_name: Some("U 7".into()),
                    via: JoinVia::Invited { by: "3".into() },
                },
            ),
            (
                member_update("left", "member", 7, json!({})),
                EventKind::MemberJoined {
                    member: "7".into(),
                    display_name: Some("U 7".into()),
                    via: JoinVia::Direct,
                },
            ),
            (
                member_update("member", "left", 7, json!({})),
                EventKind::MemberLeft {
                    member: "7".into(),
                    how: LeaveHow::Left,
                    by: None,
                },
            ),
            (
                member_update("member", "left", 3, json!({})),
                EventKind::MemberLeft {
                    member: "7".into(),
                    how: LeaveHow::Kicked,
                    by: Some("3".into()),
                },
            ),
            (
                member_update("restricted", "kicked", 3, json!({})),
                EventKind::MemberLeft {
                    member: "7".into(),
                    how: LeaveHow::Banned,
                    by: Some("3".into()),
                },
            ),
            (
                member_update("kicked", "left", 3, json!({})),
                EventKind::MemberUnbanned {
                    member: "7".into(),
                    by: "3".into(),
                },
            ),
        ];
        for (update, expected) in cases {
            assert_eq!(map(update.clone()), vec![expected], "{update}");
        }
        assert!(map(member_update("member", "administrator", 3, json!({}))).is_empty());
    }

    #[test]
    fn messages_carry_entities_replies_media_and_edits() {
        let text = "看 https://a.example/x 问 @bob";
        let utf16_link_start = "看 ".encode_utf16().count();
        let mention_start = "看 https://a.example/x 问 ".encode_utf16().count();
        let message = json!({
            "message_id": 11, "from": user(7), "chat": {"id": -100, "type": "supergroup"},
            "date": 1_800_000_000, "text": text,
            "entities": [
                {"type": "url", "offset": utf16_link_start, "length": 19},
                {"type": "mention", "offset": mention_start, "length": 4},
                {"type": "text_mention", "offset": 0, "length": 1, "user": user(8)},
                {"type": "url", "offset": 500, "length": 3}
            ],
            "reply_to_message": {"message_id": 10, "chat": {"id": -100}, "date": 1}
        });
        assert_eq!(
            map(json!({"update_id": 1, "message": message})),
            vec![EventKind::MessagePosted {
                member: "7".into(),
                message_id: "11".into(),
                text: text.into(),
                links: vec!["https://a.example/x".into()],
                mentions: vec!["@bob".into(), "8".into()],
                reply_to: Some("10".into()),
                message_kind: MessageKind::Text,
                from_bot: false,
            }]
        );
        let photo = json!({"update_id": 2, "message": {"message_id": 12, "from": user(7), "chat": {"id": -100}, "date": 1_800_000_000, "photo": [{"file_id": "x"}], "caption": "pic"}});
        assert!(
            matches!(&map(photo)[..], [EventKind::MessagePosted { message_kind: MessageKind::Image, text, .. }] if text == "pic")
        );
        let edited = json!({"update_id": 3, "edited_message": {"message_id": 11, "from": user(7), "chat": {"id": -100}, "date": 1_800_000_000, "text": "fixed"}});
        assert!(
            matches!(&map(edited)[..], [EventKind::MessageEdited { text, .. }] if text == "fixed")
        );
        let joined = json!({"update_id": 4, "message": {"message_id": 13, "from": user(7), "chat": {"id": -100}, "date": 1_800_000_000, "new_chat_members": [user(7)]}});
        assert!(map(joined).is_empty(), "joins come from chat_member only");
        let dice = json!({"update_id": 6, "message": {"message_id": 14, "from": user(7), "chat": {"id": -100}, "date": 1_800_000_000, "dice": {"emoji": "🎲", "value": 5}}});
        assert_eq!(
            map(dice),
            vec![EventKind::DiceRolled {
                member: "7".into(),
                message_id: "14".into(),
                emoji: "🎲".into(),
                value: 5
            }]
        );
    }

    #[test]
    fn requests_reactions_poll_answers_and_clicks() {
        let request = json!({"update_id": 1, "chat_join_request": {"chat": {"id": -100}, "from": user(7), "user_chat_id": 7, "date": 1_800_000_000, "bio": "做咖啡的"}});
        assert_eq!(
            map(request),
            vec![EventKind::JoinRequested {
                member: "7".into(),
                display_name: Some("U 7".into()),
                reason: Some("做咖啡的".into())
            }]
        );
        let reaction = json!({"update_id": 2, "message_reaction": {"chat": {"id": -100}, "message_id": 11, "user": user(7), "date": 1_800_000_000,
            "old_reaction": [{"type": "emoji", "emoji": "👍"}], "new_reaction": [{"type": "emoji", "emoji": "👍"}, {"type": "emoji", "emoji": "🔥"}]}});
        assert_eq!(
            map(reaction),
            vec![EventKind::Reaction {
                member: "7".into(),
                target: "11".into(),
                reaction: "🔥".into()
            }]
        );
        let answer = json!({"update_id": 3, "poll_answer": {"poll_id": "p1", "user": user(7), "option_ids": [1]}});
        assert_eq!(
            map(answer),
            vec![EventKind::PollAnswered {
                member: "7".into(),
                poll_id: "p1".into(),
                poll_key: Some("quiz:1".into()),
                option_ids: vec![1],
                options: vec!["B".into()]
            }]
        );
        let unknown_poll = json!({"update_id": 4, "poll_answer": {"poll_id": "zz", "user": user(7), "option_ids": [0]}});
        assert!(map(unknown_poll).is_empty());
        let click = json!({"update_id": 5, "callback_query": {"id": "q", "from": user(7), "chat_instance": "c", "data": "vote:yes", "message": {"message_id": 20, "chat": {"id": -100}, "date": 0}}});
        assert_eq!(
            map(click),
            vec![EventKind::ButtonClicked {
                member: "7".into(),
                message_id: Some("20".into()),
                data: "vote:yes".into()
            }]
        );
    }

    #[test]
    fn keys_survive_telegrams_random_restart_of_update_ids() {
        let message = |date: i64| json!({"update_id": 42, "message": {"message_id": 1, "from": user(7), "chat": {"id": -100}, "date": date, "text": "x"}});
        let key = |value: serde_json::Value| {
            let update = parse_update(value.to_string().as_bytes()).expect("parses");
            let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
            mapper().map(&update, now, &|_| None)[0].key.clone()
        };
        assert_eq!(key(message(1_800_000_000)), "tg:99:42@1800000000");
        assert_eq!(
            key(message(1_800_000_000)),
            key(message(1_800_000_000)),
            "a redelivery is the same event"
        );
        assert_ne!(
            key(message(1_800_000_000)),
            key(message(1_900_000_000)),
            "a reused id is a new event"
        );
    }

    #[test]
    fn malformed_updates_name_the_field() {
        let error =
            parse_update(br#"{"update_id": 1, "message": {"message_id": "x"}}"#).unwrap_err();
        assert_eq!(error.path, "message.message_id");
        let error = parse_update(b"{").unwrap_err();
        assert!(
            error.to_string().starts_with("malformed update at"),
            "{error}"
        );
    }
}

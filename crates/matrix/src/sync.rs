//! From a `/sync` answer to normalized events: membership transitions, messages, reactions,
//! redactions, renames and the bot's powers (`m.room.power_levels`), each keyed by its event id. Malformed events are skipped with a
//! warning; they never stop the poll. Spaces (`m.space` rooms) are not groups: nothing of
//! theirs becomes an event. Followed policy-list rooms are not groups either: only their rule
//! state events (and redactions of them) become `PolicyRuleChanged` events of the list.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use qunzhu_domain::{Event, EventKind, JoinVia, LeaveHow, MessageKind, Platform, WorkspaceId};
use serde_json::Value;

/// Turns raw events into normalized ones; remembers knocks to recognise approvals and which
/// rooms are spaces.
pub struct Mapper {
    pub bot: String,
    pub workspace: WorkspaceId,
    knocked: HashSet<(String, String)>,
    spaces: HashSet<String>,
    /// Followed policy lists the bot is in: room id → the list as the workspace follows it
    /// (an id or an alias), which is the events' `chat`.
    pub policy: HashMap<String, String>,
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// http(s) links in a message body.
pub fn links(body: &str) -> Vec<String> {
    body.split(|c: char| c.is_whitespace() || "<>\"'()（）【】，。".contains(c))
        .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
        .map(|word| word.trim_end_matches(['.', ',', '!', '?', ';']).to_string())
        .collect()
}

impl Mapper {
    pub fn new(bot: String, workspace: WorkspaceId) -> Self {
        Mapper {
            bot,
            workspace,
            knocked: HashSet::new(),
            spaces: HashSet::new(),
            policy: HashMap::new(),
        }
    }

    /// The rule events among a followed list's state and timeline, with `chat` = `list`:
    /// a rule state event (any content, emptied included) or a redaction. The log's keys make
    /// the same state event shown twice one event.
    pub fn policy_events(&self, list: &str, raws: &[Value]) -> Vec<Event> {
        raws.iter()
            .filter_map(|raw| {
                let sender = text(raw, "sender")?.to_string();
                let kind = match text(raw, "type")? {
                    "m.room.redaction" => EventKind::PolicyRuleChanged {
                        rule_type: None,
                        state_key: None,
                        entity: None,
                        recommendation: None,
                        reason: None,
                        sender,
                        redacts: text(raw, "redacts")
                            .or_else(|| raw.get("content").and_then(|c| text(c, "redacts")))
                            .map(str::to_string),
                    },
                    rule_type => {
                        qunzhu_domain::ban::policy_rule_target(rule_type)?;
                        let content = raw.get("content");
                        let field = |name: &str| {
                            content
                                .and_then(|content| text(content, name))
                                .map(str::to_string)
                        };
                        EventKind::PolicyRuleChanged {
                            rule_type: Some(rule_type.to_string()),
                            state_key: Some(text(raw, "state_key")?.to_string()),
                            entity: field("entity"),
                            recommendation: field("recommendation"),
                            reason: field("reason"),
                            sender,
                            redacts: None,
                        }
                    }
                };
                self.event(list, raw, kind)
            })
            .collect()
    }

    /// Whether `room` is a space (learnt from its `m.room.create` in a state it was shown).
    pub fn is_space(&self, room: &str) -> bool {
        self.spaces.contains(room)
    }

    /// Learns from a room's state whether it is a space; returns whether it is.
    pub fn learn_kind(&mut self, room: &str, state: &[Value]) -> bool {
        let space = state.iter().any(|raw| {
            text(raw, "type") == Some("m.room.create")
                && raw.get("content").and_then(|content| text(content, "type")) == Some("m.space")
        });
        if space {
            self.spaces.insert(room.to_string());
        }
        self.is_space(room)
    }

    /// The room's name from its state, as a rename (the bot just arrived, or qunzhu just
    /// started), so `{group}` and the console show the name, not the id.
    pub fn named(&self, room: &str, state: &[Value]) -> Option<Event> {
        let raw = state.iter().rev().find(|raw| {
            text(raw, "type") == Some("m.room.name") && text(raw, "state_key") == Some("")
        })?;
        let name = raw
            .get("content")
            .and_then(|content| text(content, "name"))?;
        if name.trim().is_empty() {
            return None;
        }
        self.event(
            room,
            raw,
            EventKind::GroupRenamed {
                name: name.to_string(),
                by: text(raw, "sender").map(str::to_string),
            },
        )
    }

    /// The bot's powers in the room now, from the latest `m.room.power_levels` of its state
    /// (the bot just arrived, or qunzhu just started): kept so the console can warn of rule
    /// steps the bot cannot take.
    pub fn powers(&self, room: &str, state: &[Value]) -> Option<Event> {
        let raw = state.iter().rev().find(|raw| {
            text(raw, "type") == Some("m.room.power_levels") && text(raw, "state_key") == Some("")
        })?;
        let kind = self.powers_kind(raw)?;
        self.event(room, raw, kind)
    }

    /// What a power-levels state event lets the bot do, as `BotPowers`.
    fn powers_kind(&self, raw: &Value) -> Option<EventKind> {
        if text(raw, "state_key") != Some("") {
            return None;
        }
        let levels = raw.get("content")?;
        let lacking = crate::powers::lacking(levels, &self.bot);
        let can = |verb: &str| !lacking.iter().any(|lacking| lacking.verb == verb);
        Some(EventKind::BotPowers {
            level: crate::powers::bot_level(levels, &self.bot),
            can_redact: can("redact"),
            can_kick: can("kick"),
            can_ban: can("ban"),
            can_mute: can("mute"),
        })
    }

    fn event(&self, room: &str, raw: &Value, kind: EventKind) -> Option<Event> {
        let key = text(raw, "event_id")?.to_string();
        let millis = raw.get("origin_server_ts").and_then(Value::as_i64)?;
        Some(Event {
            workspace: self.workspace,
            platform: Platform::Matrix,
            key,
            chat: room.to_string(),
            at: DateTime::<Utc>::from_timestamp_millis(millis)?,
            kind,
        })
    }

    /// The room's members now, as `MemberPresent` (the bot just arrived, or qunzhu just started).
    pub fn present(&self, room: &str, state: &[Value]) -> Vec<Event> {
        let mut latest: std::collections::BTreeMap<String, &Value> =
            std::collections::BTreeMap::new();
        for raw in state
            .iter()
            .filter(|raw| text(raw, "type") == Some("m.room.member"))
        {
            if let Some(user) = text(raw, "state_key") {
                latest.insert(user.to_string(), raw);
            }
        }
        latest
            .into_iter()
            .filter(|(_, raw)| {
                raw.get("content")
                    .and_then(|content| text(content, "membership"))
                    == Some("join")
            })
            .filter_map(|(user, raw)| {
                let display_name = raw
                    .get("content")
                    .and_then(|content| text(content, "displayname"))
                    .map(str::to_string);
                self.event(
                    room,
                    raw,
                    EventKind::MemberPresent {
                        member: user.into(),
                        display_name,
                    },
                )
            })
            .collect()
    }

    /// One timeline event, if qunzhu cares about it.
    pub fn map(&mut self, room: &str, raw: &Value) -> Option<Event> {
        let kind = match text(raw, "type") {
            Some("m.room.member") => self.member(room, raw),
            Some("m.room.message") => self.message(raw),
            Some("m.reaction") => {
                let relation = raw.get("content")?.get("m.relates_to")?;
                Some(EventKind::Reaction {
                    member: text(raw, "sender")?.to_string().into(),
                    target: text(relation, "event_id")?.to_string(),
                    reaction: text(relation, "key").unwrap_or("").to_string(),
                })
            }
            Some("m.room.redaction") => {
                let target = text(raw, "redacts").or_else(|| {
                    raw.get("content")
                        .and_then(|content| text(content, "redacts"))
                })?;
                Some(EventKind::MessageRedacted {
                    target: target.to_string(),
                    by: text(raw, "sender")?.to_string(),
                })
            }
            Some("m.room.power_levels") => self.powers_kind(raw),
            Some("m.room.name") => Some(EventKind::GroupRenamed {
                name: raw
                    .get("content")
                    .and_then(|content| text(content, "name"))
                    .unwrap_or("")
                    .to_string(),
                by: text(raw, "sender").map(str::to_string),
            }),
            _ => None,
        }?;
        self.event(room, raw, kind)
    }

    fn message(&self, raw: &Value) -> Option<EventKind> {
        let content = raw.get("content")?;
        let body = text(content, "body")?.to_string();
        let sender = text(raw, "sender")?.to_string();
        let message_kind = match text(content, "msgtype") {
            Some("m.text") => MessageKind::Text,
            Some("m.notice") => MessageKind::Notice,
            Some("m.emote") => MessageKind::Emote,
            Some("m.image") => MessageKind::Image,
            Some("m.file") => MessageKind::File,
            _ => MessageKind::Other,
        };
        let mentions = content
            .get("m.mentions")
            .and_then(|mentions| mentions.get("user_ids"))
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let reply_to = content
            .get("m.relates_to")
            .and_then(|relation| relation.get("m.in_reply_to"))
            .and_then(|reply| text(reply, "event_id"))
            .map(str::to_string);
        Some(EventKind::MessagePosted {
            from_bot: sender == self.bot,
            member: sender.into(),
            message_id: text(raw, "event_id")?.to_string(),
            links: links(&body),
            text: body,
            mentions,
            reply_to,
            message_kind,
        })
    }

    fn member(&mut self, room: &str, raw: &Value) -> Option<EventKind> {
        let target = text(raw, "state_key")?.to_string();
        let sender = text(raw, "sender")?.to_string();
        let content = raw.get("content")?;
        let membership = text(content, "membership")?;
        let previous = raw
            .get("unsigned")
            .and_then(|unsigned| unsigned.get("prev_content"));
        let was = previous
            .and_then(|content| text(content, "membership"))
            .unwrap_or("leave");
        let name = text(content, "displayname").map(str::to_string);
        let knock_key = (room.to_string(), target.clone());
        Some(match (was, membership) {
            ("join", "join") => {
                let old = previous
                    .and_then(|content| text(content, "displayname"))
                    .map(str::to_string);
                let new = name?;
                if old.as_deref() == Some(new.as_str()) {
                    return None;
                }
                EventKind::DisplayNameChanged {
                    member: target.into(),
                    old,
                    new,
                }
            }
            (_, "join") => {
                let via = if self.knocked.remove(&knock_key) {
                    JoinVia::KnockApproved { by: None }
                } else if was == "invite" {
                    let inviter = raw
                        .get("unsigned")
                        .and_then(|unsigned| text(unsigned, "prev_sender"))
                        .unwrap_or("");
                    JoinVia::Invited {
                        by: inviter.to_string(),
                    }
                } else {
                    JoinVia::Direct
                };
                EventKind::MemberJoined {
                    member: target.into(),
                    display_name: name,
                    via,
                }
            }
            ("join", "leave") => {
                let how = if sender == target {
                    LeaveHow::Left
                } else {
                    LeaveHow::Kicked
                };
                let by = (sender != target).then_some(sender);
                EventKind::MemberLeft {
                    member: target.into(),
                    how,
                    by,
                }
            }
            (_, "ban") => EventKind::MemberLeft {
                member: target.into(),
                how: LeaveHow::Banned,
                by: Some(sender),
            },
            ("ban", "leave") => EventKind::MemberUnbanned {
                member: target.into(),
                by: sender,
            },
            ("knock", "leave") if sender != target => {
                self.knocked.remove(&knock_key);
                EventKind::JoinRequestDenied {
                    member: target.into(),
                    by: sender,
                }
            }
            // Approving a knock is an invitation: the request is decided, though the knocker
            // has not joined yet (the knock is remembered so the join reads as approved).
            ("knock", "invite") => EventKind::MemberInvited {
                member: target.into(),
                by: sender,
            },
            (_, "invite") => EventKind::MemberInvited {
                member: target.into(),
                by: sender,
            },
            (_, "knock") => {
                self.knocked.insert(knock_key);
                EventKind::JoinRequested {
                    member: target.into(),
                    display_name: name,
                    reason: text(content, "reason").map(str::to_string),
                }
            }
            _ => return None,
        })
    }
}

/// The timeline of a room the bot just joined: events up to and including its own join are
/// history, not news.
pub fn after_own_join<'a>(timeline: &'a [Value], bot: &str) -> Option<&'a [Value]> {
    let position = timeline.iter().position(|raw| {
        text(raw, "type") == Some("m.room.member")
            && text(raw, "state_key") == Some(bot)
            && raw
                .get("content")
                .and_then(|content| text(content, "membership"))
                == Some("join")
            && raw
                .get("unsigned")
                .and_then(|unsigned| unsigned.get("prev_content"))
                .and_then(|content| text(content, "membership"))
                != Some("join")
    })?;
    Some(&timeline[position + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(
        id: &str,
        sender: &str,
        target: &str,
        membership: &str,
        previous: Option<&str>,
    ) -> Value {
        let mut raw = json!({"type": "m.room.member", "event_id": id, "sender": sender, "state_key": target,
            "origin_server_ts": 1_790_000_000_000_i64, "content": {"membership": membership, "displayname": "上海-小王"}});
        if let Some(previous) = previous {
            raw["unsigned"] =
                json!({"prev_content": {"membership": previous, "displayname": "小王"}});
        }
        raw
    }

    #[test]
    fn power_levels_become_the_bots_powers_at_arrival_and_on_change() {
        let mut mapper = Mapper::new("@bot:x".into(), WorkspaceId(1));
        let levels = |id: &str, bot: i64, state_key: &str| {
            json!({"type": "m.room.power_levels", "event_id": id, "sender": "@admin:x",
                "state_key": state_key, "origin_server_ts": 1_790_000_000_000_i64,
                "content": {"users": {"@bot:x": bot, "@admin:x": 100}, "kick": 50, "ban": 50,
                    "redact": 50, "state_default": 50, "events": {"m.room.power_levels": 100}}})
        };
        let powers = |event: Option<Event>| {
            event.map(|event| match event.kind {
                EventKind::BotPowers {
                    level,
                    can_redact,
                    can_kick,
                    can_ban,
                    can_mute,
                } => (level, can_redact, can_kick, can_ban, can_mute),
                other => panic!("not powers: {other:?}"),
            })
        };
        // Synapse's private_chat preset with the bot a moderator: everything but the mute.
        let state = [levels("$old", 0, ""), levels("$now", 50, "")];
        assert_eq!(
            powers(mapper.powers("!r:x", &state)),
            Some((50, true, true, true, false))
        );
        assert_eq!(
            mapper.powers("!r:x", &state).map(|event| event.key),
            Some("$now".to_string())
        );
        assert_eq!(
            mapper.powers("!r:x", &[member("$m", "@a:x", "@a:x", "join", None)]),
            None
        );
        // A change in the timeline: raised to 100, then demoted to nothing.
        assert_eq!(
            powers(mapper.map("!r:x", &levels("$up", 100, ""))),
            Some((100, true, true, true, true))
        );
        assert_eq!(
            powers(mapper.map("!r:x", &levels("$down", 0, ""))),
            Some((0, false, false, false, false))
        );
        // Not the room's power levels (a state key that is not empty): nothing.
        assert_eq!(powers(mapper.map("!r:x", &levels("$odd", 100, "x"))), None);
    }

    #[test]
    fn membership_transitions_become_the_right_events() {
        let mut mapper = Mapper::new("@bot:x".into(), WorkspaceId(1));
        let cases: Vec<(Value, &str)> = vec![
            (member("$1", "@a:x", "@a:x", "join", None), "member_joined"),
            (
                member("$2", "@a:x", "@a:x", "join", Some("join")),
                "display_name_changed",
            ),
            (
                member("$3", "@a:x", "@a:x", "leave", Some("join")),
                "member_left",
            ),
            (
                member("$4", "@admin:x", "@a:x", "leave", Some("join")),
                "member_left",
            ),
            (
                member("$5", "@admin:x", "@a:x", "ban", Some("join")),
                "member_left",
            ),
            (
                member("$6", "@admin:x", "@a:x", "leave", Some("ban")),
                "member_unbanned",
            ),
            (
                member("$7", "@admin:x", "@b:x", "invite", None),
                "member_invited",
            ),
            (
                member("$8", "@c:x", "@c:x", "knock", None),
                "join_requested",
            ),
            (
                member("$9", "@bot:x", "@c:x", "invite", Some("knock")),
                "member_invited",
            ),
            (
                member("$10", "@c:x", "@c:x", "join", Some("invite")),
                "member_joined",
            ),
        ];
        for (raw, expected) in cases {
            let kind = mapper
                .map("!r:x", &raw)
                .map(|event| event.kind.name())
                .unwrap_or("-");
            assert_eq!(kind, expected, "{raw}");
        }
        let kicked = mapper
            .map(
                "!r:x",
                &member("$11", "@admin:x", "@a:x", "leave", Some("join")),
            )
            .unwrap();
        assert!(matches!(
            kicked.kind,
            EventKind::MemberLeft {
                how: LeaveHow::Kicked,
                ..
            }
        ));
        mapper.map("!r:x", &member("$12", "@d:x", "@d:x", "knock", None));
        mapper.map(
            "!r:x",
            &member("$13", "@bot:x", "@d:x", "invite", Some("knock")),
        );
        let approved = mapper
            .map(
                "!r:x",
                &member("$14", "@d:x", "@d:x", "join", Some("invite")),
            )
            .unwrap();
        assert!(matches!(
            approved.kind,
            EventKind::MemberJoined {
                via: JoinVia::KnockApproved { .. },
                ..
            }
        ));
    }

    #[test]
    fn messages_carry_links_mentions_and_replies_and_malformed_ones_are_skipped() {
        let mut mapper = Mapper::new("@bot:x".into(), WorkspaceId(1));
        let raw = json!({"type": "m.room.message", "event_id": "$m", "sender": "@a:x", "origin_server_ts": 1_790_000_000_000_i64,
            "content": {"msgtype": "m.text", "body": "看这里 https://shop.example/a, 谢谢", "m.mentions": {"user_ids": ["@b:x"]},
                "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}}});
        let EventKind::MessagePosted {
            links,
            mentions,
            reply_to,
            from_bot,
            ..
        } = mapper.map("!r:x", &raw).unwrap().kind
        else {
            panic!()
        };
        assert_eq!(
            (links, mentions, reply_to, from_bot),
            (
                vec!["https://shop.example/a".to_string()],
                vec!["@b:x".to_string()],
                Some("$q".to_string()),
                false
            )
        );
        assert!(mapper
            .map(
                "!r:x",
                &json!({"type": "m.room.message", "event_id": "$bad"})
            )
            .is_none());
        assert!(mapper.map("!r:x", &json!("not an object")).is_none());
    }
}

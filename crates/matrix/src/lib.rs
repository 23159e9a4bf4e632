//! The Matrix connector: hears rooms through `/sync` and acts through the client-server API.
//!
//! Matrix can kick, ban, redact and review knocks, and deduplicates retried sends by
//! transaction id; it has no invite links (attribution comes from qunzhu itself).

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod actions;
mod client;
mod config;
pub mod powers;
mod sync;

use std::time::Duration;

use async_trait::async_trait;
use qunzhu_connector::{Batch, Capabilities, Connector, ConnectorError, Result};
use qunzhu_domain::{ActionRecord, Event, Platform, WorkspaceId};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Mutex;

pub use actions::txn_id;
pub use client::{encode, Client, MAX_BODY, MAX_RETRY_AFTER, MAX_SYNC_BODY};
pub use config::{inviter_allowed, MatrixConfig, Secret};
pub use sync::links;

use sync::{after_own_join, Mapper};

/// One bot account on one homeserver.
pub struct MatrixConnector {
    client: Client,
    bot: String,
    id: String,
    config: MatrixConfig,
    /// `allowed_inviters`, replaceable while running (the operator edited the config file).
    inviters: std::sync::RwLock<Vec<String>>,
    capabilities: Capabilities,
    mapper: Mutex<Mapper>,
    /// The policy lists the workspace follows (ids or aliases), which the bot joins and reads.
    lists: std::sync::RwLock<Vec<String>>,
}

impl std::fmt::Debug for MatrixConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixConnector")
            .field("bot", &self.bot)
            .field("homeserver", &self.config.homeserver)
            .finish_non_exhaustive()
    }
}

impl MatrixConnector {
    /// Logs in (password) or checks the token, and learns who the bot is.
    pub async fn connect(config: MatrixConfig, workspace: WorkspaceId) -> Result<MatrixConnector> {
        if config.homeserver.is_empty() {
            return Err(ConnectorError::Permanent(
                "matrix.homeserver is not set".into(),
            ));
        }
        let token = if !config.access_token.is_empty() {
            config.access_token.expose().to_string()
        } else if !config.password.is_empty() {
            Client::login(
                &config.homeserver,
                &config.user_id,
                config.password.expose(),
                &config.device_id,
            )
            .await?
        } else {
            return Err(ConnectorError::Auth(
                "set matrix.password or matrix.access_token".into(),
            ));
        };
        let client = Client::new(&config.homeserver, token)?;
        let whoami = client
            .call(Method::GET, "/_matrix/client/v3/account/whoami", None, None)
            .await?;
        let bot = whoami
            .get("user_id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ConnectorError::Auth(format!(
                    "{} did not say who the token belongs to",
                    config.homeserver
                ))
            })?
            .to_string();
        let capabilities = Capabilities {
            kick: true,
            ban: true,
            mute: true,
            redact: true,
            invite: true,
            send_autonomously: true,
            formatted_messages: true,
            per_member_invite_links: false,
            review_join_requests: true,
            list_members: true,
            set_power_level: true,
            lock_posting: true,
            edit_group: true,
            pin: true,
            idempotent_actions: true,
            per_group_rate: config.room_rate(),
            global_rate: config.account_rate(),
            delete_window_secs: None,
            delete_batch: 0,
            timed_mute: false,
            ban_revokes_messages: false,
            buttons: false,
            games: false,
            policy_lists: true,
            create_groups: true,
            send_images: true,
        };
        tracing::info!(bot = %bot, homeserver = %config.homeserver, "connected to Matrix");
        Ok(MatrixConnector {
            id: format!("matrix:{bot}"),
            mapper: Mutex::new(Mapper::new(bot.clone(), workspace)),
            client,
            bot,
            inviters: std::sync::RwLock::new(config.allowed_inviters.clone()),
            lists: std::sync::RwLock::new(Vec::new()),
            config,
            capabilities,
        })
    }

    pub fn bot(&self) -> &str {
        &self.bot
    }

    /// The moderation steps the bot's power level does not allow in `room`.
    pub async fn lacking_powers(&self, room: &str) -> Result<Vec<powers::Lacking>> {
        let path = format!(
            "/_matrix/client/v3/rooms/{}/state/m.room.power_levels/",
            encode(room)
        );
        let levels = self.client.call(Method::GET, &path, None, None).await?;
        Ok(powers::lacking(&levels, &self.bot))
    }

    /// Whose invitations are accepted now (ids or `*` patterns).
    pub fn allowed_inviters(&self) -> Vec<String> {
        match self.inviters.read() {
            Ok(inviters) => inviters.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces `allowed_inviters` without a restart; the next invitation is judged by them.
    pub fn set_allowed_inviters(&self, inviters: Vec<String>) {
        let mut current = match self.inviters.write() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *current != inviters {
            tracing::info!(?inviters, "matrix.allowed_inviters changed");
            *current = inviters;
        }
    }

    /// Replaces the followed policy lists (the engine reads them from the store): the next poll
    /// joins the new ones and reads their rules, and leaves the ones no longer followed.
    pub fn set_policy_lists(&self, mut lists: Vec<String>) {
        lists.sort();
        let mut current = match self.lists.write() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *current != lists {
            tracing::info!(?lists, "followed policy lists changed");
            *current = lists;
        }
    }

    fn policy_lists(&self) -> Vec<String> {
        match self.lists.read() {
            Ok(lists) => lists.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Joins followed lists the bot is not in yet (a list is a public room, joined by id or
    /// alias like any member would) and leaves unfollowed ones, so their rules stop arriving.
    /// A list that cannot be joined is retried at the next poll.
    async fn follow_lists(&self) {
        let wanted = self.policy_lists();
        let (joined, gone): (Vec<String>, Vec<String>) = {
            let mapper = self.mapper.lock().await;
            let joined = mapper.policy.values().cloned().collect();
            let gone = mapper
                .policy
                .iter()
                .filter(|(_, list)| !wanted.contains(list))
                .map(|(room, _)| room.clone())
                .collect();
            (joined, gone)
        };
        for list in wanted.iter().filter(|list| !joined.contains(list)) {
            let path = format!("/_matrix/client/v3/join/{}", encode(list));
            match self
                .client
                .call(Method::POST, &path, Some(&serde_json::json!({})), None)
                .await
            {
                Ok(answer) => {
                    let room = answer
                        .get("room_id")
                        .and_then(Value::as_str)
                        .unwrap_or(list)
                        .to_string();
                    tracing::info!(%list, %room, "joined a followed policy list");
                    self.mapper.lock().await.policy.insert(room, list.clone());
                }
                Err(error) => tracing::warn!(%list, %error, "cannot join a followed policy list"),
            }
        }
        for room in gone {
            let path = format!("/_matrix/client/v3/rooms/{}/leave", encode(&room));
            match self
                .client
                .call(Method::POST, &path, Some(&serde_json::json!({})), None)
                .await
            {
                Ok(_) => {
                    tracing::info!(%room, "left a policy list no longer followed");
                    self.mapper.lock().await.policy.remove(&room);
                }
                Err(error) => {
                    tracing::warn!(%room, %error, "cannot leave an unfollowed policy list")
                }
            }
        }
    }

    async fn accept_invites(&self, invites: &serde_json::Map<String, Value>) {
        for (room, data) in invites {
            let inviter = data
                .get("invite_state")
                .and_then(|state| state.get("events"))
                .and_then(Value::as_array)
                .and_then(|events| {
                    events.iter().find(|event| {
                        event.get("type").and_then(Value::as_str) == Some("m.room.member")
                            && event.get("state_key").and_then(Value::as_str)
                                == Some(self.bot.as_str())
                    })
                })
                .and_then(|event| event.get("sender"))
                .and_then(Value::as_str);
            let Some(inviter) = inviter else { continue };
            let is_space = data
                .get("invite_state")
                .and_then(|state| state.get("events"))
                .and_then(Value::as_array)
                .is_some_and(|events| {
                    events.iter().any(|event| {
                        event.get("type").and_then(Value::as_str) == Some("m.room.create")
                            && event
                                .get("content")
                                .and_then(|content| content.get("type"))
                                .and_then(Value::as_str)
                                == Some("m.space")
                    })
                });
            if is_space {
                tracing::info!(%room, %inviter, "ignoring an invitation to a space: spaces are not groups");
                continue;
            }
            let allowed = self.allowed_inviters();
            if !config::inviter_allowed(&allowed, inviter) {
                tracing::info!(%room, %inviter, "ignoring an invitation from someone not in matrix.allowed_inviters");
                continue;
            }
            let path = format!("/_matrix/client/v3/join/{}", encode(room));
            match self
                .client
                .call(Method::POST, &path, Some(&serde_json::json!({})), None)
                .await
            {
                Ok(_) => tracing::info!(%room, %inviter, "joined a room on invitation"),
                Err(error) => {
                    tracing::warn!(%room, %error, "could not join a room it was invited to")
                }
            }
        }
    }
}

fn events_of<'a>(section: &'a Value, part: &str) -> &'a [Value] {
    section
        .get(part)
        .and_then(|part| part.get("events"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The events of one `/sync` answer's joined rooms: on the first sync (`initial`) only who is
/// present; afterwards what happened, and who was there when the bot itself arrived in a room.
fn sync_events(mapper: &mut Mapper, bot: &str, rooms: Option<&Value>, initial: bool) -> Vec<Event> {
    let mut events = Vec::new();
    let Some(joined) = rooms
        .and_then(|rooms| rooms.get("join"))
        .and_then(Value::as_object)
    else {
        return events;
    };
    for (room, data) in joined {
        let state = events_of(data, "state");
        let timeline = events_of(data, "timeline");
        if let Some(list) = mapper.policy.get(room).cloned() {
            // A followed list: its rules, never its members or messages.
            events.extend(mapper.policy_events(&list, state));
            events.extend(mapper.policy_events(&list, timeline));
            continue;
        }
        if mapper.learn_kind(room, state) || mapper.learn_kind(room, timeline) {
            // A space holds rooms; it is not a group.
            continue;
        }
        let news: &[Value] = if initial {
            &[]
        } else if let Some(after) = after_own_join(timeline, bot) {
            after
        } else {
            timeline
        };
        if initial || news.len() != timeline.len() {
            // Who was there when the bot arrived (or when qunzhu first started).
            let before = &timeline[..timeline.len() - news.len()];
            let known: Vec<Value> = state.iter().chain(before).cloned().collect();
            warn_lacking(room, bot, &known);
            events.extend(mapper.powers(room, &known));
            events.extend(mapper.named(room, &known));
            events.extend(mapper.present(room, &known));
        }
        for raw in news {
            match mapper.map(room, raw) {
                Some(event) => events.push(event),
                None if raw.get("event_id").is_none() => {
                    tracing::warn!(%room, "skipping a malformed event")
                }
                None => {}
            }
        }
    }
    events
}

/// Says, when the bot arrives in a room, which moderation steps its power level does not allow
/// (`qunzhu rules check --room` says the same against the rules).
fn warn_lacking(room: &str, bot: &str, state: &[Value]) {
    let levels = state.iter().rev().find(|raw| {
        raw.get("type").and_then(Value::as_str) == Some("m.room.power_levels")
            && raw.get("state_key").and_then(Value::as_str) == Some("")
    });
    let Some(content) = levels.and_then(|raw| raw.get("content")) else {
        return;
    };
    for lacking in powers::lacking(content, bot) {
        let fallback = if lacking.verb == "mute" {
            "mutes fall back to a kick"
        } else {
            "such steps fail"
        };
        tracing::warn!(%room, "{lacking}: {fallback}");
    }
}

/// Maps arbitrary bytes as a `/sync` answer, first and incremental, for the no-panic property
/// tests (`qunzhu bench fuzz --target matrix-sync`); returns how many events came out.
pub fn fuzz_sync(bytes: &[u8]) -> usize {
    let Ok(answer) = serde_json::from_slice::<Value>(bytes) else {
        return 0;
    };
    let bot = "@bot:example.org";
    let mut mapper = Mapper::new(bot.to_string(), WorkspaceId(1));
    let rooms = answer.get("rooms");
    let first = sync_events(&mut mapper, bot, rooms, true).len();
    first + sync_events(&mut mapper, bot, rooms, false).len()
}

#[async_trait]
impl Connector for MatrixConnector {
    fn platform(&self) -> Platform {
        Platform::Matrix
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn bot_user(&self) -> Option<String> {
        Some(self.bot.clone())
    }

    async fn poll(&self, cursor: Option<&str>) -> Result<Batch> {
        self.follow_lists().await;
        let filter = encode(r#"{"room":{"timeline":{"limit":100}}}"#);
        let timeout = if cursor.is_some() {
            self.config.sync_timeout_ms
        } else {
            0
        };
        let since = cursor
            .map(|cursor| format!("&since={}", encode(cursor)))
            .unwrap_or_default();
        let path = format!("/_matrix/client/v3/sync?timeout={timeout}&filter={filter}{since}");
        let wait = Duration::from_millis(self.config.sync_timeout_ms) + Duration::from_secs(30);
        let answer = self
            .client
            .call(Method::GET, &path, None, Some(wait))
            .await?;
        let next = answer
            .get("next_batch")
            .and_then(Value::as_str)
            .ok_or_else(|| ConnectorError::Transient("sync answered without next_batch".into()))?;
        let rooms = answer.get("rooms");
        if let Some(invites) = rooms
            .and_then(|rooms| rooms.get("invite"))
            .and_then(Value::as_object)
        {
            self.accept_invites(invites).await;
        }
        let events = {
            let mut mapper = self.mapper.lock().await;
            sync_events(&mut mapper, &self.bot, rooms, cursor.is_none())
        };
        Ok(Batch {
            events,
            cursor: Some(next.to_string()),
        })
    }

    async fn execute(&self, action: &ActionRecord) -> Result<Option<String>> {
        if let qunzhu_domain::ActionKind::PolicyRule {
            target,
            entity,
            reason,
        } = &action.kind
        {
            let room = self.config.policy_room.as_deref();
            return actions::policy_rule(&self.client, room, *target, entity, reason.as_deref())
                .await;
        }
        if let qunzhu_domain::ActionKind::CreateGroup { .. } = &action.kind {
            return actions::create_group(&self.client, &self.bot, &action.kind).await;
        }
        actions::execute(&self.client, &self.bot, action).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(kind: &str, key: &str, content: Value) -> Value {
        json!({"type": kind, "state_key": key, "event_id": format!("${kind}{key}"), "sender": "@admin:x",
            "origin_server_ts": 1_790_000_000_000_i64, "content": content})
    }

    #[test]
    fn a_joined_space_yields_nothing_and_a_room_its_name_and_members() {
        let bot = "@bot:x";
        let member = |user: &str| state("m.room.member", user, json!({"membership": "join"}));
        let space_create = state("m.room.create", "", json!({"type": "m.space"}));
        let room_create = state("m.room.create", "", json!({}));
        let name = |name: &str| state("m.room.name", "", json!({"name": name}));
        let levels = state(
            "m.room.power_levels",
            "",
            json!({"users": {bot: 50}, "events": {"m.room.power_levels": 100}}),
        );
        let rooms = json!({"join": {
            "!space:x": {"state": {"events": [space_create, name("空间"), member("@a:x")]},
                         "timeline": {"events": [member(bot)]}},
            "!room:x": {"state": {"events": [room_create, name("品牌一群"), member("@a:x"), levels]},
                        "timeline": {"events": [member(bot)]}},
        }});
        let mut mapper = Mapper::new(bot.into(), WorkspaceId(1));
        for initial in [true, false] {
            let events = sync_events(&mut mapper, bot, Some(&rooms), initial);
            assert!(
                events.iter().all(|event| event.chat == "!room:x"),
                "nothing from the space: {events:?}"
            );
            assert!(events.iter().any(|event| matches!(
                &event.kind,
                qunzhu_domain::EventKind::GroupRenamed { name, .. } if name == "品牌一群"
            )));
            // What the bot may do there, as it arrives: all but the mute.
            assert!(events.iter().any(|event| matches!(
                &event.kind,
                qunzhu_domain::EventKind::BotPowers {
                    level: 50,
                    can_kick: true,
                    can_mute: false,
                    ..
                }
            )));
        }
        // Later syncs no longer carry the space's create event: it is remembered.
        let later = json!({"join": {"!space:x": {"timeline": {"events": [
            json!({"type": "m.room.message", "event_id": "$m", "sender": "@a:x",
                   "origin_server_ts": 1_790_000_000_000_i64, "content": {"msgtype": "m.text", "body": "hi"}})
        ]}}}});
        assert!(sync_events(&mut mapper, bot, Some(&later), false).is_empty());
    }

    #[test]
    fn a_followed_list_yields_its_rules_and_nothing_else() {
        let bot = "@bot:x";
        let rule = state(
            "m.policy.rule.user",
            "rule:@spam:y",
            json!({"entity": "@spam:y", "recommendation": "m.ban", "reason": "ads"}),
        );
        let legacy = state(
            "m.room.rule.server",
            "rule:evil.example",
            json!({"entity": "evil.example", "recommendation": "m.ban"}),
        );
        let emptied = state("m.policy.rule.user", "rule:@old:y", json!({}));
        let room_rule = state("m.policy.rule.room", "rule:!r:y", json!({"entity": "!r:y"}));
        let member = state("m.room.member", "@a:x", json!({"membership": "join"}));
        let redaction = json!({"type": "m.room.redaction", "event_id": "$red", "sender": "@mod:y",
            "redacts": "$m.policy.rule.userrule:@spam:y", "origin_server_ts": 1_790_000_000_000_i64, "content": {}});
        let rooms = json!({"join": {"!list:y": {
            "state": {"events": [rule, legacy, room_rule, member.clone()]},
            "timeline": {"events": [member, emptied, redaction]},
        }}});
        let mut mapper = Mapper::new(bot.into(), WorkspaceId(1));
        mapper.policy.insert("!list:y".into(), "#list:y".into());
        for initial in [true, false] {
            let events = sync_events(&mut mapper, bot, Some(&rooms), initial);
            let seen: Vec<(&str, Option<&str>, Option<&str>)> = events
                .iter()
                .map(|event| {
                    assert_eq!(event.chat, "#list:y", "the list as followed");
                    match &event.kind {
                        qunzhu_domain::EventKind::PolicyRuleChanged {
                            rule_type,
                            entity,
                            redacts,
                            ..
                        } => (
                            rule_type.as_deref().unwrap_or("redaction"),
                            entity.as_deref(),
                            redacts.as_deref(),
                        ),
                        other => panic!("not a rule: {other:?}"),
                    }
                })
                .collect();
            assert_eq!(
                seen,
                [
                    ("m.policy.rule.user", Some("@spam:y"), None),
                    ("m.room.rule.server", Some("evil.example"), None),
                    ("m.policy.rule.user", None, None),
                    ("redaction", None, Some("$m.policy.rule.userrule:@spam:y")),
                ]
            );
        }
    }
}

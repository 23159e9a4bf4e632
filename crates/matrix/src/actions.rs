//! Carrying out actions on a homeserver. Sends and redactions use a transaction id derived from
//! the action's idempotency key, so a retry after a crash returns the first event, not a second.

use qunzhu_connector::ConnectorError;
use qunzhu_domain::{ActionKind, ActionRecord};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::client::{encode, Client};

/// A transaction id from an idempotency key: stable, and safe in a path.
pub fn txn_id(key: &str) -> String {
    format!("qz{}", &hex::encode(Sha256::digest(key.as_bytes()))[..32])
}

/// HTML-escapes text for the body and for attribute values alike: quotes too, so a user id
/// with a `"` cannot leave the `href` it is written into.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace('\n', "<br>")
}

/// A PNG's width and height from its header (`IHDR` comes first), for `m.image`'s `info`.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.get(12..16) != Some(b"IHDR") {
        return None;
    }
    let word = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    Some((word(16)?, word(20)?))
}

/// The mention pills appended to a message's HTML, one link per mentioned user.
fn mention_pills(mentions: &[String]) -> String {
    mentions
        .iter()
        .map(|user| {
            format!(
                " <a href=\"https://matrix.to/#/{}\">{}</a>",
                escape(user),
                escape(user)
            )
        })
        .collect()
}

/// What the bot needs to know about power in a room to explain a refusal.
async fn power_levels(client: &Client, room: &str) -> Result<Value, ConnectorError> {
    client
        .call(
            Method::GET,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.power_levels/",
                encode(room)
            ),
            None,
            None,
        )
        .await
}

/// Turns a 403 into "cannot kick in !room: bot power 0 < kick 50".
async fn explain(
    client: &Client,
    bot: &str,
    room: &str,
    verb: &str,
    needed_key: &str,
    error: ConnectorError,
) -> ConnectorError {
    let ConnectorError::Permanent(message) = &error else {
        return error;
    };
    if !message.starts_with("M_FORBIDDEN") {
        return error;
    }
    let Ok(levels) = power_levels(client, room).await else {
        return ConnectorError::Permanent(format!("cannot {verb} in {room}: {message}"));
    };
    let mine = levels
        .get("users")
        .and_then(|users| users.get(bot))
        .and_then(Value::as_i64)
        .or_else(|| levels.get("users_default").and_then(Value::as_i64))
        .unwrap_or(0);
    let needed = levels.get(needed_key).and_then(Value::as_i64).unwrap_or(50);
    ConnectorError::Permanent(format!(
        "cannot {verb} in {room}: bot power {mine} < {needed_key} {needed}"
    ))
}

/// A refused verb, explained in terms of power levels.
async fn guarded(
    client: &Client,
    bot: &str,
    room: &str,
    verb: &str,
    key: &str,
    result: Result<Value, ConnectorError>,
) -> Result<Value, ConnectorError> {
    match result {
        Ok(answer) => Ok(answer),
        Err(error) => Err(explain(client, bot, room, verb, key, error).await),
    }
}

pub async fn execute(
    client: &Client,
    bot: &str,
    action: &ActionRecord,
) -> Result<Option<String>, ConnectorError> {
    let room = encode(&action.chat);
    let chat = action.chat.as_str();
    let membership = |verb: &'static str, member: &str, reason: &str| {
        let body = json!({"user_id": member, "reason": reason});
        let path = format!("/_matrix/client/v3/rooms/{room}/{verb}");
        async move { client.call(Method::POST, &path, Some(&body), None).await }
    };
    let answer = match &action.kind {
        ActionKind::SendMessage {
            text,
            html,
            mentions,
            reply_to,
        } => {
            let mut content =
                json!({"msgtype": "m.text", "body": text, "m.mentions": {"user_ids": mentions}});
            let pills = mention_pills(mentions);
            if html.is_some() || !mentions.is_empty() {
                content["format"] = json!("org.matrix.custom.html");
                content["formatted_body"] = json!(format!(
                    "{}{pills}",
                    html.clone().unwrap_or_else(|| escape(text))
                ));
            }
            if let Some(event) = reply_to {
                content["m.relates_to"] = json!({"m.in_reply_to": {"event_id": event}});
            }
            let path = format!(
                "/_matrix/client/v3/rooms/{room}/send/m.room.message/{}",
                txn_id(&action.key)
            );
            guarded(
                client,
                bot,
                chat,
                "send",
                "events_default",
                client.call(Method::PUT, &path, Some(&content), None).await,
            )
            .await?
        }
        ActionKind::SendImage {
            url,
            caption,
            mentions,
        } => {
            // A retry fetches and uploads again (a second copy in the media repository at
            // worst), but the message keeps its transaction id, so the room sees one image.
            let (bytes, mimetype) = client.fetch_image(url).await?;
            let (width, height) = png_size(&bytes).unzip();
            let size = bytes.len();
            let filename = url
                .rsplit('/')
                .next()
                .filter(|name| !name.is_empty())
                .unwrap_or("image.png")
                .to_string();
            let uri = client.upload(bytes, &mimetype, &filename).await?;
            let mut info = json!({"mimetype": mimetype, "size": size});
            if let (Some(width), Some(height)) = (width, height) {
                info["w"] = json!(width);
                info["h"] = json!(height);
            }
            let content = json!({
                "msgtype": "m.image",
                "body": filename,
                "filename": filename,
                "url": uri,
                "info": info,
                "m.mentions": {"user_ids": mentions},
            });
            let path = format!(
                "/_matrix/client/v3/rooms/{room}/send/m.room.message/{}",
                txn_id(&action.key)
            );
            let answer = guarded(
                client,
                bot,
                chat,
                "send",
                "events_default",
                client.call(Method::PUT, &path, Some(&content), None).await,
            )
            .await?;
            if !caption.trim().is_empty() {
                // The caption follows as its own text (mentioning the member), keyed apart.
                let text = json!({"msgtype": "m.text", "body": caption, "m.mentions": {"user_ids": mentions}});
                let path = format!(
                    "/_matrix/client/v3/rooms/{room}/send/m.room.message/{}",
                    txn_id(&format!("{}:caption", action.key))
                );
                client.call(Method::PUT, &path, Some(&text), None).await?;
            }
            answer
        }
        ActionKind::Kick { member, reason } => {
            guarded(
                client,
                bot,
                chat,
                "kick",
                "kick",
                membership("kick", member, reason).await,
            )
            .await?
        }
        ActionKind::Ban { member, reason } => {
            guarded(
                client,
                bot,
                chat,
                "ban",
                "ban",
                membership("ban", member, reason).await,
            )
            .await?
        }
        ActionKind::Unban { member, reason } => {
            guarded(
                client,
                bot,
                chat,
                "unban",
                "ban",
                membership("unban", member, reason).await,
            )
            .await?
        }
        ActionKind::Invite { member } => {
            guarded(
                client,
                bot,
                chat,
                "invite",
                "invite",
                membership("invite", member, "").await,
            )
            .await?
        }
        ActionKind::DecideJoinRequest {
            member,
            approve: true,
            ..
        } => {
            guarded(
                client,
                bot,
                chat,
                "approve a join request",
                "invite",
                membership("invite", member, "").await,
            )
            .await?
        }
        ActionKind::DecideJoinRequest {
            member,
            approve: false,
            reason,
        } => {
            guarded(
                client,
                bot,
                chat,
                "deny a join request",
                "kick",
                membership("kick", member, reason).await,
            )
            .await?
        }
        ActionKind::Redact { message_id, reason } => {
            let path = format!(
                "/_matrix/client/v3/rooms/{room}/redact/{}/{}",
                encode(message_id),
                txn_id(&action.key)
            );
            guarded(
                client,
                bot,
                chat,
                "redact",
                "redact",
                client
                    .call(Method::PUT, &path, Some(&json!({"reason": reason})), None)
                    .await,
            )
            .await?
        }
        ActionKind::SetPowerLevel { member, level } => {
            set_power(client, chat, member, Some(*level)).await?
        }
        ActionKind::Mute { member, reason, .. } => {
            let levels = power_levels(client, chat).await?;
            let lacking = crate::powers::lacking(&levels, bot);
            if let Some(mute) = lacking.iter().find(|lacking| lacking.verb == "mute") {
                // A mute needs power-level changes; without them the next rung is the kick
                // (the redaction of the rung is its own action), never a refused call.
                if lacking.iter().any(|lacking| lacking.verb == "kick") {
                    return Err(ConnectorError::Permanent(format!(
                        "{mute} in {chat}, and cannot kick either"
                    )));
                }
                tracing::warn!(room = %chat, %member, "{mute}; kicking instead");
                let reason = format!("{reason} ({mute}; kicked instead)");
                let answer = guarded(
                    client,
                    bot,
                    chat,
                    "kick",
                    "kick",
                    membership("kick", member, &reason).await,
                )
                .await?;
                return Ok(Some(
                    answer.get("event_id").and_then(Value::as_str).map_or_else(
                        || "kicked instead of muted".to_string(),
                        |id| format!("kicked instead of muted: {id}"),
                    ),
                ));
            }
            let needed = levels
                .get("events_default")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            set_power(client, chat, member, Some(needed - 1)).await?
        }
        ActionKind::Unmute { member } => {
            let levels = power_levels(client, chat).await?;
            let listed = levels
                .get("users")
                .and_then(|users| users.get(member.as_str()))
                .is_some();
            if !listed {
                // Nothing to lift (the mute fell back to a kick, or a person lifted it already).
                return Ok(None);
            }
            set_power(client, chat, member, None).await?
        }
        ActionKind::SetGroupName { name } => {
            state(client, chat, "m.room.name", json!({"name": name})).await?
        }
        ActionKind::SetPostingLevel { level } => {
            // Read, change one field, write back: the rest of the room's levels stay as they are.
            let mut levels = power_levels(client, chat).await?;
            let Some(object) = levels.as_object_mut() else {
                return Err(ConnectorError::Permanent(format!(
                    "malformed power levels in {chat}"
                )));
            };
            object.insert("events_default".into(), json!(level));
            guarded(
                client,
                bot,
                chat,
                "change the posting level",
                "state_default",
                state(client, chat, "m.room.power_levels", levels).await,
            )
            .await?
        }
        ActionKind::SetTopic { topic } => {
            state(client, chat, "m.room.topic", json!({"topic": topic})).await?
        }
        ActionKind::Pin { message_id } => {
            let path = format!("/_matrix/client/v3/rooms/{room}/state/m.room.pinned_events/");
            let mut pinned: Vec<Value> = match client.call(Method::GET, &path, None, None).await {
                Ok(current) => current
                    .get("pinned")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                Err(ConnectorError::Permanent(message)) if message.starts_with("M_NOT_FOUND") => {
                    Vec::new()
                }
                Err(error) => return Err(error),
            };
            if !pinned
                .iter()
                .any(|pin| pin.as_str() == Some(message_id.as_str()))
            {
                pinned.push(json!(message_id));
            }
            client
                .call(Method::PUT, &path, Some(&json!({"pinned": pinned})), None)
                .await?
        }
        ActionKind::GrantReward { .. }
        | ActionKind::ReportBalance { .. }
        | ActionKind::IssueCoupon { .. }
        | ActionKind::PersonTask { .. }
        | ActionKind::MomentTask { .. }
        | ActionKind::StartGame { .. }
        | ActionKind::StartDrop { .. }
        | ActionKind::CreateGroup { .. }
        | ActionKind::PolicyRule { .. } => {
            return Err(ConnectorError::Permanent(format!(
                "{} is not carried out on Matrix",
                action.kind.name()
            )))
        }
        ActionKind::SendWithButtons { .. }
        | ActionKind::DeleteMessages { .. }
        | ActionKind::CreateInviteLink { .. }
        | ActionKind::EditInviteLink { .. }
        | ActionKind::RevokeInviteLink { .. }
        | ActionKind::SendDice { .. }
        | ActionKind::SendPoll { .. } => {
            return Err(ConnectorError::Permanent(format!(
                "{} is not supported on Matrix",
                action.kind.name()
            )))
        }
    };
    Ok(answer
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// Creates a room from a group template, named by its alias so a retry after a crash (the room
/// was made but the answer lost) finds the alias taken and answers with that same room instead
/// of making a second one. The receipt is the room id. Named members' power levels are set after
/// creation: overriding `users` in `createRoom` would replace the creator's own entry.
pub async fn create_group(
    client: &Client,
    bot: &str,
    kind: &ActionKind,
) -> Result<Option<String>, ConnectorError> {
    let ActionKind::CreateGroup {
        name,
        topic,
        alias,
        join_rule,
        power_users,
        events_default,
    } = kind
    else {
        return Err(ConnectorError::Permanent(format!(
            "{} is not a group to create",
            kind.name()
        )));
    };
    let preset = match join_rule {
        qunzhu_domain::JoinRule::Public => "public_chat",
        _ => "private_chat",
    };
    let mut body = json!({
        "name": name,
        "topic": topic,
        "room_alias_name": alias,
        "preset": preset,
        "initial_state": [{
            "type": "m.room.join_rules",
            "state_key": "",
            "content": {"join_rule": join_rule.as_str()},
        }],
    });
    if let Some(level) = events_default {
        body["power_level_content_override"] = json!({"events_default": level});
    }
    let created = client
        .call(
            Method::POST,
            "/_matrix/client/v3/createRoom",
            Some(&body),
            None,
        )
        .await;
    let room = match created {
        Ok(answer) => answer
            .get("room_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ConnectorError::Transient("createRoom answered without room_id".into())
            })?,
        Err(ConnectorError::Permanent(message)) if message.starts_with("M_ROOM_IN_USE") => {
            // Made by an earlier attempt: the alias is ours (it names this action's key).
            let server = bot.split_once(':').map(|(_, server)| server).unwrap_or("");
            let path = format!(
                "/_matrix/client/v3/directory/room/{}",
                encode(&format!("#{alias}:{server}"))
            );
            let found = client.call(Method::GET, &path, None, None).await?;
            found
                .get("room_id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    ConnectorError::Transient(format!("#{alias}:{server} resolved to no room"))
                })?
        }
        Err(error) => return Err(error),
    };
    for (member, level) in power_users {
        if member != bot {
            set_power(client, &room, member, Some(*level)).await?;
        }
    }
    Ok(Some(room))
}

/// The state key of a published rule: stable per entity, so a ban and its removal name the
/// same state (the convention Draupnir and Mjolnir use).
pub fn rule_state_key(entity: &str) -> String {
    format!("rule:{entity}")
}

/// Writes (or with `reason: None` removes, by empty content) one rule of the brand's policy
/// list in `room`.
pub async fn policy_rule(
    client: &Client,
    room: Option<&str>,
    target: qunzhu_domain::BanTarget,
    entity: &str,
    reason: Option<&str>,
) -> Result<Option<String>, ConnectorError> {
    let Some(room) = room else {
        return Err(ConnectorError::Permanent(
            "no policy room: set matrix.policy_room to publish the ban list".into(),
        ));
    };
    let event_type = match target {
        qunzhu_domain::BanTarget::User => "m.policy.rule.user",
        qunzhu_domain::BanTarget::Server => "m.policy.rule.server",
    };
    let content = match reason {
        Some(reason) => json!({"entity": entity, "recommendation": "m.ban", "reason": reason}),
        None => json!({}),
    };
    let answer = client
        .call(
            Method::PUT,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/{event_type}/{}",
                encode(room),
                encode(&rule_state_key(entity))
            ),
            Some(&content),
            None,
        )
        .await?;
    Ok(answer
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_string))
}

async fn state(
    client: &Client,
    room: &str,
    event_type: &str,
    content: Value,
) -> Result<Value, ConnectorError> {
    client
        .call(
            Method::PUT,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/{event_type}/",
                encode(room)
            ),
            Some(&content),
            None,
        )
        .await
}

/// Sets (or with `None` removes) a member's power level. Room v12 creators hold implicit power
/// and may not be listed in `users`, so they are refused with a clear reason.
async fn set_power(
    client: &Client,
    room: &str,
    member: &str,
    level: Option<i64>,
) -> Result<Value, ConnectorError> {
    let all_state = client
        .call(
            Method::GET,
            &format!("/_matrix/client/v3/rooms/{}/state", encode(room)),
            None,
            None,
        )
        .await?;
    let create = all_state.as_array().and_then(|events| {
        events
            .iter()
            .find(|event| event.get("type").and_then(Value::as_str) == Some("m.room.create"))
    });
    let content = create.and_then(|event| event.get("content"));
    let version = content
        .and_then(|content| content.get("room_version"))
        .and_then(Value::as_str)
        .unwrap_or("1");
    let mut creators: Vec<String> = content
        .and_then(|content| content.get("additional_creators"))
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    creators.extend(
        create
            .and_then(|event| event.get("sender"))
            .and_then(Value::as_str)
            .map(str::to_string),
    );
    let implicit = version.parse::<u32>().is_ok_and(|number| number >= 12);
    if implicit && creators.iter().any(|creator| creator == member) {
        return Err(ConnectorError::Permanent(format!("{member} created {room} (room v{version}): creators hold implicit power and cannot be given a level")));
    }
    let mut levels = power_levels(client, room).await?;
    let users = levels
        .as_object_mut()
        .map(|object| object.entry("users").or_insert_with(|| json!({})));
    let Some(users) = users.and_then(Value::as_object_mut) else {
        return Err(ConnectorError::Permanent(format!(
            "malformed power levels in {room}"
        )));
    };
    match level {
        Some(level) => users.insert(member.to_string(), json!(level)),
        None => users.remove(member),
    };
    state(client, room, "m.room.power_levels", levels).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_html_escapes_quotes_and_markup_in_user_ids() {
        let pills = mention_pills(&[
            "@alice:example.org".to_string(),
            "@x\"onmouseover=\"alert(1)':evil<b>".to_string(),
        ]);
        assert_eq!(
            pills,
            " <a href=\"https://matrix.to/#/@alice:example.org\">@alice:example.org</a> \
             <a href=\"https://matrix.to/#/@x&quot;onmouseover=&quot;alert(1)&#39;:evil&lt;b&gt;\">@x&quot;onmouseover=&quot;alert(1)&#39;:evil&lt;b&gt;</a>"
        );
        assert_eq!(escape("a & b\nc"), "a &amp; b<br>c");
    }
}

//! Carrying out actions through the Bot API, with receipts journaled around every call, refusals
//! explained in administrator rights, and Telegram's own limits (48 h delete window, 100 ids per
//! deleteMessages, 30 s minimum mute) respected.

use std::time::Duration;

use chrono::{DateTime, Utc};
use qunzhu_connector::ConnectorError;
use qunzhu_domain::{ActionKind, ActionRecord, Button};
use serde_json::{json, Value};

use crate::client::{CallError, Client};
use crate::journal::{Attempt, Journal};
use crate::types::ChatMember;

/// What one action needs from the connector.
pub struct Context<'a> {
    pub client: &'a Client,
    pub journal: &'a Journal,
    pub bot_id: i64,
    pub now: DateTime<Utc>,
    pub resend_uncertain: bool,
    pub timeout: Duration,
}

/// Kinds that act twice if sent twice: Telegram cannot deduplicate them.
fn repeats_if_resent(kind: &ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::SendMessage { .. }
            | ActionKind::SendWithButtons { .. }
            | ActionKind::SendDice { .. }
            | ActionKind::SendPoll { .. }
            | ActionKind::SendImage { .. }
            | ActionKind::CreateInviteLink { .. }
    )
}

/// The administrator right an action needs, and the verb that explains it.
fn needs(kind: &ActionKind) -> (&'static str, Option<&'static str>) {
    match kind {
        ActionKind::Kick { .. } => ("kick", Some("can_restrict_members")),
        ActionKind::Ban { .. } => ("ban", Some("can_restrict_members")),
        ActionKind::Unban { .. } => ("unban", Some("can_restrict_members")),
        ActionKind::Mute { .. } | ActionKind::Unmute { .. } => {
            ("restrict", Some("can_restrict_members"))
        }
        ActionKind::Redact { .. } | ActionKind::DeleteMessages { .. } => {
            ("delete messages", Some("can_delete_messages"))
        }
        ActionKind::DecideJoinRequest { .. } => ("decide join requests", Some("can_invite_users")),
        ActionKind::CreateInviteLink { .. }
        | ActionKind::EditInviteLink { .. }
        | ActionKind::RevokeInviteLink { .. } => ("manage invite links", Some("can_invite_users")),
        ActionKind::SetGroupName { .. } | ActionKind::SetTopic { .. } => {
            ("change the group info", Some("can_change_info"))
        }
        ActionKind::Pin { .. } => ("pin", Some("can_pin_messages")),
        ActionKind::SetPostingLevel { .. } => (
            "change the chat's permissions",
            Some("can_restrict_members"),
        ),
        _ => ("send", None),
    }
}

fn chat_id(chat: &str) -> Result<i64, ConnectorError> {
    chat.parse::<i64>().map_err(|_| {
        ConnectorError::Permanent(format!(
            "unknown chat `{chat}`: a Telegram chat id is a number such as -1001234567890"
        ))
    })
}

fn user_id(member: &str) -> Result<i64, ConnectorError> {
    member.parse::<i64>().map_err(|_| {
        ConnectorError::Permanent(format!("`{member}` is not a Telegram user id (a number)"))
    })
}

fn message_ids(ids: &[String]) -> Result<Vec<i64>, ConnectorError> {
    ids.iter()
        .map(|id| {
            id.parse::<i64>().map_err(|_| {
                ConnectorError::Permanent(format!("`{id}` is not a Telegram message id"))
            })
        })
        .collect()
}

/// Text entities that turn the n-th `@word` of `text` into a mention of the n-th member.
pub fn mention_entities(text: &str, mentions: &[String]) -> Vec<Value> {
    let mut entities = Vec::new();
    let mut members = mentions.iter().filter_map(|m| m.parse::<i64>().ok());
    let mut offset = 0usize;
    let mut start: Option<usize> = None;
    let mut close = |start: usize, end: usize, entities: &mut Vec<Value>| {
        if end > start + 1 {
            if let Some(id) = members.next() {
                entities.push(json!({"type": "text_mention", "offset": start, "length": end - start, "user": {"id": id, "is_bot": false, "first_name": ""}}));
            }
        }
    };
    for c in text.chars() {
        let width = c.len_utf16();
        match start {
            None if c == '@' => start = Some(offset),
            Some(from) if c.is_whitespace() || "，。,.!?！？:：".contains(c) => {
                close(from, offset, &mut entities);
                start = (c == '@').then_some(offset);
            }
            _ => {}
        }
        offset += width;
    }
    if let Some(from) = start {
        close(from, offset, &mut entities);
    }
    entities
}

fn keyboard(buttons: &[Vec<Button>]) -> Result<Value, ConnectorError> {
    for button in buttons.iter().flatten() {
        if button.data.is_empty() || button.data.len() > 64 {
            return Err(ConnectorError::Permanent(format!(
                "button `{}`: callback data must be 1–64 bytes, it is {}",
                button.label,
                button.data.len()
            )));
        }
    }
    Ok(
        json!({"inline_keyboard": buttons.iter().map(|row| row.iter().map(|b| json!({"text": b.label, "callback_data": b.data})).collect::<Vec<_>>()).collect::<Vec<_>>()}),
    )
}

fn text_body(
    chat: i64,
    text: &str,
    html: &Option<String>,
    mentions: &[String],
    reply_to: &Option<String>,
) -> Result<Value, ConnectorError> {
    let mut body = match html {
        Some(html) => json!({"chat_id": chat, "text": html, "parse_mode": "HTML"}),
        None => {
            json!({"chat_id": chat, "text": text, "entities": mention_entities(text, mentions)})
        }
    };
    if let Some(reply) = reply_to {
        let id = message_ids(std::slice::from_ref(reply))?;
        body["reply_parameters"] =
            json!({"message_id": id[0], "allow_sending_without_reply": true});
    }
    Ok(body)
}

fn unix(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| json!(at.timestamp()))
}

/// What one action turns into: calls in order, and which answer is the receipt.
struct Plan {
    calls: Vec<(&'static str, Value)>,
}

fn plan(action: &ActionRecord, now: DateTime<Utc>) -> Result<Plan, ConnectorError> {
    let chat = chat_id(&action.chat)?;
    let one = |method: &'static str, body: Value| Plan {
        calls: vec![(method, body)],
    };
    let no_rights = json!({
        "can_send_messages": false, "can_send_audios": false, "can_send_documents": false,
        "can_send_photos": false, "can_send_videos": false, "can_send_video_notes": false,
        "can_send_voice_notes": false, "can_send_polls": false, "can_send_other_messages": false,
        "can_add_web_page_previews": false, "can_change_info": false, "can_invite_users": false,
        "can_pin_messages": false, "can_manage_topics": false
    });
    Ok(match &action.kind {
        ActionKind::SendMessage {
            text,
            html,
            mentions,
            reply_to,
        } => one(
            "sendMessage",
            text_body(chat, text, html, mentions, reply_to)?,
        ),
        ActionKind::SendWithButtons {
            text,
            html,
            buttons,
            reply_to,
        } => {
            let mut body = text_body(chat, text, html, &[], reply_to)?;
            body["reply_markup"] = keyboard(buttons)?;
            one("sendMessage", body)
        }
        ActionKind::Kick { member, .. } => {
            let user = user_id(member)?;
            Plan {
                calls: vec![
                    (
                        "banChatMember",
                        json!({"chat_id": chat, "user_id": user, "revoke_messages": false}),
                    ),
                    (
                        "unbanChatMember",
                        json!({"chat_id": chat, "user_id": user, "only_if_banned": true}),
                    ),
                ],
            }
        }
        ActionKind::Ban { member, .. } => one(
            "banChatMember",
            json!({"chat_id": chat, "user_id": user_id(member)?, "revoke_messages": true}),
        ),
        ActionKind::Unban { member, .. } => one(
            "unbanChatMember",
            json!({"chat_id": chat, "user_id": user_id(member)?, "only_if_banned": true}),
        ),
        ActionKind::Mute { member, until, .. } => {
            // Under 30 s Telegram takes the restriction as forever: never let a short mute
            // become a permanent one.
            let until = until.map(|until| until.max(now + chrono::Duration::seconds(31)));
            one(
                "restrictChatMember",
                json!({"chat_id": chat, "user_id": user_id(member)?, "permissions": no_rights,
                       "use_independent_chat_permissions": true, "until_date": unix(until).as_i64().unwrap_or(0)}),
            )
        }
        ActionKind::Unmute { member } => {
            let mut all = no_rights.clone();
            if let Some(all) = all.as_object_mut() {
                for (name, value) in all.iter_mut() {
                    if name.starts_with("can_send") || name == "can_add_web_page_previews" {
                        *value = json!(true);
                    }
                }
            }
            one(
                "restrictChatMember",
                json!({"chat_id": chat, "user_id": user_id(member)?, "permissions": all, "use_independent_chat_permissions": true}),
            )
        }
        ActionKind::Redact { message_id, .. } => one(
            "deleteMessage",
            json!({"chat_id": chat, "message_id": message_ids(std::slice::from_ref(message_id))?[0]}),
        ),
        ActionKind::DeleteMessages {
            message_ids: ids, ..
        } => {
            let ids = message_ids(ids)?;
            if ids.is_empty() {
                return Err(ConnectorError::Permanent(
                    "delete_messages with no message ids".into(),
                ));
            }
            Plan {
                calls: ids
                    .chunks(100)
                    .map(|chunk| {
                        (
                            "deleteMessages",
                            json!({"chat_id": chat, "message_ids": chunk}),
                        )
                    })
                    .collect(),
            }
        }
        ActionKind::DecideJoinRequest {
            member, approve, ..
        } => one(
            if *approve {
                "approveChatJoinRequest"
            } else {
                "declineChatJoinRequest"
            },
            json!({"chat_id": chat, "user_id": user_id(member)?}),
        ),
        ActionKind::SetGroupName { name } => {
            one("setChatTitle", json!({"chat_id": chat, "title": name}))
        }
        ActionKind::SetTopic { topic } => one(
            "setChatDescription",
            json!({"chat_id": chat, "description": topic}),
        ),
        ActionKind::Pin { message_id } => one(
            "pinChatMessage",
            json!({"chat_id": chat, "message_id": message_ids(std::slice::from_ref(message_id))?[0], "disable_notification": true}),
        ),
        ActionKind::CreateInviteLink {
            name,
            member_limit,
            expire_at,
            join_request,
        } => one(
            "createChatInviteLink",
            link_body(chat, None, name, *member_limit, *expire_at, *join_request),
        ),
        ActionKind::EditInviteLink {
            link,
            name,
            member_limit,
            expire_at,
            join_request,
        } => one(
            "editChatInviteLink",
            link_body(
                chat,
                Some(link),
                name,
                *member_limit,
                *expire_at,
                *join_request,
            ),
        ),
        ActionKind::RevokeInviteLink { link } => one(
            "revokeChatInviteLink",
            json!({"chat_id": chat, "invite_link": link}),
        ),
        ActionKind::SendDice { emoji } => one("sendDice", json!({"chat_id": chat, "emoji": emoji})),
        // Telegram fetches the URL itself (it must be reachable from Telegram's servers: the
        // public `base_url`); a caption is at most 1,024 characters.
        ActionKind::SendImage {
            url,
            caption,
            mentions,
        } => one(
            "sendPhoto",
            json!({"chat_id": chat, "photo": url, "caption": caption,
                "caption_entities": mention_entities(caption, mentions)}),
        ),
        ActionKind::SendPoll {
            question,
            options,
            correct_option,
            explanation,
            open_period,
            anonymous,
            // Tags are qunzhu's: the poll tagger reads them from the outbox, Telegram never sees them.
            tags: _,
        } => {
            let mut body = json!({
                "chat_id": chat, "question": question,
                "options": options.iter().map(|text| json!({"text": text})).collect::<Vec<_>>(),
                "is_anonymous": anonymous, "type": if correct_option.is_some() { "quiz" } else { "regular" },
            });
            if let Some(correct) = correct_option {
                body["correct_option_id"] = json!(correct);
                body["correct_option_ids"] = json!([correct]);
            }
            if let Some(explanation) = explanation {
                body["explanation"] = json!(explanation);
            }
            if let Some(seconds) = open_period {
                body["open_period"] = json!(seconds);
            }
            one("sendPoll", body)
        }
        ActionKind::Invite { .. } => {
            return Err(ConnectorError::Permanent(
                "Telegram bots cannot add people to a group; send them an invite link instead"
                    .into(),
            ))
        }
        ActionKind::SetPowerLevel { .. } => {
            return Err(ConnectorError::Permanent(
                "Telegram has no power levels; promote administrators in the Telegram app".into(),
            ))
        }
        ActionKind::SetPostingLevel { level } => {
            // Telegram has no levels: a level above the members' 0 closes the chat to members
            // (every can_send_* of its default permissions false; administrators keep posting),
            // 0 opens it again.
            let open = *level <= 0;
            let mut permissions = no_rights.clone();
            if let Some(all) = permissions.as_object_mut() {
                for (name, value) in all.iter_mut() {
                    if name.starts_with("can_send") || name == "can_add_web_page_previews" {
                        *value = json!(open);
                    }
                }
            }
            one(
                "setChatPermissions",
                json!({"chat_id": chat, "permissions": permissions, "use_independent_chat_permissions": true}),
            )
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
                "{} is not carried out on Telegram",
                action.kind.name()
            )))
        }
    })
}

fn link_body(
    chat: i64,
    link: Option<&String>,
    name: &str,
    member_limit: Option<u32>,
    expire_at: Option<DateTime<Utc>>,
    join_request: bool,
) -> Value {
    // Telegram caps link names at 32 characters.
    let name: String = name.chars().take(32).collect();
    let mut body = json!({"chat_id": chat, "name": name, "creates_join_request": join_request});
    if let Some(link) = link {
        body["invite_link"] = json!(link);
    }
    // A member limit cannot be combined with join requests.
    if let (Some(limit), false) = (member_limit, join_request) {
        body["member_limit"] = json!(limit.clamp(1, 99_999));
    }
    if let Some(at) = expire_at {
        body["expire_date"] = json!(at.timestamp());
    }
    body
}

/// Answers that mean the wanted state already holds (a retry after an uncertain attempt).
fn already_done(kind: &ActionKind, description: &str) -> bool {
    let text = description.to_ascii_lowercase();
    match kind {
        ActionKind::Redact { .. } => text.contains("message to delete not found"),
        ActionKind::DecideJoinRequest { .. } => text.contains("hide_requester_missing"),
        ActionKind::SetGroupName { .. } | ActionKind::SetTopic { .. } | ActionKind::Pin { .. } => {
            text.contains("not modified")
        }
        // Permissions already as asked: Telegram answers CHAT_NOT_MODIFIED.
        ActionKind::SetPostingLevel { .. } => {
            text.contains("not modified") || text.contains("chat_not_modified")
        }
        _ => false,
    }
}

/// Turns a refusal into a sentence naming the missing right ("the bot lacks can_restrict_members").
async fn explain(ctx: &Context<'_>, action: &ActionRecord, error: CallError) -> ConnectorError {
    let (verb, right) = needs(&action.kind);
    let chat = action.chat.as_str();
    let CallError::Api {
        code, description, ..
    } = &error
    else {
        return error.into_connector(&format!("cannot {verb} in {chat}"));
    };
    let lower = description.to_ascii_lowercase();
    if *code == 400 && lower.contains("chat not found") {
        return ConnectorError::Permanent(format!(
            "unknown chat {chat}: Telegram says \"{description}\" (the bot is not in it, or the id is wrong)"
        ));
    }
    if *code == 400 && lower.contains("message can't be deleted") {
        return ConnectorError::Permanent(format!(
            "cannot delete messages in {chat}: Telegram deletes only messages under 48 hours old ({description})"
        ));
    }
    let refused = *code == 403
        || lower.contains("not enough rights")
        || lower.contains("chat_admin_required")
        || lower.contains("administrator");
    if !refused || *code == 429 {
        return error.into_connector(&format!("cannot {verb} in {chat}"));
    }
    let Ok(chat_number) = chat_id(chat) else {
        return error.into_connector(&format!("cannot {verb} in {chat}"));
    };
    let standing = ctx
        .client
        .call(
            "getChatMember",
            &json!({"chat_id": chat_number, "user_id": ctx.bot_id}),
            ctx.timeout,
        )
        .await
        .ok()
        .and_then(|value| serde_json::from_value::<ChatMember>(value).ok());
    let reason = match (standing, right) {
        (Some(me), Some(right)) if me.status != "administrator" && me.status != "creator" => {
            format!("the bot is not an administrator (it needs {right})")
        }
        (Some(me), Some(right)) if !me.has_right(right) => format!("the bot lacks {right}"),
        (Some(me), None) if me.can_send_messages == Some(false) => {
            "the bot is restricted from sending messages".to_string()
        }
        (None, _) if *code == 403 => format!("{description} (is the bot still in the group?)"),
        _ => description.clone(),
    };
    ConnectorError::Permanent(format!("cannot {verb} in {chat}: {reason}"))
}

/// The receipt of a call's result: a message id, a link, or nothing.
fn receipt(result: &Value) -> Option<String> {
    if let Some(id) = result.get("message_id").and_then(Value::as_i64) {
        return Some(id.to_string());
    }
    result
        .get("invite_link")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn journal_error(error: crate::journal::JournalError) -> ConnectorError {
    ConnectorError::Transient(error.to_string())
}

pub async fn execute(
    ctx: &Context<'_>,
    action: &ActionRecord,
) -> Result<Option<String>, ConnectorError> {
    let previous = ctx.journal.attempt(&action.key);
    if let Attempt::Done(receipt) = previous {
        return Ok(receipt);
    }
    let uncertain = previous == Attempt::Uncertain;
    if uncertain && repeats_if_resent(&action.kind) && !ctx.resend_uncertain {
        return Err(ConnectorError::Permanent(format!(
            "not sent again: an earlier attempt of this {} to {} was cut off before Telegram answered, so it may already be there (Telegram has no idempotency key; check the group and resend by hand if it is missing)",
            action.kind.name(),
            action.chat
        )));
    }
    let plan = plan(action, ctx.now)?;
    ctx.journal
        .begin(&action.key, ctx.now.timestamp())
        .map_err(journal_error)?;
    let mut last = Value::Null;
    for (method, body) in &plan.calls {
        match ctx.client.call(method, body, ctx.timeout).await {
            Ok(result) => last = result,
            Err(CallError::Api { description, .. })
                if uncertain && already_done(&action.kind, &description) =>
            {
                last = Value::Null;
            }
            Err(error) => {
                let certain = !matches!(
                    error,
                    CallError::Network {
                        maybe_delivered: true,
                        ..
                    }
                );
                // A refusal is certain: nothing was done, a later retry starts fresh. A lost
                // answer stays "begun", which is what makes the next attempt careful.
                if certain {
                    ctx.journal.failed(&action.key).map_err(journal_error)?;
                }
                return Err(explain(ctx, action, error).await);
            }
        }
    }
    if let (ActionKind::SendPoll { options, .. }, Some(poll)) = (
        &action.kind,
        last.get("poll")
            .and_then(|poll| poll.get("id"))
            .and_then(Value::as_str),
    ) {
        ctx.journal
            .poll_sent(
                poll,
                chat_id(&action.chat)?,
                &action.key,
                options.clone(),
                ctx.now.timestamp(),
            )
            .map_err(journal_error)?;
    }
    if let (ActionKind::CreateInviteLink { name, .. }, Some(url)) = (
        &action.kind,
        last.get("invite_link").and_then(Value::as_str),
    ) {
        ctx.journal
            .link_created(&action.chat, name, url)
            .map_err(journal_error)?;
    }
    let receipt = receipt(&last);
    ctx.journal
        .done(&action.key, receipt.clone(), ctx.now.timestamp())
        .map_err(journal_error)?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_cover_the_at_words_in_order_in_utf16() {
        let entities = mention_entities("欢迎 @小王 和 @Bob!", &["7".into(), "8".into()]);
        assert_eq!(entities.len(), 2);
        assert_eq!(entities[0]["offset"], 3);
        assert_eq!(entities[0]["length"], 3);
        assert_eq!(entities[0]["user"]["id"], 7);
        assert_eq!(entities[1]["offset"], 9);
        assert_eq!(entities[1]["length"], 4);
        assert!(mention_entities("@", &["7".into()]).is_empty());
        assert!(mention_entities("@a", &["name".into()]).is_empty());
    }

    #[test]
    fn a_posting_level_is_the_chats_default_permissions() {
        let now = Utc::now();
        let record = |level: i64| ActionRecord {
            id: qunzhu_domain::ActionId(1),
            workspace: qunzhu_domain::WorkspaceId(1),
            platform: qunzhu_domain::Platform::Telegram,
            chat: "-100".into(),
            key: "k".into(),
            kind: ActionKind::SetPostingLevel { level },
            origin: qunzhu_domain::ActionOrigin::parse("test"),
            cause: None,
            status: qunzhu_domain::ActionStatus::Pending,
            attempts: 0,
            created_at: now,
            not_before: now,
            next_attempt_at: now,
            expires_at: None,
            done_at: None,
            last_error: None,
            receipt: None,
        };
        // (level, whether members may send afterwards)
        for (level, open) in [(50, false), (1, false), (0, true)] {
            let planned = plan(&record(level), now).expect("a plan");
            let [(method, body)] = &planned.calls[..] else {
                panic!("one call");
            };
            assert_eq!(*method, "setChatPermissions");
            assert_eq!(body["use_independent_chat_permissions"], true);
            let permissions = body["permissions"].as_object().expect("permissions");
            let sends: Vec<_> = permissions
                .iter()
                .filter(|(name, _)| name.starts_with("can_send"))
                .collect();
            assert!(sends.len() >= 9, "every kind of message: {sends:?}");
            assert!(
                sends.iter().all(|(_, value)| **value == open),
                "level {level}"
            );
            assert_eq!(
                permissions["can_change_info"], false,
                "members never edit the group"
            );
        }
        assert_eq!(
            needs(&ActionKind::SetPostingLevel { level: 50 }).1,
            Some("can_restrict_members")
        );
    }

    #[test]
    fn buttons_refuse_callback_data_telegram_would_refuse() {
        let long = Button {
            label: "x".into(),
            data: "d".repeat(65),
        };
        assert!(keyboard(&[vec![long]]).is_err());
        let ok = Button {
            label: "是".into(),
            data: "vote:yes".into(),
        };
        assert_eq!(
            keyboard(&[vec![ok]]).expect("ok")["inline_keyboard"][0][0]["callback_data"],
            "vote:yes"
        );
    }
}

//! The Bot API methods the fake answers, with the documented results, errors and limits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::world::{chat_json, member_json, user_json, World};
use crate::world::{FakeMessage, FakePoll, InviteLink, Request, Restriction, Status};
use crate::world::{BOT_ID, PERMISSIONS, RIGHTS, TOKEN};
use crate::{lock, FakeTelegram, Shared};

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

fn int(body: &Value, key: &str) -> Option<i64> {
    body.get(key).and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

pub(crate) async fn handle(
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

const SENDS: &[&str] = &["sendMessage", "sendDice", "sendPoll", "sendPhoto"];

fn direct_message(world: &mut World, user: i64, body: &Value, now: i64) -> Answer {
    let open = world.chats.values().any(|chat| {
        chat.requests.get(&user).is_some_and(|request| {
            request.state == Request::Pending && now <= request.date + 5 * 60
        })
    });
    if !open {
        return fail(
            403,
            "Forbidden: bot can't initiate conversation with a user",
        );
    }
    let text = body["text"].as_str().unwrap_or("").to_string();
    if text.trim().is_empty() {
        return fail(400, "Bad Request: message text is empty");
    }
    world.direct.push((user, text.clone()));
    let id = i64::try_from(world.direct.len()).unwrap_or(i64::MAX);
    ok(
        json!({"message_id": id, "date": now, "chat": {"id": user, "type": "private"}, "text": text}),
    )
}

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
    // A positive id is a private chat: a bot may write there only to someone whose join request
    // is pending and under five minutes old (`user_chat_id`); otherwise the user never started it.
    if chat > 0 && method == "sendMessage" {
        return direct_message(world, chat, body, now);
    }
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
            "permissions": world.chat(chat).permissions}),
        ),
        "setChatPermissions" => {
            if !has("can_restrict_members") {
                return fail(
                    400,
                    "Bad Request: not enough rights to change chat permissions",
                );
            }
            let Some(given) = body["permissions"].as_object() else {
                return fail(400, "Bad Request: can't parse chat permissions JSON object");
            };
            // Fields left out are false. Without independent permissions, other messages and
            // web page previews imply messages and every media kind, and polls imply messages
            // (the Bot API's documented rule).
            let mut permissions: BTreeMap<String, bool> = PERMISSIONS
                .iter()
                .map(|name| {
                    let value = given.get(*name).and_then(Value::as_bool).unwrap_or(false);
                    (name.to_string(), value)
                })
                .collect();
            let independent = body["use_independent_chat_permissions"]
                .as_bool()
                .unwrap_or(false);
            if !independent {
                let on = |name: &str| permissions.get(name).copied().unwrap_or(false);
                let mut implied: Vec<&str> = Vec::new();
                if on("can_send_other_messages") || on("can_add_web_page_previews") {
                    implied.extend([
                        "can_send_messages",
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                    ]);
                }
                if on("can_send_polls") {
                    implied.push("can_send_messages");
                }
                for name in implied {
                    permissions.insert(name.to_string(), true);
                }
            }
            let c = world.chat_mut(chat);
            if c.permissions == permissions {
                return fail(400, "Bad Request: CHAT_NOT_MODIFIED");
            }
            c.permissions = permissions;
            ok(json!(true))
        }
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
        "sendMessage" | "sendDice" | "sendPoll" | "sendPhoto" => {
            let text = body["text"].as_str().unwrap_or("").to_string();
            if method == "sendPhoto" {
                // The Bot API takes a file_id or an HTTP URL it downloads itself (at most 5 MB
                // for photos); the caption is limited to 1,024 characters.
                let photo = body["photo"].as_str().unwrap_or("");
                if photo.trim().is_empty() {
                    return fail(400, "Bad Request: there is no photo in the request");
                }
                if photo.contains("://")
                    && !(photo.starts_with("http://") || photo.starts_with("https://"))
                {
                    return fail(400, "Bad Request: wrong file identifier/HTTP URL specified");
                }
                let caption = body["caption"].as_str().unwrap_or("");
                if caption.encode_utf16().count() > 1024 {
                    return fail(400, "Bad Request: message caption is too long");
                }
            }
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
            if method == "sendPhoto" {
                let id_text = format!("photo{id}");
                message["photo"] = json!([{"file_id": id_text, "file_unique_id": id_text}]);
                message["fake_photo_url"] = body["photo"].clone();
                for key in ["caption", "caption_entities"] {
                    if let Some(value) = body.get(key) {
                        message[key] = value.clone();
                    }
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
            if member_limit.is_some_and(|limit| !(1..=99_999).contains(&limit)) {
                return fail(400, "Bad Request: member limit must be between 1 and 99999");
            }
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

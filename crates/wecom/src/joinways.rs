//! Live codes 群活码 as WeCom join ways: one QR code over up to five groups, its `state` the
//! channel a join is attributed to. WeCom never drops a full group from a join way by itself,
//! so qunzhu rotates: full groups out, the next candidates in, up to five.

use std::collections::HashMap;

use qunzhu_connector::{ConnectorError, Result};
use serde::Serialize;
use serde_json::{json, Value};

use crate::WecomConnector;

/// Groups a join way may list (WeCom's limit).
pub const MAX_GROUPS: usize = 5;
/// Characters a `state` may have (WeCom's limit).
pub const MAX_STATE: usize = 30;

/// A join way as `get_join_way` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinWay {
    pub config_id: String,
    pub state: String,
    pub chat_ids: Vec<String>,
    pub qr_code: String,
    pub auto_create_room: bool,
}

/// The groups a join way should list: the current ones that are not full, then candidates not
/// full and not listed, up to [`MAX_GROUPS`]; `sizes` are member counts.
pub fn rotation(
    current: &[String],
    candidates: &[String],
    sizes: &HashMap<String, u32>,
    full_at: u32,
) -> Vec<String> {
    let open = |chat: &String| sizes.get(chat).copied().unwrap_or(0) < full_at;
    let mut chosen: Vec<String> = current.iter().filter(|chat| open(chat)).cloned().collect();
    for chat in candidates {
        if chosen.len() >= MAX_GROUPS {
            break;
        }
        if open(chat) && !chosen.contains(chat) {
            chosen.push(chat.clone());
        }
    }
    chosen.truncate(MAX_GROUPS);
    chosen
}

fn check(state: &str, chats: &[String]) -> Result<()> {
    if state.chars().count() > MAX_STATE {
        return Err(ConnectorError::Permanent(format!(
            "join way state `{state}` is longer than {MAX_STATE} characters"
        )));
    }
    if chats.is_empty() || chats.len() > MAX_GROUPS {
        return Err(ConnectorError::Permanent(format!(
            "a join way lists 1 to {MAX_GROUPS} groups, not {}",
            chats.len()
        )));
    }
    Ok(())
}

impl WecomConnector {
    fn join_way_body(&self, state: &str, chats: &[String], remark: &str) -> Value {
        let mut body = json!({
            "scene": 2,
            "remark": remark,
            "auto_create_room": i32::from(self.config().auto_create_room),
            "chat_id_list": chats,
            "state": state,
        });
        if self.config().auto_create_room {
            body["room_base_name"] = json!(self.config().room_base_name);
            body["room_base_id"] = json!(1);
        }
        body
    }

    /// Creates a QR-code join way over `chats` attributed to `state`; returns it with its code.
    pub async fn add_join_way(
        &self,
        state: &str,
        chats: &[String],
        remark: &str,
    ) -> Result<JoinWay> {
        check(state, chats)?;
        let answer = self
            .api()
            .post(
                "externalcontact/groupchat/add_join_way",
                self.join_way_body(state, chats, remark),
            )
            .await?;
        let config_id = answer
            .get("config_id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ConnectorError::Transient("add_join_way answered without config_id".into())
            })?
            .to_string();
        self.join_way(&config_id).await
    }

    pub async fn join_way(&self, config_id: &str) -> Result<JoinWay> {
        let answer = self
            .api()
            .post(
                "externalcontact/groupchat/get_join_way",
                json!({ "config_id": config_id }),
            )
            .await?;
        let way = answer.get("join_way").ok_or_else(|| {
            ConnectorError::Transient("get_join_way answered without join_way".into())
        })?;
        let text = |key: &str| {
            way.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Ok(JoinWay {
            config_id: config_id.to_string(),
            state: text("state"),
            chat_ids: way
                .get("chat_id_list")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            qr_code: text("qr_code"),
            auto_create_room: way.get("auto_create_room").and_then(Value::as_i64) == Some(1),
        })
    }

    /// Points a join way at `chats` (its `state` kept): how a live code rotates past full groups.
    pub async fn update_join_way(
        &self,
        config_id: &str,
        state: &str,
        chats: &[String],
    ) -> Result<()> {
        check(state, chats)?;
        let mut body = self.join_way_body(state, chats, "");
        body["config_id"] = json!(config_id);
        self.api()
            .post("externalcontact/groupchat/update_join_way", body)
            .await?;
        Ok(())
    }

    /// Drops full groups from a join way and fills it from `candidates`; `None` when nothing
    /// changed. Sizes come from `groupchat/get`, so API-made joins count too.
    pub async fn rotate_join_way(
        &self,
        config_id: &str,
        candidates: &[String],
    ) -> Result<Option<JoinWay>> {
        let way = self.join_way(config_id).await?;
        let mut sizes = HashMap::new();
        for chat in way.chat_ids.iter().chain(candidates) {
            if sizes.contains_key(chat) {
                continue;
            }
            let size = self.fetch_group(chat).await?.members.len() as u32;
            sizes.insert(chat.clone(), size);
        }
        let chosen = rotation(
            &way.chat_ids,
            candidates,
            &sizes,
            self.config().room_full_at,
        );
        if chosen == way.chat_ids {
            return Ok(None);
        }
        if chosen.is_empty() && !self.config().auto_create_room {
            tracing::warn!(%config_id, state = %way.state, "every group of the live code is full and auto_create_room is off");
            return Ok(None);
        }
        let chats = if chosen.is_empty() {
            way.chat_ids.clone()
        } else {
            chosen
        };
        let mut body = self.join_way_body(&way.state, &chats, "");
        body["config_id"] = json!(config_id);
        self.api()
            .post("externalcontact/groupchat/update_join_way", body)
            .await?;
        tracing::info!(%config_id, state = %way.state, groups = ?chats, "live code rotated");
        self.join_way(config_id).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chats(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn full_groups_rotate_out_and_candidates_fill_to_five() {
        let sizes: HashMap<String, u32> = [("a", 200), ("b", 10), ("c", 0), ("d", 199), ("e", 250)]
            .into_iter()
            .map(|(chat, size)| (chat.to_string(), size))
            .collect();
        assert_eq!(
            rotation(
                &chats(&["a", "b"]),
                &chats(&["c", "d", "e", "f", "g", "h"]),
                &sizes,
                200
            ),
            chats(&["b", "c", "d", "f", "g"])
        );
        assert_eq!(rotation(&chats(&["b"]), &[], &sizes, 200), chats(&["b"]));
        assert!(check(&"x".repeat(31), &chats(&["a"])).is_err());
        assert!(check("ok", &chats(&["a", "b", "c", "d", "e", "f"])).is_err());
    }
}

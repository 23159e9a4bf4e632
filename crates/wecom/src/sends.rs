//! Group sends and moments as tasks: WeCom cannot post by itself, so a post becomes an
//! `add_msg_template` task for the group's owner (or an `add_moment_task` for chosen staff),
//! followed until the owner sent it, with reminders inside WeCom's limit (3 in 24 hours).

use chrono::{DateTime, Datelike, Duration, Utc};
use qunzhu_connector::{ConnectorError, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::WecomConnector;

/// Where a group-send task stands, as WeCom reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SendState {
    /// The owner has not sent it yet.
    Waiting,
    Sent {
        at: i64,
    },
    /// WeCom will not deliver it (status 2/3: not a contact, or the receive cap was reached).
    Failed {
        reason: String,
    },
}

/// Where a moment task stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MomentState {
    Creating,
    Created { moment_id: String },
    Failed { reason: String },
}

/// Whether another reminder is allowed now, given the earlier ones (WeCom: `per_day` in any
/// 24 hours).
pub fn may_remind(reminded: &[DateTime<Utc>], now: DateTime<Utc>, per_day: u32) -> bool {
    let recent = reminded
        .iter()
        .filter(|at| now - **at < Duration::hours(24))
        .count();
    recent < per_day.min(3) as usize
}

/// The receive cap of one group for the month of `now`: the configured number, or the days
/// in the month (WeCom's default since the cap was last changed).
pub fn monthly_cap(configured: u32, now: DateTime<Utc>) -> u32 {
    if configured > 0 {
        return configured;
    }
    let (year, month) = (now.year(), now.month());
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1);
    match (first, next) {
        (Some(first), Some(next)) => (next - first).num_days() as u32,
        _ => 28,
    }
}

impl WecomConnector {
    /// The owner of a group, from the committed roster or `groupchat/get`.
    pub async fn owner_of(&self, chat: &str) -> Result<String> {
        if let Some(group) = self.roster(chat).await {
            if !group.owner.is_empty() {
                return Ok(group.owner);
            }
        }
        let owner = self.fetch_group(chat).await?.owner;
        if owner.is_empty() {
            return Err(ConnectorError::Permanent(format!(
                "group {chat} has no owner in groupchat/get"
            )));
        }
        Ok(owner)
    }

    /// Creates a group-send task for the owner of `chat`; returns `(msgid, owner)`.
    pub async fn create_group_send(&self, chat: &str, text: &str) -> Result<(String, String)> {
        let owner = self.owner_of(chat).await?;
        let answer = self
            .api()
            .post(
                "externalcontact/add_msg_template",
                json!({
                    "chat_type": "group",
                    "sender": owner,
                    "chat_id_list": [chat],
                    "text": {"content": text},
                    "allow_select": false,
                }),
            )
            .await?;
        let msgid = answer
            .get("msgid")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ConnectorError::Transient("add_msg_template answered without msgid".into())
            })?;
        Ok((msgid.to_string(), owner))
    }

    /// What became of a group-send task in `chat`: the owner's task status, then the group's
    /// send result.
    pub async fn group_send_state(
        &self,
        msgid: &str,
        owner: &str,
        chat: &str,
    ) -> Result<SendState> {
        let tasks = self
            .api()
            .post(
                "externalcontact/get_groupmsg_task",
                json!({"msgid": msgid, "limit": 1000}),
            )
            .await?;
        let task = tasks
            .get("task_list")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|task| task.get("userid").and_then(Value::as_str) == Some(owner))
            });
        let status = task
            .and_then(|task| task.get("status"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if status == 0 {
            return Ok(SendState::Waiting);
        }
        let results = self
            .api()
            .post(
                "externalcontact/get_groupmsg_send_result",
                json!({"msgid": msgid, "userid": owner, "limit": 1000}),
            )
            .await?;
        let result = results
            .get("send_list")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|row| row.get("chat_id").and_then(Value::as_str) == Some(chat))
            });
        let status = result
            .and_then(|row| row.get("status"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let at = result
            .and_then(|row| row.get("send_time"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        Ok(match status {
            1 => SendState::Sent { at },
            2 => SendState::Failed {
                reason: "the group is no longer the owner's customer group".into(),
            },
            3 => SendState::Failed {
                reason: "the group already received its group sends for the period (receive cap)"
                    .into(),
            },
            _ => SendState::Waiting,
        })
    }

    /// A group-send task `owner` created with `text` between `since` and `until` (Unix
    /// seconds), if any: how a restart finds a task whose creation it did not get to record.
    pub async fn find_group_send(
        &self,
        owner: &str,
        text: &str,
        since: i64,
        until: i64,
    ) -> Result<Option<String>> {
        let mut cursor = String::new();
        loop {
            let answer = self
                .api()
                .post(
                    "externalcontact/get_groupmsg_list_v2",
                    json!({"chat_type": "group", "start_time": since, "end_time": until,
                        "creator": owner, "filter_type": 2, "limit": 100, "cursor": cursor}),
                )
                .await?;
            let found = answer
                .get("group_msg_list")
                .and_then(Value::as_array)
                .and_then(|list| {
                    list.iter().find(|message| {
                        message
                            .get("text")
                            .and_then(|body| body.get("content"))
                            .and_then(Value::as_str)
                            == Some(text)
                    })
                })
                .and_then(|message| message.get("msgid"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if found.is_some() {
                return Ok(found);
            }
            cursor = answer
                .get("next_cursor")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if cursor.is_empty() {
                return Ok(None);
            }
        }
    }

    /// Reminds the owner of an unsent group-send task in the WeCom client.
    pub async fn remind_group_send(&self, msgid: &str) -> Result<()> {
        self.api()
            .post(
                "externalcontact/remind_groupmsg_send",
                json!({ "msgid": msgid }),
            )
            .await
            .map(|_| ())
    }

    /// Creates a 朋友圈 moment task for `staff` (their customers see it once each confirms).
    pub async fn create_moment_task(&self, text: &str, staff: &[String]) -> Result<String> {
        let answer = self
            .api()
            .post(
                "externalcontact/add_moment_task",
                json!({
                    "text": {"content": text},
                    "visible_range": {"sender_list": {"user_list": staff}},
                }),
            )
            .await?;
        answer
            .get("jobid")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ConnectorError::Transient("add_moment_task answered without jobid".into())
            })
    }

    /// The result of a moment task's creation job.
    pub async fn moment_task_state(&self, jobid: &str) -> Result<MomentState> {
        let answer = self
            .api()
            .call(
                "externalcontact/get_moment_task_result",
                &[("jobid", jobid)],
                None,
            )
            .await?;
        let status = answer.get("status").and_then(Value::as_i64).unwrap_or(0);
        if status != 3 {
            return Ok(MomentState::Creating);
        }
        let result = answer.get("result").cloned().unwrap_or(Value::Null);
        let errcode = result.get("errcode").and_then(Value::as_i64).unwrap_or(0);
        if errcode != 0 {
            return Ok(MomentState::Failed {
                reason: format!(
                    "errcode {errcode}: {}",
                    result.get("errmsg").and_then(Value::as_str).unwrap_or("")
                ),
            });
        }
        Ok(match result.get("moment_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => MomentState::Created {
                moment_id: id.to_string(),
            },
            _ => MomentState::Creating,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default()
            + Duration::hours(hours)
    }

    #[test]
    fn at_most_three_reminders_in_any_24_hours() {
        let mut reminded = Vec::new();
        for hour in 0..3 {
            assert!(may_remind(&reminded, at(hour), 3));
            reminded.push(at(hour));
        }
        assert!(!may_remind(&reminded, at(10), 3));
        assert!(!may_remind(&reminded, at(23), 3));
        assert!(
            may_remind(&reminded, at(24), 3),
            "the first one is 24 h old"
        );
        assert!(!may_remind(&reminded, at(0), 5), "never above WeCom's 3");
    }

    #[test]
    fn the_default_cap_is_the_days_in_the_month() {
        let february = DateTime::parse_from_rfc3339("2027-02-10T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(monthly_cap(0, february), 28);
        let december = DateTime::parse_from_rfc3339("2026-12-10T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(monthly_cap(0, december), 31);
        assert_eq!(monthly_cap(4, december), 4);
    }
}

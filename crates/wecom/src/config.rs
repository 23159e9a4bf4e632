//! How qunzhu reaches a WeCom corp: the `[wecom]` section of the configuration.
//!
//! The app secret, the callback Token and the EncodingAESKey come from the environment
//! (`QUNZHU_WECOM_SECRET`, `QUNZHU_WECOM_TOKEN`, `QUNZHU_WECOM_AES_KEY`) and never show in logs.

use serde::Deserialize;

/// The one secret type of every connector's config, re-exported where callers look for it.
pub use qunzhu_connector::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WecomConfig {
    /// Turn the connector on.
    pub enabled: bool,
    /// The account name in the callback path `/hooks/wecom/{account}` and in the connector id.
    pub account: String,
    /// The corp id (企业ID, `ww…`); also the callback's receive id.
    pub corp_id: String,
    /// The self-built app's AgentId (welcome templates notify through it).
    pub agent_id: i64,
    /// The app's Secret. (env: QUNZHU_WECOM_SECRET)
    pub secret: Secret,
    /// The callback Token. (env: QUNZHU_WECOM_TOKEN)
    pub callback_token: Secret,
    /// The callback EncodingAESKey, 43 characters. (env: QUNZHU_WECOM_AES_KEY)
    pub encoding_aes_key: Secret,
    /// `https://qyapi.weixin.qq.com`; a fake server's address in tests.
    pub api_base: String,
    /// Where the connector keeps its inbox and roster files.
    pub state_dir: String,
    /// Wait after a member-change callback before `groupchat/get` (WeCom settles asynchronously).
    pub settle_ms: u64,
    /// Full `groupchat/list` + `groupchat/get` pass, for changes made through the API (no callback).
    pub reconcile_minutes: u64,
    /// Longest a poll waits for a callback before answering empty.
    pub poll_wait_ms: u64,
    /// Group sends a customer group may receive per month (corp setting: days in month by
    /// default, or 7 a week / 1 a day); 0 means days in the month.
    pub monthly_receive_cap: u32,
    /// Reminders of an unsent group-send task (WeCom allows 3 per 24 h).
    pub reminders_per_day: u32,
    /// How often a group-send or moment task is checked while it waits for a person.
    pub follow_minutes: u64,
    /// Run the task follower here. Several instances on one database must enable it on one
    /// only: each keeps its own book of which outbox row became which WeCom task.
    pub follow_tasks: bool,
    /// Staff whose customers see 朋友圈 moment tasks.
    pub moment_staff: Vec<String>,
    /// Join ways (live codes) qunzhu creates on its own create a new group when all are full.
    pub auto_create_room: bool,
    pub room_base_name: String,
    /// A group counts as full for join-way rotation at this many members (500 is WeCom's cap;
    /// scanning is reported to stop at 200).
    pub room_full_at: u32,
}

impl Default for WecomConfig {
    fn default() -> Self {
        WecomConfig {
            enabled: false,
            account: "main".into(),
            corp_id: String::new(),
            agent_id: 0,
            secret: Secret::default(),
            callback_token: Secret::default(),
            encoding_aes_key: Secret::default(),
            api_base: "https://qyapi.weixin.qq.com".into(),
            state_dir: "qunzhu-wecom".into(),
            settle_ms: 2_000,
            reconcile_minutes: 30,
            poll_wait_ms: 25_000,
            monthly_receive_cap: 0,
            reminders_per_day: 3,
            follow_minutes: 10,
            follow_tasks: true,
            moment_staff: Vec::new(),
            auto_create_room: false,
            room_base_name: String::new(),
            room_full_at: 200,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = WecomConfig {
            secret: Secret::new("app-secret-value"),
            encoding_aes_key: Secret::new("aes-key-value"),
            callback_token: Secret::new("token-value"),
            ..WecomConfig::default()
        };
        let printed = format!("{config:?}");
        for secret in ["app-secret-value", "aes-key-value", "token-value"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("[redacted]"));
    }
}

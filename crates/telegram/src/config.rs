//! How qunzhu reaches Telegram: the `[telegram]` section of the configuration.

use qunzhu_connector::Rate;
use serde::Deserialize;

/// The one secret type of every connector's config, re-exported where callers look for it.
pub use qunzhu_connector::Secret;

/// How updates arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `getUpdates` long-poll; the offset is stored with the events.
    Poll,
    /// Telegram POSTs to `webhook_url`; each update is recorded before the answer is 200.
    Webhook,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// Turn the connector on.
    pub enabled: bool,
    /// The bot token from @BotFather. (env: QUNZHU_TELEGRAM_TOKEN)
    pub token: Secret,
    pub mode: Mode,
    /// The Bot API server; a local `telegram-bot-api` or a test fake may stand in.
    pub api_url: String,
    /// Public HTTPS address Telegram posts to in webhook mode, ending in the route qunzhu serves
    /// (`…/hooks/telegram/{account}`).
    pub webhook_url: String,
    /// Checked on every webhook request (`X-Telegram-Bot-Api-Secret-Token`). (env: QUNZHU_TELEGRAM_WEBHOOK_SECRET)
    pub webhook_secret: Secret,
    /// Long-poll wait of `getUpdates`, in seconds.
    pub poll_timeout_secs: u64,
    /// How long an action's call may take before its answer is taken as lost.
    pub request_timeout_secs: u64,
    /// Telegram allows 20 messages a minute in one group.
    pub group_messages_per_minute: f64,
    /// …and about 30 a second across all chats.
    pub messages_per_second: f64,
    /// Resend a message whose first attempt was interrupted before Telegram answered. Telegram
    /// has no idempotency key, so this risks a double post; off by default (the action is
    /// dead-lettered with the reason, for a person to check).
    pub resend_uncertain: bool,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            enabled: false,
            token: Secret::default(),
            mode: Mode::Poll,
            api_url: "https://api.telegram.org".into(),
            webhook_url: String::new(),
            webhook_secret: Secret::default(),
            poll_timeout_secs: 30,
            request_timeout_secs: 30,
            group_messages_per_minute: 20.0,
            messages_per_second: 30.0,
            resend_uncertain: false,
        }
    }
}

impl TelegramConfig {
    /// Per group: a burst of 2, then a steady pace that never exceeds the per-minute limit in
    /// any 60-second window.
    pub fn group_rate(&self) -> Rate {
        let burst = 2_u32;
        let per_minute = (self.group_messages_per_minute - f64::from(burst)).max(1.0);
        Rate {
            per_second: per_minute / 60.0,
            burst,
        }
    }

    pub fn global_rate(&self) -> Rate {
        Rate {
            per_second: self.messages_per_second,
            burst: self.messages_per_second.max(1.0) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let config = TelegramConfig {
            token: Secret::new("123456:ABC-very-secret"),
            webhook_secret: Secret::new("hook-secret"),
            ..TelegramConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("very-secret") && !printed.contains("hook-secret"));
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn the_group_rate_stays_within_twenty_a_minute() {
        let rate = TelegramConfig::default().group_rate();
        assert!(f64::from(rate.burst) + rate.per_second * 60.0 <= 20.0 + 1e-9);
    }
}

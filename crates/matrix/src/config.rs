//! How qunzhu reaches a homeserver: the `[matrix]` section of the configuration.

use qunzhu_connector::Rate;
use serde::Deserialize;

/// The one secret type of every connector's config, re-exported where callers look for it.
pub use qunzhu_connector::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatrixConfig {
    /// Turn the connector on.
    pub enabled: bool,
    /// The homeserver's client-server base URL, e.g. `https://matrix.example.org`.
    pub homeserver: String,
    /// The bot's user id, e.g. `@qunzhu:example.org`.
    pub user_id: String,
    /// Log in with this password… (env: QUNZHU_MATRIX_PASSWORD)
    pub password: Secret,
    /// …or use this access token. (env: QUNZHU_MATRIX_ACCESS_TOKEN)
    pub access_token: Secret,
    pub device_id: String,
    /// Whose invitations the bot accepts: user ids or patterns where `*` stands for any run of
    /// characters (`@*:example.org`: everyone on that server); empty: nobody's.
    pub allowed_inviters: Vec<String>,
    /// Long-poll timeout of `/sync`.
    pub sync_timeout_ms: u64,
    /// Sends per second and burst, per room and for the account (Synapse's default rc_message is
    /// 0.2/s with a burst of 10 unless the bot is exempted).
    pub room_rate_per_second: f64,
    pub room_burst: u32,
    pub account_rate_per_second: f64,
    pub account_burst: u32,
    /// The brand's policy-list room (`!id`), where its bans are published as
    /// `m.policy.rule.user` / `.server` state events other moderation bots can follow.
    pub policy_room: Option<String>,
}

impl Default for MatrixConfig {
    fn default() -> Self {
        MatrixConfig {
            enabled: false,
            homeserver: String::new(),
            user_id: String::new(),
            password: Secret::default(),
            access_token: Secret::default(),
            device_id: "QUNZHU".into(),
            allowed_inviters: Vec::new(),
            policy_room: None,
            sync_timeout_ms: 30_000,
            room_rate_per_second: 0.2,
            room_burst: 10,
            account_rate_per_second: 0.2,
            account_burst: 10,
        }
    }
}

impl MatrixConfig {
    pub fn room_rate(&self) -> Rate {
        Rate {
            per_second: self.room_rate_per_second,
            burst: self.room_burst,
        }
    }

    pub fn account_rate(&self) -> Rate {
        Rate {
            per_second: self.account_rate_per_second,
            burst: self.account_burst,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = MatrixConfig {
            access_token: Secret::new("syt_very_secret"),
            ..MatrixConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("syt_very_secret"));
        assert!(printed.contains("[redacted]"));
    }
}

/// Whether `user` matches one of `patterns` (exact ids, or `*` for any run of characters).
pub fn inviter_allowed(patterns: &[String], user: &str) -> bool {
    patterns.iter().any(|pattern| glob(pattern, user))
}

/// `*`-only glob over the whole string, without backtracking blow-up (greedy with one
/// restart point, as in shells).
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    let mut restart: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            restart = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star, from)) = restart {
            p = star + 1;
            t = from + 1;
            restart = Some((star, from + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod inviter_tests {
    use super::inviter_allowed;

    #[test]
    fn inviter_patterns() {
        let cases: &[(&[&str], &str, bool)] = &[
            (&["@admin:example.org"], "@admin:example.org", true),
            (&["@admin:example.org"], "@admin:example.org.evil", false),
            (&["@*:example.org"], "@anyone:example.org", true),
            (&["@*:example.org"], "@anyone:evil.org", false),
            (&["@*:example.org"], "@x:example.org:example.org", true),
            (&["@ops-*:*"], "@ops-li:brand.cn", true),
            (&["@ops-*:*"], "@dev-li:brand.cn", false),
            (&["*"], "@a:b", true),
            (&[], "@a:b", false),
        ];
        for (patterns, user, allowed) in cases {
            let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
            assert_eq!(
                inviter_allowed(&patterns, user),
                *allowed,
                "{patterns:?} {user}"
            );
        }
    }
}

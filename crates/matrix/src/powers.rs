//! What the bot's power level lets it do in a room, read from `m.room.power_levels`, so a
//! moderation step it cannot take is said before it is needed and replaced when it comes.

use serde_json::Value;

/// A moderation verb and the power it needs in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lacking {
    /// `redact`, `kick`, `ban` or `mute`.
    pub verb: &'static str,
    /// The power-levels field that sets the need (`kick`, `m.room.power_levels`, ...).
    pub needed_key: &'static str,
    pub needed: i64,
    pub mine: i64,
}

impl std::fmt::Display for Lacking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot {}: bot power {} < {} {}",
            self.verb, self.mine, self.needed_key, self.needed
        )
    }
}

fn number(levels: &Value, key: &str) -> Option<i64> {
    levels.get(key).and_then(Value::as_i64)
}

/// The bot's level in a room.
pub fn bot_level(levels: &Value, bot: &str) -> i64 {
    levels
        .get("users")
        .and_then(|users| users.get(bot))
        .and_then(Value::as_i64)
        .or_else(|| number(levels, "users_default"))
        .unwrap_or(0)
}

/// Each moderation verb the bot's level falls short of, with the defaults of the Matrix
/// specification where the room sets none (a mute changes power levels, a state event).
pub fn lacking(levels: &Value, bot: &str) -> Vec<Lacking> {
    let mine = bot_level(levels, bot);
    let mute_need = levels
        .get("events")
        .and_then(|events| events.get("m.room.power_levels"))
        .and_then(Value::as_i64)
        .or_else(|| number(levels, "state_default"))
        .unwrap_or(50);
    let needs = [
        ("redact", "redact", number(levels, "redact").unwrap_or(50)),
        ("kick", "kick", number(levels, "kick").unwrap_or(50)),
        ("ban", "ban", number(levels, "ban").unwrap_or(50)),
        ("mute", "m.room.power_levels", mute_need),
    ];
    needs
        .into_iter()
        .filter(|(_, _, needed)| mine < *needed)
        .map(|(verb, needed_key, needed)| Lacking {
            verb,
            needed_key,
            needed,
            mine,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_a_level_falls_short_of() {
        // Synapse's private_chat preset: kick/ban/redact 50, power levels 100.
        let synapse = json!({"users": {"@bot:x": 50, "@admin:x": 100}, "users_default": 0, "kick": 50,
            "ban": 50, "redact": 50, "state_default": 50, "events": {"m.room.power_levels": 100}});
        let cases: &[(Value, &str, &[&str])] = &[
            (synapse.clone(), "@bot:x", &["mute"]),
            (synapse.clone(), "@admin:x", &[]),
            (synapse, "@nobody:x", &["redact", "kick", "ban", "mute"]),
            (json!({"users": {"@bot:x": 50}}), "@bot:x", &[]),
            (
                json!({"users_default": 60, "state_default": 70}),
                "@bot:x",
                &["mute"],
            ),
        ];
        for (levels, bot, expected) in cases {
            let verbs: Vec<&str> = lacking(levels, bot).iter().map(|l| l.verb).collect();
            assert_eq!(verbs, *expected, "{levels} {bot}");
        }
        assert_eq!(
            lacking(
                &json!({"users": {"@bot:x": 50}, "events": {"m.room.power_levels": 100}}),
                "@bot:x"
            )[0]
            .to_string(),
            "cannot mute: bot power 50 < m.room.power_levels 100"
        );
    }
}

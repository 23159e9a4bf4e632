//! Which steps of a group's rules the bot's powers in that group do not allow, and what
//! happens instead at run time (a mute without power falls back to a kick; a redaction, kick
//! or ban without power is not taken). Computed from the rules in force and the stored powers,
//! so a saved rule file shows its new result at once.

use qunzhu_domain::GroupType;
use serde::Serialize;

use crate::ruleset::RuleSet;

/// What the bot may do in a group (the stored read model, without its keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Powers {
    pub can_redact: bool,
    pub can_kick: bool,
    pub can_ban: bool,
    pub can_mute: bool,
}

impl Powers {
    /// Whether a rung's step (`Step::name`) is allowed; a warning is a message, always allowed.
    pub fn allows(&self, step: &str) -> bool {
        match step {
            "redact" => self.can_redact,
            "kick" => self.can_kick,
            "ban" => self.can_ban,
            "mute" => self.can_mute,
            _ => true,
        }
    }
}

/// What the bot does where a step is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Instead {
    /// The mute falls back to a kick (the run-time ladder in the Matrix connector).
    Kick,
    /// The step is not taken (the platform would refuse it).
    Nothing,
}

/// One rule step the bot cannot take in a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PowerWarning {
    pub rule: String,
    /// `redact`, `mute`, `kick` or `ban`.
    pub step: &'static str,
    pub instead: Instead,
}

/// Each (rule, step) of the profile governing `chat` that `powers` do not allow, in file order.
pub fn power_warnings(
    rules: &RuleSet,
    chat: &str,
    group_type: GroupType,
    powers: &Powers,
) -> Vec<PowerWarning> {
    let mut warnings: Vec<PowerWarning> = Vec::new();
    let Some(profile) = rules.profile_for(chat, group_type) else {
        return warnings;
    };
    for rule in profile
        .rules
        .iter()
        .filter_map(|index| rules.rules.get(*index))
    {
        for step in rule.ladder.iter().flatten() {
            let step = step.name();
            if powers.allows(step)
                || warnings
                    .iter()
                    .any(|warning| warning.rule == rule.name && warning.step == step)
            {
                continue;
            }
            let instead = if step == "mute" && powers.can_kick {
                Instead::Kick
            } else {
                Instead::Nothing
            };
            warnings.push(PowerWarning {
                rule: rule.name.clone(),
                step,
                instead,
            });
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "[[rules]]\nname = \"flood\"\nkind = \"flood\"\ncount = 3\nwithin = \"10s\"\nactions = \"redact+mute 10m\"\n\n[[rules]]\nname = \"ads\"\nkind = \"links\"\nallow = [\"brand.cn\"]\nactions = \"redact+kick\"\n\n[profiles.p]\ndefault = true\nrules = [\"flood\", \"ads\"]\n";

    fn powers(redact: bool, kick: bool, mute: bool) -> Powers {
        Powers {
            can_redact: redact,
            can_kick: kick,
            can_ban: false,
            can_mute: mute,
        }
    }

    #[test]
    fn steps_the_powers_do_not_allow_are_named_with_their_rule() {
        let rules = crate::check(RULES, "rules.toml").expect("rules");
        type Expected = &'static [(&'static str, &'static str, Instead)];
        let cases: &[(Powers, Expected)] = &[
            (powers(true, true, true), &[]),
            (
                powers(true, true, false),
                &[("flood", "mute", Instead::Kick)],
            ),
            (
                powers(false, false, false),
                &[
                    ("flood", "redact", Instead::Nothing),
                    ("flood", "mute", Instead::Nothing),
                    ("ads", "redact", Instead::Nothing),
                    ("ads", "kick", Instead::Nothing),
                ],
            ),
        ];
        for (given, expected) in cases {
            let got: Vec<(String, &str, Instead)> =
                power_warnings(&rules, "!r:x", GroupType::Traffic, given)
                    .into_iter()
                    .map(|w| (w.rule, w.step, w.instead))
                    .collect();
            let expected: Vec<(String, &str, Instead)> = expected
                .iter()
                .map(|(rule, step, instead)| (rule.to_string(), *step, *instead))
                .collect();
            assert_eq!(got, expected, "{given:?}");
        }
    }
}

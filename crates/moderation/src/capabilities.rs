//! Fitting decisions to what a platform can do: a punishment it cannot carry out becomes the
//! next lighter one it can (ban → kick → mute → warning), and what has no lighter form (a
//! redaction, a join decision) is left for a person, with the audit saying so.

use qunzhu_connector::Capabilities;
use qunzhu_domain::ActionKind;

use crate::decision::Decision;

/// Rewrites `decisions` for a platform with `capabilities`. Messages, rewards and anything the
/// platform supports pass unchanged (a platform that cannot post by itself, like WeCom, still
/// gets its messages: a person confirms them).
pub fn fit_to_platform(decisions: Vec<Decision>, capabilities: &Capabilities) -> Vec<Decision> {
    let mut fitted: Vec<Decision> = Vec::with_capacity(decisions.len());
    for mut decision in decisions {
        let Some(action) = &mut decision.action else {
            fitted.push(decision);
            continue;
        };
        if capabilities.supports(&action.kind)
            || matches!(
                action.kind,
                ActionKind::SendMessage { .. } | ActionKind::GrantReward { .. }
            )
        {
            fitted.push(decision);
            continue;
        }
        let from = action.kind.name();
        let lighter = match &action.kind {
            ActionKind::Ban { member, reason } => lighter_than_ban(capabilities, member, reason),
            ActionKind::Kick { member, reason } => lighter_than_kick(capabilities, member, reason),
            ActionKind::Mute { member, reason, .. } => Some(warning(member, reason)),
            _ => None,
        };
        let warned_already = fitted.iter().any(|earlier| {
            earlier.action.as_ref().is_some_and(|earlier| {
                earlier.cause == action.cause
                    && matches!(earlier.kind, ActionKind::SendMessage { .. })
            })
        });
        match lighter {
            Some(kind) if !(warned_already && matches!(kind, ActionKind::SendMessage { .. })) => {
                decision.audit.summary = format!(
                    "{}（平台不支持 {from}，改为 {}）",
                    decision.audit.summary,
                    kind.name()
                );
                action.key = format!("{}:as:{}", action.key, kind.name());
                action.kind = kind;
            }
            _ => {
                decision.audit.summary = format!(
                    "{}（平台不支持 {from}，需人工处理）",
                    decision.audit.summary
                );
                decision.action = None;
            }
        }
        fitted.push(decision);
    }
    fitted
}

fn lighter_than_ban(capabilities: &Capabilities, member: &str, reason: &str) -> Option<ActionKind> {
    if capabilities.kick {
        return Some(ActionKind::Kick {
            member: member.to_string(),
            reason: reason.to_string(),
        });
    }
    lighter_than_kick(capabilities, member, reason)
}

fn lighter_than_kick(
    capabilities: &Capabilities,
    member: &str,
    reason: &str,
) -> Option<ActionKind> {
    if capabilities.mute {
        // No end: the platform's strongest hold short of removal, lifted by a person.
        return Some(ActionKind::Mute {
            member: member.to_string(),
            until: None,
            reason: reason.to_string(),
        });
    }
    Some(warning(member, reason))
}

fn warning(member: &str, reason: &str) -> ActionKind {
    ActionKind::SendMessage {
        text: format!("请注意：{reason}"),
        html: None,
        mentions: vec![member.to_string()],
        reply_to: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use qunzhu_connector::Rate;

    fn capabilities(kick: bool, mute: bool, redact: bool) -> Capabilities {
        Capabilities {
            kick,
            ban: false,
            mute,
            redact,
            invite: true,
            send_autonomously: true,
            formatted_messages: true,
            per_member_invite_links: false,
            review_join_requests: false,
            list_members: true,
            set_power_level: false,
            edit_group: true,
            pin: false,
            idempotent_actions: true,
            per_group_rate: Rate::UNLIMITED,
            global_rate: Rate::UNLIMITED,
            delete_window_secs: None,
            delete_batch: 0,
            timed_mute: false,
            ban_revokes_messages: false,
            buttons: false,
            games: false,
        }
    }

    const RULES: &str = r#"
[[rules]]
name = "ads"
kind = "keywords"
words = ["加微信"]
actions = "redact+warn+ban"
warning = "{name} 禁止广告"

[profiles.p]
default = true
rules = ["ads"]
"#;

    #[test]
    fn punishments_step_down_to_what_the_platform_can_do() {
        // (kick, mute, redact) → expected after fitting
        type Case = ((bool, bool, bool), &'static [&'static str]);
        let cases: &[Case] = &[
            (
                (true, true, true),
                &[
                    "redact m-e1",
                    "send_message @上海-小王 禁止广告",
                    "kick @u:x",
                ],
            ),
            (
                (false, true, true),
                &[
                    "redact m-e1",
                    "send_message @上海-小王 禁止广告",
                    "mute @u:x 0m",
                ],
            ),
            // WeCom-like: no kick, no mute, no redact: the warning stays, the rest goes to a person.
            (
                (false, false, false),
                &[
                    "none redact（第 1 次）（平台不支持 redact，需人工处理）",
                    "send_message @上海-小王 禁止广告",
                    "none ban（第 1 次）（平台不支持 ban，需人工处理）",
                ],
            ),
        ];
        for ((kick, mute, redact), expected) in cases {
            let mut guardian = guardian(RULES);
            let decisions = guardian.on_event(
                &message("e1", t(0), "@u:x", "加微信"),
                &group(),
                &member(),
                t(0),
            );
            let fitted = fit_to_platform(decisions, &capabilities(*kick, *mute, *redact));
            assert_eq!(
                summary(&fitted),
                *expected,
                "kick {kick} mute {mute} redact {redact}"
            );
        }
    }
}

//! Fitting decisions to what a platform can do: a punishment it cannot carry out becomes the
//! next lighter one it can (ban → kick → mute → warning), and what has no lighter form (a
//! redaction, a join decision) is left for a person, with the audit saying so.
//! Where the platform deletes in batches (Telegram), a burst's redactions become one call.

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
                action.key = qunzhu_domain::keys::fitted(&action.key, kind.name());
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
    if capabilities.redact && capabilities.delete_batch > 0 {
        fitted = batch_redactions(fitted, capabilities.delete_batch as usize);
    }
    fitted
}

/// Merges the redactions of one cause (a flood burst) into `DeleteMessages` of at most `limit`
/// ids each, keyed by the first redaction they replace; a lone redaction stays as it is.
fn batch_redactions(decisions: Vec<Decision>, limit: usize) -> Vec<Decision> {
    let redaction_of = |decision: &Decision| -> Option<(Option<String>, bool)> {
        let action = decision.action.as_ref()?;
        matches!(action.kind, ActionKind::Redact { .. })
            .then(|| (action.cause.clone(), action.dry_run))
    };
    let mut out: Vec<Decision> = Vec::with_capacity(decisions.len());
    let mut run: Vec<Decision> = Vec::new();
    for decision in decisions {
        let same = match (run.first().and_then(redaction_of), redaction_of(&decision)) {
            (Some(first), Some(this)) => first == this && run.len() < limit,
            _ => false,
        };
        if !same {
            flush(&mut run, &mut out);
        }
        if redaction_of(&decision).is_some() {
            run.push(decision);
        } else {
            out.push(decision);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn flush(run: &mut Vec<Decision>, out: &mut Vec<Decision>) {
    if run.len() < 2 {
        out.append(run);
        return;
    }
    let mut ids = Vec::with_capacity(run.len());
    let mut reason = String::new();
    for decision in run.iter() {
        if let Some(ActionKind::Redact {
            message_id,
            reason: why,
        }) = decision.action.as_ref().map(|action| &action.kind)
        {
            ids.push(message_id.clone());
            reason.clone_from(why);
        }
    }
    let mut merged = run.remove(0);
    run.clear();
    if let Some(action) = &mut merged.action {
        action.key = qunzhu_domain::keys::fitted(&action.key, "delete_messages");
        merged.audit.summary = format!("{}（{} 条一并删除）", merged.audit.summary, ids.len());
        action.kind = ActionKind::DeleteMessages {
            message_ids: ids,
            reason,
        };
    }
    out.push(merged);
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
        // The reason is in the rule file's language (it carries the rule suffix in it too).
        text: crate::language::Language::detect(reason).please_note(reason),
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
            lock_posting: false,
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
            policy_lists: false,
            create_groups: false,
            send_images: false,
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

    const FLOOD: &str = r#"
[[rules]]
name = "flood"
kind = "flood"
count = 4
within = "10s"
actions = "redact+mute 10m"

[profiles.p]
default = true
rules = ["flood"]
"#;

    #[test]
    fn a_flood_burst_is_one_batch_where_the_platform_deletes_in_batches() {
        // (delete_batch, expected after fitting the fourth message's decisions)
        let cases: &[(u32, &[&str])] = &[
            (
                0,
                &[
                    "redact m-e0",
                    "redact m-e1",
                    "redact m-e2",
                    "redact m-e3",
                    "mute @u:x 10m",
                ],
            ),
            (
                100,
                &["delete_messages m-e0 m-e1 m-e2 m-e3", "mute @u:x 10m"],
            ),
            (
                3,
                &[
                    "delete_messages m-e0 m-e1 m-e2",
                    "redact m-e3",
                    "mute @u:x 10m",
                ],
            ),
        ];
        for (batch, expected) in cases {
            let mut guardian = guardian(FLOOD);
            let mut last = Vec::new();
            for n in 0..4 {
                let event = message(&format!("e{n}"), t(n), "@u:x", "刷");
                last = guardian.on_event(&event, &group(), &member(), t(n));
            }
            let mut capabilities = capabilities(true, true, true);
            capabilities.delete_batch = *batch;
            let fitted = fit_to_platform(last, &capabilities);
            assert_eq!(summary(&fitted), *expected, "delete_batch {batch}");
            let keys: std::collections::HashSet<_> = fitted
                .iter()
                .filter_map(|decision| decision.action.as_ref().map(|a| a.key.clone()))
                .collect();
            assert_eq!(keys.len(), fitted.len(), "keys are distinct: {keys:?}");
        }
    }

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

//! Moderation rules over messages and names, and the ladder of actions they climb.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::Duration;
use qunzhu_domain::{ActionKind, Event, Instant};

use crate::decision::{excerpt, Decision, Target};
use crate::guardian::{Guardian, MemberFacts, MemberState, Newcomer, NEWCOMER_MEMORY};
use crate::links;
use crate::normalize::normalize_into;
use crate::ruleset::{Profile, Rule, RuleKind, RuleSet, Step};

/// Flood/repeat history is capped per member, whatever the windows say.
const HISTORY_CAP: usize = 512;

/// A message, borrowed from its event.
pub(crate) struct Message<'a> {
    pub member: &'a str,
    pub message_id: &'a str,
    pub text: &'a str,
    pub links: &'a [String],
    pub mentions: &'a [String],
}

/// The member a ladder is applied to, and what they did.
pub(crate) struct Offence<'a> {
    pub member: &'a str,
    pub name: &'a str,
    /// The message id and text, when the offence is a message.
    pub message: Option<(&'a str, &'a str)>,
    /// The earlier messages of a flood or repeat burst (ids, oldest first): a redaction removes
    /// the whole burst, not only the message that crossed the threshold.
    pub burst: Vec<Box<str>>,
    pub matched: String,
}

impl Guardian {
    pub(crate) fn on_message(
        &mut self,
        event: &Event,
        profile: &Arc<Profile>,
        message: &Message<'_>,
        who: &MemberFacts,
        now: chrono::DateTime<chrono::Utc>,
        out: &mut Vec<Decision>,
    ) {
        let Guardian {
            rules,
            chats,
            scratch,
            ..
        } = self;
        let Some(chat) = chats.get_mut(&event.chat) else {
            return;
        };
        scratch.normalized.clear();
        normalize_into(message.text, &mut scratch.normalized);
        let normalized = scratch.normalized.as_str();
        let target = Target {
            workspace: event.workspace,
            platform: event.platform,
            chat: &event.chat,
            now,
        };
        // Without a known name, the id without Matrix's sigil, or a mention would read `@@id`.
        let name = who
            .display_name
            .as_deref()
            .unwrap_or(message.member.trim_start_matches('@'));

        if !chat.members.contains_key(message.member) {
            chat.members
                .insert(message.member.to_string(), MemberState::default());
        }
        let Some(state) = chat.members.get_mut(message.member) else {
            return;
        };
        let is_first = first_message(state, who, event);
        if profile.history_window > Duration::zero() {
            let mut hasher = DefaultHasher::new();
            normalized.hash(&mut hasher);
            state
                .recent
                .push_back((event.at, hasher.finish(), message.message_id.into()));
            while state
                .recent
                .front()
                .is_some_and(|(at, _, _)| at.plus(profile.history_window) <= event.at)
                || state.recent.len() > HISTORY_CAP
            {
                state.recent.pop_front();
            }
        }

        if rules
            .settings
            .rules_commands
            .iter()
            .any(|command| command == normalized)
        {
            if let Some(group_rules) = &profile.group_rules {
                crate::faq::send_rules(rules, chat, group_rules, &target, event, message, out);
                return;
            }
        }

        let Some(state) = chat.members.get_mut(message.member) else {
            return;
        };
        let mut scanned = false;
        let mut burst: Vec<Box<str>> = Vec::new();
        for &rule_index in &profile.rules {
            let rule = &rules.rules[rule_index];
            if rule.exempt.contains(&who.role) {
                continue;
            }
            let matched = match &rule.kind {
                RuleKind::Keywords { lists } => {
                    if !scanned {
                        rules.keywords.scan(normalized, &mut scratch.hits);
                        scanned = true;
                    }
                    let first = lists
                        .iter()
                        .filter_map(|list| scratch.hits.get(*list).copied().flatten())
                        .min();
                    first.map(|(start, end)| normalized[start..end].to_string())
                }
                RuleKind::Links { allow } => forbidden_host(message, allow),
                RuleKind::Flood { count, within } => {
                    let since = window_start(state, rule_index, event.at.minus(*within));
                    let seen = state
                        .recent
                        .iter()
                        .rev()
                        .take_while(|(at, _, _)| *at > since)
                        .count();
                    (seen >= *count).then(|| {
                        burst = window_ids(state, since, None);
                        format!("{seen} 条消息 / {}", crate::duration::describe_zh(*within))
                    })
                }
                RuleKind::Repeat { count, within } => {
                    let since = window_start(state, rule_index, event.at.minus(*within));
                    let latest = state.recent.back().map(|(_, hash, _)| *hash);
                    let seen = state
                        .recent
                        .iter()
                        .rev()
                        .take_while(|(at, _, _)| *at > since)
                        .filter(|(_, hash, _)| Some(*hash) == latest)
                        .count();
                    (latest.is_some() && seen >= *count).then(|| {
                        burst = window_ids(state, since, latest);
                        format!("同一内容 {seen} 次")
                    })
                }
                RuleKind::Mentions { count } => (message.mentions.len() >= *count)
                    .then(|| format!("@了 {} 人", message.mentions.len())),
                RuleKind::NamePattern { .. } => None,
                RuleKind::NewcomerLink { within } => {
                    // The join the guardian saw itself is the better clock; the engine's is the fallback.
                    let joined_at = state
                        .newcomer
                        .as_ref()
                        .map(|newcomer| newcomer.joined_at)
                        .or(who.joined_at);
                    let recent_joiner =
                        joined_at.is_some_and(|joined| event.at - joined <= *within);
                    if is_first && recent_joiner {
                        forbidden_host(message, &[])
                    } else {
                        None
                    }
                }
            };
            let Some(matched) = matched else { continue };
            if matches!(rule.kind, RuleKind::Flood { .. } | RuleKind::Repeat { .. }) {
                // The window starts afresh, so one burst is one offence, not one per message.
                state.fired.retain(|(index, _)| *index != rule_index);
                state.fired.push((rule_index, event.at));
            }
            let offence = Offence {
                member: message.member,
                name,
                message: Some((message.message_id, message.text)),
                burst: std::mem::take(&mut burst),
                matched,
            };
            apply_ladder(
                rules,
                rule_index,
                state,
                &target,
                event,
                &chat.group.name,
                &offence,
                out,
            );
            // One offence per message: the first rule that fires decides.
            return;
        }

        if let Some(faq) = &profile.faq {
            crate::faq::answer(chat, faq, &target, event, message, normalized, name, out);
        }
    }

    /// Name rules for a join or a rename; returns whether the member is being removed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_name(
        &mut self,
        event: &Event,
        profile: &Profile,
        member: &str,
        name: &str,
        who: &MemberFacts,
        now: chrono::DateTime<chrono::Utc>,
        out: &mut Vec<Decision>,
    ) -> bool {
        let Guardian {
            rules,
            chats,
            scratch,
            ..
        } = self;
        let Some(chat) = chats.get_mut(&event.chat) else {
            return false;
        };
        scratch.normalized.clear();
        normalize_into(name, &mut scratch.normalized);
        let target = Target {
            workspace: event.workspace,
            platform: event.platform,
            chat: &event.chat,
            now,
        };
        for &rule_index in &profile.rules {
            let rule = &rules.rules[rule_index];
            let RuleKind::NamePattern { pattern } = &rule.kind else {
                continue;
            };
            if rule.exempt.contains(&who.role) {
                continue;
            }
            let Some(found) = pattern.find(&scratch.normalized) else {
                continue;
            };
            let matched = found.as_str().to_string();
            let state = chat.members.entry(member.to_string()).or_default();
            let offence = Offence {
                member,
                name,
                message: None,
                burst: Vec::new(),
                matched,
            };
            let removed = apply_ladder(
                rules,
                rule_index,
                state,
                &target,
                event,
                &chat.group.name,
                &offence,
                out,
            );
            return removed;
        }
        false
    }
}

/// Whether this message is the member's first since joining (and remembers that it was).
fn first_message(state: &mut MemberState, who: &MemberFacts, event: &Event) -> bool {
    match &mut state.newcomer {
        Some(newcomer) => !std::mem::replace(&mut newcomer.spoken, true),
        None => {
            // The join was not seen (a restart without replay): trust the engine's join time.
            let joined = who
                .joined_at
                .filter(|joined| event.at - *joined < Duration::days(NEWCOMER_MEMORY));
            if let Some(joined_at) = joined {
                state.newcomer = Some(Newcomer {
                    joined_at,
                    spoken: true,
                    introduced: false,
                });
            }
            joined.is_some()
        }
    }
}

/// A flood/repeat window starts at `start`, or later if the rule fired inside it.
fn window_start(
    state: &MemberState,
    rule_index: usize,
    start: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    state
        .fired
        .iter()
        .filter(|(index, _)| *index == rule_index)
        .map(|(_, at)| *at)
        .fold(start, |a, b| a.max(b))
}

/// The ids of the messages after `since` (those with hash `only`, when given), oldest first,
/// without the newest (the message being judged, redacted under its own key).
fn window_ids(
    state: &MemberState,
    since: chrono::DateTime<chrono::Utc>,
    only: Option<u64>,
) -> Vec<Box<str>> {
    let newer = state
        .recent
        .iter()
        .rev()
        .take_while(|(at, _, _)| *at > since)
        .count();
    state
        .recent
        .iter()
        .skip(state.recent.len() - newer)
        .take(newer.saturating_sub(1))
        .filter(|(_, hash, _)| only.is_none_or(|only| *hash == only))
        .map(|(_, _, id)| id.clone())
        .collect()
}

/// The first host of the message not in `allow` (empty `allow` refuses all).
fn forbidden_host(message: &Message<'_>, allow: &[String]) -> Option<String> {
    let mut bad = None;
    links::any_host(message.links, message.text, |host| {
        if links::allowed(host, allow) {
            false
        } else {
            bad = Some(host.to_string());
            true
        }
    });
    bad
}

/// Climbs the rule's ladder for one offence: picks the rung by the member's live warnings,
/// records a new warning, and emits one decision per step. Returns whether the member is being
/// removed for real (kick or ban, not dry-run).
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_ladder(
    rules: &RuleSet,
    rule_index: usize,
    state: &mut MemberState,
    target: &Target<'_>,
    event: &Event,
    group_name: &str,
    offence: &Offence<'_>,
    out: &mut Vec<Decision>,
) -> bool {
    let rule: &Rule = &rules.rules[rule_index];
    let decay = rules.settings.warn_decay;
    let live = |at: &chrono::DateTime<chrono::Utc>| at.plus(decay) > event.at;
    let previous = if rule.dry_run {
        state.dry_strikes.retain(|(_, at)| live(at));
        let count = state
            .dry_strikes
            .iter()
            .filter(|(index, _)| *index == rule_index)
            .count();
        state.dry_strikes.push((rule_index, event.at));
        count
    } else {
        state.strikes.retain(live);
        let count = state.strikes.len();
        state.strikes.push(event.at);
        count
    };
    let Some(rung) = rule
        .ladder
        .get(previous.min(rule.ladder.len().saturating_sub(1)))
    else {
        return false;
    };
    let count = previous + 1;
    let reason = rules.settings.language.with_rule(&rule.reason, &rule.name);
    let mut removed = false;
    for step in rung {
        if matches!(step, Step::Redact) && offence.message.is_some() {
            // The burst's earlier messages first, each under a key of its own message id.
            for message_id in &offence.burst {
                let kind = ActionKind::Redact {
                    message_id: message_id.to_string(),
                    reason: reason.clone(),
                };
                let key =
                    qunzhu_domain::keys::moderation_redact(&rule.name, &event.key, message_id);
                let mut audit =
                    target.audit(&rule.name, format!("redact（第 {count} 次，同一波）"));
                audit.member = Some(offence.member.to_string());
                audit.display_name = Some(offence.name.to_string());
                audit.event_key = Some(event.key.clone());
                audit.message_id = Some(message_id.to_string());
                audit.matched = Some(offence.matched.clone());
                let action = target.action(key, kind, &rule.name, Some(&event.key), rule.dry_run);
                out.push(Decision {
                    action: Some(action),
                    audit,
                    dry_run: rule.dry_run,
                });
            }
        }
        let kind = match *step {
            Step::Redact => match offence.message {
                Some((message_id, _)) => ActionKind::Redact {
                    message_id: message_id.to_string(),
                    reason: reason.clone(),
                },
                None => continue,
            },
            Step::Warn => {
                // The same function renders the editor's preview.
                let text = crate::preview::warning_message(rule, offence.name, count, group_name);
                ActionKind::SendMessage {
                    text,
                    html: None,
                    mentions: vec![offence.member.to_string()],
                    reply_to: None,
                }
            }
            Step::Mute(duration) => ActionKind::Mute {
                member: offence.member.to_string(),
                until: Some(target.now.plus(duration)),
                reason: reason.clone(),
            },
            Step::Kick => ActionKind::Kick {
                member: offence.member.to_string(),
                reason: reason.clone(),
            },
            Step::Ban => ActionKind::Ban {
                member: offence.member.to_string(),
                reason: reason.clone(),
            },
        };
        removed |= matches!(step, Step::Kick | Step::Ban) && !rule.dry_run;
        let key = qunzhu_domain::keys::moderation_step(&rule.name, &event.key, step.name());
        let summary = match step {
            Step::Mute(duration) => format!(
                "mute {}（第 {count} 次）",
                crate::duration::describe_zh(*duration)
            ),
            _ => format!("{}（第 {count} 次）", step.name()),
        };
        let mut audit = target.audit(&rule.name, summary);
        audit.member = Some(offence.member.to_string());
        audit.display_name = Some(offence.name.to_string());
        audit.event_key = Some(event.key.clone());
        if let Some((message_id, text)) = offence.message {
            audit.message_id = Some(message_id.to_string());
            audit.excerpt = Some(excerpt(text));
        }
        audit.matched = Some(offence.matched.clone());
        let action = target.action(key, kind, &rule.name, Some(&event.key), rule.dry_run);
        out.push(Decision {
            action: Some(action),
            audit,
            dry_run: rule.dry_run,
        });
    }
    removed
}

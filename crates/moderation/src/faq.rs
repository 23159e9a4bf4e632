//! FAQ auto-replies and the 群规 command, each with a per-group cooldown.

use qunzhu_domain::{ActionKind, Event};

use crate::decision::{excerpt, Decision, Target};
use crate::grouprules::GroupRules;
use crate::guardian::ChatState;
use crate::moderate::Message;
use crate::ruleset::{FaqSet, RuleSet};
use crate::template::Var;

/// Re-sends the 群规 when someone asks (`群规`, `!rules`), at most once per cooldown.
pub(crate) fn send_rules(
    rules: &RuleSet,
    chat: &mut ChatState,
    group_rules: &GroupRules,
    target: &Target<'_>,
    event: &Event,
    message: &Message<'_>,
    out: &mut Vec<Decision>,
) {
    if chat
        .rules_sent_at
        .is_some_and(|sent| sent + rules.settings.rules_cooldown > event.at)
    {
        return;
    }
    chat.rules_sent_at = Some(event.at);
    let kind = ActionKind::SendMessage {
        text: group_rules.render_text(&chat.group.name),
        html: Some(group_rules.render_html(&chat.group.name)),
        mentions: Vec::new(),
        reply_to: Some(message.message_id.to_string()),
    };
    let mut audit = target.audit("rules", "send 群规");
    audit.member = Some(message.member.to_string());
    audit.event_key = Some(event.key.clone());
    audit.message_id = Some(message.message_id.to_string());
    let action = target.action(
        qunzhu_domain::keys::rules_reply(&event.chat, &event.key),
        kind,
        "rules",
        Some(&event.key),
        false,
    );
    out.push(Decision {
        action: Some(action),
        audit,
        dry_run: false,
    });
}

/// Answers the first FAQ entry the message matches (lowest entry index), unless that entry
/// answered in this group within its cooldown.
#[allow(clippy::too_many_arguments)]
pub(crate) fn answer(
    chat: &mut ChatState,
    faq: &FaqSet,
    target: &Target<'_>,
    event: &Event,
    message: &Message<'_>,
    normalized: &str,
    name: &str,
    out: &mut Vec<Decision>,
) {
    let by_keyword = faq.automaton.as_ref().and_then(|automaton| {
        automaton
            .find_iter(normalized)
            .map(|found| faq.pattern_entry[found.pattern().as_usize()])
            .min()
    });
    let by_pattern = faq.entries.iter().position(|entry| {
        entry
            .pattern
            .as_ref()
            .is_some_and(|pattern| pattern.is_match(message.text))
    });
    let Some(index) = [by_keyword, by_pattern].into_iter().flatten().min() else {
        return;
    };
    let entry = &faq.entries[index];
    if chat
        .faq_answered
        .get(&index)
        .is_some_and(|answered| *answered + entry.cooldown > event.at)
    {
        return;
    }
    chat.faq_answered.insert(index, event.at);
    let text = entry.reply.render(|var, text| match var {
        Var::Name => {
            text.push('@');
            text.push_str(name);
        }
        Var::Group => text.push_str(&chat.group.name),
        _ => {}
    });
    let kind = ActionKind::SendMessage {
        text,
        html: None,
        mentions: vec![message.member.to_string()],
        reply_to: Some(message.message_id.to_string()),
    };
    let rule = format!("faq:{}#{}", faq.name, index + 1);
    let mut audit = target.audit(&rule, "faq reply");
    audit.member = Some(message.member.to_string());
    audit.display_name = Some(name.to_string());
    audit.event_key = Some(event.key.clone());
    audit.message_id = Some(message.message_id.to_string());
    audit.excerpt = Some(excerpt(message.text));
    let key = qunzhu_domain::keys::faq_answer(&event.chat, &event.key, index + 1);
    let action = target.action(key, kind, &rule, Some(&event.key), false);
    out.push(Decision {
        action: Some(action),
        audit,
        dry_run: false,
    });
}

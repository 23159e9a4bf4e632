//! Self-introductions (自我介绍): the welcome's intro template names the fields (【姓名】,
//! `Name:`, `职业/行业`), and a member's message that answers enough of them is read into
//! `field:value` tags; a newcomer who has not introduced themselves gets the wave's one nudge
//! when the welcome says `nudge_until = "intro"`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use qunzhu_domain::Event;

use crate::decision::{Decision, Target};
use crate::guardian::{Guardian, MemberFacts};
use crate::ruleset::Profile;

/// The longest value kept from one answer, in characters.
const MAX_VALUE: usize = 40;
/// The rule name intro readings are audited under.
pub const RULE: &str = "intro";

/// The fields of an intro template, each a list of alternative labels: `【职业/行业】` is one
/// field answered by `职业：…` or `行业：…` (each kept under the label written).
pub fn intro_fields(template: &str) -> Vec<Vec<String>> {
    let mut labels: Vec<&str> = Vec::new();
    for line in template.lines().map(str::trim) {
        if line.contains('【') {
            // `【姓名】【城市】` on one line names two fields.
            labels.extend(
                line.split('【')
                    .filter_map(|piece| piece.split_once('】').map(|(inner, _)| inner)),
            );
        } else if let Some(inner) = line
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
        {
            labels.push(inner);
        } else {
            labels.push(line.split([':', '：']).next().unwrap_or(""));
        }
    }
    labels
        .into_iter()
        .filter_map(|label| {
            let alternatives: Vec<String> = label
                .split(['/', '／'])
                .map(|word| word.trim().to_string())
                .filter(|word| !word.is_empty())
                .collect();
            (!alternatives.is_empty()).then_some(alternatives)
        })
        .collect()
}

/// The answers a message gives, as `(label, value)` in the order written: a line `label：value`,
/// `label: value` or `【label】value`, the label compared without case.
pub fn read_intro(fields: &[Vec<String>], text: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    // `【姓名】小李【城市】杭州` on one line answers two fields.
    let pieces = text.lines().flat_map(|line| {
        line.split('【')
            .enumerate()
            .map(|(index, piece)| (index > 0, piece))
    });
    for (bracketed, piece) in pieces {
        let line = piece.trim();
        let (label, value) = if bracketed {
            match line.split_once('】') {
                Some(split) => split,
                None => continue,
            }
        } else if let Some(rest) = line.strip_prefix('【') {
            match rest.split_once('】') {
                Some(split) => split,
                None => continue,
            }
        } else if let Some(at) = line.find([':', '：']) {
            let (label, rest) = line.split_at(at);
            let separator = rest.chars().next().map_or(1, char::len_utf8);
            (label, &rest[separator..])
        } else {
            continue;
        };
        let label = label.trim();
        let value: String = value
            .trim()
            .trim_start_matches([':', '：'])
            .trim()
            .chars()
            .take(MAX_VALUE)
            .collect();
        if value.is_empty() {
            continue;
        }
        let known = fields.iter().flatten().find(|known| {
            known.eq_ignore_ascii_case(label) || known.to_lowercase() == label.to_lowercase()
        });
        if let Some(known) = known {
            if !found.iter().any(|(seen, _)| seen == known) {
                found.push((known.clone(), value));
            }
        }
    }
    found
}

/// Whether the answers make an introduction: two fields, or every field of a shorter template.
pub fn is_introduction(fields: &[Vec<String>], answers: &[(String, String)]) -> bool {
    let answered = fields
        .iter()
        .filter(|field| answers.iter().any(|(label, _)| field.contains(label)))
        .count();
    answered >= fields.len().clamp(1, 2)
}

/// The member tags an introduction gives: `label:value` (a `;` in a value becomes `；`, so
/// the audit's `; `-joined list reads back as the same tags).
pub fn intro_tags(answers: &[(String, String)]) -> Vec<String> {
    answers
        .iter()
        .map(|(label, value)| format!("{label}:{}", value.replace(';', "；")))
        .collect()
}

/// The tags an introduction's audit record carries (its `matched`), read back.
pub fn tags_of_audit(matched: &str) -> Vec<String> {
    matched
        .split("; ")
        .map(str::trim)
        .filter(|tag| tag.contains(':'))
        .map(str::to_string)
        .collect()
}

/// A member's tags after an introduction: each answered field replaces the tag of the same
/// label (`城市:上海` → `城市:杭州`), every other tag (an operator's `VIP`, a poll's) stays.
pub fn merge_intro_tags(existing: &[String], intro: &[String]) -> Vec<String> {
    let label = |tag: &str| tag.split_once(':').map(|(label, _)| label.to_string());
    let answered: Vec<String> = intro.iter().filter_map(|tag| label(tag)).collect();
    let mut merged: Vec<String> = existing
        .iter()
        .filter(|tag| !label(tag).is_some_and(|label| answered.contains(&label)))
        .cloned()
        .collect();
    for tag in intro {
        if !merged.contains(tag) {
            merged.push(tag.clone());
        }
    }
    merged
}

impl Guardian {
    /// Reads a message as a self-introduction; one that is becomes an audit record carrying
    /// its tags (rule `intro`), and marks a newcomer as introduced.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn read_intro(
        &mut self,
        event: &Event,
        profile: &Arc<Profile>,
        member: &str,
        message_id: &str,
        text: &str,
        who: &MemberFacts,
        now: DateTime<Utc>,
        out: &mut Vec<Decision>,
    ) {
        let Some(welcome) = &profile.welcome else {
            return;
        };
        if welcome.intro_fields.is_empty() || !text.contains([':', '：', '】']) {
            return;
        }
        let answers = read_intro(&welcome.intro_fields, text);
        if !is_introduction(&welcome.intro_fields, &answers) {
            return;
        }
        if let Some(newcomer) = self
            .chats
            .get_mut(&event.chat)
            .and_then(|chat| chat.members.get_mut(member))
            .and_then(|state| state.newcomer.as_mut())
        {
            newcomer.introduced = true;
        }
        let target = Target {
            workspace: event.workspace,
            platform: event.platform,
            chat: &event.chat,
            now,
        };
        let tags = intro_tags(&answers);
        let mut audit = target.audit(RULE, format!("tags {}", tags.len()));
        audit.member = Some(member.to_string());
        audit.display_name = who.display_name.clone();
        audit.event_key = Some(event.key.clone());
        audit.message_id = Some(message_id.to_string());
        audit.matched = Some(tags.join("; "));
        out.push(Decision {
            action: None,
            audit,
            dry_run: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZH: &str = "【姓名】\n【城市】\n【职业/行业】\n【想在群里收获什么】";
    const EN: &str = "Name:\nCity:\nJob / industry:\nWhat I hope to get from this group:";

    #[test]
    fn templates_name_their_fields() {
        assert_eq!(
            intro_fields(ZH),
            vec![
                vec!["姓名".to_string()],
                vec!["城市".to_string()],
                vec!["职业".to_string(), "行业".to_string()],
                vec!["想在群里收获什么".to_string()],
            ]
        );
        assert_eq!(intro_fields(EN)[2], vec!["Job", "industry"]);
        assert!(intro_fields("\n  \n").is_empty());
        assert_eq!(intro_fields("【姓名】【城市】").len(), 2);
    }

    #[test]
    fn an_introduction_replaces_its_own_fields_and_keeps_other_tags() {
        let existing: Vec<String> = ["VIP", "城市:上海", "poll:咖啡"].map(String::from).to_vec();
        let intro = tags_of_audit("姓名:小李; 城市:杭州");
        assert_eq!(intro, ["姓名:小李", "城市:杭州"]);
        assert_eq!(
            merge_intro_tags(&existing, &intro),
            ["VIP", "poll:咖啡", "姓名:小李", "城市:杭州"]
        );
        assert_eq!(
            merge_intro_tags(&intro, &intro),
            intro,
            "applying twice changes nothing"
        );
        let answers = [("职业".to_string(), "设计; 摄影".to_string())];
        let tags = intro_tags(&answers);
        assert_eq!(tags_of_audit(&tags.join("; ")), tags);
    }

    #[test]
    fn answers_are_read_into_tags() {
        // (template, message, tags, an introduction?)
        let cases: &[(&str, &str, &[&str], bool)] = &[
            (
                ZH,
                "姓名：小王\n职业：设计师\n行业：互联网\n城市：上海",
                &["姓名:小王", "职业:设计师", "行业:互联网", "城市:上海"],
                true,
            ),
            (
                ZH,
                "【姓名】小李\n【城市】 杭州",
                &["姓名:小李", "城市:杭州"],
                true,
            ),
            (
                ZH,
                "【姓名】小李【城市】杭州",
                &["姓名:小李", "城市:杭州"],
                true,
            ),
            (ZH, "姓名: 小赵", &["姓名:小赵"], false),
            (ZH, "大家好：我是新人", &[], false),
            (ZH, "姓名：\n城市：", &[], false),
            (
                EN,
                "name: Anna\ncity: Berlin\nJob: nurse",
                &["Name:Anna", "City:Berlin", "Job:nurse"],
                true,
            ),
            (EN, "Name: Bo", &["Name:Bo"], false),
            ("城市：", "城市：北京", &["城市:北京"], true),
        ];
        for (template, text, tags, intro) in cases {
            let fields = intro_fields(template);
            let answers = read_intro(&fields, text);
            assert_eq!(intro_tags(&answers), *tags, "{text}");
            assert_eq!(is_introduction(&fields, &answers), *intro, "{text}");
        }
    }

    const RULES: &str = r#"
[welcome.w]
template = "欢迎 {name}"
window = "60s"
nudge_after = "24h"
nudge_until = "intro"
nudge = "{name} 来做个自我介绍吧：{intro_template}"
intro_template = "姓名：\n职业：\n行业：\n城市："

[profiles.p]
default = true
welcome = "w"
"#;

    #[test]
    fn a_newcomer_who_has_not_introduced_themselves_is_nudged_once() {
        use crate::testkit::*;
        use qunzhu_domain::{EventKind, JoinVia, MemberRole};
        let mut guardian = guardian(RULES);
        for (key, member) in [("j1", "@talker:x"), ("j2", "@intro:x")] {
            let join = event(
                key,
                t(0),
                EventKind::MemberJoined {
                    member: member.into(),
                    display_name: Some(member.into()),
                    via: JoinVia::Direct,
                },
            );
            guardian.on_event(
                &join,
                &group(),
                &facts(MemberRole::Member, member, None),
                t(0),
            );
        }
        guardian.tick(t(60));
        let talker = facts(MemberRole::Member, "@talker:x", Some(t(0)));
        guardian.on_event(
            &message("s1", t(100), "@talker:x", "大家好"),
            &group(),
            &talker,
            t(100),
        );
        let intro = facts(MemberRole::Member, "@intro:x", Some(t(0)));
        let read = guardian.on_event(
            &message(
                "s2",
                t(200),
                "@intro:x",
                "姓名：小王\n职业：设计师\n城市：上海",
            ),
            &group(),
            &intro,
            t(200),
        );
        assert_eq!(read[0].audit.rule, RULE);
        assert_eq!(
            read[0].audit.matched.as_deref(),
            Some("姓名:小王; 职业:设计师; 城市:上海")
        );
        let nudged = guardian.tick(t(24 * 3_600));
        assert_eq!(nudged.len(), 1);
        let action = nudged[0].action.as_ref().unwrap();
        assert!(
            matches!(&action.kind, qunzhu_domain::ActionKind::SendMessage { mentions, .. }
            if mentions == &vec!["@talker:x".to_string()])
        );
        assert!(guardian.tick(t(48 * 3_600)).is_empty(), "nudged only once");
    }

    #[test]
    fn a_long_answer_is_cut() {
        let fields = intro_fields(ZH);
        let text = format!("姓名：{}\n城市：上海", "长".repeat(100));
        let answers = read_intro(&fields, &text);
        assert_eq!(answers[0].1.chars().count(), MAX_VALUE);
    }
}

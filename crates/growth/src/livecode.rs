//! Live codes 活码 (PLAYBOOKS §2): one stable link and QR image that sends each visitor to the
//! first group of an ordered set that has room, and the spare group made before the set is full.
//!
//! A live code is a TOML document checked here with `line:col` and field-path errors; the pure
//! decisions (which group has room, when a spare is due, what the spare looks like) take the
//! fills the store counted and return what should happen.

use std::collections::BTreeMap;
use std::fmt;

use qunzhu_domain::{keys, ActionKind, GroupType, JoinRule, Platform, WorkspaceId};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::located::line_col;

/// Seats a group offers by scan when the code names no cap: WeCom lets 200 join by scanning
/// (500 in all, the rest by invitation); elsewhere the operator's usual group size.
pub fn default_cap(platform: Platform) -> u32 {
    match platform {
        Platform::WeCom => 200,
        _ => 500,
    }
}

/// A checked live code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCode {
    pub code: String,
    pub title: String,
    pub platform: Platform,
    /// The set's groups in routing order (spare groups made later follow these).
    pub groups: Vec<String>,
    /// Seats per group.
    pub cap: u32,
    /// Percent of the last open group's cap at which a spare is made (or the operator alerted).
    pub threshold: u32,
    /// How long a seat is held for a visitor who has not joined yet.
    pub hold_minutes: u32,
    pub spare: Option<SpareTemplate>,
}

/// What a spare group is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpareTemplate {
    /// The name, with `{n}` for the group's place in the set.
    pub name: String,
    pub topic: String,
    pub join_rule: JoinRule,
    /// The group's type and tags once made: the rules and SOP plans that target them apply.
    pub group_type: GroupType,
    pub tags: Vec<String>,
    pub moderators: BTreeMap<String, i64>,
    pub events_default: Option<i64>,
    /// The most groups the set may grow to.
    pub max_groups: u32,
}

/// One problem in a live-code document: `line:col: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCodeError {
    pub line: usize,
    pub col: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for LiveCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.col, self.field, self.message
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: String,
    platform: Spanned<String>,
    groups: Spanned<Vec<String>>,
    cap: Option<Spanned<u32>>,
    #[serde(default = "eighty")]
    threshold: Spanned<u32>,
    #[serde(default = "thirty")]
    hold_minutes: Spanned<u32>,
    spare: Option<RawSpare>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpare {
    name: Spanned<String>,
    #[serde(default)]
    topic: String,
    #[serde(default = "invite")]
    join_rule: Spanned<String>,
    #[serde(default = "traffic")]
    group_type: Spanned<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    moderators: BTreeMap<String, i64>,
    events_default: Option<i64>,
    #[serde(default = "twenty")]
    max_groups: Spanned<u32>,
}

fn eighty() -> Spanned<u32> {
    Spanned::new(0..0, 80)
}
fn thirty() -> Spanned<u32> {
    Spanned::new(0..0, 30)
}
fn twenty() -> Spanned<u32> {
    Spanned::new(0..0, 20)
}
fn invite() -> Spanned<String> {
    Spanned::new(0..0, "invite".into())
}
fn traffic() -> Spanned<String> {
    Spanned::new(0..0, "traffic".into())
}

/// Whether `code` can be a live code's name in its public link: 1–32 of a-z, 0-9, `-`, `_`.
pub fn valid_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Checks a live-code document for `code`; every problem found is returned, each located.
pub fn parse_livecode(code: &str, source: &str) -> Result<LiveCode, Vec<LiveCodeError>> {
    let mut found = Vec::new();
    let mut at = |span: std::ops::Range<usize>, field: &str, message: String| {
        let (line, col) = line_col(source, span.start);
        found.push(LiveCodeError {
            line,
            col,
            field: field.into(),
            message,
        });
    };
    let raw: Raw = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(error) => {
            at(
                error.span().unwrap_or(0..0),
                "document",
                error.message().to_string(),
            );
            return Err(found);
        }
    };
    if !valid_code(code) {
        at(
            0..0,
            "code",
            "a live code is 1 to 32 characters of a-z, 0-9, `-` and `_`".into(),
        );
    }
    if raw.title.trim().is_empty() {
        at(0..0, "title", "give the code a title visitors see".into());
    }
    let platform = match Platform::parse(raw.platform.get_ref()) {
        Ok(platform) => platform,
        Err(error) => {
            at(raw.platform.span(), "platform", error.to_string());
            Platform::Sandbox
        }
    };
    let groups = raw.groups.get_ref().clone();
    if groups.is_empty() {
        at(
            raw.groups.span(),
            "groups",
            "name at least one group".into(),
        );
    }
    for (index, chat) in groups.iter().enumerate() {
        if chat.trim().is_empty() || groups[..index].contains(chat) {
            at(
                raw.groups.span(),
                &format!("groups[{index}]"),
                format!("`{chat}` is empty or named twice"),
            );
        }
    }
    let cap = match &raw.cap {
        Some(cap) if *cap.get_ref() == 0 || *cap.get_ref() > 100_000 => {
            at(cap.span(), "cap", "a cap is from 1 to 100000 seats".into());
            1
        }
        Some(cap) => *cap.get_ref(),
        None => default_cap(platform),
    };
    let threshold = *raw.threshold.get_ref();
    if !(1..=100).contains(&threshold) {
        at(
            raw.threshold.span(),
            "threshold",
            format!("{threshold} is not a percent from 1 to 100"),
        );
    }
    let hold_minutes = *raw.hold_minutes.get_ref();
    if !(1..=24 * 60).contains(&hold_minutes) {
        at(
            raw.hold_minutes.span(),
            "hold_minutes",
            format!("{hold_minutes} is not from 1 to 1440 minutes"),
        );
    }
    let spare = raw.spare.map(|spare| {
        if !spare.name.get_ref().contains("{n}") {
            at(
                spare.name.span(),
                "spare.name",
                "the name needs `{n}`, the group's number, so each spare is told apart".into(),
            );
        }
        let join_rule = JoinRule::parse(spare.join_rule.get_ref()).unwrap_or_else(|error| {
            at(spare.join_rule.span(), "spare.join_rule", error.to_string());
            JoinRule::Invite
        });
        let group_type = GroupType::parse(spare.group_type.get_ref()).unwrap_or_else(|error| {
            at(spare.group_type.span(), "spare.group_type", error.to_string());
            GroupType::Traffic
        });
        let max_groups = *spare.max_groups.get_ref();
        if max_groups as usize <= groups.len() || max_groups > 1000 {
            at(
                spare.max_groups.span(),
                "spare.max_groups",
                format!(
                    "{max_groups} leaves no room for a spare: give more than the {} groups named, at most 1000",
                    groups.len()
                ),
            );
        }
        SpareTemplate {
            name: spare.name.into_inner(),
            topic: spare.topic,
            join_rule,
            group_type,
            tags: spare.tags,
            moderators: spare.moderators,
            events_default: spare.events_default,
            max_groups,
        }
    });
    if !found.is_empty() {
        return Err(found);
    }
    Ok(LiveCode {
        code: code.to_string(),
        title: raw.title,
        platform,
        groups,
        cap,
        threshold,
        hold_minutes,
        spare,
    })
}

/// The channel a scan names (`?ch=store`): lowercase letters, digits, `-` and `_`, at most 32;
/// anything else, or nothing, is `direct`, so a typo never makes a channel of its own.
pub fn channel(given: Option<&str>) -> String {
    match given.map(str::trim) {
        Some(name) if valid_code(name) => name.to_string(),
        _ => "direct".to_string(),
    }
}

/// What the set looks like to one scan: the seats taken in each group, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub used: u32,
    pub cap: u32,
}

/// The first group with a free seat.
pub fn first_with_room(fills: &[Fill]) -> Option<usize> {
    fills.iter().position(|fill| fill.used < fill.cap)
}

/// What the set needs next, judged after a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Room enough.
    Nothing,
    /// Make spare group number `sequence` (1-based place in the set).
    Create { sequence: u32 },
    /// The platform cannot create groups (or the template is missing or used up): tell the
    /// operator before the set is full.
    Alert { sequence: u32 },
}

/// Whether the last group of the set has reached the threshold, and what to do about it.
pub fn next_step(code: &LiveCode, fills: &[Fill], can_create: bool) -> Next {
    let Some(last) = fills.last() else {
        return Next::Nothing;
    };
    // used * 100 >= threshold * cap, in integers: 80 % of 2 seats is reached at 2, not 1.6.
    let reached = u64::from(last.used) * 100 >= u64::from(code.threshold) * u64::from(last.cap);
    if !reached {
        return Next::Nothing;
    }
    let sequence = fills.len() as u32 + 1;
    match &code.spare {
        Some(spare) if can_create && sequence <= spare.max_groups => Next::Create { sequence },
        _ => Next::Alert { sequence },
    }
}

/// The action that makes spare group `sequence` of `code`, keyed by code and sequence.
pub fn spare_action(
    workspace: WorkspaceId,
    code: &LiveCode,
    spare: &SpareTemplate,
    sequence: u32,
) -> (String, ActionKind) {
    let key = keys::livecode_spare(&code.code, sequence);
    let kind = ActionKind::CreateGroup {
        name: spare.name.replace("{n}", &sequence.to_string()),
        topic: spare.topic.clone(),
        alias: keys::group_alias(workspace, &key),
        join_rule: spare.join_rule,
        power_users: spare.moderators.clone(),
        events_default: spare.events_default,
    };
    (key, kind)
}

/// The name of the link a code's visitors through `channel` join by, at most `max` characters
/// (Telegram's link names 32, WeCom's join-way `state` 30): `lc:{code}:{channel}` when it fits,
/// else a readable prefix and a hash of both, so two (code, channel) pairs never share a name.
/// The stored link row maps a name back.
pub fn link_name(code: &str, channel: &str, max: usize) -> String {
    use sha2::{Digest, Sha256};
    let plain = format!("lc:{code}:{channel}");
    if plain.chars().count() <= max {
        return plain;
    }
    let digest = Sha256::digest(format!("{code}:{channel}").as_bytes());
    let hash: String = digest
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let prefix: String = plain.chars().take(max.saturating_sub(9)).collect();
    format!("{prefix}~{hash}")
}

/// Characters of a Telegram invite link's name.
pub const TELEGRAM_LINK_NAME: usize = 32;
/// Characters of a WeCom join way's `state`.
pub const WECOM_STATE: usize = 30;

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
title = "春季训练营"
platform = "matrix"
groups = ["!a:hs", "!b:hs", "!c:hs"]
cap = 2

[spare]
name = "春季训练营 {n} 群"
topic = "欢迎"
tags = ["spring"]
moderators = { "@amy:hs" = 50 }
"#;

    fn fills(used: &[u32], cap: u32) -> Vec<Fill> {
        used.iter().map(|&used| Fill { used, cap }).collect()
    }

    #[test]
    fn a_good_document_is_checked_with_its_defaults() {
        let code = parse_livecode("spring", GOOD).unwrap();
        assert_eq!(code.cap, 2);
        assert_eq!(code.threshold, 80);
        assert_eq!(code.hold_minutes, 30);
        assert_eq!(code.spare.as_ref().unwrap().max_groups, 20);
        let wecom = parse_livecode(
            "w",
            "title = \"x\"\nplatform = \"wecom\"\ngroups = [\"g\"]\n",
        );
        assert_eq!(wecom.unwrap().cap, 200, "WeCom lets 200 in by scan");
    }

    #[test]
    fn bad_documents_are_located() {
        let cases = [
            ("title = \"x\"\nplatform = \"irc\"\ngroups = [\"g\"]\n", "2:12: platform:"),
            ("title = \"x\"\nplatform = \"matrix\"\ngroups = []\n", "3:10: groups:"),
            ("title = \"x\"\nplatform = \"matrix\"\ngroups = [\"g\"]\ncap = 0\n", "4:7: cap:"),
            ("title = \"x\"\nplatform = \"matrix\"\ngroups = [\"g\"]\nthreshold = 120\n", "4:13: threshold:"),
            ("title = \"x\"\nplatform = \"matrix\"\ngroups = [\"g\"]\n[spare]\nname = \"no number\"\n", "5:8: spare.name:"),
            ("title = \"x\"\nplatform = \"matrix\"\ngroups = [\"g\"]\n[spare]\nname = \"{n}\"\njoin_rule = \"open\"\n", "6:13: spare.join_rule:"),
            ("title = \"x\"\nplatform = \"matrix\"\ngroups = [\"g\"]\nspeed = 1\n", "4:1: document:"),
            ("title = \"x\"\nplatform = \"matrix\"\ngroups = [\"g\", \"g\"]\n", "groups[1]:"),
        ];
        for (source, expected) in cases {
            let errors = parse_livecode("c", source).unwrap_err();
            let text = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(text.contains(expected), "{source}\n→ {text}");
        }
        let errors = parse_livecode("Bad Code", GOOD).unwrap_err();
        assert_eq!(errors[0].field, "code");
    }

    #[test]
    fn channels_are_named_or_direct() {
        assert_eq!(channel(Some("store")), "store");
        assert_eq!(channel(Some("xhs")), "xhs");
        assert_eq!(channel(None), "direct");
        assert_eq!(channel(Some("")), "direct");
        assert_eq!(channel(Some("<script>")), "direct");
    }

    #[test]
    fn routing_takes_the_first_group_with_room_and_plans_a_spare_ahead() {
        let code = parse_livecode("spring", GOOD).unwrap();
        // (seats used per group, can the platform create, which group, what next)
        let cases: [(&[u32], bool, Option<usize>, Next); 6] = [
            (&[0, 0, 0], true, Some(0), Next::Nothing),
            (&[2, 1, 0], true, Some(1), Next::Nothing),
            (&[2, 2, 1], true, Some(2), Next::Nothing),
            (&[2, 2, 2], true, None, Next::Create { sequence: 4 }),
            (&[2, 2, 2], false, None, Next::Alert { sequence: 4 }),
            (&[2, 2, 2, 0], true, Some(3), Next::Nothing),
        ];
        for (used, can_create, chosen, next) in cases {
            let fills = fills(used, 2);
            assert_eq!(first_with_room(&fills), chosen, "{used:?}");
            assert_eq!(next_step(&code, &fills, can_create), next, "{used:?}");
        }
        let mut small = code.clone();
        small.cap = 10;
        assert_eq!(next_step(&small, &fills(&[10, 7], 10), true), Next::Nothing);
        assert_eq!(
            next_step(&small, &fills(&[10, 8], 10), true),
            Next::Create { sequence: 3 }
        );
        let mut none = code.clone();
        none.spare = None;
        assert_eq!(
            next_step(&none, &fills(&[2], 2), true),
            Next::Alert { sequence: 2 }
        );
    }

    #[test]
    fn a_spare_is_keyed_by_code_and_sequence_and_named_from_the_template() {
        let code = parse_livecode("spring", GOOD).unwrap();
        let spare = code.spare.clone().unwrap();
        let (key, kind) = spare_action(WorkspaceId(3), &code, &spare, 4);
        assert_eq!(key, "livecode:spring:spare:4");
        let ActionKind::CreateGroup {
            name,
            alias,
            power_users,
            ..
        } = kind
        else {
            panic!("a create");
        };
        assert_eq!(name, "春季训练营 4 群");
        assert_eq!(alias, keys::group_alias(WorkspaceId(3), &key));
        assert_eq!(power_users.get("@amy:hs"), Some(&50));
    }

    #[test]
    fn link_names_fit_the_platform_and_stay_apart() {
        assert_eq!(
            link_name("spring", "store", TELEGRAM_LINK_NAME),
            "lc:spring:store"
        );
        let long = "a-very-long-code-of-thirty-two-c";
        for max in [TELEGRAM_LINK_NAME, WECOM_STATE] {
            let one = link_name(long, "store", max);
            let two = link_name(long, "xhs", max);
            assert_eq!(one.chars().count(), max, "{one}");
            assert!(one.starts_with("lc:a-very-long-code-"), "{one}");
            assert_ne!(one, two);
            assert_eq!(one, link_name(long, "store", max), "stable");
        }
    }
}

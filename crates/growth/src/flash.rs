//! Flash groups 快闪群 (PLAYBOOKS §5, article 001): a short-lived group that sells for one to
//! three days, then closes — the members are offered the brand's long-lived group and the flash
//! group is archived, or (`end = "dissolve"`) emptied after a grace period and dissolved
//! ([`crate::flash_end`]).
//!
//! A flash plan is a TOML document checked here with `line:col` and field-path errors. Its
//! lifecycle is a pure state machine: [`decide`] takes what the outbox and the directory know
//! about the plan's steps and the clock's now, and says where the group stands and what to do
//! next. The engine's keeper carries the steps out through the outbox, one key per step
//! (`keys::flash_*`), so deciding again — every round, after a restart — repeats nothing.
//!
//! The sales SOP is not a second scheduler: the created group is recorded as type `flash` with
//! the plan's tags (always including `flash-<name>`), so an SOP plan targeting them — with
//! `group_created` relative times — runs in it, and stops once the group is archived.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{keys, ActionKind, Instant, JoinRule, Platform, WorkspaceId};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::located::line_col;

/// A checked flash plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlashPlan {
    /// The document's name, the flash group's id in keys and tags.
    pub name: String,
    pub title: String,
    pub platform: Platform,
    /// An existing group to run as the flash group; `None` makes one (where the platform can).
    pub chat: Option<String>,
    /// The group's name and topic when made.
    pub group_name: String,
    pub topic: String,
    pub join_rule: JoinRule,
    /// The tags the group is recorded with, so SOP plans target it; `flash-<name>` first.
    pub tags: Vec<String>,
    pub moderators: BTreeMap<String, i64>,
    /// When the group opens (is made) and when the sale ends (the closing message).
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// The closing message; `{link}` becomes the long-lived group's link.
    pub closing: String,
    /// The brand's long-lived group: a live code `/j/{code}` or a full invite link.
    pub link: String,
    /// Appended to the group's name when archived.
    pub suffix: String,
    /// The posting level set when archived (above the members' 0, so they can no longer post).
    pub posting_level: i64,
    /// What happens after the closing message: archived (kept, read-only) or dissolved.
    pub end: End,
    /// Dissolve only: how long after the closing message the members are removed, so they
    /// have time to follow the long-lived group's link.
    pub grace: Duration,
}

/// How a flash group ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Renamed, closed to posts and kept.
    Archive,
    /// Archived as above, then after the grace period every remaining member who is not staff
    /// is removed and the group is marked dissolved.
    Dissolve,
}

impl FlashPlan {
    /// When a dissolving group's members are removed: the close plus the grace period.
    pub fn dissolves_at(&self) -> DateTime<Utc> {
        self.closes_at.plus(self.grace)
    }
}

/// One problem in a flash document: `line:col: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlashError {
    pub line: usize,
    pub col: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for FlashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.col, self.field, self.message
        )
    }
}

const DEFAULT_CLOSING: &str =
    "本次快闪活动到此结束，感谢大家的参与！🎉 长期福利群在这里，欢迎继续交流：{link}";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: String,
    platform: Spanned<String>,
    opens: Spanned<String>,
    #[serde(default = "three")]
    days: Spanned<u32>,
    link: Spanned<String>,
    closing: Option<Spanned<String>>,
    chat: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    #[serde(default)]
    topic: String,
    #[serde(default = "public")]
    join_rule: Spanned<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    moderators: BTreeMap<String, i64>,
    #[serde(default = "ended")]
    suffix: String,
    #[serde(default = "fifty")]
    posting_level: Spanned<i64>,
    #[serde(default = "archive")]
    end: Spanned<String>,
    grace_hours: Option<Spanned<u32>>,
}

fn three() -> Spanned<u32> {
    Spanned::new(0..0, 3)
}
fn public() -> Spanned<String> {
    Spanned::new(0..0, "public".into())
}
fn ended() -> String {
    "（已结束）".into()
}
fn fifty() -> Spanned<i64> {
    Spanned::new(0..0, 50)
}
fn archive() -> Spanned<String> {
    Spanned::new(0..0, "archive".into())
}

/// A dissolving group's members get a day to follow the long-lived group's link.
const DEFAULT_GRACE_HOURS: u32 = 24;

/// Whether a long-lived group link is one qunzhu can hand out: its own live code `/j/{code}`
/// or an absolute `https://` / `http://` link (an invite link, matrix.to, a WeCom group QR).
fn valid_link(link: &str) -> bool {
    if let Some(code) = link.strip_prefix("/j/") {
        return crate::livecode::valid_code(code);
    }
    (link.starts_with("https://") || link.starts_with("http://"))
        && link.len() > "https://".len()
        && !link.chars().any(char::is_whitespace)
}

/// Checks the flash document `name`; local times (`opens = "2026-12-10 10:00"`) are read in
/// the workspace's time zone. Every problem found is returned, each located.
pub fn parse_flash(name: &str, source: &str, tz: Tz) -> Result<FlashPlan, Vec<FlashError>> {
    let mut found = Vec::new();
    let mut at = |span: std::ops::Range<usize>, field: &str, message: String| {
        let (line, col) = line_col(source, span.start);
        found.push(FlashError {
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
    if !crate::livecode::valid_code(name) {
        at(
            0..0,
            "name",
            "a flash group's name is 1 to 32 characters of a-z, 0-9, `-` and `_`".into(),
        );
    }
    if raw.title.trim().is_empty() {
        at(0..0, "title", "give the flash group a title".into());
    }
    let platform = Platform::parse(raw.platform.get_ref()).unwrap_or_else(|error| {
        at(raw.platform.span(), "platform", error.to_string());
        Platform::Sandbox
    });
    let opens_at = NaiveDateTime::parse_from_str(raw.opens.get_ref().trim(), "%Y-%m-%d %H:%M")
        .ok()
        .and_then(|local| local.and_local_timezone(tz).earliest())
        .map(|local| local.with_timezone(&Utc));
    let opens_at = opens_at.unwrap_or_else(|| {
        at(
            raw.opens.span(),
            "opens",
            format!(
                "`{}` is not a local time such as \"2026-12-10 10:00\" ({tz})",
                raw.opens.get_ref()
            ),
        );
        DateTime::<Utc>::MIN_UTC
    });
    let days = *raw.days.get_ref();
    if !(1..=3).contains(&days) {
        at(
            raw.days.span(),
            "days",
            format!("{days}: a flash group sells for 1 to 3 days"),
        );
    }
    let link = raw.link.get_ref().trim().to_string();
    if !valid_link(&link) {
        at(
            raw.link.span(),
            "link",
            format!("`{link}` is neither a live code `/j/<code>` nor an https:// link"),
        );
    }
    let closing = match raw.closing {
        Some(text) if !text.get_ref().contains("{link}") => {
            at(
                text.span(),
                "closing",
                "the closing message needs `{link}`, where the long-lived group is offered".into(),
            );
            String::new()
        }
        Some(text) => text.into_inner(),
        None => DEFAULT_CLOSING.into(),
    };
    let chat = raw.chat.map(|chat| {
        if chat.get_ref().trim().is_empty() {
            at(
                chat.span(),
                "chat",
                "name the group, or leave `chat` out to have it made".into(),
            );
        }
        chat.into_inner()
    });
    let group_name = match raw.name {
        Some(given) if given.get_ref().trim().is_empty() => {
            at(given.span(), "name", "the group's name is empty".into());
            String::new()
        }
        Some(given) => given.into_inner(),
        None => raw.title.clone(),
    };
    let join_rule = JoinRule::parse(raw.join_rule.get_ref()).unwrap_or_else(|error| {
        at(raw.join_rule.span(), "join_rule", error.to_string());
        JoinRule::Public
    });
    let posting_level = *raw.posting_level.get_ref();
    if !(1..=100).contains(&posting_level) {
        at(
            raw.posting_level.span(),
            "posting_level",
            format!("{posting_level}: give a level from 1 to 100 (members hold 0)"),
        );
    }
    let end = match raw.end.get_ref().as_str() {
        "archive" => End::Archive,
        "dissolve" => End::Dissolve,
        other => {
            at(
                raw.end.span(),
                "end",
                format!("`{other}`: expected one of: archive, dissolve"),
            );
            End::Archive
        }
    };
    let grace_hours = match raw.grace_hours {
        Some(hours) if end != End::Dissolve => {
            at(
                hours.span(),
                "grace_hours",
                "a grace period applies only with end = \"dissolve\"".into(),
            );
            0
        }
        Some(hours) if *hours.get_ref() > 7 * 24 => {
            at(
                hours.span(),
                "grace_hours",
                format!("{}: give at most 168 hours (a week)", hours.get_ref()),
            );
            0
        }
        Some(hours) => *hours.get_ref(),
        None => DEFAULT_GRACE_HOURS,
    };
    let mut tags = vec![format!("flash-{name}")];
    for tag in raw.tags {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if !found.is_empty() {
        return Err(found);
    }
    Ok(FlashPlan {
        name: name.to_string(),
        title: raw.title,
        platform,
        chat,
        group_name,
        topic: raw.topic,
        join_rule,
        tags,
        moderators: raw.moderators,
        opens_at,
        closes_at: opens_at + Duration::days(i64::from(days)),
        closing,
        link,
        suffix: raw.suffix,
        posting_level,
        end,
        grace: Duration::hours(i64::from(grace_hours)),
    })
}

/// Where a flash group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Before it opens.
    Planned,
    /// The group is being made.
    Creating,
    /// The group exists, not yet recorded with the flash type and tags.
    Created,
    /// Selling: the SOP runs in it.
    Running,
    /// The sale is over: the closing message is on its way.
    Closing,
    /// Renamed and closed to posts, waiting for the platform.
    Archiving,
    /// Done; the group is kept, read-only.
    Archived,
    /// Archived and waiting out the grace period, or removing its members (`end = "dissolve"`).
    Dissolving,
    /// Done; the members were removed and the group is marked dissolved.
    Dissolved,
    /// Cannot go on without the operator (no group can be made here, or making it failed).
    Stuck,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Planned => "planned",
            Stage::Creating => "creating",
            Stage::Created => "created",
            Stage::Running => "running",
            Stage::Closing => "closing",
            Stage::Archiving => "archiving",
            Stage::Archived => "archived",
            Stage::Dissolving => "dissolving",
            Stage::Dissolved => "dissolved",
            Stage::Stuck => "stuck",
        }
    }
}

/// What the outbox knows of one keyed step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StepState {
    /// Not written yet.
    #[default]
    Absent,
    /// Written, not carried out yet.
    Waiting,
    /// Carried out, with the platform's receipt (the created group's id).
    Done(Option<String>),
    /// Given up (dead or skipped), with the reason.
    Failed(String),
}

impl StepState {
    pub(crate) fn settled(&self) -> bool {
        matches!(self, StepState::Done(_) | StepState::Failed(_))
    }
}

/// Everything [`decide`] needs to know about one flash group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    pub create: StepState,
    /// The group is in the directory with the flash type and the plan's tags.
    pub recorded: bool,
    pub close: StepState,
    pub rename: StepState,
    pub lock: StepState,
    /// The directory marks the group archived or dissolved (the SOP no longer posts in it).
    pub archived: bool,
    /// The directory marks the group dissolved.
    pub dissolved: bool,
    /// Dissolve only, once the grace period is over: every member still present in the
    /// memberships read model who is not staff ([`crate::flash_end::removable`]), with the
    /// step of their removal (`keys::flash_kick`).
    pub kicks: Vec<(String, StepState)>,
    /// Dissolve only, where the bot cannot remove members: the person's task (`keys::flash_dissolve`).
    pub dissolve: StepState,
}

/// What the platform can do, from its `Capabilities`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Can {
    pub create_groups: bool,
    pub send: bool,
    pub rename: bool,
    pub set_posting_level: bool,
    /// Remove a member (for `end = "dissolve"`).
    pub kick: bool,
}

/// A step the keeper should take now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Do {
    /// Write the `CreateGroup` action.
    Create,
    /// Record `chat` in the directory as a flash group with the plan's tags.
    Record { chat: String },
    /// Write the closing message.
    Close { chat: String },
    /// Write the rename and the posting-level change (those the platform can do).
    Archive { chat: String },
    /// Mark the group archived in the directory.
    Finish { chat: String },
    /// Write a removal of each of these members (one key each).
    Kick { chat: String, members: Vec<String> },
    /// Write the person's task to remove the remaining members (the bot cannot).
    DissolveTask { chat: String, members: usize },
    /// Mark the group dissolved in the directory.
    MarkDissolved { chat: String },
    /// Tell the operator (once per reason: the keeper keys alerts).
    Alert { kind: &'static str, message: String },
}

/// The flash group's chat, once known: named in the plan or the receipt of its creation.
pub fn chat_of(plan: &FlashPlan, facts: &Facts) -> Option<String> {
    match (&plan.chat, &facts.create) {
        (Some(chat), _) => Some(chat.clone()),
        (None, StepState::Done(Some(chat))) => Some(chat.clone()),
        _ => None,
    }
}

/// The lifecycle: where the group stands at `now` and what to do about it. Each step comes
/// after the one before it is settled, so a step is never taken out of order, and a step
/// already written is never asked for again.
pub fn decide(plan: &FlashPlan, facts: &Facts, can: Can, now: DateTime<Utc>) -> (Stage, Vec<Do>) {
    if now < plan.opens_at {
        return (Stage::Planned, Vec::new());
    }
    let Some(chat) = chat_of(plan, facts) else {
        return match &facts.create {
            StepState::Absent if can.create_groups => (Stage::Creating, vec![Do::Create]),
            StepState::Absent => (
                Stage::Stuck,
                vec![Do::Alert {
                    kind: "no_group",
                    message: format!(
                        "flash group `{}` opens now but {} bots cannot create groups: make the group, then name it as `chat` in the plan",
                        plan.name, plan.platform
                    ),
                }],
            ),
            StepState::Waiting => (Stage::Creating, Vec::new()),
            StepState::Done(None) | StepState::Failed(_) => {
                let reason = match &facts.create {
                    StepState::Failed(reason) => reason.clone(),
                    _ => "the platform named no group".into(),
                };
                (
                    Stage::Stuck,
                    vec![Do::Alert {
                        kind: "create_failed",
                        message: format!(
                            "flash group `{}` could not be created ({reason}): make it by hand and name it as `chat` in the plan",
                            plan.name
                        ),
                    }],
                )
            }
            // A chat in the plan or a receipt was handled above.
            StepState::Done(Some(_)) => (Stage::Creating, Vec::new()),
        };
    };
    if !facts.recorded {
        return (Stage::Created, vec![Do::Record { chat }]);
    }
    if now < plan.closes_at {
        return (Stage::Running, Vec::new());
    }
    match &facts.close {
        // Where the bot cannot post (`can.send`), the keeper writes it as a person's task.
        StepState::Absent => return (Stage::Closing, vec![Do::Close { chat }]),
        StepState::Waiting => return (Stage::Closing, Vec::new()),
        StepState::Done(_) | StepState::Failed(_) => {}
    }
    let mut todo = Vec::new();
    if let StepState::Failed(reason) = &facts.close {
        todo.push(Do::Alert {
            kind: "close_failed",
            message: format!(
                "flash group `{}`: the closing message was not posted ({reason}); tell the members about {} by hand",
                plan.name, plan.link
            ),
        });
    }
    let archive_wanted = (can.rename && facts.rename == StepState::Absent)
        || (can.set_posting_level && facts.lock == StepState::Absent);
    if archive_wanted {
        todo.push(Do::Archive { chat });
        return (Stage::Archiving, todo);
    }
    let settled = |step: &StepState, able: bool| !able || step.settled();
    if !settled(&facts.rename, can.rename) || !settled(&facts.lock, can.set_posting_level) {
        return (Stage::Archiving, todo);
    }
    if !facts.archived {
        todo.push(Do::Finish { chat });
        return (Stage::Archiving, todo);
    }
    match plan.end {
        End::Archive => (Stage::Archived, todo),
        End::Dissolve => crate::flash_end::dissolve(plan, facts, can, now, chat, todo),
    }
}

/// Where a flash group stands judged from what has been written and done alone — the view the
/// console and API show, which needs no platform capabilities (unlike [`decide`]).
pub fn stage_of(plan: &FlashPlan, facts: &Facts, now: DateTime<Utc>) -> Stage {
    if now < plan.opens_at {
        return Stage::Planned;
    }
    if chat_of(plan, facts).is_none() {
        return match facts.create {
            StepState::Absent | StepState::Waiting => Stage::Creating,
            _ => Stage::Stuck,
        };
    }
    if !facts.recorded {
        Stage::Created
    } else if facts.dissolved {
        Stage::Dissolved
    } else if facts.archived && plan.end == End::Dissolve {
        Stage::Dissolving
    } else if facts.archived {
        Stage::Archived
    } else if now < plan.closes_at {
        Stage::Running
    } else if !facts.close.settled() {
        Stage::Closing
    } else {
        Stage::Archiving
    }
}

/// The `CreateGroup` of a plan, keyed by the plan (`keys::flash_create`); the alias comes from
/// the key, so a create retried after a crash finds the group it already made.
pub fn create_action(workspace: WorkspaceId, plan: &FlashPlan) -> (String, ActionKind) {
    let key = keys::flash_create(&plan.name);
    let kind = ActionKind::CreateGroup {
        name: plan.group_name.clone(),
        topic: plan.topic.clone(),
        alias: keys::group_alias(workspace, &key),
        join_rule: plan.join_rule,
        power_users: plan.moderators.clone(),
        events_default: None,
    };
    (key, kind)
}

/// The closing message, with the long-lived group's link made absolute (`base_url` is the
/// server's public address, for a live code's `/j/{code}`).
pub fn closing_text(plan: &FlashPlan, base_url: &str) -> String {
    let link = if plan.link.starts_with('/') {
        format!("{}{}", base_url.trim_end_matches('/'), plan.link)
    } else {
        plan.link.clone()
    };
    plan.closing.replace("{link}", &link)
}

/// The archived group's name: its name with the suffix, once.
pub fn archived_name(current: &str, suffix: &str) -> String {
    if current.ends_with(suffix) {
        current.to_string()
    } else {
        format!("{current}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use qunzhu_domain::{Clock, FakeClock};

    use super::*;

    const GOOD: &str = r#"
title = "双十二快闪"
platform = "matrix"
opens = "2026-12-10 10:00"
days = 3
link = "/j/vip"
name = "双十二快闪群"
tags = ["1212"]
moderators = { "@amy:hs" = 50 }
"#;

    fn plan() -> FlashPlan {
        parse_flash("d12", GOOD, chrono_tz::Asia::Shanghai).unwrap()
    }

    const MATRIX: Can = Can {
        create_groups: true,
        send: true,
        rename: true,
        set_posting_level: true,
        kick: true,
    };

    #[test]
    fn a_good_plan_is_read_in_the_workspace_time_zone() {
        let plan = plan();
        assert_eq!(
            plan.opens_at,
            Utc.with_ymd_and_hms(2026, 12, 10, 2, 0, 0).unwrap(),
            "10:00 in Shanghai"
        );
        assert_eq!(plan.closes_at - plan.opens_at, Duration::days(3));
        assert_eq!(plan.tags, ["flash-d12", "1212"]);
        assert_eq!(plan.suffix, "（已结束）");
        assert_eq!(plan.posting_level, 50);
        assert_eq!(plan.end, End::Archive, "archived unless asked");
        let dissolving = parse_flash(
            "d12",
            &format!("{GOOD}end = \"dissolve\"\n"),
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
        assert_eq!(dissolving.end, End::Dissolve);
        assert_eq!(
            dissolving.dissolves_at() - dissolving.closes_at,
            Duration::hours(24),
            "a day's grace by default"
        );
        assert_eq!(
            closing_text(&plan, "https://q.example/"),
            "本次快闪活动到此结束，感谢大家的参与！🎉 长期福利群在这里，欢迎继续交流：https://q.example/j/vip"
        );
        let (key, kind) = create_action(WorkspaceId(2), &plan);
        assert_eq!(key, "flash:d12:create");
        let ActionKind::CreateGroup { name, alias, .. } = kind else {
            panic!("a create");
        };
        assert_eq!(name, "双十二快闪群");
        assert_eq!(alias, keys::group_alias(WorkspaceId(2), &key));
        assert_eq!(archived_name("群", "（已结束）"), "群（已结束）");
        assert_eq!(archived_name("群（已结束）", "（已结束）"), "群（已结束）");
    }

    #[test]
    fn bad_plans_are_located() {
        let head = "title = \"x\"\nplatform = \"matrix\"\n";
        let good = "opens = \"2026-12-10 10:00\"\nlink = \"/j/vip\"\n";
        let cases: Vec<(String, &str)> = vec![
            (
                format!("title = \"x\"\nplatform = \"irc\"\n{good}"),
                "2:12: platform:",
            ),
            (
                format!("{head}opens = \"10 Dec\"\nlink = \"/j/vip\"\n"),
                "3:9: opens:",
            ),
            (
                format!("{head}opens = \"2026-12-10 10:00\"\ndays = 5\nlink = \"/j/vip\"\n"),
                "4:8: days:",
            ),
            (
                format!("{head}opens = \"2026-12-10 10:00\"\nlink = \"vip group\"\n"),
                "4:8: link:",
            ),
            (
                format!("{head}opens = \"2026-12-10 10:00\"\nlink = \"/j/Bad Code\"\n"),
                "4:8: link:",
            ),
            (format!("{head}{good}closing = \"bye\"\n"), "5:11: closing:"),
            (
                format!("{head}{good}join_rule = \"open\"\n"),
                "5:13: join_rule:",
            ),
            (
                format!("{head}{good}posting_level = 0\n"),
                "5:17: posting_level:",
            ),
            (format!("{head}{good}speed = 1\n"), "5:1: document:"),
            (format!("{head}{good}end = \"delete\"\n"), "5:7: end:"),
            (
                format!("{head}{good}grace_hours = 2\n"),
                "5:15: grace_hours: a grace period applies only",
            ),
            (
                format!("{head}{good}end = \"dissolve\"\ngrace_hours = 200\n"),
                "6:15: grace_hours: 200",
            ),
            (
                format!("{head}link = \"/j/vip\"\n"),
                "document: missing field `opens`",
            ),
        ];
        for (source, expected) in cases {
            let errors = parse_flash("f", &source, chrono_tz::Asia::Shanghai).unwrap_err();
            let text = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(text.contains(expected), "{source}\n→ {text}");
        }
        let errors = parse_flash("Bad Name", GOOD, chrono_tz::Asia::Shanghai).unwrap_err();
        assert_eq!(errors[0].field, "name");
    }

    /// What the fake platform reports after a step: which of the facts changes.
    #[derive(Clone, Copy)]
    enum World {
        Nothing,
        CreateWritten,
        Created,
        Recorded,
        CloseWritten,
        Closed,
        ArchiveWritten,
        ArchiveDone,
        Finished,
    }

    fn apply(facts: &mut Facts, world: World) {
        match world {
            World::Nothing => {}
            World::CreateWritten => facts.create = StepState::Waiting,
            World::Created => facts.create = StepState::Done(Some("!flash:hs".into())),
            World::Recorded => facts.recorded = true,
            World::CloseWritten => facts.close = StepState::Waiting,
            World::Closed => facts.close = StepState::Done(Some("$bye".into())),
            World::ArchiveWritten => {
                facts.rename = StepState::Waiting;
                facts.lock = StepState::Waiting;
            }
            World::ArchiveDone => {
                facts.rename = StepState::Done(None);
                facts.lock = StepState::Done(None);
            }
            World::Finished => facts.archived = true,
        }
    }

    #[test]
    fn the_lifecycle_runs_created_running_closing_archived_on_a_fake_clock() {
        let plan = plan();
        let chat = || "!flash:hs".to_string();
        // (minutes after 2026-12-10 00:00 Shanghai, what the world did before, stage, steps)
        let rows: Vec<(i64, World, Stage, Vec<Do>)> = vec![
            (0, World::Nothing, Stage::Planned, vec![]),
            (9 * 60 + 59, World::Nothing, Stage::Planned, vec![]),
            (10 * 60, World::Nothing, Stage::Creating, vec![Do::Create]),
            (10 * 60, World::CreateWritten, Stage::Creating, vec![]),
            (
                10 * 60 + 1,
                World::Created,
                Stage::Created,
                vec![Do::Record { chat: chat() }],
            ),
            (10 * 60 + 1, World::Recorded, Stage::Running, vec![]),
            (2 * 1440, World::Nothing, Stage::Running, vec![]),
            (
                3 * 1440 + 10 * 60 - 1,
                World::Nothing,
                Stage::Running,
                vec![],
            ),
            (
                3 * 1440 + 10 * 60,
                World::Nothing,
                Stage::Closing,
                vec![Do::Close { chat: chat() }],
            ),
            (
                3 * 1440 + 10 * 60,
                World::CloseWritten,
                Stage::Closing,
                vec![],
            ),
            (
                3 * 1440 + 10 * 60 + 1,
                World::Closed,
                Stage::Archiving,
                vec![Do::Archive { chat: chat() }],
            ),
            (
                3 * 1440 + 10 * 60 + 1,
                World::ArchiveWritten,
                Stage::Archiving,
                vec![],
            ),
            (
                3 * 1440 + 10 * 60 + 2,
                World::ArchiveDone,
                Stage::Archiving,
                vec![Do::Finish { chat: chat() }],
            ),
            (
                3 * 1440 + 10 * 60 + 2,
                World::Finished,
                Stage::Archived,
                vec![],
            ),
            (10 * 1440, World::Nothing, Stage::Archived, vec![]),
        ];
        let midnight = Utc.with_ymd_and_hms(2026, 12, 9, 16, 0, 0).unwrap();
        let clock = FakeClock::new(midnight);
        let mut facts = Facts::default();
        for (minutes, world, stage, todo) in rows {
            let at = midnight + Duration::minutes(minutes);
            clock.advance(at - clock.now());
            apply(&mut facts, world);
            let decided = decide(&plan, &facts, MATRIX, clock.now());
            assert_eq!(decided, (stage, todo), "at +{minutes} min");
            if decided.1.is_empty() {
                // Between steps, the view from the facts alone agrees with the decision.
                assert_eq!(
                    stage_of(&plan, &facts, clock.now()),
                    stage,
                    "at +{minutes} min"
                );
            }
        }
    }

    #[test]
    fn platforms_that_cannot_create_or_lock_are_planned_by_their_capabilities() {
        let open = Utc.with_ymd_and_hms(2026, 12, 10, 2, 0, 0).unwrap();
        let close = open + Duration::days(3);
        let telegram = Can {
            create_groups: false,
            send: true,
            rename: true,
            set_posting_level: false,
            kick: true,
        };
        let plan = plan();
        let (stage, todo) = decide(&plan, &Facts::default(), telegram, open);
        assert_eq!(stage, Stage::Stuck);
        assert!(matches!(
            &todo[..],
            [Do::Alert {
                kind: "no_group",
                ..
            }]
        ));
        // Named in the plan, an existing group runs the same lifecycle.
        let mut named = plan.clone();
        named.chat = Some("-100".into());
        let (stage, todo) = decide(&named, &Facts::default(), telegram, open);
        assert_eq!(
            (stage, todo),
            (
                Stage::Created,
                vec![Do::Record {
                    chat: "-100".into()
                }]
            )
        );
        // Archiving waits only for what the platform can do: the rename here.
        let mut facts = Facts {
            recorded: true,
            close: StepState::Done(None),
            rename: StepState::Done(None),
            ..Facts::default()
        };
        assert_eq!(
            decide(&named, &facts, telegram, close),
            (
                Stage::Archiving,
                vec![Do::Finish {
                    chat: "-100".into()
                }]
            )
        );
        facts.archived = true;
        assert_eq!(decide(&named, &facts, telegram, close).0, Stage::Archived);
        // A failed create or closing message is the operator's to fix, said once per reason.
        let failed = Facts {
            create: StepState::Failed("M_FORBIDDEN".into()),
            ..Facts::default()
        };
        let (stage, todo) = decide(&plan, &failed, MATRIX, open);
        assert_eq!(stage, Stage::Stuck);
        assert!(
            matches!(&todo[..], [Do::Alert { kind: "create_failed", message }] if message.contains("M_FORBIDDEN"))
        );
        let unsent = Facts {
            create: StepState::Done(Some("!f:hs".into())),
            recorded: true,
            close: StepState::Failed("rate".into()),
            ..Facts::default()
        };
        let (stage, todo) = decide(&plan, &unsent, MATRIX, close);
        assert_eq!(stage, Stage::Archiving);
        assert!(matches!(
            &todo[..],
            [
                Do::Alert {
                    kind: "close_failed",
                    ..
                },
                Do::Archive { .. }
            ]
        ));
    }
}

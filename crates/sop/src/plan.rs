//! Plans and steps: what an operator's SOP says to post, where, and on which time rule.
//!
//! A [`Plan`] is already validated: the parser and the templates are the only ways to build one
//! from outside, and both check what `materialize` relies on (times exist, targets are not empty,
//! every template variable is known).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use chrono_tz::Tz;
use qunzhu_domain::GroupType;

/// The time zone of a plan that names none: the articles' operators are in mainland China.
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Asia::Shanghai;

/// How late a post may still go out before it is skipped (a morning report at noon is noise).
pub const DEFAULT_GRACE: Duration = Duration::minutes(15);

/// An operator's SOP: shared links and anchor dates, and the steps that post.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Unique per workspace; part of every occurrence key, so it never contains `:`.
    pub id: String,
    pub name: String,
    /// Default time zone; each step carries its own resolved zone.
    pub timezone: Tz,
    /// Named links `{link:NAME}` may refer to.
    pub links: BTreeMap<String, String>,
    /// Named anchor dates (`course = [2026-03-10, …]`) shared by every targeted group.
    pub anchors: BTreeMap<String, Vec<NaiveDate>>,
    pub steps: Vec<Step>,
}

/// One thing to post on one time rule; plan-level defaults are already folded in.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Unique within the plan; part of every occurrence key, so it never contains `:`.
    pub id: String,
    pub title: String,
    pub rule: TimeRule,
    pub timezone: Tz,
    pub window: ActiveWindow,
    /// Local dates on which the step does not fire (holidays, a store closure).
    pub blackout: BTreeSet<NaiveDate>,
    pub target: Target,
    pub content: Content,
    pub grace: Duration,
}

/// When a step fires, in its time zone's wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeRule {
    Daily {
        at: NaiveTime,
    },
    /// `weekdays` is never empty.
    Weekly {
        weekdays: Vec<Weekday>,
        at: NaiveTime,
    },
    /// `months` empty means every month; a month without `day` is skipped.
    Monthly {
        day: MonthDay,
        months: Vec<u32>,
        at: NaiveTime,
    },
    Once {
        at: NaiveDateTime,
    },
    /// `offset_days` after (or before, if negative) each anchor date, at a wall-clock time.
    Relative {
        anchor: Anchor,
        offset_days: i32,
        at: NaiveTime,
    },
}

/// A day of the month for monthly rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthDay {
    /// 1–31; months without it are skipped.
    Day(u32),
    /// The month's last day, whatever its length.
    Last,
}

/// What a relative rule counts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The local date the group was created on (day 0).
    GroupCreated,
    /// A named date list, from the plan's `anchors` and each group's own facts.
    Named(String),
}

/// Local dates a step is active on, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveWindow {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl ActiveWindow {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| date >= from) && self.until.is_none_or(|until| date <= until)
    }
}

/// Which groups a step posts to: listed chats, plus groups matching every non-empty filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// Every active group of the workspace.
    pub all: bool,
    pub chats: Vec<String>,
    pub group_types: Vec<GroupType>,
    /// A group matches when it carries any of these tags.
    pub tags: Vec<String>,
}

impl Target {
    pub fn all() -> Self {
        Target {
            all: true,
            ..Target::default()
        }
    }

    pub fn chats<S: Into<String>>(chats: impl IntoIterator<Item = S>) -> Self {
        Target {
            chats: chats.into_iter().map(Into::into).collect(),
            ..Target::default()
        }
    }

    pub fn group_types(group_types: impl IntoIterator<Item = GroupType>) -> Self {
        Target {
            group_types: group_types.into_iter().collect(),
            ..Target::default()
        }
    }

    pub fn tags<S: Into<String>>(tags: impl IntoIterator<Item = S>) -> Self {
        Target {
            tags: tags.into_iter().map(Into::into).collect(),
            ..Target::default()
        }
    }

    /// Nothing would ever match: rejected at save time.
    pub fn is_empty(&self) -> bool {
        !self.all && self.chats.is_empty() && self.group_types.is_empty() && self.tags.is_empty()
    }

    /// Type and tag filters narrow each other (a "check-in group tagged vip"); chats are added.
    pub fn matches(&self, chat: &str, group_type: GroupType, tags: &[String]) -> bool {
        if self.all || self.chats.iter().any(|listed| listed == chat) {
            return true;
        }
        let has_filter = !self.group_types.is_empty() || !self.tags.is_empty();
        has_filter
            && (self.group_types.is_empty() || self.group_types.contains(&group_type))
            && (self.tags.is_empty() || self.tags.iter().any(|tag| tags.contains(tag)))
    }
}

/// What a step posts: text with `{variables}`, an optional attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub text: String,
    /// A URL or a media path the connector uploads.
    pub attachment: Option<String>,
    /// A 朋友圈 (moments) post for these staff instead of a group post (`kind = "moment"`);
    /// empty means the connector's configured staff. Planned once per firing, not per group.
    pub moments: Option<Vec<String>>,
    /// A poll (`kind = "poll"`, the text is its question), a game (`kind = "dice"` /
    /// `"quiz"`, the text announces it) or a point drop (`kind = "drop"`, the text is posted
    /// before the drop opens) instead of a plain post.
    pub activity: Option<Activity>,
}

/// What a step does in the group besides posting its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// A poll whose answers tag members: an answer adds its option's tag, a retraction removes it.
    Poll { options: Vec<PollOption> },
    /// A dice game or a quiz climb the engine runs, winners paid through the ledger.
    Game(qunzhu_domain::GamePlan),
    /// A point drop (红包雨) the engine schedules at the step's time, once per occurrence.
    Drop(qunzhu_domain::DropPlan),
}

/// One answer of a poll step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOption {
    pub text: String,
    /// The member tag choosing it gives (`city:上海`).
    pub tag: Option<String>,
}

impl TimeRule {
    /// Whether a calendar rule fires on this local date (relative rules are per anchor, never here).
    pub fn fires_on(&self, date: NaiveDate) -> bool {
        match self {
            TimeRule::Daily { .. } => true,
            TimeRule::Weekly { weekdays, .. } => weekdays.contains(&date.weekday()),
            TimeRule::Monthly { day, months, .. } => {
                (months.is_empty() || months.contains(&date.month())) && day.matches(date)
            }
            TimeRule::Once { at } => at.date() == date,
            TimeRule::Relative { .. } => false,
        }
    }

    /// The wall-clock time of day it fires at.
    pub fn time(&self) -> NaiveTime {
        match self {
            TimeRule::Daily { at }
            | TimeRule::Weekly { at, .. }
            | TimeRule::Monthly { at, .. }
            | TimeRule::Relative { at, .. } => *at,
            TimeRule::Once { at } => at.time(),
        }
    }
}

impl MonthDay {
    pub fn matches(self, date: NaiveDate) -> bool {
        match self {
            MonthDay::Day(day) => date.day() == day,
            MonthDay::Last => date
                .succ_opt()
                .is_none_or(|next| next.month() != date.month()),
        }
    }
}

/// The most days a month can have, counting February 29.
pub fn max_days_in_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// English month names, for diagnostics.
pub fn month_name_en(month: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES
        .get(month.wrapping_sub(1) as usize)
        .copied()
        .unwrap_or("?")
}

/// 周一…周日, as operators write and read them.
pub fn weekday_zh(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "周一",
        Weekday::Tue => "周二",
        Weekday::Wed => "周三",
        Weekday::Thu => "周四",
        Weekday::Fri => "周五",
        Weekday::Sat => "周六",
        Weekday::Sun => "周日",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn last_day_of_month_includes_leap_february() {
        for (day, expected) in [
            ("2028-02-29", true),
            ("2028-02-28", false),
            ("2027-02-28", true),
            ("2026-12-31", true),
        ] {
            assert_eq!(MonthDay::Last.matches(date(day)), expected, "{day}");
        }
    }

    #[test]
    fn target_filters_narrow_each_other_and_chats_add() {
        let target = Target {
            chats: vec!["!x".into()],
            group_types: vec![GroupType::CheckIn],
            tags: vec!["vip".into()],
            all: false,
        };
        let vip = vec!["vip".to_string()];
        assert!(target.matches("!x", GroupType::Traffic, &[]));
        assert!(target.matches("!y", GroupType::CheckIn, &vip));
        assert!(!target.matches("!y", GroupType::CheckIn, &[]));
        assert!(!target.matches("!y", GroupType::Traffic, &vip));
        assert!(!Target::default().matches("!x", GroupType::Traffic, &[]));
        assert!(Target::default().is_empty());
    }
}

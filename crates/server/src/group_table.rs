//! The group table an operator works from: per group, today / 7 days / 30 days of members, net
//! change, joins, left vs removed, distinct speakers and their share, messages, check-ins and
//! link clicks; capacity against the platform's cap; health judged against the group's own size
//! and history. Read from the store's report queries, never from the log.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{local_day, GroupId, GroupStatus, GroupType, Platform, WorkspaceId};
use qunzhu_storage::{DaySpan, GroupDayReport, GroupSummary, Store, StoreError};
use serde::{Deserialize, Serialize};

/// The three windows every number is shown for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Today,
    #[default]
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Today, Period::Week, Period::Month];

    pub fn days(self) -> i64 {
        match self {
            Period::Today => 1,
            Period::Week => 7,
            Period::Month => 30,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Today => "today",
            Period::Week => "7d",
            Period::Month => "30d",
        }
    }

    pub fn parse(text: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// One group's numbers over one period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PeriodStats {
    /// Joins minus everyone who went (left or removed).
    pub net: i64,
    pub joins: u64,
    /// 主动退群.
    pub left: u64,
    /// 被移出 (kicked or banned).
    pub removed: u64,
    /// Distinct members who spoke in the period.
    pub speakers: u64,
    /// `speakers` over today's members, 0 for an empty group.
    pub speaker_ratio: f64,
    pub messages: u64,
    pub checkins: u64,
    pub link_clicks: u64,
}

/// How alive a group is, judged against its own size and its own last month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Nobody spoke all week.
    Dormant,
    /// Much quieter than its own recent past, or losing members.
    Declining,
    /// Few of its members speak.
    Quiet,
    Healthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Dormant => "dormant",
            Health::Declining => "declining",
            Health::Quiet => "quiet",
            Health::Healthy => "healthy",
        }
    }
}

/// What the health judgement looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Vitals {
    pub members: u64,
    /// Distinct speakers in the last 7 days.
    pub week_speakers: u64,
    /// Messages in the last 7 days and in the 23 days before.
    pub week_messages: u64,
    pub earlier_messages: u64,
    /// Net member change in the last 7 days.
    pub week_net: i64,
}

/// Share of members speaking in a week below which a group is quiet (a 1,000-member group needs
/// 50 different voices a week, not 3 a day).
const QUIET_SHARE: f64 = 0.05;
/// A week at less than half its usual daily messages is declining.
const DECLINE: f64 = 0.5;
/// Losing more than this share of members in a week is declining.
const SHRINK: f64 = 0.05;

impl Vitals {
    /// Messages per day this week against the 23 days before (1 when there is no history).
    pub fn trend(&self) -> f64 {
        if self.earlier_messages == 0 {
            return 1.0;
        }
        (self.week_messages as f64 / 7.0) / (self.earlier_messages as f64 / 23.0)
    }

    pub fn speaker_share(&self) -> f64 {
        if self.members == 0 {
            0.0
        } else {
            self.week_speakers as f64 / self.members as f64
        }
    }

    pub fn judge(&self) -> Health {
        if self.week_speakers == 0 {
            return Health::Dormant;
        }
        let shrinking = self.members > 0 && (-self.week_net) as f64 > self.members as f64 * SHRINK;
        if self.trend() < DECLINE || shrinking {
            return Health::Declining;
        }
        if self.speaker_share() < QUIET_SHARE {
            return Health::Quiet;
        }
        Health::Healthy
    }

    /// Lower is sicker: the table's default order puts the dying groups first.
    pub fn score(&self) -> f64 {
        let rank = f64::from(self.judge() as u8);
        rank + self.speaker_share().min(1.0) * self.trend().min(2.0) / 2.0
    }
}

/// The most members a platform lets a group have, where it has a limit
/// (WeCom customer groups: 500; Telegram supergroups: 200,000; Matrix: none).
pub fn platform_cap(platform: Platform) -> Option<u32> {
    match platform {
        Platform::WeCom => Some(500),
        Platform::Telegram => Some(200_000),
        Platform::Matrix | Platform::Sandbox => None,
    }
}

/// Members against the smaller of the group's own capacity and the platform's cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    Room,
    /// At or above 90%.
    Near,
    Full,
}

pub fn fill(members: u64, cap: u32) -> Fill {
    let cap = u64::from(cap.max(1));
    if members >= cap {
        Fill::Full
    } else if members * 10 >= cap * 9 {
        Fill::Near
    } else {
        Fill::Room
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    #[serde(flatten)]
    pub summary: GroupSummary,
    pub members: u64,
    /// The cap this group is measured against.
    pub cap: u32,
    pub fill: Fill,
    pub today: PeriodStats,
    pub week: PeriodStats,
    pub month: PeriodStats,
    pub health: Health,
    pub score: f64,
    /// Oldest first, ending today: 30 days of rows for charts.
    #[serde(skip)]
    pub days: Vec<GroupDayReport>,
}

impl GroupRow {
    pub fn period(&self, period: Period) -> &PeriodStats {
        match period {
            Period::Today => &self.today,
            Period::Week => &self.week,
            Period::Month => &self.month,
        }
    }
}

/// The local day `day` as an instant range in `zone` (a day without midnight, as on some DST
/// changes, starts at its first existing instant).
pub fn day_span(day: NaiveDate, zone: Tz) -> DaySpan {
    let start_of = |day: NaiveDate| -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        zone.from_local_datetime(&midnight)
            .earliest()
            .or_else(|| {
                zone.from_local_datetime(&(midnight + Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| midnight.and_utc(), |t| t.to_utc())
    };
    DaySpan {
        day,
        start: start_of(day),
        end: start_of(day + Duration::days(1)),
    }
}

/// The last `days` local days ending today, oldest first.
pub fn last_days(now: DateTime<Utc>, zone: Tz, days: i64) -> Vec<DaySpan> {
    let today = local_day(now, zone);
    (0..days)
        .rev()
        .map(|back| day_span(today - Duration::days(back), zone))
        .collect()
}

fn sum(days: &[GroupDayReport], members: u64, speakers: u64) -> PeriodStats {
    let mut s = PeriodStats {
        speakers,
        ..PeriodStats::default()
    };
    for d in days {
        s.joins += d.joins;
        s.left += d.left;
        s.removed += d.removed;
        s.messages += d.messages;
        s.checkins += d.checkins;
        s.link_clicks += d.link_clicks;
    }
    s.net = s.joins as i64 - (s.left + s.removed) as i64;
    s.speaker_ratio = if members == 0 {
        0.0
    } else {
        speakers as f64 / members as f64
    };
    s
}

/// Every group of the workspace with its numbers; `group_id` narrows to one group.
pub async fn group_rows(
    store: &dyn Store,
    workspace: WorkspaceId,
    zone: Tz,
    now: DateTime<Utc>,
    group_id: Option<GroupId>,
) -> Result<Vec<GroupRow>, StoreError> {
    let spans = last_days(now, zone, 30);
    let today = local_day(now, zone);
    let mut by_group: BTreeMap<GroupId, Vec<GroupDayReport>> = BTreeMap::new();
    for row in store.group_day_report(workspace, &spans).await? {
        by_group.entry(row.group_id).or_default().push(row);
    }
    // Today, the last 7 and the last 30 days all end now: one read of the speaker days.
    let starts = [0, 6, 29].map(|back| today - Duration::days(back));
    let speakers = store.speakers_since(workspace, &starts).await?;
    let speakers_of = |id: GroupId, window: usize| {
        speakers
            .get(&id)
            .and_then(|counts| counts.get(window).copied())
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    for summary in store.groups(workspace).await? {
        let id = summary.group.id;
        if group_id.is_some_and(|wanted| wanted != id) {
            continue;
        }
        let rows = by_group.remove(&id).unwrap_or_default();
        let days: Vec<GroupDayReport> = spans
            .iter()
            .map(|span| {
                rows.iter()
                    .find(|r| r.day == span.day)
                    .copied()
                    .unwrap_or(GroupDayReport::empty(id, span.day))
            })
            .collect();
        let members = summary.members_present;
        let today_row = days
            .last()
            .copied()
            .unwrap_or(GroupDayReport::empty(id, today));
        let week_days = &days[days.len().saturating_sub(7)..];
        let today_stats = sum(
            std::slice::from_ref(&today_row),
            members,
            speakers_of(id, 0),
        );
        let week = sum(week_days, members, speakers_of(id, 1));
        let month = sum(&days, members, speakers_of(id, 2));
        let vitals = Vitals {
            members,
            week_speakers: week.speakers,
            week_messages: week.messages,
            earlier_messages: month.messages - week.messages,
            week_net: week.net,
        };
        let cap = platform_cap(summary.group.platform).map_or(summary.group.capacity, |cap| {
            cap.min(summary.group.capacity)
        });
        out.push(GroupRow {
            members,
            cap,
            fill: fill(members, cap),
            today: today_stats,
            week,
            month,
            health: vitals.judge(),
            score: vitals.score(),
            days,
            summary,
        });
    }
    Ok(out)
}

/// The table's sortable columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Sickest first.
    #[default]
    Health,
    Name,
    Members,
    Net,
    Joins,
    Left,
    Removed,
    Speakers,
    Ratio,
    Messages,
    Checkins,
    Clicks,
    Fill,
}

impl SortKey {
    pub const ALL: [SortKey; 13] = [
        SortKey::Health,
        SortKey::Name,
        SortKey::Members,
        SortKey::Net,
        SortKey::Joins,
        SortKey::Left,
        SortKey::Removed,
        SortKey::Speakers,
        SortKey::Ratio,
        SortKey::Messages,
        SortKey::Checkins,
        SortKey::Clicks,
        SortKey::Fill,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Health => "health",
            SortKey::Name => "name",
            SortKey::Members => "members",
            SortKey::Net => "net",
            SortKey::Joins => "joins",
            SortKey::Left => "left",
            SortKey::Removed => "removed",
            SortKey::Speakers => "speakers",
            SortKey::Ratio => "ratio",
            SortKey::Messages => "messages",
            SortKey::Checkins => "checkins",
            SortKey::Clicks => "clicks",
            SortKey::Fill => "fill",
        }
    }

    pub fn parse(text: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Name and health read best ascending; counts read best largest first.
    pub fn ascending_by_default(self) -> bool {
        matches!(self, SortKey::Health | SortKey::Name)
    }
}

/// What the table shows: search text, filters, the period, the sort.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TableQuery {
    pub q: Option<String>,
    #[serde(rename = "type")]
    pub group_type: Option<String>,
    pub tag: Option<String>,
    pub status: Option<String>,
    pub period: Option<String>,
    pub sort: Option<String>,
    /// `asc` or `desc`; the column's natural order if absent.
    pub dir: Option<String>,
    /// The console's page of the table, from 1 ([`PAGE_ROWS`] rows each).
    pub page: Option<String>,
}

/// Rows on one page of the console's group table.
pub const PAGE_ROWS: usize = 100;

/// A [`TableQuery`] checked: unknown values are errors naming the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableView {
    pub text: String,
    pub group_type: Option<GroupType>,
    pub tag: Option<String>,
    pub status: Option<GroupStatus>,
    pub period: Period,
    pub sort: SortKey,
    pub ascending: bool,
    /// From 1.
    pub page: usize,
}

impl TableQuery {
    pub fn view(&self) -> Result<TableView, (&'static str, String)> {
        let blank = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let group_type = blank(&self.group_type)
            .map(|t| GroupType::parse(&t).map_err(|e| ("type", e.to_string())))
            .transpose()?;
        let status = blank(&self.status)
            .map(|s| GroupStatus::parse(&s).map_err(|e| ("status", e.to_string())))
            .transpose()?;
        let period = match blank(&self.period) {
            Some(p) => Period::parse(&p).ok_or(("period", format!("`{p}`: today, 7d or 30d")))?,
            None => Period::default(),
        };
        let sort = match blank(&self.sort) {
            Some(s) => SortKey::parse(&s).ok_or(("sort", format!("unknown column `{s}`")))?,
            None => SortKey::default(),
        };
        let ascending = match blank(&self.dir).as_deref() {
            None => sort.ascending_by_default(),
            Some("asc") => true,
            Some("desc") => false,
            Some(other) => return Err(("dir", format!("`{other}`: asc or desc"))),
        };
        let page = match blank(&self.page) {
            None => 1,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|page| *page >= 1)
                .ok_or(("page", format!("`{text}`: a page number from 1")))?,
        };
        Ok(TableView {
            text: blank(&self.q).unwrap_or_default(),
            group_type,
            tag: blank(&self.tag),
            status,
            period,
            sort,
            ascending,
            page,
        })
    }
}

impl TableView {
    /// Whether a row passes the view's filters.
    fn keeps(&self, row: &GroupRow, needle: &str) -> bool {
        let g = &row.summary.group;
        (needle.is_empty()
            || g.name.to_lowercase().contains(needle)
            || g.chat.to_lowercase().contains(needle)
            || g.tags.iter().any(|t| t.to_lowercase().contains(needle)))
            && self.group_type.is_none_or(|t| g.group_type == t)
            && self.status.is_none_or(|s| g.status == s)
            && self.tag.as_ref().is_none_or(|t| g.tags.contains(t))
    }

    /// The view's order of two rows (ties broken by id, so pages never overlap).
    fn order(&self, a: &GroupRow, b: &GroupRow) -> std::cmp::Ordering {
        let period = self.period;
        let key = |row: &GroupRow| -> f64 {
            let p = row.period(period);
            match self.sort {
                SortKey::Health => row.score,
                SortKey::Name => 0.0,
                SortKey::Members => row.members as f64,
                SortKey::Net => p.net as f64,
                SortKey::Joins => p.joins as f64,
                SortKey::Left => p.left as f64,
                SortKey::Removed => p.removed as f64,
                SortKey::Speakers => p.speakers as f64,
                SortKey::Ratio => p.speaker_ratio,
                SortKey::Messages => p.messages as f64,
                SortKey::Checkins => p.checkins as f64,
                SortKey::Clicks => p.link_clicks as f64,
                SortKey::Fill => row.members as f64 / f64::from(row.cap.max(1)),
            }
        };
        let order = if self.sort == SortKey::Name {
            a.summary.group.name.cmp(&b.summary.group.name)
        } else {
            key(a).total_cmp(&key(b))
        }
        .then_with(|| a.summary.group.id.cmp(&b.summary.group.id));
        if self.ascending {
            order
        } else {
            order.reverse()
        }
    }

    /// Filters and sorts the rows in place.
    pub fn apply(&self, rows: &mut Vec<GroupRow>) {
        let needle = self.text.to_lowercase();
        rows.retain(|row| self.keeps(row, &needle));
        rows.sort_by(|a, b| self.order(a, b));
    }

    /// The rows this view shows, filtered and sorted, borrowed from a kept table.
    pub fn select<'a>(&self, rows: &'a [GroupRow]) -> Vec<&'a GroupRow> {
        let needle = self.text.to_lowercase();
        let mut kept: Vec<&GroupRow> = rows.iter().filter(|row| self.keeps(row, &needle)).collect();
        kept.sort_by(|a, b| self.order(a, b));
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_relative_to_size_and_history() {
        let v = |members, week_speakers, week_messages, earlier_messages, week_net| Vitals {
            members,
            week_speakers,
            week_messages,
            earlier_messages,
            week_net,
        };
        let cases = [
            // Three voices a day in a 1,000-member group is quiet, not healthy.
            (v(1000, 3, 60, 200, 0), Health::Quiet),
            (v(1000, 80, 400, 1300, 0), Health::Healthy),
            (v(10, 2, 14, 46, 0), Health::Healthy),
            (v(200, 0, 0, 500, 0), Health::Dormant),
            // A week at a fifth of its usual messages.
            (v(200, 30, 40, 660, 0), Health::Declining),
            // Losing 20 of 200 in a week.
            (v(200, 40, 300, 990, -20), Health::Declining),
            // A new group with no history is judged on its share alone.
            (v(50, 10, 30, 0, 5), Health::Healthy),
        ];
        for (vitals, expected) in cases {
            assert_eq!(vitals.judge(), expected, "{vitals:?}");
        }
        assert!(cases[3].0.score() < cases[4].0.score());
        assert!(cases[4].0.score() < cases[0].0.score());
        assert!(cases[0].0.score() < cases[1].0.score());
    }

    #[test]
    fn capacity_warns_near_the_cap_and_spans_follow_the_zone() {
        assert_eq!(fill(449, 500), Fill::Room);
        assert_eq!(fill(450, 500), Fill::Near);
        assert_eq!(fill(500, 500), Fill::Full);
        assert_eq!(platform_cap(Platform::WeCom), Some(500));
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap_or_default();
        let span = day_span(day, chrono_tz::America::New_York);
        assert_eq!(span.end - span.start, Duration::hours(23), "DST starts");
        let span = day_span(day, chrono_tz::Asia::Shanghai);
        assert_eq!(span.start.to_rfc3339(), "2026-03-07T16:00:00+00:00");
    }

    #[test]
    fn table_queries_are_checked_field_by_field() {
        let q = |sort: &str, dir: &str, period: &str| TableQuery {
            sort: Some(sort.into()),
            dir: Some(dir.into()),
            period: Some(period.into()),
            ..TableQuery::default()
        };
        let view = q("messages", "", "30d").view().unwrap_or_default();
        assert_eq!(
            (view.sort, view.ascending, view.period),
            (SortKey::Messages, false, Period::Month)
        );
        assert_eq!(q("bogus", "", "").view().err().map(|e| e.0), Some("sort"));
        assert_eq!(q("name", "up", "").view().err().map(|e| e.0), Some("dir"));
        assert_eq!(
            q("name", "", "9d").view().err().map(|e| e.0),
            Some("period")
        );
        let view = TableQuery {
            group_type: Some("nope".into()),
            ..TableQuery::default()
        };
        assert_eq!(view.view().err().map(|e| e.0), Some("type"));
    }
}

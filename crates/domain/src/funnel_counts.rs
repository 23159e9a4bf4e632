//! Workspace funnel counts: the funnel and the cohort triangle of a whole workspace (or of one
//! invite channel) as a few thousand counters, so the console's unfiltered reads cost the same
//! after a year as after a day.
//!
//! The windows stay configurable at read time because the counters keep the raw delays, not the
//! verdicts: members are counted per whole-day delay from join to first activity (and to first
//! order), per week-after-join bit, and per join week. A window of `N` days is the sum of the
//! buckets up to `N`. The incremental consumer adds the difference a batch makes to the members
//! it touched ([`FunnelCounts::change`]); folding the whole log and counting its members with
//! [`FunnelCounts::of`] is the specification the stored counters are tested against.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::funnel::{week_start, CohortRow, Funnel, FunnelConfig};
use crate::invite::InviteChannel;
use crate::rollup::{MemberFacts, TRACKED_WEEKS};

/// Delays past this many days land in one last bucket: no activation window can reach it
/// ([`FunnelConfig::validate`] allows at most 365).
pub const ACTIVATION_BUCKETS: i64 = 366;
/// The same for the revenue window (at most 3650 days).
pub const REVENUE_BUCKETS: i64 = 3651;

string_enum! {
    /// What a counter counts.
    CountMeasure {
        Acquired => "acquired",
        ActivatedAfter => "activated_after",
        ActiveWeek => "active_week",
        OrderedAfter => "ordered_after",
        Referred => "referred",
        CohortSize => "cohort_size",
        CohortActive => "cohort_active"
    }
}

/// One counter: members of `channel` (None: no recorded channel) with `measure` at `bucket`
/// (a delay in whole days, or a week after the join), in join `week` for the cohort measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountCell {
    pub channel: Option<InviteChannel>,
    pub measure: CountMeasure,
    pub week: Option<NaiveDate>,
    pub bucket: i64,
}

/// Counters by cell; a cell whose count is 0 is absent, so two equal states compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunnelCounts {
    pub cells: BTreeMap<CountCell, i64>,
}

/// What one fold step does to the stored counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunnelDelta {
    /// Replace the workspace's counters (the first step that counts a workspace whose members
    /// were folded before the counters existed) rather than add to them.
    pub replace: bool,
    pub counts: FunnelCounts,
}

/// The smallest whole number of days `b` with `delay <= b days` (0 for a delay at or before
/// the join), so that `delay <= N days` exactly when `b <= N`.
fn delay_bucket(delay: Duration, last: i64) -> i64 {
    if delay <= Duration::zero() {
        return 0;
    }
    let whole = delay.num_days();
    let bucket = if delay > Duration::days(whole) {
        whole + 1
    } else {
        whole
    };
    bucket.min(last)
}

impl FunnelCounts {
    /// Adds `by` to one cell, dropping it when it reaches 0.
    pub fn add(&mut self, cell: CountCell, by: i64) {
        if by == 0 {
            return;
        }
        let count = self.cells.entry(cell).or_insert(0);
        *count += by;
        if *count == 0 {
            self.cells.remove(&cell);
        }
    }

    /// Adds `sign` for every counter one member's facts are in (nothing for a member qunzhu
    /// never saw join).
    pub fn count_member(&mut self, facts: &MemberFacts, zone: Tz, sign: i64) {
        let Some(joined) = facts.joined_at else {
            return;
        };
        let channel = facts.channel;
        let cell = |measure, week, bucket| CountCell {
            channel,
            measure,
            week,
            bucket,
        };
        self.add(cell(CountMeasure::Acquired, None, 0), sign);
        if let Some(first) = facts.first_active_at {
            let bucket = delay_bucket(first - joined, ACTIVATION_BUCKETS);
            self.add(cell(CountMeasure::ActivatedAfter, None, bucket), sign);
        }
        if let Some(first) = facts.first_order_at {
            let bucket = delay_bucket(first - joined, REVENUE_BUCKETS);
            self.add(cell(CountMeasure::OrderedAfter, None, bucket), sign);
        }
        if facts.referrals_stayed > 0 {
            self.add(cell(CountMeasure::Referred, None, 0), sign);
        }
        let week = Some(week_start(joined, zone));
        self.add(cell(CountMeasure::CohortSize, week, 0), sign);
        for k in 0..TRACKED_WEEKS {
            if facts.active_in_week(k as u32) {
                self.add(cell(CountMeasure::ActiveWeek, None, k), sign);
                self.add(cell(CountMeasure::CohortActive, week, k), sign);
            }
        }
    }

    /// The counters of a set of members.
    pub fn of<'a>(members: impl IntoIterator<Item = &'a MemberFacts>, zone: Tz) -> FunnelCounts {
        let mut out = FunnelCounts::default();
        for facts in members {
            out.count_member(facts, zone, 1);
        }
        out
    }

    /// What changes when the members in `before` become those in `after` (a member absent
    /// from `before` is new).
    pub fn change<'a, K: Ord + 'a>(
        before: &BTreeMap<K, MemberFacts>,
        after: &BTreeMap<K, MemberFacts>,
        zone: Tz,
    ) -> FunnelCounts {
        let mut out = FunnelCounts::default();
        for (key, facts) in after {
            match before.get(key) {
                Some(old) if old == facts => {}
                Some(old) => {
                    out.count_member(old, zone, -1);
                    out.count_member(facts, zone, 1);
                }
                None => out.count_member(facts, zone, 1),
            }
        }
        out
    }

    /// Adds every counter of `other`.
    pub fn merge(&mut self, other: &FunnelCounts) {
        for (cell, count) in &other.cells {
            self.add(*cell, *count);
        }
    }

    fn sum(
        &self,
        channel: Option<Option<InviteChannel>>,
        keep: impl Fn(&CountCell) -> bool,
    ) -> u64 {
        let total: i64 = self
            .cells
            .iter()
            .filter(|(cell, _)| channel.is_none_or(|wanted| cell.channel == wanted))
            .filter(|(cell, _)| keep(cell))
            .map(|(_, count)| *count)
            .sum();
        total.max(0) as u64
    }

    /// The channels that have members, as the funnel by channel names them (no channel is
    /// "direct", as it is when the funnel is counted from member rows).
    pub fn channels(&self) -> Vec<Option<InviteChannel>> {
        let mut out: Vec<_> = self.cells.keys().map(|cell| cell.channel).collect();
        out.dedup();
        out.sort();
        out.dedup();
        out
    }
}

impl FunnelConfig {
    /// The funnel the counters describe, of one channel or (None) of all: equal to
    /// [`FunnelConfig::funnel`] over the members they were counted from, for every valid window.
    pub fn funnel_of_counts(
        &self,
        counts: &FunnelCounts,
        channel: Option<Option<InviteChannel>>,
    ) -> Funnel {
        let measure_at = |measure: CountMeasure, up_to: Option<i64>| {
            counts.sum(channel, |cell| {
                cell.measure == measure && up_to.is_none_or(|last| cell.bucket <= last)
            })
        };
        let retention = i64::from(self.retention_week) - 1;
        Funnel {
            acquired: measure_at(CountMeasure::Acquired, None),
            activated: measure_at(
                CountMeasure::ActivatedAfter,
                Some(i64::from(self.activation_days)),
            ),
            retained: counts.sum(channel, |cell| {
                cell.measure == CountMeasure::ActiveWeek && cell.bucket == retention
            }),
            revenue: measure_at(
                CountMeasure::OrderedAfter,
                (self.revenue_days > 0).then_some(i64::from(self.revenue_days)),
            ),
            referral: measure_at(CountMeasure::Referred, None),
        }
    }
}

/// The retention triangle the counters describe, of one channel or (None) of all: equal to
/// [`crate::funnel::cohorts`] over the members they were counted from.
pub fn cohorts_of_counts(
    counts: &FunnelCounts,
    channel: Option<Option<InviteChannel>>,
    today: NaiveDate,
    weeks: usize,
) -> Vec<CohortRow> {
    let weeks = weeks.min(TRACKED_WEEKS as usize);
    let mut rows: BTreeMap<NaiveDate, CohortRow> = BTreeMap::new();
    let wanted = |cell: &CountCell| channel.is_none_or(|wanted| cell.channel == wanted);
    for (cell, count) in counts.cells.iter().filter(|(cell, _)| wanted(cell)) {
        let (CountMeasure::CohortSize, Some(week)) = (cell.measure, cell.week) else {
            continue;
        };
        if week > today {
            continue;
        }
        let open = (((today - week).num_days() / 7) as usize + 1).min(weeks);
        let row = rows.entry(week).or_insert_with(|| CohortRow {
            week,
            size: 0,
            active: vec![0; open],
        });
        row.size += (*count).max(0) as u64;
    }
    for (cell, count) in counts.cells.iter().filter(|(cell, _)| wanted(cell)) {
        let (CountMeasure::CohortActive, Some(week)) = (cell.measure, cell.week) else {
            continue;
        };
        if let Some(slot) = rows
            .get_mut(&week)
            .and_then(|row| row.active.get_mut(cell.bucket as usize))
        {
            *slot += (*count).max(0) as u64;
        }
    }
    // A join week whose members all moved away (a count back at 0) is no row, as in `cohorts`.
    rows.retain(|_, row| row.size > 0);
    rows.into_values().collect()
}

/// The instant a stored counter's join week is kept as (its Monday as days from the common era),
/// so a backend stores a plain integer; 0 means no week.
pub fn week_number(week: Option<NaiveDate>) -> i64 {
    use chrono::Datelike;
    week.map_or(0, |day| i64::from(day.num_days_from_ce()))
}

/// Reads [`week_number`] back.
pub fn week_of_number(number: i64) -> Option<NaiveDate> {
    if number == 0 {
        return None;
    }
    i32::try_from(number)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funnel::cohorts;
    use chrono::{DateTime, Utc};

    fn t(day: i64, seconds: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T10:00:00+08:00")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
            + Duration::days(day)
            + Duration::seconds(seconds)
    }

    /// A small deterministic generator of member facts, edge delays included.
    fn members(seed: u64, n: usize) -> Vec<MemberFacts> {
        let mut state = seed.max(1);
        let mut next = move |below: i64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below.max(1) as u64) as i64
        };
        let channels = [
            None,
            Some(InviteChannel::Invited),
            Some(InviteChannel::Link),
            Some(InviteChannel::Direct),
        ];
        (0..n)
            .map(|_| {
                let joined = t(next(120), next(86_400));
                let delay = |next: &mut dyn FnMut(i64) -> i64| {
                    // Exactly N days, a second either side, or anywhere within a long time.
                    match next(4) {
                        0 => Duration::days(next(400)),
                        1 => Duration::days(next(30)) + Duration::seconds(1),
                        2 => Duration::days(next(30)) - Duration::seconds(1),
                        _ => Duration::seconds(next(4000 * 86_400)),
                    }
                };
                MemberFacts {
                    joined_at: (next(10) > 0).then_some(joined),
                    channel: channels[next(4) as usize],
                    first_active_at: (next(3) > 0).then(|| joined + delay(&mut next)),
                    first_order_at: (next(3) == 0).then(|| joined + delay(&mut next)),
                    active_weeks: (next(i64::MAX) as u64) & (next(i64::MAX) as u64),
                    referrals_stayed: next(3) - 1,
                    ..MemberFacts::default()
                }
            })
            .collect()
    }

    #[test]
    fn counted_funnels_equal_the_funnel_over_members_for_every_window() {
        let zone = chrono_tz::Asia::Shanghai;
        for seed in 1..6 {
            let facts = members(seed, 300);
            let counts = FunnelCounts::of(&facts, zone);
            for activation_days in [1, 7, 30, 365] {
                for retention_week in [1, 4, 64] {
                    for revenue_days in [0, 1, 30, 3650] {
                        let config = FunnelConfig {
                            activation_days,
                            retention_week,
                            revenue_days,
                        };
                        assert_eq!(
                            config.funnel_of_counts(&counts, None),
                            config.funnel(&facts),
                            "{config:?}"
                        );
                        let linked: Vec<_> = facts
                            .iter()
                            .filter(|f| f.channel == Some(InviteChannel::Link))
                            .cloned()
                            .collect();
                        assert_eq!(
                            config.funnel_of_counts(&counts, Some(Some(InviteChannel::Link))),
                            config.funnel(&linked)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn counted_cohorts_equal_the_triangle_over_members() {
        let zone = chrono_tz::Asia::Shanghai;
        let facts = members(7, 500);
        let counts = FunnelCounts::of(&facts, zone);
        for (today, weeks) in [
            (t(0, 0), 12),
            (t(60, 0), 12),
            (t(200, 0), 64),
            (t(-5, 0), 4),
        ] {
            let today = crate::state::local_day(today, zone);
            assert_eq!(
                cohorts_of_counts(&counts, None, today, weeks),
                cohorts(&facts, today, zone, weeks)
            );
        }
    }

    #[test]
    fn a_change_is_what_the_members_moved() {
        let zone = chrono_tz::Asia::Shanghai;
        let before = members(3, 100);
        let mut after = before.clone();
        for (n, facts) in after.iter_mut().enumerate() {
            if n % 3 == 0 {
                facts.active_weeks |= 1 << (n % 64);
                facts.referrals_stayed = 0;
            }
        }
        after.extend(members(5, 10));
        let keyed = |list: &[MemberFacts]| -> BTreeMap<usize, MemberFacts> {
            list.iter().cloned().enumerate().collect()
        };
        let mut kept = FunnelCounts::of(&before, zone);
        kept.merge(&FunnelCounts::change(&keyed(&before), &keyed(&after), zone));
        assert_eq!(kept, FunnelCounts::of(&after, zone));
    }

    #[test]
    fn week_numbers_read_back() {
        let week = NaiveDate::from_ymd_opt(2026, 3, 2);
        assert_eq!(week_of_number(week_number(week)), week);
        assert_eq!(week_of_number(week_number(None)), None);
    }
}

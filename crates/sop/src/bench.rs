//! Planning throughput: how fast a day of posts is materialized for many groups.
//!
//! The target is a day for 10,000 groups × 5 steps in well under a second (release build), so
//! the engine can re-plan the whole workspace on every plan edit and at every start.

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDate, NaiveTime};
use qunzhu_domain::GroupType;

use crate::materialize::{materialize, GroupFacts};
use crate::plan::{
    ActiveWindow, Content, Plan, Step, Target, TimeRule, DEFAULT_GRACE, DEFAULT_TIMEZONE,
};

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    pub groups: usize,
    pub steps_per_day: usize,
    pub occurrences: usize,
    pub elapsed: StdDuration,
    pub occurrences_per_second: f64,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} groups × {} steps: {} occurrences in {:.1} ms ({:.0} occurrences/s)",
            self.groups,
            self.steps_per_day,
            self.occurrences,
            self.elapsed.as_secs_f64() * 1000.0,
            self.occurrences_per_second
        )
    }
}

/// Materializes one Shanghai day of `steps_per_day` daily steps (text with variables) for
/// `groups` groups of mixed types, and times it.
pub fn bench_plan_day(groups: usize, steps_per_day: usize) -> BenchReport {
    let start = NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
        .and_utc()
        - Duration::hours(8);
    let created = start - Duration::days(30);
    let facts: Vec<GroupFacts> = (0..groups)
        .map(|index| {
            let group_type = GroupType::ALL[index % GroupType::ALL.len()];
            let mut group = GroupFacts::new(
                format!("!group{index}:example.org"),
                format!("福利{index}群"),
                group_type,
                created,
            );
            group.member_count = 200 + (index % 300) as u32;
            group.tags = vec![if index % 2 == 0 { "vip" } else { "new" }.to_string()];
            group
        })
        .collect();
    let steps: Vec<Step> = (0..steps_per_day)
        .map(|index| {
            let minutes = (6 * 60 + index * (16 * 60) / steps_per_day.max(1)) as u32;
            Step {
                id: format!("step{index}"),
                title: format!("第{index}条"),
                rule: TimeRule::Daily { at: NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN) },
                timezone: DEFAULT_TIMEZONE,
                window: ActiveWindow::default(),
                blackout: Default::default(),
                target: Target::all(),
                content: Content {
                    text: "☀️ 早安，{group}的{member_count}位家人！今天是{date_zh} {weekday}，回复「打卡」签到～".into(),
                    attachment: None,
                    moments: None,
                    activity: None,
                },
                grace: DEFAULT_GRACE,
            }
        })
        .collect();
    let plan = Plan {
        id: "bench".into(),
        name: "bench".into(),
        timezone: DEFAULT_TIMEZONE,
        links: Default::default(),
        anchors: Default::default(),
        steps,
    };
    let began = Instant::now();
    let occurrences = materialize(&plan, &facts, start, start + Duration::days(1)).len();
    let elapsed = began.elapsed();
    BenchReport {
        groups,
        steps_per_day,
        occurrences,
        elapsed,
        occurrences_per_second: occurrences as f64 / elapsed.as_secs_f64().max(1e-9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_every_group_for_every_step() {
        let report = bench_plan_day(50, 5);
        assert_eq!(report.occurrences, 250);
        assert!(report.occurrences_per_second > 0.0);
    }

    /// The real measurement; `QUNZHU_BENCH=1 cargo test -p qunzhu-sop --release bench -- --nocapture`.
    #[test]
    fn bench_ten_thousand_groups_when_asked() {
        if std::env::var_os("QUNZHU_BENCH").is_none() {
            return;
        }
        let report = bench_plan_day(10_000, 5);
        println!("{report}");
        assert_eq!(report.occurrences, 50_000);
        assert!(report.elapsed < StdDuration::from_secs(1), "{report}");
    }
}

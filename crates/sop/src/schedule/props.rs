//! Property tests: a schedule never fires twice, never outside its window, and planning a period
//! in pieces gives exactly what planning it at once gives (the engine plans day by day).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;
use qunzhu_domain::GroupType;

use crate::materialize::{materialize, GroupFacts};
use crate::plan::{ActiveWindow, Content, MonthDay, Plan, Step, Target, TimeRule, DEFAULT_GRACE};

const ZONES: [Tz; 6] = [
    chrono_tz::Asia::Shanghai,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::UTC,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::Australia::Lord_Howe,
];

fn rule_strategy() -> impl Strategy<Value = TimeRule> {
    let at = (0u32..24, 0u32..60)
        .prop_map(|(hour, minute)| NaiveTime::from_hms_opt(hour, minute, 0).unwrap());
    prop_oneof![
        at.clone().prop_map(|at| TimeRule::Daily { at }),
        (at.clone(), proptest::collection::btree_set(0u8..7, 1..7)).prop_map(|(at, days)| {
            TimeRule::Weekly {
                weekdays: days
                    .into_iter()
                    .map(|day| Weekday::try_from(day).unwrap())
                    .collect(),
                at,
            }
        }),
        (at, 0u32..32).prop_map(|(at, day)| TimeRule::Monthly {
            day: if day == 0 {
                MonthDay::Last
            } else {
                MonthDay::Day(day)
            },
            months: vec![],
            at,
        }),
    ]
}

fn plan(rule: TimeRule, timezone: Tz) -> Plan {
    Plan {
        id: "p".into(),
        name: "p".into(),
        timezone,
        links: Default::default(),
        anchors: Default::default(),
        steps: vec![Step {
            id: "s".into(),
            title: "s".into(),
            rule,
            timezone,
            window: ActiveWindow::default(),
            blackout: Default::default(),
            target: Target::all(),
            content: Content {
                text: "{date} {weekday}".into(),
                attachment: None,
                moments: None,
                activity: None,
            },
            grace: DEFAULT_GRACE,
        }],
    }
}

proptest! {
    #[test]
    fn planning_in_pieces_equals_planning_at_once(
        rule in rule_strategy(),
        zone in 0usize..ZONES.len(),
        start_minutes in 0i64..(3 * 365 * 24 * 60),
        length_minutes in 1i64..(62 * 24 * 60),
        split_fraction in 0.0f64..1.0,
    ) {
        let timezone = ZONES[zone];
        let base: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let from = base + Duration::minutes(start_minutes);
        let until = from + Duration::minutes(length_minutes);
        let split = from + Duration::minutes((length_minutes as f64 * split_fraction) as i64);
        let plan = plan(rule.clone(), timezone);
        let groups = [GroupFacts::new("!g", "g", GroupType::Content, base - Duration::days(1))];

        let whole = materialize(&plan, &groups, from, until);
        let mut pieces = materialize(&plan, &groups, from, split);
        pieces.extend(materialize(&plan, &groups, split, until));
        prop_assert_eq!(&whole, &pieces);

        let mut local_dates = BTreeSet::new();
        for occurrence in &whole {
            prop_assert!(occurrence.scheduled >= from && occurrence.scheduled < until);
            // Never twice on one local day, and at the rule's time unless a DST gap moved it.
            prop_assert!(local_dates.insert(occurrence.local.date()), "fired twice on {}", occurrence.local.date());
            let nominal = occurrence.local.date().and_time(rule.time());
            let nominal_exists = timezone.from_local_datetime(&nominal).earliest().is_some();
            prop_assert!(occurrence.local.time() == rule.time() || !nominal_exists, "{:?}", occurrence);
            prop_assert!(rule.fires_on(occurrence.local.date()));
        }
    }
}

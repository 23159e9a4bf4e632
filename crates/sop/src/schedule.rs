//! Time rules to instants: which local dates a step fires on, and how wall-clock times map to UTC.
//!
//! DST policy (the same as RFC 5545 and java.time): a wall-clock time that does not exist because
//! clocks spring forward is read with the offset in force before the gap, so it moves forward by
//! the gap's length (Europe/Berlin 02:30 on the last Sunday of March fires at 03:30 CEST); a time
//! that occurs twice because clocks fall back fires once, at the first (summer-time) instant.
//! Operators expect "the morning post still goes out that morning", never a silent skip.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::plan::{Step, TimeRule};

/// A step firing: the nominal local date-time the rule names, and the instant it resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// The date and time the rule names; `{date}` and `{weekday}` render from it.
    pub nominal: NaiveDateTime,
    pub instant: DateTime<Utc>,
}

/// Resolves a wall-clock time in `tz` to an instant, by the DST policy above.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local).earliest() {
        Some(instant) => instant.with_timezone(&Utc),
        None => {
            // In a gap. A day earlier is safely before the transition and after the previous one
            // (zones change offset at most a few times a year), so its offset is the one in force
            // just before the gap.
            // Checked: a gap at the very start of the calendar keeps `local` rather than panicking.
            let day_before = local
                .checked_sub_signed(Duration::hours(24))
                .unwrap_or(local);
            let before_gap = tz.offset_from_utc_datetime(&day_before).fix();
            local
                .checked_sub_signed(Duration::seconds(i64::from(before_gap.local_minus_utc())))
                .unwrap_or(local)
                .and_utc()
        }
    }
}

/// The step's firings whose instant lies in `[from, until)`, for calendar rules and for relative
/// rules given their anchor dates; the active window and blackout dates are applied here.
pub fn fires_between(
    step: &Step,
    anchor_dates: &[NaiveDate],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Fire> {
    let tz = step.timezone;
    let mut fires = Vec::new();
    let mut consider = |date: NaiveDate| {
        if !step.window.contains(date) || step.blackout.contains(&date) {
            return;
        }
        let nominal = date.and_time(step.rule.time());
        let instant = resolve_local(tz, nominal);
        if instant >= from && instant < until {
            fires.push(Fire { nominal, instant });
        }
    };
    match &step.rule {
        TimeRule::Relative { offset_days, .. } => {
            let mut dates: Vec<NaiveDate> = anchor_dates
                .iter()
                .filter_map(|anchor| {
                    anchor.checked_add_signed(Duration::days(i64::from(*offset_days)))
                })
                .collect();
            dates.sort_unstable();
            dates.dedup();
            dates.into_iter().for_each(&mut consider);
        }
        TimeRule::Once { at } => consider(at.date()),
        rule => {
            // One day of margin on each side: the window's local dates can start a day before
            // its UTC start (east of UTC) or end a day after (west of UTC), and a DST shift never
            // moves a firing by more than a few hours.
            let first = from
                .with_timezone(&tz)
                .date_naive()
                .pred_opt()
                .unwrap_or(NaiveDate::MIN);
            let last = until
                .with_timezone(&tz)
                .date_naive()
                .succ_opt()
                .unwrap_or(NaiveDate::MAX);
            let first = step.window.from.map_or(first, |start| first.max(start));
            let last = step.window.until.map_or(last, |end| last.min(end));
            let mut date = first;
            while date <= last {
                if rule.fires_on(date) {
                    consider(date);
                }
                match date.succ_opt() {
                    Some(next) => date = next,
                    None => break,
                }
            }
        }
    }
    fires
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ActiveWindow, Anchor, Content, MonthDay, Target, DEFAULT_GRACE};
    use chrono::{NaiveTime, Weekday};

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn time(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").unwrap()
    }

    fn step(rule: TimeRule, tz: Tz) -> Step {
        Step {
            id: "s".into(),
            title: String::new(),
            rule,
            timezone: tz,
            window: ActiveWindow::default(),
            blackout: Default::default(),
            target: Target::all(),
            content: Content {
                text: "hi".into(),
                attachment: None,
                moments: None,
                activity: None,
            },
            grace: DEFAULT_GRACE,
        }
    }

    fn instants(step: &Step, anchors: &[NaiveDate], from: &str, until: &str) -> Vec<String> {
        fires_between(step, anchors, utc(from), utc(until))
            .iter()
            .map(|fire| fire.instant.to_rfc3339())
            .collect()
    }

    #[test]
    fn berlin_spring_forward_moves_a_missing_time_forward_by_the_gap() {
        let berlin = chrono_tz::Europe::Berlin;
        let nominal = date("2026-03-29").and_time(time("02:30"));
        assert_eq!(resolve_local(berlin, nominal), utc("2026-03-29T01:30:00Z"));
        assert_eq!(
            utc("2026-03-29T01:30:00Z")
                .with_timezone(&berlin)
                .format("%H:%M")
                .to_string(),
            "03:30"
        );
        let daily = step(TimeRule::Daily { at: time("02:30") }, berlin);
        assert_eq!(
            instants(&daily, &[], "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z"),
            [
                "2026-03-28T01:30:00+00:00",
                "2026-03-29T01:30:00+00:00",
                "2026-03-30T00:30:00+00:00"
            ]
        );
    }

    #[test]
    fn berlin_fall_back_fires_a_repeated_time_once_at_the_first_instant() {
        let berlin = chrono_tz::Europe::Berlin;
        let daily = step(TimeRule::Daily { at: time("02:30") }, berlin);
        assert_eq!(
            instants(&daily, &[], "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z"),
            ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
        );
    }

    #[test]
    fn monthly_day_31_skips_short_months_and_last_day_follows_month_length() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let day31 = step(
            TimeRule::Monthly {
                day: MonthDay::Day(31),
                months: vec![],
                at: time("09:00"),
            },
            shanghai,
        );
        assert_eq!(
            instants(&day31, &[], "2028-01-01T00:00:00Z", "2028-06-01T00:00:00Z"),
            [
                "2028-01-31T01:00:00+00:00",
                "2028-03-31T01:00:00+00:00",
                "2028-05-31T01:00:00+00:00"
            ]
        );
        let last = step(
            TimeRule::Monthly {
                day: MonthDay::Last,
                months: vec![],
                at: time("09:00"),
            },
            shanghai,
        );
        assert_eq!(
            instants(&last, &[], "2028-01-01T00:00:00Z", "2028-04-01T00:00:00Z"),
            [
                "2028-01-31T01:00:00+00:00",
                "2028-02-29T01:00:00+00:00",
                "2028-03-31T01:00:00+00:00"
            ]
        );
        let feb29 = step(
            TimeRule::Monthly {
                day: MonthDay::Day(29),
                months: vec![2],
                at: time("09:00"),
            },
            shanghai,
        );
        assert_eq!(
            instants(&feb29, &[], "2026-01-01T00:00:00Z", "2029-01-01T00:00:00Z"),
            ["2028-02-29T01:00:00+00:00"]
        );
    }

    #[test]
    fn weekly_once_window_and_blackout() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let mut weekly = step(
            TimeRule::Weekly {
                weekdays: vec![Weekday::Mon, Weekday::Thu],
                at: time("20:00"),
            },
            shanghai,
        );
        // 2026-03-02 is a Monday.
        assert_eq!(
            instants(&weekly, &[], "2026-03-01T00:00:00Z", "2026-03-08T00:00:00Z"),
            ["2026-03-02T12:00:00+00:00", "2026-03-05T12:00:00+00:00"]
        );
        weekly.blackout.insert(date("2026-03-05"));
        weekly.window = ActiveWindow {
            from: Some(date("2026-03-03")),
            until: None,
        };
        assert_eq!(
            instants(&weekly, &[], "2026-03-01T00:00:00Z", "2026-03-12T00:00:00Z"),
            ["2026-03-09T12:00:00+00:00"]
        );
        weekly.window.until = Some(date("2026-03-08"));
        assert!(instants(&weekly, &[], "2026-03-01T00:00:00Z", "2026-03-13T00:00:00Z").is_empty());

        let once = step(
            TimeRule::Once {
                at: date("2026-05-20").and_time(time("13:14")),
            },
            shanghai,
        );
        assert_eq!(
            instants(&once, &[], "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"),
            ["2026-05-20T05:14:00+00:00"]
        );
        assert!(instants(&once, &[], "2026-05-20T05:14:01Z", "2026-06-01T00:00:00Z").is_empty());
    }

    #[test]
    fn relative_rule_counts_from_each_anchor_date() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let eve = step(
            TimeRule::Relative {
                anchor: Anchor::Named("course".into()),
                offset_days: -1,
                at: time("20:00"),
            },
            shanghai,
        );
        let courses = [date("2026-03-10"), date("2026-03-17")];
        assert_eq!(
            instants(
                &eve,
                &courses,
                "2026-03-01T00:00:00Z",
                "2026-04-01T00:00:00Z"
            ),
            ["2026-03-09T12:00:00+00:00", "2026-03-16T12:00:00+00:00"]
        );
    }

    #[test]
    fn the_window_is_half_open_in_utc() {
        let daily = step(
            TimeRule::Daily { at: time("08:00") },
            chrono_tz::Asia::Shanghai,
        );
        assert_eq!(
            instants(&daily, &[], "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
            ["2026-03-02T00:00:00+00:00"]
        );
        assert!(instants(&daily, &[], "2026-03-02T00:00:01Z", "2026-03-03T00:00:00Z").is_empty());
    }
}

#[cfg(test)]
mod props;

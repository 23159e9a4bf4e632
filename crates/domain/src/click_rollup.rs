//! Tracked-link clicks in the daily rollups: the pure reducer and the read that joins them to
//! the group days.
//!
//! Clicks are not events of the chat log (a browser follows `/l/{code}`, no platform says so);
//! they have their own append-only table, so the consumer folds them after a watermark of their
//! own into counts per group and local day. Those counts live beside the event rollups rather
//! than inside them: two consumers never write the same row, and a day's count does not depend
//! on whether its clicks were folded before or after its events. [`with_clicks`] is how a read
//! joins the two, so a rebuilt read equals the incrementally kept one whatever the order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::model::Platform;
use crate::rollup::{DayRef, DayRollup};
use crate::state::local_day;

/// One click as the rollup reads it: the group its link was posted in, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickInput {
    pub platform: Platform,
    pub chat: String,
    pub at: DateTime<Utc>,
}

/// Clicks per group and local day.
pub type ClickDays = BTreeMap<DayRef, i64>;

/// The group day a click counts on.
pub fn click_day(click: &ClickInput, zone: Tz) -> DayRef {
    (
        click.platform,
        click.chat.clone(),
        local_day(click.at, zone),
    )
}

/// Folds one click into `days` (its row must be loaded first; a missing row starts at zero).
pub fn apply_click(days: &mut ClickDays, click: &ClickInput, zone: Tz) {
    *days.entry(click_day(click, zone)).or_default() += 1;
}

/// Folds all clicks from nothing: the specification of the stored click rows.
pub fn fold_clicks(clicks: &[ClickInput], zone: Tz) -> ClickDays {
    let mut days = ClickDays::new();
    for click in clicks {
        apply_click(&mut days, click, zone);
    }
    days
}

/// One group day as a read shows it: the event rollup and the clicks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayWithClicks {
    pub counts: DayRollup,
    pub clicks: i64,
}

/// Joins event days and click days of the same range. A day with clicks but no events gets a
/// row of its own whose size is the group's size after its last earlier event day (`before`
/// answers for days before the range; absent means the group had none, size 0), since a day
/// without events keeps the previous day's size.
pub fn with_clicks(
    days: BTreeMap<DayRef, DayRollup>,
    clicks: &ClickDays,
    before: &dyn Fn(&DayRef) -> Option<i64>,
) -> BTreeMap<DayRef, DayWithClicks> {
    let mut out: BTreeMap<DayRef, DayWithClicks> = days
        .into_iter()
        .map(|(key, counts)| (key, DayWithClicks { counts, clicks: 0 }))
        .collect();
    for (key, count) in clicks {
        if let Some(row) = out.get_mut(key) {
            row.clicks = *count;
            continue;
        }
        // The nearest earlier row of this group inside the range (an event day, or a click-only
        // day that already carries one's size), else the last event day before the range.
        let earlier = out
            .range(..key.clone())
            .next_back()
            .filter(|(other, _)| other.0 == key.0 && other.1 == key.1)
            .map(|(_, row)| row.counts.members_end);
        let members_end = earlier.or_else(|| before(key)).unwrap_or_default();
        out.insert(
            key.clone(),
            DayWithClicks {
                counts: DayRollup {
                    members_end,
                    ..DayRollup::default()
                },
                clicks: *count,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default()
    }

    fn key(chat: &str, d: u32) -> DayRef {
        (Platform::Matrix, chat.into(), day(d))
    }

    #[test]
    fn clicks_count_on_the_local_day_of_the_group_their_link_was_posted_in() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let click = |chat: &str, when: &str| ClickInput {
            platform: Platform::Matrix,
            chat: chat.into(),
            at: at(when),
        };
        let clicks = [
            click("!g", "2026-03-02T10:00:00+08:00"),
            // 23:30 UTC on the 2nd is 07:30 on the 3rd in Shanghai.
            click("!g", "2026-03-02T23:30:00Z"),
            click("!g", "2026-03-03T12:00:00+08:00"),
            click("!h", "2026-03-03T12:00:00+08:00"),
        ];
        let days = fold_clicks(&clicks, chrono_tz::Asia::Shanghai);
        assert_eq!(
            days.into_iter().collect::<Vec<_>>(),
            vec![(key("!g", 2), 1), (key("!g", 3), 2), (key("!h", 3), 1)]
        );
    }

    #[test]
    fn a_click_only_day_keeps_the_size_of_the_groups_last_event_day() {
        let sized = |members_end| DayRollup {
            members_end,
            messages: 1,
            ..DayRollup::default()
        };
        let days: BTreeMap<_, _> = [(key("!g", 2), sized(10)), (key("!g", 5), sized(12))].into();
        let clicks: ClickDays = [
            (key("!g", 1), 3), // before any event day in range: asks `before`
            (key("!g", 2), 4), // joins the event day
            (key("!g", 3), 1), // after the 2nd: size 10
            (key("!h", 3), 2), // a group with no event day at all
        ]
        .into();
        let before = |k: &DayRef| (k.1 == "!g").then_some(9);
        let out = with_clicks(days, &clicks, &before);
        let cases = [
            (key("!g", 1), 9, 3, 0),
            (key("!g", 2), 10, 4, 1),
            (key("!g", 3), 10, 1, 0),
            (key("!g", 5), 12, 0, 1),
            (key("!h", 3), 0, 2, 0),
        ];
        assert_eq!(out.len(), cases.len());
        for (k, members_end, clicks, messages) in cases {
            let row = out[&k];
            assert_eq!(
                (row.counts.members_end, row.clicks, row.counts.messages),
                (members_end, clicks, messages),
                "{k:?}"
            );
        }
    }
}

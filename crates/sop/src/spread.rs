//! Spreading sends within a platform's rate: 500 groups at 08:00 go out over the next minutes.
//!
//! A token bucket (steady `per_second`, `burst` at once) decides when each send can leave; the
//! planned time is written as the action's `not_before`, and the expected lateness tells the
//! operator (and the grace check) how late the last group will hear it.

use chrono::{DateTime, Duration, Utc};

use crate::materialize::Occurrence;

/// When one occurrence is planned to leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSend {
    pub key: String,
    pub scheduled: DateTime<Utc>,
    pub planned_send_at: DateTime<Utc>,
    pub expected_lateness: Duration,
    /// False when the queue makes it later than its step's grace: it would be skipped, so the
    /// operator should raise the rate, stagger the step, or lengthen the grace.
    pub within_grace: bool,
}

/// Plans sends through one rate limit, in order of schedule (ties keep the input order).
///
/// A non-positive or non-finite `per_second` means no limit; `burst` 0 is treated as 1.
pub fn spread(occurrences: &[Occurrence], per_second: f64, burst: u32) -> Vec<PlannedSend> {
    let mut order: Vec<&Occurrence> = occurrences.iter().collect();
    order.sort_by_key(|occurrence| occurrence.scheduled);
    let unlimited = !(per_second.is_finite() && per_second > 0.0);
    let interval_nanos = if unlimited { 0.0 } else { 1e9 / per_second };
    let capacity = f64::from(burst.max(1));
    let mut tokens = capacity;
    let mut clock: Option<DateTime<Utc>> = None;
    let mut planned = Vec::with_capacity(order.len());
    for occurrence in order {
        let mut at = occurrence.scheduled;
        if !unlimited {
            if let Some(last) = clock {
                if at > last {
                    // Refill for the idle time between the previous send and this schedule.
                    let idle = (at - last).num_nanoseconds().unwrap_or(i64::MAX) as f64;
                    tokens = (tokens + idle / interval_nanos).min(capacity);
                } else {
                    at = last;
                }
            }
            if tokens < 1.0 {
                let wait = ((1.0 - tokens) * interval_nanos).ceil() as i64;
                at += Duration::nanoseconds(wait);
                tokens = 1.0;
            }
            tokens -= 1.0;
            clock = Some(at);
        }
        planned.push(PlannedSend {
            key: occurrence.key.clone(),
            scheduled: occurrence.scheduled,
            planned_send_at: at,
            expected_lateness: at - occurrence.scheduled,
            within_grace: at - occurrence.scheduled <= occurrence.grace,
        });
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::materialize::{occurrence_key, Delivery};
    use crate::plan::DEFAULT_GRACE;

    fn at_eight(count: usize) -> Vec<Occurrence> {
        let scheduled = DateTime::parse_from_rfc3339("2026-03-02T08:00:00+08:00")
            .unwrap()
            .to_utc();
        (0..count)
            .map(|index| {
                let chat = format!("!g{index:03}");
                Occurrence {
                    key: occurrence_key("p", "morning", &chat, scheduled),
                    plan: "p".into(),
                    step: "morning".into(),
                    chat,
                    scheduled,
                    local: scheduled.naive_utc(),
                    timezone: chrono_tz::Asia::Shanghai,
                    text: "早安".into(),
                    template: "早安".into(),
                    attachment: None,
                    moments: None,
                    activity: None,
                    delivery: Delivery::Bot,
                    grace: DEFAULT_GRACE,
                }
            })
            .collect()
    }

    #[test]
    fn five_hundred_groups_at_eight_fit_a_rate_with_burst() {
        let planned = spread(&at_eight(500), 1.0, 20);
        assert_eq!(planned.len(), 500);
        assert!(planned[..20]
            .iter()
            .all(|send| send.expected_lateness == Duration::zero()));
        assert_eq!(planned[20].expected_lateness, Duration::seconds(1));
        assert_eq!(planned[499].expected_lateness, Duration::seconds(480));
        assert!(planned.iter().all(|send| send.within_grace));
        let slow = spread(&at_eight(500), 0.5, 20);
        assert_eq!(
            slow.iter().filter(|send| !send.within_grace).count(),
            500 - 20 - 450
        );
        assert!(planned
            .windows(2)
            .all(|pair| pair[0].planned_send_at <= pair[1].planned_send_at));
        // Within any 10 s window no more than burst + 10 sends leave.
        for send in &planned {
            let in_window = planned
                .iter()
                .filter(|other| {
                    other.planned_send_at >= send.planned_send_at
                        && other.planned_send_at < send.planned_send_at + Duration::seconds(10)
                })
                .count();
            assert!(in_window <= 30, "{in_window}");
        }
    }

    #[test]
    fn idle_time_refills_and_unlimited_rate_sends_at_once() {
        let mut occurrences = at_eight(4);
        occurrences[2].scheduled += Duration::seconds(10);
        occurrences[3].scheduled += Duration::seconds(10);
        let lateness: Vec<i64> = spread(&occurrences, 0.5, 1)
            .iter()
            .map(|send| send.expected_lateness.num_seconds())
            .collect();
        assert_eq!(lateness, [0, 2, 0, 2]);
        assert!(spread(&at_eight(3), f64::INFINITY, 0)
            .iter()
            .all(|send| send.expected_lateness.is_zero()));
    }
}

//! Grace: whether a post that is due now is on time, late but still worth sending, or skipped.
//!
//! A dispatcher that was down, or a long queue of sends at 08:00, makes posts late; a morning
//! report is still useful at 08:10 and noise at noon. Each step has a grace (default 15 minutes).

use chrono::{DateTime, Duration, Utc};

/// Lateness up to this counts as on time: a dispatcher polls, it does not fire to the millisecond.
pub const ON_TIME_SLACK: Duration = Duration::seconds(60);

/// Why a due post was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Later than its grace allows.
    PastGrace { late_by: Duration, grace: Duration },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::PastGrace { late_by, grace } => write!(
                f,
                "{} s late, past its grace of {} s",
                late_by.num_seconds(),
                grace.num_seconds()
            ),
        }
    }
}

/// The verdict on a post scheduled at `scheduled` and considered at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timeliness {
    /// Not late (or early: the caller decides whether to wait).
    OnTime,
    Late {
        by: Duration,
    },
    Skip {
        reason: SkipReason,
    },
}

pub fn classify(scheduled: DateTime<Utc>, now: DateTime<Utc>, grace: Duration) -> Timeliness {
    let late_by = now - scheduled;
    if late_by <= ON_TIME_SLACK {
        Timeliness::OnTime
    } else if late_by <= grace {
        Timeliness::Late { by: late_by }
    } else {
        Timeliness::Skip {
            reason: SkipReason::PastGrace { late_by, grace },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::DEFAULT_GRACE;

    #[test]
    fn classifies_by_lateness_against_the_grace() {
        let scheduled = DateTime::parse_from_rfc3339("2026-03-02T08:00:00+08:00")
            .unwrap()
            .to_utc();
        let cases = [
            (-300, Timeliness::OnTime),
            (0, Timeliness::OnTime),
            (60, Timeliness::OnTime),
            (
                61,
                Timeliness::Late {
                    by: Duration::seconds(61),
                },
            ),
            (
                900,
                Timeliness::Late {
                    by: Duration::seconds(900),
                },
            ),
            (
                901,
                Timeliness::Skip {
                    reason: SkipReason::PastGrace {
                        late_by: Duration::seconds(901),
                        grace: DEFAULT_GRACE,
                    },
                },
            ),
        ];
        for (seconds, expected) in cases {
            assert_eq!(
                classify(
                    scheduled,
                    scheduled + Duration::seconds(seconds),
                    DEFAULT_GRACE
                ),
                expected,
                "{seconds}"
            );
        }
        let Timeliness::Skip { reason } =
            classify(scheduled, scheduled + Duration::hours(4), DEFAULT_GRACE)
        else {
            panic!("four hours late must be skipped");
        };
        assert_eq!(reason.to_string(), "14400 s late, past its grace of 900 s");
    }
}

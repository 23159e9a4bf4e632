//! Checked date arithmetic: an instant plus or minus a duration that can never panic.
//!
//! chrono's `+` and `-` on `DateTime` panic when the result leaves its range (about ±262,000
//! years). Rule files bound their durations, but instants also come from platforms (message
//! timestamps) and from configuration, so every instant the engine computes goes through
//! [`Instant::plus`] and [`Instant::minus`], which stop at the ends of the range instead.

use chrono::{DateTime, TimeDelta, Utc};

/// Saturating arithmetic on instants.
pub trait Instant: Sized {
    /// `self + by`, or the latest representable instant when that overflows.
    fn plus(self, by: TimeDelta) -> Self;
    /// `self - by`, or the earliest representable instant when that overflows.
    fn minus(self, by: TimeDelta) -> Self;
}

impl Instant for DateTime<Utc> {
    fn plus(self, by: TimeDelta) -> Self {
        self.checked_add_signed(by)
            .unwrap_or(if by < TimeDelta::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            })
    }

    fn minus(self, by: TimeDelta) -> Self {
        self.checked_sub_signed(by)
            .unwrap_or(if by < TimeDelta::zero() {
                DateTime::<Utc>::MAX_UTC
            } else {
                DateTime::<Utc>::MIN_UTC
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturates_at_both_ends() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let cases = [
            (now.plus(TimeDelta::hours(1)), now + TimeDelta::hours(1)),
            (now.minus(TimeDelta::hours(1)), now - TimeDelta::hours(1)),
            (now.plus(TimeDelta::MAX), DateTime::<Utc>::MAX_UTC),
            (now.minus(TimeDelta::MAX), DateTime::<Utc>::MIN_UTC),
            (now.plus(TimeDelta::MIN), DateTime::<Utc>::MIN_UTC),
            (now.minus(TimeDelta::MIN), DateTime::<Utc>::MAX_UTC),
            (
                DateTime::<Utc>::MAX_UTC.plus(TimeDelta::seconds(1)),
                DateTime::<Utc>::MAX_UTC,
            ),
        ];
        for (index, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, want, "case {index}");
        }
    }
}

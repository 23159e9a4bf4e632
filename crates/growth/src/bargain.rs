//! 砍 bargain (article 003): a member opens a bargain on the play's item and each friend cuts
//! the price once. The cut sizes follow a curve fixed by the play (first cuts large, later small,
//! `decay_percent`), moved a little by a seeded jitter so the same play always cuts the same way;
//! the `cuts`-th friend reaches the floor exactly and no cut ever passes it. Reaching the floor
//! within the window gives the starter a coupon for the difference.

use chrono::{DateTime, Utc};

use crate::play::{BargainRules, RunState};
use crate::run::{Opening, Run};

/// How a cut was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// Cut by `cents`; the price is now `price`.
    Cut { cents: i64, price: i64 },
    /// This cut reached the floor.
    Reached { cents: i64, price: i64 },
    /// This member cut this bargain before, by `cents`; nothing changes.
    Twice { cents: i64 },
    /// A starter cannot cut their own bargain.
    Own,
    /// The floor was reached already.
    Over,
    /// The window passed.
    Expired,
}

/// Opens a bargain at the full price.
pub fn open(opening: &Opening<'_>, rules: &BargainRules) -> Run {
    opening.run("bargain", rules.window, rules.price_cents)
}

/// SplitMix64: a tiny, fixed generator, so a seed means the same cuts on every machine.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The weight of cut `k` (0-based) of bargain `number`.
fn weight(rules: &BargainRules, number: u32, k: u32) -> f64 {
    let decay = f64::from(rules.decay_percent) / 100.0;
    let base = decay.powi(i32::try_from(k).unwrap_or(i32::MAX));
    let draw = mix(rules.seed ^ (u64::from(number) << 32) ^ u64::from(k));
    // The top 53 bits as a fraction in [0, 1).
    let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
    let jitter = f64::from(rules.jitter_percent) / 100.0;
    base * (1.0 + jitter * (2.0 * unit - 1.0))
}

/// The size of cut `k` when `gap` cents are left above the floor: its weight's share of the
/// weights still to come, at least a cent, leaving a cent for each later cut; the last takes
/// the rest.
pub fn cut_size(rules: &BargainRules, number: u32, k: u32, gap: i64) -> i64 {
    if gap <= 0 {
        return 0;
    }
    if k + 1 >= rules.cuts {
        return gap;
    }
    let later = i64::from(rules.cuts - k - 1);
    let rest: f64 = (k..rules.cuts).map(|j| weight(rules, number, j)).sum();
    let share = weight(rules, number, k) / rest;
    let cents = (gap as f64 * share).floor() as i64;
    cents.clamp(1, (gap - later).max(1))
}

/// `member` cuts at `at`.
pub fn cut(run: &mut Run, rules: &BargainRules, member: &str, at: DateTime<Utc>) -> Cut {
    if let Some(earlier) = run.participants.iter().find(|p| p.member == member) {
        return Cut::Twice {
            cents: earlier.cents,
        };
    }
    if member == run.starter {
        return Cut::Own;
    }
    run.expire(at);
    match run.state {
        RunState::Failed => return Cut::Expired,
        RunState::Done => return Cut::Over,
        RunState::Open => {}
    }
    let gap = run.price_cents - rules.floor_cents;
    let cents = cut_size(rules, run.number, run.count(), gap).min(gap);
    run.price_cents -= cents;
    run.add(member, at, cents);
    if run.price_cents <= rules.floor_cents {
        run.finish(at);
        return Cut::Reached {
            cents,
            price: run.price_cents,
        };
    }
    Cut::Cut {
        cents,
        price: run.price_cents,
    }
}

/// The starter's coupon when the floor is reached: the price less what is left to pay.
pub fn saving(rules: &BargainRules, run: &Run) -> i64 {
    rules.price_cents - run.price_cents
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn rules(cuts: u32, decay: u32, jitter: u32, seed: u64) -> BargainRules {
        BargainRules {
            item: "cup".into(),
            price_cents: 10_000,
            floor_cents: 1_000,
            cuts,
            decay_percent: decay,
            jitter_percent: jitter,
            seed,
            window: Duration::hours(24),
            valid_days: None,
            start_word: "砍价".into(),
            cut_word: "帮砍".into(),
        }
    }

    #[test]
    fn the_curve_cuts_large_first_and_lands_on_the_floor() {
        // (cuts, decay, jitter, seed) → the cut sizes, exactly.
        // (cuts, decay, jitter, seed) and the cut sizes.
        type Case = ((u32, u32, u32, u64), &'static [i64]);
        let cases: [Case; 4] = [
            ((4, 50, 0, 0), &[4800, 2400, 1200, 600]),
            ((3, 100, 0, 0), &[3000, 3000, 3000]),
            ((1, 70, 0, 0), &[9000]),
            ((5, 60, 20, 7), &[3805, 2208, 1473, 910, 604]),
        ];
        for ((cuts, decay, jitter, seed), expected) in cases {
            let r = rules(cuts, decay, jitter, seed);
            let mut gap = 9_000;
            let sizes: Vec<i64> = (0..cuts)
                .map(|k| {
                    let size = cut_size(&r, 1, k, gap);
                    gap -= size;
                    size
                })
                .collect();
            assert_eq!(
                sizes, expected,
                "{cuts} cuts, decay {decay}, jitter {jitter}"
            );
            assert_eq!(gap, 0, "the last cut lands on the floor");
        }
    }

    proptest! {
        #[test]
        fn no_cut_passes_the_floor_and_every_cut_takes_a_cent(cuts in 1u32..50, decay in 1u32..=100, jitter in 0u32..=50, seed: u64, gap in 50i64..1_000_000) {
            let r = rules(cuts, decay, jitter, seed);
            let mut left = gap;
            for k in 0..cuts {
                let size = cut_size(&r, 3, k, left);
                prop_assert!(size >= 1 && size <= left, "cut {k}: {size} of {left}");
                left -= size;
            }
            prop_assert_eq!(left, 0);
        }
    }
}

//! Dead groups (死群): how alive a group is against its own history and size, and what to
//! suggest doing with a dying one — re-activate it with a topic, merge it into another group,
//! or dissolve it.

use serde::{Deserialize, Serialize};

string_enum! {
    /// What an operator may decide for a dying group.
    GroupFate { Reactivate => "reactivate", Merge => "merge", Dissolve => "dissolve" }
}

/// A group's last 30 days, from its daily rollups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupTrend {
    pub members: i64,
    /// Distinct speakers summed over the last 7 days' rollups (a member speaking on two days
    /// counts twice, which is what the daily rows know).
    pub week_speakers: i64,
    pub week_messages: i64,
    /// Messages in the 23 days before the last 7.
    pub earlier_messages: i64,
    /// Joins minus departures over the last 7 days.
    pub week_net: i64,
    /// Days since the last day with a message, at most 30 (30 = none in the window).
    pub silent_days: i64,
}

/// A health score and, below the line, the suggested fate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Verdict {
    /// 0 (dead) to 100 (as lively as it has been, with many of its members speaking).
    pub score: u32,
    pub dying: bool,
    pub suggestion: Option<GroupFate>,
}

/// A group scoring below this is listed as dying.
pub const DYING_BELOW: u32 = 35;
/// Fewer members than this is too small to revive alone: merge it.
pub const MERGE_BELOW: i64 = 30;
/// Silent this many days with few members left: dissolve it.
pub const DISSOLVE_AFTER_DAYS: i64 = 21;

impl GroupTrend {
    /// Messages per day this week against the 23 days before (1 without history), capped at 2.
    pub fn trend(&self) -> f64 {
        if self.earlier_messages <= 0 {
            return if self.week_messages > 0 { 1.0 } else { 0.0 };
        }
        ((self.week_messages as f64 / 7.0) / (self.earlier_messages as f64 / 23.0)).min(2.0)
    }

    /// Daily speakers as a share of the members, against 5% (a healthy floor), capped at 1.
    fn voice(&self) -> f64 {
        if self.members <= 0 {
            return 0.0;
        }
        ((self.week_speakers as f64 / 7.0) / self.members as f64 / 0.05).min(1.0)
    }

    pub fn verdict(&self) -> Verdict {
        let shrink = if self.members > 0 && self.week_net < 0 {
            ((-self.week_net) as f64 / self.members as f64 / 0.05).min(1.0)
        } else {
            0.0
        };
        // Half from the trend (2 = twice its usual pace, the cap), half from how many speak.
        let raw = 25.0 * self.trend() + 50.0 * self.voice();
        let score = (raw * (1.0 - 0.5 * shrink)).clamp(0.0, 100.0).round() as u32;
        let dying = score < DYING_BELOW;
        let fate = if self.silent_days >= DISSOLVE_AFTER_DAYS && self.members < MERGE_BELOW {
            GroupFate::Dissolve
        } else if self.members < MERGE_BELOW {
            GroupFate::Merge
        } else {
            GroupFate::Reactivate
        };
        let suggestion = dying.then_some(fate);
        Verdict {
            score,
            dying,
            suggestion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dying_groups_get_a_fate_that_fits_their_size_and_silence() {
        let trend =
            |members, week_speakers, week_messages, earlier_messages, week_net, silent_days| {
                GroupTrend {
                    members,
                    week_speakers,
                    week_messages,
                    earlier_messages,
                    week_net,
                    silent_days,
                }
            };
        let cases = [
            // Lively as before, a tenth of members speak daily: healthy.
            (trend(200, 140, 700, 2300, 3, 0), false, None),
            // A big group gone quiet against its own past: revive it.
            (
                trend(300, 6, 20, 2300, -2, 1),
                true,
                Some(GroupFate::Reactivate),
            ),
            // A small group fading: merge it.
            (trend(12, 1, 3, 200, 0, 2), true, Some(GroupFate::Merge)),
            // Small and silent for weeks: dissolve it.
            (trend(8, 0, 0, 0, -1, 30), true, Some(GroupFate::Dissolve)),
            // Losing members fast halves the score.
            (trend(100, 35, 100, 330, -10, 0), false, None),
        ];
        for (trend, dying, suggestion) in cases {
            let verdict = trend.verdict();
            assert_eq!(
                (verdict.dying, verdict.suggestion),
                (dying, suggestion),
                "{trend:?} → {verdict:?}"
            );
        }
    }
}

//! The leaderboard race (比, PLAYBOOKS §6; article 003): for a window, members compete on one
//! metric (invites, check-ins or points), the board is posted live in the group, and when the
//! window closes the prizes per rank are granted once through the ledger.
//!
//! A race scores what happened inside its window: the read models' numbers now minus the
//! baseline stored when it opened (the lottery's way), so nothing replays the log. [`Race`] is
//! the pure state machine: which live posts are due, the standings, and the one settlement that
//! names each winner's prize (`race:{id}:prize:{member}` keys it in the ledger).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::leaderboard::{self, Board, Ranked, Score};
use crate::lottery::Prize;

/// The most ranks a race may pay.
pub const MAX_RANKS: u32 = 100;

/// Ranks `from..=to` each get `prize`; a tie at a rank shares it (each tied member gets it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankPrize {
    pub from: u32,
    pub to: u32,
    pub prize: Prize,
}

/// A race as the operator sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaceSpec {
    pub title: String,
    pub metric: Board,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The board is posted this often while the race runs; 0 posts only the result.
    pub post_every_minutes: u32,
    /// How many rows a live post shows.
    pub shown: u32,
    pub prizes: Vec<RankPrize>,
}

/// What a race rejects, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaceError {
    #[error("{field}: {message}")]
    BadSpec { field: String, message: String },
    #[error("the race runs until {ends_at}; prizes are granted after it ends")]
    NotEnded { ends_at: DateTime<Utc> },
    #[error("the race was already settled")]
    AlreadySettled,
}

fn bad(field: &str, message: impl Into<String>) -> Result<(), RaceError> {
    Err(RaceError::BadSpec {
        field: field.into(),
        message: message.into(),
    })
}

impl RaceSpec {
    pub fn validate(&self) -> Result<(), RaceError> {
        if self.title.trim().is_empty() || self.title.chars().count() > 80 {
            return bad("title", "give a title of 1 to 80 characters");
        }
        if self.ends_at <= self.starts_at {
            return bad("ends_at", "must be after starts_at");
        }
        if self.ends_at - self.starts_at > Duration::days(90) {
            return bad("ends_at", "a race runs at most 90 days");
        }
        if self.post_every_minutes != 0 && self.post_every_minutes < 10 {
            return bad(
                "post_every_minutes",
                "0 (result only) or at least 10 minutes",
            );
        }
        if self.shown == 0 || self.shown > 50 {
            return bad("shown", format!("must be 1 to 50, got {}", self.shown));
        }
        if self.prizes.is_empty() {
            return bad("prizes", "name at least one prize");
        }
        let mut next = 1;
        for (index, tier) in self.prizes.iter().enumerate() {
            let field = format!("prizes[{index}]");
            if tier.from != next || tier.to < tier.from || tier.to > MAX_RANKS {
                return bad(
                    &field,
                    format!("ranks must run on from {next} without gaps or overlaps, up to {MAX_RANKS}; got {}..={}", tier.from, tier.to),
                );
            }
            match &tier.prize {
                Prize::Points { points } if *points <= 0 => {
                    return bad(
                        &format!("{field}.prize.points"),
                        format!("must be positive, got {points}"),
                    )
                }
                Prize::Coupon { offer, .. } => {
                    if let Err(error) = offer.validate() {
                        return bad(&format!("{field}.prize.offer"), error.to_string());
                    }
                }
                Prize::Points { .. } => {}
            }
            next = tier.to + 1;
        }
        Ok(())
    }

    /// The prize of a rank, if it pays.
    pub fn prize_for(&self, rank: u32) -> Option<&Prize> {
        self.prizes
            .iter()
            .find(|tier| (tier.from..=tier.to).contains(&rank))
            .map(|tier| &tier.prize)
    }
}

/// One winner's prize at the settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Award {
    pub member: String,
    pub rank: u32,
    pub score: i64,
    pub prize: Prize,
}

/// A race's state between the store's rows: the spec, the baseline, the live posts already
/// made and whether it was settled.
#[derive(Debug, Clone)]
pub struct Race {
    pub spec: RaceSpec,
    /// Each member's metric when the race opened.
    pub baseline: BTreeMap<String, i64>,
    /// Times of the live posts already written (their slot starts).
    pub posted: Vec<DateTime<Utc>>,
    pub settled: bool,
}

impl Race {
    pub fn open(spec: RaceSpec, baseline: BTreeMap<String, i64>) -> Result<Race, RaceError> {
        spec.validate()?;
        Ok(Race {
            spec,
            baseline,
            posted: Vec::new(),
            settled: false,
        })
    }

    /// Scores inside the window: the metric now minus the baseline (a member who was not
    /// there started from 0), ranked with shared ranks.
    pub fn standings(&self, now: &[Score], limit: usize) -> Vec<Ranked> {
        let rows = now
            .iter()
            .map(|row| Score {
                member: row.member.clone(),
                display_name: row.display_name.clone(),
                score: row.score - self.baseline.get(&row.member).copied().unwrap_or(0),
            })
            .collect();
        leaderboard::rank(rows, limit)
    }

    /// The live post slot due at `now`, if one is and it was not posted: slots start at the
    /// opening and every `post_every_minutes` after, until the end.
    pub fn due_post(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.spec.post_every_minutes == 0
            || now < self.spec.starts_at
            || now >= self.spec.ends_at
        {
            return None;
        }
        let every = Duration::minutes(i64::from(self.spec.post_every_minutes));
        let slots = (now - self.spec.starts_at).num_seconds() / every.num_seconds().max(1);
        let slot = self.spec.starts_at + every * i32::try_from(slots).unwrap_or(0);
        (!self.posted.contains(&slot)).then_some(slot)
    }

    pub fn mark_posted(&mut self, slot: DateTime<Utc>) {
        if !self.posted.contains(&slot) {
            self.posted.push(slot);
        }
    }

    /// The live post's text.
    pub fn board_text(&self, ranked: &[Ranked]) -> String {
        let mut text = format!(
            "🏆「{}」{}实时排名",
            self.spec.title,
            self.spec.metric.title()
        );
        if ranked.is_empty() {
            text.push_str("\n还没有人上榜，快来冲榜！");
        }
        for line in leaderboard::lines(self.spec.metric, ranked) {
            text.push('\n');
            text.push_str(&line);
        }
        text
    }

    /// The settlement, once, after the end: every ranked member whose rank pays gets its prize.
    pub fn settle(
        &mut self,
        now: DateTime<Utc>,
        final_scores: &[Score],
    ) -> Result<Vec<Award>, RaceError> {
        if now < self.spec.ends_at {
            return Err(RaceError::NotEnded {
                ends_at: self.spec.ends_at,
            });
        }
        if self.settled {
            return Err(RaceError::AlreadySettled);
        }
        let last = self.spec.prizes.last().map_or(0, |tier| tier.to);
        let awards = self
            .standings(
                final_scores,
                usize::try_from(last).unwrap_or(0).saturating_mul(4),
            )
            .into_iter()
            .filter_map(|row| {
                self.spec.prize_for(row.rank).map(|prize| Award {
                    member: row.row.member.clone(),
                    rank: row.rank,
                    score: row.row.score,
                    prize: prize.clone(),
                })
            })
            .collect();
        self.settled = true;
        Ok(awards)
    }

    /// The result post.
    pub fn result_text(&self, awards: &[Award]) -> String {
        if awards.is_empty() {
            return format!("🏁「{}」结束，这次没有人上榜。", self.spec.title);
        }
        let mut text = format!("🏁「{}」结束，恭喜：", self.spec.title);
        for award in awards {
            text.push_str(&format!(
                "\n第 {} 名 {}（{}）：{}",
                award.rank,
                award.member,
                award.score,
                award.prize.describe()
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_domain::{Clock, FakeClock};

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    fn spec() -> RaceSpec {
        RaceSpec {
            title: "邀请冲榜".into(),
            metric: Board::Invites,
            starts_at: at(0),
            ends_at: at(120),
            post_every_minutes: 60,
            shown: 10,
            prizes: vec![
                RankPrize {
                    from: 1,
                    to: 1,
                    prize: Prize::Points { points: 100 },
                },
                RankPrize {
                    from: 2,
                    to: 3,
                    prize: Prize::Points { points: 30 },
                },
            ],
        }
    }

    fn scores(rows: &[(&str, i64)]) -> Vec<Score> {
        rows.iter()
            .map(|(member, score)| Score {
                member: (*member).into(),
                display_name: member.trim_start_matches('@').into(),
                score: *score,
            })
            .collect()
    }

    /// Each step: minutes after the start, the metric then, the live post due (slot minute).
    #[test]
    fn live_posts_come_once_per_slot_and_scores_count_from_the_opening() {
        let clock = FakeClock::new(at(-5));
        let baseline = BTreeMap::from([("@a".to_string(), 10), ("@b".to_string(), 2)]);
        let mut race = Race::open(spec(), baseline).unwrap();
        type Step<'a> = (
            i64,
            Option<i64>,
            &'a [(&'a str, i64)],
            &'a [(u32, &'a str, i64)],
        );
        let steps: &[Step] = &[
            (-5, None, &[("@a", 10), ("@b", 2)], &[]),
            (0, Some(0), &[("@a", 11), ("@b", 2)], &[(1, "@a", 1)]),
            (
                30,
                None,
                &[("@a", 11), ("@b", 5), ("@c", 1)],
                &[(1, "@b", 3), (2, "@a", 1), (2, "@c", 1)],
            ),
            (
                61,
                Some(60),
                &[("@a", 14), ("@b", 5), ("@c", 1)],
                &[(1, "@a", 4), (2, "@b", 3), (3, "@c", 1)],
            ),
            (119, None, &[("@a", 14)], &[(1, "@a", 4)]),
            (120, None, &[("@a", 14)], &[(1, "@a", 4)]),
        ];
        for (minute, due, now, expected) in steps {
            clock.set(at(*minute));
            let slot = race.due_post(clock.now());
            assert_eq!(slot, due.map(at), "minute {minute}");
            if let Some(slot) = slot {
                race.mark_posted(slot);
                assert_eq!(race.due_post(clock.now()), None, "once per slot");
            }
            let shown: Vec<_> = race
                .standings(&scores(now), 10)
                .into_iter()
                .map(|row| (row.rank, row.row.member, row.row.score))
                .collect();
            let expected: Vec<_> = expected
                .iter()
                .map(|(r, m, s)| (*r, m.to_string(), *s))
                .collect();
            assert_eq!(shown, expected, "minute {minute}");
        }
    }

    #[test]
    fn prizes_are_settled_once_after_the_end_ties_sharing_a_rank() {
        let mut race = Race::open(spec(), BTreeMap::new()).unwrap();
        let finals = scores(&[("@a", 9), ("@b", 5), ("@c", 5), ("@d", 5), ("@e", 1)]);
        assert_eq!(
            race.settle(at(119), &finals),
            Err(RaceError::NotEnded { ends_at: at(120) })
        );
        let awards = race.settle(at(120), &finals).unwrap();
        let paid: Vec<_> = awards
            .iter()
            .map(|a| (a.member.as_str(), a.rank, a.prize.clone()))
            .collect();
        assert_eq!(
            paid,
            [
                ("@a", 1, Prize::Points { points: 100 }),
                ("@b", 2, Prize::Points { points: 30 }),
                ("@c", 2, Prize::Points { points: 30 }),
                ("@d", 2, Prize::Points { points: 30 }),
            ],
            "a tie at a paying rank shares its prize; rank 5 pays nothing"
        );
        assert_eq!(
            race.settle(at(121), &finals),
            Err(RaceError::AlreadySettled)
        );
        assert!(race
            .result_text(&awards)
            .contains("第 1 名 @a（9）：100 积分"));
    }

    #[test]
    fn bad_races_name_the_field() {
        for (change, expected) in [
            ((|s: &mut RaceSpec| s.ends_at = s.starts_at) as fn(&mut RaceSpec), "ends_at: must be after starts_at"),
            (|s| s.prizes[1].from = 3, "prizes[1]: ranks must run on from 2 without gaps or overlaps, up to 100; got 3..=3"),
            (|s| s.prizes.clear(), "prizes: name at least one prize"),
            (|s| s.post_every_minutes = 5, "post_every_minutes: 0 (result only) or at least 10 minutes"),
            (|s| s.prizes[0].prize = Prize::Points { points: 0 }, "prizes[0].prize.points: must be positive, got 0"),
        ] {
            let mut bad = spec();
            change(&mut bad);
            assert_eq!(bad.validate().unwrap_err().to_string(), expected);
        }
    }
}

//! Daily check-in 签到打卡: streaks, totals, a leaderboard and a reward per new check-in.
//!
//! Pure and in memory. A member's record is three numbers (last day, streak, total), so a book
//! is restored from a read model instead of replaying the log, and replaying the same events
//! always gives the same book. Days are LOCAL days in the plan's time zone: 23:59 and 00:01 in
//! Shanghai are two days, whatever UTC says. A check-in for a day before the member's latest one
//! (history arriving late) counts nothing: the record cannot tell whether that day was counted.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::plan::DEFAULT_TIMEZONE;

/// How a book recognises and rewards check-ins.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinConfig {
    /// Part of every reward key: the group's chat id, or a plan id for a cross-group book.
    pub scope: String,
    pub timezone: Tz,
    /// A message containing any of these (case-insensitive) checks its sender in.
    pub keywords: Vec<String>,
    pub points: i64,
    /// Every `streak_bonus_every`-th consecutive day earns `streak_bonus` more (0 disables it).
    pub streak_bonus_every: u32,
    pub streak_bonus: i64,
}

impl CheckinConfig {
    pub fn new(scope: impl Into<String>) -> Self {
        CheckinConfig {
            scope: scope.into(),
            timezone: DEFAULT_TIMEZONE,
            keywords: vec!["打卡".into(), "签到".into(), "!checkin".into()],
            points: 10,
            streak_bonus_every: 7,
            streak_bonus: 20,
        }
    }
}

/// What the book hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckinEvent {
    Message {
        member: String,
        text: String,
        at: DateTime<Utc>,
    },
    /// A reaction; it checks in only when it is on a registered morning post.
    Reaction {
        member: String,
        message_id: String,
        at: DateTime<Utc>,
    },
    /// The morning post went out; reactions to it count as check-ins.
    MorningPost { message_id: String },
}

/// A new check-in, for the points ledger; `key` makes granting it idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinReward {
    pub key: String,
    pub member: String,
    pub day: NaiveDate,
    pub streak: u32,
    pub total: u32,
    pub points: i64,
}

/// One leaderboard line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderboardRow {
    pub rank: usize,
    pub member: String,
    /// The streak still alive at the time asked (ending today or yesterday).
    pub streak: u32,
    pub total: u32,
}

/// One member's check-in record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemberStreak {
    pub last_day: NaiveDate,
    /// Consecutive days ending on `last_day`.
    pub streak: u32,
    pub total: u32,
}

/// Check-ins of one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinBook {
    config: CheckinConfig,
    lowercase_keywords: Vec<String>,
    days: BTreeMap<String, MemberStreak>,
    morning_posts: BTreeSet<String>,
}

impl CheckinBook {
    pub fn new(config: CheckinConfig) -> Self {
        let lowercase_keywords = config
            .keywords
            .iter()
            .filter(|word| !word.trim().is_empty())
            .map(|word| word.to_lowercase())
            .collect();
        CheckinBook {
            config,
            lowercase_keywords,
            days: BTreeMap::new(),
            morning_posts: BTreeSet::new(),
        }
    }

    /// Rebuilds a book from its events; returns it with every reward it granted, in order.
    pub fn replay<'a>(
        config: CheckinConfig,
        events: impl IntoIterator<Item = &'a CheckinEvent>,
    ) -> (Self, Vec<CheckinReward>) {
        let mut book = CheckinBook::new(config);
        let rewards = events
            .into_iter()
            .filter_map(|event| book.apply(event))
            .collect();
        (book, rewards)
    }

    /// A book that resumes from stored records and the morning posts still open for reactions.
    pub fn restore(
        config: CheckinConfig,
        members: impl IntoIterator<Item = (String, MemberStreak)>,
        morning_posts: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut book = CheckinBook::new(config);
        book.days.extend(members);
        book.morning_posts.extend(morning_posts);
        book
    }

    /// A member's record, if they ever checked in.
    pub fn record(&self, member: &str) -> Option<MemberStreak> {
        self.days.get(member).copied()
    }

    pub fn config(&self) -> &CheckinConfig {
        &self.config
    }

    pub fn is_checkin_text(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.lowercase_keywords
            .iter()
            .any(|word| text.contains(word.as_str()))
    }

    /// Applies one event; a reward when it is the member's first check-in of that local day.
    pub fn apply(&mut self, event: &CheckinEvent) -> Option<CheckinReward> {
        match event {
            CheckinEvent::MorningPost { message_id } => {
                self.morning_posts.insert(message_id.clone());
                None
            }
            CheckinEvent::Message { member, text, at } if self.is_checkin_text(text) => {
                self.check_in(member, *at)
            }
            CheckinEvent::Reaction {
                member,
                message_id,
                at,
            } if self.morning_posts.contains(message_id) => self.check_in(member, *at),
            _ => None,
        }
    }

    fn check_in(&mut self, member: &str, at: DateTime<Utc>) -> Option<CheckinReward> {
        let day = self.local_day(at);
        let record = match self.days.get(member).copied() {
            None => MemberStreak {
                last_day: day,
                streak: 1,
                total: 1,
            },
            Some(record) if day <= record.last_day => return None,
            Some(record) => MemberStreak {
                last_day: day,
                streak: if record.last_day.succ_opt() == Some(day) {
                    record.streak.saturating_add(1)
                } else {
                    1
                },
                total: record.total.saturating_add(1),
            },
        };
        self.days.insert(member.to_string(), record);
        let (streak, total) = (record.streak, record.total);
        let every = self.config.streak_bonus_every;
        let bonus = if every > 0 && streak.is_multiple_of(every) {
            self.config.streak_bonus
        } else {
            0
        };
        Some(CheckinReward {
            key: qunzhu_domain::keys::checkin_reward(&self.config.scope, member, day),
            member: member.to_string(),
            day,
            streak,
            total,
            points: self.config.points + bonus,
        })
    }

    pub fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.config.timezone).date_naive()
    }

    /// The live streak at `now`: ending today, or yesterday if not checked in yet today.
    pub fn current_streak(&self, member: &str, now: DateTime<Utc>) -> u32 {
        let Some(record) = self.days.get(member) else {
            return 0;
        };
        live_streak(record, self.local_day(now))
    }

    pub fn total(&self, member: &str) -> u32 {
        self.days.get(member).map_or(0, |record| record.total)
    }

    /// Members checked in on the local day of `now`.
    pub fn checked_in_today(&self, now: DateTime<Utc>) -> usize {
        let today = self.local_day(now);
        self.days
            .values()
            .filter(|record| record.last_day == today)
            .count()
    }

    /// Top `limit` by live streak, then total, then member id (so ties are stable).
    pub fn leaderboard(&self, now: DateTime<Utc>, limit: usize) -> Vec<LeaderboardRow> {
        let mut rows: Vec<(u32, u32, &String)> = self
            .days
            .keys()
            .map(|member| (self.current_streak(member, now), self.total(member), member))
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
        rows.into_iter()
            .take(limit)
            .enumerate()
            .map(|(index, (streak, total, member))| LeaderboardRow {
                rank: index + 1,
                member: member.clone(),
                streak,
                total,
            })
            .collect()
    }
}

/// Lines for `{checkin_leaders}`: `1. 小王 连续7天 · 累计12次`; `names` maps ids to display names.
pub fn format_leaders(rows: &[LeaderboardRow], names: &BTreeMap<String, String>) -> Vec<String> {
    rows.iter()
        .map(|row| {
            let name = names.get(&row.member).unwrap_or(&row.member);
            format!(
                "{}. {name} 连续{}天 · 累计{}次",
                row.rank, row.streak, row.total
            )
        })
        .collect()
}

/// The streak still alive on `today`: the record's if it ends today or yesterday, else 0.
pub fn live_streak(record: &MemberStreak, today: NaiveDate) -> u32 {
    let yesterday = today - Duration::days(1);
    if record.last_day == today || record.last_day == yesterday {
        record.streak
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn say(member: &str, text: &str, when: &str) -> CheckinEvent {
        CheckinEvent::Message {
            member: member.into(),
            text: text.into(),
            at: at(when),
        }
    }

    #[test]
    fn local_midnight_in_shanghai_separates_days_and_a_gap_resets_the_streak() {
        let events = [
            say("@wang", "打卡 第一天", "2026-03-01T23:59:00+08:00"),
            // Two minutes later, same UTC day (15:59Z → 16:01Z) but the next local day.
            say("@wang", "打卡", "2026-03-02T00:01:00+08:00"),
            say("@wang", "打卡again", "2026-03-02T21:00:00+08:00"),
            say("@wang", "!CheckIn", "2026-03-03T07:00:00+08:00"),
            // 2026-03-04 missed.
            say("@wang", "签到", "2026-03-05T07:00:00+08:00"),
        ];
        let (book, rewards) = CheckinBook::replay(CheckinConfig::new("!g"), &events);
        let streaks: Vec<(String, u32, u32)> = rewards
            .iter()
            .map(|reward| (reward.day.to_string(), reward.streak, reward.total))
            .collect();
        assert_eq!(
            streaks,
            [
                ("2026-03-01".into(), 1, 1),
                ("2026-03-02".into(), 2, 2),
                ("2026-03-03".into(), 3, 3),
                ("2026-03-05".into(), 1, 4)
            ]
        );
        assert_eq!(rewards[0].key, "checkin:!g:@wang:2026-03-01");
        assert_eq!(
            book.current_streak("@wang", at("2026-03-06T12:00:00+08:00")),
            1
        );
        assert_eq!(
            book.current_streak("@wang", at("2026-03-07T00:00:00+08:00")),
            0
        );
        assert_eq!(book.total("@wang"), 4);
    }

    #[test]
    fn reactions_count_only_on_the_morning_post_and_bonus_every_seventh_day() {
        let mut events = vec![
            CheckinEvent::Reaction {
                member: "@li".into(),
                message_id: "$post".into(),
                at: at("2026-03-01T08:00:00+08:00"),
            },
            CheckinEvent::MorningPost {
                message_id: "$post".into(),
            },
            say("@li", "早安", "2026-03-01T08:00:00+08:00"),
        ];
        for day in 1..=7 {
            events.push(CheckinEvent::Reaction {
                member: "@li".into(),
                message_id: "$post".into(),
                at: at(&format!("2026-03-{day:02}T08:00:00+08:00")),
            });
        }
        let (_, rewards) = CheckinBook::replay(CheckinConfig::new("!g"), &events);
        let points: Vec<i64> = rewards.iter().map(|reward| reward.points).collect();
        assert_eq!(points, [10, 10, 10, 10, 10, 10, 30]);
    }

    #[test]
    fn a_restored_book_continues_where_the_replayed_one_stood() {
        let events = [
            say("@a", "打卡", "2026-03-01T08:00:00+08:00"),
            say("@a", "打卡", "2026-03-02T08:00:00+08:00"),
            CheckinEvent::MorningPost {
                message_id: "$m".into(),
            },
        ];
        let (replayed, _) = CheckinBook::replay(CheckinConfig::new("!g"), &events);
        let record = replayed.record("@a").unwrap();
        assert_eq!((record.streak, record.total), (2, 2));
        let mut restored = CheckinBook::restore(
            CheckinConfig::new("!g"),
            [("@a".to_string(), record)],
            ["$m".to_string()],
        );
        assert_eq!(restored, replayed);
        let next = CheckinEvent::Reaction {
            member: "@a".into(),
            message_id: "$m".into(),
            at: at("2026-03-03T08:00:00+08:00"),
        };
        assert_eq!(restored.apply(&next).map(|reward| reward.streak), Some(3));
        // A day before the latest one (late history) counts nothing.
        assert_eq!(
            restored.apply(&say("@a", "打卡", "2026-02-27T08:00:00+08:00")),
            None
        );
    }

    #[test]
    fn leaderboard_ranks_by_live_streak_then_total_and_replay_is_deterministic() {
        let events = [
            say("@a", "打卡", "2026-03-01T08:00:00+08:00"),
            say("@a", "打卡", "2026-03-02T08:00:00+08:00"),
            say("@b", "打卡", "2026-02-20T08:00:00+08:00"),
            say("@b", "打卡", "2026-02-21T08:00:00+08:00"),
            say("@b", "打卡", "2026-02-22T08:00:00+08:00"),
            say("@b", "打卡", "2026-03-02T08:00:00+08:00"),
            say("@c", "打卡", "2026-03-02T09:00:00+08:00"),
        ];
        let (book, _) = CheckinBook::replay(CheckinConfig::new("!g"), &events);
        let board = book.leaderboard(at("2026-03-02T22:00:00+08:00"), 3);
        let order: Vec<(&str, u32, u32)> = board
            .iter()
            .map(|row| (row.member.as_str(), row.streak, row.total))
            .collect();
        assert_eq!(order, [("@a", 2, 2), ("@b", 1, 4), ("@c", 1, 1)]);
        assert_eq!(book.checked_in_today(at("2026-03-02T22:00:00+08:00")), 3);
        let names = BTreeMap::from([("@a".to_string(), "小王".to_string())]);
        assert_eq!(
            format_leaders(&board[..1], &names),
            ["1. 小王 连续2天 · 累计2次"]
        );
        assert_eq!(
            CheckinBook::replay(CheckinConfig::new("!g"), &events).0,
            book
        );
    }
}

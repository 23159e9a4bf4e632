//! Point drops (红包雨, PLAYBOOKS §6; articles 000, 001): for a few minutes the first `cap`
//! members who answer in the group with the keyword get one share of points or a coupon.
//!
//! A [`Drop`] is decided in memory: each answer is judged on arrival against the window, the cap
//! and who already got a share, so the outcome is fixed by the order the log gives the answers.
//! What it returns is what to grant; the engine turns a claim into a ledger action keyed by the
//! drop and the member (`drop:{id}:{member}`), so a claim decided twice is granted once.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::Instant;
use serde::{Deserialize, Serialize};

use crate::lottery::Prize;

/// What a drop rejects when it is set up, saying which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DropError {
    pub field: &'static str,
    pub message: String,
}

/// The most shares one drop may hand out; a bigger rain is a campaign, not a drop.
pub const MAX_SHARES: u32 = 10_000;
/// The longest a drop stays open.
pub const MAX_WINDOW_MINUTES: i64 = 24 * 60;

/// A drop as the operator (or an SOP step) sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropSpec {
    /// The word members send to claim (`红包`, `自我介绍`); matched after trimming, the whole
    /// message or its first line.
    pub keyword: String,
    /// How many shares there are.
    pub shares: u32,
    pub prize: Prize,
    /// How long it stays open, in minutes.
    pub minutes: u32,
}

impl DropSpec {
    pub fn validate(&self) -> Result<(), DropError> {
        let bad = |field, message: String| Err(DropError { field, message });
        if self.keyword.trim().is_empty() {
            return bad("keyword", "must not be empty".into());
        }
        if self.keyword.chars().count() > 50 {
            return bad("keyword", "must be at most 50 characters".into());
        }
        if self.shares == 0 || self.shares > MAX_SHARES {
            return bad(
                "shares",
                format!("must be 1 to {MAX_SHARES}, got {}", self.shares),
            );
        }
        if self.minutes == 0 || i64::from(self.minutes) > MAX_WINDOW_MINUTES {
            return bad(
                "minutes",
                format!("must be 1 to {MAX_WINDOW_MINUTES}, got {}", self.minutes),
            );
        }
        match &self.prize {
            Prize::Points { points } if *points <= 0 => {
                bad("prize.points", format!("must be positive, got {points}"))
            }
            Prize::Coupon { offer, .. } => offer.validate().map_err(|error| DropError {
                field: "prize.offer",
                message: error.to_string(),
            }),
            Prize::Points { .. } => Ok(()),
        }
    }

    /// Points the whole drop can cost, for a budget check.
    pub fn points_needed(&self) -> i64 {
        match self.prize {
            Prize::Points { points } => points.saturating_mul(i64::from(self.shares)),
            Prize::Coupon { .. } => 0,
        }
    }
}

/// How one answer was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// A share: the `rank`-th (1-based) of the drop.
    Won { rank: u32 },
    /// This member already has a share.
    AlreadyClaimed,
    /// Every share is gone.
    AllGone,
    /// Outside the window.
    Closed,
    /// Not the keyword.
    NotKeyword,
}

/// A running drop.
#[derive(Debug, Clone)]
pub struct Drop {
    pub id: String,
    pub spec: DropSpec,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Members with a share, in the order they got it.
    pub winners: Vec<String>,
    claimed: BTreeSet<String>,
}

/// Whether a message claims: the keyword alone, or as its first line, ignoring spaces around
/// it (a self-introduction drop's answers start with the keyword and go on).
pub fn says_keyword(text: &str, keyword: &str) -> bool {
    let keyword = keyword.trim();
    let first = text.trim().lines().next().unwrap_or("").trim();
    first == keyword
        || first
            .strip_prefix(keyword)
            .is_some_and(|rest| rest.starts_with([' ', '：', ':', '，', ',', '！', '!']))
}

impl Drop {
    /// Opens a drop at `now`; the spec must be valid.
    pub fn open(id: String, spec: DropSpec, now: DateTime<Utc>) -> Result<Drop, DropError> {
        spec.validate()?;
        let closes_at = now.plus(Duration::minutes(i64::from(spec.minutes)));
        Ok(Drop {
            id,
            spec,
            opens_at: now,
            closes_at,
            winners: Vec::new(),
            claimed: BTreeSet::new(),
        })
    }

    /// Judges one message of `member` sent at `at`.
    pub fn answer(&mut self, member: &str, text: &str, at: DateTime<Utc>) -> Claim {
        if !says_keyword(text, &self.spec.keyword) {
            return Claim::NotKeyword;
        }
        if at < self.opens_at || at >= self.closes_at {
            return Claim::Closed;
        }
        if self.claimed.contains(member) {
            return Claim::AlreadyClaimed;
        }
        if self.is_full() {
            return Claim::AllGone;
        }
        self.claimed.insert(member.to_string());
        self.winners.push(member.to_string());
        Claim::Won {
            rank: u32::try_from(self.winners.len()).unwrap_or(u32::MAX),
        }
    }

    /// Puts back a share decided before a restart (read from the outbox), in the order given.
    pub fn restore(&mut self, member: &str) {
        if self.claimed.insert(member.to_string()) {
            self.winners.push(member.to_string());
        }
    }

    pub fn is_full(&self) -> bool {
        self.winners.len() >= self.spec.shares as usize
    }

    /// Over: every share gone, or the window passed.
    pub fn is_over(&self, now: DateTime<Utc>) -> bool {
        self.is_full() || now >= self.closes_at
    }

    /// The group message that opens the drop.
    pub fn announcement(&self) -> String {
        format!(
            "🧧 红包雨来了！{} 分钟内发送「{}」，前 {} 位每人得 {}（每人限领一次）。",
            self.spec.minutes,
            self.spec.keyword,
            self.spec.shares,
            self.spec.prize.describe()
        )
    }

    /// The group message when it ends.
    pub fn summary(&self) -> String {
        if self.winners.is_empty() {
            return "🧧 红包雨结束，这次没有人领到。".into();
        }
        format!(
            "🧧 红包雨结束：{} / {} 份已领完，恭喜 {}。",
            self.winners.len(),
            self.spec.shares,
            self.winners.join("、")
        )
    }
}

/// The ready-made self-introduction drop (001: 新人自我介绍领红包): the first 20 who introduce
/// themselves within 30 minutes get 20 points each.
pub fn self_introduction_template() -> DropSpec {
    DropSpec {
        keyword: "自我介绍".into(),
        shares: 20,
        prize: Prize::Points { points: 20 },
        minutes: 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_domain::{Clock, FakeClock};

    fn spec(shares: u32) -> DropSpec {
        DropSpec {
            keyword: "红包".into(),
            shares,
            prize: Prize::Points { points: 5 },
            minutes: 10,
        }
    }

    #[test]
    fn the_first_n_members_get_one_share_each() {
        let clock = FakeClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let mut drop = Drop::open("d1".into(), spec(2), clock.now()).unwrap();
        let mut judged = Vec::new();
        for (member, text, seconds) in [
            ("@a", "红包", 1),
            ("@a", "红包", 2),
            ("@b", "hello", 3),
            ("@b", " 红包 ", 4),
            ("@c", "红包", 5),
        ] {
            clock.advance(Duration::seconds(seconds));
            judged.push((member, drop.answer(member, text, clock.now())));
        }
        assert_eq!(
            judged,
            vec![
                ("@a", Claim::Won { rank: 1 }),
                ("@a", Claim::AlreadyClaimed),
                ("@b", Claim::NotKeyword),
                ("@b", Claim::Won { rank: 2 }),
                ("@c", Claim::AllGone),
            ]
        );
        assert!(drop.is_over(clock.now()), "all shares gone ends it early");
        assert_eq!(drop.winners, ["@a", "@b"]);
    }

    #[test]
    fn answers_after_the_window_get_nothing() {
        let clock = FakeClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let mut drop = Drop::open("d".into(), spec(5), clock.now()).unwrap();
        clock.advance(Duration::minutes(9));
        assert_eq!(
            drop.answer("@a", "红包", clock.now()),
            Claim::Won { rank: 1 }
        );
        assert!(!drop.is_over(clock.now()));
        clock.advance(Duration::minutes(1));
        assert!(drop.is_over(clock.now()));
        assert_eq!(drop.answer("@b", "红包", clock.now()), Claim::Closed);
        assert_eq!(
            drop.answer("@b", "红包", drop.opens_at - Duration::seconds(1)),
            Claim::Closed
        );
    }

    #[test]
    fn the_keyword_may_open_a_longer_message() {
        for (text, claims) in [
            ("自我介绍：我是小王，做设计的", true),
            ("自我介绍\n我是小王", true),
            ("自我介绍 我是小王", true),
            ("自我介绍一下", false),
            ("我来自我介绍", false),
        ] {
            assert_eq!(says_keyword(text, "自我介绍"), claims, "{text}");
        }
    }

    #[test]
    fn bad_drops_name_the_field() {
        for (change, expected) in [
            (
                (|s: &mut DropSpec| s.shares = 0) as fn(&mut DropSpec),
                "shares: must be 1 to 10000, got 0",
            ),
            (|s| s.keyword = " ".into(), "keyword: must not be empty"),
            (|s| s.minutes = 0, "minutes: must be 1 to 1440, got 0"),
            (
                |s| s.prize = Prize::Points { points: -1 },
                "prize.points: must be positive, got -1",
            ),
        ] {
            let mut bad = spec(3);
            change(&mut bad);
            assert_eq!(bad.validate().unwrap_err().to_string(), expected);
        }
        assert!(self_introduction_template().validate().is_ok());
        assert_eq!(spec(3).points_needed(), 15);
    }
}

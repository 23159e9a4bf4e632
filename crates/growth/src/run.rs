//! One running instance of a play: a 拼 team, a 砍 bargain or a 帮 assist, numbered within its
//! play (`#3`) so members can name it in the chat. The three share this shape so storage keeps
//! one row per run; each play's module (`group_buy`, `bargain`, `assist`) decides its moves.

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{Instant, Platform};
use serde::{Deserialize, Serialize};

use crate::play::RunState;

/// A member who joined a team, cut a bargain or helped an assist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub member: String,
    pub at: DateTime<Utc>,
    /// A bargain cut's size in cents; 0 for a team member or a helper.
    pub cents: i64,
}

/// A running (or finished) team, bargain or assist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub play: String,
    /// 1, 2, … within the play, in the order they were started.
    pub number: u32,
    /// `group_buy`, `bargain` or `assist`.
    pub kind: String,
    pub platform: Platform,
    pub chat: String,
    pub starter: String,
    pub started_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub state: RunState,
    /// Who took part, in order; a team lists its starter first.
    pub participants: Vec<Participant>,
    /// A bargain's current price; 0 for the others.
    pub price_cents: i64,
    /// When it finished (done or failed).
    pub closed_at: Option<DateTime<Utc>>,
}

/// Where, when and by whom a run is opened: what each play's `open` starts from.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    pub play: &'a str,
    pub number: u32,
    pub platform: Platform,
    pub chat: &'a str,
    pub starter: &'a str,
    pub at: DateTime<Utc>,
}

impl Opening<'_> {
    /// An open run of `kind` with no participants yet, closing after `window`.
    pub(crate) fn run(&self, kind: &str, window: Duration, price_cents: i64) -> Run {
        Run {
            play: self.play.to_string(),
            number: self.number,
            kind: kind.into(),
            platform: self.platform,
            chat: self.chat.to_string(),
            starter: self.starter.to_string(),
            started_at: self.at,
            deadline: self.at.plus(window),
            state: RunState::Open,
            participants: Vec::new(),
            price_cents,
            closed_at: None,
        }
    }
}

impl Run {
    pub fn has(&self, member: &str) -> bool {
        self.participants.iter().any(|p| p.member == member)
    }

    pub fn count(&self) -> u32 {
        u32::try_from(self.participants.len()).unwrap_or(u32::MAX)
    }

    /// Closes an open run whose window has passed; `true` when this call closed it.
    pub fn expire(&mut self, now: DateTime<Utc>) -> bool {
        if self.state == RunState::Open && now >= self.deadline {
            self.state = RunState::Failed;
            self.closed_at = Some(self.deadline);
            return true;
        }
        false
    }

    pub(crate) fn finish(&mut self, at: DateTime<Utc>) {
        self.state = RunState::Done;
        self.closed_at = Some(at);
    }

    pub(crate) fn add(&mut self, member: &str, at: DateTime<Utc>, cents: i64) {
        self.participants.push(Participant {
            member: member.to_string(),
            at,
            cents,
        });
    }
}

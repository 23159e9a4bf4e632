//! 帮 assist (article 003): a member asks friends for help and, once `helpers` different friends
//! have helped within the window, the starter gets the play's reward. One help per friend.

use chrono::{DateTime, Utc};
use qunzhu_domain::Instant;

use crate::play::{AssistRules, RunState};
use crate::run::Run;

/// How a help was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Helped {
    Waiting {
        missing: u32,
    },
    /// This help unlocked the reward.
    Unlocked,
    Twice,
    Own,
    Over,
    Expired,
}

pub fn open(
    play: &str,
    number: u32,
    rules: &AssistRules,
    platform: qunzhu_domain::Platform,
    chat: &str,
    starter: &str,
    at: DateTime<Utc>,
) -> Run {
    Run {
        play: play.to_string(),
        number,
        kind: "assist".into(),
        platform,
        chat: chat.to_string(),
        starter: starter.to_string(),
        started_at: at,
        deadline: at.plus(rules.window),
        state: RunState::Open,
        participants: Vec::new(),
        price_cents: 0,
        closed_at: None,
    }
}

pub fn help(run: &mut Run, rules: &AssistRules, member: &str, at: DateTime<Utc>) -> Helped {
    if run.has(member) {
        return Helped::Twice;
    }
    if member == run.starter {
        return Helped::Own;
    }
    run.expire(at);
    match run.state {
        RunState::Failed => return Helped::Expired,
        RunState::Done => return Helped::Over,
        RunState::Open => {}
    }
    run.add(member, at, 0);
    let missing = rules.helpers.saturating_sub(run.count());
    if missing == 0 {
        run.finish(at);
        return Helped::Unlocked;
    }
    Helped::Waiting { missing }
}

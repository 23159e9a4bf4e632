//! 帮 assist (article 003): a member asks friends for help and, once `helpers` different friends
//! have helped within the window, the starter gets the play's reward. One help per friend.

use chrono::{DateTime, Utc};

use crate::play::{AssistRules, RunState};
use crate::run::{Opening, Run};

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

/// Opens an assist with no helpers yet.
pub fn open(opening: &Opening<'_>, rules: &AssistRules) -> Run {
    opening.run("assist", rules.window, 0)
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

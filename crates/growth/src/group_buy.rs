//! 拼 group-buy (article 003): a member opens a team, friends join it in the group, and when
//! `team_size` members are in before the window closes every one of them gets the team price
//! (a coupon for the difference); when the window passes first the team fails and each member
//! gets the play's consolation coupon, if it names one.

use chrono::{DateTime, Utc};
use qunzhu_domain::Instant;

use crate::play::{GroupBuyRules, RunState};
use crate::run::Run;

/// How a join was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// In; `missing` more are needed.
    Waiting {
        missing: u32,
    },
    /// This join completed the team.
    Formed,
    AlreadyIn,
    /// The team formed already.
    Full,
    /// Its window passed (or it failed).
    Expired,
}

/// Opens team `number` for `starter`, who is its first member.
pub fn open(
    play: &str,
    number: u32,
    rules: &GroupBuyRules,
    platform: qunzhu_domain::Platform,
    chat: &str,
    starter: &str,
    at: DateTime<Utc>,
) -> Run {
    let mut run = Run {
        play: play.to_string(),
        number,
        kind: "group_buy".into(),
        platform,
        chat: chat.to_string(),
        starter: starter.to_string(),
        started_at: at,
        deadline: at.plus(rules.window),
        state: RunState::Open,
        participants: Vec::new(),
        price_cents: rules.team_price_cents,
        closed_at: None,
    };
    run.add(starter, at, 0);
    run
}

/// `member` asks to join at `at`.
pub fn join(run: &mut Run, rules: &GroupBuyRules, member: &str, at: DateTime<Utc>) -> Joined {
    run.expire(at);
    match run.state {
        RunState::Failed => return Joined::Expired,
        RunState::Done if run.has(member) => return Joined::AlreadyIn,
        RunState::Done => return Joined::Full,
        RunState::Open => {}
    }
    if run.has(member) {
        return Joined::AlreadyIn;
    }
    run.add(member, at, 0);
    let missing = rules.team_size.saturating_sub(run.count());
    if missing == 0 {
        run.finish(at);
        return Joined::Formed;
    }
    Joined::Waiting { missing }
}

/// What each member saves when the team forms, in cents.
pub fn saving(rules: &GroupBuyRules) -> i64 {
    rules.price_cents - rules.team_price_cents
}

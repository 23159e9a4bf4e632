//! 拼 group-buy (article 003): a member opens a team, friends join it in the group, and when
//! `team_size` members are in before the window closes every one of them gets the team price
//! (a coupon for the difference); when the window passes first the team fails and each member
//! gets the play's consolation coupon, if it names one.

use chrono::{DateTime, Utc};

use crate::play::{GroupBuyRules, RunState};
use crate::run::{Opening, Run};

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

/// Opens the team for its starter, who is its first member.
pub fn open(opening: &Opening<'_>, rules: &GroupBuyRules) -> Run {
    let mut run = opening.run("group_buy", rules.window, rules.team_price_cents);
    run.add(opening.starter, opening.at, 0);
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

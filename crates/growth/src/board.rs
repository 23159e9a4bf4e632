//! A play's board: the play with its runs, fed the group's messages and the clock, returning
//! what the bot should do. Pure; the engine's play consumer turns each [`Out`] into an outbox
//! action (or a ledger transfer) under the key it carries, so a message judged twice acts once.
//!
//! Commands are the play's words at the start of a message (`开团`, `参团 3`, `砍价`, `帮砍 #2`,
//! `助力`, `帮助力 5`, `送积分 20 @friend`); a run is named by its number, or else the newest
//! open one in the group is meant.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use qunzhu_domain::{keys, CouponOffer, Platform};

use crate::assist::{self, Helped};
use crate::bargain::{self, Cut};
use crate::campaign::TaskPrize;
use crate::gift::{self, Refused};
use crate::group_buy::{self, Joined};
use crate::play::{Play, PlayRules, RunState};
use crate::run::{Opening, Run};

/// A message in a group, as the board needs it.
#[derive(Debug, Clone)]
pub struct Said<'a> {
    pub platform: Platform,
    pub chat: &'a str,
    pub member: &'a str,
    pub text: &'a str,
    pub mentions: &'a [String],
    pub at: DateTime<Utc>,
    /// The event's key: answers to a command are keyed by it.
    pub key: &'a str,
}

/// What the bot should do, each under its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    Say {
        key: String,
        chat: String,
        text: String,
        mentions: Vec<String>,
    },
    Coupon {
        key: String,
        chat: String,
        member: String,
        offer: CouponOffer,
        valid_days: Option<u32>,
        memo: String,
    },
    Points {
        key: String,
        chat: String,
        member: String,
        points: i64,
        memo: String,
    },
    /// Points from one member to another; the engine answers `done` or `refused` in the group.
    Transfer {
        key: String,
        chat: String,
        from: String,
        to: String,
        points: i64,
        memo: String,
        done: String,
        refused: String,
    },
}

impl Out {
    pub fn key(&self) -> &str {
        match self {
            Out::Say { key, .. }
            | Out::Coupon { key, .. }
            | Out::Points { key, .. }
            | Out::Transfer { key, .. } => key,
        }
    }
}

/// `¥12.30`.
pub fn yuan(cents: i64) -> String {
    format!("¥{}.{:02}", cents / 100, (cents % 100).abs())
}

/// The rest of a message after `word`, when the message is that command.
pub fn command<'t>(text: &'t str, word: &str) -> Option<&'t str> {
    let first = text.trim().lines().next().unwrap_or("").trim();
    let rest = first.strip_prefix(word)?;
    if rest.is_empty()
        || rest.starts_with(char::is_whitespace)
        || rest.starts_with(['#', '＃'])
        || rest.starts_with(|c: char| c.is_ascii_digit())
    {
        Some(rest.trim())
    } else {
        None
    }
}

/// A run number named after a command (`3`, `#3`), if any.
fn number(rest: &str) -> Option<u32> {
    let token = rest.split_whitespace().next()?;
    token.trim_start_matches(['#', '＃']).parse().ok()
}

pub struct Board {
    pub play: Play,
    pub runs: Vec<Run>,
    changed: BTreeSet<u32>,
}

impl Board {
    pub fn new(play: Play, mut runs: Vec<Run>) -> Board {
        runs.sort_by_key(|run| run.number);
        Board {
            play,
            runs,
            changed: BTreeSet::new(),
        }
    }

    /// The runs this board changed since the last call, to be stored.
    pub fn take_changes(&mut self) -> Vec<Run> {
        let changed = std::mem::take(&mut self.changed);
        self.runs
            .iter()
            .filter(|run| changed.contains(&run.number))
            .cloned()
            .collect()
    }

    fn t(&self, zh: String, en: String) -> String {
        if self.play.english {
            en
        } else {
            zh
        }
    }

    fn key(&self, what: String) -> String {
        keys::play(&self.play.name, &what)
    }

    /// A post in `chat` under the play's key `what`, in the play's language.
    fn say(&self, what: String, chat: &str, zh: String, en: String, mentions: Vec<String>) -> Out {
        Out::Say {
            key: self.key(what),
            chat: chat.to_string(),
            text: self.t(zh, en),
            mentions,
        }
    }

    /// An answer to one member's command, keyed by the command's event.
    fn answer(&self, said: &Said<'_>, zh: String, en: String) -> Out {
        let (what, to) = (format!("answer:{}", said.key), said.member.to_string());
        self.say(what, said.chat, zh, en, vec![to])
    }

    /// Judges one message.
    pub fn message(&mut self, said: &Said<'_>) -> Vec<Out> {
        if !self.play.listens(said.platform, said.chat) {
            return Vec::new();
        }
        let (start, act) = self.play.rules.words();
        if matches!(self.play.rules, PlayRules::Gift(_)) {
            return match command(said.text, act) {
                Some(rest) => self.gift(said, rest),
                None => Vec::new(),
            };
        }
        // The acting word first: `帮助力` must not be read as `助力`.
        if let Some(rest) = command(said.text, act) {
            return self.act(said, number(rest));
        }
        if command(said.text, start).is_some() {
            return self.start(said);
        }
        Vec::new()
    }

    fn start(&mut self, said: &Said<'_>) -> Vec<Out> {
        if !self.play.running(said.at) {
            let zh = if said.at < self.play.starts {
                "活动还没开始"
            } else {
                "活动已结束"
            };
            let en = if said.at < self.play.starts {
                "has not started yet"
            } else {
                "is over"
            };
            return vec![self.answer(
                said,
                format!("「{}」{zh}。", self.play.title),
                format!("\"{}\" {en}.", self.play.title),
            )];
        }
        for run in &mut self.runs {
            if run.expire(said.at) {
                self.changed.insert(run.number);
            }
        }
        if let Some(open) = self
            .runs
            .iter()
            .find(|run| run.starter == said.member && run.state == RunState::Open)
        {
            let n = open.number;
            return vec![self.answer(
                said,
                format!("你已有进行中的 #{n}，完成或过期后再开新的。"),
                format!("You already have #{n} running; start another when it ends."),
            )];
        }
        let number = self.runs.last().map_or(1, |run| run.number + 1);
        let play = &self.play;
        let opening = Opening {
            play: &play.name,
            number,
            platform: said.platform,
            chat: said.chat,
            starter: said.member,
            at: said.at,
        };
        let (run, zh, en) = match &play.rules {
            PlayRules::GroupBuy(rules) => {
                let missing = rules.team_size - 1;
                (
                    group_buy::open(&opening, rules),
                    format!(
                        "{} 开团 #{number}：{} 拼团价 {}（原价 {}），{} 人成团，还差 {missing} 人成团。发送「{} {number}」参团，{} 小时内有效。",
                        said.member, rules.item, yuan(rules.team_price_cents), yuan(rules.price_cents),
                        rules.team_size, rules.join_word, rules.window.num_hours()
                    ),
                    format!(
                        "{} opened team #{number}: {} at {} instead of {}; {} make a team, {missing} to go. Send \"{} {number}\" to join within {} hours.",
                        said.member, rules.item, yuan(rules.team_price_cents), yuan(rules.price_cents),
                        rules.team_size, rules.join_word, rules.window.num_hours()
                    ),
                )
            }
            PlayRules::Bargain(rules) => (
                bargain::open(&opening, rules),
                format!(
                    "{} 发起砍价 #{number}：{} 原价 {}，最低可砍到 {}。好友发送「{} {number}」帮砍一刀，{} 小时内有效。",
                    said.member, rules.item, yuan(rules.price_cents), yuan(rules.floor_cents),
                    rules.cut_word, rules.window.num_hours()
                ),
                format!(
                    "{} started bargain #{number}: {} at {}, down to {} at most. Friends send \"{} {number}\" to cut once, within {} hours.",
                    said.member, rules.item, yuan(rules.price_cents), yuan(rules.floor_cents),
                    rules.cut_word, rules.window.num_hours()
                ),
            ),
            PlayRules::Assist(rules) => (
                assist::open(&opening, rules),
                format!(
                    "{} 发起助力 #{number}：{} 位好友助力即得 {}。发送「{} {number}」帮忙，{} 小时内有效。",
                    said.member, rules.helpers, prize_text(&rules.reward, false),
                    rules.help_word, rules.window.num_hours()
                ),
                format!(
                    "{} asked for help #{number}: {} friends' help unlocks {}. Send \"{} {number}\" to help within {} hours.",
                    said.member, rules.helpers, prize_text(&rules.reward, true),
                    rules.help_word, rules.window.num_hours()
                ),
            ),
            PlayRules::Gift(_) => return Vec::new(),
        };
        let out = self.say(
            format!("{number}:start"),
            said.chat,
            zh,
            en,
            vec![said.member.to_string()],
        );
        self.changed.insert(number);
        self.runs.push(run);
        vec![out]
    }

    /// The run a join, cut or help means: the one named, else the newest open one in the
    /// group that the member did not start.
    fn target(&self, said: &Said<'_>, named: Option<u32>) -> Option<usize> {
        match named {
            Some(n) => self
                .runs
                .iter()
                .position(|run| run.number == n && run.chat == said.chat),
            None => self.runs.iter().rposition(|run| {
                run.chat == said.chat && run.state == RunState::Open && run.starter != said.member
            }),
        }
    }

    fn act(&mut self, said: &Said<'_>, named: Option<u32>) -> Vec<Out> {
        let Some(index) = self.target(said, named) else {
            let (start, _) = self.play.rules.words();
            let which = named.map(|n| format!(" #{n}")).unwrap_or_default();
            return vec![self.answer(
                said,
                format!("没有找到进行中的{which}，发送「{start}」发起一个。"),
                format!("No running{which} found here; send \"{start}\" to start one."),
            )];
        };
        let rules = self.play.rules.clone();
        let before = self.runs[index].clone();
        let out = match &rules {
            PlayRules::GroupBuy(rules) => self.join(said, index, rules),
            PlayRules::Bargain(rules) => self.cut(said, index, rules),
            PlayRules::Assist(rules) => self.help(said, index, rules),
            PlayRules::Gift(_) => Vec::new(),
        };
        if self.runs[index] != before {
            self.changed.insert(self.runs[index].number);
        }
        out
    }

    fn join(
        &mut self,
        said: &Said<'_>,
        index: usize,
        rules: &crate::play::GroupBuyRules,
    ) -> Vec<Out> {
        let judged = group_buy::join(&mut self.runs[index], rules, said.member, said.at);
        let run = &self.runs[index];
        let n = run.number;
        match judged {
            Joined::Waiting { missing } => vec![self.say(
                format!("{n}:join:{}", said.member),
                &run.chat,
                format!(
                    "{} 参团 #{n}（{}/{}），还差 {missing} 人成团。",
                    said.member,
                    run.count(),
                    rules.team_size
                ),
                format!(
                    "{} joined team #{n} ({}/{}); {missing} more to go.",
                    said.member,
                    run.count(),
                    rules.team_size
                ),
                vec![said.member.to_string()],
            )],
            Joined::Formed => {
                let members: Vec<String> =
                    run.participants.iter().map(|p| p.member.clone()).collect();
                let saving = group_buy::saving(rules);
                let offer = CouponOffer::AmountOff { cents: saving };
                let mut out = vec![self.say(
                    format!("{n}:done"),
                    &run.chat,
                    format!(
                        "🎉 #{n} 成团！{} 每人获得 {} 拼团优惠券，{} 到手价 {}。",
                        members.join("、"),
                        yuan(saving),
                        rules.item,
                        yuan(rules.team_price_cents)
                    ),
                    format!(
                        "🎉 Team #{n} is complete! {} each get a {} coupon: {} for {}.",
                        members.join(", "),
                        yuan(saving),
                        rules.item,
                        yuan(rules.team_price_cents)
                    ),
                    members.clone(),
                )];
                for member in &members {
                    out.push(Out::Coupon {
                        key: self.key(format!("{n}:coupon:{member}")),
                        chat: run.chat.clone(),
                        member: member.clone(),
                        offer: offer.clone(),
                        valid_days: rules.valid_days,
                        memo: format!("{} #{n} 拼团价", self.play.title),
                    });
                }
                out
            }
            Joined::AlreadyIn => vec![self.answer(
                said,
                format!("你已在 #{n} 中。"),
                format!("You are already in team #{n}."),
            )],
            Joined::Full => vec![self.answer(
                said,
                format!(
                    "#{n} 已成团，人满了；发送「{}」开一个新团。",
                    rules.start_word
                ),
                format!(
                    "Team #{n} is already full; send \"{}\" to open a new one.",
                    rules.start_word
                ),
            )],
            Joined::Expired => vec![self.answer(
                said,
                format!(
                    "#{n} 已过期未成团；发送「{}」开一个新团。",
                    rules.start_word
                ),
                format!(
                    "Team #{n} has expired; send \"{}\" to open a new one.",
                    rules.start_word
                ),
            )],
        }
    }

    fn cut(
        &mut self,
        said: &Said<'_>,
        index: usize,
        rules: &crate::play::BargainRules,
    ) -> Vec<Out> {
        let judged = bargain::cut(&mut self.runs[index], rules, said.member, said.at);
        let run = &self.runs[index];
        let n = run.number;
        let starter = run.starter.clone();
        match judged {
            Cut::Cut { cents, price } => vec![self.say(
                format!("{n}:cut:{}", said.member),
                &run.chat,
                format!(
                    "{} 帮 {starter} 砍掉 {}，#{n} 现价 {}，离底价还差 {}。",
                    said.member,
                    yuan(cents),
                    yuan(price),
                    yuan(price - rules.floor_cents)
                ),
                format!(
                    "{} cut {} off {starter}'s bargain #{n}: now {}, {} above the floor.",
                    said.member,
                    yuan(cents),
                    yuan(price),
                    yuan(price - rules.floor_cents)
                ),
                vec![said.member.to_string(), starter],
            )],
            Cut::Reached { cents, price } => {
                let saving = bargain::saving(rules, run);
                vec![
                    self.say(
format!("{n}:cut:{}", said.member),
&run.chat,
                            format!("🎉 {} 砍掉最后 {}，#{n} 砍到底价 {}！{starter} 获得 {} 优惠券。", said.member, yuan(cents), yuan(price), yuan(saving)),
                            format!("🎉 {} cut the last {}: bargain #{n} reached the floor {}! {starter} gets a {} coupon.", said.member, yuan(cents), yuan(price), yuan(saving)),
vec![said.member.to_string(), starter.clone()],
),
                    Out::Coupon {
                        key: self.key(format!("{n}:coupon:{starter}")),
                        chat: run.chat.clone(),
                        member: starter,
                        offer: CouponOffer::AmountOff { cents: saving },
                        valid_days: rules.valid_days,
                        memo: format!("{} #{n} 砍价 {}", self.play.title, rules.item),
                    },
                ]
            }
            Cut::Twice { cents } => vec![self.answer(
                said,
                format!(
                    "你已经帮 #{n} 砍过一刀（{}），每人只能砍一次。",
                    yuan(cents)
                ),
                format!(
                    "You already cut bargain #{n} ({}); one cut per person.",
                    yuan(cents)
                ),
            )],
            Cut::Own => vec![self.answer(
                said,
                format!("#{n} 是你自己的砍价，请好友来砍。"),
                format!("#{n} is your own bargain; ask friends to cut it."),
            )],
            Cut::Over => vec![self.answer(
                said,
                format!("#{n} 已砍到底价。"),
                format!("Bargain #{n} already reached the floor."),
            )],
            Cut::Expired => vec![self.answer(
                said,
                format!("#{n} 已过期。"),
                format!("Bargain #{n} has expired."),
            )],
        }
    }

    fn help(
        &mut self,
        said: &Said<'_>,
        index: usize,
        rules: &crate::play::AssistRules,
    ) -> Vec<Out> {
        let judged = assist::help(&mut self.runs[index], rules, said.member, said.at);
        let run = &self.runs[index];
        let n = run.number;
        let starter = run.starter.clone();
        match judged {
            Helped::Waiting { missing } => vec![self.say(
                format!("{n}:help:{}", said.member),
                &run.chat,
                format!(
                    "{} 为 {starter} 助力 #{n}，还差 {missing} 位好友。",
                    said.member
                ),
                format!(
                    "{} helped {starter} (#{n}); {missing} more friends to go.",
                    said.member
                ),
                vec![said.member.to_string()],
            )],
            Helped::Unlocked => {
                let memo = format!("{} #{n} 助力", self.play.title);
                let reward = match &rules.reward {
                    TaskPrize::Points { points } => Out::Points {
                        key: self.key(format!("{n}:reward:{starter}")),
                        chat: run.chat.clone(),
                        member: starter.clone(),
                        points: *points,
                        memo,
                    },
                    TaskPrize::Coupon { offer, valid_days } => Out::Coupon {
                        key: self.key(format!("{n}:reward:{starter}")),
                        chat: run.chat.clone(),
                        member: starter.clone(),
                        offer: offer.clone(),
                        valid_days: *valid_days,
                        memo,
                    },
                };
                vec![
                    self.say(
                        format!("{n}:help:{}", said.member),
                        &run.chat,
                        format!(
                            "🎉 #{n} 助力成功！{starter} 获得 {}。",
                            prize_text(&rules.reward, false)
                        ),
                        format!(
                            "🎉 #{n} unlocked! {starter} gets {}.",
                            prize_text(&rules.reward, true)
                        ),
                        vec![said.member.to_string(), starter.clone()],
                    ),
                    reward,
                ]
            }
            Helped::Twice => vec![self.answer(
                said,
                format!("你已经为 #{n} 助力过了。"),
                format!("You already helped #{n}."),
            )],
            Helped::Own => vec![self.answer(
                said,
                format!("#{n} 是你自己发起的，请好友助力。"),
                format!("#{n} is your own; ask friends to help."),
            )],
            Helped::Over => vec![self.answer(
                said,
                format!("#{n} 已助力成功。"),
                format!("#{n} is already unlocked."),
            )],
            Helped::Expired => {
                vec![self.answer(said, format!("#{n} 已过期。"), format!("#{n} has expired."))]
            }
        }
    }

    fn gift(&mut self, said: &Said<'_>, rest: &str) -> Vec<Out> {
        let PlayRules::Gift(rules) = &self.play.rules else {
            return Vec::new();
        };
        if !self.play.running(said.at) {
            return vec![self.answer(
                said,
                format!("「{}」不在活动时间内。", self.play.title),
                format!("\"{}\" is not running now.", self.play.title),
            )];
        }
        match gift::judge(rules, said.member, rest, said.mentions) {
            Ok(gift) => vec![Out::Transfer {
                key: self.key(format!("gift:{}", said.key)),
                chat: said.chat.to_string(),
                from: said.member.to_string(),
                to: gift.to.clone(),
                points: gift.points,
                memo: format!("{} 送 {}", said.member, gift.to),
                done: self.t(
                    format!("🎁 {} 送给 {} {} 积分。", said.member, gift.to, gift.points),
                    format!(
                        "🎁 {} gave {} {} points.",
                        said.member, gift.to, gift.points
                    ),
                ),
                refused: self.t(
                    format!("{} 积分不足，送不出 {} 积分。", said.member, gift.points),
                    format!(
                        "{} does not have {} points to give.",
                        said.member, gift.points
                    ),
                ),
            }],
            Err(refused) => {
                let word = &rules.word;
                let (zh, en) = match refused {
                    Refused::NoFriend => (
                        format!("请 @ 要送的好友，例如「{word} 20 @好友」。"),
                        format!("Mention the friend, e.g. \"{word} 20 @friend\"."),
                    ),
                    Refused::ToSelf => (
                        "不能送给自己。".to_string(),
                        "You cannot give points to yourself.".to_string(),
                    ),
                    Refused::NoAmount => (
                        format!("请写明积分数，例如「{word} 20 @好友」。"),
                        format!("Say how many points, e.g. \"{word} 20 @friend\"."),
                    ),
                    Refused::TooMuch { max } => (
                        format!("每次最多送 {max} 积分。"),
                        format!("At most {max} points per gift."),
                    ),
                };
                vec![self.answer(said, zh, en)]
            }
        }
    }

    /// Closes runs whose window passed: a failed team's members get the consolation coupon.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Out> {
        let mut out = Vec::new();
        let mut closed = Vec::new();
        for run in &mut self.runs {
            if run.expire(now) {
                closed.push(run.clone());
            }
        }
        for run in closed {
            self.changed.insert(run.number);
            let n = run.number;
            let members: Vec<String> = run.participants.iter().map(|p| p.member.clone()).collect();
            match &self.play.rules {
                PlayRules::GroupBuy(rules) => {
                    let (zh, en) = match rules.consolation.as_ref().map(|offer| offer.describe()) {
                        Some(c) => (
                            format!("每位团员获得补偿券：{c}。"),
                            format!(" Each member gets a consolation coupon: {c}."),
                        ),
                        None => (String::new(), String::new()),
                    };
                    let (hours, count) = (rules.window.num_hours(), run.count());
                    out.push(self.say(
                        format!("{n}:failed"),
                        &run.chat,
                        format!(
                            "#{n} 未能在 {hours} 小时内成团（{count}/{}）。{zh}",
                            rules.team_size
                        ),
                        format!(
                            "Team #{n} did not complete within {hours} hours ({count}/{}).{en}",
                            rules.team_size
                        ),
                        members.clone(),
                    ));
                    if let Some(offer) = &rules.consolation {
                        for member in &members {
                            out.push(Out::Coupon {
                                key: self.key(format!("{n}:consolation:{member}")),
                                chat: run.chat.clone(),
                                member: member.clone(),
                                offer: offer.clone(),
                                valid_days: rules.valid_days,
                                memo: format!("{} #{n} 拼团补偿", self.play.title),
                            });
                        }
                    }
                }
                PlayRules::Bargain(rules) => out.push(self.say(
                    format!("{n}:failed"),
                    &run.chat,
                    format!(
                        "砍价 #{n} 已到期，停在 {}，未砍到底价 {}。",
                        yuan(run.price_cents),
                        yuan(rules.floor_cents)
                    ),
                    format!(
                        "Bargain #{n} expired at {}, short of the floor {}.",
                        yuan(run.price_cents),
                        yuan(rules.floor_cents)
                    ),
                    vec![run.starter.clone()],
                )),
                PlayRules::Assist(rules) => out.push(self.say(
                    format!("{n}:failed"),
                    &run.chat,
                    format!("助力 #{n} 已到期（{}/{}）。", run.count(), rules.helpers),
                    format!("Help #{n} expired ({}/{}).", run.count(), rules.helpers),
                    vec![run.starter.clone()],
                )),
                PlayRules::Gift(_) => {}
            }
        }
        out
    }
}

/// A reward as the group reads it.
pub fn prize_text(prize: &TaskPrize, english: bool) -> String {
    match (prize, english) {
        (TaskPrize::Points { points }, false) => format!("{points} 积分"),
        (TaskPrize::Points { points }, true) => format!("{points} points"),
        (TaskPrize::Coupon { offer, .. }, _) => offer.describe(),
    }
}

#[cfg(test)]
#[path = "board_tests.rs"]
mod tests;

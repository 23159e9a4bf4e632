//! The growth plays 玩法 of article 003 as an operator writes them: 拼 group-buy, 砍 bargain,
//! 帮 assist and 送 gift. One TOML document of kind [`qunzhu_domain::DocumentKind::Play`] per play, checked into a
//! [`Play`] with `line:col` diagnostics and field paths, so a floor above the price or a team of
//! one is refused before a member is promised anything.
//!
//! Plays are their own document kind rather than invite-task campaigns: an invite task counts
//! joins, a play answers chat commands, and neither parser has to know the other's fields.

use std::fmt;
use std::ops::Range;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{CouponOffer, Platform};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::campaign::TaskPrize;
use crate::located::{self, Located};

/// The longest window a team, bargain or assist may stay open (30 days).
pub const MAX_HOURS: i64 = 24 * 30;

/// 拼: a team of `team_size` forms within `window`; then every member gets the team price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupBuyRules {
    pub item: String,
    pub team_size: u32,
    pub window: Duration,
    pub price_cents: i64,
    pub team_price_cents: i64,
    /// What each member of a team that did not form gets instead (PLAYBOOKS §6: 拼团失败补偿).
    pub consolation: Option<CouponOffer>,
    pub valid_days: Option<u32>,
    pub start_word: String,
    pub join_word: String,
}

/// 砍: friends cut the price toward the floor; `cuts` friends reach it, the first cuts largest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BargainRules {
    pub item: String,
    pub price_cents: i64,
    pub floor_cents: i64,
    /// How many friends' cuts reach the floor.
    pub cuts: u32,
    /// Each cut's weight is this share of the one before (100: even, 50: halving).
    pub decay_percent: u32,
    /// Each weight moves by up to this share, drawn from `seed` (0: no jitter).
    pub jitter_percent: u32,
    pub seed: u64,
    pub window: Duration,
    pub valid_days: Option<u32>,
    pub start_word: String,
    pub cut_word: String,
}

/// 帮: `helpers` friends help within `window`, then the starter gets `reward`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistRules {
    pub helpers: u32,
    pub window: Duration,
    pub reward: TaskPrize,
    pub start_word: String,
    pub help_word: String,
}

/// 送: a member gives points of their own to a mentioned friend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftRules {
    pub max_points: i64,
    pub word: String,
}

/// What kind of play, with its own rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlayRules {
    GroupBuy(GroupBuyRules),
    Bargain(BargainRules),
    Assist(AssistRules),
    Gift(GiftRules),
}

impl PlayRules {
    pub fn kind(&self) -> &'static str {
        match self {
            PlayRules::GroupBuy(_) => "group_buy",
            PlayRules::Bargain(_) => "bargain",
            PlayRules::Assist(_) => "assist",
            PlayRules::Gift(_) => "gift",
        }
    }

    /// The word that starts a run and the word that acts on one (`开团`, `参团`); a gift's
    /// one word is both.
    pub fn words(&self) -> (&str, &str) {
        match self {
            PlayRules::GroupBuy(rules) => (&rules.start_word, &rules.join_word),
            PlayRules::Bargain(rules) => (&rules.start_word, &rules.cut_word),
            PlayRules::Assist(rules) => (&rules.start_word, &rules.help_word),
            PlayRules::Gift(rules) => (&rules.word, &rules.word),
        }
    }
}

/// A checked play.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Play {
    /// The document's name: the play's key in storage and in action keys.
    pub name: String,
    pub title: String,
    pub platform: Platform,
    pub groups: Vec<String>,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    pub english: bool,
    pub rules: PlayRules,
}

impl Play {
    /// Whether a command in `chat` at `at` belongs to the play's groups (the time is judged
    /// separately, so a member hears "not started" rather than nothing).
    pub fn listens(&self, platform: Platform, chat: &str) -> bool {
        platform == self.platform && self.groups.iter().any(|group| group == chat)
    }

    pub fn running(&self, at: DateTime<Utc>) -> bool {
        at >= self.starts && at < self.ends
    }
}

/// Where a running team, bargain or assist stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Still taking members, cuts or helpers.
    Open,
    /// Completed: the team formed, the floor was reached, the reward unlocked.
    Done,
    /// The window passed first.
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Open => "open",
            RunState::Done => "done",
            RunState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<RunState> {
        [RunState::Open, RunState::Done, RunState::Failed]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// One problem in a play document: `line:col: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlayError {
    pub line: usize,
    pub col: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for PlayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.col, self.field, self.message
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlay {
    kind: Spanned<String>,
    title: String,
    platform: Spanned<String>,
    groups: Spanned<Vec<String>>,
    starts: Spanned<String>,
    ends: Spanned<String>,
    #[serde(default)]
    language: Option<Spanned<String>>,
    group_buy: Option<Spanned<RawGroupBuy>>,
    bargain: Option<Spanned<RawBargain>>,
    assist: Option<Spanned<RawAssist>>,
    gift: Option<Spanned<RawGift>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroupBuy {
    item: String,
    team_size: Spanned<i64>,
    hours: Spanned<i64>,
    price_cents: Spanned<i64>,
    team_price_cents: Spanned<i64>,
    consolation: Option<Spanned<CouponOffer>>,
    valid_days: Option<u32>,
    #[serde(default = "start_team")]
    start_word: String,
    #[serde(default = "join_team")]
    join_word: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBargain {
    item: String,
    price_cents: Spanned<i64>,
    floor_cents: Spanned<i64>,
    cuts: Spanned<i64>,
    #[serde(default = "seventy")]
    decay_percent: Spanned<i64>,
    #[serde(default = "zero")]
    jitter_percent: Spanned<i64>,
    #[serde(default)]
    seed: u64,
    hours: Spanned<i64>,
    valid_days: Option<u32>,
    #[serde(default = "start_bargain")]
    start_word: String,
    #[serde(default = "cut_word")]
    cut_word: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssist {
    helpers: Spanned<i64>,
    hours: Spanned<i64>,
    points: Option<Spanned<i64>>,
    coupon: Option<Spanned<CouponOffer>>,
    valid_days: Option<u32>,
    #[serde(default = "start_assist")]
    start_word: String,
    #[serde(default = "help_word")]
    help_word: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGift {
    max_points: Spanned<i64>,
    #[serde(default = "gift_word")]
    word: String,
}

fn start_team() -> String {
    "开团".into()
}
fn join_team() -> String {
    "参团".into()
}
fn start_bargain() -> String {
    "砍价".into()
}
fn cut_word() -> String {
    "帮砍".into()
}
fn start_assist() -> String {
    "助力".into()
}
fn help_word() -> String {
    "帮助力".into()
}
fn gift_word() -> String {
    "送积分".into()
}
fn zero() -> Spanned<i64> {
    Spanned::new(0..0, 0)
}
fn seventy() -> Spanned<i64> {
    Spanned::new(0..0, 70)
}

type Problems<'a> = located::Problems<'a, PlayError>;

impl Located for PlayError {
    fn located(line: usize, col: usize, field: String, message: String) -> Self {
        PlayError {
            line,
            col,
            field,
            message,
        }
    }
}

/// The checks only plays make.
impl Problems<'_> {
    /// A whole number within `range`, or a located problem (and the range's start).
    fn number(&mut self, value: &Spanned<i64>, field: &str, range: Range<i64>) -> i64 {
        let number = *value.get_ref();
        if !range.contains(&number) {
            self.at(
                value.span(),
                field,
                format!(
                    "{number} is not between {} and {}",
                    range.start,
                    range.end - 1
                ),
            );
            return range.start;
        }
        number
    }

    fn hours(&mut self, value: &Spanned<i64>, field: &str) -> Duration {
        Duration::hours(self.number(value, field, 1..MAX_HOURS + 1))
    }

    fn word(&mut self, word: &str, span: Range<usize>, field: &str) {
        if word.trim().is_empty() || word.chars().count() > 20 || word.contains(char::is_whitespace)
        {
            self.at(
                span,
                field,
                "a command word is 1 to 20 characters without spaces",
            );
        }
    }

    fn offer(&mut self, offer: &Spanned<CouponOffer>, field: &str) {
        if let Err(error) = offer.get_ref().validate() {
            self.at(offer.span(), field, error.to_string());
        }
    }
}

const CENTS: Range<i64> = 1..10_000_000_001;

fn group_buy(raw: &Spanned<RawGroupBuy>, problems: &mut Problems<'_>) -> GroupBuyRules {
    let body = raw.get_ref();
    let team_size = problems.number(&body.team_size, "group_buy.team_size", 2..1001);
    let price = problems.number(&body.price_cents, "group_buy.price_cents", CENTS);
    let team_price = problems.number(&body.team_price_cents, "group_buy.team_price_cents", CENTS);
    if team_price >= price {
        problems.at(
            body.team_price_cents.span(),
            "group_buy.team_price_cents",
            format!(
                "{team_price} is not below price_cents ({price}): the team price must be lower"
            ),
        );
    }
    if body.item.trim().is_empty() {
        problems.at(raw.span(), "group_buy.item", "name the item");
    }
    if let Some(offer) = &body.consolation {
        problems.offer(offer, "group_buy.consolation");
    }
    problems.word(&body.start_word, raw.span(), "group_buy.start_word");
    problems.word(&body.join_word, raw.span(), "group_buy.join_word");
    GroupBuyRules {
        item: body.item.clone(),
        team_size: u32::try_from(team_size).unwrap_or(2),
        window: problems.hours(&body.hours, "group_buy.hours"),
        price_cents: price,
        team_price_cents: team_price,
        consolation: body
            .consolation
            .as_ref()
            .map(|offer| offer.get_ref().clone()),
        valid_days: body.valid_days,
        start_word: body.start_word.clone(),
        join_word: body.join_word.clone(),
    }
}

fn bargain(raw: &Spanned<RawBargain>, problems: &mut Problems<'_>) -> BargainRules {
    let body = raw.get_ref();
    let price = problems.number(&body.price_cents, "bargain.price_cents", CENTS);
    let floor = problems.number(&body.floor_cents, "bargain.floor_cents", 0..10_000_000_001);
    if floor >= price {
        problems.at(
            body.floor_cents.span(),
            "bargain.floor_cents",
            format!("{floor} is not below price_cents ({price}): there would be nothing to cut"),
        );
    }
    let cuts = problems.number(&body.cuts, "bargain.cuts", 1..1001);
    if floor < price && price - floor < cuts {
        problems.at(
            body.cuts.span(),
            "bargain.cuts",
            format!(
                "{cuts} cuts cannot each take a cent from {} cents",
                price - floor
            ),
        );
    }
    if body.item.trim().is_empty() {
        problems.at(raw.span(), "bargain.item", "name the item");
    }
    problems.word(&body.start_word, raw.span(), "bargain.start_word");
    problems.word(&body.cut_word, raw.span(), "bargain.cut_word");
    BargainRules {
        item: body.item.clone(),
        price_cents: price,
        floor_cents: floor,
        cuts: u32::try_from(cuts).unwrap_or(1),
        decay_percent: u32::try_from(problems.number(
            &body.decay_percent,
            "bargain.decay_percent",
            1..101,
        ))
        .unwrap_or(100),
        jitter_percent: u32::try_from(problems.number(
            &body.jitter_percent,
            "bargain.jitter_percent",
            0..51,
        ))
        .unwrap_or(0),
        seed: body.seed,
        window: problems.hours(&body.hours, "bargain.hours"),
        valid_days: body.valid_days,
        start_word: body.start_word.clone(),
        cut_word: body.cut_word.clone(),
    }
}

fn assist(raw: &Spanned<RawAssist>, problems: &mut Problems<'_>) -> AssistRules {
    let body = raw.get_ref();
    let helpers = problems.number(&body.helpers, "assist.helpers", 1..1001);
    let reward = match (&body.points, &body.coupon) {
        (Some(points), None) => TaskPrize::Points {
            points: problems.number(points, "assist.points", 1..1_000_000_001),
        },
        (None, Some(offer)) => {
            problems.offer(offer, "assist.coupon");
            TaskPrize::Coupon {
                offer: offer.get_ref().clone(),
                valid_days: body.valid_days,
            }
        }
        _ => {
            problems.at(
                raw.span(),
                "assist",
                "give exactly one of `points` or `coupon`",
            );
            TaskPrize::Points { points: 1 }
        }
    };
    problems.word(&body.start_word, raw.span(), "assist.start_word");
    problems.word(&body.help_word, raw.span(), "assist.help_word");
    AssistRules {
        helpers: u32::try_from(helpers).unwrap_or(1),
        window: problems.hours(&body.hours, "assist.hours"),
        reward,
        start_word: body.start_word.clone(),
        help_word: body.help_word.clone(),
    }
}

/// Checks a play document named `name`; every problem found is returned, each located.
pub fn parse_play(name: &str, source: &str) -> Result<Play, Vec<PlayError>> {
    let mut problems = Problems::new(source);
    let Some(raw) = problems.toml::<RawPlay>() else {
        return Err(problems.found);
    };
    problems.name(name, "play");
    let platform = problems.platform(&raw.platform);
    if raw.groups.get_ref().is_empty() {
        problems.at(raw.groups.span(), "groups", "name at least one group");
    }
    let (starts, ends) = problems.window(&raw.starts, &raw.ends, "play");
    let english = problems.english(&raw.language);
    let sections = [
        ("group_buy", raw.group_buy.is_some()),
        ("bargain", raw.bargain.is_some()),
        ("assist", raw.assist.is_some()),
        ("gift", raw.gift.is_some()),
    ];
    let kind = raw.kind.get_ref().as_str();
    for (section, present) in sections {
        let known = sections.iter().any(|(name, _)| *name == kind);
        if known && present && section != kind {
            problems.at(
                raw.kind.span(),
                section,
                format!("a `{kind}` play has no [{section}] section"),
            );
        }
    }
    let missing = |problems: &mut Problems<'_>| {
        problems.at(
            raw.kind.span(),
            kind.to_string(),
            format!("a `{kind}` play needs its [{kind}] section"),
        );
    };
    let rules = match kind {
        "group_buy" => match &raw.group_buy {
            Some(body) => Some(PlayRules::GroupBuy(group_buy(body, &mut problems))),
            None => {
                missing(&mut problems);
                None
            }
        },
        "bargain" => match &raw.bargain {
            Some(body) => Some(PlayRules::Bargain(bargain(body, &mut problems))),
            None => {
                missing(&mut problems);
                None
            }
        },
        "assist" => match &raw.assist {
            Some(body) => Some(PlayRules::Assist(assist(body, &mut problems))),
            None => {
                missing(&mut problems);
                None
            }
        },
        "gift" => match &raw.gift {
            Some(body) => {
                let max =
                    problems.number(&body.get_ref().max_points, "gift.max_points", 1..1_000_001);
                problems.word(&body.get_ref().word, body.span(), "gift.word");
                Some(PlayRules::Gift(GiftRules {
                    max_points: max,
                    word: body.get_ref().word.clone(),
                }))
            }
            None => {
                missing(&mut problems);
                None
            }
        },
        other => {
            problems.at(
                raw.kind.span(),
                "kind",
                format!("`{other}` is not one of group_buy, bargain, assist, gift"),
            );
            None
        }
    };
    match rules {
        Some(rules) if problems.found.is_empty() => Ok(Play {
            name: name.to_string(),
            title: raw.title,
            platform,
            groups: raw.groups.into_inner(),
            starts,
            ends,
            english,
            rules,
        }),
        _ => Err(problems.found),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const GROUP_BUY: &str = r#"kind = "group_buy"
title = "三人拼咖啡豆"
platform = "matrix"
groups = ["!g:hs"]
starts = "2026-12-01T00:00:00Z"
ends = "2026-12-31T00:00:00Z"

[group_buy]
item = "咖啡豆"
team_size = 3
hours = 24
price_cents = 9900
team_price_cents = 5900
consolation = { type = "amount_off", cents = 500 }
"#;

    pub const BARGAIN: &str = r#"kind = "bargain"
title = "砍价免费拿"
platform = "matrix"
groups = ["!g:hs"]
starts = "2026-12-01T00:00:00Z"
ends = "2026-12-31T00:00:00Z"

[bargain]
item = "保温杯"
price_cents = 10000
floor_cents = 1000
cuts = 4
decay_percent = 50
hours = 24
"#;

    #[test]
    fn good_documents_are_checked_with_their_defaults() {
        let play = parse_play("beans", GROUP_BUY).unwrap();
        let PlayRules::GroupBuy(rules) = &play.rules else {
            panic!("{play:?}")
        };
        assert_eq!((rules.team_size, rules.window), (3, Duration::hours(24)));
        assert_eq!(
            (rules.start_word.as_str(), rules.join_word.as_str()),
            ("开团", "参团")
        );
        let play = parse_play("cup", BARGAIN).unwrap();
        assert_eq!(play.rules.kind(), "bargain");
        let assist = GROUP_BUY
            .replace("group_buy", "assist")
            .replace("item = \"咖啡豆\"\nteam_size = 3\n", "helpers = 3\npoints = 50\n")
            .replace("price_cents = 9900\nteam_price_cents = 5900\nconsolation = { type = \"amount_off\", cents = 500 }\n", "");
        assert_eq!(parse_play("help", &assist).unwrap().rules.kind(), "assist");
    }

    #[test]
    fn bad_documents_say_what_and_where() {
        let cases = [
            (GROUP_BUY.replace("team_size = 3", "team_size = 1"), "10:13: group_buy.team_size: 1 is not between 2 and 1000"),
            (GROUP_BUY.replace("team_price_cents = 5900", "team_price_cents = 9900"), "13:20: group_buy.team_price_cents: 9900 is not below price_cents (9900)"),
            (GROUP_BUY.replace("hours = 24", "hours = 0"), "11:9: group_buy.hours: 0 is not between 1 and 720"),
            (GROUP_BUY.replace("cents = 500", "cents = -5"), "14:15: group_buy.consolation: invalid offer cents"),
            (BARGAIN.replace("floor_cents = 1000", "floor_cents = 20000"), "11:15: bargain.floor_cents: 20000 is not below price_cents (10000): there would be nothing to cut"),
            (BARGAIN.replace("cuts = 4", "cuts = 0"), "12:8: bargain.cuts: 0 is not between 1 and 1000"),
            (BARGAIN.replace("kind = \"bargain\"", "kind = \"raffle\""), "1:8: kind: `raffle` is not one of"),
            (BARGAIN.replace("kind = \"bargain\"", "kind = \"gift\""), "1:8: bargain: a `gift` play has no [bargain] section"),
            (GROUP_BUY.replace("2026-12-31", "2026-11-30"), "6:8: ends: the play ends before it starts"),
            (GROUP_BUY.replace("hours", "hour"), "11:1: document: unknown field `hour`"),
        ];
        for (source, expected) in cases {
            let shown = parse_play("p", &source)
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                shown.starts_with(expected),
                "expected {expected:?}, got {shown:?}"
            );
        }
    }
}

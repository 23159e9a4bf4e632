//! Time-limited offers (秒杀, PLAYBOOKS §6; articles 003, 004): a stock of K items that opens at a
//! set time in the group, first come first served, one per member, for a points price and/or a
//! coupon, with a countdown post before it opens and the stock left shown after every claim.
//!
//! This module is the offer's rules only: the document an operator writes (checked into an
//! [`OfferSpec`] with `line:col` errors), the window, and the [`Sale`] state machine that says
//! what one claim gets. The stock itself lives in storage, where one atomic operation decrements
//! it and records the claim, so two instances claiming at once can never sell K + 1; [`Sale`] is
//! the specification that operation is tested against.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{CouponOffer, Platform};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::located::{self, Located};

/// The biggest stock one offer may have; more is a shop, not a flash sale.
pub const MAX_STOCK: u32 = 100_000;
/// The longest an offer stays open.
pub const MAX_WINDOW_DAYS: i64 = 7;
/// The longest countdown before it opens.
pub const MAX_COUNTDOWN_MINUTES: u32 = 7 * 24 * 60;

/// The coupon every claimer gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferCoupon {
    pub offer: CouponOffer,
    /// Days it stays valid; `None` never expires.
    #[serde(default)]
    pub valid_days: Option<u32>,
}

/// A checked offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferSpec {
    pub title: String,
    pub platform: Platform,
    /// The group it runs in.
    pub chat: String,
    /// What members send to claim (`抢`), the whole message or its first line.
    pub keyword: String,
    pub stock: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The countdown post goes out this long before it opens; 0 sends none.
    pub countdown_minutes: u32,
    /// The price in points, moved from the claimer to the offer's account; 0 is free.
    pub points: i64,
    pub coupon: Option<OfferCoupon>,
}

/// Why a claim gets nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    NotStarted {
        starts_at: DateTime<Utc>,
    },
    Ended {
        ends_at: DateTime<Utc>,
    },
    SoldOut,
    AlreadyClaimed,
    /// The claimer cannot pay the points price.
    CannotPay {
        points: i64,
    },
}

impl Refusal {
    /// A stable code for the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotStarted { .. } => "not_started",
            Refusal::Ended { .. } => "ended",
            Refusal::SoldOut => "sold_out",
            Refusal::AlreadyClaimed => "already_claimed",
            Refusal::CannotPay { .. } => "cannot_pay",
        }
    }

    /// The answer in the group (and the API's message), times in the workspace's zone.
    pub fn text(&self, tz: Tz) -> String {
        match self {
            Refusal::NotStarted { starts_at } => format!(
                "秒杀还没开始，{} 准时开抢。",
                starts_at.with_timezone(&tz).format("%m-%d %H:%M")
            ),
            Refusal::Ended { ends_at } => format!(
                "秒杀已于 {} 结束。",
                ends_at.with_timezone(&tz).format("%m-%d %H:%M")
            ),
            Refusal::SoldOut => "已抢光，下次早点来！".into(),
            Refusal::AlreadyClaimed => "你已经抢到过了，每人限一件。".into(),
            Refusal::CannotPay { points } => format!("积分不足，这件需要 {points} 积分。"),
        }
    }
}

impl OfferSpec {
    /// Whether a claim at `at` falls inside the window.
    pub fn window(&self, at: DateTime<Utc>) -> Result<(), Refusal> {
        if at < self.starts_at {
            return Err(Refusal::NotStarted {
                starts_at: self.starts_at,
            });
        }
        if at >= self.ends_at {
            return Err(Refusal::Ended {
                ends_at: self.ends_at,
            });
        }
        Ok(())
    }

    /// When the countdown post goes out, if there is one.
    pub fn countdown_at(&self) -> Option<DateTime<Utc>> {
        (self.countdown_minutes > 0)
            .then(|| self.starts_at - Duration::minutes(i64::from(self.countdown_minutes)))
    }

    /// What a claimer gets, as the bot says it.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.points > 0 {
            parts.push(format!("{} 积分兑换", self.points));
        }
        if let Some(coupon) = &self.coupon {
            parts.push(format!("送{}", coupon.offer.describe()));
        }
        parts.join("，")
    }

    /// The countdown post.
    pub fn countdown_text(&self, tz: Tz) -> String {
        format!(
            "⏰ 秒杀预告：「{}」{} 开抢，限量 {} 件（{}），每人限一件。开抢后发送「{}」即可抢购！",
            self.title,
            self.starts_at.with_timezone(&tz).format("%m-%d %H:%M"),
            self.stock,
            self.describe(),
            self.keyword
        )
    }

    /// The post when it opens.
    pub fn open_text(&self, remaining: u32, tz: Tz) -> String {
        format!(
            "🔥 秒杀开始：「{}」发送「{}」立即抢购（{}），{} 结束，剩余 {} 件。",
            self.title,
            self.keyword,
            self.describe(),
            self.ends_at.with_timezone(&tz).format("%H:%M"),
            remaining
        )
    }

    /// The answer to a member who got one.
    pub fn claimed_text(&self, remaining: u32) -> String {
        format!(
            "抢到了！「{}」已为你保留（{}），剩余 {remaining} 件。",
            self.title,
            self.describe()
        )
    }

    /// The post when the last one goes.
    pub fn sold_out_text(&self) -> String {
        format!("「{}」{} 件已全部抢光，感谢参与！", self.title, self.stock)
    }
}

/// The offer's state machine in memory: the specification of the stored claim.
#[derive(Debug, Clone)]
pub struct Sale {
    pub spec: OfferSpec,
    pub remaining: u32,
    claimed: BTreeSet<String>,
}

impl Sale {
    pub fn new(spec: OfferSpec) -> Sale {
        Sale {
            remaining: spec.stock,
            spec,
            claimed: BTreeSet::new(),
        }
    }

    /// One claim of `member` at `at`, able to pay or not: the stock left after it, or why not.
    /// Checked in this order, so a member who already has one hears so even when sold out.
    pub fn claim(
        &mut self,
        member: &str,
        at: DateTime<Utc>,
        can_pay: bool,
    ) -> Result<u32, Refusal> {
        self.spec.window(at)?;
        if self.claimed.contains(member) {
            return Err(Refusal::AlreadyClaimed);
        }
        if self.remaining == 0 {
            return Err(Refusal::SoldOut);
        }
        if !can_pay {
            return Err(Refusal::CannotPay {
                points: self.spec.points,
            });
        }
        self.claimed.insert(member.to_string());
        self.remaining -= 1;
        Ok(self.remaining)
    }
}

/// One problem in an offer document: `line:col: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferError {
    pub line: usize,
    pub col: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for OfferError {
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
struct RawOffer {
    title: Spanned<String>,
    platform: Spanned<String>,
    group: Spanned<String>,
    #[serde(default = "default_keyword")]
    keyword: Spanned<String>,
    stock: Spanned<i64>,
    starts: Spanned<String>,
    ends: Spanned<String>,
    #[serde(default = "default_countdown")]
    countdown_minutes: Spanned<i64>,
    #[serde(default)]
    points: Option<Spanned<i64>>,
    #[serde(default)]
    coupon: Option<Spanned<OfferCoupon>>,
}

fn default_keyword() -> Spanned<String> {
    Spanned::new(0..0, "秒杀".to_string())
}

fn default_countdown() -> Spanned<i64> {
    Spanned::new(0..0, 30)
}

type Problems<'a> = located::Problems<'a, OfferError>;

impl Located for OfferError {
    fn located(line: usize, col: usize, field: String, message: String) -> Self {
        OfferError {
            line,
            col,
            field,
            message,
        }
    }
}

/// A time as `2026-03-06 20:00` in the workspace's zone, or RFC 3339 with its own offset.
pub fn parse_time(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()?;
    // A time skipped by a clock change has no instant; one repeated takes the earlier.
    tz.from_local_datetime(&local)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

fn time(text: &Spanned<String>, field: &str, tz: Tz, problems: &mut Problems<'_>) -> DateTime<Utc> {
    parse_time(text.get_ref(), tz).unwrap_or_else(|| {
        problems.at(
            text.span(),
            field,
            format!(
                "`{}` is not a time like 2026-03-06 20:00 (in {tz}) or 2026-03-06T20:00:00+08:00",
                text.get_ref()
            ),
        );
        DateTime::<Utc>::MIN_UTC
    })
}

/// Checks an offer document; times without an offset are in `tz`. Every problem is returned,
/// each located.
pub fn parse_offer(source: &str, tz: Tz) -> Result<OfferSpec, Vec<OfferError>> {
    let mut problems = Problems::new(source);
    let Some(raw) = problems.toml::<RawOffer>() else {
        return Err(problems.found);
    };
    let title = raw.title.get_ref().trim().to_string();
    if title.is_empty() || title.chars().count() > 80 {
        problems.at(
            raw.title.span(),
            "title",
            "give a title of 1 to 80 characters",
        );
    }
    let platform = problems.platform(&raw.platform);
    let chat = raw.group.get_ref().trim().to_string();
    if chat.is_empty() {
        problems.at(
            raw.group.span(),
            "group",
            "name the group the offer runs in",
        );
    }
    let keyword = raw.keyword.get_ref().trim().to_string();
    if keyword.is_empty() || keyword.chars().count() > 20 {
        problems.at(
            raw.keyword.span(),
            "keyword",
            "give a keyword of 1 to 20 characters",
        );
    }
    let stock = *raw.stock.get_ref();
    if !(1..=i64::from(MAX_STOCK)).contains(&stock) {
        problems.at(
            raw.stock.span(),
            "stock",
            format!("must be 1 to {MAX_STOCK}, got {stock}"),
        );
    }
    let starts_at = time(&raw.starts, "starts", tz, &mut problems);
    let ends_at = time(&raw.ends, "ends", tz, &mut problems);
    if starts_at != DateTime::<Utc>::MIN_UTC && ends_at != DateTime::<Utc>::MIN_UTC {
        if ends_at <= starts_at {
            problems.at(raw.ends.span(), "ends", "must be after starts");
        } else if ends_at - starts_at > Duration::days(MAX_WINDOW_DAYS) {
            problems.at(
                raw.ends.span(),
                "ends",
                format!("an offer stays open at most {MAX_WINDOW_DAYS} days"),
            );
        }
    }
    let countdown = *raw.countdown_minutes.get_ref();
    if !(0..=i64::from(MAX_COUNTDOWN_MINUTES)).contains(&countdown) {
        problems.at(
            raw.countdown_minutes.span(),
            "countdown_minutes",
            format!("must be 0 to {MAX_COUNTDOWN_MINUTES}, got {countdown}"),
        );
    }
    let points = match &raw.points {
        Some(points) if !(0..=1_000_000_000).contains(points.get_ref()) => {
            problems.at(
                points.span(),
                "points",
                format!("must be 0 to 1000000000, got {}", points.get_ref()),
            );
            0
        }
        Some(points) => *points.get_ref(),
        None => 0,
    };
    if let Some(coupon) = &raw.coupon {
        if let Err(error) = coupon.get_ref().offer.validate() {
            problems.at(coupon.span(), "coupon.offer", error.to_string());
        }
    }
    if points == 0 && raw.coupon.is_none() && problems.found.is_empty() {
        problems.at(
            0..0,
            "points",
            "give a points price, a coupon, or both: a claim goes through the ledger",
        );
    }
    if !problems.found.is_empty() {
        return Err(problems.found);
    }
    Ok(OfferSpec {
        title,
        platform,
        chat,
        keyword,
        stock: u32::try_from(stock).unwrap_or(MAX_STOCK),
        starts_at,
        ends_at,
        countdown_minutes: u32::try_from(countdown).unwrap_or(0),
        points,
        coupon: raw.coupon.map(Spanned::into_inner),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_domain::{Clock, FakeClock};

    const DOC: &str = r#"title = "保温杯"
platform = "matrix"
group = "!room:x"
keyword = "抢"
stock = 2
starts = "2026-03-06 20:00"
ends = "2026-03-06 20:30"
points = 100
coupon = { offer = { type = "amount_off", cents = 500 }, valid_days = 7 }
"#;

    fn spec() -> OfferSpec {
        parse_offer(DOC, chrono_tz::Asia::Shanghai).unwrap()
    }

    #[test]
    fn a_document_is_read_in_the_workspace_zone() {
        let spec = spec();
        assert_eq!(spec.starts_at.to_rfc3339(), "2026-03-06T12:00:00+00:00");
        assert_eq!(
            spec.countdown_at().unwrap().to_rfc3339(),
            "2026-03-06T11:30:00+00:00"
        );
        assert_eq!(spec.stock, 2);
        let tz = chrono_tz::Asia::Shanghai;
        assert_eq!(
            spec.countdown_text(tz),
            "⏰ 秒杀预告：「保温杯」03-06 20:00 开抢，限量 2 件（100 积分兑换，送立减 ¥5.00），每人限一件。开抢后发送「抢」即可抢购！"
        );
        assert_eq!(
            spec.claimed_text(1),
            "抢到了！「保温杯」已为你保留（100 积分兑换，送立减 ¥5.00），剩余 1 件。"
        );
    }

    /// Each step: seconds after 19:59 local, member, can pay, expected outcome.
    #[test]
    fn claims_follow_the_window_the_stock_and_one_per_member() {
        let start = spec().starts_at - Duration::minutes(1);
        let clock = FakeClock::new(start);
        let mut sale = Sale::new(spec());
        let steps: &[(i64, &str, bool, Result<u32, Refusal>)] = &[
            (
                0,
                "@a",
                true,
                Err(Refusal::NotStarted {
                    starts_at: spec().starts_at,
                }),
            ),
            (60, "@a", true, Ok(1)),
            (61, "@a", true, Err(Refusal::AlreadyClaimed)),
            (62, "@b", false, Err(Refusal::CannotPay { points: 100 })),
            (63, "@b", true, Ok(0)),
            (64, "@c", true, Err(Refusal::SoldOut)),
            (65, "@a", true, Err(Refusal::AlreadyClaimed)),
            (
                60 + 30 * 60,
                "@d",
                true,
                Err(Refusal::Ended {
                    ends_at: spec().ends_at,
                }),
            ),
        ];
        for (seconds, member, can_pay, expected) in steps {
            clock.set(start + Duration::seconds(*seconds));
            assert_eq!(
                &sale.claim(member, clock.now(), *can_pay),
                expected,
                "{member} at +{seconds}s"
            );
        }
        assert_eq!(sale.remaining, 0);
    }

    #[test]
    fn bad_documents_are_located() {
        for (doc, expected) in [
            (DOC.replace("stock = 2", "stock = 0"), "5:9: stock: must be 1 to 100000, got 0"),
            (
                DOC.replace("2026-03-06 20:30", "tomorrow"),
                "7:8: ends: `tomorrow` is not a time like 2026-03-06 20:00 (in Asia/Shanghai) or 2026-03-06T20:00:00+08:00",
            ),
            (DOC.replace("20:30", "19:30"), "7:8: ends: must be after starts"),
            (DOC.replace("cents = 500", "cents = 0"), "9:10: coupon.offer: invalid offer cents: must be positive, got 0"),
            (DOC.replace("stock = 2", "stok = 2"), "5:1: document: unknown field `stok`, expected one of `title`, `platform`, `group`, `keyword`, `stock`, `starts`, `ends`, `countdown_minutes`, `points`, `coupon`"),
            (
                DOC.replace("points = 100\n", "").replace("coupon = { offer = { type = \"amount_off\", cents = 500 }, valid_days = 7 }\n", ""),
                "1:1: points: give a points price, a coupon, or both: a claim goes through the ledger",
            ),
        ] {
            let errors = parse_offer(&doc, chrono_tz::Asia::Shanghai).unwrap_err();
            assert_eq!(errors[0].to_string(), expected, "{doc}");
        }
    }
}

//! An invite-task campaign (任务宝) as an operator writes it: a TOML document the console edits,
//! checked into a [`Campaign`] with `line:col` diagnostics, so a bad threshold or a pool that
//! cannot pay is caught before anyone is promised anything.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{CampaignId, CouponOffer, Platform};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::located::{self, Located};

/// What one threshold pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskPrize {
    Points {
        points: i64,
    },
    Coupon {
        offer: CouponOffer,
        valid_days: Option<u32>,
    },
}

/// "N counted invites → prize".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    pub invites: u32,
    pub prize: TaskPrize,
}

/// The anti-fraud settings (see [`crate::fraud`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudRules {
    /// Display-name patterns with `*` wildcards (`"*代购*"`), matched case-insensitively.
    pub name_patterns: Vec<String>,
    /// A name that is one character repeated at least this often (`AAA`, `111`) is suspicious; 0 is off.
    pub repeated_chars: usize,
    /// More than `burst_joins` joins for one inviter within `burst_minutes` are a burst; 0 is off.
    pub burst_joins: u32,
    pub burst_minutes: u32,
    /// An invitee already present in another of the workspace's groups is not a new member.
    pub other_groups: bool,
}

/// A checked campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// The document's name: the campaign's key in storage, ledger memos and action keys.
    pub name: CampaignId,
    pub title: String,
    pub platform: Platform,
    /// Target groups (platform chat ids).
    pub groups: Vec<String>,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    /// An invitee counts only after staying this long…
    pub stay: Duration,
    /// …and having posted at least once.
    pub must_post: bool,
    /// How long an earned prize waits before it is granted (a leave in between withdraws it).
    pub hold: Duration,
    /// Earned prizes wait for an operator's approval.
    pub review: bool,
    /// Ascending by `invites`, no two equal.
    pub thresholds: Vec<Threshold>,
    /// The points budget of the whole campaign, if capped.
    pub pool: Option<i64>,
    /// At most `cap` counted invites per inviter per `cap_days`; 0 is no cap.
    pub cap: u32,
    pub cap_days: u32,
    /// An inviter with this many flagged invites is suspended from the campaign; 0 never.
    pub suspend_after: u32,
    pub fraud: FraudRules,
    /// A gift to the invitee too, once their invite counts (join gift for both sides, 001).
    pub invitee_prize: Option<TaskPrize>,
    /// A gift to the inviter for each friend whose invite counts (券: a coupon for both sides),
    /// on top of the thresholds; a flagged invite (over the cap, never spoke) gives none.
    pub inviter_gift: Option<TaskPrize>,
    /// The language of the group messages: `zh` or `en`.
    pub english: bool,
}

impl Campaign {
    /// Whether a join at `at` into `chat` on `platform` belongs to the campaign.
    pub fn covers(&self, platform: Platform, chat: &str, at: DateTime<Utc>) -> bool {
        platform == self.platform
            && self.groups.iter().any(|group| group == chat)
            && at >= self.starts
            && at < self.ends
    }

    /// The first threshold above `counted`, if any.
    pub fn next_threshold(&self, counted: u32) -> Option<&Threshold> {
        self.thresholds.iter().find(|step| step.invites > counted)
    }
}

/// One problem in a campaign document: `name:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignError {
    pub line: usize,
    pub col: usize,
    /// The field path (`thresholds[1].invites`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for CampaignError {
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
struct RawCampaign {
    title: String,
    platform: Spanned<String>,
    groups: Spanned<Vec<String>>,
    starts: Spanned<String>,
    ends: Spanned<String>,
    #[serde(default = "default_stay")]
    stay_hours: Spanned<i64>,
    #[serde(default = "yes")]
    must_post: bool,
    #[serde(default = "no_hold")]
    hold_hours: Spanned<i64>,
    #[serde(default)]
    review: bool,
    #[serde(default)]
    language: Option<Spanned<String>>,
    thresholds: Spanned<Vec<RawThreshold>>,
    #[serde(default)]
    pool: Option<RawPool>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    fraud: RawFraud,
    #[serde(default)]
    invitee: Option<Spanned<RawGift>>,
    #[serde(default)]
    inviter: Option<Spanned<RawGift>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGift {
    points: Option<i64>,
    coupon: Option<CouponOffer>,
    valid_days: Option<u32>,
}

fn default_stay() -> Spanned<i64> {
    Spanned::new(0..0, 24)
}

fn no_hold() -> Spanned<i64> {
    Spanned::new(0..0, 0)
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    invites: Spanned<i64>,
    points: Option<Spanned<i64>>,
    coupon: Option<Spanned<CouponOffer>>,
    valid_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    points: Spanned<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default)]
    cap: u32,
    #[serde(default = "week")]
    cap_days: u32,
    #[serde(default)]
    suspend_after: u32,
}

fn week() -> u32 {
    7
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFraud {
    #[serde(default)]
    name_patterns: Vec<String>,
    #[serde(default = "three")]
    repeated_chars: usize,
    #[serde(default)]
    burst_joins: u32,
    #[serde(default = "ten")]
    burst_minutes: u32,
    #[serde(default = "yes")]
    other_groups: bool,
}

impl Default for RawFraud {
    fn default() -> Self {
        RawFraud {
            name_patterns: Vec::new(),
            repeated_chars: 3,
            burst_joins: 0,
            burst_minutes: 10,
            other_groups: true,
        }
    }
}

fn three() -> usize {
    3
}

fn ten() -> u32 {
    10
}

/// The longest stay or hold a campaign may ask for (a year), so every timer can fire.
const MAX_HOURS: i64 = 24 * 365;

type Problems<'a> = located::Problems<'a, CampaignError>;

impl Located for CampaignError {
    fn located(line: usize, col: usize, field: String, message: String) -> Self {
        CampaignError {
            line,
            col,
            field,
            message,
        }
    }
}

fn hours(value: &Spanned<i64>, field: &str, problems: &mut Problems<'_>) -> Duration {
    let hours = *value.get_ref();
    if !(0..=MAX_HOURS).contains(&hours) {
        problems.at(
            value.span(),
            field,
            format!("{hours} is not between 0 and {MAX_HOURS} hours"),
        );
        return Duration::zero();
    }
    Duration::hours(hours)
}

/// The `[invitee]` or `[inviter]` gift: exactly one of points or a coupon.
fn gift_prize(
    gift: &Spanned<RawGift>,
    field: &str,
    problems: &mut Problems<'_>,
) -> Option<TaskPrize> {
    let span = gift.span();
    let gift = gift.get_ref();
    match (gift.points, &gift.coupon) {
        (Some(points), None) if (1..=1_000_000_000).contains(&points) => {
            Some(TaskPrize::Points { points })
        }
        (None, Some(offer)) => match offer.validate() {
            Ok(()) => Some(TaskPrize::Coupon {
                offer: offer.clone(),
                valid_days: gift.valid_days,
            }),
            Err(error) => {
                problems.at(span, format!("{field}.coupon"), error.to_string());
                None
            }
        },
        _ => {
            problems.at(
                span,
                field,
                "give exactly one of `points` (1 to 1000000000) or `coupon`",
            );
            None
        }
    }
}

/// Checks a campaign document named `name`; every problem found is returned, each located.
pub fn parse_campaign(name: &str, source: &str) -> Result<Campaign, Vec<CampaignError>> {
    let mut problems = Problems::new(source);
    let Some(raw) = problems.toml::<RawCampaign>() else {
        return Err(problems.found);
    };
    problems.name(name, "campaign");
    let platform = problems.platform(&raw.platform);
    if raw.groups.get_ref().is_empty() {
        problems.at(
            raw.groups.span(),
            "groups",
            "name at least one target group",
        );
    }
    let (starts, ends) = problems.window(&raw.starts, &raw.ends, "campaign");
    let stay = hours(&raw.stay_hours, "stay_hours", &mut problems);
    let hold = hours(&raw.hold_hours, "hold_hours", &mut problems);
    let english = problems.english(&raw.language);
    let mut thresholds = Vec::new();
    let mut previous: Option<(usize, i64)> = None;
    if raw.thresholds.get_ref().is_empty() {
        problems.at(
            raw.thresholds.span(),
            "thresholds",
            "name at least one threshold",
        );
    }
    for (index, step) in raw.thresholds.get_ref().iter().enumerate() {
        let field = format!("thresholds[{index}]");
        let invites = *step.invites.get_ref();
        if !(1..=100_000).contains(&invites) {
            problems.at(
                step.invites.span(),
                format!("{field}.invites"),
                format!("{invites} is not between 1 and 100000"),
            );
        }
        if let Some((before, before_invites)) = previous {
            if invites <= before_invites {
                problems.at(
                    step.invites.span(),
                    format!("{field}.invites"),
                    format!("{invites} overlaps thresholds[{before}] ({before_invites}): each threshold needs more invites than the one before"),
                );
            }
        }
        previous = Some((index, invites));
        let prize = match (&step.points, &step.coupon) {
            (Some(points), None) => {
                if !(1..=1_000_000_000).contains(points.get_ref()) {
                    problems.at(
                        points.span(),
                        format!("{field}.points"),
                        "points must be between 1 and 1000000000",
                    );
                }
                TaskPrize::Points {
                    points: *points.get_ref(),
                }
            }
            (None, Some(coupon)) => {
                if let Err(error) = coupon.get_ref().validate() {
                    problems.at(coupon.span(), format!("{field}.coupon"), error.to_string());
                }
                TaskPrize::Coupon {
                    offer: coupon.get_ref().clone(),
                    valid_days: step.valid_days,
                }
            }
            _ => {
                problems.at(
                    step.invites.span(),
                    field.clone(),
                    "give exactly one of `points` or `coupon`",
                );
                continue;
            }
        };
        thresholds.push(Threshold {
            invites: invites.clamp(0, i64::from(u32::MAX)) as u32,
            prize,
        });
    }
    let pool = raw.pool.as_ref().map(|pool| {
        let needed: i64 = thresholds
            .iter()
            .map(|step| match step.prize {
                TaskPrize::Points { points } => points,
                TaskPrize::Coupon { .. } => 0,
            })
            .sum();
        let points = *pool.points.get_ref();
        if points < needed {
            problems.at(
                pool.points.span(),
                "pool.points",
                format!("{points} cannot cover the thresholds: one inviter reaching them all is paid {needed}"),
            );
        }
        points
    });
    let invitee_prize = raw
        .invitee
        .as_ref()
        .and_then(|gift| gift_prize(gift, "invitee", &mut problems));
    let inviter_gift = raw
        .inviter
        .as_ref()
        .and_then(|gift| gift_prize(gift, "inviter", &mut problems));
    if raw.limits.cap > 0 && raw.limits.cap_days == 0 {
        problems.at(
            0..0,
            "limits.cap_days",
            "a cap needs a period of at least one day",
        );
    }
    if raw.fraud.burst_joins > 0 && raw.fraud.burst_minutes == 0 {
        problems.at(
            0..0,
            "fraud.burst_minutes",
            "a burst needs a window of at least one minute",
        );
    }
    if !problems.found.is_empty() {
        return Err(problems.found);
    }
    Ok(Campaign {
        name: CampaignId(name.to_string()),
        title: raw.title,
        platform,
        groups: raw.groups.into_inner(),
        starts,
        ends,
        stay,
        must_post: raw.must_post,
        hold,
        review: raw.review,
        thresholds,
        pool,
        cap: raw.limits.cap,
        cap_days: raw.limits.cap_days,
        suspend_after: raw.limits.suspend_after,
        fraud: FraudRules {
            name_patterns: raw.fraud.name_patterns,
            repeated_chars: raw.fraud.repeated_chars,
            burst_joins: raw.fraud.burst_joins,
            burst_minutes: raw.fraud.burst_minutes,
            other_groups: raw.fraud.other_groups,
        },
        invitee_prize,
        inviter_gift,
        english,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"title = "邀请好友"
platform = "matrix"
groups = ["!g:hs"]
starts = "2026-12-01T00:00:00Z"
ends = "2026-12-31T00:00:00Z"
stay_hours = 24
hold_hours = 48

[[thresholds]]
invites = 3
points = 100

[[thresholds]]
invites = 10
coupon = { type = "amount_off", cents = 1000 }

[pool]
points = 1000
"#;

    #[test]
    fn a_good_campaign_is_checked_with_its_defaults() {
        let campaign = parse_campaign("spring", GOOD).unwrap();
        assert_eq!(campaign.thresholds.len(), 2);
        assert_eq!(campaign.stay, Duration::hours(24));
        assert!(campaign.must_post && !campaign.review && campaign.fraud.other_groups);
        assert_eq!(
            campaign.next_threshold(3).map(|step| step.invites),
            Some(10)
        );
    }

    #[test]
    fn bad_documents_say_what_and_where() {
        let cases = [
            (GOOD.replace("invites = 10", "invites = 3"), "14:11: thresholds[1].invites: 3 overlaps thresholds[0] (3)"),
            (GOOD.replace("points = 1000", "points = 50"), "18:10: pool.points: 50 cannot cover the thresholds: one inviter reaching them all is paid 100"),
            (GOOD.replace("\"matrix\"", "\"irc\""), "2:12: platform:"),
            (GOOD.replace("2026-12-31", "2026-11-30"), "5:8: ends: the campaign ends before it starts"),
            (GOOD.replace("stay_hours = 24", "stay_hours = 99999"), "6:14: stay_hours: 99999 is not between 0 and 8760"),
            (GOOD.replace("points = 100\n", "points = 100\ncoupon = { type = \"free_item\", item = \"tea\" }\n"), "10:11: thresholds[0]: give exactly one"),
            (GOOD.replace("hold_hours", "hold_hour"), "7:1: document: unknown field `hold_hour`"),
        ];
        for (source, expected) in cases {
            let errors = parse_campaign("spring", &source).unwrap_err();
            let shown = errors
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

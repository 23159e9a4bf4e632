//! A race document (document kind `race`): the TOML an operator saves for a leaderboard race
//! 比, checked into a [`RaceDoc`] with every problem located (`line:col: field: message`).
//!
//! ```toml
//! title = "十二月邀请冲榜"
//! platform = "matrix"
//! groups = ["!room:example.org"]
//! metric = "invites"            # invites, check_ins or points
//! opens = "2026-12-10 10:00"    # in the workspace's time zone
//! closes = "2026-12-17 22:00"
//! post_every_minutes = 360      # 0 posts only the result
//! shown = 10
//!
//! [[prizes]]
//! from = 1
//! points = 500
//!
//! [[prizes]]
//! from = 2
//! to = 5
//! coupon = { offer = { type = "amount_off", cents = 1000 }, valid_days = 30 }
//! ```
//!
//! The pure rules (windows, ranks, settlement) are [`crate::race`]'s; this module only reads
//! the document and says where it is wrong, so the console, the API and the engine's keeper
//! accept exactly the same races.

use std::fmt;
use std::ops::Range;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use qunzhu_domain::Platform;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::flash_sale::{parse_time, OfferCoupon};
use crate::leaderboard::Board;
use crate::lottery::Prize;
use crate::race::{RaceError, RaceSpec, RankPrize, MAX_RANKS};

/// A race document to start from (the console's empty editor, the fuzz seeds).
pub const EXAMPLE: &str = r#"title = "十二月邀请冲榜"
platform = "matrix"
groups = ["!room:example.org"]
metric = "invites"
opens = "2026-12-10 10:00"
closes = "2026-12-17 22:00"
post_every_minutes = 360
shown = 10

[[prizes]]
from = 1
points = 500

[[prizes]]
from = 2
to = 5
coupon = { offer = { type = "amount_off", cents = 1000 }, valid_days = 30 }
"#;

/// The most groups one race runs in.
pub const MAX_GROUPS: usize = 20;

/// A checked race document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaceDoc {
    /// The document's name: the race's id in keys (`race:{name}:…`) and in the store.
    pub name: String,
    pub platform: Platform,
    /// The groups whose members compete together and where the board is posted.
    pub groups: Vec<String>,
    pub spec: RaceSpec,
}

/// One problem in a race document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaceDocError {
    pub line: usize,
    pub col: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RaceDocError {
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
struct Raw {
    title: Spanned<String>,
    platform: Spanned<String>,
    groups: Spanned<Vec<String>>,
    metric: Spanned<String>,
    opens: Spanned<String>,
    closes: Spanned<String>,
    #[serde(default = "sixty")]
    post_every_minutes: Spanned<u32>,
    #[serde(default = "ten")]
    shown: Spanned<u32>,
    #[serde(default)]
    prizes: Vec<Spanned<RawPrize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrize {
    from: Spanned<u32>,
    to: Option<Spanned<u32>>,
    points: Option<Spanned<i64>>,
    coupon: Option<Spanned<OfferCoupon>>,
}

fn sixty() -> Spanned<u32> {
    Spanned::new(0..0, 60)
}

fn ten() -> Spanned<u32> {
    Spanned::new(0..0, 10)
}

/// 1-based line and character column of a byte offset.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[start..].chars().count() + 1)
}

struct Problems<'a> {
    source: &'a str,
    found: Vec<RaceDocError>,
}

impl Problems<'_> {
    fn at(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        let (line, col) = line_col(self.source, span.start);
        self.found.push(RaceDocError {
            line,
            col,
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Whether a race's name can be its id in keys and URLs.
pub fn valid_name(name: &str) -> bool {
    crate::livecode::valid_code(name)
}

/// Checks the race document `name`; local times are read in the workspace's zone `tz`. Every
/// problem found is returned, each located.
pub fn parse_race(name: &str, source: &str, tz: Tz) -> Result<RaceDoc, Vec<RaceDocError>> {
    let mut problems = Problems {
        source,
        found: Vec::new(),
    };
    let raw: Raw = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(error) => {
            problems.at(
                error.span().unwrap_or(0..0),
                "document",
                error.message().to_string(),
            );
            return Err(problems.found);
        }
    };
    if !valid_name(name) {
        problems.at(
            0..0,
            "name",
            "a race's name is 1 to 32 characters of a-z, 0-9, `-` and `_`",
        );
    }
    let title = raw.title.get_ref().trim().to_string();
    if title.is_empty() || title.chars().count() > 80 {
        problems.at(
            raw.title.span(),
            "title",
            "give a title of 1 to 80 characters",
        );
    }
    let platform = Platform::parse(raw.platform.get_ref()).unwrap_or_else(|error| {
        problems.at(raw.platform.span(), "platform", error.to_string());
        Platform::Sandbox
    });
    let groups: Vec<String> = raw
        .groups
        .get_ref()
        .iter()
        .map(|group| group.trim().to_string())
        .collect();
    if groups.is_empty() || groups.len() > MAX_GROUPS {
        problems.at(
            raw.groups.span(),
            "groups",
            format!("name 1 to {MAX_GROUPS} groups the race runs in"),
        );
    }
    for (index, group) in groups.iter().enumerate() {
        if group.is_empty() {
            problems.at(
                raw.groups.span(),
                &format!("groups[{index}]"),
                "a group's id is empty",
            );
        } else if groups[..index].contains(group) {
            problems.at(
                raw.groups.span(),
                &format!("groups[{index}]"),
                format!("`{group}` is named twice"),
            );
        }
    }
    let metric = Board::parse(raw.metric.get_ref().trim()).unwrap_or_else(|| {
        problems.at(
            raw.metric.span(),
            "metric",
            format!(
                "unknown metric `{}`; use invites, check_ins or points",
                raw.metric.get_ref()
            ),
        );
        Board::Invites
    });
    let time = |text: &Spanned<String>, field: &str, problems: &mut Problems<'_>| {
        parse_time(text.get_ref(), tz).unwrap_or_else(|| {
            problems.at(
                text.span(),
                field,
                format!(
                    "`{}` is not a time like 2026-12-10 10:00 (in {tz}) or 2026-12-10T10:00:00+08:00",
                    text.get_ref()
                ),
            );
            DateTime::<Utc>::MIN_UTC
        })
    };
    let starts_at = time(&raw.opens, "opens", &mut problems);
    let ends_at = time(&raw.closes, "closes", &mut problems);
    if starts_at != DateTime::<Utc>::MIN_UTC && ends_at != DateTime::<Utc>::MIN_UTC {
        if ends_at <= starts_at {
            problems.at(raw.closes.span(), "closes", "must be after opens");
        } else if ends_at - starts_at > chrono::Duration::days(90) {
            problems.at(raw.closes.span(), "closes", "a race runs at most 90 days");
        }
    }
    let every = *raw.post_every_minutes.get_ref();
    if every != 0 && every < 10 {
        problems.at(
            raw.post_every_minutes.span(),
            "post_every_minutes",
            "0 (result only) or at least 10 minutes",
        );
    }
    let shown = *raw.shown.get_ref();
    if shown == 0 || shown > 50 {
        problems.at(
            raw.shown.span(),
            "shown",
            format!("must be 1 to 50, got {shown}"),
        );
    }
    let prizes = prizes(&raw.prizes, &mut problems);
    if !problems.found.is_empty() {
        return Err(problems.found);
    }
    let spec = RaceSpec {
        title,
        metric,
        starts_at,
        ends_at,
        post_every_minutes: every,
        shown,
        prizes,
    };
    // The pure rules have the last word; whatever they refuse is located at the document.
    if let Err(RaceError::BadSpec { field, message }) = spec.validate() {
        problems.at(0..0, &field, message);
        return Err(problems.found);
    }
    Ok(RaceDoc {
        name: name.to_string(),
        platform,
        groups,
        spec,
    })
}

/// The rank prizes, each range starting right after the one before (no gap, no overlap).
fn prizes(raw: &[Spanned<RawPrize>], problems: &mut Problems<'_>) -> Vec<RankPrize> {
    if raw.is_empty() {
        problems.at(
            0..0,
            "prizes",
            "name at least one [[prizes]] with from and points or coupon",
        );
    }
    let mut next = 1;
    let mut out = Vec::new();
    for (index, tier) in raw.iter().enumerate() {
        let field = format!("prizes[{index}]");
        let tier_span = tier.span();
        let tier = tier.get_ref();
        let from = *tier.from.get_ref();
        let to = tier.to.as_ref().map_or(from, |to| *to.get_ref());
        if from < next && from >= 1 {
            problems.at(
                tier.from.span(),
                &format!("{field}.from"),
                format!(
                    "ranks {from}..={to} overlap the prize before, which pays up to rank {}",
                    next - 1
                ),
            );
        } else if from != next {
            problems.at(
                tier.from.span(),
                &format!("{field}.from"),
                format!("must be {next}: ranks run on without gaps"),
            );
        }
        if to < from || to > MAX_RANKS {
            let span = tier.to.as_ref().map_or(tier.from.span(), Spanned::span);
            problems.at(
                span,
                &format!("{field}.to"),
                format!("must be {from} to {MAX_RANKS}, got {to}"),
            );
        }
        let prize = match (&tier.points, &tier.coupon) {
            (Some(points), None) => {
                if *points.get_ref() <= 0 {
                    problems.at(
                        points.span(),
                        &format!("{field}.points"),
                        format!("must be positive, got {}", points.get_ref()),
                    );
                }
                Some(Prize::Points {
                    points: *points.get_ref(),
                })
            }
            (None, Some(coupon)) => {
                if let Err(error) = coupon.get_ref().offer.validate() {
                    problems.at(
                        coupon.span(),
                        &format!("{field}.coupon.offer"),
                        error.to_string(),
                    );
                }
                Some(Prize::Coupon {
                    offer: coupon.get_ref().offer.clone(),
                    valid_days: coupon.get_ref().valid_days,
                })
            }
            _ => {
                problems.at(
                    tier_span,
                    &field,
                    "give either points or a coupon (not both)",
                );
                None
            }
        };
        next = to.max(next.saturating_sub(1)).saturating_add(1);
        if let Some(prize) = prize {
            out.push(RankPrize { from, to, prize });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"title = "邀请冲榜"
platform = "sandbox"
groups = ["g1", "g2"]
metric = "invites"
opens = "2026-12-10 10:00"
closes = "2026-12-10 12:00"
post_every_minutes = 60

[[prizes]]
from = 1
points = 100

[[prizes]]
from = 2
to = 3
coupon = { offer = { type = "amount_off", cents = 500 }, valid_days = 7 }
"#;

    #[test]
    fn the_example_is_a_race() {
        let race = parse_race("dec", EXAMPLE, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(race.spec.prizes[1].to, 5);
    }

    #[test]
    fn a_race_document_reads_in_the_workspace_zone() {
        let race = parse_race("dec", DOC, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(race.groups, ["g1", "g2"]);
        assert_eq!(race.spec.metric, Board::Invites);
        assert_eq!(
            race.spec.starts_at.to_rfc3339(),
            "2026-12-10T02:00:00+00:00"
        );
        assert_eq!(race.spec.prizes.len(), 2);
        assert_eq!(race.spec.prizes[0].to, 1, "to defaults to from");
        assert_eq!(race.spec.shown, 10);
        assert!(matches!(race.spec.prizes[1].prize, Prize::Coupon { .. }));
    }

    /// Each bad document: its change and the first problem it is answered with.
    #[test]
    fn bad_races_are_located() {
        let cases: &[(&str, &str, &str)] = &[
            ("from = 2\nto = 3", "from = 1\nto = 3", "14:8: prizes[1].from: ranks 1..=3 overlap the prize before, which pays up to rank 1"),
            ("from = 2\nto = 3", "from = 3\nto = 3", "14:8: prizes[1].from: must be 2: ranks run on without gaps"),
            ("closes = \"2026-12-10 12:00\"", "closes = \"2026-12-10 09:00\"", "6:10: closes: must be after opens"),
            ("metric = \"invites\"", "metric = \"likes\"", "4:10: metric: unknown metric `likes`; use invites, check_ins or points"),
            ("opens = \"2026-12-10 10:00\"", "opens = \"tomorrow\"", "5:9: opens: `tomorrow` is not a time like 2026-12-10 10:00 (in Asia/Shanghai) or 2026-12-10T10:00:00+08:00"),
            ("points = 100", "points = 0", "11:10: prizes[0].points: must be positive, got 0"),
            ("post_every_minutes = 60", "post_every_minutes = 5", "7:22: post_every_minutes: 0 (result only) or at least 10 minutes"),
            ("groups = [\"g1\", \"g2\"]", "groups = []", "3:10: groups: name 1 to 20 groups the race runs in"),
            ("groups = [\"g1\", \"g2\"]", "groups = [\"g1\", \"g1\"]", "3:10: groups[1]: `g1` is named twice"),
            ("metric", "metrik", "4:1: document: unknown field `metrik`, expected one of `title`, `platform`, `groups`, `metric`, `opens`, `closes`, `post_every_minutes`, `shown`, `prizes`"),
        ];
        for (from, to, expected) in cases {
            let source = DOC.replacen(from, to, 1);
            assert_ne!(source, DOC, "{from} is in the document");
            let problems = parse_race("dec", &source, chrono_tz::Asia::Shanghai).unwrap_err();
            assert_eq!(problems[0].to_string(), *expected, "{to}");
        }
        let problems = parse_race("Bad Name", DOC, chrono_tz::Asia::Shanghai).unwrap_err();
        assert_eq!(problems[0].field, "name");
    }
}

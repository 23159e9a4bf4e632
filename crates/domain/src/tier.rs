//! Member tiers from behaviour (VIP / regular / prospect): the operator's rules and the pure
//! decision over one member's spend, points and recent activity.
//!
//! The engine's tier keeper hands in what the read models say of a member (spend from the
//! orders in the rollups, the points balance from the ledger, active days and check-ins over
//! the window from the member days) and writes the tier back to the member record only when the
//! decision changes, so an operator's hand edit stands until the member's behaviour crosses a
//! line again. [`review_at`] says when the window would forget an active day, which is when a
//! member with no new events must be looked at again.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::MemberTier;

/// How a rule's thresholds combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// Any one threshold met is enough.
    #[default]
    Any,
    /// Every threshold that is set must be met.
    All,
}

/// The thresholds of one tier; unset ones are not asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierRule {
    /// Spend over all time, refunds deducted, in cents.
    pub min_spend_cents: Option<i64>,
    /// The points balance now.
    pub min_points: Option<i64>,
    /// Local days with a message or check-in inside the window.
    pub min_active_days: Option<u32>,
    /// Check-ins inside the window.
    pub min_checkins: Option<i64>,
    #[serde(rename = "match")]
    pub combine: Combine,
}

/// `[analytics.tiers]`: the rules, VIP tried first, then regular; everyone else is a prospect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierRules {
    /// Off: tiers stay as operators set them by hand.
    pub enabled: bool,
    /// The activity window in local days, today included.
    pub window_days: u32,
    pub vip: TierRule,
    pub regular: TierRule,
}

impl Default for TierRules {
    /// A VIP has spent ¥1,000 or holds 5,000 points; a regular has bought anything or was
    /// active on 4 of the last 30 days (about weekly).
    fn default() -> Self {
        TierRules {
            enabled: true,
            window_days: 30,
            vip: TierRule {
                min_spend_cents: Some(100_000),
                min_points: Some(5_000),
                ..TierRule::default()
            },
            regular: TierRule {
                min_spend_cents: Some(1),
                min_active_days: Some(4),
                ..TierRule::default()
            },
        }
    }
}

/// A rule that cannot run, at its field path under `[analytics.tiers]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TierRulesError {
    pub field: String,
    pub message: String,
}

impl TierRules {
    /// Every problem, each at its field path (`tiers.vip.min_points`).
    pub fn validate(&self) -> Result<(), TierRulesError> {
        let bad = |field: &str, message: &str| {
            Err(TierRulesError {
                field: format!("tiers.{field}"),
                message: message.into(),
            })
        };
        if !(1..=365).contains(&self.window_days) {
            return bad("window_days", "must be between 1 and 365 days");
        }
        for (name, rule) in [("vip", &self.vip), ("regular", &self.regular)] {
            let thresholds = [
                ("min_spend_cents", rule.min_spend_cents),
                ("min_points", rule.min_points),
                ("min_active_days", rule.min_active_days.map(i64::from)),
                ("min_checkins", rule.min_checkins),
            ];
            if thresholds.iter().all(|(_, value)| value.is_none()) {
                return bad(
                    name,
                    "names no threshold (set min_spend_cents, min_points, min_active_days or min_checkins)",
                );
            }
            for (field, value) in thresholds {
                if value.is_some_and(|value| value < 0) {
                    return bad(&format!("{name}.{field}"), "must not be negative");
                }
            }
            if rule
                .min_active_days
                .is_some_and(|days| days > self.window_days)
            {
                return bad(
                    &format!("{name}.min_active_days"),
                    "is more days than the window has",
                );
            }
        }
        Ok(())
    }

    /// The first local day inside the window ending `today`.
    pub fn window_start(&self, today: NaiveDate) -> NaiveDate {
        today - Duration::days(i64::from(self.window_days.max(1)) - 1)
    }

    /// The tier `inputs` earn.
    pub fn tier_of(&self, inputs: &TierInputs) -> MemberTier {
        if self.vip.met(inputs) {
            MemberTier::Vip
        } else if self.regular.met(inputs) {
            MemberTier::Regular
        } else {
            MemberTier::Prospect
        }
    }
}

impl TierRule {
    fn met(&self, inputs: &TierInputs) -> bool {
        let checks = [
            self.min_spend_cents.map(|min| inputs.spend_cents >= min),
            self.min_points.map(|min| inputs.points >= min),
            self.min_active_days.map(|min| inputs.active_days >= min),
            self.min_checkins.map(|min| inputs.checkins >= min),
        ];
        let mut set = checks.into_iter().flatten().peekable();
        if set.peek().is_none() {
            return false;
        }
        match self.combine {
            Combine::Any => set.any(|met| met),
            Combine::All => set.all(|met| met),
        }
    }
}

/// What the read models say of one member across the workspace's groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierInputs {
    pub spend_cents: i64,
    pub points: i64,
    pub active_days: u32,
    pub checkins: i64,
    /// The earliest active local day inside the window, if any.
    pub first_active_day: Option<NaiveDate>,
}

/// When the window ending `today` next forgets one of the member's active days (local midnight
/// after its earliest one leaves); `None` when nothing in the window can leave.
pub fn review_at(rules: &TierRules, inputs: &TierInputs, zone: Tz) -> Option<DateTime<Utc>> {
    let first = inputs.first_active_day?;
    let leaves = first + Duration::days(i64::from(rules.window_days.max(1)));
    // The earliest instant of that local day (a day that starts in a DST gap starts later).
    leaves
        .and_hms_opt(0, 0, 0)?
        .and_local_timezone(zone)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(spend_cents: i64, points: i64, active_days: u32, checkins: i64) -> TierInputs {
        TierInputs {
            spend_cents,
            points,
            active_days,
            checkins,
            first_active_day: None,
        }
    }

    #[test]
    fn the_default_rules_sort_members_by_spend_points_and_activity() {
        let rules = TierRules::default();
        let cases = [
            ("big spender", inputs(100_000, 0, 0, 0), MemberTier::Vip),
            ("points hoarder", inputs(0, 5_000, 0, 0), MemberTier::Vip),
            (
                "just under VIP",
                inputs(99_999, 4_999, 30, 30),
                MemberTier::Regular,
            ),
            ("one purchase", inputs(1, 0, 0, 0), MemberTier::Regular),
            ("refunded it all", inputs(0, 0, 0, 0), MemberTier::Prospect),
            ("weekly talker", inputs(0, 0, 4, 0), MemberTier::Regular),
            ("three days", inputs(0, 0, 3, 9), MemberTier::Prospect),
            ("net refunds", inputs(-500, 10, 1, 1), MemberTier::Prospect),
        ];
        for (name, given, tier) in cases {
            assert_eq!(rules.tier_of(&given), tier, "{name}");
        }
    }

    #[test]
    fn all_asks_every_set_threshold_and_any_just_one() {
        let rule = |combine| TierRule {
            min_points: Some(100),
            min_checkins: Some(5),
            combine,
            ..TierRule::default()
        };
        let cases = [
            (Combine::Any, inputs(0, 100, 0, 0), true),
            (Combine::All, inputs(0, 100, 0, 0), false),
            (Combine::All, inputs(0, 100, 0, 5), true),
            (Combine::Any, inputs(0, 99, 0, 4), false),
        ];
        for (combine, given, met) in cases {
            assert_eq!(rule(combine).met(&given), met, "{combine:?} {given:?}");
        }
    }

    #[test]
    fn rules_are_read_from_toml_shaped_data_and_bad_ones_are_located() {
        let parse = |text: &str| serde_json::from_str::<TierRules>(text);
        let custom = parse(
            r#"{"window_days": 14, "vip": {"min_checkins": 10, "min_points": 800, "match": "all"},
                "regular": {"min_active_days": 2}}"#,
        )
        .unwrap_or_default();
        assert_eq!(custom.validate(), Ok(()));
        assert_eq!(custom.tier_of(&inputs(0, 800, 10, 10)), MemberTier::Vip);
        assert_eq!(custom.tier_of(&inputs(0, 900, 2, 9)), MemberTier::Regular);
        assert!(
            parse(r#"{"vip": {"min_pints": 1}}"#).is_err(),
            "a typo is an error"
        );
        let cases = [
            (r#"{"window_days": 0}"#, "tiers.window_days"),
            (r#"{"vip": {}}"#, "tiers.vip"),
            (
                r#"{"regular": {"min_points": -1}}"#,
                "tiers.regular.min_points",
            ),
            (
                r#"{"window_days": 7, "regular": {"min_active_days": 8}}"#,
                "tiers.regular.min_active_days",
            ),
        ];
        for (text, field) in cases {
            let rules = parse(text).unwrap_or_default();
            assert_eq!(
                rules.validate().map_err(|error| error.field),
                Err(field.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn a_member_is_reviewed_when_the_window_forgets_their_earliest_active_day() {
        let zone = chrono_tz::Asia::Shanghai;
        let rules = TierRules {
            window_days: 30,
            ..TierRules::default()
        };
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default();
        let mut given = inputs(0, 0, 4, 0);
        given.first_active_day = Some(day(2));
        // 2 March leaves a 30-day window at the start of 1 April, Shanghai time.
        assert_eq!(
            review_at(&rules, &given, zone).map(|at| at.to_rfc3339()),
            Some("2026-03-31T16:00:00+00:00".to_string())
        );
        assert_eq!(rules.window_start(day(31)), day(2));
        assert_eq!(review_at(&rules, &inputs(0, 0, 0, 0), zone), None);
    }
}

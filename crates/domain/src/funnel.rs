//! The AARRR funnel and join-week retention cohorts, computed from member facts.
//!
//! The definitions live here once, with their windows as configuration, so the console shows
//! the same sentence the numbers were counted by and a changed window needs no rebuild: the
//! stored facts keep the raw times and active weeks, and these functions apply the windows.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::rollup::{MemberFacts, TRACKED_WEEKS};
use crate::state::local_day;

/// The funnel's windows. Defaults: activated within 7 days, retained = active in week 4,
/// revenue and referral at any time after joining.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FunnelConfig {
    /// A first message or check-in at most this many days after the join activates.
    pub activation_days: u32,
    /// Activity in this week after the join (1 = the join's own week) retains.
    pub retention_week: u32,
    /// An order at most this many days after the join counts as revenue; 0 means any time.
    pub revenue_days: u32,
}

impl Default for FunnelConfig {
    fn default() -> Self {
        FunnelConfig {
            activation_days: 7,
            retention_week: 4,
            revenue_days: 0,
        }
    }
}

/// A funnel window that cannot be counted, with the field it is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FunnelConfigError {
    pub field: &'static str,
    pub message: String,
}

impl FunnelConfig {
    /// Checks each window is one the facts can answer.
    pub fn validate(&self) -> Result<(), FunnelConfigError> {
        if !(1..=365).contains(&self.activation_days) {
            return Err(FunnelConfigError {
                field: "funnel.activation_days",
                message: format!("{} is not between 1 and 365", self.activation_days),
            });
        }
        if !(1..=TRACKED_WEEKS as u32).contains(&self.retention_week) {
            return Err(FunnelConfigError {
                field: "funnel.retention_week",
                message: format!(
                    "{} is not between 1 and {TRACKED_WEEKS} (weeks of activity kept per member)",
                    self.retention_week
                ),
            });
        }
        if self.revenue_days > 3650 {
            return Err(FunnelConfigError {
                field: "funnel.revenue_days",
                message: format!("{} is more than 3650", self.revenue_days),
            });
        }
        Ok(())
    }
}

string_enum! {
    /// The five stages, in order.
    FunnelStage { Acquired => "acquired", Activated => "activated", Retained => "retained", Revenue => "revenue", Referral => "referral" }
}

/// How many acquired members reached each stage (each counted on its own, among the acquired).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub acquired: u64,
    pub activated: u64,
    pub retained: u64,
    pub revenue: u64,
    pub referral: u64,
}

impl Funnel {
    pub fn stages(&self) -> [(FunnelStage, u64); 5] {
        [
            (FunnelStage::Acquired, self.acquired),
            (FunnelStage::Activated, self.activated),
            (FunnelStage::Retained, self.retained),
            (FunnelStage::Revenue, self.revenue),
            (FunnelStage::Referral, self.referral),
        ]
    }
}

impl FunnelConfig {
    /// Whether a member reached `stage`; a member found already present was never acquired.
    pub fn reached(&self, facts: &MemberFacts, stage: FunnelStage) -> bool {
        let Some(joined) = facts.joined_at else {
            return false;
        };
        match stage {
            FunnelStage::Acquired => true,
            FunnelStage::Activated => facts.first_active_at.is_some_and(|first| {
                first - joined <= Duration::days(i64::from(self.activation_days))
            }),
            FunnelStage::Retained => facts.active_in_week(self.retention_week - 1),
            FunnelStage::Revenue => facts.first_order_at.is_some_and(|first| {
                self.revenue_days == 0
                    || first - joined <= Duration::days(i64::from(self.revenue_days))
            }),
            FunnelStage::Referral => facts.referrals_stayed > 0,
        }
    }

    pub fn funnel<'a>(&self, members: impl IntoIterator<Item = &'a MemberFacts>) -> Funnel {
        let mut out = Funnel::default();
        for facts in members {
            let reached = |stage| u64::from(self.reached(facts, stage));
            out.acquired += reached(FunnelStage::Acquired);
            out.activated += reached(FunnelStage::Activated);
            out.retained += reached(FunnelStage::Retained);
            out.revenue += reached(FunnelStage::Revenue);
            out.referral += reached(FunnelStage::Referral);
        }
        out
    }
}

/// The Monday starting the local week of an instant.
pub fn week_start(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    let day = local_day(at, zone);
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// One join week's row of the triangle: `active[k]` members were active in week `k` after
/// their join; only weeks that have fully begun by `today` are present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohortRow {
    pub week: NaiveDate,
    pub size: u64,
    pub active: Vec<u64>,
}

/// The retention triangle: one row per join week from the oldest, at most `weeks` columns.
pub fn cohorts<'a>(
    members: impl IntoIterator<Item = &'a MemberFacts>,
    today: NaiveDate,
    zone: Tz,
    weeks: usize,
) -> Vec<CohortRow> {
    let weeks = weeks.min(TRACKED_WEEKS as usize);
    let mut rows: std::collections::BTreeMap<NaiveDate, CohortRow> = Default::default();
    for facts in members {
        let Some(joined) = facts.joined_at else {
            continue;
        };
        let week = week_start(joined, zone);
        if week > today {
            continue;
        }
        // Weeks since the join week began that have started by today (0 = the join's own week).
        let open = (((today - week).num_days() / 7) as usize + 1).min(weeks);
        let row = rows.entry(week).or_insert_with(|| CohortRow {
            week,
            size: 0,
            active: vec![0; open],
        });
        row.size += 1;
        for (k, cell) in row.active.iter_mut().enumerate() {
            *cell += u64::from(facts.active_in_week(k as u32));
        }
    }
    rows.into_values().collect()
}

/// Whether a member belongs to the cohort cell (join week, week after join).
pub fn in_cohort_cell(facts: &MemberFacts, zone: Tz, week: NaiveDate, k: u32) -> bool {
    facts
        .joined_at
        .is_some_and(|joined| week_start(joined, zone) == week)
        && facts.active_in_week(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, JoinVia, LeaveHow, MessageKind};
    use crate::invite::{invite_change, InviteChange};
    use crate::model::{Platform, WorkspaceId};
    use crate::rollup::{fold, RollupInput};

    fn day(n: i64) -> DateTime<Utc> {
        // Monday 2 March 2026, 10:00 in Shanghai.
        DateTime::parse_from_rfc3339("2026-03-02T10:00:00+08:00")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
            + Duration::days(n)
    }

    fn event(n: usize, at: DateTime<Utc>, kind: EventKind) -> Event {
        Event {
            workspace: WorkspaceId(1),
            platform: Platform::Matrix,
            key: format!("${n}"),
            chat: "!g".into(),
            at,
            kind,
        }
    }

    fn join(who: &str, by: Option<&str>) -> EventKind {
        EventKind::MemberJoined {
            member: who.into(),
            display_name: None,
            via: by.map_or(JoinVia::Direct, |by| JoinVia::Invited { by: by.into() }),
        }
    }

    fn say(who: &str) -> EventKind {
        EventKind::MessagePosted {
            member: who.into(),
            message_id: "m".into(),
            text: "hi".into(),
            links: vec![],
            mentions: vec![],
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        }
    }

    fn order(who: &str, cents: i64) -> EventKind {
        EventKind::OrderPlaced {
            order_id: format!("o-{who}-{cents}"),
            member: who.into(),
            amount_cents: cents,
            currency: "CNY".into(),
            items: vec![],
            coupon: None,
            link_token: None,
            refund_of: None,
        }
    }

    /// The fixed log: @a joins day 0, speaks day 1 and day 22 (week 4), buys, invites @b who
    /// stays; @b speaks only on day 10 (too late to activate); @c joins day 7, speaks day 7 and
    /// leaves; @d was already present and is never acquired; @e, invited by @c, leaves.
    fn log() -> Vec<Event> {
        let kinds = [
            (day(0), join("@a", None)),
            (
                day(0),
                EventKind::MemberPresent {
                    member: "@d".into(),
                    display_name: None,
                },
            ),
            (day(1), say("@a")),
            (day(1), say("@d")),
            (day(2), join("@b", Some("@a"))),
            (day(3), order("@a", 9_900)),
            (day(7), join("@c", None)),
            (day(7), say("@c")),
            (day(8), join("@e", Some("@c"))),
            (day(10), say("@b")),
            (
                day(10),
                EventKind::MemberLeft {
                    member: "@e".into(),
                    how: LeaveHow::Left,
                    by: None,
                },
            ),
            (day(22), say("@a")),
            (day(23), order("@b", 1_000)),
            (day(24), order("@b", -1_000)),
        ];
        kinds
            .into_iter()
            .enumerate()
            .map(|(n, (at, kind))| event(n, at, kind))
            .collect()
    }

    fn facts() -> Vec<MemberFacts> {
        let zone = chrono_tz::Asia::Shanghai;
        let log = log();
        let changes: Vec<Option<InviteChange>> = log
            .iter()
            .map(|e| invite_change(e, &Default::default()))
            .collect();
        let inputs: Vec<RollupInput<'_>> = log
            .iter()
            .zip(&changes)
            .map(|(event, change)| RollupInput {
                event,
                attribution: change.as_ref(),
                checkin: false,
            })
            .collect();
        fold(&inputs, zone).members.into_values().collect()
    }

    #[test]
    fn the_funnel_follows_its_definitions_for_each_window() {
        let facts = facts();
        let cases = [
            (FunnelConfig::default(), (4, 2, 1, 2, 1)),
            (
                FunnelConfig {
                    activation_days: 14,
                    ..FunnelConfig::default()
                },
                (4, 3, 1, 2, 1),
            ),
            (
                FunnelConfig {
                    retention_week: 2,
                    ..FunnelConfig::default()
                },
                (4, 2, 1, 2, 1),
            ),
            (
                FunnelConfig {
                    revenue_days: 5,
                    ..FunnelConfig::default()
                },
                (4, 2, 1, 1, 1),
            ),
        ];
        for (config, (acquired, activated, retained, revenue, referral)) in cases {
            config.validate().unwrap();
            assert_eq!(
                config.funnel(&facts),
                Funnel {
                    acquired,
                    activated,
                    retained,
                    revenue,
                    referral
                },
                "{config:?}"
            );
        }
    }

    #[test]
    fn funnel_windows_are_validated_with_their_field() {
        let cases = [
            (
                FunnelConfig {
                    activation_days: 0,
                    ..FunnelConfig::default()
                },
                "funnel.activation_days: 0 is not between 1 and 365",
            ),
            (
                FunnelConfig {
                    retention_week: 65,
                    ..FunnelConfig::default()
                },
                "funnel.retention_week: 65 is not between 1 and 64 (weeks of activity kept per member)",
            ),
            (
                FunnelConfig {
                    revenue_days: 4000,
                    ..FunnelConfig::default()
                },
                "funnel.revenue_days: 4000 is more than 3650",
            ),
        ];
        for (config, message) in cases {
            assert_eq!(config.validate().unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn cohorts_form_a_triangle_by_join_week() {
        let zone = chrono_tz::Asia::Shanghai;
        let facts = facts();
        let today = local_day(day(23), zone);
        let rows = cohorts(&facts, today, zone, 8);
        let shape: Vec<(String, u64, Vec<u64>)> = rows
            .iter()
            .map(|row| (row.week.to_string(), row.size, row.active.clone()))
            .collect();
        assert_eq!(
            shape,
            vec![
                // @a and @b joined in the week of 2 March: @a active in weeks 0 and 3, @b in week 1.
                ("2026-03-02".to_string(), 2, vec![1, 1, 0, 1]),
                // @c and @e joined the week after; @c spoke in week 0.
                ("2026-03-09".to_string(), 2, vec![1, 0, 0]),
            ]
        );
        let behind: Vec<bool> = facts
            .iter()
            .map(|f| in_cohort_cell(f, zone, rows[0].week, 3))
            .collect();
        assert_eq!(behind.iter().filter(|b| **b).count(), 1);
    }
}

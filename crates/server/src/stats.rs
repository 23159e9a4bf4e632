//! The numbers the overview and group list show, computed from the store's daily rows and outbox.
//!
//! Days are the workspace's local days. Member counts per past day are rebuilt backwards from
//! today's size and each day's joins and leaves, so no snapshot table is needed.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{local_day, ActionStatus, GroupId, WorkspaceId};
use qunzhu_storage::{ActionQuery, GroupSummary, Store, StoreError};

use crate::classify::{classify, counts_as_taken, ActionClass};
use serde::Serialize;

/// How many outbox rows the overview reads per kind of origin; more than a month of a busy workspace.
const ACTION_SCAN: usize = 20_000;

/// One local day of the whole workspace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DayStats {
    pub day: NaiveDate,
    pub members: u64,
    pub joins: u64,
    /// Everyone who went: `left + removed`.
    pub leaves: u64,
    /// 主动退群.
    pub left: u64,
    /// 被移出 (kicked or banned).
    pub removed: u64,
    /// Distinct members who spoke that day, anywhere in the workspace; in `totals`, distinct over
    /// the whole range (never a sum of daily counts).
    pub speakers: u64,
    pub messages: u64,
    pub moderation_actions: u64,
    pub posts_sent: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overview {
    pub today: DayStats,
    /// Oldest first, ending today.
    pub days: Vec<DayStats>,
    pub totals: DayStats,
    pub groups: usize,
}

/// Workspace totals for `days` days ending today.
pub async fn overview(
    store: &dyn Store,
    workspace: WorkspaceId,
    zone: Tz,
    now: DateTime<Utc>,
    days: u32,
) -> Result<Overview, StoreError> {
    let today = local_day(now, zone);
    let first = today - Duration::days(i64::from(days.max(1)) - 1);
    let mut by_day: BTreeMap<NaiveDate, DayStats> = BTreeMap::new();
    let mut day = first;
    while day <= today {
        by_day.insert(
            day,
            DayStats {
                day,
                ..DayStats::default()
            },
        );
        day += Duration::days(1);
    }
    let spans: Vec<qunzhu_storage::DaySpan> = by_day
        .keys()
        .map(|day| crate::group_table::day_span(*day, zone))
        .collect();
    for row in store.group_day_report(workspace, &spans).await? {
        if let Some(stats) = by_day.get_mut(&row.day) {
            stats.joins += row.joins;
            stats.left += row.left;
            stats.removed += row.removed;
            stats.leaves += row.left + row.removed;
            stats.messages += row.messages;
        }
    }
    // Distinct speakers per day across groups: one member in two groups is one speaker.
    for stats in by_day.values_mut() {
        stats.speakers = store
            .distinct_speakers(workspace, stats.day, stats.day)
            .await?
            .total;
    }
    let range_start = spans.first().map(|s| s.start);
    let moderation = store
        .query_actions(
            workspace,
            &ActionQuery {
                origins: ActionClass::Moderation
                    .origins()
                    .iter()
                    .map(|o| o.to_string())
                    .collect(),
                since: range_start,
                limit: ACTION_SCAN,
                ..ActionQuery::default()
            },
        )
        .await?;
    for action in moderation.iter().filter(|action| {
        classify(&action.origin, &action.kind) == ActionClass::Moderation
            && counts_as_taken(action.status)
    }) {
        if let Some(stats) = by_day.get_mut(&local_day(action.created_at, zone)) {
            stats.moderation_actions += 1;
        }
    }
    let posts = store
        .query_actions(
            workspace,
            &ActionQuery {
                origins: vec!["sop:".into()],
                statuses: vec![ActionStatus::Done],
                due_since: range_start.map(|s| s - Duration::days(2)),
                limit: ACTION_SCAN,
                ..ActionQuery::default()
            },
        )
        .await?;
    for action in &posts {
        let sent = action.done_at.unwrap_or(action.created_at);
        if let Some(stats) = by_day.get_mut(&local_day(sent, zone)) {
            stats.posts_sent += 1;
        }
    }
    let groups = store.groups(workspace).await?;
    let members_now: u64 = groups.iter().map(|group| group.members_present).sum();
    // Walk back from today: yesterday's size is today's minus today's net joins.
    let mut size = members_now as i64;
    for stats in by_day.values_mut().rev() {
        stats.members = size.max(0) as u64;
        size -= stats.joins as i64 - stats.leaves as i64;
    }
    let days: Vec<DayStats> = by_day.into_values().collect();
    let today_stats = days.last().copied().unwrap_or_default();
    let totals = days.iter().fold(
        DayStats {
            day: today,
            members: members_now,
            ..DayStats::default()
        },
        |mut sum, d| {
            sum.joins += d.joins;
            sum.leaves += d.leaves;
            sum.left += d.left;
            sum.removed += d.removed;
            sum.messages += d.messages;
            sum.moderation_actions += d.moderation_actions;
            sum.posts_sent += d.posts_sent;
            sum
        },
    );
    let mut totals = totals;
    totals.speakers = store
        .distinct_speakers(workspace, first, today)
        .await?
        .total;
    Ok(Overview {
        today: today_stats,
        days,
        totals,
        groups: groups.len(),
    })
}

/// How alive a group is, from its last week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    Quiet,
    Dormant,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Quiet => "quiet",
            Health::Dormant => "dormant",
        }
    }

    /// Healthy when on an average day of the last week at least 5% of members spoke (or 3
    /// people in a small group); dormant when nobody spoke all week.
    pub fn judge(members: u64, last_week_speakers: &[u64]) -> Health {
        let total: u64 = last_week_speakers.iter().sum();
        if total == 0 {
            return Health::Dormant;
        }
        let per_day = total as f64 / last_week_speakers.len().max(1) as f64;
        let needed = (members as f64 * 0.05).clamp(1.0, 3.0);
        if per_day >= needed {
            Health::Healthy
        } else {
            Health::Quiet
        }
    }
}

/// A group with its last 14 days of messages and its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupActivity {
    #[serde(flatten)]
    pub summary: GroupSummary,
    /// Messages per day, oldest first, ending today.
    pub messages_14d: Vec<u64>,
    pub health: Health,
}

/// Every group of the workspace with its 14-day activity.
pub async fn group_activity(
    store: &dyn Store,
    workspace: WorkspaceId,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<GroupActivity>, StoreError> {
    let today = local_day(now, zone);
    let first = today - Duration::days(13);
    let rows = store.group_days(workspace, None, first, today).await?;
    let mut messages: BTreeMap<GroupId, [u64; 14]> = BTreeMap::new();
    let mut speakers: BTreeMap<GroupId, [u64; 14]> = BTreeMap::new();
    for row in rows {
        let Ok(index) = usize::try_from((row.day - first).num_days()) else {
            continue;
        };
        if index < 14 {
            messages.entry(row.group_id).or_default()[index] += row.counts.messages;
            speakers.entry(row.group_id).or_default()[index] += row.counts.speakers;
        }
    }
    let groups = store.groups(workspace).await?;
    Ok(groups
        .into_iter()
        .map(|summary| {
            let id = summary.group.id;
            let series = messages.get(&id).copied().unwrap_or_default().to_vec();
            let week = speakers.get(&id).copied().unwrap_or_default();
            let health = Health::judge(summary.members_present, &week[7..]);
            GroupActivity {
                summary,
                messages_14d: series,
                health,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_share_of_members_speaking() {
        let cases: &[(u64, &[u64], Health)] = &[
            (200, &[0, 0, 0, 0, 0, 0, 0], Health::Dormant),
            (200, &[3, 3, 3, 3, 3, 3, 3], Health::Healthy),
            (200, &[1, 0, 0, 1, 0, 0, 1], Health::Quiet),
            (10, &[1, 1, 1, 1, 1, 1, 1], Health::Healthy),
            (0, &[1, 0, 0, 0, 0, 0, 0], Health::Quiet),
        ];
        for (members, week, expected) in cases {
            assert_eq!(
                Health::judge(*members, week),
                *expected,
                "{members} {week:?}"
            );
        }
    }
}

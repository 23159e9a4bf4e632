//! The analytics read models in storage: daily rollups per group, member facts (the funnel's
//! and cohorts' raw material) and member days, kept by an incremental consumer whose watermark
//! is stored with the rows it wrote.
//!
//! A backend only loads and stores rows; what a batch of events does to them is decided by the
//! pure [`qunzhu_domain::rollup`] reducer, so both backends hold exactly what it says.

use async_trait::async_trait;
use chrono::NaiveDate;
use qunzhu_domain::rollup::{DayRollup, MemberFacts, RollupKeys, RollupState};
use qunzhu_domain::{InviteChannel, Platform, WorkspaceId};
use serde::Serialize;

use crate::{Result, StoreError};

/// One group's rollup for one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollupDay {
    pub platform: Platform,
    pub chat: String,
    pub day: NaiveDate,
    #[serde(flatten)]
    pub counts: DayRollup,
    /// Tracked-link clicks that day ([`crate::click_rollups`]); 0 from [`RollupStore::rollup_days`],
    /// which reads event days only.
    pub clicks: i64,
}

/// One member's facts in one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberFactsRow {
    pub platform: Platform,
    pub chat: String,
    pub member: String,
    #[serde(flatten)]
    pub facts: MemberFacts,
}

/// Rollup days between two local days inclusive, optionally of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupDayQuery {
    pub group: Option<(Platform, String)>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Acquired members (those qunzhu saw join), narrowed by every field that is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsQuery {
    pub group: Option<(Platform, String)>,
    pub channel: Option<InviteChannel>,
    pub campaign: Option<String>,
    /// Joined at or after this instant.
    pub joined_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Joined before this instant.
    pub joined_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// A member's count on one day in one group (digest leaders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayLeader {
    pub member: String,
    pub count: i64,
}

/// What a day's leaders are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderBy {
    Messages,
    Checkins,
}

#[async_trait]
pub trait RollupStore: Send + Sync {
    /// The last log sequence number the consumer folded in (0 before the first).
    async fn rollup_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// The stored rows named by `keys` (rows that do not exist yet are absent).
    async fn rollup_rows(&self, workspace: WorkspaceId, keys: &RollupKeys) -> Result<RollupState>;

    /// Writes every row of `rows` as it is and moves the watermark from `from_seq` to `to_seq`,
    /// in one transaction; false and nothing written when the watermark is no longer `from_seq`.
    async fn apply_rollup(
        &self,
        workspace: WorkspaceId,
        rows: &RollupState,
        from_seq: i64,
        to_seq: i64,
    ) -> Result<bool>;

    /// Rollup days, by group then day.
    async fn rollup_days(
        &self,
        workspace: WorkspaceId,
        query: &RollupDayQuery,
    ) -> Result<Vec<RollupDay>>;

    /// Acquired members matching the query, by group then member.
    async fn member_facts(
        &self,
        workspace: WorkspaceId,
        query: &FactsQuery,
    ) -> Result<Vec<MemberFactsRow>>;

    /// The benchmark's floor: acquired members counted per group with a plain `GROUP BY` over
    /// the same rows [`RollupStore::member_facts`] reads for the whole workspace; returns the
    /// number of groups.
    async fn facts_group_by_baseline(&self, workspace: WorkspaceId) -> Result<u64>;

    /// The top `limit` members of one group on one day, most first, then by id.
    async fn day_leaders(
        &self,
        workspace: WorkspaceId,
        group: (Platform, &str),
        day: NaiveDate,
        by: LeaderBy,
        limit: usize,
    ) -> Result<Vec<DayLeader>>;
}

/// The hour counts as stored: 24 comma-separated numbers.
pub fn hours_text(hours: &[i64; 24]) -> String {
    hours
        .iter()
        .map(|count| count.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads [`hours_text`] back.
pub fn parse_hours(text: &str) -> Result<[i64; 24]> {
    let mut hours = [0i64; 24];
    let mut parts = text.split(',');
    for slot in hours.iter_mut() {
        *slot = parts
            .next()
            .and_then(|part| part.parse().ok())
            .ok_or_else(|| StoreError::Backend(format!("bad stored hour counts `{text}`")))?;
    }
    if parts.next().is_some() {
        return Err(StoreError::Backend(format!(
            "bad stored hour counts `{text}`"
        )));
    }
    Ok(hours)
}

/// What one [`fold_new_events`] step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldStep {
    /// Folded this many events (0: nothing new) and moved the watermark past them.
    Folded(usize),
    /// Another instance moved the watermark first; nothing was written.
    Lost,
}

/// Folds the next `batch` events after the stored watermark into the stored rollups: loads the
/// rows they touch, lets the domain reducer decide, writes the rows back with the new
/// watermark. `checkin` says whether a logged message is a check-in.
pub async fn fold_new_events(
    store: &dyn crate::Store,
    workspace: WorkspaceId,
    zone: chrono_tz::Tz,
    batch: usize,
    checkin: &(dyn Fn(&qunzhu_domain::Event) -> bool + Sync),
) -> Result<FoldStep> {
    use qunzhu_domain::invite::{invite_change, named_code};
    use qunzhu_domain::rollup::{inviter_keys, keys_of, RollupInput};

    let from = store.rollup_watermark(workspace).await?;
    let events = store.events(workspace, from, batch.max(1)).await?;
    let Some(last) = events.last().map(|stored| stored.seq) else {
        return Ok(FoldStep::Folded(0));
    };
    let mut codes = std::collections::HashMap::new();
    for code in events.iter().filter_map(|stored| named_code(&stored.event)) {
        if codes.contains_key(code) {
            continue;
        }
        match store.invite_code(workspace, code).await {
            Ok(known) => {
                codes.insert(code.to_string(), known);
            }
            // A platform's own link code qunzhu never issued: the join still counts, unattributed.
            Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
    }
    let changes: Vec<_> = events
        .iter()
        .map(|stored| invite_change(&stored.event, &codes))
        .collect();
    let inputs: Vec<RollupInput<'_>> = events
        .iter()
        .zip(&changes)
        .map(|(stored, change)| RollupInput {
            event: &stored.event,
            attribution: change.as_ref(),
            checkin: matches!(
                stored.event.kind,
                qunzhu_domain::EventKind::MessagePosted { .. }
            ) && checkin(&stored.event),
        })
        .collect();
    let mut keys = RollupKeys::default();
    for input in &inputs {
        keys_of(input, zone, &mut keys);
    }
    let mut rows = store.rollup_rows(workspace, &keys).await?;
    // A leave or return moves the stayed count of the member's original inviter, whom only the
    // loaded facts name.
    let inviters: std::collections::BTreeSet<_> = inviter_keys(&rows)
        .into_iter()
        .filter(|key| !keys.members.contains(key))
        .collect();
    if !inviters.is_empty() {
        let more = RollupKeys {
            members: inviters,
            ..RollupKeys::default()
        };
        rows.members
            .extend(store.rollup_rows(workspace, &more).await?.members);
    }
    let before = rows.members.clone();
    for input in &inputs {
        rows.apply(input, zone);
    }
    rows.funnel =
        crate::analytics_models::funnel_delta(store, workspace, zone, &before, &rows.members)
            .await?;
    if store.apply_rollup(workspace, &rows, from, last).await? {
        Ok(FoldStep::Folded(events.len()))
    } else {
        Ok(FoldStep::Lost)
    }
}

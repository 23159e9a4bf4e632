//! Tracked-link clicks per group and local day, kept by an incremental consumer of the click
//! table with its own watermark (migration 0025), and the rollup read that joins them to the
//! event days.
//!
//! A backend only reads clicks after the watermark and loads and stores counts; what a click
//! does to them is [`qunzhu_domain::click_rollup`]'s to say, and so is the join
//! ([`rollup_days_with_clicks`]).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use qunzhu_domain::click_rollup::{apply_click, with_clicks, ClickDays, ClickInput};
use qunzhu_domain::rollup::DayRef;
use qunzhu_domain::WorkspaceId;

use crate::rollups::{FoldStep, RollupDay, RollupDayQuery};
use crate::Result;

/// One stored click with the group its link was posted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickRow {
    /// Its id in the click table: the consumer's watermark.
    pub id: i64,
    pub click: ClickInput,
}

#[async_trait]
pub trait ClickRollupStore: Send + Sync {
    /// The last click id folded in (0 before the first).
    async fn click_watermark(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Up to `limit` clicks on the workspace's links after click id `after`, oldest first, each
    /// with the platform and chat of the group its link was posted in. A click on a link whose
    /// chat is no known group is skipped (it has no group day to count on), but its id still
    /// counts, so the last id returned may be passed back as `after`.
    async fn clicks_after(
        &self,
        workspace: WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<ClickRow>, Option<i64>)>;

    /// The stored click counts of the named group days (absent ones are not there yet).
    async fn click_days(
        &self,
        workspace: WorkspaceId,
        keys: &BTreeSet<DayRef>,
    ) -> Result<ClickDays>;

    /// Writes `rows` as they are and moves the watermark from `from` to `to` in one
    /// transaction; false and nothing written when the watermark is no longer `from`.
    async fn apply_clicks(
        &self,
        workspace: WorkspaceId,
        rows: &ClickDays,
        from: i64,
        to: i64,
    ) -> Result<bool>;

    /// Stored click counts of a range of days (optionally one group).
    async fn click_days_in(
        &self,
        workspace: WorkspaceId,
        query: &RollupDayQuery,
    ) -> Result<ClickDays>;

    /// A group's size after its last event day before `day` (None: it had none).
    async fn members_end_before(&self, workspace: WorkspaceId, day: &DayRef)
        -> Result<Option<i64>>;
}

/// Folds the next `batch` clicks after the watermark into the stored click days.
pub async fn fold_new_clicks(
    store: &dyn crate::Store,
    workspace: WorkspaceId,
    zone: chrono_tz::Tz,
    batch: usize,
) -> Result<FoldStep> {
    let from = store.click_watermark(workspace).await?;
    let (clicks, last) = store.clicks_after(workspace, from, batch.max(1)).await?;
    let Some(last) = last else {
        return Ok(FoldStep::Folded(0));
    };
    let keys: BTreeSet<DayRef> = clicks
        .iter()
        .map(|row| qunzhu_domain::click_rollup::click_day(&row.click, zone))
        .collect();
    let mut rows = store.click_days(workspace, &keys).await?;
    for row in &clicks {
        apply_click(&mut rows, &row.click, zone);
    }
    if store.apply_clicks(workspace, &rows, from, last).await? {
        // At least one, so a batch of only skipped clicks does not read as "nothing new".
        Ok(FoldStep::Folded(clicks.len().max(1)))
    } else {
        Ok(FoldStep::Lost)
    }
}

/// The rollup days of `query` with their clicks, by group then day: event days as stored, and
/// a day with clicks but no events as a row of its own (see [`with_clicks`]).
pub async fn rollup_days_with_clicks(
    store: &dyn crate::Store,
    workspace: WorkspaceId,
    query: &RollupDayQuery,
) -> Result<Vec<RollupDay>> {
    let days: BTreeMap<DayRef, _> = store
        .rollup_days(workspace, query)
        .await?
        .into_iter()
        .map(|row| ((row.platform, row.chat, row.day), row.counts))
        .collect();
    let clicks = store.click_days_in(workspace, query).await?;
    // Sizes before the range, asked once per group that has a click-only day needing one.
    let mut before = BTreeMap::new();
    for key in clicks.keys() {
        let group_has_earlier = days
            .range(..key.clone())
            .next_back()
            .is_some_and(|(other, _)| other.0 == key.0 && other.1 == key.1);
        let group = (key.0, key.1.clone());
        if !days.contains_key(key) && !group_has_earlier && !before.contains_key(&group) {
            let first = (key.0, key.1.clone(), query.from);
            before.insert(group, store.members_end_before(workspace, &first).await?);
        }
    }
    let lookup = |key: &DayRef| before.get(&(key.0, key.1.clone())).copied().flatten();
    Ok(with_clicks(days, &clicks, &lookup)
        .into_iter()
        .map(|((platform, chat, day), row)| RollupDay {
            platform,
            chat,
            day,
            counts: row.counts,
            clicks: row.clicks,
        })
        .collect())
}

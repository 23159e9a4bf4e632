//! Analytics as operators read it: daily rollups, the AARRR funnel (whole, or broken down by
//! group, channel or campaign), the join-week retention triangle and the members behind a cell.
//!
//! Everything is read from the rollup read models; the funnel's windows come from the caller
//! (configuration, or a request's own windows) and are validated before anything is read.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use qunzhu_domain::funnel::{cohorts, in_cohort_cell, week_start, CohortRow, Funnel, FunnelConfig};
use qunzhu_storage::{FactsQuery, MemberFactsRow, RollupDay, RollupDayQuery, UserRole};
use serde::{Deserialize, Serialize};

use crate::{Actor, Ops, OpsError, Result};

/// The longest range of days one rollup read covers.
pub const MAX_ROLLUP_DAYS: i64 = 400;

/// How a funnel is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelBy {
    Group,
    Channel,
    Campaign,
}

/// One funnel with what it is for (`key` is empty for the whole selection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunnelRow {
    pub key: String,
    #[serde(flatten)]
    pub funnel: Funnel,
}

/// The funnel with the windows it was counted by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunnelReport {
    pub config: FunnelConfig,
    pub rows: Vec<FunnelRow>,
}

/// A page of members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactsPage {
    pub total: usize,
    pub rows: Vec<MemberFactsRow>,
}

impl Ops {
    async fn zone(&self, who: &Actor) -> Result<Tz> {
        let workspace = self.store.workspace(who.workspace).await?;
        Ok(workspace
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Asia::Shanghai))
    }

    /// Rollup days in a range of at most [`MAX_ROLLUP_DAYS`], paged.
    pub async fn rollup_days(
        &self,
        who: &Actor,
        query: &RollupDayQuery,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<RollupDay>)> {
        who.require(UserRole::Viewer)?;
        if query.to < query.from {
            return Err(OpsError::invalid("to", "is before `from`"));
        }
        if (query.to - query.from).num_days() >= MAX_ROLLUP_DAYS {
            return Err(OpsError::invalid(
                "to",
                format!("a range is at most {MAX_ROLLUP_DAYS} days"),
            ));
        }
        let rows = self.store.rollup_days(who.workspace, query).await?;
        let total = rows.len();
        Ok((
            total,
            rows.into_iter()
                .skip(offset)
                .take(limit.clamp(1, 5000))
                .collect(),
        ))
    }

    /// The funnel of the members `query` selects, whole or broken down.
    pub async fn funnel(
        &self,
        who: &Actor,
        query: &FactsQuery,
        config: FunnelConfig,
        by: Option<FunnelBy>,
    ) -> Result<FunnelReport> {
        who.require(UserRole::Viewer)?;
        config
            .validate()
            .map_err(|error| OpsError::invalid(error.field, error.message))?;
        let members = self.store.member_facts(who.workspace, query).await?;
        let mut groups: BTreeMap<String, Vec<&MemberFactsRow>> = BTreeMap::new();
        for row in &members {
            let key = match by {
                None => String::new(),
                Some(FunnelBy::Group) => format!("{}:{}", row.platform.as_str(), row.chat),
                Some(FunnelBy::Channel) => row
                    .facts
                    .channel
                    .map_or("direct", |channel| channel.as_str())
                    .to_string(),
                Some(FunnelBy::Campaign) => row.facts.campaign.clone().unwrap_or_default(),
            };
            groups.entry(key).or_default().push(row);
        }
        if by.is_none() && groups.is_empty() {
            groups.insert(String::new(), vec![]);
        }
        let rows = groups
            .into_iter()
            .map(|(key, rows)| FunnelRow {
                key,
                funnel: config.funnel(rows.iter().map(|row| &row.facts)),
            })
            .collect();
        Ok(FunnelReport { config, rows })
    }

    /// The retention triangle of the members `query` selects, at most `weeks` columns.
    pub async fn cohorts(
        &self,
        who: &Actor,
        query: &FactsQuery,
        weeks: usize,
    ) -> Result<Vec<CohortRow>> {
        who.require(UserRole::Viewer)?;
        let zone = self.zone(who).await?;
        let today = self.clock.now().with_timezone(&zone).date_naive();
        let members = self.store.member_facts(who.workspace, query).await?;
        Ok(cohorts(
            members.iter().map(|row| &row.facts),
            today,
            zone,
            weeks.clamp(1, 26),
        ))
    }

    /// The members behind one cell of the triangle: joined in `week` (its Monday; absent is
    /// this week), active in week `k` after joining.
    pub async fn cohort_members(
        &self,
        who: &Actor,
        query: &FactsQuery,
        week: Option<NaiveDate>,
        k: u32,
        offset: usize,
        limit: usize,
    ) -> Result<FactsPage> {
        who.require(UserRole::Viewer)?;
        let zone = self.zone(who).await?;
        let week = week.unwrap_or_else(|| week_start(self.clock.now(), zone));
        let rows: Vec<MemberFactsRow> = self
            .store
            .member_facts(who.workspace, query)
            .await?
            .into_iter()
            .filter(|row| in_cohort_cell(&row.facts, zone, week, k))
            .collect();
        Ok(FactsPage {
            total: rows.len(),
            rows: rows
                .into_iter()
                .skip(offset)
                .take(limit.clamp(1, 500))
                .collect(),
        })
    }
}

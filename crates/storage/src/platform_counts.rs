//! A platform's own daily counts beside qunzhu's (WeCom's `groupchat/statistic_group_by_day`
//! new members against the rollups' joins), kept per day so a difference is shown on the
//! console and the API rather than only logged.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// One day as last compared: the platform's figure and qunzhu's for the same groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformCountDay {
    pub platform: Platform,
    pub day: NaiveDate,
    /// New members the platform reports.
    pub platform_joins: i64,
    /// Joins the rollups counted in the groups qunzhu runs.
    pub qunzhu_joins: i64,
    pub checked_at: DateTime<Utc>,
}

impl PlatformCountDay {
    /// The platform's figure minus qunzhu's (0 when they agree).
    pub fn difference(&self) -> i64 {
        self.platform_joins - self.qunzhu_joins
    }
}

#[async_trait]
pub trait PlatformCountStore: Send + Sync {
    /// Keeps each day's comparison, replacing an earlier one of the same platform and day.
    async fn record_platform_counts(
        &self,
        workspace: WorkspaceId,
        days: &[PlatformCountDay],
    ) -> Result<()>;

    /// The comparisons of days between `from` and `to` inclusive, by platform then day.
    async fn platform_counts(
        &self,
        workspace: WorkspaceId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PlatformCountDay>>;
}

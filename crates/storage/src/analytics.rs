//! Statistics read models: counts per group per local day, kept at ingest.

use async_trait::async_trait;
use chrono::NaiveDate;
use qunzhu_domain::{GroupId, WorkspaceId};

use crate::*;

/// Numbers per group and day, served from tables kept current at ingest (never a log scan).
#[async_trait]
pub trait Analytics: Send + Sync {
    /// Daily counts per group between two local days inclusive; `group_id` narrows to one group.
    async fn group_days(
        &self,
        workspace: WorkspaceId,
        group_id: Option<GroupId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<GroupDayRow>>;
}

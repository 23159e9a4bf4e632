//! [`PlatformCountStore`] on PostgreSQL: one row per platform and day, replaced by each
//! comparison.

use async_trait::async_trait;
use chrono::NaiveDate;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{PlatformCountDay, PlatformCountStore, Result};

use crate::codec::{day, day_text, micros, parsed, time};
use crate::{backend, get, PostgresStore};

#[async_trait]
impl PlatformCountStore for PostgresStore {
    async fn record_platform_counts(
        &self,
        workspace: WorkspaceId,
        days: &[PlatformCountDay],
    ) -> Result<()> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        for row in days {
            tx.execute(
                "INSERT INTO platform_count_days (workspace, platform, day, platform_joins, qunzhu_joins, checked_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (workspace, platform, day) DO UPDATE SET platform_joins = EXCLUDED.platform_joins,
                   qunzhu_joins = EXCLUDED.qunzhu_joins, checked_at = EXCLUDED.checked_at",
                &[
                    &workspace.0,
                    &row.platform.as_str(),
                    &day_text(row.day),
                    &row.platform_joins,
                    &row.qunzhu_joins,
                    &micros(row.checked_at),
                ],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn platform_counts(
        &self,
        workspace: WorkspaceId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PlatformCountDay>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT platform, day, platform_joins, qunzhu_joins, checked_at FROM platform_count_days
                 WHERE workspace = $1 AND day >= $2 AND day <= $3 ORDER BY platform, day",
                &[&workspace.0, &day_text(from), &day_text(to)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let platform: String = get(row, 0)?;
                let on: String = get(row, 1)?;
                Ok(PlatformCountDay {
                    platform: parsed(Platform::parse(&platform))?,
                    day: day(&on)?,
                    platform_joins: get(row, 2)?,
                    qunzhu_joins: get(row, 3)?,
                    checked_at: time(get(row, 4)?),
                })
            })
            .collect()
    }
}

//! [`PlatformCountStore`] on SQLite: one row per platform and day, replaced by each comparison.

use async_trait::async_trait;
use chrono::NaiveDate;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{PlatformCountDay, PlatformCountStore, Result};
use rusqlite::params;

use crate::codec::{day, day_text, micros, parsed, time};
use crate::{backend, SqliteStore};

#[async_trait]
impl PlatformCountStore for SqliteStore {
    async fn record_platform_counts(
        &self,
        workspace: WorkspaceId,
        days: &[PlatformCountDay],
    ) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            {
                let mut put = tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO platform_count_days
                         (workspace, platform, day, platform_joins, qunzhu_joins, checked_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .map_err(backend)?;
                for row in days {
                    put.execute(params![
                        workspace.0,
                        row.platform.as_str(),
                        day_text(row.day),
                        row.platform_joins,
                        row.qunzhu_joins,
                        micros(row.checked_at)
                    ])
                    .map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)
        })
    }

    async fn platform_counts(
        &self,
        workspace: WorkspaceId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PlatformCountDay>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT platform, day, platform_joins, qunzhu_joins, checked_at FROM platform_count_days
                     WHERE workspace = ?1 AND day >= ?2 AND day <= ?3 ORDER BY platform, day",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, day_text(from), day_text(to)])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let platform: String = row.get(0).map_err(backend)?;
                let on: String = row.get(1).map_err(backend)?;
                out.push(PlatformCountDay {
                    platform: parsed(Platform::parse(&platform))?,
                    day: day(&on)?,
                    platform_joins: row.get(2).map_err(backend)?,
                    qunzhu_joins: row.get(3).map_err(backend)?,
                    checked_at: time(row.get(4).map_err(backend)?),
                });
            }
            Ok(out)
        })
    }
}

//! [`FunnelCountStore`] on SQLite: the workspace's funnel counters, added to (or replaced) in
//! the rollup consumer's transaction and read whole.

use async_trait::async_trait;
use qunzhu_domain::funnel_counts::{
    week_number, week_of_number, CountCell, CountMeasure, FunnelCounts, FunnelDelta,
};
use qunzhu_domain::{InviteChannel, WorkspaceId};
use qunzhu_storage::{FunnelCountStore, Result};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::codec::parsed;
use crate::{backend, SqliteStore};

/// Writes one step's change to the counters inside the rollup transaction `tx`.
pub(crate) fn write_funnel(tx: &Transaction<'_>, ws: i64, delta: &FunnelDelta) -> Result<()> {
    if delta.replace {
        tx.execute(
            "DELETE FROM rollup_funnel_counts WHERE workspace = ?1",
            [ws],
        )
        .map_err(backend)?;
        tx.execute(
            "INSERT OR IGNORE INTO rollup_funnel_counted (workspace) VALUES (?1)",
            [ws],
        )
        .map_err(backend)?;
    }
    let mut add = tx
        .prepare_cached(
            "INSERT INTO rollup_funnel_counts (workspace, channel, measure, week, bucket, count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (workspace, channel, measure, week, bucket) DO UPDATE SET count = count + excluded.count",
        )
        .map_err(backend)?;
    for (cell, count) in &delta.counts.cells {
        add.execute(params![
            ws,
            cell.channel.map_or("", |channel| channel.as_str()),
            cell.measure.as_str(),
            week_number(cell.week),
            cell.bucket,
            count
        ])
        .map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl FunnelCountStore for SqliteStore {
    async fn funnel_counted(&self, workspace: WorkspaceId) -> Result<bool> {
        self.read(|conn| {
            conn.query_row(
                "SELECT 1 FROM rollup_funnel_counted WHERE workspace = ?1",
                [workspace.0],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(backend)
        })
    }

    async fn funnel_counts(&self, workspace: WorkspaceId) -> Result<Option<FunnelCounts>> {
        if !self.funnel_counted(workspace).await? {
            return Ok(None);
        }
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT channel, measure, week, bucket, count FROM rollup_funnel_counts
                     WHERE workspace = ?1 AND count <> 0",
                )
                .map_err(backend)?;
            let mut rows = statement.query([workspace.0]).map_err(backend)?;
            let mut out = FunnelCounts::default();
            while let Some(row) = rows.next().map_err(backend)? {
                let channel: String = row.get(0).map_err(backend)?;
                let measure: String = row.get(1).map_err(backend)?;
                let cell = CountCell {
                    channel: (!channel.is_empty())
                        .then(|| parsed(InviteChannel::parse(&channel)))
                        .transpose()?,
                    measure: parsed(CountMeasure::parse(&measure))?,
                    week: week_of_number(row.get(2).map_err(backend)?),
                    bucket: row.get(3).map_err(backend)?,
                };
                out.add(cell, row.get(4).map_err(backend)?);
            }
            Ok(Some(out))
        })
    }
}

//! [`FunnelCountStore`] on PostgreSQL: the workspace's funnel counters, added to (or replaced)
//! with one UNNEST statement in the rollup consumer's transaction and read whole.

use async_trait::async_trait;
use qunzhu_domain::funnel_counts::{
    week_number, week_of_number, CountCell, CountMeasure, FunnelCounts, FunnelDelta,
};
use qunzhu_domain::{InviteChannel, WorkspaceId};
use qunzhu_storage::{FunnelCountStore, Result};
use tokio_postgres::Transaction;

use crate::codec::parsed;
use crate::{backend, get, PostgresStore};

/// Writes one step's change to the counters inside the rollup transaction `tx`.
pub(crate) async fn write_funnel(tx: &Transaction<'_>, ws: i64, delta: &FunnelDelta) -> Result<()> {
    if delta.replace {
        tx.execute(
            "DELETE FROM rollup_funnel_counts WHERE workspace = $1",
            &[&ws],
        )
        .await
        .map_err(backend)?;
        tx.execute(
            "INSERT INTO rollup_funnel_counted (workspace) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&ws],
        )
        .await
        .map_err(backend)?;
    }
    if delta.counts.cells.is_empty() {
        return Ok(());
    }
    let mut channels = Vec::new();
    let mut measures = Vec::new();
    let mut weeks = Vec::new();
    let mut buckets = Vec::new();
    let mut counts = Vec::new();
    for (cell, count) in &delta.counts.cells {
        channels.push(cell.channel.map_or("", |channel| channel.as_str()));
        measures.push(cell.measure.as_str());
        weeks.push(week_number(cell.week));
        buckets.push(cell.bucket);
        counts.push(*count);
    }
    tx.execute(
        "INSERT INTO rollup_funnel_counts (workspace, channel, measure, week, bucket, count)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
         ON CONFLICT (workspace, channel, measure, week, bucket)
         DO UPDATE SET count = rollup_funnel_counts.count + EXCLUDED.count",
        &[&ws, &channels, &measures, &weeks, &buckets, &counts],
    )
    .await
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl FunnelCountStore for PostgresStore {
    async fn funnel_counted(&self, workspace: WorkspaceId) -> Result<bool> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT 1 FROM rollup_funnel_counted WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        Ok(row.is_some())
    }

    async fn funnel_counts(&self, workspace: WorkspaceId) -> Result<Option<FunnelCounts>> {
        if !self.funnel_counted(workspace).await? {
            return Ok(None);
        }
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT channel, measure, week, bucket, count FROM rollup_funnel_counts
                 WHERE workspace = $1 AND count <> 0",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        let mut out = FunnelCounts::default();
        for row in &rows {
            let channel: String = get(row, 0)?;
            let measure: String = get(row, 1)?;
            let cell = CountCell {
                channel: (!channel.is_empty())
                    .then(|| parsed(InviteChannel::parse(&channel)))
                    .transpose()?,
                measure: parsed(CountMeasure::parse(&measure))?,
                week: week_of_number(get(row, 2)?),
                bucket: get(row, 3)?,
            };
            out.add(cell, get(row, 4)?);
        }
        Ok(Some(out))
    }
}

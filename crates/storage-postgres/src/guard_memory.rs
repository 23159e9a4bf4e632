//! The guardian's saved memory on PostgreSQL: one row per workspace and platform, stamped with
//! the workspace's newest committed event in the same statement.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{GuardMemory, GuardMemoryStore, Result};
use tokio_postgres::Row;

use crate::codec::{micros, time};
use crate::{backend, get, PostgresStore};

fn from_row(row: &Row) -> Result<GuardMemory> {
    Ok(GuardMemory {
        seq: get(row, 0)?,
        taken_at: time(get(row, 1)?),
        memory: get(row, 2)?,
    })
}

#[async_trait]
impl GuardMemoryStore for PostgresStore {
    async fn put_guard_memory(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        taken_at: DateTime<Utc>,
        memory: &str,
    ) -> Result<GuardMemory> {
        let client = self.client().await;
        let row = client
            .query_one(
                "INSERT INTO guard_memories (workspace, platform, seq, taken_at, memory)
                 VALUES ($1, $2, (SELECT COALESCE(max(seq), 0) FROM events), $3, $4)
                 ON CONFLICT (workspace, platform) DO UPDATE SET seq = EXCLUDED.seq,
                     taken_at = EXCLUDED.taken_at, memory = EXCLUDED.memory
                 RETURNING seq, taken_at, memory",
                &[&workspace.0, &platform.as_str(), &micros(taken_at), &memory],
            )
            .await
            .map_err(backend)?;
        from_row(&row)
    }

    async fn guard_memory(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
    ) -> Result<Option<GuardMemory>> {
        let client = self.client().await;
        client
            .query_opt(
                "SELECT seq, taken_at, memory FROM guard_memories WHERE workspace = $1 AND platform = $2",
                &[&workspace.0, &platform.as_str()],
            )
            .await
            .map_err(backend)?
            .as_ref()
            .map(from_row)
            .transpose()
    }
}

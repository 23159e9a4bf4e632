//! The guardian's saved memory on SQLite: one row per workspace and platform, stamped with the
//! workspace's newest event in the same statement.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{GuardMemory, GuardMemoryStore, Result};
use rusqlite::{params, OptionalExtension};

use crate::codec::{micros, time};
use crate::{backend, SqliteStore};

fn read(
    conn: &rusqlite::Connection,
    workspace: WorkspaceId,
    platform: Platform,
) -> Result<Option<GuardMemory>> {
    conn.query_row(
        "SELECT seq, taken_at, memory FROM guard_memories WHERE workspace = ?1 AND platform = ?2",
        params![workspace.0, platform.as_str()],
        |row| {
            Ok(GuardMemory {
                seq: row.get(0)?,
                taken_at: time(row.get(1)?),
                memory: row.get(2)?,
            })
        },
    )
    .optional()
    .map_err(backend)
}

#[async_trait]
impl GuardMemoryStore for SqliteStore {
    async fn put_guard_memory(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        taken_at: DateTime<Utc>,
        memory: &str,
    ) -> Result<GuardMemory> {
        self.run(|conn| {
            conn.execute(
                "INSERT INTO guard_memories (workspace, platform, seq, taken_at, memory)
                 VALUES (?1, ?2, (SELECT COALESCE(max(seq), 0) FROM events), ?3, ?4)
                 ON CONFLICT (workspace, platform) DO UPDATE SET seq = excluded.seq,
                     taken_at = excluded.taken_at, memory = excluded.memory",
                params![workspace.0, platform.as_str(), micros(taken_at), memory],
            )
            .map_err(backend)?;
            read(conn, workspace, platform)?.ok_or_else(|| {
                qunzhu_storage::StoreError::Backend("guard memory vanished after its write".into())
            })
        })
    }

    async fn guard_memory(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
    ) -> Result<Option<GuardMemory>> {
        self.read(|conn| read(conn, workspace, platform))
    }
}

//! Point drops on SQLite: one row per scheduled drop, the spec as JSON.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{DropStore, NewDrop, Result, StoreError, StoredDrop};
use rusqlite::{params, Row};

use crate::codec::{from_json, json, micros, parsed, time};
use crate::{backend, SqliteStore};

const COLUMNS: &str = "id, key, platform, chat, spec, starts_at, origin";

fn from_row(row: &Row<'_>) -> Result<StoredDrop> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(StoredDrop {
        id: row.get(0).map_err(backend)?,
        drop: NewDrop {
            key: text(1)?,
            platform: parsed(Platform::parse(&text(2)?))?,
            chat: text(3)?,
            spec: from_json(&text(4)?)?,
            starts_at: time(row.get(5).map_err(backend)?),
            origin: qunzhu_domain::ActionOrigin::parse(&text(6)?),
        },
    })
}

#[async_trait]
impl DropStore for SqliteStore {
    async fn schedule_drop(&self, workspace: WorkspaceId, drop: NewDrop) -> Result<StoredDrop> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            tx.execute(
                "INSERT OR IGNORE INTO drops (workspace, key, platform, chat, spec, starts_at, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    workspace.0,
                    drop.key,
                    drop.platform.as_str(),
                    drop.chat,
                    json(&drop.spec)?,
                    micros(drop.starts_at),
                    drop.origin.to_string()
                ],
            )
            .map_err(backend)?;
            let stored = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM drops WHERE workspace = ?1 AND key = ?2"),
                    params![workspace.0, drop.key],
                    |row| Ok(from_row(row)),
                )
                .map_err(|_| StoreError::NotFound { object: "drop", id: drop.key.clone() })??;
            tx.commit().map_err(backend)?;
            Ok(stored)
        })
    }

    async fn drops_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<Vec<StoredDrop>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM drops WHERE workspace = ?1 AND starts_at >= ?2 ORDER BY id"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, micros(since)])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(from_row(row)?);
            }
            Ok(out)
        })
    }
}

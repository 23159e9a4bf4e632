//! Point drops on PostgreSQL: the same rows as SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{DropStore, NewDrop, Result, StoreError, StoredDrop};
use tokio_postgres::Row;

use crate::codec::{from_json, json, micros, parsed, time};
use crate::{backend, get, PostgresStore};

const COLUMNS: &str = "id, key, platform, chat, spec, starts_at, origin";

fn from_row(row: &Row) -> Result<StoredDrop> {
    Ok(StoredDrop {
        id: get(row, 0)?,
        drop: NewDrop {
            key: get(row, 1)?,
            platform: parsed(Platform::parse(&get::<String>(row, 2)?))?,
            chat: get(row, 3)?,
            spec: from_json(&get::<String>(row, 4)?)?,
            starts_at: time(get(row, 5)?),
            origin: qunzhu_domain::ActionOrigin::parse(&get::<String>(row, 6)?),
        },
    })
}

#[async_trait]
impl DropStore for PostgresStore {
    async fn schedule_drop(&self, workspace: WorkspaceId, drop: NewDrop) -> Result<StoredDrop> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO drops (workspace, key, platform, chat, spec, starts_at, origin) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                &[
                    &workspace.0,
                    &drop.key,
                    &drop.platform.as_str(),
                    &drop.chat,
                    &json(&drop.spec)?,
                    &micros(drop.starts_at),
                    &drop.origin.to_string(),
                ],
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM drops WHERE workspace = $1 AND key = $2"),
                &[&workspace.0, &drop.key],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                object: "drop",
                id: drop.key.clone(),
            })?;
        from_row(&row)
    }

    async fn drops_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<Vec<StoredDrop>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM drops WHERE workspace = $1 AND starts_at >= $2 ORDER BY id"
                ),
                &[&workspace.0, &micros(since)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(from_row).collect()
    }
}

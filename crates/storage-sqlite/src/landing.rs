//! Landing pages on SQLite: counters bumped by upsert, leads kept once per page and phone hash
//! with their channel's `phones` counter in the same transaction.

use async_trait::async_trait;
use qunzhu_domain::WorkspaceId;
use qunzhu_storage::{ChannelCounts, LandingHit, LandingStore, Lead, NewLead, Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::codec::{micros, time};
use crate::{backend, SqliteStore};

const LEAD_COLUMNS: &str = "id, page, channel, cipher, at";

fn lead(row: &Row<'_>) -> rusqlite::Result<Lead> {
    Ok(Lead {
        id: row.get(0)?,
        page: row.get(1)?,
        channel: row.get(2)?,
        cipher: row.get(3)?,
        at: time(row.get(4)?),
    })
}

fn bump(
    conn: &Connection,
    workspace: WorkspaceId,
    page: &str,
    channel: &str,
    column: &str,
) -> Result<()> {
    // `column` is one of three fixed names, never input.
    let sql = format!(
        "INSERT INTO landing_counters (workspace, page, channel, {column}) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (workspace, page, channel) DO UPDATE SET {column} = {column} + 1"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut statement| statement.execute(params![workspace.0, page, channel]))
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl LandingStore for SqliteStore {
    async fn count_landing(
        &self,
        workspace: WorkspaceId,
        page: &str,
        channel: &str,
        hit: LandingHit,
    ) -> Result<()> {
        let column = match hit {
            LandingHit::View => "views",
            LandingHit::Join => "joins",
        };
        self.run(|conn| bump(conn, workspace, page, channel, column))
    }

    async fn record_lead(&self, workspace: WorkspaceId, new: NewLead) -> Result<(i64, bool)> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let inserted = tx
                .execute(
                    "INSERT INTO landing_leads (workspace, page, channel, phone_hash, cipher, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (workspace, page, phone_hash) DO NOTHING",
                    params![
                        workspace.0,
                        new.page,
                        new.channel,
                        new.phone_hash,
                        new.cipher,
                        micros(new.at)
                    ],
                )
                .map_err(backend)?;
            if inserted == 1 {
                bump(&tx, workspace, &new.page, &new.channel, "phones")?;
            }
            let id: i64 = tx
                .query_row(
                    "SELECT id FROM landing_leads WHERE workspace = ?1 AND page = ?2 AND phone_hash = ?3",
                    params![workspace.0, new.page, new.phone_hash],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok((id, inserted == 1))
        })
    }

    async fn landing_counts(
        &self,
        workspace: WorkspaceId,
        page: Option<&str>,
    ) -> Result<Vec<ChannelCounts>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT page, channel, views, phones, joins FROM landing_counters
                     WHERE workspace = ?1 AND (?2 IS NULL OR page = ?2) ORDER BY page, channel",
                )
                .map_err(backend)?;
            let rows = statement
                .query_map(params![workspace.0, page], |row| {
                    Ok(ChannelCounts {
                        page: row.get(0)?,
                        channel: row.get(1)?,
                        views: row.get(2)?,
                        phones: row.get(3)?,
                        joins: row.get(4)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
    }

    async fn leads(&self, workspace: WorkspaceId, page: &str, limit: usize) -> Result<Vec<Lead>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {LEAD_COLUMNS} FROM landing_leads WHERE workspace = ?1 AND page = ?2
                     ORDER BY at DESC, id DESC LIMIT ?3"
                ))
                .map_err(backend)?;
            let rows = statement
                .query_map(params![workspace.0, page, limit], lead)
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
    }

    async fn delete_lead(&self, workspace: WorkspaceId, id: i64) -> Result<Lead> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let found = tx
                .query_row(
                    &format!(
                        "SELECT {LEAD_COLUMNS} FROM landing_leads WHERE workspace = ?1 AND id = ?2"
                    ),
                    params![workspace.0, id],
                    lead,
                )
                .optional()
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound {
                    object: "lead",
                    id: id.to_string(),
                })?;
            tx.execute(
                "DELETE FROM landing_leads WHERE workspace = ?1 AND id = ?2",
                params![workspace.0, id],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(found)
        })
    }

    async fn forget_phone(&self, workspace: WorkspaceId, phone_hash: &str) -> Result<Vec<Lead>> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let found = {
                let mut statement = tx
                    .prepare_cached(&format!(
                        "SELECT {LEAD_COLUMNS} FROM landing_leads WHERE workspace = ?1 AND phone_hash = ?2 ORDER BY id"
                    ))
                    .map_err(backend)?;
                let rows = statement
                    .query_map(params![workspace.0, phone_hash], lead)
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)?
            };
            tx.execute(
                "DELETE FROM landing_leads WHERE workspace = ?1 AND phone_hash = ?2",
                params![workspace.0, phone_hash],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(found)
        })
    }
}

//! The ban list and followed policy lists on SQLite: each change and its revision bump in one
//! transaction, so the engine never sees a ban without its revision moving.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{
    Ban, BanSource, BanTarget, ListMode, NewBan, Platform, PolicyList, WorkspaceId,
};
use qunzhu_storage::{BanStore, Presence, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::codec::{micros, opt_time, parsed, time};
use crate::{backend, SqliteStore};

const BAN_COLUMNS: &str =
    "id, workspace, platform, source, target, entity, reason, decided_by, decided_at";

fn ban_from_row(row: &Row<'_>) -> Result<Ban> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(Ban {
        id: row.get(0).map_err(backend)?,
        workspace: WorkspaceId(row.get(1).map_err(backend)?),
        platform: parsed(Platform::parse(&text(2)?))?,
        source: BanSource::from_stored(&text(3)?),
        target: parsed(BanTarget::parse(&text(4)?))?,
        entity: text(5)?,
        reason: text(6)?,
        decided_by: text(7)?,
        decided_at: time(row.get(8).map_err(backend)?),
    })
}

fn find(
    conn: &Connection,
    workspace: WorkspaceId,
    platform: Platform,
    source: &str,
    entity: &str,
) -> Result<Option<Ban>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {BAN_COLUMNS} FROM bans WHERE workspace = ?1 AND platform = ?2 AND source = ?3 AND entity = ?4"
        ))
        .map_err(backend)?;
    let mut rows = statement
        .query(params![workspace.0, platform.as_str(), source, entity])
        .map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => Ok(Some(ban_from_row(row)?)),
        None => Ok(None),
    }
}

fn bump(conn: &Connection, workspace: WorkspaceId) -> Result<()> {
    conn.execute(
        "INSERT INTO ban_revisions (workspace, revision) VALUES (?1, 1)
         ON CONFLICT (workspace) DO UPDATE SET revision = revision + 1",
        [workspace.0],
    )
    .map_err(backend)?;
    Ok(())
}

fn list_from_row(row: &Row<'_>) -> Result<PolicyList> {
    let mode: String = row.get(2).map_err(backend)?;
    Ok(PolicyList {
        workspace: WorkspaceId(row.get(0).map_err(backend)?),
        room: row.get(1).map_err(backend)?,
        mode: parsed(ListMode::parse(&mode))?,
        changed_by: row.get(3).map_err(backend)?,
        changed_at: time(row.get(4).map_err(backend)?),
    })
}

#[async_trait]
impl BanStore for SqliteStore {
    async fn add_ban(&self, ban: NewBan) -> Result<(Ban, bool)> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let source = ban.source.as_stored();
            if let Some(existing) = find(&tx, ban.workspace, ban.platform, source, &ban.entity)? {
                return Ok((existing, false));
            }
            tx.execute(
                "INSERT INTO bans (workspace, platform, source, target, entity, reason, decided_by, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    ban.workspace.0,
                    ban.platform.as_str(),
                    source,
                    ban.target.as_str(),
                    ban.entity,
                    ban.reason,
                    ban.decided_by,
                    micros(ban.decided_at)
                ],
            )
            .map_err(backend)?;
            bump(&tx, ban.workspace)?;
            let stored = find(&tx, ban.workspace, ban.platform, source, &ban.entity)?;
            tx.commit().map_err(backend)?;
            stored
                .map(|stored| (stored, true))
                .ok_or_else(|| qunzhu_storage::StoreError::Backend("ban vanished".into()))
        })
    }

    async fn remove_ban(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        source: &BanSource,
        entity: &str,
    ) -> Result<Option<Ban>> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let Some(existing) = find(&tx, workspace, platform, source.as_stored(), entity)? else {
                return Ok(None);
            };
            tx.execute("DELETE FROM bans WHERE id = ?1", [existing.id])
                .map_err(backend)?;
            bump(&tx, workspace)?;
            tx.commit().map_err(backend)?;
            Ok(Some(existing))
        })
    }

    async fn bans(&self, workspace: WorkspaceId) -> Result<Vec<Ban>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {BAN_COLUMNS} FROM bans WHERE workspace = ?1 ORDER BY id"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([workspace.0]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(ban_from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn ban_revision(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT revision FROM ban_revisions WHERE workspace = ?1",
                [workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|revision| revision.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn set_policy_list(
        &self,
        workspace: WorkspaceId,
        room: &str,
        mode: ListMode,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<PolicyList> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            tx.execute(
                "INSERT INTO policy_lists (workspace, room, mode, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (workspace, room) DO UPDATE SET mode = excluded.mode, changed_by = excluded.changed_by, changed_at = excluded.changed_at",
                params![workspace.0, room, mode.as_str(), by, micros(at)],
            )
            .map_err(backend)?;
            // Which rules count changed: the engine must recompile.
            bump(&tx, workspace)?;
            let list = tx
                .query_row(
                    "SELECT workspace, room, mode, changed_by, changed_at FROM policy_lists WHERE workspace = ?1 AND room = ?2",
                    params![workspace.0, room],
                    |row| Ok(list_from_row(row)),
                )
                .map_err(backend)??;
            tx.commit().map_err(backend)?;
            Ok(list)
        })
    }

    async fn remove_policy_list(&self, workspace: WorkspaceId, room: &str) -> Result<bool> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let removed = tx
                .execute(
                    "DELETE FROM policy_lists WHERE workspace = ?1 AND room = ?2",
                    params![workspace.0, room],
                )
                .map_err(backend)?;
            tx.execute(
                "DELETE FROM bans WHERE workspace = ?1 AND source = ?2",
                params![workspace.0, room],
            )
            .map_err(backend)?;
            bump(&tx, workspace)?;
            tx.commit().map_err(backend)?;
            Ok(removed == 1)
        })
    }

    async fn policy_lists(&self, workspace: WorkspaceId) -> Result<Vec<PolicyList>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT workspace, room, mode, changed_by, changed_at FROM policy_lists WHERE workspace = ?1 ORDER BY room",
                )
                .map_err(backend)?;
            let mut rows = statement.query([workspace.0]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(list_from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn present_members(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: Option<&str>,
    ) -> Result<Vec<Presence>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT chat, member, display_name, joined_at FROM memberships
                     WHERE workspace = ?1 AND platform = ?2 AND present = 1 AND (?3 IS NULL OR member = ?3)
                     ORDER BY chat, member",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, platform.as_str(), member])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(Presence {
                    platform,
                    chat: row.get(0).map_err(backend)?,
                    member: row.get(1).map_err(backend)?,
                    display_name: row.get(2).map_err(backend)?,
                    joined_at: opt_time(row.get(3).map_err(backend)?),
                });
            }
            Ok(out)
        })
    }
}

//! The ban list and followed policy lists on PostgreSQL: each change and its revision bump in
//! one transaction; a concurrent add of the same ban is settled by the unique key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{
    Ban, BanSource, BanTarget, ListMode, NewBan, Platform, PolicyList, WorkspaceId,
};
use qunzhu_storage::{BanStore, Presence, Result, StoreError};
use tokio_postgres::{GenericClient, Row};

use crate::codec::{micros, opt_time, parsed, time};
use crate::{backend, get, PostgresStore};

const BAN_COLUMNS: &str =
    "id, workspace, platform, source, target, entity, reason, decided_by, decided_at";

fn ban_from_row(row: &Row) -> Result<Ban> {
    let text = |index: usize| -> Result<String> { get(row, index) };
    Ok(Ban {
        id: get(row, 0)?,
        workspace: WorkspaceId(get(row, 1)?),
        platform: parsed(Platform::parse(&text(2)?))?,
        source: BanSource::from_stored(&text(3)?),
        target: parsed(BanTarget::parse(&text(4)?))?,
        entity: text(5)?,
        reason: text(6)?,
        decided_by: text(7)?,
        decided_at: time(get(row, 8)?),
    })
}

fn list_from_row(row: &Row) -> Result<PolicyList> {
    let mode: String = get(row, 2)?;
    Ok(PolicyList {
        workspace: WorkspaceId(get(row, 0)?),
        room: get(row, 1)?,
        mode: parsed(ListMode::parse(&mode))?,
        changed_by: get(row, 3)?,
        changed_at: time(get(row, 4)?),
    })
}

async fn find(
    client: &impl GenericClient,
    workspace: WorkspaceId,
    platform: Platform,
    source: &str,
    entity: &str,
) -> Result<Option<Ban>> {
    let row = client
        .query_opt(
            &format!("SELECT {BAN_COLUMNS} FROM bans WHERE workspace = $1 AND platform = $2 AND source = $3 AND entity = $4"),
            &[&workspace.0, &platform.as_str(), &source, &entity],
        )
        .await
        .map_err(backend)?;
    row.as_ref().map(ban_from_row).transpose()
}

async fn bump(client: &impl GenericClient, workspace: WorkspaceId) -> Result<()> {
    client
        .execute(
            "INSERT INTO ban_revisions (workspace, revision) VALUES ($1, 1)
             ON CONFLICT (workspace) DO UPDATE SET revision = ban_revisions.revision + 1",
            &[&workspace.0],
        )
        .await
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl BanStore for PostgresStore {
    async fn add_ban(&self, ban: NewBan) -> Result<(Ban, bool)> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let source = ban.source.as_stored();
        let inserted = tx
            .execute(
                "INSERT INTO bans (workspace, platform, source, target, entity, reason, decided_by, decided_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                &[
                    &ban.workspace.0,
                    &ban.platform.as_str(),
                    &source,
                    &ban.target.as_str(),
                    &ban.entity,
                    &ban.reason,
                    &ban.decided_by,
                    &micros(ban.decided_at),
                ],
            )
            .await
            .map_err(backend)?;
        if inserted == 1 {
            bump(&tx, ban.workspace).await?;
        }
        let stored = find(&tx, ban.workspace, ban.platform, source, &ban.entity)
            .await?
            .ok_or_else(|| StoreError::Backend("ban vanished".into()))?;
        tx.commit().await.map_err(backend)?;
        Ok((stored, inserted == 1))
    }

    async fn remove_ban(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        source: &BanSource,
        entity: &str,
    ) -> Result<Option<Ban>> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let row = tx
            .query_opt(
                &format!("DELETE FROM bans WHERE workspace = $1 AND platform = $2 AND source = $3 AND entity = $4 RETURNING {BAN_COLUMNS}"),
                &[&workspace.0, &platform.as_str(), &source.as_stored(), &entity],
            )
            .await
            .map_err(backend)?;
        let removed = row.as_ref().map(ban_from_row).transpose()?;
        if removed.is_some() {
            bump(&tx, workspace).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(removed)
    }

    async fn bans(&self, workspace: WorkspaceId) -> Result<Vec<Ban>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {BAN_COLUMNS} FROM bans WHERE workspace = $1 ORDER BY id"),
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(ban_from_row).collect()
    }

    async fn ban_revision(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT revision FROM ban_revisions WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map(|row| get(&row, 0))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn set_policy_list(
        &self,
        workspace: WorkspaceId,
        room: &str,
        mode: ListMode,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<PolicyList> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let row = tx
            .query_one(
                "INSERT INTO policy_lists (workspace, room, mode, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (workspace, room) DO UPDATE SET mode = EXCLUDED.mode, changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at
                 RETURNING workspace, room, mode, changed_by, changed_at",
                &[&workspace.0, &room, &mode.as_str(), &by, &micros(at)],
            )
            .await
            .map_err(backend)?;
        // Which rules count changed: the engine must recompile.
        bump(&tx, workspace).await?;
        let list = list_from_row(&row)?;
        tx.commit().await.map_err(backend)?;
        Ok(list)
    }

    async fn remove_policy_list(&self, workspace: WorkspaceId, room: &str) -> Result<bool> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let removed = tx
            .execute(
                "DELETE FROM policy_lists WHERE workspace = $1 AND room = $2",
                &[&workspace.0, &room],
            )
            .await
            .map_err(backend)?;
        tx.execute(
            "DELETE FROM bans WHERE workspace = $1 AND source = $2",
            &[&workspace.0, &room],
        )
        .await
        .map_err(backend)?;
        bump(&tx, workspace).await?;
        tx.commit().await.map_err(backend)?;
        Ok(removed == 1)
    }

    async fn policy_lists(&self, workspace: WorkspaceId) -> Result<Vec<PolicyList>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT workspace, room, mode, changed_by, changed_at FROM policy_lists WHERE workspace = $1 ORDER BY room",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(list_from_row).collect()
    }

    async fn present_members(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: Option<&str>,
    ) -> Result<Vec<Presence>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT chat, member, display_name, joined_at FROM memberships
                 WHERE workspace = $1 AND platform = $2 AND present = 1 AND ($3::TEXT IS NULL OR member = $3)
                 ORDER BY chat, member",
                &[&workspace.0, &platform.as_str(), &member],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(Presence {
                    platform,
                    chat: get(row, 0)?,
                    member: get(row, 1)?,
                    display_name: get(row, 2)?,
                    joined_at: opt_time(get(row, 3)?),
                })
            })
            .collect()
    }
}

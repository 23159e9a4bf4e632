//! Live-code join links on SQLite: one row per (code, chat, channel), the first plan standing.

use async_trait::async_trait;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{LinkJoins, LiveCodeLink, LiveCodeLinkStore, Result};
use rusqlite::{params, Connection, Row};

use crate::codec::{micros, parsed, time};
use crate::{backend, SqliteStore};

const COLUMNS: &str = "code, platform, chat, channel, name, key, url, handle, created_at";

fn link_from_row(row: &Row<'_>) -> Result<LiveCodeLink> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(LiveCodeLink {
        code: text(0)?,
        platform: parsed(Platform::parse(&text(1)?))?,
        chat: text(2)?,
        channel: text(3)?,
        name: text(4)?,
        key: text(5)?,
        url: row.get(6).map_err(backend)?,
        handle: row.get(7).map_err(backend)?,
        created_at: time(row.get(8).map_err(backend)?),
    })
}

fn one(
    conn: &Connection,
    workspace: WorkspaceId,
    code: &str,
    chat: &str,
    channel: &str,
) -> Result<Option<LiveCodeLink>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM livecode_links WHERE workspace = ?1 AND code = ?2 AND chat = ?3 AND channel = ?4"
        ))
        .map_err(backend)?;
    let mut rows = statement
        .query(params![workspace.0, code, chat, channel])
        .map_err(backend)?;
    rows.next().map_err(backend)?.map(link_from_row).transpose()
}

#[async_trait]
impl LiveCodeLinkStore for SqliteStore {
    async fn plan_livecode_link(
        &self,
        workspace: WorkspaceId,
        link: LiveCodeLink,
    ) -> Result<LiveCodeLink> {
        self.run(|conn| {
            conn.execute(
                &format!("INSERT INTO livecode_links (workspace, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING"),
                params![
                    workspace.0,
                    link.code,
                    link.platform.as_str(),
                    link.chat,
                    link.channel,
                    link.name,
                    link.key,
                    link.url,
                    link.handle,
                    micros(link.created_at)
                ],
            )
            .map_err(backend)?;
            one(conn, workspace, &link.code, &link.chat, &link.channel)?.ok_or_else(|| {
                qunzhu_storage::StoreError::Conflict {
                    object: "live-code link name",
                    id: format!("{} in {}", link.name, link.chat),
                }
            })
        })
    }

    async fn livecode_link(
        &self,
        workspace: WorkspaceId,
        code: &str,
        chat: &str,
        channel: &str,
    ) -> Result<Option<LiveCodeLink>> {
        self.read(|conn| one(conn, workspace, code, chat, channel))
    }

    async fn set_livecode_link_url(
        &self,
        workspace: WorkspaceId,
        code: &str,
        chat: &str,
        channel: &str,
        url: &str,
        handle: Option<&str>,
    ) -> Result<()> {
        self.run(|conn| {
            conn.execute(
                "UPDATE livecode_links SET url = ?5, handle = ?6 WHERE workspace = ?1 AND code = ?2 AND chat = ?3 AND channel = ?4 AND url IS NULL",
                params![workspace.0, code, chat, channel, url, handle],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn livecode_links(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<Vec<LiveCodeLink>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM livecode_links WHERE workspace = ?1 AND code = ?2 ORDER BY chat, channel"
                ))
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, code]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(link_from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn livecode_link_joins(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<Vec<LinkJoins>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT l.channel, COUNT(i.invitee) FROM livecode_links l JOIN invites i
                        ON i.workspace = l.workspace AND i.platform = l.platform AND (l.chat = '' OR i.chat = l.chat) AND i.code = l.name
                     WHERE l.workspace = ?1 AND l.code = ?2 GROUP BY l.channel ORDER BY 2 DESC, 1",
                )
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, code]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let joins: i64 = row.get(1).map_err(backend)?;
                out.push(LinkJoins {
                    channel: row.get(0).map_err(backend)?,
                    joins: joins.max(0) as u64,
                });
            }
            Ok(out)
        })
    }
}

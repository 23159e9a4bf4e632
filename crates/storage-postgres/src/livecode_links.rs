//! Live-code join links on PostgreSQL: the same rows as SQLite, the first plan standing
//! (`ON CONFLICT DO NOTHING` on the key), so instances planning at once keep one link.

use async_trait::async_trait;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{LinkJoins, LiveCodeLink, LiveCodeLinkStore, Result, StoreError};
use tokio_postgres::{GenericClient, Row};

use crate::codec::{micros, parsed, time};
use crate::{backend, get, PostgresStore};

const COLUMNS: &str = "code, platform, chat, channel, name, key, url, handle, created_at";

fn link_from_row(row: &Row) -> Result<LiveCodeLink> {
    Ok(LiveCodeLink {
        code: get(row, 0)?,
        platform: parsed(Platform::parse(&get::<String>(row, 1)?))?,
        chat: get(row, 2)?,
        channel: get(row, 3)?,
        name: get(row, 4)?,
        key: get(row, 5)?,
        url: get(row, 6)?,
        handle: get(row, 7)?,
        created_at: time(get(row, 8)?),
    })
}

async fn one<C: GenericClient>(
    client: &C,
    workspace: WorkspaceId,
    code: &str,
    chat: &str,
    channel: &str,
) -> Result<Option<LiveCodeLink>> {
    client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM livecode_links WHERE workspace = $1 AND code = $2 AND chat = $3 AND channel = $4"),
            &[&workspace.0, &code, &chat, &channel],
        )
        .await
        .map_err(backend)?
        .as_ref()
        .map(link_from_row)
        .transpose()
}

#[async_trait]
impl LiveCodeLinkStore for PostgresStore {
    async fn plan_livecode_link(
        &self,
        workspace: WorkspaceId,
        link: LiveCodeLink,
    ) -> Result<LiveCodeLink> {
        let client = self.client().await;
        client
            .execute(
                &format!("INSERT INTO livecode_links (workspace, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"),
                &[
                    &workspace.0,
                    &link.code,
                    &link.platform.as_str(),
                    &link.chat,
                    &link.channel,
                    &link.name,
                    &link.key,
                    &link.url,
                    &link.handle,
                    &micros(link.created_at),
                ],
            )
            .await
            .map_err(backend)?;
        one(&*client, workspace, &link.code, &link.chat, &link.channel)
            .await?
            .ok_or_else(|| StoreError::Conflict {
                object: "live-code link name",
                id: format!("{} in {}", link.name, link.chat),
            })
    }

    async fn livecode_link(
        &self,
        workspace: WorkspaceId,
        code: &str,
        chat: &str,
        channel: &str,
    ) -> Result<Option<LiveCodeLink>> {
        let client = self.client().await;
        one(&*client, workspace, code, chat, channel).await
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
        let client = self.client().await;
        client
            .execute(
                "UPDATE livecode_links SET url = $5, handle = $6 WHERE workspace = $1 AND code = $2 AND chat = $3 AND channel = $4 AND url IS NULL",
                &[&workspace.0, &code, &chat, &channel, &url, &handle],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn livecode_links(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<Vec<LiveCodeLink>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM livecode_links WHERE workspace = $1 AND code = $2 ORDER BY chat, channel"),
                &[&workspace.0, &code],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(link_from_row).collect()
    }

    async fn livecode_link_joins(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<Vec<LinkJoins>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT l.channel, COUNT(i.invitee) FROM livecode_links l JOIN invites i
                    ON i.workspace = l.workspace AND i.platform = l.platform AND (l.chat = '' OR i.chat = l.chat) AND i.code = l.name
                 WHERE l.workspace = $1 AND l.code = $2 GROUP BY l.channel ORDER BY 2 DESC, 1",
                &[&workspace.0, &code],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(LinkJoins {
                    channel: get(row, 0)?,
                    joins: get::<i64>(row, 1)?.max(0) as u64,
                })
            })
            .collect()
    }
}

//! Member tags from poll answers on PostgreSQL: one transaction per batch of answers; the
//! member's row is locked while its tags are read, changed by the domain rule and written back.

use async_trait::async_trait;
use qunzhu_domain::poll_tags::retag;
use qunzhu_domain::{PollAnswer, WorkspaceId};
use qunzhu_storage::{PollTagStore, Result};
use tokio_postgres::Transaction;

use crate::codec::{from_json, json, micros};
use crate::{backend, get, PostgresStore};

async fn apply(tx: &Transaction<'_>, workspace: WorkspaceId, answer: &PollAnswer) -> Result<()> {
    let platform = answer.platform.as_str();
    // The member's row first (created if missing), locked, so two writers serialize here.
    tx.execute(
        "INSERT INTO members (workspace, platform, user_id, display_name) VALUES ($1, $2, $3, $3)
         ON CONFLICT (workspace, platform, user_id) DO NOTHING",
        &[&workspace.0, &platform, &answer.member],
    )
    .await
    .map_err(backend)?;
    let row = tx
        .query_one(
            "SELECT tags FROM members WHERE workspace = $1 AND platform = $2 AND user_id = $3 FOR UPDATE",
            &[&workspace.0, &platform, &answer.member],
        )
        .await
        .map_err(backend)?;
    let current: Vec<String> = from_json(&get::<String>(&row, 0)?)?;
    let mut previous = Vec::new();
    let mut elsewhere = Vec::new();
    for row in tx
        .query(
            "SELECT poll, tags FROM poll_answers WHERE workspace = $1 AND platform = $2 AND member = $3",
            &[&workspace.0, &platform, &answer.member],
        )
        .await
        .map_err(backend)?
    {
        let poll: String = get(&row, 0)?;
        let tags: Vec<String> = from_json(&get::<String>(&row, 1)?)?;
        if poll == answer.poll {
            previous = tags;
        } else {
            elsewhere.extend(tags);
        }
    }
    let tags = json(&retag(&current, &previous, &elsewhere, &answer.tags))?;
    tx.execute(
        "UPDATE members SET tags = $4 WHERE workspace = $1 AND platform = $2 AND user_id = $3",
        &[&workspace.0, &platform, &answer.member, &tags],
    )
    .await
    .map_err(backend)?;
    tx.execute(
        "INSERT INTO poll_answers (workspace, platform, member, poll, tags, at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (workspace, platform, member, poll) DO UPDATE SET tags = excluded.tags, at = excluded.at",
        &[&workspace.0, &platform, &answer.member, &answer.poll, &json(&answer.tags)?, &micros(answer.at)],
    )
    .await
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl PollTagStore for PostgresStore {
    async fn poll_tag_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM poll_tag_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map(|row| get(&row, 0))
            .transpose()
            .map(|seq| seq.unwrap_or(0))
    }

    async fn apply_poll_answers(
        &self,
        workspace: WorkspaceId,
        answers: Vec<PollAnswer>,
        watermark: i64,
    ) -> Result<()> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        for answer in &answers {
            apply(&tx, workspace, answer).await?;
        }
        tx.execute(
            "INSERT INTO poll_tag_watermarks (workspace, seq) VALUES ($1, $2) ON CONFLICT (workspace) DO UPDATE SET seq = excluded.seq",
            &[&workspace.0, &watermark],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}

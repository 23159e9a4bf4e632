//! Member tags from poll answers on SQLite: one transaction per batch of answers, with the
//! members' tags read, changed by the domain rule and written back, and the watermark.

use async_trait::async_trait;
use qunzhu_domain::poll_tags::retag;
use qunzhu_domain::{PollAnswer, WorkspaceId};
use qunzhu_storage::{PollTagStore, Result};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::codec::{from_json, json, micros};
use crate::{backend, SqliteStore};

fn apply(tx: &Transaction<'_>, workspace: WorkspaceId, answer: &PollAnswer) -> Result<()> {
    let platform = answer.platform.as_str();
    let mut previous = Vec::new();
    let mut elsewhere = Vec::new();
    {
        let mut statement = tx
            .prepare_cached("SELECT poll, tags FROM poll_answers WHERE workspace = ?1 AND platform = ?2 AND member = ?3")
            .map_err(backend)?;
        let mut rows = statement
            .query(params![workspace.0, platform, answer.member])
            .map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let poll: String = row.get(0).map_err(backend)?;
            let tags: Vec<String> = from_json(&row.get::<_, String>(1).map_err(backend)?)?;
            if poll == answer.poll {
                previous = tags;
            } else {
                elsewhere.extend(tags);
            }
        }
    }
    let current: Option<String> = tx
        .prepare_cached(
            "SELECT tags FROM members WHERE workspace = ?1 AND platform = ?2 AND user = ?3",
        )
        .and_then(|mut statement| {
            statement
                .query_row(params![workspace.0, platform, answer.member], |row| {
                    row.get(0)
                })
                .optional()
        })
        .map_err(backend)?;
    let current: Vec<String> = match &current {
        Some(text) => from_json(text)?,
        None => Vec::new(),
    };
    let tags = json(&retag(&current, &previous, &elsewhere, &answer.tags))?;
    tx.prepare_cached(
        "INSERT INTO members (workspace, platform, user, display_name, tags) VALUES (?1, ?2, ?3, ?3, ?4)
         ON CONFLICT (workspace, platform, user) DO UPDATE SET tags = excluded.tags",
    )
    .and_then(|mut statement| statement.execute(params![workspace.0, platform, answer.member, tags]))
    .map_err(backend)?;
    let chosen = json(&answer.tags)?;
    tx.prepare_cached(
        "INSERT INTO poll_answers (workspace, platform, member, poll, tags, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (workspace, platform, member, poll) DO UPDATE SET tags = excluded.tags, at = excluded.at",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            workspace.0,
            platform,
            answer.member,
            answer.poll,
            chosen,
            micros(answer.at)
        ])
    })
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl PollTagStore for SqliteStore {
    async fn poll_tag_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM poll_tag_watermarks WHERE workspace = ?1",
                [workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn apply_poll_answers(
        &self,
        workspace: WorkspaceId,
        answers: Vec<PollAnswer>,
        watermark: i64,
    ) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            for answer in &answers {
                apply(&tx, workspace, answer)?;
            }
            tx.execute(
                "INSERT INTO poll_tag_watermarks (workspace, seq) VALUES (?1, ?2) ON CONFLICT (workspace) DO UPDATE SET seq = excluded.seq",
                params![workspace.0, watermark],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }
}

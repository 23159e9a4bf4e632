//! The growth plays on PostgreSQL: runs as rows with their participants as JSON; the consumer's
//! watermark is moved compare-and-set under its row lock, so two instances' rounds take turns
//! and the loser writes nothing.

use async_trait::async_trait;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::play::RunState;
use qunzhu_growth::run::Run;
use qunzhu_storage::{state_of, PlayStore, Result, RunFilter};
use tokio_postgres::Row;

use crate::codec::{from_json, json, micros, opt_time, parsed, time};
use crate::{backend, get, PostgresStore};

const COLUMNS: &str = "play, number, kind, platform, chat, starter, state, started_at, deadline, closed_at, price_cents, participants";

fn run_from_row(row: &Row) -> Result<Run> {
    Ok(Run {
        play: get(row, 0)?,
        number: u32::try_from(get::<i64>(row, 1)?).unwrap_or(0),
        kind: get(row, 2)?,
        platform: parsed(Platform::parse(&get::<String>(row, 3)?))?,
        chat: get(row, 4)?,
        starter: get(row, 5)?,
        state: state_of(&get::<String>(row, 6)?, RunState::parse)?,
        started_at: time(get(row, 7)?),
        deadline: time(get(row, 8)?),
        closed_at: opt_time(get(row, 9)?),
        price_cents: get(row, 10)?,
        participants: from_json(&get::<String>(row, 11)?)?,
    })
}

#[async_trait]
impl PlayStore for PostgresStore {
    async fn play_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM play_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map(|row| get(&row, 0))
            .transpose()
            .map(|seq| seq.unwrap_or(0))
    }

    async fn play_runs(&self, workspace: WorkspaceId, play: &str) -> Result<Vec<Run>> {
        let client = self.client().await;
        client
            .query(
                &format!("SELECT {COLUMNS} FROM play_runs WHERE workspace = $1 AND play = $2 ORDER BY number"),
                &[&workspace.0, &play],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(run_from_row)
            .collect()
    }

    async fn apply_plays(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
        runs: Vec<Run>,
    ) -> Result<bool> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "INSERT INTO play_watermarks (workspace, seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&workspace.0],
        )
        .await
        .map_err(backend)?;
        let moved = tx
            .execute(
                "UPDATE play_watermarks SET seq = $3 WHERE workspace = $1 AND seq = $2",
                &[&workspace.0, &from, &to],
            )
            .await
            .map_err(backend)?;
        if moved != 1 {
            return Ok(false);
        }
        let statement = tx
            .prepare(&format!(
                "INSERT INTO play_runs (workspace, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (workspace, play, number) DO UPDATE SET state = excluded.state, deadline = excluded.deadline,
                 closed_at = excluded.closed_at, price_cents = excluded.price_cents, participants = excluded.participants"
            ))
            .await
            .map_err(backend)?;
        for run in &runs {
            let participants = json(&run.participants)?;
            tx.execute(
                &statement,
                &[
                    &workspace.0,
                    &run.play,
                    &i64::from(run.number),
                    &run.kind,
                    &run.platform.as_str(),
                    &run.chat,
                    &run.starter,
                    &run.state.as_str(),
                    &micros(run.started_at),
                    &micros(run.deadline),
                    &run.closed_at.map(micros),
                    &run.price_cents,
                    &participants,
                ],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn runs(
        &self,
        workspace: WorkspaceId,
        filter: &RunFilter,
        limit: usize,
    ) -> Result<Vec<Run>> {
        let client = self.client().await;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let state = filter.state.map(RunState::as_str);
        client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM play_runs WHERE workspace = $1 AND ($2::TEXT IS NULL OR play = $2)
                     AND ($3::TEXT IS NULL OR state = $3) ORDER BY started_at DESC, play, number DESC LIMIT $4"
                ),
                &[&workspace.0, &filter.play, &state, &limit],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(run_from_row)
            .collect()
    }
}

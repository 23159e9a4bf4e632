//! The growth plays on SQLite: runs as rows with their participants as JSON, the consumer's
//! watermark compared and moved in the same transaction as the runs it changed.

use async_trait::async_trait;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::play::RunState;
use qunzhu_growth::run::Run;
use qunzhu_storage::{state_of, PlayStore, Result, RunFilter};
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{from_json, json, micros, opt_time, parsed, time};
use crate::{backend, SqliteStore};

const COLUMNS: &str = "play, number, kind, platform, chat, starter, state, started_at, deadline, closed_at, price_cents, participants";

fn run_from_row(row: &Row<'_>) -> Result<Run> {
    let get = |index| -> Result<String> { row.get(index).map_err(backend) };
    let int = |index| -> Result<i64> { row.get(index).map_err(backend) };
    Ok(Run {
        play: get(0)?,
        number: u32::try_from(int(1)?).unwrap_or(0),
        kind: get(2)?,
        platform: parsed(Platform::parse(&get(3)?))?,
        chat: get(4)?,
        starter: get(5)?,
        state: state_of(&get(6)?, RunState::parse)?,
        started_at: time(int(7)?),
        deadline: time(int(8)?),
        closed_at: opt_time(row.get(9).map_err(backend)?),
        price_cents: int(10)?,
        participants: from_json(&get(11)?)?,
    })
}

#[async_trait]
impl PlayStore for SqliteStore {
    async fn play_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM play_watermarks WHERE workspace = ?1",
                [workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn play_runs(&self, workspace: WorkspaceId, play: &str) -> Result<Vec<Run>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM play_runs WHERE workspace = ?1 AND play = ?2 ORDER BY number"
                ))
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, play]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(run_from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn apply_plays(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
        runs: Vec<Run>,
    ) -> Result<bool> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let current: i64 = tx
                .query_row(
                    "SELECT seq FROM play_watermarks WHERE workspace = ?1",
                    [workspace.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            if current != from {
                return Ok(false);
            }
            let encoded = runs
                .iter()
                .map(|run| json(&run.participants))
                .collect::<Result<Vec<String>>>()?;
            tx.execute(
                "INSERT INTO play_watermarks (workspace, seq) VALUES (?1, ?2) ON CONFLICT (workspace) DO UPDATE SET seq = excluded.seq",
                params![workspace.0, to],
            )
            .map_err(backend)?;
            for (run, participants) in runs.iter().zip(&encoded) {
                tx.prepare_cached(&format!(
                    "INSERT INTO play_runs (workspace, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT (workspace, play, number) DO UPDATE SET state = excluded.state, deadline = excluded.deadline,
                     closed_at = excluded.closed_at, price_cents = excluded.price_cents, participants = excluded.participants"
                ))
                .and_then(|mut statement| {
                    statement.execute(params![
                        workspace.0,
                        run.play,
                        i64::from(run.number),
                        run.kind,
                        run.platform.as_str(),
                        run.chat,
                        run.starter,
                        run.state.as_str(),
                        micros(run.started_at),
                        micros(run.deadline),
                        run.closed_at.map(micros),
                        run.price_cents,
                        participants,
                    ])
                })
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(true)
        })
    }

    async fn runs(
        &self,
        workspace: WorkspaceId,
        filter: &RunFilter,
        limit: usize,
    ) -> Result<Vec<Run>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM play_runs WHERE workspace = ?1 AND (?2 IS NULL OR play = ?2)
                     AND (?3 IS NULL OR state = ?3) ORDER BY started_at DESC, play, number DESC LIMIT ?4"
                ))
                .map_err(backend)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut rows = statement
                .query(params![
                    workspace.0,
                    filter.play,
                    filter.state.map(RunState::as_str),
                    limit
                ])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(run_from_row(row)?);
            }
            Ok(out)
        })
    }
}

//! Leaderboard races on SQLite: one row per race, the baseline and the awards as JSON; opening
//! is an `INSERT … ON CONFLICT DO NOTHING` and settling an `UPDATE … WHERE state = 'open'`, so
//! only the first of each is recorded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::race::Award;
use qunzhu_storage::{NewRace, RaceState, RaceStore, Result, StoreError, StoredRace};
use rusqlite::{params, Connection, Row};

use crate::codec::{from_json, json, micros, parsed, time};
use crate::{backend, SqliteStore};

const COLUMNS: &str = "name, platform, metric, opened_at, baseline, state, settled_at, awards";

fn from_row(row: &Row<'_>) -> Result<StoredRace> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    let settled_at: Option<i64> = row.get(6).map_err(backend)?;
    Ok(StoredRace {
        name: text(0)?,
        platform: parsed(Platform::parse(&text(1)?))?,
        metric: text(2)?,
        opened_at: time(row.get(3).map_err(backend)?),
        baseline: from_json(&text(4)?)?,
        state: parsed(RaceState::parse(&text(5)?).ok_or("unknown race state"))?,
        settled_at: settled_at.map(time),
        awards: from_json(&text(7)?)?,
    })
}

fn select(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredRace>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM races WHERE {filter} ORDER BY name"
        ))
        .map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

fn by_name(conn: &Connection, workspace: WorkspaceId, name: &str) -> Result<StoredRace> {
    select(
        conn,
        "workspace = ?1 AND name = ?2",
        params![workspace.0, name],
    )?
    .into_iter()
    .next()
    .ok_or_else(|| StoreError::NotFound {
        object: "race",
        id: name.to_string(),
    })
}

#[async_trait]
impl RaceStore for SqliteStore {
    async fn open_race(&self, workspace: WorkspaceId, race: NewRace) -> Result<(StoredRace, bool)> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let inserted = tx
                .execute(
                    "INSERT INTO races (workspace, name, platform, metric, opened_at, baseline, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open') ON CONFLICT (workspace, name) DO NOTHING",
                    params![
                        workspace.0,
                        race.name,
                        race.platform.as_str(),
                        race.metric,
                        micros(race.opened_at),
                        json(&race.baseline)?
                    ],
                )
                .map_err(backend)?;
            let stored = by_name(&tx, workspace, &race.name)?;
            tx.commit().map_err(backend)?;
            Ok((stored, inserted == 1))
        })
    }

    async fn race(&self, workspace: WorkspaceId, name: &str) -> Result<Option<StoredRace>> {
        self.read(|conn| {
            Ok(select(
                conn,
                "workspace = ?1 AND name = ?2",
                params![workspace.0, name],
            )?
            .into_iter()
            .next())
        })
    }

    async fn races(&self, workspace: WorkspaceId) -> Result<Vec<StoredRace>> {
        self.read(|conn| select(conn, "workspace = ?1", params![workspace.0]))
    }

    async fn settle_race(
        &self,
        workspace: WorkspaceId,
        name: &str,
        at: DateTime<Utc>,
        awards: Vec<Award>,
    ) -> Result<(StoredRace, bool)> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let changed = tx
                .execute(
                    "UPDATE races SET state = 'settled', settled_at = ?3, awards = ?4
                     WHERE workspace = ?1 AND name = ?2 AND state = 'open'",
                    params![workspace.0, name, micros(at), json(&awards)?],
                )
                .map_err(backend)?;
            let stored = by_name(&tx, workspace, name)?;
            tx.commit().map_err(backend)?;
            Ok((stored, changed == 1))
        })
    }

    async fn mark_race_paid(&self, workspace: WorkspaceId, name: &str) -> Result<bool> {
        self.run(|conn| {
            conn.execute(
                "UPDATE races SET state = 'paid' WHERE workspace = ?1 AND name = ?2 AND state = 'settled'",
                params![workspace.0, name],
            )
            .map(|changed| changed == 1)
            .map_err(backend)
        })
    }
}

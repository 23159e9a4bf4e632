//! Leaderboard races on PostgreSQL: the same rows as SQLite; opening is an
//! `INSERT … ON CONFLICT DO NOTHING` and settling an `UPDATE … WHERE state = 'open'`, so two
//! instances racing to open or settle record one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::race::Award;
use qunzhu_storage::{NewRace, RaceState, RaceStore, Result, StoreError, StoredRace};
use tokio_postgres::Row;

use crate::codec::{from_json, json, micros, parsed, time};
use crate::{backend, get, PostgresStore};

const COLUMNS: &str = "name, platform, metric, opened_at, baseline, state, settled_at, awards";

fn from_row(row: &Row) -> Result<StoredRace> {
    let settled_at: Option<i64> = get(row, 6)?;
    Ok(StoredRace {
        name: get(row, 0)?,
        platform: parsed(Platform::parse(&get::<String>(row, 1)?))?,
        metric: get(row, 2)?,
        opened_at: time(get(row, 3)?),
        baseline: from_json(&get::<String>(row, 4)?)?,
        state: parsed(RaceState::parse(&get::<String>(row, 5)?).ok_or("unknown race state"))?,
        settled_at: settled_at.map(time),
        awards: from_json(&get::<String>(row, 7)?)?,
    })
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        object: "race",
        id: name.to_string(),
    }
}

impl PostgresStore {
    async fn race_row(&self, workspace: WorkspaceId, name: &str) -> Result<Option<StoredRace>> {
        let client = self.client().await;
        client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM races WHERE workspace = $1 AND name = $2"),
                &[&workspace.0, &name],
            )
            .await
            .map_err(backend)?
            .map(|row| from_row(&row))
            .transpose()
    }
}

#[async_trait]
impl RaceStore for PostgresStore {
    async fn open_race(&self, workspace: WorkspaceId, race: NewRace) -> Result<(StoredRace, bool)> {
        let inserted = {
            let client = self.client().await;
            client
                .execute(
                    "INSERT INTO races (workspace, name, platform, metric, opened_at, baseline, state)
                     VALUES ($1, $2, $3, $4, $5, $6, 'open') ON CONFLICT (workspace, name) DO NOTHING",
                    &[
                        &workspace.0,
                        &race.name,
                        &race.platform.as_str(),
                        &race.metric,
                        &micros(race.opened_at),
                        &json(&race.baseline)?,
                    ],
                )
                .await
                .map_err(backend)?
        };
        let stored = self
            .race_row(workspace, &race.name)
            .await?
            .ok_or_else(|| not_found(&race.name))?;
        Ok((stored, inserted == 1))
    }

    async fn race(&self, workspace: WorkspaceId, name: &str) -> Result<Option<StoredRace>> {
        self.race_row(workspace, name).await
    }

    async fn races(&self, workspace: WorkspaceId) -> Result<Vec<StoredRace>> {
        let client = self.client().await;
        client
            .query(
                &format!("SELECT {COLUMNS} FROM races WHERE workspace = $1 ORDER BY name"),
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(from_row)
            .collect()
    }

    async fn settle_race(
        &self,
        workspace: WorkspaceId,
        name: &str,
        at: DateTime<Utc>,
        awards: Vec<Award>,
    ) -> Result<(StoredRace, bool)> {
        let changed = {
            let client = self.client().await;
            client
                .execute(
                    "UPDATE races SET state = 'settled', settled_at = $3, awards = $4
                     WHERE workspace = $1 AND name = $2 AND state = 'open'",
                    &[&workspace.0, &name, &micros(at), &json(&awards)?],
                )
                .await
                .map_err(backend)?
        };
        let stored = self
            .race_row(workspace, name)
            .await?
            .ok_or_else(|| not_found(name))?;
        Ok((stored, changed == 1))
    }

    async fn mark_race_paid(&self, workspace: WorkspaceId, name: &str) -> Result<bool> {
        let client = self.client().await;
        client
            .execute(
                "UPDATE races SET state = 'paid' WHERE workspace = $1 AND name = $2 AND state = 'settled'",
                &[&workspace.0, &name],
            )
            .await
            .map(|changed| changed == 1)
            .map_err(backend)
    }
}

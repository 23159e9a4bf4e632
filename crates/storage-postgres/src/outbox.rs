//! The outbox on PostgreSQL: claims use `FOR UPDATE SKIP LOCKED`, so several instances
//! dispatching from one database never take the same action.

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionId, ActionRecord, ActionStatus, NewAction, Platform, WorkspaceId};
use qunzhu_storage::{ActionCounts, ActionFilter, ActionOutcome, Claim, Result, StoreError};
use tokio_postgres::Row;

use crate::codec::{from_json, micros, opt_time, parsed, time};
use crate::{backend, get, PostgresStore};

pub(crate) const ACTION_COLUMNS: &str = "id, workspace, platform, chat, key, payload, origin, cause, status, attempts, created_at, not_before,
    next_attempt_at, expires_at, done_at, last_error, receipt";

pub(crate) fn action_from_row(row: &Row) -> Result<ActionRecord> {
    let status: String = get(row, 8)?;
    Ok(ActionRecord {
        id: ActionId(get(row, 0)?),
        workspace: WorkspaceId(get(row, 1)?),
        platform: parsed(Platform::parse(&get::<String>(row, 2)?))?,
        chat: get(row, 3)?,
        key: get(row, 4)?,
        kind: from_json(&get::<String>(row, 5)?)?,
        origin: qunzhu_domain::ActionOrigin::parse(&get::<String>(row, 6)?),
        cause: get(row, 7)?,
        status: ActionStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("unknown action status `{status}`")))?,
        attempts: get::<i64>(row, 9)?.try_into().unwrap_or(u32::MAX),
        created_at: time(get(row, 10)?),
        not_before: time(get(row, 11)?),
        next_attempt_at: time(get(row, 12)?),
        expires_at: opt_time(get(row, 13)?),
        done_at: opt_time(get(row, 14)?),
        last_error: get(row, 15)?,
        receipt: get(row, 16)?,
    })
}

fn all(rows: Vec<Row>) -> Result<Vec<ActionRecord>> {
    rows.iter().map(action_from_row).collect()
}

impl PostgresStore {
    pub(crate) async fn write_enqueue(&self, actions: Vec<NewAction>) -> Result<usize> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let new = crate::ingest::insert_actions(&tx, &actions).await?;
        tx.commit().await.map_err(backend)?;
        Ok(new)
    }

    pub(crate) async fn write_claim(&self, claim: Claim<'_>) -> Result<Vec<ActionRecord>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "UPDATE actions SET status = 'in_flight', lease_owner = $4, lease_until = $5
                     WHERE id IN (SELECT id FROM actions
                         WHERE platform = $1 AND target = $6
                           AND ((status = 'pending' AND next_attempt_at <= $2) OR (status = 'in_flight' AND lease_until <= $2))
                         ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
                     RETURNING {ACTION_COLUMNS}"
                ),
                &[&claim.platform.as_str(), &micros(claim.now), &(claim.limit as i64), &claim.owner, &micros(claim.lease_until), &claim.target.as_str()],
            )
            .await
            .map_err(backend)?;
        let mut claimed = all(rows)?;
        claimed.sort_by_key(|action| (action.next_attempt_at, action.id));
        Ok(claimed)
    }

    pub(crate) async fn write_finish(
        &self,
        id: i64,
        outcome: ActionOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let client = self.client().await;
        let (sql, at, text) = match outcome {
            ActionOutcome::Done { receipt } => (
                "UPDATE actions SET status = 'done', attempts = attempts + 1, done_at = $2, receipt = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1",
                now,
                receipt,
            ),
            ActionOutcome::Retry { at, error } => (
                "UPDATE actions SET status = 'pending', attempts = attempts + 1, next_attempt_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1",
                at,
                Some(error),
            ),
            ActionOutcome::Defer { at } => (
                "UPDATE actions SET status = 'pending', next_attempt_at = $2, last_error = COALESCE($3, last_error), lease_owner = NULL, lease_until = NULL WHERE id = $1",
                at,
                None,
            ),
            ActionOutcome::Dead { error } => (
                "UPDATE actions SET status = 'dead', attempts = attempts + 1, done_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1",
                now,
                Some(error),
            ),
            ActionOutcome::Skip { reason } => (
                "UPDATE actions SET status = 'skipped', done_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1",
                now,
                Some(reason),
            ),
        };
        let changed = client
            .execute(sql, &[&id, &micros(at), &text])
            .await
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                object: "action",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    pub(crate) async fn read_action(&self, id: i64) -> Result<ActionRecord> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {ACTION_COLUMNS} FROM actions WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(backend)?;
        all(rows)?.into_iter().next().ok_or(StoreError::NotFound {
            object: "action",
            id: id.to_string(),
        })
    }

    pub(crate) async fn read_action_by_key(
        &self,
        workspace: WorkspaceId,
        key: &str,
    ) -> Result<ActionRecord> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {ACTION_COLUMNS} FROM actions WHERE workspace = $1 AND key = $2"),
                &[&workspace.0, &key],
            )
            .await
            .map_err(backend)?;
        all(rows)?.into_iter().next().ok_or(StoreError::NotFound {
            object: "action",
            id: key.to_string(),
        })
    }

    pub(crate) async fn read_actions(
        &self,
        workspace: WorkspaceId,
        filter: &ActionFilter,
    ) -> Result<Vec<ActionRecord>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {ACTION_COLUMNS} FROM actions WHERE workspace = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR chat = $3)
                     AND ($4::text IS NULL OR substr(origin, 1, length($4)) = $4) ORDER BY id DESC LIMIT $5"
                ),
                &[&workspace.0, &filter.status.map(ActionStatus::as_str), &filter.chat, &filter.origin_prefix, &(filter.limit.unwrap_or(100) as i64)],
            )
            .await
            .map_err(backend)?;
        all(rows)
    }

    pub(crate) async fn read_action_counts(&self, workspace: WorkspaceId) -> Result<ActionCounts> {
        let client = self.client().await;
        let mut counts = ActionCounts::default();
        for row in client
            .query(
                "SELECT status, count(*) FROM actions WHERE workspace = $1 GROUP BY status",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
        {
            let status: String = get(&row, 0)?;
            let count = get::<i64>(&row, 1)? as u64;
            match ActionStatus::parse(&status) {
                Some(ActionStatus::Pending) => counts.pending = count,
                Some(ActionStatus::InFlight) => counts.in_flight = count,
                Some(ActionStatus::Done) => counts.done = count,
                Some(ActionStatus::Dead) => counts.dead = count,
                Some(ActionStatus::Skipped) => counts.skipped = count,
                Some(ActionStatus::DryRun) => counts.dry_run = count,
                None => {
                    return Err(StoreError::Backend(format!(
                        "unknown action status `{status}`"
                    )))
                }
            }
        }
        Ok(counts)
    }

    pub(crate) async fn write_cancel(
        &self,
        workspace: WorkspaceId,
        origin_prefix: &str,
        from: DateTime<Utc>,
        reason: &str,
    ) -> Result<usize> {
        let client = self.client().await;
        let changed = client
            .execute(
                "UPDATE actions SET status = 'skipped', last_error = $4 WHERE workspace = $1 AND status = 'pending'
                 AND substr(origin, 1, length($2)) = $2 AND not_before >= $3",
                &[&workspace.0, &origin_prefix, &micros(from), &reason],
            )
            .await
            .map_err(backend)?;
        Ok(changed as usize)
    }

    pub(crate) async fn read_cursor(&self, connector: &str) -> Result<Option<String>> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT cursor FROM cursors WHERE connector = $1",
                &[&connector],
            )
            .await
            .map_err(backend)?;
        row.map(|row| get(&row, 0)).transpose()
    }
}

//! The outbox: enqueue, claim with a lease, record outcomes, and the queries over it.

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionId, ActionRecord, ActionStatus, NewAction, Platform, WorkspaceId};
use qunzhu_storage::{ActionCounts, ActionFilter, ActionOutcome, Claim, Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::codec::{from_json, micros, opt_time, parsed, time};
use crate::ingest::insert_action;
use crate::{backend, SqliteStore};

pub(crate) const ACTION_COLUMNS: &str = "id, workspace, platform, chat, key, payload, origin, cause, status, attempts, created_at, not_before,
    next_attempt_at, expires_at, done_at, last_error, receipt";

pub(crate) fn action_from_row(row: &Row<'_>) -> Result<ActionRecord> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    let status = text(8)?;
    Ok(ActionRecord {
        id: ActionId(row.get(0).map_err(backend)?),
        workspace: WorkspaceId(row.get(1).map_err(backend)?),
        platform: parsed(Platform::parse(&text(2)?))?,
        chat: text(3)?,
        key: text(4)?,
        kind: from_json(&text(5)?)?,
        origin: qunzhu_domain::ActionOrigin::parse(&text(6)?),
        cause: row.get(7).map_err(backend)?,
        status: ActionStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("unknown action status `{status}`")))?,
        attempts: row.get(9).map_err(backend)?,
        created_at: time(row.get(10).map_err(backend)?),
        not_before: time(row.get(11).map_err(backend)?),
        next_attempt_at: time(row.get(12).map_err(backend)?),
        expires_at: opt_time(row.get(13).map_err(backend)?),
        done_at: opt_time(row.get(14).map_err(backend)?),
        last_error: row.get(15).map_err(backend)?,
        receipt: row.get(16).map_err(backend)?,
    })
}

fn query_actions(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<ActionRecord>> {
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(action_from_row(row)?);
    }
    Ok(out)
}

fn one(found: Vec<ActionRecord>, id: String) -> Result<ActionRecord> {
    found.into_iter().next().ok_or(StoreError::NotFound {
        object: "action",
        id,
    })
}

impl SqliteStore {
    pub(crate) fn write_enqueue(&self, actions: Vec<NewAction>) -> Result<usize> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let mut new = 0;
            for action in &actions {
                new += usize::from(insert_action(&tx, action)?);
            }
            tx.commit().map_err(backend)?;
            Ok(new)
        })
    }

    pub(crate) fn write_claim(&self, claim: Claim<'_>) -> Result<Vec<ActionRecord>> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let claimed = query_actions(
                &tx,
                &format!(
                    "SELECT {ACTION_COLUMNS} FROM actions
                     WHERE platform = ?1 AND target = ?4
                       AND ((status = 'pending' AND next_attempt_at <= ?2) OR (status = 'in_flight' AND lease_until <= ?2))
                     ORDER BY next_attempt_at, id LIMIT ?3"
                ),
                params![claim.platform.as_str(), micros(claim.now), claim.limit as i64, claim.target.as_str()],
            )?;
            for action in &claimed {
                tx.prepare_cached("UPDATE actions SET status = 'in_flight', lease_owner = ?2, lease_until = ?3 WHERE id = ?1")
                    .and_then(|mut statement| statement.execute(params![action.id.0, claim.owner, micros(claim.lease_until)]))
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(claimed.into_iter().map(|action| ActionRecord { status: ActionStatus::InFlight, ..action }).collect())
        })
    }

    pub(crate) fn write_finish(
        &self,
        id: i64,
        outcome: ActionOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.run(|conn| {
            let changed = match outcome {
                ActionOutcome::Done { receipt } => conn.execute(
                    "UPDATE actions SET status = 'done', attempts = attempts + 1, done_at = ?2, receipt = ?3, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                    params![id, micros(now), receipt],
                ),
                ActionOutcome::Retry { at, error } => conn.execute(
                    "UPDATE actions SET status = 'pending', attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                    params![id, micros(at), error],
                ),
                ActionOutcome::Defer { at } => conn.execute(
                    "UPDATE actions SET status = 'pending', next_attempt_at = ?2, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                    params![id, micros(at)],
                ),
                ActionOutcome::Dead { error } => conn.execute(
                    "UPDATE actions SET status = 'dead', attempts = attempts + 1, done_at = ?2, last_error = ?3, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                    params![id, micros(now), error],
                ),
                ActionOutcome::Skip { reason } => conn.execute(
                    "UPDATE actions SET status = 'skipped', done_at = ?2, last_error = ?3, lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                    params![id, micros(now), reason],
                ),
            }
            .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound { object: "action", id: id.to_string() });
            }
            Ok(())
        })
    }

    pub(crate) fn read_action(&self, id: i64) -> Result<ActionRecord> {
        self.read(|conn| {
            one(
                query_actions(
                    conn,
                    &format!("SELECT {ACTION_COLUMNS} FROM actions WHERE id = ?1"),
                    [id],
                )?,
                id.to_string(),
            )
        })
    }

    pub(crate) fn read_action_by_key(
        &self,
        workspace: WorkspaceId,
        key: &str,
    ) -> Result<ActionRecord> {
        self.read(|conn| {
            one(
                query_actions(
                    conn,
                    &format!(
                        "SELECT {ACTION_COLUMNS} FROM actions WHERE workspace = ?1 AND key = ?2"
                    ),
                    rusqlite::params![workspace.0, key],
                )?,
                key.to_string(),
            )
        })
    }

    pub(crate) fn read_actions(
        &self,
        workspace: WorkspaceId,
        filter: &ActionFilter,
    ) -> Result<Vec<ActionRecord>> {
        self.read(|conn| {
            query_actions(
                conn,
                &format!(
                    "SELECT {ACTION_COLUMNS} FROM actions WHERE workspace = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR chat = ?3)
                     AND (?4 IS NULL OR substr(origin, 1, length(?4)) = ?4) ORDER BY id DESC LIMIT ?5"
                ),
                params![
                    workspace.0,
                    filter.status.map(ActionStatus::as_str),
                    filter.chat,
                    filter.origin_prefix,
                    filter.limit.unwrap_or(100) as i64
                ],
            )
        })
    }

    pub(crate) fn read_action_counts(&self, workspace: WorkspaceId) -> Result<ActionCounts> {
        self.read(|conn| {
            let mut counts = ActionCounts::default();
            let mut statement = conn
                .prepare_cached(
                    "SELECT status, count(*) FROM actions WHERE workspace = ?1 GROUP BY status",
                )
                .map_err(backend)?;
            let mut rows = statement.query([workspace.0]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let status: String = row.get(0).map_err(backend)?;
                let count = row.get::<_, i64>(1).map_err(backend)? as u64;
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
        })
    }

    pub(crate) fn write_cancel(
        &self,
        workspace: WorkspaceId,
        origin_prefix: &str,
        from: DateTime<Utc>,
        reason: &str,
    ) -> Result<usize> {
        self.run(|conn| {
            conn.execute(
                "UPDATE actions SET status = 'skipped', last_error = ?4 WHERE workspace = ?1 AND status = 'pending'
                 AND substr(origin, 1, length(?2)) = ?2 AND not_before >= ?3",
                params![workspace.0, origin_prefix, micros(from), reason],
            )
            .map_err(backend)
        })
    }

    pub(crate) fn read_cursor(&self, connector: &str) -> Result<Option<String>> {
        self.read(|conn| {
            conn.query_row(
                "SELECT cursor FROM cursors WHERE connector = ?1",
                [connector],
                |row| row.get(0),
            )
            .optional()
            .map_err(backend)
        })
    }
}

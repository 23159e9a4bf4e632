//! The swap board on SQLite: numbers are taken and offers closed inside IMMEDIATE transactions
//! on the writing connection, so two claims on one offer close it once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::swap::SwapOffer;
use qunzhu_storage::{swap_from_columns, GroupSwap, NewSwap, Result, StoreError, SwapStore};
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use crate::codec::{micros, parsed, time};
use crate::{backend, SqliteStore};

const COLUMNS: &str =
    "number, member, have, want, posted_at, state, with_member, pair, closed_at, platform, chat";

fn from_row(row: &Row<'_>) -> Result<GroupSwap> {
    let get_text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    let offer = swap_from_columns(
        row.get(0).map_err(backend)?,
        get_text(1)?,
        get_text(2)?,
        get_text(3)?,
        time(row.get(4).map_err(backend)?),
        &get_text(5)?,
        row.get(6).map_err(backend)?,
        row.get(7).map_err(backend)?,
        row.get::<_, Option<i64>>(8).map_err(backend)?.map(time),
    );
    Ok(GroupSwap {
        platform: parsed(Platform::parse(&get_text(9)?))?,
        chat: get_text(10)?,
        offer,
    })
}

fn collect(mut rows: rusqlite::Rows<'_>) -> Result<Vec<GroupSwap>> {
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

#[async_trait]
impl SwapStore for SqliteStore {
    async fn post_swap(&self, workspace: WorkspaceId, swap: NewSwap) -> Result<SwapOffer> {
        self.run(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            tx.execute(
                "INSERT OR IGNORE INTO swaps (workspace, platform, chat, number, key, member, have, want, posted_at, state)
                 SELECT ?1, ?2, ?3, COALESCE(MAX(number), 0) + 1, ?4, ?5, ?6, ?7, ?8, 'open'
                 FROM swaps WHERE workspace = ?1 AND platform = ?2 AND chat = ?3",
                params![
                    workspace.0,
                    swap.platform.as_str(),
                    swap.chat,
                    swap.key,
                    swap.member,
                    swap.have,
                    swap.want,
                    micros(swap.at)
                ],
            )
            .map_err(backend)?;
            let stored = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM swaps WHERE workspace = ?1 AND key = ?2"),
                    params![workspace.0, swap.key],
                    |row| Ok(from_row(row)),
                )
                .optional()
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound {
                    object: "swap",
                    id: swap.key.clone(),
                })??;
            tx.commit().map_err(backend)?;
            Ok(stored.offer)
        })
    }

    async fn group_swaps(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<SwapOffer>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM swaps WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND posted_at >= ?4 ORDER BY number"
                ))
                .map_err(backend)?;
            let rows = statement
                .query(params![workspace.0, platform.as_str(), chat, micros(since)])
                .map_err(backend)?;
            Ok(collect(rows)?.into_iter().map(|swap| swap.offer).collect())
        })
    }

    async fn swaps(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<GroupSwap>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM swaps WHERE workspace = ?1 AND posted_at >= ?2 ORDER BY posted_at DESC, number DESC LIMIT ?3"
                ))
                .map_err(backend)?;
            let rows = statement
                .query(params![
                    workspace.0,
                    micros(since),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ])
                .map_err(backend)?;
            collect(rows)
        })
    }

    async fn accept_swap(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        number: u32,
        taker: &str,
        pair: Option<u32>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        self.run(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let owner: Option<String> = tx
                .query_row(
                    "SELECT member FROM swaps WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND number = ?4 AND state = 'open' AND member <> ?5",
                    params![workspace.0, platform.as_str(), chat, number, taker],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(owner) = owner else {
                return Ok(false);
            };
            tx.execute(
                "UPDATE swaps SET state = 'swapped', with_member = ?5, pair = ?6, closed_at = ?7 WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND number = ?4 AND state = 'open'",
                params![workspace.0, platform.as_str(), chat, number, taker, pair, micros(at)],
            )
            .map_err(backend)?;
            if let Some(pair) = pair {
                let closed = tx
                    .execute(
                        "UPDATE swaps SET state = 'swapped', with_member = ?5, pair = ?6, closed_at = ?7 WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND number = ?4 AND state = 'open' AND member = ?8",
                        params![workspace.0, platform.as_str(), chat, pair, owner, number, micros(at), taker],
                    )
                    .map_err(backend)?;
                if closed == 0 {
                    // Dropping the transaction rolls the first close back: both or neither.
                    return Ok(false);
                }
            }
            tx.commit().map_err(backend)?;
            Ok(true)
        })
    }

    async fn withdraw_swap(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        number: u32,
        member: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        self.run(|conn| {
            let changed = conn
                .execute(
                    "UPDATE swaps SET state = 'withdrawn', closed_at = ?6 WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND number = ?4 AND member = ?5 AND state = 'open'",
                    params![workspace.0, platform.as_str(), chat, number, member, micros(at)],
                )
                .map_err(backend)?;
            Ok(changed > 0)
        })
    }

    async fn swap_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM deal_watermarks WHERE workspace = ?1 AND consumer = 'swaps'",
                params![workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn advance_swap_watermark(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
    ) -> Result<bool> {
        self.run(|conn| {
            let changed = if from == 0 {
                conn.execute(
                    "INSERT INTO deal_watermarks (workspace, consumer, seq) VALUES (?1, 'swaps', ?2) ON CONFLICT (workspace, consumer) DO UPDATE SET seq = excluded.seq WHERE deal_watermarks.seq = 0",
                    params![workspace.0, to],
                )
            } else {
                conn.execute(
                    "UPDATE deal_watermarks SET seq = ?3 WHERE workspace = ?1 AND consumer = 'swaps' AND seq = ?2",
                    params![workspace.0, from, to],
                )
            }
            .map_err(backend)?;
            Ok(changed > 0)
        })
    }
}

//! The swap board on PostgreSQL: a group's next number is taken under a transaction-scoped
//! advisory lock on the group (two instances posting at once get 1 and 2, never a clash), and
//! an accepted offer is locked (`FOR UPDATE`) before it and the mirror offer close together.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::swap::SwapOffer;
use qunzhu_storage::{swap_from_columns, GroupSwap, NewSwap, Result, StoreError, SwapStore};
use tokio_postgres::Row;

use crate::codec::{micros, parsed, time};
use crate::{backend, get, PostgresStore};

const COLUMNS: &str =
    "number, member, have, want, posted_at, state, with_member, pair, closed_at, platform, chat";

fn from_row(row: &Row) -> Result<GroupSwap> {
    let offer = swap_from_columns(
        get(row, 0)?,
        get(row, 1)?,
        get(row, 2)?,
        get(row, 3)?,
        time(get(row, 4)?),
        &get::<String>(row, 5)?,
        get(row, 6)?,
        get(row, 7)?,
        get::<Option<i64>>(row, 8)?.map(time),
    );
    Ok(GroupSwap {
        platform: parsed(Platform::parse(&get::<String>(row, 9)?))?,
        chat: get(row, 10)?,
        offer,
    })
}

#[async_trait]
impl SwapStore for PostgresStore {
    async fn post_swap(&self, workspace: WorkspaceId, swap: NewSwap) -> Result<SwapOffer> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let group = format!("{}:{}:{}", workspace.0, swap.platform.as_str(), swap.chat);
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('swaps'), hashtext($1))",
            &[&group],
        )
        .await
        .map_err(backend)?;
        tx.execute(
            "INSERT INTO swaps (workspace, platform, chat, number, key, member, have, want, posted_at, state)
             SELECT $1, $2, $3, COALESCE(MAX(number), 0) + 1, $4, $5, $6, $7, $8, 'open'
             FROM swaps WHERE workspace = $1 AND platform = $2 AND chat = $3
             ON CONFLICT DO NOTHING",
            &[
                &workspace.0,
                &swap.platform.as_str(),
                &swap.chat,
                &swap.key,
                &swap.member,
                &swap.have,
                &swap.want,
                &micros(swap.at),
            ],
        )
        .await
        .map_err(backend)?;
        let row = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM swaps WHERE workspace = $1 AND key = $2"),
                &[&workspace.0, &swap.key],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                object: "swap",
                id: swap.key.clone(),
            })?;
        let stored = from_row(&row)?;
        tx.commit().await.map_err(backend)?;
        Ok(stored.offer)
    }

    async fn group_swaps(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<SwapOffer>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM swaps WHERE workspace = $1 AND platform = $2 AND chat = $3 AND posted_at >= $4 ORDER BY number"),
                &[&workspace.0, &platform.as_str(), &chat, &micros(since)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| from_row(row).map(|swap| swap.offer))
            .collect()
    }

    async fn swaps(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<GroupSwap>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM swaps WHERE workspace = $1 AND posted_at >= $2 ORDER BY posted_at DESC, number DESC LIMIT $3"),
                &[&workspace.0, &micros(since), &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(from_row).collect()
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
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let number = i64::from(number);
        let pair = pair.map(i64::from);
        let owner = tx
            .query_opt(
                "SELECT member FROM swaps WHERE workspace = $1 AND platform = $2 AND chat = $3 AND number = $4 AND state = 'open' AND member <> $5 FOR UPDATE",
                &[&workspace.0, &platform.as_str(), &chat, &number, &taker],
            )
            .await
            .map_err(backend)?;
        let Some(owner) = owner else {
            return Ok(false);
        };
        let owner: String = get(&owner, 0)?;
        tx.execute(
            "UPDATE swaps SET state = 'swapped', with_member = $5, pair = $6, closed_at = $7 WHERE workspace = $1 AND platform = $2 AND chat = $3 AND number = $4 AND state = 'open'",
            &[&workspace.0, &platform.as_str(), &chat, &number, &taker, &pair, &micros(at)],
        )
        .await
        .map_err(backend)?;
        if let Some(pair) = pair {
            let closed = tx
                .execute(
                    "UPDATE swaps SET state = 'swapped', with_member = $5, pair = $6, closed_at = $7 WHERE workspace = $1 AND platform = $2 AND chat = $3 AND number = $4 AND state = 'open' AND member = $8",
                    &[&workspace.0, &platform.as_str(), &chat, &pair, &owner, &number, &micros(at), &taker],
                )
                .await
                .map_err(backend)?;
            if closed == 0 {
                // Dropping the transaction rolls the first close back: both or neither.
                return Ok(false);
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
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
        let client = self.client().await;
        let changed = client
            .execute(
                "UPDATE swaps SET state = 'withdrawn', closed_at = $6 WHERE workspace = $1 AND platform = $2 AND chat = $3 AND number = $4 AND member = $5 AND state = 'open'",
                &[&workspace.0, &platform.as_str(), &chat, &i64::from(number), &member, &micros(at)],
            )
            .await
            .map_err(backend)?;
        Ok(changed > 0)
    }

    async fn swap_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM deal_watermarks WHERE workspace = $1 AND consumer = 'swaps'",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map_or(Ok(0), |row| get(&row, 0))
    }

    async fn advance_swap_watermark(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
    ) -> Result<bool> {
        let client = self.client().await;
        let changed = if from == 0 {
            client
                .execute(
                    "INSERT INTO deal_watermarks (workspace, consumer, seq) VALUES ($1, 'swaps', $2) ON CONFLICT (workspace, consumer) DO UPDATE SET seq = excluded.seq WHERE deal_watermarks.seq = 0",
                    &[&workspace.0, &to],
                )
                .await
        } else {
            client
                .execute(
                    "UPDATE deal_watermarks SET seq = $3 WHERE workspace = $1 AND consumer = 'swaps' AND seq = $2",
                    &[&workspace.0, &from, &to],
                )
                .await
        }
        .map_err(backend)?;
        Ok(changed > 0)
    }
}

//! Lotteries on PostgreSQL: the same rows as SQLite; a purchase locks its lottery row so it
//! cannot slip in after a concurrent draw, and the draw is an `UPDATE … WHERE drawn IS NULL`.

use async_trait::async_trait;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{Drawn, Lottery, LotteryStore, NewLottery, Purchase, Result, StoreError};
use tokio_postgres::Row;

use crate::codec::{from_json, json, micros, parsed, time};
use crate::{backend, get, PostgresStore};

const COLUMNS: &str = "id, key, name, platform, chat, campaign, rules, prizes, pool, seed, commitment, opens_at, closes_at, baseline, drawn";

fn from_row(row: &Row) -> Result<Lottery> {
    let drawn: Option<String> = get(row, 14)?;
    Ok(Lottery {
        id: get(row, 0)?,
        body: NewLottery {
            key: get(row, 1)?,
            name: get(row, 2)?,
            platform: parsed(Platform::parse(&get::<String>(row, 3)?))?,
            chat: get(row, 4)?,
            campaign: get(row, 5)?,
            rules: from_json(&get::<String>(row, 6)?)?,
            prizes: from_json(&get::<String>(row, 7)?)?,
            pool: get(row, 8)?,
            seed: get(row, 9)?,
            commitment: get(row, 10)?,
            opens_at: time(get(row, 11)?),
            closes_at: time(get(row, 12)?),
            baseline: from_json(&get::<String>(row, 13)?)?,
        },
        drawn: drawn.as_deref().map(from_json).transpose()?,
    })
}

fn not_found(id: impl ToString) -> StoreError {
    StoreError::NotFound {
        object: "lottery",
        id: id.to_string(),
    }
}

#[async_trait]
impl LotteryStore for PostgresStore {
    async fn create_lottery(&self, workspace: WorkspaceId, lottery: NewLottery) -> Result<Lottery> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO lotteries (workspace, key, name, platform, chat, campaign, rules, prizes, pool, seed, commitment, opens_at, closes_at, baseline)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
                &[
                    &workspace.0,
                    &lottery.key,
                    &lottery.name,
                    &lottery.platform.as_str(),
                    &lottery.chat,
                    &lottery.campaign,
                    &json(&lottery.rules)?,
                    &json(&lottery.prizes)?,
                    &lottery.pool,
                    &lottery.seed,
                    &lottery.commitment,
                    &micros(lottery.opens_at),
                    &micros(lottery.closes_at),
                    &json(&lottery.baseline)?,
                ],
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM lotteries WHERE workspace = $1 AND key = $2"),
                &[&workspace.0, &lottery.key],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| not_found(&lottery.key))?;
        from_row(&row)
    }

    async fn lottery(&self, workspace: WorkspaceId, id: i64) -> Result<Lottery> {
        let client = self.client().await;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM lotteries WHERE workspace = $1 AND id = $2"),
                &[&workspace.0, &id],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| not_found(id))?;
        from_row(&row)
    }

    async fn lotteries(&self, workspace: WorkspaceId, limit: usize) -> Result<Vec<Lottery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM lotteries WHERE workspace = $1 ORDER BY id DESC LIMIT $2"
                ),
                &[&workspace.0, &limit],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(from_row).collect()
    }

    async fn record_purchase(&self, workspace: WorkspaceId, purchase: Purchase) -> Result<()> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let drawn: Option<String> = tx
            .query_opt(
                "SELECT drawn FROM lotteries WHERE workspace = $1 AND id = $2 FOR UPDATE",
                &[&workspace.0, &purchase.lottery],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| not_found(purchase.lottery))
            .and_then(|row| get(&row, 0))?;
        let known = tx
            .query_opt(
                "SELECT 1 FROM lottery_purchases WHERE workspace = $1 AND key = $2",
                &[&workspace.0, &purchase.key],
            )
            .await
            .map_err(backend)?
            .is_some();
        if known {
            return Ok(());
        }
        if drawn.is_some() {
            return Err(StoreError::Invalid {
                field: "lottery",
                message: format!("lottery {} is already drawn", purchase.lottery),
            });
        }
        tx.execute(
            "INSERT INTO lottery_purchases (workspace, lottery, key, member, points, at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &workspace.0,
                &purchase.lottery,
                &purchase.key,
                &purchase.member,
                &purchase.points,
                &micros(purchase.at),
            ],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn points_spent(
        &self,
        workspace: WorkspaceId,
        lottery: i64,
    ) -> Result<Vec<(String, i64)>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT member, sum(points)::BIGINT FROM lottery_purchases WHERE workspace = $1 AND lottery = $2 GROUP BY member ORDER BY member",
                &[&workspace.0, &lottery],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
            .collect()
    }

    async fn record_draw(
        &self,
        workspace: WorkspaceId,
        lottery: i64,
        drawn: Drawn,
    ) -> Result<(Lottery, bool)> {
        let client = self.client().await;
        let changed = client
            .execute(
                "UPDATE lotteries SET drawn = $3 WHERE workspace = $1 AND id = $2 AND drawn IS NULL",
                &[&workspace.0, &lottery, &json(&drawn)?],
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM lotteries WHERE workspace = $1 AND id = $2"),
                &[&workspace.0, &lottery],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| not_found(lottery))?;
        Ok((from_row(&row)?, changed == 1))
    }
}

//! Lotteries on SQLite: one row per lottery (rules, prizes, baseline and draw as JSON), one per
//! purchase; the draw is an `UPDATE … WHERE drawn IS NULL`, so only the first is recorded.

use async_trait::async_trait;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{Drawn, Lottery, LotteryStore, NewLottery, Purchase, Result, StoreError};
use rusqlite::{params, Connection, Row};

use crate::codec::{from_json, json, micros, parsed, time};
use crate::{backend, SqliteStore};

const COLUMNS: &str = "id, key, name, platform, chat, campaign, rules, prizes, pool, seed, commitment, opens_at, closes_at, baseline, drawn";

fn from_row(row: &Row<'_>) -> Result<Lottery> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    let drawn: Option<String> = row.get(14).map_err(backend)?;
    Ok(Lottery {
        id: row.get(0).map_err(backend)?,
        body: NewLottery {
            key: text(1)?,
            name: text(2)?,
            platform: parsed(Platform::parse(&text(3)?))?,
            chat: text(4)?,
            campaign: row.get(5).map_err(backend)?,
            rules: from_json(&text(6)?)?,
            prizes: from_json(&text(7)?)?,
            pool: row.get(8).map_err(backend)?,
            seed: text(9)?,
            commitment: text(10)?,
            opens_at: time(row.get(11).map_err(backend)?),
            closes_at: time(row.get(12).map_err(backend)?),
            baseline: from_json(&text(13)?)?,
        },
        drawn: drawn.as_deref().map(from_json).transpose()?,
    })
}

fn select(conn: &Connection, filter: &str, params: impl rusqlite::Params) -> Result<Vec<Lottery>> {
    let mut statement = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM lotteries WHERE {filter}"))
        .map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

fn by_id(conn: &Connection, workspace: WorkspaceId, id: i64) -> Result<Lottery> {
    select(conn, "workspace = ?1 AND id = ?2", params![workspace.0, id])?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::NotFound {
            object: "lottery",
            id: id.to_string(),
        })
}

#[async_trait]
impl LotteryStore for SqliteStore {
    async fn create_lottery(&self, workspace: WorkspaceId, lottery: NewLottery) -> Result<Lottery> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            tx.execute(
                "INSERT OR IGNORE INTO lotteries (workspace, key, name, platform, chat, campaign, rules, prizes, pool, seed, commitment, opens_at, closes_at, baseline)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    workspace.0,
                    lottery.key,
                    lottery.name,
                    lottery.platform.as_str(),
                    lottery.chat,
                    lottery.campaign,
                    json(&lottery.rules)?,
                    json(&lottery.prizes)?,
                    lottery.pool,
                    lottery.seed,
                    lottery.commitment,
                    micros(lottery.opens_at),
                    micros(lottery.closes_at),
                    json(&lottery.baseline)?,
                ],
            )
            .map_err(backend)?;
            let stored = select(&tx, "workspace = ?1 AND key = ?2", params![workspace.0, lottery.key])?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::NotFound { object: "lottery", id: lottery.key.clone() })?;
            tx.commit().map_err(backend)?;
            Ok(stored)
        })
    }

    async fn lottery(&self, workspace: WorkspaceId, id: i64) -> Result<Lottery> {
        self.read(|conn| by_id(conn, workspace, id))
    }

    async fn lotteries(&self, workspace: WorkspaceId, limit: usize) -> Result<Vec<Lottery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            select(
                conn,
                "workspace = ?1 ORDER BY id DESC LIMIT ?2",
                params![workspace.0, limit],
            )
        })
    }

    async fn record_purchase(&self, workspace: WorkspaceId, purchase: Purchase) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let lottery = by_id(&tx, workspace, purchase.lottery)?;
            let known: bool = tx
                .query_row(
                    "SELECT count(*) > 0 FROM lottery_purchases WHERE workspace = ?1 AND key = ?2",
                    params![workspace.0, purchase.key],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            if known {
                return Ok(());
            }
            if lottery.drawn.is_some() {
                return Err(StoreError::Invalid {
                    field: "lottery",
                    message: format!("lottery {} is already drawn", lottery.id),
                });
            }
            tx.execute(
                "INSERT INTO lottery_purchases (workspace, lottery, key, member, points, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    workspace.0,
                    purchase.lottery,
                    purchase.key,
                    purchase.member,
                    purchase.points,
                    micros(purchase.at)
                ],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(())
        })
    }

    async fn points_spent(
        &self,
        workspace: WorkspaceId,
        lottery: i64,
    ) -> Result<Vec<(String, i64)>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT member, sum(points) FROM lottery_purchases WHERE workspace = ?1 AND lottery = ?2 GROUP BY member ORDER BY member",
                )
                .map_err(backend)?;
            let rows = statement
                .query_map(params![workspace.0, lottery], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
    }

    async fn record_draw(
        &self,
        workspace: WorkspaceId,
        lottery: i64,
        drawn: Drawn,
    ) -> Result<(Lottery, bool)> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let changed = tx
                .execute(
                    "UPDATE lotteries SET drawn = ?3 WHERE workspace = ?1 AND id = ?2 AND drawn IS NULL",
                    params![workspace.0, lottery, json(&drawn)?],
                )
                .map_err(backend)?;
            let stored = by_id(&tx, workspace, lottery)?;
            tx.commit().map_err(backend)?;
            Ok((stored, changed == 1))
        })
    }
}

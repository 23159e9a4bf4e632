//! Time-limited offers on SQLite. Writes go through the one writing connection in an IMMEDIATE
//! transaction, so a claim's insert and conditional decrement hold the write lock together even
//! when another process shares the file.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::WorkspaceId;
use qunzhu_storage::{
    ClaimState, Claimed, NewOffer, OfferClaim, OfferStore, Result, StoreError, StoredOffer,
};
use rusqlite::{params, OptionalExtension, Row, Transaction, TransactionBehavior};

use crate::codec::{from_json, json, micros, time};
use crate::{backend, SqliteStore};

const COLUMNS: &str = "id, key, spec, source, origin, created_at, remaining";
const CLAIM_COLUMNS: &str = "offer, member, rank, state, at, via";

fn from_row(row: &Row<'_>) -> Result<StoredOffer> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    let remaining: i64 = row.get(6).map_err(backend)?;
    Ok(StoredOffer {
        id: row.get(0).map_err(backend)?,
        offer: NewOffer {
            key: text(1)?,
            spec: from_json(&text(2)?)?,
            source: text(3)?,
            origin: qunzhu_domain::ActionOrigin::parse(&text(4)?),
            created_at: time(row.get(5).map_err(backend)?),
        },
        remaining: u32::try_from(remaining).unwrap_or(0),
    })
}

fn claim_from_row(row: &Row<'_>) -> Result<OfferClaim> {
    let rank: i64 = row.get(2).map_err(backend)?;
    Ok(OfferClaim {
        offer: row.get(0).map_err(backend)?,
        member: row.get(1).map_err(backend)?,
        rank: u32::try_from(rank).unwrap_or(0),
        state: ClaimState::parse(&row.get::<_, String>(3).map_err(backend)?),
        at: time(row.get(4).map_err(backend)?),
        via: row.get(5).map_err(backend)?,
    })
}

fn one_offer(conn: &rusqlite::Connection, workspace: WorkspaceId, id: i64) -> Result<StoredOffer> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM offers WHERE workspace = ?1 AND id = ?2"),
        params![workspace.0, id],
        |row| Ok(from_row(row)),
    )
    .optional()
    .map_err(backend)?
    .ok_or_else(|| StoreError::NotFound {
        object: "offer",
        id: id.to_string(),
    })?
}

fn held(
    tx: &Transaction<'_>,
    workspace: WorkspaceId,
    offer: i64,
    member: &str,
) -> Result<Option<OfferClaim>> {
    tx.query_row(
        &format!("SELECT {CLAIM_COLUMNS} FROM offer_claims WHERE workspace = ?1 AND offer = ?2 AND member = ?3"),
        params![workspace.0, offer, member],
        |row| Ok(claim_from_row(row)),
    )
    .optional()
    .map_err(backend)?
    .transpose()
}

#[async_trait]
impl OfferStore for SqliteStore {
    async fn create_offer(&self, workspace: WorkspaceId, offer: NewOffer) -> Result<StoredOffer> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            tx.execute(
                "INSERT OR IGNORE INTO offers (workspace, key, platform, chat, spec, source, starts_at, ends_at, stock, remaining, origin, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)",
                params![
                    workspace.0,
                    offer.key,
                    offer.spec.platform.as_str(),
                    offer.spec.chat,
                    json(&offer.spec)?,
                    offer.source,
                    micros(offer.spec.starts_at),
                    micros(offer.spec.ends_at),
                    i64::from(offer.spec.stock),
                    offer.origin.to_string(),
                    micros(offer.created_at),
                ],
            )
            .map_err(backend)?;
            let stored = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM offers WHERE workspace = ?1 AND key = ?2"),
                    params![workspace.0, offer.key],
                    |row| Ok(from_row(row)),
                )
                .map_err(backend)??;
            tx.commit().map_err(backend)?;
            Ok(stored)
        })
    }

    async fn offer(&self, workspace: WorkspaceId, id: i64) -> Result<StoredOffer> {
        self.read(|conn| one_offer(conn, workspace, id))
    }

    async fn offers(&self, workspace: WorkspaceId, limit: usize) -> Result<Vec<StoredOffer>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM offers WHERE workspace = ?1 ORDER BY id DESC LIMIT ?2"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![
                    workspace.0,
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn open_offers(
        &self,
        workspace: WorkspaceId,
        at: DateTime<Utc>,
    ) -> Result<Vec<StoredOffer>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM offers WHERE workspace = ?1 AND ends_at > ?2 AND starts_at <= ?2 ORDER BY id"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, micros(at)])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn claim_offer(
        &self,
        workspace: WorkspaceId,
        offer: i64,
        member: &str,
        via: &str,
        at: DateTime<Utc>,
    ) -> Result<Claimed> {
        self.run(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let (stock, remaining): (i64, i64) = tx
                .query_row(
                    "SELECT stock, remaining FROM offers WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, offer],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound {
                    object: "offer",
                    id: offer.to_string(),
                })?;
            if let Some(claim) = held(&tx, workspace, offer, member)? {
                return Ok(Claimed::Held {
                    claim,
                    remaining: u32::try_from(remaining).unwrap_or(0),
                });
            }
            let taken = tx
                .execute(
                    "UPDATE offers SET remaining = remaining - 1 WHERE workspace = ?1 AND id = ?2 AND remaining > 0",
                    params![workspace.0, offer],
                )
                .map_err(backend)?;
            if taken == 0 {
                return Ok(Claimed::SoldOut);
            }
            let left = remaining - 1;
            let claim = OfferClaim {
                offer,
                member: member.to_string(),
                rank: u32::try_from(stock - left).unwrap_or(0),
                state: ClaimState::Reserved,
                at,
                via: via.to_string(),
            };
            tx.execute(
                "INSERT INTO offer_claims (workspace, offer, member, rank, state, at, via) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    workspace.0,
                    offer,
                    member,
                    i64::from(claim.rank),
                    claim.state.as_str(),
                    micros(at),
                    via
                ],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(Claimed::Taken {
                claim,
                remaining: u32::try_from(left).unwrap_or(0),
            })
        })
    }

    async fn mark_claim_paid(
        &self,
        workspace: WorkspaceId,
        offer: i64,
        member: &str,
    ) -> Result<bool> {
        self.run(|conn| {
            let changed = conn
                .execute(
                    "UPDATE offer_claims SET state = 'paid' WHERE workspace = ?1 AND offer = ?2 AND member = ?3 AND state = 'reserved'",
                    params![workspace.0, offer, member],
                )
                .map_err(backend)?;
            Ok(changed > 0)
        })
    }

    async fn release_claim(
        &self,
        workspace: WorkspaceId,
        offer: i64,
        member: &str,
    ) -> Result<bool> {
        self.run(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let gone = tx
                .execute(
                    "DELETE FROM offer_claims WHERE workspace = ?1 AND offer = ?2 AND member = ?3 AND state = 'reserved'",
                    params![workspace.0, offer, member],
                )
                .map_err(backend)?;
            if gone > 0 {
                tx.execute(
                    "UPDATE offers SET remaining = remaining + 1 WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, offer],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(gone > 0)
        })
    }

    async fn offer_claims(&self, workspace: WorkspaceId, offer: i64) -> Result<Vec<OfferClaim>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {CLAIM_COLUMNS} FROM offer_claims WHERE workspace = ?1 AND offer = ?2 ORDER BY at, rank"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, offer])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(claim_from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn offer_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM deal_watermarks WHERE workspace = ?1 AND consumer = 'offers'",
                params![workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn advance_offer_watermark(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
    ) -> Result<bool> {
        self.run(|conn| {
            // The first round inserts from 0; every later one moves only the value it read.
            let changed = if from == 0 {
                conn.execute(
                    "INSERT INTO deal_watermarks (workspace, consumer, seq) VALUES (?1, 'offers', ?2) ON CONFLICT (workspace, consumer) DO UPDATE SET seq = excluded.seq WHERE deal_watermarks.seq = 0",
                    params![workspace.0, to],
                )
            } else {
                conn.execute(
                    "UPDATE deal_watermarks SET seq = ?3 WHERE workspace = ?1 AND consumer = 'offers' AND seq = ?2",
                    params![workspace.0, from, to],
                )
            }
            .map_err(backend)?;
            Ok(changed > 0)
        })
    }
}

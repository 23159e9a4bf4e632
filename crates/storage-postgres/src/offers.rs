//! Time-limited offers on PostgreSQL. A claim locks its offer's row (`FOR UPDATE`), so claims on
//! one offer queue behind each other whichever instance or connection sends them; inside that
//! lock the decrement is still conditional (`remaining > 0`) and the claim row is inserted in the
//! same transaction, so a sale can never go below zero or give one member two items.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::WorkspaceId;
use qunzhu_storage::{
    ClaimState, Claimed, NewOffer, OfferClaim, OfferStore, Result, StoreError, StoredOffer,
};
use tokio_postgres::Row;

use crate::codec::{from_json, json, micros, time};
use crate::{backend, get, PostgresStore};

const COLUMNS: &str = "id, key, spec, source, origin, created_at, remaining";
const CLAIM_COLUMNS: &str = "offer, member, rank, state, at, via";

fn from_row(row: &Row) -> Result<StoredOffer> {
    Ok(StoredOffer {
        id: get(row, 0)?,
        offer: NewOffer {
            key: get(row, 1)?,
            spec: from_json(&get::<String>(row, 2)?)?,
            source: get(row, 3)?,
            origin: qunzhu_domain::ActionOrigin::parse(&get::<String>(row, 4)?),
            created_at: time(get(row, 5)?),
        },
        remaining: u32::try_from(get::<i64>(row, 6)?).unwrap_or(0),
    })
}

fn claim_from_row(row: &Row) -> Result<OfferClaim> {
    Ok(OfferClaim {
        offer: get(row, 0)?,
        member: get(row, 1)?,
        rank: u32::try_from(get::<i64>(row, 2)?).unwrap_or(0),
        state: ClaimState::parse(&get::<String>(row, 3)?),
        at: time(get(row, 4)?),
        via: get(row, 5)?,
    })
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        object: "offer",
        id: id.to_string(),
    }
}

#[async_trait]
impl OfferStore for PostgresStore {
    async fn create_offer(&self, workspace: WorkspaceId, offer: NewOffer) -> Result<StoredOffer> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO offers (workspace, key, platform, chat, spec, source, starts_at, ends_at, stock, remaining, origin, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) ON CONFLICT DO NOTHING",
                &[
                    &workspace.0,
                    &offer.key,
                    &offer.spec.platform.as_str(),
                    &offer.spec.chat,
                    &json(&offer.spec)?,
                    &offer.source,
                    &micros(offer.spec.starts_at),
                    &micros(offer.spec.ends_at),
                    &i64::from(offer.spec.stock),
                    &offer.origin.to_string(),
                    &micros(offer.created_at),
                ],
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM offers WHERE workspace = $1 AND key = $2"),
                &[&workspace.0, &offer.key],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                object: "offer",
                id: offer.key.clone(),
            })?;
        from_row(&row)
    }

    async fn offer(&self, workspace: WorkspaceId, id: i64) -> Result<StoredOffer> {
        let client = self.client().await;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM offers WHERE workspace = $1 AND id = $2"),
                &[&workspace.0, &id],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| not_found(id))?;
        from_row(&row)
    }

    async fn offers(&self, workspace: WorkspaceId, limit: usize) -> Result<Vec<StoredOffer>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM offers WHERE workspace = $1 ORDER BY id DESC LIMIT $2"
                ),
                &[&workspace.0, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(from_row).collect()
    }

    async fn open_offers(
        &self,
        workspace: WorkspaceId,
        at: DateTime<Utc>,
    ) -> Result<Vec<StoredOffer>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM offers WHERE workspace = $1 AND ends_at > $2 AND starts_at <= $2 ORDER BY id"
                ),
                &[&workspace.0, &micros(at)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(from_row).collect()
    }

    async fn claim_offer(
        &self,
        workspace: WorkspaceId,
        offer: i64,
        member: &str,
        via: &str,
        at: DateTime<Utc>,
    ) -> Result<Claimed> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let row = tx
            .query_opt(
                "SELECT stock, remaining FROM offers WHERE workspace = $1 AND id = $2 FOR UPDATE",
                &[&workspace.0, &offer],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| not_found(offer))?;
        let stock: i64 = get(&row, 0)?;
        let remaining: i64 = get(&row, 1)?;
        // Read after the lock: a claim another connection committed while this one waited is seen.
        let earlier = tx
            .query_opt(
                &format!("SELECT {CLAIM_COLUMNS} FROM offer_claims WHERE workspace = $1 AND offer = $2 AND member = $3"),
                &[&workspace.0, &offer, &member],
            )
            .await
            .map_err(backend)?;
        if let Some(row) = earlier {
            let claim = claim_from_row(&row)?;
            tx.commit().await.map_err(backend)?;
            return Ok(Claimed::Held {
                claim,
                remaining: u32::try_from(remaining).unwrap_or(0),
            });
        }
        let taken = tx
            .query_opt(
                "UPDATE offers SET remaining = remaining - 1 WHERE workspace = $1 AND id = $2 AND remaining > 0 RETURNING remaining",
                &[&workspace.0, &offer],
            )
            .await
            .map_err(backend)?;
        let Some(taken) = taken else {
            tx.commit().await.map_err(backend)?;
            return Ok(Claimed::SoldOut);
        };
        let left: i64 = get(&taken, 0)?;
        let claim = OfferClaim {
            offer,
            member: member.to_string(),
            rank: u32::try_from(stock - left).unwrap_or(0),
            state: ClaimState::Reserved,
            at,
            via: via.to_string(),
        };
        tx.execute(
            "INSERT INTO offer_claims (workspace, offer, member, rank, state, at, via) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &workspace.0,
                &offer,
                &member,
                &i64::from(claim.rank),
                &claim.state.as_str(),
                &micros(at),
                &via,
            ],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Claimed::Taken {
            claim,
            remaining: u32::try_from(left).unwrap_or(0),
        })
    }

    async fn mark_claim_paid(
        &self,
        workspace: WorkspaceId,
        offer: i64,
        member: &str,
    ) -> Result<bool> {
        let client = self.client().await;
        let changed = client
            .execute(
                "UPDATE offer_claims SET state = 'paid' WHERE workspace = $1 AND offer = $2 AND member = $3 AND state = 'reserved'",
                &[&workspace.0, &offer, &member],
            )
            .await
            .map_err(backend)?;
        Ok(changed > 0)
    }

    async fn release_claim(
        &self,
        workspace: WorkspaceId,
        offer: i64,
        member: &str,
    ) -> Result<bool> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "SELECT 1 FROM offers WHERE workspace = $1 AND id = $2 FOR UPDATE",
            &[&workspace.0, &offer],
        )
        .await
        .map_err(backend)?;
        let gone = tx
            .execute(
                "DELETE FROM offer_claims WHERE workspace = $1 AND offer = $2 AND member = $3 AND state = 'reserved'",
                &[&workspace.0, &offer, &member],
            )
            .await
            .map_err(backend)?;
        if gone > 0 {
            tx.execute(
                "UPDATE offers SET remaining = remaining + 1 WHERE workspace = $1 AND id = $2",
                &[&workspace.0, &offer],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(gone > 0)
    }

    async fn offer_claims(&self, workspace: WorkspaceId, offer: i64) -> Result<Vec<OfferClaim>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {CLAIM_COLUMNS} FROM offer_claims WHERE workspace = $1 AND offer = $2 ORDER BY at, rank"),
                &[&workspace.0, &offer],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(claim_from_row).collect()
    }

    async fn offer_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM deal_watermarks WHERE workspace = $1 AND consumer = 'offers'",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map_or(Ok(0), |row| get(&row, 0))
    }

    async fn advance_offer_watermark(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
    ) -> Result<bool> {
        let client = self.client().await;
        // The first round inserts from 0; every later one moves only the value it read.
        let changed = if from == 0 {
            client
                .execute(
                    "INSERT INTO deal_watermarks (workspace, consumer, seq) VALUES ($1, 'offers', $2) ON CONFLICT (workspace, consumer) DO UPDATE SET seq = excluded.seq WHERE deal_watermarks.seq = 0",
                    &[&workspace.0, &to],
                )
                .await
        } else {
            client
                .execute(
                    "UPDATE deal_watermarks SET seq = $3 WHERE workspace = $1 AND consumer = 'offers' AND seq = $2",
                    &[&workspace.0, &from, &to],
                )
                .await
        }
        .map_err(backend)?;
        Ok(changed > 0)
    }
}

//! Coupon revocations on PostgreSQL: the coupon row is locked (`FOR UPDATE`) as a redemption
//! locks it, so of a revocation and a redemption at the same moment one wins and the other sees it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Coupon, WorkspaceId};
use qunzhu_storage::coupon_revocations::decide_revocation;
use qunzhu_storage::{CouponRevocationStore, Result, Revocation, StoreError};

use crate::codec::micros;
use crate::coupons::{coupon_from_row, COUPON_COLUMNS};
use crate::{backend, PostgresStore};

fn not_found(key: &str) -> StoreError {
    StoreError::NotFound {
        object: "coupon",
        id: key.to_string(),
    }
}

#[async_trait]
impl CouponRevocationStore for PostgresStore {
    async fn coupon_by_key(&self, workspace: WorkspaceId, key: &str) -> Result<Coupon> {
        let client = self.client().await;
        client
            .query_opt(
                &format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE workspace = $1 AND key = $2"),
                &[&workspace.0, &key],
            )
            .await
            .map_err(backend)?
            .map(|row| coupon_from_row(&row))
            .transpose()?
            .ok_or_else(|| not_found(key))
    }

    async fn revoke_coupon(
        &self,
        workspace: WorkspaceId,
        key: &str,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<Revocation> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let coupon = tx
            .query_opt(
                &format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE workspace = $1 AND key = $2 FOR UPDATE"),
                &[&workspace.0, &key],
            )
            .await
            .map_err(backend)?
            .map(|row| coupon_from_row(&row))
            .transpose()?
            .ok_or_else(|| not_found(key))?;
        let (outcome, write) = decide_revocation(coupon, at, reason);
        if let (true, Revocation::Revoked { coupon }) = (write, &outcome) {
            tx.execute(
                "UPDATE coupons SET revoked_at = $2, revoked_reason = $3 WHERE id = $1",
                &[&coupon.id, &micros(at), &reason],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }
}

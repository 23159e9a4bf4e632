//! Coupon revocations on SQLite: read, decided and written in one transaction on the writer
//! connection, which SQLite serializes with every redemption.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Coupon, WorkspaceId};
use qunzhu_storage::coupon_revocations::decide_revocation;
use qunzhu_storage::{CouponRevocationStore, Result, Revocation, StoreError};
use rusqlite::{params, Connection};

use crate::codec::micros;
use crate::coupons::select;
use crate::{backend, SqliteStore};

fn by_key(conn: &Connection, workspace: WorkspaceId, key: &str) -> Result<Coupon> {
    select(
        conn,
        "workspace = ?1 AND key = ?2",
        params![workspace.0, key],
    )?
    .into_iter()
    .next()
    .ok_or_else(|| StoreError::NotFound {
        object: "coupon",
        id: key.to_string(),
    })
}

#[async_trait]
impl CouponRevocationStore for SqliteStore {
    async fn coupon_by_key(&self, workspace: WorkspaceId, key: &str) -> Result<Coupon> {
        self.read(|conn| by_key(conn, workspace, key))
    }

    async fn revoke_coupon(
        &self,
        workspace: WorkspaceId,
        key: &str,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<Revocation> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let coupon = by_key(&tx, workspace, key)?;
            let (outcome, write) = decide_revocation(coupon, at, reason);
            if let (true, Revocation::Revoked { coupon }) = (write, &outcome) {
                tx.execute(
                    "UPDATE coupons SET revoked_at = ?2, revoked_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL AND redeemed_at IS NULL",
                    params![coupon.id, micros(at), reason],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(outcome)
        })
    }
}

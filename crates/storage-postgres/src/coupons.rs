//! Coupons on PostgreSQL: a redemption locks its coupon row, so two at once cannot both win.

use qunzhu_domain::{Coupon, NewCoupon, Platform, WorkspaceId};
use qunzhu_storage::coupons::decide_redemption;
use qunzhu_storage::{CouponRedemption, RedeemCoupon, Result, StoreError};
use tokio_postgres::Row;

use crate::codec::{from_json, json, micros, opt_time, parsed, time};
use crate::{backend, get, PostgresStore};

pub(crate) const COUPON_COLUMNS: &str =
    "id, key, code, platform, member, offer, issued_at, expires_at, memo, redeemed_at, redeemed_request, revoked_at, revoked_reason";

pub(crate) fn coupon_from_row(row: &Row) -> Result<Coupon> {
    Ok(Coupon {
        id: get(row, 0)?,
        issued: NewCoupon {
            key: get(row, 1)?,
            code: get(row, 2)?,
            platform: parsed(Platform::parse(&get::<String>(row, 3)?))?,
            user: get(row, 4)?,
            offer: from_json(&get::<String>(row, 5)?)?,
            issued_at: time(get(row, 6)?),
            expires_at: opt_time(get(row, 7)?),
            memo: get(row, 8)?,
        },
        redeemed_at: opt_time(get(row, 9)?),
        redeemed_request: get(row, 10)?,
        revoked_at: opt_time(get(row, 11)?),
        revoked_reason: get(row, 12)?,
    })
}

impl PostgresStore {
    pub(crate) async fn write_coupons(
        &self,
        workspace: WorkspaceId,
        coupons: Vec<NewCoupon>,
    ) -> Result<Vec<Coupon>> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let mut out = Vec::with_capacity(coupons.len());
        for coupon in &coupons {
            tx.execute(
                "INSERT INTO coupons (workspace, key, code, platform, member, offer, issued_at, expires_at, memo)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                &[
                    &workspace.0,
                    &coupon.key,
                    &coupon.code,
                    &coupon.platform.as_str(),
                    &coupon.user,
                    &json(&coupon.offer)?,
                    &micros(coupon.issued_at),
                    &coupon.expires_at.map(micros),
                    &coupon.memo,
                ],
            )
            .await
            .map_err(backend)?;
            let row = tx
                .query_opt(
                    &format!(
                        "SELECT {COUPON_COLUMNS} FROM coupons WHERE workspace = $1 AND key = $2"
                    ),
                    &[&workspace.0, &coupon.key],
                )
                .await
                .map_err(backend)?
                .ok_or_else(|| StoreError::Conflict {
                    object: "coupon code",
                    id: coupon.code.clone(),
                })?;
            out.push(coupon_from_row(&row)?);
        }
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    pub(crate) async fn read_coupon(&self, workspace: WorkspaceId, code: &str) -> Result<Coupon> {
        let client = self.client().await;
        client
            .query_opt(
                &format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE workspace = $1 AND code = $2"),
                &[&workspace.0, &code],
            )
            .await
            .map_err(backend)?
            .map(|row| coupon_from_row(&row))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound {
                object: "coupon",
                id: code.to_string(),
            })
    }

    pub(crate) async fn read_member_coupons(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &str,
    ) -> Result<Vec<Coupon>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {COUPON_COLUMNS} FROM coupons WHERE workspace = $1 AND platform = $2 AND member = $3 ORDER BY id DESC"
                ),
                &[&workspace.0, &platform.as_str(), &user],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(coupon_from_row).collect()
    }

    pub(crate) async fn write_redeem_coupon(
        &self,
        workspace: WorkspaceId,
        redeem: RedeemCoupon,
    ) -> Result<CouponRedemption> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let coupon = tx
            .query_opt(
                &format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE workspace = $1 AND code = $2 FOR UPDATE"),
                &[&workspace.0, &redeem.code],
            )
            .await
            .map_err(backend)?
            .map(|row| coupon_from_row(&row))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound { object: "coupon", id: redeem.code.clone() })?;
        let (outcome, write) = decide_redemption(coupon, &redeem);
        if let (true, CouponRedemption::Redeemed { coupon }) = (write, &outcome) {
            tx.execute(
                "UPDATE coupons SET redeemed_at = $2, redeemed_request = $3 WHERE id = $1",
                &[
                    &coupon.id,
                    &coupon.redeemed_at.map(micros),
                    &coupon.redeemed_request,
                ],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }
}

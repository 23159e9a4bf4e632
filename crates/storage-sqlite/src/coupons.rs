//! Coupons on SQLite.

use qunzhu_domain::{Coupon, NewCoupon, Platform, WorkspaceId};
use qunzhu_storage::coupons::decide_redemption;
use qunzhu_storage::{CouponRedemption, RedeemCoupon, Result, StoreError};
use rusqlite::{params, Connection, Row};

use crate::codec::{from_json, json, micros, opt_time, parsed, time};
use crate::{backend, SqliteStore};

pub(crate) const COUPON_COLUMNS: &str =
    "id, key, code, platform, member, offer, issued_at, expires_at, memo, redeemed_at, redeemed_request, revoked_at, revoked_reason";

pub(crate) fn coupon_from_row(row: &Row<'_>) -> Result<Coupon> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(Coupon {
        id: row.get(0).map_err(backend)?,
        issued: NewCoupon {
            key: text(1)?,
            code: text(2)?,
            platform: parsed(Platform::parse(&text(3)?))?,
            user: text(4)?,
            offer: from_json(&text(5)?)?,
            issued_at: time(row.get(6).map_err(backend)?),
            expires_at: opt_time(row.get(7).map_err(backend)?),
            memo: text(8)?,
        },
        redeemed_at: opt_time(row.get(9).map_err(backend)?),
        redeemed_request: row.get(10).map_err(backend)?,
        revoked_at: opt_time(row.get(11).map_err(backend)?),
        revoked_reason: row.get(12).map_err(backend)?,
    })
}

pub(crate) fn select(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Coupon>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {COUPON_COLUMNS} FROM coupons WHERE {filter}"
        ))
        .map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(coupon_from_row(row)?);
    }
    Ok(out)
}

fn by_code(conn: &Connection, workspace: WorkspaceId, code: &str) -> Result<Coupon> {
    select(
        conn,
        "workspace = ?1 AND code = ?2",
        params![workspace.0, code],
    )?
    .into_iter()
    .next()
    .ok_or_else(|| StoreError::NotFound {
        object: "coupon",
        id: code.to_string(),
    })
}

impl SqliteStore {
    pub(crate) fn write_coupons(
        &self,
        workspace: WorkspaceId,
        coupons: Vec<NewCoupon>,
    ) -> Result<Vec<Coupon>> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let mut out = Vec::with_capacity(coupons.len());
            for coupon in &coupons {
                let offer = json(&coupon.offer)?;
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO coupons (workspace, key, code, platform, member, offer, issued_at, expires_at, memo)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        workspace.0,
                        coupon.key,
                        coupon.code,
                        coupon.platform.as_str(),
                        coupon.user,
                        offer,
                        micros(coupon.issued_at),
                        coupon.expires_at.map(micros),
                        coupon.memo
                    ])
                })
                .map_err(backend)?;
                let stored = select(&tx, "workspace = ?1 AND key = ?2", params![workspace.0, coupon.key])?
                    .into_iter()
                    .next()
                    .ok_or_else(|| StoreError::Conflict { object: "coupon code", id: coupon.code.clone() })?;
                out.push(stored);
            }
            tx.commit().map_err(backend)?;
            Ok(out)
        })
    }

    pub(crate) fn read_coupon(&self, workspace: WorkspaceId, code: &str) -> Result<Coupon> {
        self.read(|conn| by_code(conn, workspace, code))
    }

    pub(crate) fn read_member_coupons(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &str,
    ) -> Result<Vec<Coupon>> {
        self.read(|conn| {
            select(
                conn,
                "workspace = ?1 AND platform = ?2 AND member = ?3 ORDER BY id DESC",
                params![workspace.0, platform.as_str(), user],
            )
        })
    }

    pub(crate) fn write_redeem_coupon(
        &self,
        workspace: WorkspaceId,
        redeem: RedeemCoupon,
    ) -> Result<CouponRedemption> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let coupon = by_code(&tx, workspace, &redeem.code)?;
            let (outcome, write) = decide_redemption(coupon, &redeem);
            if let (true, CouponRedemption::Redeemed { coupon }) = (write, &outcome) {
                tx.execute(
                    "UPDATE coupons SET redeemed_at = ?2, redeemed_request = ?3 WHERE id = ?1 AND redeemed_at IS NULL AND revoked_at IS NULL",
                    params![coupon.id, coupon.redeemed_at.map(micros), coupon.redeemed_request],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(outcome)
        })
    }
}

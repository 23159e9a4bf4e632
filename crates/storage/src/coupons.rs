//! Coupons in storage: issued once per key, listed per member, redeemed once by their member.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Coupon, CouponError, NewCoupon, Platform, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// What became of a redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CouponRedemption {
    Redeemed {
        coupon: Coupon,
    },
    /// The same request redeemed it before; nothing changed.
    Duplicate {
        coupon: Coupon,
    },
    /// Another member's, already used, or expired; nothing changed.
    Refused {
        error: CouponError,
    },
}

/// A redemption the shop asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemCoupon {
    pub code: String,
    pub platform: Platform,
    pub user: String,
    pub request: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait CouponStore: Send + Sync {
    /// Issues coupons in one transaction; a key already issued answers the coupon stored under
    /// it (its code unchanged). A code already taken by another key is a `Conflict`.
    async fn issue_coupons(
        &self,
        workspace: WorkspaceId,
        coupons: Vec<NewCoupon>,
    ) -> Result<Vec<Coupon>>;

    /// `NotFound` for an unknown code (in this workspace).
    async fn coupon(&self, workspace: WorkspaceId, code: &str) -> Result<Coupon>;

    /// A member's coupons, newest first.
    async fn member_coupons(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &str,
    ) -> Result<Vec<Coupon>>;

    /// Redeems a coupon as [`Coupon::check_redeem`] decides, in one transaction (two
    /// concurrent redemptions of one coupon: one wins, the other is refused).
    async fn redeem_coupon(
        &self,
        workspace: WorkspaceId,
        redeem: RedeemCoupon,
    ) -> Result<CouponRedemption>;
}

/// Decides a redemption of the stored coupon; `true` when the redeemed coupon is to be written.
pub fn decide_redemption(coupon: Coupon, redeem: &RedeemCoupon) -> (CouponRedemption, bool) {
    match coupon.check_redeem(redeem.platform, &redeem.user, &redeem.request, redeem.at) {
        Ok(qunzhu_domain::coupon::Redeemable::Now) => (
            CouponRedemption::Redeemed {
                coupon: Coupon {
                    redeemed_at: Some(redeem.at),
                    redeemed_request: Some(redeem.request.clone()),
                    ..coupon
                },
            },
            true,
        ),
        Ok(qunzhu_domain::coupon::Redeemable::AlreadyByThisRequest) => {
            (CouponRedemption::Duplicate { coupon }, false)
        }
        Err(error) => (CouponRedemption::Refused { error }, false),
    }
}

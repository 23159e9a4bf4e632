//! Taking coupons back: an invite-task prize paid as a coupon whose invites later fell below
//! the threshold is revoked (a state with its time and reason, never a deletion), unless the
//! member already redeemed it, which is answered so the caller records it for review.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Coupon, Revoke, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// What became of a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Revocation {
    Revoked {
        coupon: Coupon,
    },
    /// Revoked before (a retried round); nothing changed.
    AlreadyRevoked {
        coupon: Coupon,
    },
    /// Redeemed at the shop before it could be taken back; nothing changed.
    Redeemed {
        coupon: Coupon,
    },
}

impl Revocation {
    pub fn coupon(&self) -> &Coupon {
        match self {
            Revocation::Revoked { coupon }
            | Revocation::AlreadyRevoked { coupon }
            | Revocation::Redeemed { coupon } => coupon,
        }
    }
}

#[async_trait]
pub trait CouponRevocationStore: Send + Sync {
    /// `NotFound` when no coupon was issued under `key` (its issuing action's key).
    async fn coupon_by_key(&self, workspace: WorkspaceId, key: &str) -> Result<Coupon>;

    /// Revokes the coupon issued under `key` as [`Coupon::check_revoke`] decides, in one
    /// transaction with the row locked, so a redemption at the same moment either wins (and the
    /// answer is `Redeemed`) or is refused afterwards. `NotFound` for an unknown key.
    async fn revoke_coupon(
        &self,
        workspace: WorkspaceId,
        key: &str,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<Revocation>;
}

/// Decides a revocation of the stored coupon; `true` when the revoked coupon is to be written.
pub fn decide_revocation(coupon: Coupon, at: DateTime<Utc>, reason: &str) -> (Revocation, bool) {
    match coupon.check_revoke() {
        Revoke::Now => (
            Revocation::Revoked {
                coupon: Coupon {
                    revoked_at: Some(at),
                    revoked_reason: Some(reason.to_string()),
                    ..coupon
                },
            },
            true,
        ),
        Revoke::Already => (Revocation::AlreadyRevoked { coupon }, false),
        Revoke::Redeemed => (Revocation::Redeemed { coupon }, false),
    }
}

//! Coupons: an offer (amount off, percent off, a free item) issued to one member, who alone may
//! redeem it, once, before it expires, unless it was revoked (an invite-task prize whose invites
//! fell below the threshold); a revocation is a state kept with its reason, never a deletion.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Platform;

/// What a coupon is worth at the shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CouponOffer {
    /// A fixed amount off, in cents (分).
    AmountOff { cents: i64 },
    /// A share of the price off, 1 to 100.
    PercentOff { percent: u8 },
    /// One item free, named as the shop knows it.
    FreeItem { item: String },
}

impl CouponOffer {
    /// Checks the offer; the error names the field.
    pub fn validate(&self) -> Result<(), CouponError> {
        let bad =
            |field: &'static str, message: String| Err(CouponError::BadOffer { field, message });
        match self {
            CouponOffer::AmountOff { cents } if *cents <= 0 => {
                bad("cents", format!("must be positive, got {cents}"))
            }
            CouponOffer::PercentOff { percent } if *percent == 0 || *percent > 100 => {
                bad("percent", format!("must be 1 to 100, got {percent}"))
            }
            CouponOffer::FreeItem { item } if item.trim().is_empty() => {
                bad("item", "must name the item".into())
            }
            _ => Ok(()),
        }
    }

    /// How the bot names it in a group message.
    pub fn describe(&self) -> String {
        match self {
            CouponOffer::AmountOff { cents } => {
                format!("立减 ¥{}.{:02}", cents / 100, cents % 100)
            }
            CouponOffer::PercentOff { percent } => format!("{percent}% 折扣"),
            CouponOffer::FreeItem { item } => format!("免费{item}"),
        }
    }
}

/// A coupon about to be issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCoupon {
    /// Idempotency key from the cause (a join gift, an operator's request): issuing twice is once.
    pub key: String,
    /// What the member shows the shop; unique in the workspace, hard to guess.
    pub code: String,
    pub platform: Platform,
    /// The one member who may redeem it.
    pub user: String,
    pub offer: CouponOffer,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Why it was issued (`入群礼`, `邀请礼`).
    pub memo: String,
}

/// A coupon as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    pub id: i64,
    #[serde(flatten)]
    pub issued: NewCoupon,
    pub redeemed_at: Option<DateTime<Utc>>,
    /// The shop's request id that redeemed it, so a retried redemption is answered the same.
    pub redeemed_request: Option<String>,
    /// When it was taken back; a revoked coupon cannot be redeemed.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub revoked_reason: Option<String>,
}

/// Where a coupon stands, as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponStatus {
    Active,
    Redeemed,
    Expired,
    Revoked,
}

impl CouponStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CouponStatus::Active => "active",
            CouponStatus::Redeemed => "redeemed",
            CouponStatus::Expired => "expired",
            CouponStatus::Revoked => "revoked",
        }
    }
}

/// What taking a coupon back decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    /// Unredeemed (even expired): it is marked revoked now.
    Now,
    /// Revoked before; nothing changes.
    Already,
    /// The member already used it at the shop: it stays redeemed and the caller records that.
    Redeemed,
}

/// Whether a redemption is new or a retry of the one that already happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeemable {
    Now,
    AlreadyByThisRequest,
}

impl Coupon {
    /// Where it stands at `now`: a revocation wins, then a redemption, then the expiry.
    pub fn status(&self, now: DateTime<Utc>) -> CouponStatus {
        if self.revoked_at.is_some() {
            CouponStatus::Revoked
        } else if self.redeemed_at.is_some() {
            CouponStatus::Redeemed
        } else if self.issued.expires_at.is_some_and(|expires| expires <= now) {
            CouponStatus::Expired
        } else {
            CouponStatus::Active
        }
    }

    /// Decides taking it back: a redeemed coupon is never revoked (the goods are gone).
    pub fn check_revoke(&self) -> Revoke {
        if self.revoked_at.is_some() {
            Revoke::Already
        } else if self.redeemed_at.is_some() {
            Revoke::Redeemed
        } else {
            Revoke::Now
        }
    }

    /// Decides a redemption by `platform`/`user` with the shop's `request` id at `at`.
    pub fn check_redeem(
        &self,
        platform: Platform,
        user: &str,
        request: &str,
        at: DateTime<Utc>,
    ) -> Result<Redeemable, CouponError> {
        let code = || self.issued.code.clone();
        if self.issued.platform != platform || self.issued.user != user {
            return Err(CouponError::NotYours { code: code() });
        }
        if let Some(redeemed_at) = self.redeemed_at {
            if self.redeemed_request.as_deref() == Some(request) {
                return Ok(Redeemable::AlreadyByThisRequest);
            }
            return Err(CouponError::AlreadyRedeemed {
                code: code(),
                at: redeemed_at,
            });
        }
        if let Some(revoked_at) = self.revoked_at {
            return Err(CouponError::Revoked {
                code: code(),
                at: revoked_at,
            });
        }
        if let Some(expires_at) = self.issued.expires_at.filter(|expires| *expires <= at) {
            return Err(CouponError::Expired {
                code: code(),
                at: expires_at,
            });
        }
        Ok(Redeemable::Now)
    }
}

/// Why a coupon cannot be issued or redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum CouponError {
    #[error("coupon `{code}` belongs to another member and cannot be transferred")]
    NotYours { code: String },
    #[error("coupon `{code}` was already redeemed at {at}")]
    AlreadyRedeemed { code: String, at: DateTime<Utc> },
    #[error("coupon `{code}` expired at {at}")]
    Expired { code: String, at: DateTime<Utc> },
    #[error("coupon `{code}` was revoked at {at}")]
    Revoked { code: String, at: DateTime<Utc> },
    #[error("invalid offer {field}: {message}")]
    BadOffer {
        field: &'static str,
        message: String,
    },
}

/// A coupon code from random bits: `QZ-` and ten letters and digits without look-alikes.
pub fn coupon_code(random: u64) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut bits = random;
    let mut code = String::from("QZ-");
    for index in 0..10 {
        if index == 5 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[(bits % 32) as usize]));
        bits /= 32;
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + i64::from(hour) * 3600, 0).unwrap_or_default()
    }

    fn coupon() -> Coupon {
        Coupon {
            id: 1,
            issued: NewCoupon {
                key: "gift".into(),
                code: coupon_code(42),
                platform: Platform::Matrix,
                user: "@a:hs".into(),
                offer: CouponOffer::AmountOff { cents: 500 },
                issued_at: at(0),
                expires_at: Some(at(24)),
                memo: "入群礼".into(),
            },
            redeemed_at: None,
            redeemed_request: None,
            revoked_at: None,
            revoked_reason: None,
        }
    }

    #[test]
    fn only_its_member_redeems_it_once_before_it_expires() {
        let fresh = coupon();
        let code = fresh.issued.code.clone();
        type Case = (
            Coupon,
            &'static str,
            &'static str,
            u32,
            Result<Redeemable, String>,
        );
        let cases: Vec<Case> = vec![
            (fresh.clone(), "@a:hs", "o1", 1, Ok(Redeemable::Now)),
            (
                fresh.clone(),
                "@b:hs",
                "o1",
                1,
                Err(format!(
                    "coupon `{code}` belongs to another member and cannot be transferred"
                )),
            ),
            (
                fresh.clone(),
                "@a:hs",
                "o1",
                24,
                Err(format!("coupon `{code}` expired at {}", at(24))),
            ),
            (
                Coupon {
                    redeemed_at: Some(at(2)),
                    redeemed_request: Some("o1".into()),
                    ..fresh.clone()
                },
                "@a:hs",
                "o1",
                30,
                Ok(Redeemable::AlreadyByThisRequest),
            ),
            (
                Coupon {
                    redeemed_at: Some(at(2)),
                    redeemed_request: Some("o1".into()),
                    ..fresh
                },
                "@a:hs",
                "o2",
                3,
                Err(format!("coupon `{code}` was already redeemed at {}", at(2))),
            ),
            (
                Coupon {
                    revoked_at: Some(at(3)),
                    revoked_reason: Some("invite left".into()),
                    ..coupon()
                },
                "@a:hs",
                "o1",
                4,
                Err(format!("coupon `{code}` was revoked at {}", at(3))),
            ),
        ];
        for (coupon, user, request, hour, expected) in cases {
            let got = coupon
                .check_redeem(Platform::Matrix, user, request, at(hour))
                .map_err(|error| error.to_string());
            assert_eq!(got, expected, "{user} {request} at +{hour}h");
        }
    }

    #[test]
    fn a_redeemed_coupon_is_never_revoked_and_status_says_where_each_stands() {
        let fresh = coupon();
        let redeemed = Coupon {
            redeemed_at: Some(at(2)),
            redeemed_request: Some("o1".into()),
            ..fresh.clone()
        };
        let revoked = Coupon {
            revoked_at: Some(at(3)),
            revoked_reason: Some("invite left".into()),
            ..fresh.clone()
        };
        for (coupon, hour, status, revoke) in [
            (&fresh, 1, CouponStatus::Active, Revoke::Now),
            (&fresh, 24, CouponStatus::Expired, Revoke::Now),
            (&redeemed, 1, CouponStatus::Redeemed, Revoke::Redeemed),
            (&revoked, 1, CouponStatus::Revoked, Revoke::Already),
            (&revoked, 30, CouponStatus::Revoked, Revoke::Already),
        ] {
            assert_eq!(coupon.status(at(hour)), status, "{coupon:?} at +{hour}h");
            assert_eq!(coupon.check_revoke(), revoke, "{coupon:?}");
        }
    }

    #[test]
    fn offers_are_checked_and_described() {
        assert_eq!(
            CouponOffer::AmountOff { cents: 550 }.describe(),
            "立减 ¥5.50"
        );
        assert_eq!(
            CouponOffer::PercentOff { percent: 20 }.describe(),
            "20% 折扣"
        );
        assert_eq!(
            CouponOffer::PercentOff { percent: 120 }
                .validate()
                .unwrap_err()
                .to_string(),
            "invalid offer percent: must be 1 to 100, got 120"
        );
        assert!(CouponOffer::FreeItem { item: " ".into() }
            .validate()
            .is_err());
        let code = coupon_code(u64::MAX);
        assert_eq!(code.len(), 14);
        assert_ne!(coupon_code(1), coupon_code(2));
    }
}

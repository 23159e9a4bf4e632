//! Coupons as operators and the shop handle them: issue to one member, list a member's, redeem
//! with the code and the member (never anyone else's, never twice, never after expiry).

use chrono::Duration;
use qunzhu_domain::coupon::coupon_code;
use qunzhu_domain::MemberId;
use qunzhu_domain::{Coupon, CouponOffer, NewCoupon, Platform};
use qunzhu_storage::{CouponRedemption, RedeemCoupon, StoreError, UserRole};
use rand::RngCore;
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

/// An operator's coupon for one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueCoupon {
    pub offer: CouponOffer,
    pub valid_days: Option<u32>,
    pub memo: String,
    /// The caller's idempotency key.
    pub request: String,
}

impl Ops {
    pub async fn member_coupons(
        &self,
        who: &Actor,
        platform: Platform,
        user: &str,
    ) -> Result<Vec<Coupon>> {
        who.require(UserRole::Viewer)?;
        self.member_in_workspace(who, platform, user).await?;
        Ok(self
            .store
            .member_coupons(who.workspace, platform, user)
            .await?)
    }

    pub async fn issue_coupon(
        &self,
        who: &Actor,
        platform: Platform,
        user: &str,
        issue: IssueCoupon,
    ) -> Result<Coupon> {
        who.require(UserRole::Operator)?;
        let request = issue.request.trim();
        if request.is_empty() || request.len() > 200 {
            return Err(OpsError::invalid(
                "request",
                "give a request id of 1 to 200 characters; a retried call with the same id issues nothing more",
            ));
        }
        issue.offer.validate().map_err(|error| match error {
            qunzhu_domain::CouponError::BadOffer { field, message } => {
                OpsError::invalid(format!("offer.{field}"), message)
            }
            other => OpsError::invalid("offer", other.to_string()),
        })?;
        if issue.valid_days == Some(0) {
            return Err(OpsError::invalid(
                "valid_days",
                "at least 1, or leave it out for no expiry",
            ));
        }
        self.member_in_workspace(who, platform, user).await?;
        let now = self.clock.now();
        let mut random = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let code = coupon_code(u64::from_le_bytes(random));
        let coupon = NewCoupon {
            key: qunzhu_domain::keys::manual(request),
            code: code.clone(),
            platform,
            user: user.to_string(),
            offer: issue.offer,
            issued_at: now,
            expires_at: issue
                .valid_days
                .map(|days| now + Duration::days(i64::from(days))),
            memo: issue.memo,
        };
        let issued = self
            .store
            .issue_coupons(who.workspace, vec![coupon])
            .await?
            .pop()
            .ok_or_else(|| OpsError::Internal("an issued coupon was not returned".into()))?;
        // A retried request answers the coupon issued the first time, with its own code.
        if issued.issued.code == code {
            let detail = json!({ "member": format!("{platform}:{user}"), "offer": issued.issued.offer, "request": request });
            self.audit(who, "coupon.issue", &issued.issued.code, detail)
                .await?;
        }
        Ok(issued)
    }

    /// The shop redeems a coupon for the member in front of it.
    pub async fn redeem_coupon(
        &self,
        who: &Actor,
        code: &str,
        platform: Platform,
        user: &str,
        request: &str,
    ) -> Result<Coupon> {
        who.require(UserRole::Operator)?;
        if request.trim().is_empty() {
            return Err(OpsError::invalid(
                "request",
                "the shop's order or request id",
            ));
        }
        let redeem = RedeemCoupon {
            code: code.to_string(),
            platform,
            user: user.to_string(),
            request: request.trim().to_string(),
            at: self.clock.now(),
        };
        let outcome = self
            .store
            .redeem_coupon(who.workspace, redeem)
            .await
            .map_err(|error| match error {
                StoreError::NotFound { .. } => OpsError::NotFound("coupon"),
                other => other.into(),
            })?;
        match outcome {
            CouponRedemption::Redeemed { coupon } => {
                let detail = json!({ "member": format!("{platform}:{user}"), "request": request });
                self.audit(who, "coupon.redeem", code, detail).await?;
                Ok(coupon)
            }
            CouponRedemption::Duplicate { coupon } => Ok(coupon),
            CouponRedemption::Refused { error } => {
                Err(OpsError::invalid("code", error.to_string()))
            }
        }
    }

    async fn member_in_workspace(&self, who: &Actor, platform: Platform, user: &str) -> Result<()> {
        match self
            .store
            .member(who.workspace, platform, &MemberId::from(user))
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => Err(OpsError::NotFound("member")),
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use qunzhu_domain::{Event, EventKind, FakeClock, JoinVia, WorkspaceId};
    use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

    use super::*;

    async fn member(store: &Arc<dyn Store>, slug: &str, user: &str) -> WorkspaceId {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: slug.into(),
                name: slug.into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        let join = Event {
            workspace,
            platform: Platform::Sandbox,
            key: format!("join-{user}"),
            chat: "g".into(),
            at: now,
            kind: EventKind::MemberJoined {
                member: user.into(),
                display_name: None,
                via: JoinVia::Direct,
            },
        };
        let batch = IngestBatch {
            events: vec![NewEvent {
                event: join,
                day: now.date_naive(),
            }],
            cursor: None,
        };
        store.ingest(batch, &mut |_| Vec::new()).await.unwrap();
        workspace
    }

    #[tokio::test]
    async fn a_coupon_is_issued_once_and_redeemed_only_by_its_member_before_expiry() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
        let clock = FakeClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap());
        let ops = Ops::new(store.clone(), Arc::new(clock.clone()));
        let ws = member(&store, "a", "@a").await;
        member(&store, "a", "@b").await;
        let who = Actor {
            workspace: ws,
            name: qunzhu_domain::ActorName::User("ops".into()),
            role: UserRole::Operator,
        };
        let issue = IssueCoupon {
            offer: CouponOffer::FreeItem {
                item: "咖啡".into(),
            },
            valid_days: Some(7),
            memo: "活动".into(),
            request: "q1".into(),
        };
        let first = ops
            .issue_coupon(&who, Platform::Sandbox, "@a", issue.clone())
            .await
            .unwrap();
        let again = ops
            .issue_coupon(&who, Platform::Sandbox, "@a", issue.clone())
            .await
            .unwrap();
        assert_eq!(first.issued.code, again.issued.code, "issued once");
        let bad = IssueCoupon {
            offer: CouponOffer::PercentOff { percent: 0 },
            ..issue.clone()
        };
        assert!(matches!(
            ops.issue_coupon(&who, Platform::Sandbox, "@a", bad).await,
            Err(OpsError::Invalid { field, .. }) if field == "offer.percent"
        ));
        let code = first.issued.code.clone();
        let by_b = ops
            .redeem_coupon(&who, &code, Platform::Sandbox, "@b", "order-1")
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            by_b,
            format!("code: coupon `{code}` belongs to another member and cannot be transferred")
        );
        ops.redeem_coupon(&who, &code, Platform::Sandbox, "@a", "order-1")
            .await
            .unwrap();
        ops.redeem_coupon(&who, &code, Platform::Sandbox, "@a", "order-1")
            .await
            .unwrap();
        let twice = ops
            .redeem_coupon(&who, &code, Platform::Sandbox, "@a", "order-2")
            .await
            .unwrap_err()
            .to_string();
        assert!(twice.contains("was already redeemed"), "{twice}");

        let late = ops
            .issue_coupon(
                &who,
                Platform::Sandbox,
                "@a",
                IssueCoupon {
                    request: "q2".into(),
                    ..issue
                },
            )
            .await
            .unwrap();
        clock.advance(Duration::days(7));
        let expired = ops
            .redeem_coupon(&who, &late.issued.code, Platform::Sandbox, "@a", "order-3")
            .await
            .unwrap_err()
            .to_string();
        assert!(expired.contains("expired at"), "{expired}");
        assert_eq!(
            ops.member_coupons(&who, Platform::Sandbox, "@a")
                .await
                .unwrap()
                .len(),
            2
        );
        let verbs: Vec<String> = store
            .audit_log(ws, None, 20)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| entry.action)
            .collect();
        assert_eq!(verbs, ["coupon.issue", "coupon.redeem", "coupon.issue"]);
    }
}

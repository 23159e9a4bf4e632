//! Conformance: coupon revocations — an unredeemed coupon is revoked once (kept, with its time
//! and reason) and can no longer be redeemed; a redeemed one is never revoked; other workspaces
//! and unknown keys are untouched.

use qunzhu_domain::{CouponOffer, CouponStatus, NewCoupon};

use super::*;

fn prize(key: &str, code: &str) -> NewCoupon {
    NewCoupon {
        key: key.into(),
        code: code.into(),
        platform: Platform::Sandbox,
        user: "@a".into(),
        offer: CouponOffer::AmountOff { cents: 1000 },
        issued_at: at(0),
        expires_at: Some(at(600)),
        memo: "邀请任务 · 10 人".into(),
    }
}

pub async fn coupons_are_revoked_once_unless_redeemed(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    store
        .issue_coupons(
            ws,
            vec![
                prize("task:x:@a:10", "QZ-R1"),
                prize("task:x:@a:3", "QZ-R2"),
            ],
        )
        .await
        .expect("issue");
    store
        .issue_coupons(other, vec![prize("task:x:@a:10", "QZ-R1")])
        .await
        .expect("issue in another workspace");
    let redeemed = store
        .redeem_coupon(
            ws,
            RedeemCoupon {
                code: "QZ-R2".into(),
                platform: Platform::Sandbox,
                user: "@a".into(),
                request: "order-1".into(),
                at: at(5),
            },
        )
        .await
        .expect("redeem");
    assert!(matches!(redeemed, CouponRedemption::Redeemed { .. }));

    let first = store
        .revoke_coupon(ws, "task:x:@a:10", at(10), "invitee left")
        .await
        .expect("revoke");
    let Revocation::Revoked { coupon } = &first else {
        panic!("an unredeemed coupon is revoked: {first:?}");
    };
    assert_eq!(coupon.revoked_at, Some(at(10)));
    assert_eq!(coupon.revoked_reason.as_deref(), Some("invitee left"));
    let again = store
        .revoke_coupon(ws, "task:x:@a:10", at(20), "again")
        .await
        .expect("revoke again");
    assert!(
        matches!(&again, Revocation::AlreadyRevoked { coupon } if coupon.revoked_at == Some(at(10)) && coupon.revoked_reason.as_deref() == Some("invitee left")),
        "a second revocation changes nothing: {again:?}"
    );
    let stored = store.coupon(ws, "QZ-R1").await.expect("still there");
    assert_eq!(stored.status(at(30)), CouponStatus::Revoked);
    assert_eq!(
        store
            .coupon_by_key(ws, "task:x:@a:10")
            .await
            .expect("by key"),
        stored
    );
    let refused = store
        .redeem_coupon(
            ws,
            RedeemCoupon {
                code: "QZ-R1".into(),
                platform: Platform::Sandbox,
                user: "@a".into(),
                request: "order-2".into(),
                at: at(30),
            },
        )
        .await
        .expect("redeem a revoked one");
    assert!(
        matches!(&refused, CouponRedemption::Refused { error } if error.to_string().contains("was revoked")),
        "{refused:?}"
    );

    let late = store
        .revoke_coupon(ws, "task:x:@a:3", at(40), "invitee left")
        .await
        .expect("revoke a redeemed one");
    assert!(
        matches!(&late, Revocation::Redeemed { coupon } if coupon.revoked_at.is_none() && coupon.redeemed_at == Some(at(5))),
        "{late:?}"
    );
    assert_eq!(
        store
            .coupon(ws, "QZ-R2")
            .await
            .expect("read")
            .status(at(40)),
        CouponStatus::Redeemed
    );
    assert!(matches!(
        store.revoke_coupon(ws, "nope", at(40), "x").await,
        Err(StoreError::NotFound { .. })
    ));
    let untouched = store.coupon(other, "QZ-R1").await.expect("other workspace");
    assert_eq!(untouched.status(at(40)), CouponStatus::Active);
    let listed = store
        .member_coupons(ws, Platform::Sandbox, "@a")
        .await
        .expect("list");
    let mut statuses: Vec<&str> = listed.iter().map(|c| c.status(at(40)).as_str()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["redeemed", "revoked"]);
}

//! Conformance: coupons — issued once per key, bound to their member, redeemed once, expiry.

use qunzhu_domain::{CouponError, CouponOffer, NewCoupon};

use super::*;

fn new_coupon(key: &str, code: &str, user: &str, expires: Option<i64>) -> NewCoupon {
    NewCoupon {
        key: key.into(),
        code: code.into(),
        platform: Platform::Sandbox,
        user: user.into(),
        offer: CouponOffer::AmountOff { cents: 500 },
        issued_at: at(0),
        expires_at: expires.map(at),
        memo: "入群礼".into(),
    }
}

fn redeem(code: &str, user: &str, request: &str, minute: i64) -> RedeemCoupon {
    RedeemCoupon {
        code: code.into(),
        platform: Platform::Sandbox,
        user: user.into(),
        request: request.into(),
        at: at(minute),
    }
}

pub async fn coupons_are_bound_to_their_member_and_redeemed_once(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let issued = store
        .issue_coupons(
            ws,
            vec![
                new_coupon("gift:a", "QZ-A", "@a", Some(60)),
                new_coupon("gift:a", "QZ-OTHER", "@a", Some(60)),
                new_coupon("gift:b", "QZ-B", "@b", None),
            ],
        )
        .await
        .expect("issue");
    assert_eq!(
        issued
            .iter()
            .map(|coupon| coupon.issued.code.as_str())
            .collect::<Vec<_>>(),
        ["QZ-A", "QZ-A", "QZ-B"],
        "a key issues once; its code stays"
    );
    assert!(matches!(
        store
            .issue_coupons(ws, vec![new_coupon("gift:c", "QZ-A", "@c", None)])
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let outcome = |redemption: &CouponRedemption| match redemption {
        CouponRedemption::Redeemed { .. } => "redeemed".to_string(),
        CouponRedemption::Duplicate { .. } => "duplicate".to_string(),
        CouponRedemption::Refused { error } => error.to_string(),
    };
    let mut seen = Vec::new();
    for attempt in [
        redeem("QZ-A", "@b", "o1", 1),
        redeem("QZ-A", "@a", "o1", 2),
        redeem("QZ-A", "@a", "o1", 3),
        redeem("QZ-A", "@a", "o2", 4),
        redeem("QZ-B", "@b", "o3", 100_000),
    ] {
        seen.push(outcome(
            &store.redeem_coupon(ws, attempt).await.expect("redeem"),
        ));
    }
    assert_eq!(
        seen,
        [
            "coupon `QZ-A` belongs to another member and cannot be transferred".to_string(),
            "redeemed".into(),
            "duplicate".into(),
            format!("coupon `QZ-A` was already redeemed at {}", at(2)),
            "redeemed".into(),
        ]
    );
    store
        .issue_coupons(ws, vec![new_coupon("gift:late", "QZ-LATE", "@a", Some(10))])
        .await
        .expect("issue");
    assert!(matches!(
        store
            .redeem_coupon(ws, redeem("QZ-LATE", "@a", "o4", 10))
            .await
            .expect("redeem"),
        CouponRedemption::Refused {
            error: CouponError::Expired { .. }
        }
    ));
    let mine = store
        .member_coupons(ws, Platform::Sandbox, "@a")
        .await
        .expect("coupons");
    assert_eq!(
        mine.iter()
            .map(|coupon| (
                coupon.issued.code.as_str(),
                coupon.redeemed_request.as_deref()
            ))
            .collect::<Vec<_>>(),
        [("QZ-LATE", None), ("QZ-A", Some("o1"))]
    );
    assert_eq!(
        store.coupon(ws, "QZ-A").await.expect("coupon").redeemed_at,
        Some(at(2))
    );
    let other = workspace(store, "b").await;
    assert!(matches!(
        store.coupon(other, "QZ-A").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .redeem_coupon(other, redeem("QZ-B", "@b", "o9", 1))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // Two redemptions of one coupon at once: exactly one wins.
    store
        .issue_coupons(ws, vec![new_coupon("gift:race", "QZ-RACE", "@a", None)])
        .await
        .expect("issue");
    let (one, two) = tokio::join!(
        store.redeem_coupon(ws, redeem("QZ-RACE", "@a", "r1", 5)),
        store.redeem_coupon(ws, redeem("QZ-RACE", "@a", "r2", 5))
    );
    let won = [one.expect("redeem"), two.expect("redeem")]
        .iter()
        .filter(|redemption| matches!(redemption, CouponRedemption::Redeemed { .. }))
        .count();
    assert_eq!(won, 1);
}

//! Conformance: time-limited offers (秒杀) — the stored stock follows the in-memory [`Sale`]
//! claim by claim, concurrent claims never oversell or give a member two, a reserved claim can
//! be released (a paid one cannot), the consumer's watermark moves compare-and-set, and
//! workspaces stay apart.

use std::collections::BTreeSet;

use qunzhu_growth::flash_sale::{OfferSpec, Refusal, Sale};

use super::*;

/// An offer of `stock` items open from minute 0 to minute 60 (of [`at`]).
pub fn offer_spec(stock: u32) -> OfferSpec {
    OfferSpec {
        title: "保温杯".into(),
        platform: Platform::Sandbox,
        chat: "room".into(),
        keyword: "抢".into(),
        stock,
        starts_at: at(0),
        ends_at: at(60),
        countdown_minutes: 30,
        points: 10,
        coupon: None,
    }
}

pub fn new_offer(key: &str, stock: u32) -> NewOffer {
    NewOffer {
        key: key.into(),
        spec: offer_spec(stock),
        source: "title = \"保温杯\"".into(),
        origin: qunzhu_domain::ActionOrigin::parse("user:ops"),
        created_at: at(-60),
    }
}

pub async fn offers_sell_their_stock_once_per_member(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    let offer = store
        .create_offer(ws, new_offer("o1", 2))
        .await
        .expect("create");
    assert_eq!(offer.remaining, 2);
    assert_eq!(
        store
            .create_offer(ws, new_offer("o1", 9))
            .await
            .expect("again"),
        offer,
        "a key creates once"
    );
    assert_eq!(offer.offer, new_offer("o1", 2), "round trip");
    // The store and the specification answer the same claims the same way (the window is the
    // caller's: every claim here is inside it).
    let mut sale = Sale::new(offer_spec(2));
    for member in ["@a", "@a", "@b", "@c", "@b"] {
        let expected = sale.claim(member, at(1), true);
        let got = match store
            .claim_offer(ws, offer.id, member, "chat:e", at(1))
            .await
            .expect("claim")
        {
            Claimed::Taken { remaining, claim } => {
                assert_eq!(claim.state, ClaimState::Reserved);
                assert_eq!(claim.rank, 2 - remaining);
                Ok(remaining)
            }
            Claimed::Held { .. } => Err(Refusal::AlreadyClaimed),
            Claimed::SoldOut => Err(Refusal::SoldOut),
        };
        assert_eq!(got, expected, "{member}");
    }
    assert_eq!(store.offer(ws, offer.id).await.expect("offer").remaining, 0);
    // A reserved claim given back frees its item; a paid one stays.
    assert!(store
        .mark_claim_paid(ws, offer.id, "@a")
        .await
        .expect("paid"));
    assert!(!store
        .mark_claim_paid(ws, offer.id, "@a")
        .await
        .expect("paid twice"));
    assert!(!store
        .release_claim(ws, offer.id, "@a")
        .await
        .expect("release paid"));
    assert!(store
        .release_claim(ws, offer.id, "@b")
        .await
        .expect("release"));
    assert!(!store
        .release_claim(ws, offer.id, "@b")
        .await
        .expect("release twice"));
    assert_eq!(store.offer(ws, offer.id).await.expect("offer").remaining, 1);
    assert!(matches!(
        store
            .claim_offer(ws, offer.id, "@c", "api:r", at(2))
            .await
            .expect("claim"),
        Claimed::Taken { remaining: 0, .. }
    ));
    let claims = store.offer_claims(ws, offer.id).await.expect("claims");
    let members: Vec<_> = claims
        .iter()
        .map(|c| (c.member.as_str(), c.state))
        .collect();
    assert_eq!(
        members,
        [("@a", ClaimState::Paid), ("@c", ClaimState::Reserved)]
    );
    // Reads by window and by workspace.
    assert_eq!(store.open_offers(ws, at(30)).await.expect("open").len(), 1);
    assert!(store
        .open_offers(ws, at(60))
        .await
        .expect("closed")
        .is_empty());
    assert!(store
        .open_offers(ws, at(-1))
        .await
        .expect("early")
        .is_empty());
    assert!(store.offers(other, 10).await.expect("other").is_empty());
    assert!(matches!(
        store.offer(other, offer.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .claim_offer(other, offer.id, "@z", "api:r", at(2))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.offers(ws, 10).await.expect("list").len(), 1);
    // The watermark moves only from the value read.
    assert_eq!(store.offer_watermark(ws).await.expect("mark"), 0);
    assert!(store
        .advance_offer_watermark(ws, 0, 5)
        .await
        .expect("advance"));
    assert!(!store
        .advance_offer_watermark(ws, 0, 7)
        .await
        .expect("stale"));
    assert!(store
        .advance_offer_watermark(ws, 5, 9)
        .await
        .expect("advance"));
    assert_eq!(store.offer_watermark(ws).await.expect("mark"), 9);
    assert_eq!(store.offer_watermark(other).await.expect("other mark"), 0);
}

/// `members` claims for distinct members plus a repeat of each, spread over `stores` (instances
/// sharing one database), all at once; checks exactly `stock` succeed and returns the winners.
pub async fn claim_race(
    stores: &[&dyn Store],
    ws: WorkspaceId,
    offer: i64,
    stock: u32,
    members: usize,
) {
    let claims = (0..members * 2).map(|index| {
        let store = stores[index % stores.len()];
        let member = format!("@m{}", index % members);
        async move {
            let outcome = store
                .claim_offer(ws, offer, &member, &format!("api:{index}"), at(1))
                .await
                .expect("claim");
            (member, outcome)
        }
    });
    let outcomes = join_all(claims.collect()).await;
    check_race(&outcomes, stock);
    let stored = stores[0].offer(ws, offer).await.expect("offer");
    assert_eq!(stored.remaining, 0, "the stock ends at zero");
    let claims = stores[0].offer_claims(ws, offer).await.expect("claims");
    assert_eq!(claims.len(), stock as usize, "one row per item sold");
}

/// What a race must look like: exactly `stock` taken, each by a different member, ranks 1..=stock.
pub fn check_race(outcomes: &[(String, Claimed)], stock: u32) {
    let winners: Vec<_> = outcomes
        .iter()
        .filter_map(|(member, outcome)| match outcome {
            Claimed::Taken { claim, .. } => Some((member.clone(), claim.rank)),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), stock as usize, "exactly the stock is sold");
    let distinct: BTreeSet<_> = winners.iter().map(|(member, _)| member.clone()).collect();
    assert_eq!(distinct.len(), winners.len(), "no member gets two");
    let ranks: BTreeSet<_> = winners.iter().map(|(_, rank)| *rank).collect();
    assert_eq!(ranks, (1..=stock).collect(), "each rank once");
    for (member, outcome) in outcomes {
        if let Claimed::Held { claim, .. } = outcome {
            assert!(
                distinct.contains(member),
                "{member} holds only what they took"
            );
            assert_eq!(&claim.member, member);
        }
    }
}

pub async fn concurrent_claims_never_oversell(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let offer = store
        .create_offer(ws, new_offer("race", 5))
        .await
        .expect("create");
    claim_race(&[store], ws, offer.id, 5, 40).await;
}

pub(crate) async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

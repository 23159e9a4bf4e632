//! Conformance: the swap board (换) — numbers per group from 1, a message posts once, an
//! accepted offer and the taker's mirror close together once (both or neither), a withdrawal is
//! the poster's, concurrent accepts close an offer once, and workspaces stay apart.

use qunzhu_growth::swap::SwapState;

use super::*;

fn new_swap(key: &str, chat: &str, member: &str, have: &str, want: &str, minute: i64) -> NewSwap {
    NewSwap {
        key: key.into(),
        platform: Platform::Sandbox,
        chat: chat.into(),
        member: member.into(),
        have: have.into(),
        want: want.into(),
        at: at(minute),
    }
}

pub async fn swaps_close_both_sides_once(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    let first = store
        .post_swap(ws, new_swap("e1", "g", "@a", "猫粮", "狗粮", 1))
        .await
        .expect("post");
    assert_eq!((first.id, first.state.clone()), (1, SwapState::Open));
    let again = store
        .post_swap(ws, new_swap("e1", "g", "@a", "猫粮", "狗粮", 9))
        .await
        .expect("again");
    assert_eq!(again, first, "a message posts once");
    let mirror = store
        .post_swap(ws, new_swap("e2", "g", "@b", "狗粮", "猫粮", 2))
        .await
        .expect("post");
    let elsewhere = store
        .post_swap(ws, new_swap("e3", "h", "@c", "书", "笔", 3))
        .await
        .expect("post");
    assert_eq!((mirror.id, elsewhere.id), (2, 1), "numbers run per group");
    // A pair that is not the taker's closes nothing, not even the offer.
    assert!(!store
        .accept_swap(ws, Platform::Sandbox, "g", 1, "@c", Some(2), at(4))
        .await
        .expect("accept"));
    assert!(!store
        .accept_swap(ws, Platform::Sandbox, "g", 1, "@a", None, at(4))
        .await
        .expect("own"));
    let open = store
        .group_swaps(ws, Platform::Sandbox, "g", at(0))
        .await
        .expect("read");
    assert!(
        open.iter().all(|offer| offer.state == SwapState::Open),
        "both or neither"
    );
    assert!(store
        .accept_swap(ws, Platform::Sandbox, "g", 1, "@b", Some(2), at(5))
        .await
        .expect("accept"));
    assert!(!store
        .accept_swap(ws, Platform::Sandbox, "g", 1, "@d", None, at(5))
        .await
        .expect("closed"));
    // Concurrent accepts of one offer: exactly one wins.
    let contested = store
        .post_swap(ws, new_swap("e4", "g", "@a", "伞", "帽", 5))
        .await
        .expect("post");
    let id = contested.id;
    let takers = ["@d", "@e", "@f"].map(|taker| async move {
        store
            .accept_swap(ws, Platform::Sandbox, "g", id, taker, None, at(6))
            .await
            .expect("accept")
    });
    let results = super::offers::join_all(takers.into_iter().collect()).await;
    assert_eq!(
        results.iter().filter(|won| **won).count(),
        1,
        "an offer closes once"
    );
    let rows = store
        .group_swaps(ws, Platform::Sandbox, "g", at(0))
        .await
        .expect("read");
    assert_eq!(
        rows[0].state,
        SwapState::Swapped {
            with: "@b".into(),
            at: at(5),
            pair: Some(2)
        }
    );
    assert_eq!(
        rows[1].state,
        SwapState::Swapped {
            with: "@a".into(),
            at: at(5),
            pair: Some(1)
        }
    );
    // Withdrawals: only the poster's, only while open.
    assert!(!store
        .withdraw_swap(ws, Platform::Sandbox, "h", 1, "@a", at(6))
        .await
        .expect("not theirs"));
    assert!(store
        .withdraw_swap(ws, Platform::Sandbox, "h", 1, "@c", at(6))
        .await
        .expect("withdraw"));
    assert!(!store
        .withdraw_swap(ws, Platform::Sandbox, "h", 1, "@c", at(7))
        .await
        .expect("twice"));
    let all = store.swaps(ws, at(0), 10).await.expect("all");
    assert_eq!(all.len(), 4);
    assert_eq!(
        (all[1].chat.as_str(), &all[1].offer.state),
        ("h", &SwapState::Withdrawn { at: at(6) })
    );
    assert!(store
        .swaps(other, at(0), 10)
        .await
        .expect("other")
        .is_empty());
    assert!(!store
        .accept_swap(other, Platform::Sandbox, "h", 1, "@z", None, at(8))
        .await
        .expect("other"));
    assert_eq!(store.swap_watermark(ws).await.expect("mark"), 0);
    assert!(store
        .advance_swap_watermark(ws, 0, 4)
        .await
        .expect("advance"));
    assert!(!store.advance_swap_watermark(ws, 0, 5).await.expect("stale"));
    assert_eq!(store.swap_watermark(ws).await.expect("mark"), 4);
    assert_eq!(store.offer_watermark(ws).await.expect("offers apart"), 0);
}

//! Leases: one holder at a time, renewal by the holder, takeover only after expiry.

use chrono::Duration;

use super::at;
use qunzhu_storage::*;

pub async fn leases_have_one_holder_and_pass_on_after_expiry(store: &dyn Store) {
    let name = "poll:matrix:@bot:x";
    let ttl = Duration::seconds(30);
    assert!(store
        .acquire_lease(name, "a", at(0), at(0) + ttl)
        .await
        .expect("acquire"));
    assert!(
        !store
            .acquire_lease(name, "b", at(0), at(0) + ttl)
            .await
            .expect("contend"),
        "a live lease is not taken"
    );
    assert!(
        store
            .acquire_lease(name, "a", at(0) + Duration::seconds(10), at(1) + ttl)
            .await
            .expect("renew"),
        "the holder renews"
    );
    let held = store.lease(name).await.expect("lease").expect("held");
    assert_eq!((held.holder.as_str(), held.expires_at), ("a", at(1) + ttl));
    assert!(
        store
            .acquire_lease(name, "b", at(1) + ttl, at(2) + ttl)
            .await
            .expect("take over"),
        "an expired lease is taken over"
    );
    assert!(!store
        .acquire_lease(name, "a", at(1) + ttl, at(2) + ttl)
        .await
        .expect("late renewal"));
    store
        .release_lease(name, "a")
        .await
        .expect("release by a non-holder");
    assert_eq!(
        store
            .lease(name)
            .await
            .expect("lease")
            .map(|lease| lease.holder),
        Some("b".to_string()),
        "only the holder can release"
    );
    store.release_lease(name, "b").await.expect("release");
    assert_eq!(store.lease(name).await.expect("lease"), None);
    assert!(store
        .acquire_lease(name, "c", at(2), at(3))
        .await
        .expect("free again"));
}

pub async fn concurrent_acquirers_get_one_lease(store: &dyn Store) {
    let attempts = (0..8).map(|index| {
        let holder = format!("instance-{index}");
        async move {
            store
                .acquire_lease("poll:sandbox", &holder, at(0), at(1))
                .await
                .expect("acquire")
        }
    });
    let won = futures_join_all(attempts).await;
    assert_eq!(won.iter().filter(|won| **won).count(), 1, "{won:?}");
}

/// Runs the attempts concurrently on the caller's runtime without another dependency.
async fn futures_join_all<F: std::future::Future<Output = bool>>(
    futures: impl Iterator<Item = F>,
) -> Vec<bool> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut results: Vec<Option<bool>> = vec![None; pinned.len()];
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (index, future) in pinned.iter_mut().enumerate() {
            if results[index].is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(value) => results[index] = Some(value),
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
    results
        .into_iter()
        .map(|value| value.unwrap_or(false))
        .collect()
}

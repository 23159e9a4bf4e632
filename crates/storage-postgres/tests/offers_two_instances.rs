//! 秒杀 on PostgreSQL with two instances: two stores, each with its own connection pool (as two
//! `qunzhu serve` processes have), claim one offer of stock K from many tasks for M >> K members
//! (each member twice, once through each instance). Exactly K claims succeed, no member gets two,
//! and the stock ends at 0; then a second round on a fresh offer checks the same with releases
//! racing the claims.

use std::sync::Arc;

use qunzhu_storage::{Claimed, NewWorkspace, Store};
use qunzhu_storage_conformance::conformance::{check_race, new_offer};
use qunzhu_storage_postgres::PostgresStore;

const STOCK: u32 = 7;
const MEMBERS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_oversell_an_offer() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .expect("fresh database");
    let first: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.expect("instance 1"));
    let second: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.expect("instance 2"));
    let ws = first
        .ensure_workspace(NewWorkspace {
            slug: "brand".into(),
            name: "Brand".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("workspace")
        .id;
    let offer = first
        .create_offer(ws, new_offer("race", STOCK))
        .await
        .expect("create");
    let at = offer.offer.spec.starts_at;
    // Every member claims through both instances; tasks start together behind a barrier.
    let barrier = Arc::new(tokio::sync::Barrier::new(MEMBERS * 2));
    let mut tasks = Vec::new();
    for index in 0..MEMBERS * 2 {
        let store = if index % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let barrier = barrier.clone();
        let member = format!("@m{}", index / 2);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let outcome = store
                .claim_offer(ws, offer.id, &member, &format!("api:{index}"), at)
                .await
                .expect("claim");
            (member, outcome)
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task"));
    }
    check_race(&outcomes, STOCK);
    let sold_out = outcomes
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Claimed::SoldOut))
        .count();
    assert!(
        sold_out >= MEMBERS * 2 - 2 * STOCK as usize,
        "the rest hear sold out"
    );
    for store in [&first, &second] {
        assert_eq!(store.offer(ws, offer.id).await.expect("offer").remaining, 0);
        assert_eq!(
            store
                .offer_claims(ws, offer.id)
                .await
                .expect("claims")
                .len(),
            STOCK as usize
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn releases_racing_claims_keep_the_count_exact() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .expect("fresh database");
    let first: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.expect("instance 1"));
    let second: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.expect("instance 2"));
    let ws = first
        .ensure_workspace(NewWorkspace {
            slug: "brand".into(),
            name: "Brand".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("workspace")
        .id;
    let offer = first
        .create_offer(ws, new_offer("release", 3))
        .await
        .expect("create");
    let at = offer.offer.spec.starts_at;
    // Each task claims and, for odd members, gives its item back (a refused payment): the
    // items given back are sold again, never twice at once.
    let mut tasks = Vec::new();
    for index in 0..120usize {
        let store = if index % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let member = format!("@m{index}");
            let outcome = store
                .claim_offer(ws, offer.id, &member, "api:x", at)
                .await
                .expect("claim");
            if matches!(outcome, Claimed::Taken { .. }) {
                if index % 2 == 1 {
                    assert!(store
                        .release_claim(ws, offer.id, &member)
                        .await
                        .expect("release"));
                } else {
                    assert!(store
                        .mark_claim_paid(ws, offer.id, &member)
                        .await
                        .expect("paid"));
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let stored = first.offer(ws, offer.id).await.expect("offer");
    let claims = first.offer_claims(ws, offer.id).await.expect("claims");
    assert_eq!(
        stored.remaining as usize + claims.len(),
        3,
        "items left plus items held is the stock"
    );
    assert!(claims.iter().all(|claim| claim
        .member
        .trim_start_matches("@m")
        .parse::<usize>()
        .map(|n| n % 2 == 0)
        .unwrap_or(false)));
}

//! Conformance: point drops — scheduled once per key, read back by start time, workspaces apart.

use qunzhu_growth::drop::DropSpec;
use qunzhu_growth::lottery::Prize;

use super::*;

fn new_drop(key: &str, minute: i64) -> NewDrop {
    NewDrop {
        key: key.into(),
        platform: Platform::Sandbox,
        chat: "room".into(),
        spec: DropSpec {
            keyword: "红包".into(),
            shares: 3,
            prize: Prize::Points { points: 5 },
            minutes: 10,
        },
        starts_at: at(minute),
        origin: qunzhu_domain::ActionOrigin::parse("user:ops"),
    }
}

pub async fn drops_are_scheduled_once_and_read_by_start(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    let first = store
        .schedule_drop(ws, new_drop("d1", 10))
        .await
        .expect("schedule");
    let again = store
        .schedule_drop(ws, new_drop("d1", 99))
        .await
        .expect("again");
    assert_eq!(first, again, "a key schedules once");
    assert_eq!(first.drop, new_drop("d1", 10), "round trip");
    let second = store
        .schedule_drop(ws, new_drop("d2", 0))
        .await
        .expect("second");
    let ids = |drops: Vec<StoredDrop>| drops.iter().map(|drop| drop.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.drops_since(ws, at(0)).await.expect("since")),
        vec![first.id, second.id]
    );
    assert_eq!(
        ids(store.drops_since(ws, at(5)).await.expect("since")),
        vec![first.id]
    );
    assert!(store
        .drops_since(other, at(0))
        .await
        .expect("other")
        .is_empty());
}

//! Conformance: a guardian's saved memory is one row per workspace and platform, replaced by
//! each save and stamped with the log's newest event at the moment of the save.

use qunzhu_domain::Platform;
use qunzhu_storage::Store;

use super::{at, event, ingest, message, workspace};

pub async fn guard_memory_is_level_with_the_log(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    assert_eq!(
        store.guard_memory(ws, Platform::Sandbox).await.unwrap(),
        None
    );
    let first = store
        .put_guard_memory(ws, Platform::Sandbox, at(1), "{\"n\":1}")
        .await
        .unwrap();
    assert_eq!(
        (first.seq, first.memory.as_str()),
        (0, "{\"n\":1}"),
        "an empty log"
    );
    ingest(
        store,
        vec![
            event(ws, "1", "g", 2, message("@a", "早")),
            event(ws, "2", "g", 3, message("@b", "好")),
        ],
        None,
    )
    .await;
    let events = store.events(ws, 0, 10).await.unwrap();
    let newest = events.last().map(|e| e.seq).unwrap_or_default();
    let second = store
        .put_guard_memory(ws, Platform::Sandbox, at(4), "{\"n\":2}")
        .await
        .unwrap();
    assert_eq!(second.seq, newest, "stamped with the newest event");
    assert_eq!(second.taken_at, at(4));
    assert_eq!(
        store.guard_memory(ws, Platform::Sandbox).await.unwrap(),
        Some(second),
        "the save replaced the one before"
    );
    assert_eq!(
        store.guard_memory(ws, Platform::Telegram).await.unwrap(),
        None,
        "one memory per platform"
    );
}

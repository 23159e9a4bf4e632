//! Conformance: the bot's powers per group — written by ingest from `BotPowers` events, the
//! newest report kept (an older one arriving later changes nothing), scoped by workspace, and
//! the same after the derived state is rebuilt from the log.

use super::*;

fn powers(level: i64, can_mute: bool) -> EventKind {
    EventKind::BotPowers {
        level,
        can_redact: true,
        can_kick: true,
        can_ban: level >= 50,
        can_mute,
    }
}

pub async fn bot_powers_keep_the_newest_report_per_group(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    assert_eq!(
        store
            .bot_powers(ws, Platform::Sandbox, "g")
            .await
            .expect("none yet"),
        None
    );
    ingest(
        store,
        vec![
            event(ws, "p1", "g", 1, powers(50, false)),
            event(ws, "p2", "h", 1, powers(100, true)),
            event(other, "p1", "g", 1, powers(100, true)),
        ],
        None,
    )
    .await;
    let first = store
        .bot_powers(ws, Platform::Sandbox, "g")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        first,
        BotPowers {
            platform: Platform::Sandbox,
            chat: "g".into(),
            level: 50,
            can_redact: true,
            can_kick: true,
            can_ban: true,
            can_mute: false,
            at: at(1),
        }
    );

    // A newer report replaces it; an older one delivered afterwards does not.
    ingest(
        store,
        vec![event(ws, "p3", "g", 5, powers(100, true))],
        None,
    )
    .await;
    ingest(store, vec![event(ws, "p4", "g", 3, powers(0, false))], None).await;
    let now = store
        .bot_powers(ws, Platform::Sandbox, "g")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!((now.level, now.can_mute, now.at), (100, true, at(5)));

    let listed: Vec<(String, i64)> = store
        .all_bot_powers(ws)
        .await
        .expect("list")
        .into_iter()
        .map(|p| (p.chat, p.level))
        .collect();
    assert_eq!(listed, [("g".to_string(), 100), ("h".to_string(), 100)]);
    let theirs = store.all_bot_powers(other).await.expect("other workspace");
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        store
            .bot_powers(ws, Platform::Matrix, "g")
            .await
            .expect("another platform"),
        None
    );

    store.rebuild_derived().await.expect("rebuild");
    assert_eq!(
        store
            .bot_powers(ws, Platform::Sandbox, "g")
            .await
            .expect("read"),
        Some(now)
    );
}

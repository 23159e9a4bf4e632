//! The events Telegram brings (edits, poll answers, clicks, dice) are stored and read back
//! unchanged by both backends: SQLite always, PostgreSQL when `QUNZHU_TEST_DATABASE_URL` is set.

use std::sync::Arc;

use qunzhu_domain::{Event, EventKind, Platform, WorkspaceId};
use qunzhu_storage::{IngestBatch, NewEvent, Store};

fn events(workspace: WorkspaceId) -> Vec<Event> {
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
    let kinds = vec![
        EventKind::MessageEdited {
            member: "7".into(),
            message_id: "11".into(),
            text: "改过的".into(),
            links: vec!["https://a.example".into()],
            mentions: vec!["@bob".into()],
        },
        EventKind::PollAnswered {
            member: "7".into(),
            poll_id: "5012".into(),
            poll_key: Some("game:quiz:1:q0".into()),
            option_ids: vec![1, 2],
            options: vec!["拿铁".into(), "美式".into()],
        },
        EventKind::ButtonClicked {
            member: "7".into(),
            message_id: Some("12".into()),
            data: "rsvp:yes".into(),
        },
        EventKind::DiceRolled {
            member: "7".into(),
            message_id: "13".into(),
            emoji: "🎲".into(),
            value: 6,
        },
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(n, kind)| Event {
            workspace,
            platform: Platform::Telegram,
            key: format!("tg:1:{n}"),
            chat: "-100".into(),
            at,
            kind,
        })
        .collect()
}

async fn round_trip(store: Arc<dyn Store>) {
    let workspace = store
        .ensure_workspace(qunzhu_storage::NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::UTC,
        })
        .await
        .expect("workspace")
        .id;
    let written = events(workspace);
    let day = chrono::NaiveDate::from_ymd_opt(2027, 1, 15).expect("day");
    let batch = IngestBatch {
        events: written
            .iter()
            .cloned()
            .map(|event| NewEvent { event, day })
            .collect(),
        cursor: Some(("telegram:1".into(), "offset:5".into())),
    };
    store
        .ingest(batch, &mut |_| Vec::new())
        .await
        .expect("ingest");
    let read: Vec<Event> = store
        .events(workspace, 0, 100)
        .await
        .expect("events")
        .into_iter()
        .map(|stored| stored.event)
        .collect();
    assert_eq!(read, written);
    assert_eq!(
        store.cursor("telegram:1").await.expect("cursor").as_deref(),
        Some("offset:5")
    );
    // The reducer and the backend agree: none of these count as messages.
    let derived = store.derived_state().await.expect("derived");
    assert!(derived.group_days.values().all(|day| day.messages == 0));
}

#[tokio::test]
async fn sqlite_round_trips_telegram_events() {
    let store = qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store");
    round_trip(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_round_trips_telegram_events() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .expect("fresh database");
    let store = qunzhu_storage_postgres::PostgresStore::connect(&url)
        .await
        .expect("store");
    round_trip(Arc::new(store)).await;
}

//! One input cannot stop ingest (issue #11.2): a decision that panics on an event is caught, the
//! event is still recorded (with no actions) and the batch's other events are decided as usual.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use qunzhu_connector::Batch;
use qunzhu_domain::{
    ActionKind, Clock, Event, EventKind, FakeClock, MessageKind, NewAction, Platform,
};
use qunzhu_engine::{Decider, Ingestor};
use qunzhu_storage::{NewWorkspace, Store};
use tokio::sync::Mutex;

/// Answers every message with a reply, and panics on the text "boom" (a bug nobody foresaw).
struct Fragile;

impl Decider for Fragile {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        let EventKind::MessagePosted { text, .. } = &event.kind else {
            return Vec::new();
        };
        if text == "boom" {
            let overflow = DateTime::<Utc>::MAX_UTC;
            let _ = overflow + chrono::Duration::days(std::hint::black_box(1));
        }
        vec![NewAction {
            workspace: event.workspace,
            platform: event.platform,
            chat: event.chat.clone(),
            key: format!("reply:{}", event.key),
            kind: ActionKind::SendMessage {
                text: format!("re: {text}"),
                html: None,
                mentions: Vec::new(),
                reply_to: None,
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::parse("test"),
            cause: Some(event.key.clone()),
        }]
    }
}

#[tokio::test]
async fn a_panicking_decision_is_caught_and_the_batch_is_recorded() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let clock = FakeClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    let decider: Arc<Mutex<Box<dyn Decider>>> = Arc::new(Mutex::new(Box::new(Fragile)));
    let ingestor = Ingestor::new(
        store.clone(),
        Arc::new(clock.clone()),
        chrono_tz::Asia::Shanghai,
        "sandbox",
        decider,
    );
    let message = |key: &str, text: &str| Event {
        workspace,
        platform: Platform::Sandbox,
        key: key.into(),
        chat: "!g:x".into(),
        at: clock.now(),
        kind: EventKind::MessagePosted {
            member: "@u:x".into(),
            message_id: key.into(),
            text: text.into(),
            links: Vec::new(),
            mentions: Vec::new(),
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        },
    };
    let batch = Batch {
        events: vec![
            message("e1", "hi"),
            message("e2", "boom"),
            message("e3", "bye"),
        ],
        cursor: Some("c1".into()),
    };
    let report = ingestor
        .ingest(batch)
        .await
        .expect("the batch is not refused");
    assert_eq!((report.appended, report.actions), (3, 2));
    assert_eq!(
        store.cursor("sandbox").await.unwrap().as_deref(),
        Some("c1"),
        "the cursor moves on: the batch is not fetched again forever"
    );
}

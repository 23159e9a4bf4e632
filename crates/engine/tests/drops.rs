//! A point drop through the store: scheduled by an operator, opened by the engine, answered in
//! the group through ingest (shares written with their messages), and after a restart the
//! watcher reads the shares back from the outbox so the cap and once-per-member still hold.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    ActionKind, Clock, Event, EventKind, FakeClock, MessageKind, NewAction, Platform,
};
use qunzhu_engine::{Decider, DropWatcher, Drops, DropsHandle};
use qunzhu_growth::drop::DropSpec;
use qunzhu_growth::lottery::Prize;
use qunzhu_storage::{ActionFilter, IngestBatch, NewDrop, NewEvent, NewWorkspace, Store};

fn said(
    workspace: qunzhu_domain::WorkspaceId,
    key: &str,
    member: &str,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        day: at.date_naive(),
        event: Event {
            workspace,
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g0".into(),
            at,
            kind: EventKind::MessagePosted {
                member: member.into(),
                message_id: key.into(),
                text: "红包".into(),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        },
    }
}

async fn ingest(store: &dyn Store, drops: &mut Drops, events: Vec<NewEvent>, now: DateTime<Utc>) {
    store
        .ingest(
            IngestBatch {
                events,
                cursor: None,
            },
            &mut |event: &Event| drops.decide(event, now),
        )
        .await
        .unwrap();
}

fn granted(actions: &[qunzhu_domain::ActionRecord]) -> Vec<String> {
    let mut members: Vec<String> = actions
        .iter()
        .filter_map(|action| match &action.kind {
            ActionKind::GrantReward {
                member, points: 5, ..
            } => Some(member.clone()),
            _ => None,
        })
        .collect();
    members.sort();
    members
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_are_granted_once_and_survive_a_restart() {
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
    let clock = FakeClock::new(
        DateTime::parse_from_rfc3339("2026-11-24T20:00:00+08:00")
            .unwrap()
            .to_utc(),
    );
    store
        .schedule_drop(
            workspace,
            NewDrop {
                key: "drop:r1".into(),
                platform: Platform::Sandbox,
                chat: "g0".into(),
                spec: DropSpec {
                    keyword: "红包".into(),
                    shares: 3,
                    prize: Prize::Points { points: 5 },
                    minutes: 10,
                },
                starts_at: clock.now(),
                origin: qunzhu_domain::ActionOrigin::Operator(qunzhu_domain::ActorName::User(
                    "ops".into(),
                )),
            },
        )
        .await
        .unwrap();
    let watcher = DropWatcher {
        store: store.clone(),
        workspace,
        handle: DropsHandle::default(),
        clock: Arc::new(clock.clone()),
        every: std::time::Duration::from_secs(2),
    };
    watcher.sync().await.unwrap();
    let mut drops = Drops::new(workspace, Platform::Sandbox, watcher.handle.clone());
    let opened: Vec<NewAction> = drops.tick(clock.now());
    assert_eq!(opened.len(), 1, "announced");
    store.enqueue(opened).await.unwrap();
    clock.advance(Duration::seconds(10));
    let now = clock.now();
    ingest(
        &*store,
        &mut drops,
        vec![
            said(workspace, "e1", "@a", now),
            said(workspace, "e2", "@b", now),
            said(workspace, "e3", "@a", now),
        ],
        now,
    )
    .await;
    // The same messages delivered again are no new events, so nothing is decided twice.
    ingest(
        &*store,
        &mut drops,
        vec![said(workspace, "e1", "@a", now)],
        now,
    )
    .await;
    let filter = ActionFilter {
        origin_prefix: Some("drop:".into()),
        limit: Some(100),
        ..ActionFilter::default()
    };
    assert_eq!(
        granted(&store.actions(workspace, &filter).await.unwrap()),
        ["@a", "@b"]
    );

    // A restart: a fresh decider, the watcher reads the two shares back from the outbox.
    watcher.sync().await.unwrap();
    let mut restarted = Drops::new(workspace, Platform::Sandbox, watcher.handle.clone());
    let reopened = restarted.tick(clock.now());
    assert_eq!(
        store.enqueue(reopened).await.unwrap(),
        0,
        "the announcement is the same action"
    );
    clock.advance(Duration::seconds(10));
    let now = clock.now();
    ingest(
        &*store,
        &mut restarted,
        vec![
            said(workspace, "e4", "@b", now),
            said(workspace, "e5", "@c", now),
            said(workspace, "e6", "@d", now),
        ],
        now,
    )
    .await;
    let actions = store.actions(workspace, &filter).await.unwrap();
    assert_eq!(
        granted(&actions),
        ["@a", "@b", "@c"],
        "@b once, and the cap of 3 holds"
    );
    assert!(
        actions.iter().any(|action| action.key.ends_with(":end")),
        "it ended when the shares were gone"
    );
}

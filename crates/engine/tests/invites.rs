//! The invite tracker on real stores: joins are attributed (inviter, the member behind a link
//! code), leaving stops an invite counting, and a restarted tracker resumes from its watermark.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{Event, EventKind, InviteCode, JoinVia, LeaveHow, Platform, WorkspaceId};
use qunzhu_engine::InviteTracker;
use qunzhu_storage::{IngestBatch, InviteFilter, NewEvent, NewWorkspace, Store};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00")
        .map(|at| at.to_utc())
        .unwrap()
}

fn event(workspace: WorkspaceId, key: &str, minute: i64, kind: EventKind) -> NewEvent {
    let at = start() + Duration::minutes(minute);
    NewEvent {
        day: qunzhu_domain::local_day(at, chrono_tz::Asia::Shanghai),
        event: Event {
            workspace,
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g".into(),
            at,
            kind,
        },
    }
}

fn join(member: &str, via: JoinVia) -> EventKind {
    EventKind::MemberJoined {
        member: member.into(),
        display_name: None,
        via,
    }
}

async fn ingest(store: &dyn Store, events: Vec<NewEvent>) {
    let batch = IngestBatch {
        events,
        cursor: None,
    };
    store.ingest(batch, &mut |_| Vec::new()).await.unwrap();
}

async fn present_counts(store: &dyn Store, workspace: WorkspaceId) -> Vec<(String, u64, u64)> {
    store
        .invite_counts(workspace, &InviteFilter::default(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|count| (count.inviter, count.joined, count.present))
        .collect()
}

async fn story(store: Arc<dyn Store>) {
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    store
        .put_invite_code(
            workspace,
            InviteCode {
                code: "a-link".into(),
                platform: Platform::Sandbox,
                member: "@a".into(),
                campaign: Some("spring".into()),
            },
        )
        .await
        .unwrap();
    ingest(
        &*store,
        vec![
            event(workspace, "e1", 0, join("@a", JoinVia::Direct)),
            event(
                workspace,
                "e2",
                1,
                join("@b", JoinVia::Invited { by: "@a".into() }),
            ),
            event(
                workspace,
                "e3",
                2,
                join(
                    "@c",
                    JoinVia::Link {
                        code: "a-link".into(),
                    },
                ),
            ),
            event(
                workspace,
                "e4",
                3,
                join(
                    "@d",
                    JoinVia::Link {
                        code: "unknown".into(),
                    },
                ),
            ),
        ],
    )
    .await;
    let tracker = |batch: usize| InviteTracker {
        store: store.clone(),
        workspace,
        batch,
        every: std::time::Duration::from_millis(10),
    };
    assert_eq!(
        tracker(2).run_once().await.unwrap(),
        4,
        "read in batches of two"
    );
    assert_eq!(
        present_counts(&*store, workspace).await,
        [("@a".to_string(), 2, 2)]
    );
    let spring = store
        .invite_counts(
            workspace,
            &InviteFilter {
                campaign: Some("spring".into()),
                ..InviteFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        spring[0].present, 1,
        "the link's join counts for the campaign"
    );

    // A restarted tracker reads nothing twice; C leaves and A's count drops.
    assert_eq!(tracker(100).run_once().await.unwrap(), 0);
    ingest(
        &*store,
        vec![event(
            workspace,
            "e5",
            10,
            EventKind::MemberLeft {
                member: "@c".into(),
                how: LeaveHow::Left,
                by: None,
            },
        )],
    )
    .await;
    assert_eq!(tracker(100).run_once().await.unwrap(), 1);
    assert_eq!(
        present_counts(&*store, workspace).await,
        [("@a".to_string(), 2, 1)]
    );
    let by_a = store
        .invites_by(workspace, Platform::Sandbox, "@a")
        .await
        .unwrap();
    assert_eq!(by_a.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invite_tracker_on_sqlite() {
    story(Arc::new(
        qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invite_tracker_on_postgres() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .unwrap();
    story(Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&url)
            .await
            .unwrap(),
    ))
    .await;
}

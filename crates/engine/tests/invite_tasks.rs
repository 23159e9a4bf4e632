//! The invite-task consumer on real stores with a fake clock: A's link brings B and C, both stay
//! and post, A reaches the threshold after the stay, is paid once after the hold (the ledger
//! worker posts the grant), and C's leave takes it back with a reversal entry.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    Account, ActionKind, Clock, DocumentKind, Event, EventKind, FakeClock, InviteCode, JoinVia,
    LeaveHow, Platform, Reason, WorkspaceId,
};
use qunzhu_engine::{InviteTasks, LedgerWorker, LedgerWorkerConfig};
use qunzhu_growth::PrizeState;
use qunzhu_storage::{ActionFilter, IngestBatch, NewEvent, NewWorkspace, PrizeFilter, Store};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T09:00:00+08:00")
        .map(|at| at.to_utc())
        .unwrap()
}

const CAMPAIGN: &str = r#"title = "邀请有礼"
platform = "sandbox"
groups = ["g"]
starts = "2026-12-01T00:00:00Z"
ends = "2026-12-31T00:00:00Z"
stay_hours = 24
hold_hours = 2
[[thresholds]]
invites = 2
points = 100
"#;

async fn ingest(
    store: &dyn Store,
    workspace: WorkspaceId,
    key: &str,
    at: DateTime<Utc>,
    kind: EventKind,
) {
    let event = NewEvent {
        day: qunzhu_domain::local_day(at, chrono_tz::Asia::Shanghai),
        event: Event {
            workspace,
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g".into(),
            at,
            kind,
        },
    };
    store
        .ingest(
            IngestBatch {
                events: vec![event],
                cursor: None,
            },
            &mut |_| Vec::new(),
        )
        .await
        .unwrap();
}

fn posted(member: &str) -> EventKind {
    EventKind::MessagePosted {
        member: member.into(),
        message_id: format!("m-{member}"),
        text: "大家好".into(),
        links: vec![],
        mentions: vec![],
        reply_to: None,
        message_kind: qunzhu_domain::MessageKind::Text,
        from_bot: false,
    }
}

async fn texts(store: &dyn Store, workspace: WorkspaceId) -> Vec<String> {
    let mut out: Vec<String> = store
        .actions(
            workspace,
            &ActionFilter {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .filter_map(|action| match action.kind {
            ActionKind::SendMessage { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    out.sort();
    out
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
    let clock = FakeClock::new(start());
    store
        .put_document(
            workspace,
            DocumentKind::Campaign,
            "spring",
            CAMPAIGN,
            "test",
            clock.now(),
        )
        .await
        .unwrap();
    let code = InviteCode {
        code: "a1".into(),
        platform: Platform::Sandbox,
        member: "@a".into(),
        campaign: Some("spring".into()),
    };
    store.put_invite_code(workspace, code).await.unwrap();
    let tasks = InviteTasks {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        batch: 2,
        every: std::time::Duration::from_millis(10),
    };
    let ledger = LedgerWorker {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        config: LedgerWorkerConfig {
            owner: "ledger-test".into(),
            ..Default::default()
        },
    };
    let link = || JoinVia::Link { code: "a1".into() };
    for (key, member) in [("e1", "@b"), ("e2", "@c")] {
        let kind = EventKind::MemberJoined {
            member: member.into(),
            display_name: Some(member[1..].to_uppercase() + "ob"),
            via: link(),
        };
        ingest(&*store, workspace, key, clock.now(), kind).await;
    }
    ingest(&*store, workspace, "e3", clock.now(), posted("@b")).await;
    ingest(&*store, workspace, "e4", clock.now(), posted("@c")).await;
    // Batches of two: the first round reads the joins, the second the posts.
    tasks.run_once().await.unwrap();
    tasks.run_once().await.unwrap();
    assert_eq!(store.invite_task_watermark(workspace).await.unwrap(), 4);
    assert!(
        texts(&*store, workspace).await.is_empty(),
        "nothing counts before the stay"
    );

    clock.advance(Duration::hours(24));
    tasks.run_once().await.unwrap();
    let prizes = store
        .task_prizes(workspace, &PrizeFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(
        prizes.iter().map(|row| row.state).collect::<Vec<_>>(),
        [PrizeState::Approved]
    );
    assert_eq!(
        texts(&*store, workspace).await,
        [
            "@a 已邀请 1 人，还差 1 人",
            "@a 已邀请 2 人，全部任务已完成"
        ]
    );

    clock.advance(Duration::hours(1));
    tasks.run_once().await.unwrap();
    assert_eq!(
        store
            .balance(workspace, &Account::member(Platform::Sandbox, "@a"))
            .await
            .unwrap(),
        0,
        "held two hours"
    );
    clock.advance(Duration::hours(1));
    tasks.run_once().await.unwrap();
    tasks.run_once().await.unwrap();
    ledger.run_once().await.unwrap();
    ledger.run_once().await.unwrap();
    let account = Account::member(Platform::Sandbox, "@a");
    assert_eq!(
        store.balance(workspace, &account).await.unwrap(),
        100,
        "paid once"
    );
    let told = texts(&*store, workspace).await;
    assert_eq!(
        told.iter()
            .filter(|text| text.contains("获得 100 积分"))
            .count(),
        1,
        "{told:?}"
    );

    // C leaves: the count drops and the payment is reversed by a new entry.
    clock.advance(Duration::hours(1));
    let left = EventKind::MemberLeft {
        member: "@c".into(),
        how: LeaveHow::Left,
        by: None,
    };
    ingest(&*store, workspace, "e5", clock.now(), left).await;
    tasks.run_once().await.unwrap();
    tasks.run_once().await.unwrap();
    assert_eq!(store.balance(workspace, &account).await.unwrap(), 0);
    let entries = store
        .ledger_entries(workspace, Some(&account), 10)
        .await
        .unwrap();
    assert!(entries
        .iter()
        .any(|entry| entry.body.reason == Reason::Reversal
            && entry.body.reverses.as_deref() == Some("task:spring:@a:2:0")));
    let prizes = store
        .task_prizes(workspace, &PrizeFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(prizes[0].state, PrizeState::Reversed);
    assert!(texts(&*store, workspace)
        .await
        .contains(&"@a 已邀请 1 人，还差 1 人".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_task_counts_pays_once_and_reverses_on_sqlite() {
    story(Arc::new(
        qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_task_counts_pays_once_and_reverses_on_postgres() {
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

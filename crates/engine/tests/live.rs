//! SOP posts say what is true when they are SENT: a post planned in the morning, then members
//! join, check in and the group is renamed; at 21:00 the dispatcher fills the template from the
//! read models, records the text, and the push report counts reach and replies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::{Batch, Capabilities, Connector, Rate};
use qunzhu_domain::{
    ActionKind, ActionRecord, ActionStatus, Clock, DocumentKind, Event, EventKind, FakeClock,
    JoinVia, MessageKind, Platform, WorkspaceId,
};
use qunzhu_engine::{
    push_reports, Checkins, Decider, DispatchConfig, Dispatcher, Planner, SopFacts,
};
use qunzhu_storage::{ActionFilter, IngestBatch, NewEvent, NewWorkspace, Store};

const BOARD: &str = "id = \"board\"\nname = \"打卡榜\"\n[target]\nall = true\n\n[[steps]]\nid = \"board\"\nrepeat = \"daily\"\nat = \"21:00\"\ntext = \"🌙 {group} 群里{member_count}位伙伴，今日打卡榜：\\n{checkin_leaders}\"\n";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Remembers what each action was sent as.
struct Recording {
    sent: Mutex<Vec<String>>,
    capabilities: Capabilities,
}

#[async_trait]
impl Connector for Recording {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }
    fn id(&self) -> &str {
        "recording"
    }
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    async fn poll(&self, _cursor: Option<&str>) -> qunzhu_connector::Result<Batch> {
        Ok(Batch::default())
    }
    async fn execute(&self, action: &ActionRecord) -> qunzhu_connector::Result<Option<String>> {
        if let ActionKind::SendMessage { text, .. } = &action.kind {
            self.sent.lock().unwrap().push(text.clone());
        }
        Ok(None)
    }
}

fn event(workspace: WorkspaceId, key: &str, at: DateTime<Utc>, kind: EventKind) -> NewEvent {
    NewEvent {
        day: at.with_timezone(&chrono_tz::Asia::Shanghai).date_naive(),
        event: Event {
            workspace,
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g0".into(),
            at,
            kind,
        },
    }
}

fn said(member: &str, id: &str, text: &str) -> EventKind {
    EventKind::MessagePosted {
        member: member.into(),
        message_id: id.into(),
        text: text.into(),
        links: vec![],
        mentions: vec![],
        reply_to: None,
        message_kind: MessageKind::Text,
        from_bot: false,
    }
}

fn joined(member: &str, name: &str) -> EventKind {
    EventKind::MemberJoined {
        member: member.into(),
        display_name: Some(name.into()),
        via: JoinVia::Direct,
    }
}

async fn ingest(store: &dyn Store, events: Vec<NewEvent>) {
    store
        .ingest(
            IngestBatch {
                events,
                cursor: None,
            },
            &mut |_: &Event| Vec::new(),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_are_filled_when_the_post_is_sent_not_when_it_is_planned() {
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
    store
        .ensure_group(workspace, Platform::Sandbox, "g0")
        .await
        .unwrap();
    let morning = at("2026-11-24T07:00:00+08:00");
    let clock = FakeClock::new(morning);
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "board",
            BOARD,
            "ops",
            morning,
        )
        .await
        .unwrap();
    let planner = Planner {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        platform: Platform::Sandbox,
        send_autonomously: true,
        base_url: "http://q.example".into(),
        horizon: Duration::hours(48),
        look_back: Duration::hours(24),
        every: std::time::Duration::from_secs(15),
    };
    planner.plan_once(&mut HashMap::new()).await.unwrap();
    let filter = ActionFilter {
        origin_prefix: Some("sop:".into()),
        limit: Some(100),
        ..ActionFilter::default()
    };
    let planned = store.actions(workspace, &filter).await.unwrap();
    assert_eq!(planned.len(), 2, "tonight and tomorrow night");
    let ActionKind::SendMessage { text, .. } = &planned[0].kind else {
        panic!("a post")
    };
    assert!(
        text.contains("{member_count}") && text.contains("{checkin_leaders}"),
        "the outbox keeps the template: {text}"
    );

    // During the day: three join, two check in, the group gets its name.
    let facts = SopFacts {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        zone: chrono_tz::Asia::Shanghai,
        batch: 2,
        every: std::time::Duration::from_secs(1),
    };
    let hour = |h: i64| morning + Duration::hours(h);
    ingest(
        &*store,
        vec![
            event(
                workspace,
                "r",
                hour(1),
                EventKind::GroupRenamed {
                    name: "跑步1群".into(),
                    by: None,
                },
            ),
            event(workspace, "j1", hour(1), joined("@a", "小王")),
            event(workspace, "j2", hour(2), joined("@b", "小李")),
            event(workspace, "j3", hour(3), joined("@c", "小张")),
            event(workspace, "c1", hour(4), said("@a", "m1", "打卡 5公里")),
            event(workspace, "c2", hour(5), said("@b", "m2", "签到")),
            event(workspace, "c3", hour(6), said("@a", "m3", "打卡 again")),
        ],
    )
    .await;
    assert_eq!(
        facts.catch_up().await.unwrap(),
        7,
        "bounded batches until the end"
    );
    assert_eq!(facts.catch_up().await.unwrap(), 0, "nothing is read twice");

    // 21:00: the dispatcher fills the template from the read models.
    clock.set(at("2026-11-24T21:00:00+08:00"));
    let mut capabilities = qunzhu_sandbox::sandbox_capabilities();
    capabilities.per_group_rate = Rate::UNLIMITED;
    capabilities.global_rate = Rate::UNLIMITED;
    let connector = Arc::new(Recording {
        sent: Mutex::default(),
        capabilities,
    });
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        Arc::new(clock.clone()),
        DispatchConfig::default(),
    );
    assert_eq!(dispatcher.run_once().await.unwrap().done, 1);
    let sent = connector.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        ["🌙 跑步1群 群里3位伙伴，今日打卡榜：\n1. 小王 连续1天 · 累计1次\n2. 小李 连续1天 · 累计1次"]
    );

    // A member answers within the hour; the report has reach, replies and the sent text.
    clock.advance(Duration::minutes(10));
    ingest(
        &*store,
        vec![event(
            workspace,
            "reply",
            clock.now(),
            said("@c", "m4", "加油！"),
        )],
    )
    .await;
    facts.catch_up().await.unwrap();
    let reports = push_reports(&*store, workspace, 10).await.unwrap();
    let report = reports
        .iter()
        .find(|report| report.status == ActionStatus::Done)
        .unwrap();
    assert_eq!(
        (
            report.reach,
            report.replies_within_hour,
            report.text.as_str()
        ),
        (3, 1, sent[0].as_str())
    );
    let pending = reports
        .iter()
        .find(|report| report.status == ActionStatus::Pending)
        .unwrap();
    assert_eq!((pending.reach, pending.replies_within_hour), (0, 0));

    // A restart restores the books from the streak table: tomorrow's check-in is day two.
    let mut checkins = Checkins::load(
        &*store,
        workspace,
        Platform::Sandbox,
        chrono_tz::Asia::Shanghai,
        clock.now(),
    )
    .await
    .unwrap();
    let tomorrow = event(
        workspace,
        "c4",
        at("2026-11-25T07:00:00+08:00"),
        said("@a", "m5", "打卡"),
    );
    let actions = checkins.decide(&tomorrow.event, tomorrow.event.at);
    let ActionKind::SendMessage { text, .. } = &actions[1].kind else {
        panic!("a confirmation")
    };
    assert!(text.contains("已连续 2 天，累计 2 天"), "{text}");
    // The group's creation time is its first event, not the restart.
    let seen = store.groups_seen(workspace).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].at <= hour(1), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_following_one_postgres_count_each_event_once() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .unwrap();
    let one: Arc<dyn Store> = Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&url)
            .await
            .unwrap(),
    );
    let two: Arc<dyn Store> = Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&url)
            .await
            .unwrap(),
    );
    let workspace = one
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let start = at("2026-11-24T09:00:00+08:00");
    one.ensure_group(workspace, Platform::Sandbox, "g0")
        .await
        .unwrap();
    let action = qunzhu_domain::NewAction {
        workspace,
        platform: Platform::Sandbox,
        chat: "g0".into(),
        key: "push".into(),
        kind: ActionKind::SendMessage {
            text: "早安".into(),
            html: None,
            mentions: vec![],
            reply_to: None,
        },
        created_at: start,
        not_before: start,
        expires_at: None,
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::parse("sop:p@v1/s"),
        cause: None,
    };
    one.enqueue(vec![action]).await.unwrap();
    let push = one.action_by_key(workspace, "push").await.unwrap().id;
    one.record_render(qunzhu_storage::PushRender {
        action: push,
        workspace,
        chat: "g0".into(),
        at: start,
        text: "早安".into(),
        reach: 40,
    })
    .await
    .unwrap();
    // Forty members check in within the hour after the push (each also a reply).
    let events: Vec<NewEvent> = (0..40)
        .map(|index| {
            event(
                workspace,
                &format!("c{index}"),
                start + Duration::minutes(index),
                said(&format!("@m{index}"), &format!("m{index}"), "打卡"),
            )
        })
        .collect();
    ingest(&*one, events).await;
    let consumer = |store: &Arc<dyn Store>| SopFacts {
        store: store.clone(),
        clock: Arc::new(FakeClock::new(start + Duration::hours(1))),
        workspace,
        zone: chrono_tz::Asia::Shanghai,
        batch: 3,
        every: std::time::Duration::from_secs(1),
    };
    let (first, second) = (consumer(&one), consumer(&two));
    let (a, b) = tokio::join!(first.catch_up(), second.catch_up());
    assert!(a.unwrap() + b.unwrap() >= 40, "every event read by someone");
    let rows = one.pushes(workspace, &[push]).await.unwrap();
    assert_eq!(rows[0].replies_within_hour, 40, "each reply counted once");
    let board = one
        .leaderboard(
            workspace,
            Platform::Sandbox,
            "g0",
            start.with_timezone(&chrono_tz::Asia::Shanghai).date_naive(),
            100,
        )
        .await
        .unwrap();
    assert_eq!(board.len(), 40);
    assert!(
        board.iter().all(|row| (row.streak, row.total) == (1, 1)),
        "{board:?}"
    );
}

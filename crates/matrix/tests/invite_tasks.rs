//! An invite task (任务宝) on a real Synapse: A's invite page `/i/{code}` brings B and C (the bot
//! invites each once), both stay and post, A reaches the threshold and the room hears the reward
//! once; C leaves, A's count drops and the paid points are taken back by a reversal entry.

mod support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use qunzhu_connector::Connector;
use qunzhu_domain::{Account, Clock, DocumentKind, FakeClock, InviteCode, Platform, Reason};
use qunzhu_engine::{
    DispatchConfig, Dispatcher, InviteTasks, InviteTracker, LedgerWorker, LedgerWorkerConfig,
};
use qunzhu_storage::{InviteFilter, NewWorkspace, PrizeFilter, Store};
use support::Server;

const CAMPAIGN: &str = r#"title = "春季邀请"
platform = "matrix"
groups = ["ROOM"]
starts = "2020-01-01T00:00:00Z"
ends = "2100-01-01T00:00:00Z"
stay_hours = 1
must_post = true
hold_hours = 0
[[thresholds]]
invites = 2
points = 100
"#;

async fn ask_page(base: &str, code: &str, matrix_id: &str) -> (u16, String) {
    let answer = reqwest::Client::new()
        .post(format!("{base}/i/{code}?lang=en"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("matrix_id={}", qunzhu_matrix::encode(matrix_id)))
        .send()
        .await
        .expect("page");
    (answer.status().as_u16(), answer.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_page_brings_two_the_reward_comes_once_and_a_leave_takes_it_back() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, alice, bob, carol, bot) = (
        server.user("admin").await,
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
        server.user("bot").await,
    );
    let room = admin.create_room("12", "invite").await;
    for user in [&alice, &bot] {
        admin.invite(&room, &user.id).await;
        user.join(&room).await;
    }
    let connector = Arc::new(server.connector(&bot, &[], |_| {}).await);
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    let clock = FakeClock::new(Utc::now());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("ws")
        .id;
    store
        .ensure_group(workspace, Platform::Matrix, &room)
        .await
        .expect("group");
    let campaign = CAMPAIGN.replace("ROOM", &room);
    store
        .put_document(
            workspace,
            DocumentKind::Campaign,
            "spring",
            &campaign,
            "ops",
            clock.now(),
        )
        .await
        .expect("campaign");
    let code = InviteCode {
        code: "a1b2c3".into(),
        platform: Platform::Matrix,
        member: alice.id.clone(),
        campaign: Some("spring".into()),
    };
    store.put_invite_code(workspace, code).await.expect("code");

    // The console's router serves the page.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let state = qunzhu_server::AppState {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        base_url: base.clone(),
        secure_cookies: false,
    };
    let router = qunzhu_server::router(state);
    tokio::spawn(async move { axum::serve(listener, router).await });

    let ingestor = qunzhu_engine::Ingestor::new(
        store.clone(),
        Arc::new(clock.clone()),
        chrono_tz::Asia::Shanghai,
        connector.id(),
        Arc::new(tokio::sync::Mutex::new(
            Box::new(qunzhu_engine::Nothing) as Box<dyn qunzhu_engine::Decider>
        )),
    );
    // The first sync: who is already there (the bot hears changes from here on).
    let first = connector.poll(None).await.expect("poll");
    let mut cursor = first.cursor.clone();
    ingestor.ingest(first).await.expect("ingest");
    let (status, body) = ask_page(&base, "a1b2c3", "bob").await;
    assert_eq!(status, 422, "a bad id is refused: {body}");
    assert!(body.contains("starts with @"), "{body}");
    for user in [&bob, &carol] {
        let (status, body) = ask_page(&base, "a1b2c3", &user.id).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, again) = ask_page(&base, "a1b2c3", &bob.id).await;
    assert!(again.contains("invited already"), "{again}");

    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        Arc::new(clock.clone()),
        DispatchConfig::default(),
    );
    let done = dispatcher.run_once().await.expect("dispatch").done;
    assert_eq!(done, 2, "one invite for bob, one for carol");
    for user in [&bob, &carol] {
        user.join(&room).await;
        user.say(&room, "大家好，我是新人").await;
    }
    let tracker = InviteTracker {
        store: store.clone(),
        workspace,
        batch: 500,
        every: std::time::Duration::from_secs(1),
    };
    let tasks = InviteTasks {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        batch: 500,
        every: std::time::Duration::from_secs(1),
    };
    let ledger = LedgerWorker {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        config: LedgerWorkerConfig {
            owner: "ledger-test".into(),
            ..Default::default()
        },
    };
    // Hear the joins and posts (and whatever came before) until both posts are logged.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
        tracker.run_once().await.expect("tracker");
        tasks.run_once().await.expect("tasks");
        let counts = store
            .invite_counts(workspace, &InviteFilter::default(), 10)
            .await
            .expect("counts");
        let posted = store.events(workspace, 0, 10_000).await.expect("log").iter().filter(|stored| {
            matches!(&stored.event.kind, qunzhu_domain::EventKind::MessagePosted { member, .. } if *member == bob.id || *member == carol.id)
        }).count();
        if posted == 2
            && counts
                .iter()
                .any(|count| count.inviter == alice.id && count.present == 2)
        {
            break;
        }
        if std::time::Instant::now() >= deadline {
            let log = store.events(workspace, 0, 10_000).await.expect("log");
            let kinds: Vec<_> = log
                .iter()
                .map(|stored| (stored.event.workspace, stored.event.kind.clone()))
                .collect();
            panic!("the bot did not hear both joins and posts: {counts:?} {kinds:#?}");
        }
    }

    // Not before the stay: nothing counted, nothing said.
    tasks.run_once().await.expect("tasks");
    assert!(store
        .task_prizes(workspace, &PrizeFilter::default(), 10)
        .await
        .expect("prizes")
        .is_empty());
    clock.advance(Duration::hours(1) + Duration::minutes(1));
    for _ in 0..2 {
        tasks.run_once().await.expect("tasks");
        ledger.run_once().await.expect("ledger");
        dispatcher.run_once().await.expect("dispatch");
    }
    let account = Account::member(Platform::Matrix, alice.id.clone());
    assert_eq!(
        store.balance(workspace, &account).await.expect("balance"),
        100
    );
    let rewards = |bodies: &[String]| {
        bodies
            .iter()
            .filter(|body| body.contains("获得 100 积分"))
            .count()
    };
    let bodies = alice.bodies(&room).await;
    assert_eq!(
        rewards(&bodies),
        1,
        "the reward message comes once: {bodies:?}"
    );
    let name = alice.id.trim_start_matches('@');
    assert!(
        bodies.contains(&format!("@{name} 已邀请 2 人，全部任务已完成")),
        "{bodies:?}"
    );

    // Carol leaves: the count drops, the grant is reversed by a new entry.
    carol.leave(&room).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.balance(workspace, &account).await.expect("balance") != 0 {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
        tracker.run_once().await.expect("tracker");
        tasks.run_once().await.expect("tasks");
        assert!(
            std::time::Instant::now() < deadline,
            "carol's leave was not taken into account"
        );
    }
    dispatcher.run_once().await.expect("dispatch");
    let entries = store
        .ledger_entries(workspace, Some(&account), 10)
        .await
        .expect("entries");
    assert!(
        entries
            .iter()
            .any(|entry| entry.body.reason == Reason::Reversal),
        "{entries:?}"
    );
    let counts = store
        .invite_counts(workspace, &InviteFilter::default(), 10)
        .await
        .expect("counts");
    assert!(
        counts
            .iter()
            .any(|count| count.inviter == alice.id && count.joined == 2 && count.present == 1),
        "{counts:?}"
    );
    let bodies = alice.bodies(&room).await;
    assert_eq!(rewards(&bodies), 1, "still once: {bodies:?}");
    assert!(
        bodies.contains(&format!("@{name} 已邀请 1 人，还差 1 人")),
        "{bodies:?}"
    );
}

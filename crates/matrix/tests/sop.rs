//! A scheduled post on a real Synapse: it appears once in the room for a member, its
//! `{member_count}` says how many were in the room when it was SENT (they joined after it was
//! planned), and a click on its tracked link is counted for the push.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{Clock, DocumentKind, FakeClock, Platform};
use qunzhu_engine::{DispatchConfig, Dispatcher, Planner};
use qunzhu_storage::{NewWorkspace, Store};
use support::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_post_appears_once_and_its_link_click_is_counted() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, alice, bot) = (
        server.user("admin").await,
        server.user("alice").await,
        server.user("bot").await,
    );
    let room = admin.create_room("12", "invite").await;
    for user in [&alice, &bot] {
        admin.invite(&room, &user.id).await;
        user.join(&room).await;
    }
    let connector = Arc::new(server.connector(&bot, &[], |_| {}).await);

    // qunzhu's short-link endpoint, on a port of its own.
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-24T07:59:00+08:00")
        .expect("time")
        .to_utc();
    let clock = FakeClock::new(start);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let links = qunzhu_server::short_links::routes(store.clone(), Arc::new(clock.clone()));
    tokio::spawn(async move { axum::serve(listener, links).await });

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
    let plan = "id = \"launch\"\nname = \"新品\"\n[target]\nall = true\n[links]\nshop = \"https://shop.example.com/spring\"\n\n[[steps]]\nid = \"post\"\nrepeat = \"once\"\ndate = \"2026-11-24\"\nat = \"08:00\"\ntext = \"🎁 新品上线 群里{member_count}人 {link:shop}\"\n";
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "launch",
            plan,
            "ops",
            clock.now(),
        )
        .await
        .expect("plan");
    let planner = Planner {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        platform: Platform::Matrix,
        send_autonomously: true,
        base_url: base.clone(),
        horizon: Duration::hours(48),
        look_back: Duration::hours(24),
        every: std::time::Duration::from_secs(15),
    };
    assert_eq!(
        planner
            .plan_once(&mut HashMap::new())
            .await
            .expect("plan")
            .new_actions,
        1
    );
    // After planning, qunzhu hears the room's members (as it would from the poll loop).
    use qunzhu_connector::Connector;
    let ingestor = qunzhu_engine::Ingestor::new(
        store.clone(),
        Arc::new(clock.clone()),
        chrono_tz::Asia::Shanghai,
        connector.id(),
        Arc::new(tokio::sync::Mutex::new(
            Box::new(qunzhu_engine::Nothing) as Box<dyn qunzhu_engine::Decider>
        )),
    );
    let mut cursor = None;
    for _ in 0..3 {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
    }
    let present = store.groups(workspace).await.expect("groups")[0].members_present;
    assert!(present >= 3, "admin, alice and the bot: {present}");
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector,
        Arc::new(clock.clone()),
        DispatchConfig::default(),
    );
    assert_eq!(
        dispatcher.run_once().await.expect("dispatch").claimed,
        0,
        "not before 08:00"
    );
    clock.advance(Duration::minutes(1));
    assert_eq!(dispatcher.run_once().await.expect("dispatch").done, 1);
    // A restart plans and dispatches again: nothing more reaches the room.
    assert_eq!(
        planner
            .plan_once(&mut HashMap::new())
            .await
            .expect("plan")
            .new_actions,
        0
    );
    assert_eq!(dispatcher.run_once().await.expect("dispatch").claimed, 0);

    let posts: Vec<String> = alice
        .bodies(&room)
        .await
        .into_iter()
        .filter(|body| body.starts_with("🎁 新品上线"))
        .collect();
    assert_eq!(posts.len(), 1, "alice sees the post once: {posts:?}");
    assert!(
        posts[0].contains(&format!("群里{present}人")),
        "filled at send time: {posts:?}"
    );
    let link = posts[0]
        .split_whitespace()
        .find(|word| word.starts_with(&base))
        .expect("a tracked link")
        .to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let answer = http.get(&link).send().await.expect("click");
    assert_eq!(answer.status(), reqwest::StatusCode::FOUND);
    assert_eq!(
        answer.headers()["location"],
        "https://shop.example.com/spring"
    );
    let push = store
        .actions(workspace, &qunzhu_storage::ActionFilter::default())
        .await
        .expect("actions")[0]
        .key
        .clone();
    let stats = store
        .push_link_stats(workspace, &push)
        .await
        .expect("stats");
    assert_eq!((stats.clicks, stats.unique_visitors), (1, 1));
}

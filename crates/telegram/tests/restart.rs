//! Restarts and webhooks with the engine's own runner over a real SQLite file: the stored offset
//! (or inbox sequence) resumes with nothing lost and nothing doubled.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use qunzhu_connector::Connector;
use qunzhu_domain::{ActionStatus, EventKind, SystemClock};
use qunzhu_engine::{ConnectorRuntime, DispatchConfig, GreetEachJoin, RuntimeConfig};
use qunzhu_storage::{ActionFilter, Store};
use qunzhu_telegram::{Mode, Secret, TelegramConnector};
use qunzhu_telegram_fake::FakeTelegram;
use support::GROUP;
use tokio::sync::watch;

fn runtime(
    store: Arc<dyn Store>,
    connector: Arc<dyn Connector>,
) -> (ConnectorRuntime, watch::Sender<bool>) {
    let (stop, stopped) = watch::channel(false);
    let runtime = ConnectorRuntime::spawn(
        store,
        connector,
        Arc::new(SystemClock),
        Box::new(GreetEachJoin {
            template: "欢迎 {name}".into(),
        }),
        RuntimeConfig {
            dispatch: DispatchConfig {
                idle_poll: Duration::from_millis(100),
                ..DispatchConfig::default()
            },
            tick: Duration::from_millis(200),
            ..RuntimeConfig::default()
        },
        stopped,
        &qunzhu_engine::Health::new(Arc::new(SystemClock)),
    );
    (runtime, stop)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn greeted(fake: &FakeTelegram) -> Vec<String> {
    let mut texts: Vec<String> = fake
        .world()
        .bot_messages(GROUP)
        .into_iter()
        .map(|m| m.text)
        .collect();
    texts.sort();
    texts
}

fn expected(users: std::ops::Range<i64>) -> Vec<String> {
    let mut texts: Vec<String> = users.map(|user| format!("欢迎 User{user}")).collect();
    texts.sort();
    texts
}

async fn joins(store: &dyn Store, workspace: qunzhu_domain::WorkspaceId) -> Vec<String> {
    store
        .events(workspace, 0, 10_000)
        .await
        .expect("events")
        .into_iter()
        .filter_map(|stored| match stored.event.kind {
            EventKind::MemberJoined { member, .. } => Some(member.0),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_from_the_stored_offset_loses_and_doubles_nothing() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("qunzhu.db");
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open(&path).expect("store"));
    let workspace = support::workspace(&*store).await;
    let connector = support::connector(&fake, dir.path(), workspace).await;
    let (running, stop) = runtime(store.clone(), connector.clone());
    for user in 100..105 {
        fake.join(GROUP, user);
    }
    wait_for("five greetings", || greeted(&fake).len() == 5).await;
    stop.send(true).expect("stop");
    running.join().await;
    let stored = store.cursor(connector.id()).await.expect("cursor");
    assert_eq!(stored.as_deref(), Some("offset:6"));
    drop(store);

    // While qunzhu is down, more people join. Telegram still holds updates 1–5 (only a newer
    // offset confirms them); the restart's first getUpdates carries the stored offset, so
    // they are not fetched again and 6–10 are not skipped.
    for user in 105..110 {
        fake.join(GROUP, user);
    }
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open(&path).expect("reopen"));
    let connector = support::connector(&fake, dir.path(), workspace).await;
    let (running, stop) = runtime(store.clone(), connector.clone());
    wait_for("ten greetings", || greeted(&fake).len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).expect("stop");
    running.join().await;

    assert_eq!(
        greeted(&fake),
        expected(100..110),
        "each joiner greeted exactly once"
    );
    let mut members = joins(&*store, workspace).await;
    members.sort();
    assert_eq!(
        members,
        (100..110).map(|u| u.to_string()).collect::<Vec<_>>()
    );
    let first_poll = fake
        .world()
        .calls_of("getUpdates")
        .into_iter()
        .filter(|body| body.get("offset").is_some())
        .map(|body| body["offset"].as_i64().unwrap_or(0))
        .collect::<Vec<_>>();
    assert!(
        first_poll.contains(&6),
        "the restart resumed at the stored offset: {first_poll:?}"
    );
    let actions = store
        .actions(
            workspace,
            &ActionFilter {
                limit: Some(100),
                ..ActionFilter::default()
            },
        )
        .await
        .expect("actions");
    assert_eq!(actions.len(), 10);
    assert!(actions.iter().all(|a| a.status == ActionStatus::Done));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_updates_are_recorded_before_200_and_a_wrong_secret_is_refused() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("qunzhu.db");
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open(&path).expect("store"));
    let workspace = support::workspace(&*store).await;

    // qunzhu's HTTP server, with the connector's route nested the way the binary nests it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    let mut config = support::config(&fake);
    config.mode = Mode::Webhook;
    config.webhook_url = format!("http://{address}/hooks/telegram/bot");
    config.webhook_secret = Secret::new("s3cret-token");
    let connector = Arc::new(
        TelegramConnector::connect(config.clone(), workspace, dir.path(), Arc::new(SystemClock))
            .await
            .expect("connect"),
    );
    assert_eq!(
        fake.world().webhook.clone(),
        Some((config.webhook_url.clone(), "s3cret-token".into())),
        "setWebhook with the secret"
    );
    let app = axum::Router::new().nest("/hooks/telegram/bot", connector.webhook());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    fake.join(GROUP, 201);
    assert_eq!(fake.deliver_webhook(Some("guess")).await, vec![401]);
    assert_eq!(fake.deliver_webhook(None).await, vec![200]);
    fake.join(GROUP, 202);
    fake.join(GROUP, 203);
    assert_eq!(fake.deliver_webhook(None).await, vec![200, 200]);
    // Recorded before the 200: a connector opened afresh on the same files finds all three.
    let reopened = Arc::new(
        TelegramConnector::connect(config.clone(), workspace, dir.path(), Arc::new(SystemClock))
            .await
            .expect("reconnect"),
    );
    let (running, stop) = runtime(store.clone(), reopened.clone());
    wait_for("three greetings", || greeted(&fake).len() == 3).await;
    // A redelivery (Telegram retries when unsure) is recognised.
    fake.push_raw(serde_json::json!({"update_id": 1, "chat_member": {}}));
    assert_eq!(fake.deliver_webhook(None).await, vec![200]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).expect("stop");
    running.join().await;
    server.abort();
    assert_eq!(greeted(&fake), expected(201..204));
    assert_eq!(joins(&*store, workspace).await.len(), 3);
    assert!(store
        .cursor(reopened.id())
        .await
        .expect("cursor")
        .is_some_and(|c| c.starts_with("inbox:")));
}

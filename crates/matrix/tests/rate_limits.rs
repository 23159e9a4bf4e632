//! Against Synapse's default rate limits the bot is throttled (429 with Retry-After) and still
//! delivers every message exactly once, through the real outbox dispatcher.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use qunzhu_connector::Connector;
use qunzhu_domain::{ActionKind, ActionStatus, Clock, NewAction, Platform, SystemClock};
use qunzhu_engine::{DispatchConfig, Dispatcher};
use qunzhu_storage::{ActionFilter, NewWorkspace, Store};
use support::Server;

const MESSAGES: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_bot_delivers_everything_exactly_once() {
    let Some(server) = Server::from_env(
        "QUNZHU_TEST_SYNAPSE_LIMITED",
        "`eval \"$(scripts/synapse.sh start limited --default-limits)\"`; scripts/test.sh does",
    ) else {
        return;
    };
    let (admin, bot) = (server.user("admin").await, server.user("bot").await);
    let room = admin.create_room("12", "invite").await;
    admin.invite(&room, &bot.id).await;
    bot.join(&room).await;
    // qunzhu's own limiter is opened wide so that Synapse's limits are the ones that bite.
    let connector = server
        .connector(&bot, &[], |config| {
            config.room_rate_per_second = 1000.0;
            config.room_burst = 1000;
            config.account_rate_per_second = 1000.0;
            config.account_burst = 1000;
        })
        .await;
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("workspace")
        .id;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let actions = (0..MESSAGES)
        .map(|index| NewAction {
            workspace,
            platform: Platform::Matrix,
            chat: room.clone(),
            key: format!("burst:{index}"),
            kind: ActionKind::SendMessage {
                text: format!("通知 {index:02}"),
                html: None,
                mentions: vec![],
                reply_to: None,
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::parse("test"),
            cause: None,
        })
        .collect();
    store.enqueue(actions).await.expect("enqueue");
    assert_eq!(connector.platform(), Platform::Matrix);
    let dispatcher = Dispatcher::new(
        store.clone(),
        Arc::new(connector),
        clock,
        DispatchConfig::default(),
    );
    let (mut done, mut throttled) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(180);
    while done < MESSAGES {
        assert!(
            Instant::now() < deadline,
            "not delivered in time: {done} of {MESSAGES}"
        );
        let round = dispatcher.run_once().await.expect("dispatch");
        done += round.done;
        throttled += round.deferred;
        assert_eq!(round.dead, 0);
        if round.claimed == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert!(
        throttled > 0,
        "Synapse's default limits never throttled the bot"
    );
    let sent = store
        .actions(
            workspace,
            &ActionFilter {
                status: Some(ActionStatus::Done),
                limit: Some(100),
                ..ActionFilter::default()
            },
        )
        .await
        .expect("actions");
    assert_eq!(sent.len(), MESSAGES);
    let bodies = admin.bodies(&room).await;
    for index in 0..MESSAGES {
        let text = format!("通知 {index:02}");
        assert_eq!(
            bodies.iter().filter(|body| **body == text).count(),
            1,
            "{text} seen once by the admin: {bodies:?}"
        );
    }
    println!(
        "delivered {MESSAGES} messages through {throttled} deferrals on Synapse's default limits"
    );
}

//! A point drop (红包雨) on a real Synapse: the bot announces it in a room of real member
//! accounts, the first two who answer with the keyword get points exactly once (a second answer
//! and a third member get nothing), the ledger settles the grants, and the room sees who won.

mod support;

use std::sync::Arc;

use qunzhu_connector::Connector;
use qunzhu_domain::{Account, Clock, Platform, SystemClock};
use qunzhu_engine::{Decider, DispatchConfig, Dispatcher, DropWatcher, Drops, DropsHandle};
use qunzhu_growth::drop::DropSpec;
use qunzhu_growth::lottery::Prize;
use qunzhu_storage::{NewDrop, NewWorkspace, Store};
use support::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_two_keyword_answers_get_points_exactly_once() {
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
    for user in [&alice, &bob, &carol, &bot] {
        admin.invite(&room, &user.id).await;
        user.join(&room).await;
    }
    let connector = Arc::new(server.connector(&bot, &[], |_| {}).await);
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
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
    store
        .schedule_drop(
            workspace,
            NewDrop {
                key: "drop:synapse".into(),
                platform: Platform::Matrix,
                chat: room.clone(),
                spec: DropSpec {
                    keyword: "红包".into(),
                    shares: 2,
                    prize: Prize::Points { points: 7 },
                    minutes: 10,
                },
                starts_at: clock.now(),
                origin: qunzhu_domain::ActionOrigin::Operator(qunzhu_domain::ActorName::User(
                    "ops".into(),
                )),
            },
        )
        .await
        .expect("schedule");
    let watcher = DropWatcher {
        store: store.clone(),
        workspace,
        handle: DropsHandle::default(),
        clock: clock.clone(),
        every: std::time::Duration::from_secs(2),
    };
    watcher.sync().await.expect("sync");
    let decider: Arc<tokio::sync::Mutex<Box<dyn Decider>>> =
        Arc::new(tokio::sync::Mutex::new(Box::new(Drops::new(
            workspace,
            Platform::Matrix,
            watcher.handle.clone(),
        ))));
    let ingestor = qunzhu_engine::Ingestor::new(
        store.clone(),
        clock.clone(),
        chrono_tz::Asia::Shanghai,
        connector.id(),
        decider.clone(),
    );
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        clock.clone(),
        DispatchConfig::default(),
    );
    // Catch up with the room's history before the drop opens.
    let mut cursor = None;
    for _ in 0..2 {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
    }
    let opened = decider.lock().await.tick(clock.now());
    store.enqueue(opened).await.expect("announce");
    dispatcher.run_once().await.expect("dispatch");

    alice.say(&room, "红包").await;
    alice.say(&room, "红包").await;
    bob.say(&room, "红包！").await;
    carol.say(&room, "红包").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        let heard = batch.events.len();
        ingestor.ingest(batch).await.expect("ingest");
        let said = store
            .actions(workspace, &qunzhu_storage::ActionFilter::default())
            .await
            .expect("actions")
            .iter()
            .any(|action| action.key.ends_with(":end"));
        if said {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the drop did not end ({heard} events in the last poll)"
        );
    }
    let worker = qunzhu_engine::LedgerWorker {
        store: store.clone(),
        clock: clock.clone(),
        config: qunzhu_engine::LedgerWorkerConfig::default(),
    };
    worker.run_once().await.expect("settle");
    worker.run_once().await.expect("settle again");
    dispatcher.run_once().await.expect("dispatch");
    let balance = |user: &str| {
        let store = store.clone();
        let account = Account::member(Platform::Matrix, user.to_string());
        async move { store.balance(workspace, &account).await.expect("balance") }
    };
    assert_eq!(
        balance(&alice.id).await,
        7,
        "alice answered twice, paid once"
    );
    assert_eq!(balance(&bob.id).await, 7);
    assert_eq!(balance(&carol.id).await, 0, "only two shares");
    let seen = carol.bodies(&room).await;
    assert_eq!(
        seen.iter()
            .filter(|body| body.starts_with("🧧 红包雨来了"))
            .count(),
        1,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter()
            .filter(|body| body.starts_with("🧧 红包雨结束：2 / 2"))
            .count(),
        1,
        "{seen:?}"
    );
}

//! A 拼 group-buy on a real Synapse: real member accounts open and join a team of three in a
//! room, the room sees "成团" exactly once, each of the three gets the team-price coupon exactly
//! once, and a fourth who tries to join the full team is told so and gets nothing.

mod support;

use std::sync::Arc;

use qunzhu_connector::Connector;
use qunzhu_domain::{Clock, DocumentKind, Platform, SystemClock};
use qunzhu_engine::{Decider, DispatchConfig, Dispatcher, Nothing, Plays};
use qunzhu_storage::{ActionFilter, NewWorkspace, Store};
use support::Server;

fn team(room: &str) -> String {
    format!(
        "kind = \"group_buy\"\ntitle = \"三人拼咖啡豆\"\nplatform = \"matrix\"\ngroups = [\"{room}\"]\n\
         starts = \"2020-01-01T00:00:00Z\"\nends = \"2099-01-01T00:00:00Z\"\n\n[group_buy]\n\
         item = \"咖啡豆\"\nteam_size = 3\nhours = 24\nprice_cents = 9900\nteam_price_cents = 5900\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_of_three_forms_in_the_room_and_each_member_gets_the_coupon_once() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, alice, bob, carol, dave, bot) = (
        server.user("admin").await,
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
        server.user("dave").await,
        server.user("bot").await,
    );
    let room = admin.create_room("12", "invite").await;
    for user in [&alice, &bob, &carol, &dave, &bot] {
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
        .put_document(
            workspace,
            DocumentKind::Play,
            "beans",
            &team(&room),
            "test",
            clock.now(),
        )
        .await
        .expect("play");
    let decider: Arc<tokio::sync::Mutex<Box<dyn Decider>>> =
        Arc::new(tokio::sync::Mutex::new(Box::new(Nothing)));
    let ingestor = qunzhu_engine::Ingestor::new(
        store.clone(),
        clock.clone(),
        chrono_tz::Asia::Shanghai,
        connector.id(),
        decider,
    );
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        clock.clone(),
        DispatchConfig::default(),
    );
    let plays = Plays {
        store: store.clone(),
        clock: clock.clone(),
        workspace,
        batch: 500,
        every: std::time::Duration::from_secs(1),
    };
    let mut cursor = None;
    for _ in 0..2 {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
    }
    alice.say(&room, "开团").await;
    bob.say(&room, "参团 1").await;
    bob.say(&room, "参团 1").await;
    carol.say(&room, "参团").await;
    dave.say(&room, "参团 1").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
        plays.run_once().await.expect("plays");
        let keys: Vec<String> = store
            .actions(workspace, &ActionFilter::default())
            .await
            .expect("actions")
            .into_iter()
            .map(|action| action.key)
            .collect();
        // Dave's answer is the last thing decided: the team is formed and he was told.
        if keys.iter().any(|key| key == "play:beans:1:done")
            && keys
                .iter()
                .filter(|key| key.starts_with("play:beans:answer:"))
                .count()
                == 2
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the team did not form: {keys:?}"
        );
    }
    // Rounds again (a restart, another instance): nothing more is decided.
    let play_actions = |actions: &[qunzhu_domain::ActionRecord]| {
        actions
            .iter()
            .filter(|a| a.key.starts_with("play:"))
            .count()
    };
    let before = play_actions(
        &store
            .actions(workspace, &ActionFilter::default())
            .await
            .expect("actions"),
    );
    plays.run_once().await.expect("again");
    let again = store
        .actions(workspace, &ActionFilter::default())
        .await
        .expect("actions");
    assert_eq!(
        play_actions(&again),
        before,
        "no play action was decided twice"
    );
    assert_eq!(
        before, 8,
        "start, a join, two answers, done, three coupons: {again:?}"
    );
    let worker = qunzhu_engine::LedgerWorker {
        store: store.clone(),
        clock: clock.clone(),
        config: qunzhu_engine::LedgerWorkerConfig::default(),
    };
    worker.run_once().await.expect("issue");
    worker.run_once().await.expect("issue again");
    for _ in 0..3 {
        dispatcher.run_once().await.expect("dispatch");
    }
    let after = store
        .actions(workspace, &ActionFilter::default())
        .await
        .expect("actions");
    // The ledger worker issued the coupons and tells each member their code in the room.
    assert!(
        after
            .iter()
            .all(|a| a.status == qunzhu_domain::ActionStatus::Done),
        "{after:?}"
    );
    for user in [&alice, &bob, &carol] {
        let coupons = store
            .member_coupons(workspace, Platform::Matrix, &user.id)
            .await
            .expect("coupons");
        assert_eq!(coupons.len(), 1, "{} gets one coupon", user.id);
        assert_eq!(
            coupons[0].issued.offer,
            qunzhu_domain::CouponOffer::AmountOff { cents: 4000 }
        );
    }
    assert!(store
        .member_coupons(workspace, Platform::Matrix, &dave.id)
        .await
        .expect("coupons")
        .is_empty());
    let seen = dave.bodies(&room).await;
    let count = |needle: &str| seen.iter().filter(|body| body.contains(needle)).count();
    assert_eq!(count("成团！"), 1, "{seen:?}");
    assert_eq!(count("还差 1 人成团"), 1, "{seen:?}");
    assert_eq!(count("你已在 #1 中"), 1, "{seen:?}");
    assert_eq!(count("人满了"), 1, "{seen:?}");
}

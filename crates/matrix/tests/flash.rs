//! A flash group 快闪群 on a real Synapse: the plan opens, the bot creates the room, a member
//! joins and talks; a day later the closing message offers the long-lived group, the room is
//! renamed "（已结束）" and its posting level raised — the member can no longer post. Each step
//! is one outbox action, and a fresh keeper (a restart) after the end writes nothing.
//! With `end = "dissolve"`, after the grace period every member the memberships read model
//! holds who is not staff is kicked, once each, and the group is marked dissolved.

mod support;

use std::sync::Arc;

use chrono::{Timelike, Utc};
use qunzhu_connector::Connector;
use qunzhu_domain::{Clock, FakeClock, Platform};
use qunzhu_engine::{DispatchConfig, Dispatcher, FlashKeeper};
use qunzhu_growth::flash::{Can, Stage};
use qunzhu_ops::Ops;
use qunzhu_storage::{ActionFilter, NewWorkspace, Store};
use reqwest::Method;
use serde_json::json;
use support::Server;

const PLAN: &str = r#"title = "双十二快闪"
platform = "matrix"
opens = "OPENS"
days = 1
link = "https://matrix.to/#/#vip:example.org"
name = "双十二快闪群"
join_rule = "public"
tags = ["1212"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_group_is_created_closed_with_the_long_lived_link_and_archived() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let bot = server.user("flashbot").await;
    let guest = server.user("flashguest").await;
    let connector = Arc::new(server.connector(&bot, &[], |_| {}).await);
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    // On the minute, so the plan's local `opens` is exactly now.
    let start = Utc::now()
        .with_second(0)
        .and_then(|at| at.with_nanosecond(0));
    let clock = FakeClock::new(start.expect("a minute"));
    let clock_arc: Arc<dyn Clock> = Arc::new(clock.clone());
    let zone = chrono_tz::Asia::Shanghai;
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: zone,
        })
        .await
        .expect("ws")
        .id;
    let opens = clock
        .now()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let ops = Ops::new(store.clone(), clock_arc.clone());
    ops.save_flash(
        &qunzhu_ops::Actor::cli(workspace),
        "d12",
        &PLAN.replace("OPENS", &opens),
    )
    .await
    .expect("save");
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        clock_arc.clone(),
        DispatchConfig::default(),
    );
    let capabilities = connector.capabilities();
    let keeper = || FlashKeeper {
        store: store.clone(),
        clock: clock_arc.clone(),
        workspace,
        platform: Platform::Matrix,
        can: Can {
            create_groups: capabilities.create_groups,
            send: capabilities.send_autonomously,
            rename: capabilities.edit_group,
            set_posting_level: capabilities.lock_posting,
            kick: capabilities.kick,
        },
        base_url: "https://q.example".into(),
        bot: connector.bot_user(),
        every: std::time::Duration::from_secs(1),
        alerted: Arc::default(),
    };
    let stage = |round: Vec<qunzhu_engine::FlashStatus>| round[0].stage;

    assert_eq!(
        stage(keeper().run_once().await.expect("open")),
        Stage::Creating
    );
    dispatcher.run_once().await.expect("create");
    let round = keeper().run_once().await.expect("record");
    assert_eq!(round[0].stage, Stage::Running);
    let room = round[0].chat.clone().expect("the created room");
    guest.join(&room).await;
    guest.say(&room, "我要一份").await;

    clock.advance(chrono::Duration::days(1));
    assert_eq!(
        stage(keeper().run_once().await.expect("close")),
        Stage::Closing
    );
    dispatcher.run_once().await.expect("closing message");
    assert_eq!(
        stage(keeper().run_once().await.expect("archive")),
        Stage::Archiving
    );
    dispatcher.run_once().await.expect("rename and lock");
    assert_eq!(
        stage(keeper().run_once().await.expect("finish")),
        Stage::Archived
    );

    let bodies = bot.bodies(&room).await;
    assert!(
        bodies
            .iter()
            .any(|body| body.contains("https://matrix.to/#/#vip:example.org")),
        "{bodies:?}"
    );
    let name = bot
        .call(
            Method::GET,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.name/",
                qunzhu_matrix::encode(&room)
            ),
            None,
        )
        .await;
    assert_eq!(name["name"], "双十二快闪群（已结束）");
    assert_eq!(bot.power_levels(&room).await["events_default"], 50);
    let refused = guest
        .client
        .call(
            Method::PUT,
            &format!(
                "/_matrix/client/v3/rooms/{}/send/m.room.message/after-close",
                qunzhu_matrix::encode(&room)
            ),
            Some(&json!({"msgtype": "m.text", "body": "还能买吗"})),
            None,
        )
        .await;
    assert!(
        matches!(&refused, Err(error) if error.to_string().contains("M_FORBIDDEN")),
        "a member can no longer post: {refused:?}"
    );

    // A restart long after the end writes nothing more.
    clock.advance(chrono::Duration::days(7));
    keeper().run_once().await.expect("later");
    let actions = store
        .actions(workspace, &ActionFilter::default())
        .await
        .expect("outbox");
    assert_eq!(actions.len(), 4, "create, close, rename, lock: once each");
}

const DISSOLVE: &str = r#"title = "双十二快闪"
platform = "matrix"
opens = "OPENS"
days = 1
link = "https://matrix.to/#/#vip:example.org"
name = "双十二快闪群"
join_rule = "public"
moderators = { "MODERATOR" = 50 }
end = "dissolve"
grace_hours = 2
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dissolving_flash_group_kicks_its_members_once_and_is_marked_dissolved() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let bot = server.user("flashbot").await;
    let moderator = server.user("flashmod").await;
    let buyers = [
        server.user("flashbuyer").await,
        server.user("flashbuyer").await,
    ];
    let connector = Arc::new(server.connector(&bot, &[], |_| {}).await);
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    let start = Utc::now()
        .with_second(0)
        .and_then(|at| at.with_nanosecond(0));
    let clock = FakeClock::new(start.expect("a minute"));
    let clock_arc: Arc<dyn Clock> = Arc::new(clock.clone());
    let zone = chrono_tz::Asia::Shanghai;
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: zone,
        })
        .await
        .expect("ws")
        .id;
    let opens = clock
        .now()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let plan = DISSOLVE
        .replace("OPENS", &opens)
        .replace("MODERATOR", &moderator.id);
    let ops = Ops::new(store.clone(), clock_arc.clone());
    // Its own plan name: the room alias comes from the create's key, and the archive test's
    // `d12` room already holds that alias on this homeserver.
    let name = format!("dissolve{:08x}", rand::random::<u32>());
    ops.save_flash(&qunzhu_ops::Actor::cli(workspace), &name, &plan)
        .await
        .expect("save");
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        clock_arc.clone(),
        DispatchConfig::default(),
    );
    let decider: Arc<tokio::sync::Mutex<Box<dyn qunzhu_engine::Decider>>> =
        Arc::new(tokio::sync::Mutex::new(Box::new(qunzhu_engine::Nothing)));
    let ingestor = qunzhu_engine::Ingestor::new(
        store.clone(),
        clock_arc.clone(),
        zone,
        connector.id(),
        decider,
    );
    let capabilities = connector.capabilities();
    let keeper = || FlashKeeper {
        store: store.clone(),
        clock: clock_arc.clone(),
        workspace,
        platform: Platform::Matrix,
        can: Can {
            create_groups: capabilities.create_groups,
            send: capabilities.send_autonomously,
            rename: capabilities.edit_group,
            set_posting_level: capabilities.lock_posting,
            kick: capabilities.kick,
        },
        base_url: "https://q.example".into(),
        bot: connector.bot_user(),
        every: std::time::Duration::from_secs(1),
        alerted: Arc::default(),
    };
    let stage = |round: Vec<qunzhu_engine::FlashStatus>| round[0].stage;

    keeper().run_once().await.expect("open");
    dispatcher.run_once().await.expect("create");
    let round = keeper().run_once().await.expect("record");
    assert_eq!(round[0].stage, Stage::Running);
    let room = round[0].chat.clone().expect("the created room");
    moderator.join(&room).await;
    for buyer in &buyers {
        buyer.join(&room).await;
    }
    // The connector's sync, ingested: the memberships read model learns who is in the room.
    let group = store
        .groups(workspace)
        .await
        .expect("groups")
        .into_iter()
        .find(|summary| summary.group.chat == room)
        .expect("recorded")
        .group;
    let group_id = group.id;
    let present = |store: Arc<dyn Store>| async move {
        let query = qunzhu_storage::MemberQuery {
            group_id: Some(group_id),
            ..Default::default()
        };
        let mut users: Vec<String> = store
            .members(workspace, &query)
            .await
            .expect("members")
            .into_iter()
            .map(|summary| summary.member.user.0)
            .collect();
        users.sort();
        users
    };
    let mut cursor = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while present(store.clone()).await.len() < 4 {
        assert!(std::time::Instant::now() < deadline, "joins not seen");
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
    }

    clock.advance(chrono::Duration::days(1));
    for _ in 0..3 {
        keeper().run_once().await.expect("close, archive, finish");
        dispatcher.run_once().await.expect("dispatch");
    }
    assert_eq!(
        stage(keeper().run_once().await.expect("grace")),
        Stage::Dissolving
    );
    assert_eq!(
        bot.joined_members(&room).await.len(),
        4,
        "nobody is removed during the grace period"
    );

    clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        stage(keeper().run_once().await.expect("kicks")),
        Stage::Dissolving
    );
    dispatcher.run_once().await.expect("kick");
    // Deciding again before the kicks are logged writes nothing new.
    assert_eq!(
        stage(keeper().run_once().await.expect("dissolve")),
        Stage::Dissolved
    );
    let mut left = bot.joined_members(&room).await;
    left.sort();
    let mut staff = vec![bot.id.clone(), moderator.id.clone()];
    staff.sort();
    assert_eq!(
        left, staff,
        "the buyers are removed; the bot and the moderator stay"
    );
    let group = store.group(workspace, group.id).await.expect("group");
    assert_eq!(group.status, qunzhu_domain::GroupStatus::Dissolved);

    // The kicks come back through the sync as removals; a restart much later writes nothing.
    for _ in 0..3 {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
    }
    clock.advance(chrono::Duration::days(7));
    keeper().run_once().await.expect("later");
    let actions = store
        .actions(workspace, &ActionFilter::default())
        .await
        .expect("outbox");
    let kicks: Vec<&str> = actions
        .iter()
        .filter(|action| action.kind.name() == "kick")
        .map(|action| action.key.as_str())
        .collect();
    assert_eq!(kicks.len(), 2, "one kick per buyer: {kicks:?}");
    assert_eq!(
        actions.len(),
        6,
        "create, close, rename, lock and two kicks: once each"
    );
    assert!(actions
        .iter()
        .all(|action| action.status == qunzhu_domain::ActionStatus::Done));
}

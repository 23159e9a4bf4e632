//! A flash group 快闪群 on a real Synapse: the plan opens, the bot creates the room, a member
//! joins and talks; a day later the closing message offers the long-lived group, the room is
//! renamed "（已结束）" and its posting level raised — the member can no longer post. Each step
//! is one outbox action, and a fresh keeper (a restart) after the end writes nothing.

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
            set_posting_level: capabilities.set_power_level,
        },
        base_url: "https://q.example".into(),
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

//! A leaderboard post (排行榜) on a real Synapse: planned with `{points_leaders}` open, points are
//! granted after planning, and the post a member receives ranks them as they stood when sent.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{Account, Clock, DocumentKind, FakeClock, NewEntry, Platform, Reason};
use qunzhu_engine::{DispatchConfig, Dispatcher, Planner};
use qunzhu_storage::{NewWorkspace, Store};
use support::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_receives_the_points_board_in_rank_order() {
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
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-24T20:59:00+08:00")
        .expect("time")
        .to_utc();
    let clock = FakeClock::new(start);
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
    let plan = "id = \"race\"\nname = \"积分榜\"\n[target]\nall = true\n\n[[steps]]\nid = \"board\"\nrepeat = \"once\"\ndate = \"2026-11-24\"\nat = \"21:00\"\ntext = \"💰 积分榜\\n{points_leaders}\"\n";
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "race",
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
        base_url: "http://127.0.0.1".into(),
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
    // After planning: alice earns more than admin.
    let grants = [(&alice.id, 40), (&admin.id, 15)]
        .iter()
        .map(|(user, points)| NewEntry {
            key: format!("grant:{user}"),
            reason: Reason::CheckIn,
            cause: None,
            from: Account::Issuance,
            to: Account::member(Platform::Matrix, user.to_string()),
            amount: *points,
            at: clock.now(),
            memo: String::new(),
            reverses: None,
        })
        .collect();
    store.post_entries(workspace, grants).await.expect("grants");
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector,
        Arc::new(clock.clone()),
        DispatchConfig::default(),
    );
    clock.advance(Duration::minutes(1));
    assert_eq!(dispatcher.run_once().await.expect("dispatch").done, 1);
    let posts: Vec<String> = alice
        .bodies(&room)
        .await
        .into_iter()
        .filter(|body| body.starts_with("💰 积分榜"))
        .collect();
    assert_eq!(
        posts,
        [format!(
            "💰 积分榜\n🥇 {} 40分\n🥈 {} 15分",
            alice.id, admin.id
        )],
        "ranked at send time (no display names known: ids shown)"
    );
}

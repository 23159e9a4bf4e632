//! A crash between a callback and the poll that would have drained it loses nothing: the
//! callback was in the connector's inbox before WeCom got its answer, and a new process (real
//! SQLite store, the engine's runner) logs it with its attribution.

mod support;

use std::sync::Arc;
use std::time::Duration;

use qunzhu_domain::{Clock, EventKind, JoinVia, WorkspaceId};
use qunzhu_engine::{ConnectorRuntime, Nothing, RuntimeConfig};
use qunzhu_storage::{Directory, NewWorkspace, Store};
use qunzhu_storage_sqlite::SqliteStore;
use qunzhu_wecom::{MemoryTokenCache, WecomConnector};
use support::{config, serve, Rig};

async fn store(path: &std::path::Path) -> Arc<dyn Store> {
    let store = Arc::new(SqliteStore::open(path).unwrap());
    store
        .ensure_workspace(NewWorkspace {
            slug: "brand".into(),
            name: "Brand".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap();
    store
}

async fn run_until<F>(
    store: Arc<dyn Store>,
    connector: Arc<WecomConnector>,
    clock: Arc<dyn Clock>,
    done: F,
) where
    F: Fn(&[qunzhu_storage::StoredEvent]) -> bool,
{
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let clock_for_health = clock.clone();
    let runtime = ConnectorRuntime::spawn(
        store.clone(),
        connector,
        clock,
        Box::new(Nothing),
        RuntimeConfig::default(),
        stopped,
        &qunzhu_engine::Health::new(clock_for_health),
    );
    let mut ok = false;
    for _ in 0..200 {
        let events = store.events(WorkspaceId(1), 0, 1000).await.unwrap();
        if done(&events) {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    runtime.join().await;
    assert!(ok, "the store never got the expected events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_callback_and_poll_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("qunzhu.db");
    let files = dir.path().join("wecom");
    let rig = Rig::start(&files).await;
    let now = rig.now();
    rig.fake
        .with(|world| world.create_group("wrCrash", "zhangsan", "crash", now));
    rig.fake.lose_outgoing();
    let clock: Arc<dyn Clock> = Arc::new(rig.clock.clone());

    // First life: the engine sees the group.
    run_until(
        store(&database).await,
        rig.connector.clone(),
        clock.clone(),
        |events| {
            events
                .iter()
                .any(|stored| matches!(&stored.event.kind, EventKind::MemberPresent { .. }))
        },
    )
    .await;

    let way = rig
        .connector
        .add_join_way("crash_code", &["wrCrash".to_string()], "")
        .await
        .unwrap();
    rig.fake
        .with(|world| world.join_via_way(&way.config_id, "wmSurvivor", "活下来", now + 1));
    let deliveries = rig.fake.deliver_all(&rig.target).await;
    assert!(deliveries[0].accepted());

    // The process dies right after answering WeCom, before any poll.
    let fake = rig.fake.clone();
    drop(rig);

    // Second life: a new connector on the same files, a new store handle, the engine's runner.
    let connector = Arc::new(
        WecomConnector::open(
            config(&fake, &files),
            WorkspaceId(1),
            clock.clone(),
            Arc::new(MemoryTokenCache::default()),
        )
        .unwrap(),
    );
    let _url = serve(&connector).await;
    let store = store(&database).await;
    run_until(store.clone(), connector, clock, |events| {
        events.iter().any(|stored| {
            matches!(&stored.event.kind, EventKind::MemberJoined { member, via: JoinVia::Link { code }, .. }
                if member == "wmSurvivor" && code == "crash_code")
        })
    })
    .await;
    let joins = store
        .events(WorkspaceId(1), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|stored| matches!(&stored.event.kind, EventKind::MemberJoined { .. }))
        .count();
    assert_eq!(joins, 1);
}

//! Crash safety, proven: qunzhu is killed with SIGKILL at random moments while it ingests and
//! dispatches; after every restart the log holds each platform event exactly once and the
//! platform saw each action's effect exactly once.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qunzhu_domain::{EventKind, WorkspaceId};
use qunzhu_storage::{ActionFilter, Store};
use rand::{Rng, SeedableRng};

const TRIALS: usize = 20;
const EVENTS: u64 = 2500;

fn config(dir: &Path, database_url: &str) -> String {
    format!(
        r#"data_dir = "{data}"
database_url = "{database_url}"
[workspace]
slug = "crash"
[http]
port = 0
[dispatch]
backoff_base_ms = 50
backoff_max_ms = 500
lease_seconds = 2
[sandbox]
enabled = true
max_events = {EVENTS}
greeting = "欢迎 {{name}}"
groups = 4
members_per_group = 12
messages_per_second = 30.0
join_chance = 0.6
leave_chance = 0.1
spammer_share = 0.0
wave_chance = 0.02
"#,
        data = dir.display()
    )
}

fn start(config_path: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(["serve", "--config"])
        .arg(config_path)
        .env("QUNZHU_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the qunzhu binary starts")
}

/// The world's own count of events it generated (read straight from its file).
fn world_generated(dir: &Path) -> u64 {
    let Ok(conn) = rusqlite::Connection::open(dir.join("sandbox.db")) else {
        return 0;
    };
    conn.busy_timeout(Duration::from_secs(5)).ok();
    conn.query_row("SELECT v FROM meta WHERE k = 'generated'", [], |row| {
        row.get::<_, String>(0)
    })
    .ok()
    .and_then(|value| value.parse().ok())
    .unwrap_or(0)
}

fn world_rows(dir: &Path, sql: &str) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(dir.join("sandbox.db")).expect("world file");
    let mut statement = conn.prepare(sql).expect("query");
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .expect("rows");
    rows.map(|row| row.expect("row")).collect()
}

async fn run(dir: &Path, database_url: &str, open: impl AsyncFn() -> std::sync::Arc<dyn Store>) {
    let config_path = dir.join("qunzhu.toml");
    std::fs::write(&config_path, config(dir, database_url)).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..TRIALS {
        let mut child = start(&config_path);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..1200))).await;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }
    assert!(world_generated(dir) > 0, "the world ran during the trials");

    // Let it finish the script undisturbed, then stop it and look.
    let mut child = start(&config_path);
    let deadline = Instant::now() + Duration::from_secs(180);
    let store = open().await;
    let workspace = store
        .workspaces()
        .await
        .unwrap()
        .into_iter()
        .find(|workspace| workspace.slug == "crash")
        .unwrap();
    loop {
        assert!(
            Instant::now() < deadline,
            "qunzhu did not finish the script in time"
        );
        let log = store.log_stats().await.unwrap();
        let counts = store.action_counts(workspace.id).await.unwrap();
        // Points for check-ins wait for the rewards ledger, not the platform: they stay pending.
        let pending = ActionFilter {
            status: Some(qunzhu_domain::ActionStatus::Pending),
            limit: Some(1_000_000),
            ..ActionFilter::default()
        };
        let platform_pending = store
            .actions(workspace.id, &pending)
            .await
            .unwrap()
            .iter()
            .filter(|action| action.kind.target() == qunzhu_domain::ActionTarget::Platform)
            .count();
        let timeline = world_rows(dir, "SELECT 'n', COUNT(*) FROM timeline")[0].1 as u64;
        if world_generated(dir) >= EVENTS
            && log.events == timeline
            && platform_pending == 0
            && counts.in_flight == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    check(dir, &*store, workspace.id).await;
}

async fn check(dir: &Path, store: &dyn Store, workspace: WorkspaceId) {
    // Every platform event is in the log exactly once.
    let logged = store.events(workspace, 0, 1_000_000).await.unwrap();
    let logged_keys: Vec<String> = logged
        .iter()
        .map(|stored| stored.event.key.clone())
        .collect();
    let unique: BTreeSet<&String> = logged_keys.iter().collect();
    assert_eq!(unique.len(), logged_keys.len(), "no event logged twice");
    let timeline: BTreeSet<String> = world_rows(dir, "SELECT key, seq FROM timeline")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(unique.len(), timeline.len(), "every platform event logged");
    assert!(unique.iter().all(|key| timeline.contains(*key)));

    // Every join got exactly one greeting, delivered, with exactly one effect on the platform.
    let joins: Vec<String> = logged
        .iter()
        .filter(|stored| matches!(stored.event.kind, EventKind::MemberJoined { .. }))
        .map(|stored| stored.event.key.clone())
        .collect();
    assert!(
        joins.len() > 20,
        "the script had joins to greet ({})",
        joins.len()
    );
    let actions = store
        .actions(
            workspace,
            &ActionFilter {
                limit: Some(1_000_000),
                ..ActionFilter::default()
            },
        )
        .await
        .unwrap();
    let by_key: HashMap<&str, &qunzhu_domain::ActionRecord> = actions
        .iter()
        .map(|action| (action.key.as_str(), action))
        .collect();
    let effects: HashMap<String, i64> = world_rows(
        dir,
        "SELECT cause, COUNT(*) FROM timeline WHERE cause IS NOT NULL GROUP BY cause",
    )
    .into_iter()
    .collect();
    for join in &joins {
        let key = format!("greet:{join}");
        let action = by_key
            .get(key.as_str())
            .unwrap_or_else(|| panic!("no greeting for {join}"));
        assert_eq!(
            action.status,
            qunzhu_domain::ActionStatus::Done,
            "{key}: {:?}",
            action.last_error
        );
        assert_eq!(
            effects.get(&key),
            Some(&1),
            "{key} seen on the platform exactly once"
        );
    }
    let greetings = actions
        .iter()
        .filter(|action| action.key.starts_with("greet:"))
        .count();
    assert_eq!(greetings, joins.len(), "one greeting per join, no more");
    // Every platform action (greetings, check-in confirmations…) acted exactly once.
    let platform_actions: Vec<_> = actions
        .iter()
        .filter(|action| action.kind.target() == qunzhu_domain::ActionTarget::Platform)
        .collect();
    for action in &platform_actions {
        assert_eq!(
            action.status,
            qunzhu_domain::ActionStatus::Done,
            "{}: {:?}",
            action.key,
            action.last_error
        );
        assert_eq!(
            effects.get(&action.key),
            Some(&1),
            "{} seen on the platform exactly once",
            action.key
        );
    }
    assert_eq!(
        effects.len(),
        platform_actions.len(),
        "the platform acted only for actions in the outbox"
    );
    let redelivered: i64 = world_rows(dir, "SELECT key, deliveries FROM received")
        .iter()
        .map(|(_, count)| count - 1)
        .sum();
    println!(
        "crash test: {} events, {} greetings, {} trials; {} duplicate events refused; {} actions redelivered after a kill",
        logged.len(),
        joins.len(),
        TRIALS,
        store.log_stats().await.unwrap().duplicates,
        redelivered
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_and_doubles_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qunzhu.db");
    run(dir.path(), "", async || {
        let store = qunzhu_storage_sqlite::SqliteStore::open(&path).unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn Store>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_and_doubles_nothing_on_postgres() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let open_url = url.clone();
    run(dir.path(), &url, async || {
        let store = qunzhu_storage_postgres::PostgresStore::connect(&open_url)
            .await
            .unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn Store>
    })
    .await;
}

//! Scale-out, proven: three `qunzhu serve` instances share one PostgreSQL and one Matrix bot
//! account. Exactly one of them polls the account (it holds the poll lease); SIGKILL that one and
//! another takes the account over within the lease time, resuming from the stored cursor, with no
//! event lost or logged twice and every newcomer greeted exactly once, as a member sees it.

#[path = "../../matrix/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qunzhu_domain::EventKind;
use qunzhu_storage::Store;

const LEASE_SECONDS: u64 = 3;

fn config(
    dir: &Path,
    database_url: &str,
    instance: &str,
    homeserver: &str,
    bot: &support::User,
    inviter: &str,
) -> String {
    format!(
        r#"data_dir = "{data}"
database_url = "{database_url}"
[workspace]
slug = "scale"
[http]
port = 0
[cluster]
instance = "{instance}"
poll_lease_seconds = {LEASE_SECONDS}
[dispatch]
backoff_base_ms = 50
backoff_max_ms = 500
lease_seconds = 2
[sandbox]
enabled = false
greeting = "欢迎 {{name}}"
[matrix]
enabled = true
homeserver = "{homeserver}"
user_id = "{bot_id}"
access_token = "{token}"
allowed_inviters = ["{inviter}"]
sync_timeout_ms = 500
room_rate_per_second = 1000.0
room_burst = 1000
account_rate_per_second = 1000.0
account_burst = 1000
"#,
        data = dir.display(),
        bot_id = bot.id,
        token = bot.token,
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

/// Waits until `check` holds, or fails the test saying what it waited for.
async fn wait_for<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_poller_is_replaced_within_the_lease_and_nothing_is_lost_or_doubled() {
    let Some(base_url) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let Some(server) = support::Server::relaxed() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: the scale-out test needs a Synapse (QUNZHU_TEST_SYNAPSE_URL)"
        );
        return;
    };
    let (database_url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base_url)
        .await
        .expect("a fresh database");

    let bot = server.user("scalebot").await;
    let owner = server.user("owner").await;
    let room = owner.create_room("11", "public").await;
    owner.invite(&room, &bot.id).await;

    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut instances: Vec<(String, Child)> = dirs
        .iter()
        .enumerate()
        .map(|(index, dir)| {
            let name = format!("instance-{index}");
            let path = dir.path().join("qunzhu.toml");
            std::fs::write(
                &path,
                config(
                    dir.path(),
                    &database_url,
                    &name,
                    &server.url,
                    &bot,
                    &owner.id,
                ),
            )
            .unwrap();
            (name, start(&path))
        })
        .collect();

    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&database_url)
            .await
            .expect("store"),
    );
    let lease = format!("poll:matrix:{}", bot.id);
    let first = wait_for(
        "one instance to hold the poll lease",
        Duration::from_secs(60),
        async || {
            store
                .lease(&lease)
                .await
                .ok()
                .flatten()
                .map(|lease| lease.holder)
        },
    )
    .await;
    wait_for(
        "the bot to join the room",
        Duration::from_secs(30),
        async || {
            owner
                .joined_members(&room)
                .await
                .contains(&bot.id)
                .then_some(())
        },
    )
    .await;

    // Before the kill: messages and a newcomer, greeted once.
    for n in 0..5 {
        owner.say(&room, &format!("before {n}")).await;
    }
    let early = server.user("early").await;
    early.join(&room).await;
    wait_for(
        "the early newcomer's greeting",
        Duration::from_secs(30),
        async || {
            owner
                .bodies(&room)
                .await
                .iter()
                .any(|body| body.starts_with("欢迎"))
                .then_some(())
        },
    )
    .await;

    // SIGKILL the poller: no lease release, no goodbye.
    let killed_at = Instant::now();
    let position = instances
        .iter()
        .position(|(name, _)| *name == first)
        .expect("the holder is one of ours");
    let (_, mut child) = instances.remove(position);
    child.kill().expect("SIGKILL");
    child.wait().unwrap();

    for n in 0..5 {
        owner.say(&room, &format!("after {n}")).await;
    }
    let late = server.user("late").await;
    late.join(&room).await;

    let second = wait_for(
        "another instance to take the lease over",
        Duration::from_secs(30),
        async || {
            store
                .lease(&lease)
                .await
                .ok()
                .flatten()
                .filter(|lease| lease.holder != first)
                .map(|lease| lease.holder)
        },
    )
    .await;
    let took_over = killed_at.elapsed();
    assert!(
        took_over < Duration::from_secs(LEASE_SECONDS * 3),
        "taken over after {took_over:?}, lease {LEASE_SECONDS} s"
    );
    assert!(instances.iter().any(|(name, _)| *name == second));

    let workspace = store
        .workspaces()
        .await
        .unwrap()
        .into_iter()
        .find(|workspace| workspace.slug == "scale")
        .expect("workspace");
    let texts = wait_for(
        "every message in the log",
        Duration::from_secs(60),
        async || {
            let events = store.events(workspace.id, 0, 100_000).await.ok()?;
            let texts: Vec<String> = events
                .iter()
                .filter_map(|stored| match &stored.event.kind {
                    EventKind::MessagePosted {
                        text,
                        from_bot: false,
                        ..
                    } => Some(text.clone()),
                    _ => None,
                })
                .collect();
            (texts
                .iter()
                .filter(|text| text.starts_with("after "))
                .count()
                == 5)
                .then_some(texts)
        },
    )
    .await;
    wait_for(
        "the late newcomer's greeting",
        Duration::from_secs(30),
        async || {
            let greetings = owner
                .bodies(&room)
                .await
                .iter()
                .filter(|body| body.starts_with("欢迎"))
                .count();
            (greetings >= 2).then_some(())
        },
    )
    .await;
    // Let any straggler (a second poller, a resend) show itself before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let unique: BTreeSet<&String> = texts.iter().collect();
    assert_eq!(texts.len(), 10, "every message logged: {texts:?}");
    assert_eq!(unique.len(), 10, "no message logged twice");
    let events = store.events(workspace.id, 0, 100_000).await.unwrap();
    let keys: Vec<&str> = events
        .iter()
        .map(|stored| stored.event.key.as_str())
        .collect();
    let unique_keys: BTreeSet<&&str> = keys.iter().collect();
    assert_eq!(keys.len(), unique_keys.len(), "no event logged twice");
    let greetings: Vec<String> = owner
        .bodies(&room)
        .await
        .into_iter()
        .filter(|body| body.starts_with("欢迎"))
        .collect();
    assert_eq!(
        greetings.len(),
        2,
        "each newcomer greeted exactly once: {greetings:?}"
    );

    for (_, mut child) in instances {
        child.kill().ok();
        child.wait().ok();
    }
}

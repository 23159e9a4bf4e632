//! `qunzhu serve` with a `[wecom]` section against the fake WeCom: the callback route is served
//! on qunzhu's own port, a join through a live code reaches the store with its attribution, and
//! the app secret never appears in the log.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use qunzhu_domain::{Clock, EventKind, JoinVia, SystemClock, WorkspaceId};
use qunzhu_storage::EventLog;
use qunzhu_wecom_fake::{CallbackTarget, FakeWecom, AES_KEY, CORP_ID, SECRET, TOKEN};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_wecom_callbacks_into_the_log() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let fake = FakeWecom::start(clock.clone()).await;
    let now = clock.now().timestamp();
    fake.with(|world| world.create_group("wrServe", "zhangsan", "serve", now));
    fake.lose_outgoing();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("qunzhu.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[http]\nport = {port}\n[wecom]\nenabled = true\ncorp_id = \"{CORP_ID}\"\napi_base = \"{}\"\nsettle_ms = 0\npoll_wait_ms = 200\n",
            dir.path().display(),
            fake.base_url
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("QUNZHU_DATABASE_URL")
        .env("QUNZHU_LOG", "info")
        .env("QUNZHU_WECOM_SECRET", SECRET)
        .env("QUNZHU_WECOM_TOKEN", TOKEN)
        .env("QUNZHU_WECOM_AES_KEY", AES_KEY)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        // `/healthz` answers while the engine is built; the webhook is there once it is up.
        let answer = http.get(format!("{base}/healthz")).send().await;
        if let Ok(answer) = answer {
            let body: serde_json::Value = answer.json().await.unwrap_or_default();
            if body["status"] != "starting" {
                up = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "qunzhu serve did not come up");
    // The connector's first sync of the group is logged before anyone joins: a member that sync
    // finds is present (no attribution), so a join before it would be seen as a presence.
    let store = qunzhu_storage_sqlite::SqliteStore::open(&dir.path().join("qunzhu.db")).unwrap();
    let mut synced = false;
    for _ in 0..100 {
        let events = store.events(WorkspaceId(1), 0, 1000).await.unwrap();
        if events.iter().any(|stored| stored.event.chat == "wrServe") {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(synced, "the first sync of the group never reached the log");

    let config_id = fake.with(|world| {
        world.ways.insert(
            "cfgServe".into(),
            qunzhu_wecom_fake::FakeWay {
                state: "serve_code".into(),
                chat_ids: vec!["wrServe".into()],
                ..Default::default()
            },
        );
        "cfgServe".to_string()
    });
    fake.with(|world| world.join_via_way(&config_id, "wmServe", "服务", now + 1));
    let target = CallbackTarget::new(format!("{base}/hooks/wecom/main"));
    let deliveries = fake.deliver_all(&target).await;
    assert!(deliveries[0].accepted(), "{deliveries:?}");

    let mut found = false;
    for _ in 0..100 {
        let events = store.events(WorkspaceId(1), 0, 1000).await.unwrap();
        found = events.iter().any(|stored| {
            matches!(&stored.event.kind, EventKind::MemberJoined { member, via: JoinVia::Link { code }, .. }
                if member == "wmServe" && code == "serve_code")
        });
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(found, "the join never reached the log:\n{log}");
    assert!(log.contains("WeCom callbacks served"), "{log}");
    for secret in [SECRET, TOKEN, AES_KEY] {
        assert!(!log.contains(secret), "a secret in the log:\n{log}");
    }
}

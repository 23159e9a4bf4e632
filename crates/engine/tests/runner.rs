//! The connector loops under supervision (issue #11.2): a platform that answers every poll with
//! a server error is retried with backoff by a poll loop that stays up, and health says why.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use qunzhu_connector::{Batch, Capabilities, Connector, ConnectorError};
use qunzhu_domain::{ActionRecord, Platform, SystemClock};
use qunzhu_engine::health::ConnectorState;
use qunzhu_engine::{ConnectorRuntime, Health, Nothing, RuntimeConfig};
use qunzhu_storage::Store;

/// Every poll fails as a homeserver's endless 502 would.
struct AlwaysDown {
    polls: AtomicU32,
    capabilities: Capabilities,
}

#[async_trait]
impl Connector for AlwaysDown {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }
    fn id(&self) -> &str {
        "down"
    }
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    async fn poll(&self, _cursor: Option<&str>) -> qunzhu_connector::Result<Batch> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        Err(ConnectorError::Transient(
            "502 Bad Gateway from homeserver".into(),
        ))
    }
    async fn execute(&self, _action: &ActionRecord) -> qunzhu_connector::Result<Option<String>> {
        Err(ConnectorError::Transient("502".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_server_error_is_retried_by_a_poll_loop_that_stays_up() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let connector = Arc::new(AlwaysDown {
        polls: AtomicU32::new(0),
        capabilities: qunzhu_sandbox::sandbox_capabilities(),
    });
    let clock = Arc::new(SystemClock);
    let health = Health::new(clock.clone());
    let (stop_sender, stop) = tokio::sync::watch::channel(false);
    let runtime = ConnectorRuntime::spawn(
        store,
        connector.clone(),
        clock,
        Box::new(Nothing),
        RuntimeConfig::default(),
        stop,
        &health,
    );
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let polls = connector.polls.load(Ordering::SeqCst);
    assert!(
        (2..=5).contains(&polls),
        "retried with backoff (0.5 s, 1 s, 2 s…), not in a hot loop: {polls} polls"
    );
    let report = health.report();
    assert_eq!(report.status, "ok", "{report:?}");
    let poll = report
        .loops
        .iter()
        .find(|entry| entry.name == "down poll")
        .expect("the poll loop is registered");
    assert_eq!((poll.running, poll.restarts), (true, 0));
    let down = &report.connectors[0];
    assert_eq!(down.state, ConnectorState::Failing);
    assert_eq!(
        down.last_error
            .as_ref()
            .map(|problem| problem.message.as_str()),
        Some("transient: 502 Bad Gateway from homeserver")
    );
    let _ = stop_sender.send(true);
    tokio::time::timeout(Duration::from_secs(5), runtime.join())
        .await
        .expect("every loop stops when asked");
}

//! `qunzhu bench react`: how long a member waits for the bot to act. One message with a banned
//! word arrives in a connector batch (the clock starts when `poll` hands it over) and the clock
//! stops when the resulting redaction is handed to the connector's `execute`. Between the two is everything `serve` does: the ingest transaction
//! (log, derived state, the guardian's decision, the outbox row, the cursor) on the real store,
//! the dispatcher's wake-up, its leased claim, the rate limiter and the outcome it records.
//!
//! The connector is an in-memory one so the figure is qunzhu's own share, not a network's; its
//! rates are unlimited so a run of many messages in one group measures the path, not the
//! platform's send budget (a redaction costs one token like any action).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use qunzhu_connector::{Batch, Capabilities, Connector, ConnectorError, Rate};
use qunzhu_domain::{
    ActionKind, ActionRecord, Event, EventKind, MessageKind, Platform, SystemClock, WorkspaceId,
};
use qunzhu_engine::{ConnectorRuntime, Guard, Health, RulesHandle, RuntimeConfig};
use qunzhu_storage::NewWorkspace;
use tokio::sync::{mpsc, Mutex};

use crate::bench::{open, peak_rss_bytes, print_figures, Backend};

const RULES: &str = r#"
[keywords.ads]
words = ["加微信", "代开发票"]

[[rules]]
name = "ads"
kind = "keywords"
lists = ["ads"]
actions = "redact"
reason = "禁止广告"

[profiles.all]
default = true
rules = ["ads"]
"#;

const CHAT: &str = "!react:bench";

/// A connector fed by the bench: `poll` returns the next batch it is given, `execute` reports
/// each redaction with the moment it arrived.
struct FedConnector {
    capabilities: Capabilities,
    batches: Mutex<mpsc::Receiver<Batch>>,
    /// When each batch was handed to the engine, by the id of its last message.
    arrivals: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
    redactions: mpsc::UnboundedSender<(String, Instant)>,
}

#[async_trait]
impl Connector for FedConnector {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }

    fn id(&self) -> &str {
        "bench-react"
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn poll(&self, _cursor: Option<&str>) -> Result<Batch, ConnectorError> {
        match self.batches.lock().await.recv().await {
            Some(batch) => {
                if let Some(EventKind::MessagePosted { message_id, .. }) =
                    batch.events.last().map(|event| &event.kind)
                {
                    self.arrivals
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .insert(message_id.clone(), Instant::now());
                }
                Ok(batch)
            }
            // The bench is over: wait like an idle long poll until the runtime stops.
            None => {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
                Ok(Batch::default())
            }
        }
    }

    async fn execute(&self, action: &ActionRecord) -> Result<Option<String>, ConnectorError> {
        let arrived = Instant::now();
        if let ActionKind::Redact { message_id, .. } = &action.kind {
            let _ = self.redactions.send((message_id.clone(), arrived));
        }
        Ok(Some(format!("$done-{}", action.id)))
    }
}

fn message(serial: usize, text: &str) -> Event {
    Event {
        workspace: WorkspaceId(1),
        platform: Platform::Sandbox,
        key: format!("react-{serial}"),
        chat: CHAT.into(),
        at: chrono::Utc::now(),
        kind: EventKind::MessagePosted {
            member: format!("@m{}:bench", serial % 50).into(),
            message_id: format!("$m{serial}"),
            text: text.into(),
            links: Vec::new(),
            mentions: Vec::new(),
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        },
    }
}

pub async fn run(
    messages: usize,
    backend: Backend,
    database_url: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let (store, _scratch) = open(backend, database_url).await?;
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "bench".into(),
            name: "bench".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await?;
    anyhow::ensure!(
        workspace.id == WorkspaceId(1),
        "the bench expects a fresh store"
    );
    let rules = qunzhu_moderation::check(RULES, "bench.toml")
        .map_err(|problems| anyhow::anyhow!("bench rules: {problems:?}"))?;
    let mut capabilities = qunzhu_sandbox::sandbox_capabilities();
    capabilities.per_group_rate = Rate::UNLIMITED;
    capabilities.global_rate = Rate::UNLIMITED;
    let clock = Arc::new(SystemClock);
    let guard = Guard::load(
        store.as_ref(),
        workspace.id,
        Platform::Sandbox,
        capabilities.clone(),
        RulesHandle::new(rules),
        chrono::Utc::now(),
    )
    .await?;
    let (feed, batches) = mpsc::channel(1);
    let (redactions, mut redacted) = mpsc::unbounded_channel();
    let connector: Arc<FedConnector> = Arc::new(FedConnector {
        capabilities,
        batches: Mutex::new(batches),
        arrivals: std::sync::Mutex::default(),
        redactions,
    });
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let health = Health::new(clock.clone());
    let runtime = ConnectorRuntime::spawn(
        store.clone(),
        connector.clone(),
        clock,
        Box::new(guard),
        RuntimeConfig::default(),
        stop,
        &health,
    );

    // A few ordinary messages between the ads, as in a real group; the first rounds warm the
    // caches and are not counted.
    let warm_up = (messages / 10).clamp(1, 50);
    let mut latencies = Vec::with_capacity(messages);
    let mut serial = 0;
    for round in 0..messages + warm_up {
        for _ in 0..3 {
            serial += 1;
            feed.send(Batch {
                events: vec![message(serial, "大家早上好")],
                cursor: Some(serial.to_string()),
            })
            .await?;
        }
        serial += 1;
        let expected = format!("$m{serial}");
        feed.send(Batch {
            events: vec![message(serial, "加微信领福利")],
            cursor: Some(serial.to_string()),
        })
        .await?;
        let arrived = loop {
            let (message_id, arrived) =
                tokio::time::timeout(Duration::from_secs(10), redacted.recv())
                    .await
                    .map_err(|_| anyhow::anyhow!("no redaction of {expected} within 10 s"))?
                    .ok_or_else(|| anyhow::anyhow!("the connector went away"))?;
            if message_id == expected {
                break arrived;
            }
        };
        let polled = connector
            .arrivals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&expected)
            .ok_or_else(|| anyhow::anyhow!("{expected} was redacted before it arrived"))?;
        if round >= warm_up {
            latencies.push(arrived.duration_since(polled));
        }
    }
    let _ = stop_tx.send(true);
    drop(feed);
    runtime.join().await;

    latencies.sort_unstable();
    let at = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies
            .get(index)
            .map(|latency| (latency.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
            .unwrap_or(0.0)
    };
    let figures = serde_json::json!({
        "backend": store.backend(),
        "redactions": latencies.len(),
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "max_ms": at(1.0),
        "peak_rss_bytes": peak_rss_bytes(),
    });
    print_figures(
        "react bench (batch arrives → redaction handed to the connector)",
        &figures,
        json,
    );
    Ok(())
}

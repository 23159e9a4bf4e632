//! The ingest path: connector batch → local day → dedupe + append + derived state + decisions +
//! outbox, all in one store transaction.

use std::sync::Arc;

use chrono_tz::Tz;
use qunzhu_connector::Batch;
use qunzhu_domain::{local_day, Clock, Instant};
use qunzhu_storage::{IngestBatch, IngestReport, NewEvent, Store};
use tokio::sync::Mutex;

use crate::decide::Decider;

/// Events older than this when they arrive are history: logged, never acted on.
pub fn stale_after() -> chrono::Duration {
    chrono::Duration::minutes(10)
}

/// Writes what one connector hears into the log.
pub struct Ingestor {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    zone: Tz,
    connector_id: String,
    decider: Arc<Mutex<Box<dyn Decider>>>,
    /// Events older than this are logged and shown to the decider, but what it decides is
    /// dropped: a backlog (a first sync, a month of sandbox history) must not make the bot greet
    /// people who joined weeks ago.
    stale_after: chrono::Duration,
}

impl Ingestor {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        zone: Tz,
        connector_id: impl Into<String>,
        decider: Arc<Mutex<Box<dyn Decider>>>,
    ) -> Self {
        Ingestor {
            store,
            clock,
            zone,
            connector_id: connector_id.into(),
            decider,
            stale_after: stale_after(),
        }
    }

    /// Appends a batch and stores its cursor atomically; redelivered events are counted no-ops.
    pub async fn ingest(&self, batch: Batch) -> qunzhu_storage::Result<IngestReport> {
        let events = batch
            .events
            .into_iter()
            .map(|event| NewEvent {
                day: local_day(event.at, self.zone),
                event,
            })
            .collect();
        let cursor = batch
            .cursor
            .map(|cursor| (self.connector_id.clone(), cursor));
        let now = self.clock.now();
        let mut decider = self.decider.lock().await;
        let decider: &mut dyn Decider = decider.as_mut();
        let stale_before = now.minus(self.stale_after);
        let mut audit = Vec::new();
        let mut decide = |event: &qunzhu_domain::Event| {
            // A decision that panics on one event (a bug, an input nobody foresaw) must not
            // stop the log: the event is recorded with no actions and the cause is logged,
            // instead of the batch failing and being fetched again forever.
            let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                decider.decide(event, now)
            }));
            let actions = match decided {
                Ok(actions) => actions,
                Err(payload) => {
                    let cause = crate::supervise::panic_message(payload);
                    tracing::error!(event = %event.key, chat = %event.chat, %cause, "a decision panicked; the event is recorded without actions");
                    Vec::new()
                }
            };
            let notes = decider.take_audit();
            if event.at < stale_before {
                return Vec::new();
            }
            audit.extend(notes);
            actions
        };
        let report = self
            .store
            .ingest(IngestBatch { events, cursor }, &mut decide)
            .await?;
        write_audit(&*self.store, audit).await;
        Ok(report)
    }
}

/// Appends the decisions' reasons to the audit log. The actions themselves are already safe in
/// the outbox; a lost audit line is logged rather than failing the batch.
pub(crate) async fn write_audit(store: &dyn Store, entries: Vec<qunzhu_storage::NewAuditEntry>) {
    for entry in entries {
        if let Err(error) = store.append_audit(entry).await {
            tracing::warn!(%error, "could not write an audit entry");
        }
    }
}

//! The ingest path: connector batch → local day → dedupe + append + derived state + decisions +
//! outbox, all in one store transaction.

use std::sync::Arc;

use chrono_tz::Tz;
use qunzhu_connector::Batch;
use qunzhu_domain::{local_day, Clock};
use qunzhu_storage::{IngestBatch, IngestReport, NewEvent, Store};
use tokio::sync::Mutex;

use crate::decide::Decider;

/// Writes what one connector hears into the log.
pub struct Ingestor {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    zone: Tz,
    connector_id: String,
    decider: Arc<Mutex<Box<dyn Decider>>>,
}

impl Ingestor {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        zone: Tz,
        connector_id: impl Into<String>,
        decider: Arc<Mutex<Box<dyn Decider>>>,
    ) -> Self {
        Ingestor { store, clock, zone, connector_id: connector_id.into(), decider }
    }

    /// Appends a batch and stores its cursor atomically; redelivered events are counted no-ops.
    pub async fn ingest(&self, batch: Batch) -> qunzhu_storage::Result<IngestReport> {
        let events = batch
            .events
            .into_iter()
            .map(|event| NewEvent { day: local_day(event.at, self.zone), event })
            .collect();
        let cursor = batch.cursor.map(|cursor| (self.connector_id.clone(), cursor));
        let now = self.clock.now();
        let mut decider = self.decider.lock().await;
        let decider: &mut dyn Decider = decider.as_mut();
        let mut decide = |event: &qunzhu_domain::Event| decider.decide(event, now);
        self.store.ingest(IngestBatch { events, cursor }, &mut decide).await
    }
}

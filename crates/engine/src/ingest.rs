//! The ingest path: connector batch → local day → dedupe + append + derived state + decisions +
//! outbox, all in one store transaction.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use qunzhu_connector::Batch;
use qunzhu_domain::{local_day, Clock, Instant, MemberId};
use qunzhu_storage::{IngestBatch, IngestReport, NewEvent, Store};
use tokio::sync::Mutex;

use crate::decide::Decider;

/// The most events one ingest transaction writes; a bigger batch is split.
pub const MAX_TRANSACTION_EVENTS: usize = 2_000;

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
    /// When it turns true, a big batch stops between parts (the rest is redelivered later),
    /// so shutting down never waits for a whole backlog.
    stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// How often the decider's memory is saved beside the log (`GuardMemoryStore`), so a
    /// restart replays only the events after it.
    memory_every: chrono::Duration,
    memory_saved: std::sync::Mutex<Option<DateTime<Utc>>>,
}

/// How often a decider's memory is saved: a restart replays at most this much of the log.
pub const MEMORY_EVERY_SECONDS: i64 = 60;

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
            stop: None,
            memory_every: chrono::Duration::seconds(MEMORY_EVERY_SECONDS),
            memory_saved: std::sync::Mutex::new(None),
        }
    }

    /// Stops between parts of a big batch once `stop` turns true.
    pub fn stopping_on(mut self, stop: tokio::sync::watch::Receiver<bool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Appends a batch and stores its cursor with its last events; redelivered events are
    /// counted no-ops.
    ///
    /// A big batch (a first sync, a world's backlog) is written in transactions of at most
    /// [`MAX_TRANSACTION_EVENTS`], yielding between them, so no transaction holds the writer for
    /// long and other tasks (the console, `/healthz`, other groups' dispatch) keep running. The
    /// cursor goes with the last part only: a crash in between redelivers the rest, and what was
    /// already written is refused as duplicates.
    pub async fn ingest(&self, batch: Batch) -> qunzhu_storage::Result<IngestReport> {
        let mut events: Vec<NewEvent> = batch
            .events
            .into_iter()
            .map(|event| NewEvent {
                day: local_day(event.at, self.zone),
                event,
            })
            .collect();
        let mut cursor = batch
            .cursor
            .map(|cursor| (self.connector_id.clone(), cursor));
        let mut total = IngestReport::default();
        loop {
            let rest = if events.len() > MAX_TRANSACTION_EVENTS {
                events.split_off(MAX_TRANSACTION_EVENTS)
            } else {
                Vec::new()
            };
            let part_cursor = if rest.is_empty() { cursor.take() } else { None };
            let report = self.ingest_part(events, part_cursor).await?;
            total.appended += report.appended;
            total.duplicates += report.duplicates;
            total.actions += report.actions;
            if rest.is_empty() {
                return Ok(total);
            }
            if self.stop.as_ref().is_some_and(|stop| *stop.borrow()) {
                tracing::info!(
                    left = rest.len(),
                    "stopping mid-batch; the rest comes again after the restart"
                );
                return Ok(total);
            }
            events = rest;
            tokio::task::yield_now().await;
        }
    }

    async fn ingest_part(
        &self,
        events: Vec<NewEvent>,
        cursor: Option<(String, String)>,
    ) -> qunzhu_storage::Result<IngestReport> {
        let now = self.clock.now();
        let mut decider = self.decider.lock().await;
        let decider: &mut dyn Decider = decider.as_mut();
        let stale_before = now.minus(self.stale_after);
        let mut audit = Vec::new();
        let mut introductions = Vec::new();
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
            for note in notes.iter().filter(|note| note.action == INTRO_AUDIT) {
                if let Some(matched) = note.detail.get("matched").and_then(|m| m.as_str()) {
                    introductions.push((
                        event.workspace,
                        event.platform,
                        // The audit note's subject is the member's platform id.
                        MemberId(note.subject.clone()),
                        qunzhu_moderation::intro::tags_of_audit(matched),
                    ));
                }
            }
            audit.extend(notes);
            actions
        };
        let report = self
            .store
            .ingest(IngestBatch { events, cursor }, &mut decide)
            .await?;
        // Still holding the decider: its memory is level with every event committed so far.
        let memories = self.memory_due(decider, now);
        self.save_memory(memories, now).await;
        write_audit(&*self.store, audit).await;
        write_intro_tags(&*self.store, introductions).await;
        Ok(report)
    }
}

impl Ingestor {
    /// The decider's memory when the last save is older than `memory_every`, else nothing.
    fn memory_due(&self, decider: &dyn Decider, now: DateTime<Utc>) -> Vec<crate::Remembered> {
        let mut saved = self
            .memory_saved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if saved.is_some_and(|at| now < at + self.memory_every) {
            return Vec::new();
        }
        *saved = Some(now);
        decider.memory()
    }

    /// Saves memories. A failed save is logged: the next one (or, at worst, a replay of the
    /// log) covers it.
    async fn save_memory(&self, memories: Vec<crate::Remembered>, now: DateTime<Utc>) {
        for remembered in memories {
            if let Err(error) = self
                .store
                .put_guard_memory(
                    remembered.workspace,
                    remembered.platform,
                    now,
                    &remembered.memory,
                )
                .await
            {
                tracing::warn!(%error, "the decider's memory was not saved; a restart replays more of the log");
            }
        }
    }
}

/// A member's self-introduction read in a batch: where, who and the tags it gives.
type Introduction = (
    qunzhu_domain::WorkspaceId,
    qunzhu_domain::Platform,
    MemberId,
    Vec<String>,
);

/// The audit action a self-introduction is recorded under.
const INTRO_AUDIT: &str = "guard.intro";

/// Writes introductions' tags to the members (after the batch, as the audit is: replacing a
/// field's tag is idempotent, so the same introduction read again changes nothing).
async fn write_intro_tags(store: &dyn Store, introductions: Vec<Introduction>) {
    for (workspace, platform, member, tags) in introductions {
        if tags.is_empty() {
            continue;
        }
        let written = async {
            let existing = store.member(workspace, platform, &member).await?;
            let merged = qunzhu_moderation::intro::merge_intro_tags(&existing.tags, &tags);
            if merged != existing.tags {
                store
                    .update_member(
                        workspace,
                        platform,
                        &member,
                        qunzhu_storage::MemberUpdate {
                            tags: Some(merged),
                            ..qunzhu_storage::MemberUpdate::default()
                        },
                    )
                    .await?;
            }
            Ok::<_, qunzhu_storage::StoreError>(())
        };
        if let Err(error) = written.await {
            tracing::warn!(%error, %member, "could not write the introduction's tags");
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, TimeZone, Utc};
    use qunzhu_connector::Batch;
    use qunzhu_domain::{Event, EventKind, FakeClock, JoinVia, Platform};
    use qunzhu_storage::{NewWorkspace, Store};
    use tokio::sync::Mutex;

    use super::{Ingestor, MAX_TRANSACTION_EVENTS};
    use crate::decide::{Decider, GreetEachJoin};

    /// Remembers how many events it saw.
    struct Counting(u32);

    impl Decider for Counting {
        fn decide(&mut self, _: &Event, _: chrono::DateTime<Utc>) -> Vec<qunzhu_domain::NewAction> {
            self.0 += 1;
            Vec::new()
        }

        fn memory(&self) -> Vec<crate::Remembered> {
            vec![crate::Remembered {
                workspace: qunzhu_domain::WorkspaceId(1),
                platform: Platform::Sandbox,
                memory: self.0.to_string(),
            }]
        }
    }

    #[tokio::test]
    async fn the_deciders_memory_is_saved_after_a_batch_at_most_once_a_minute() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "W".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .expect("workspace");
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 2, 0, 0).unwrap();
        let clock = Arc::new(FakeClock::new(now));
        let decider: Box<dyn Decider> = Box::new(Counting(0));
        let ingestor = Ingestor::new(
            store.clone(),
            clock.clone(),
            chrono_tz::Asia::Shanghai,
            "sandbox:one",
            Arc::new(Mutex::new(decider)),
        );
        let batch = |index: usize| Batch {
            events: vec![Event {
                workspace: workspace.id,
                platform: Platform::Sandbox,
                key: format!("e{index}"),
                chat: "g".into(),
                at: now,
                kind: EventKind::MemberJoined {
                    member: format!("@m{index}").into(),
                    display_name: None,
                    via: JoinVia::Direct,
                },
            }],
            cursor: None,
        };
        let saved = || async {
            store
                .guard_memory(workspace.id, Platform::Sandbox)
                .await
                .expect("read")
                .map(|saved| saved.memory)
        };
        ingestor.ingest(batch(0)).await.expect("first");
        assert_eq!(
            saved().await.as_deref(),
            Some("1"),
            "saved after the first batch"
        );
        ingestor.ingest(batch(1)).await.expect("second");
        assert_eq!(
            saved().await.as_deref(),
            Some("1"),
            "not again within the minute"
        );
        clock.advance(Duration::seconds(super::MEMORY_EVERY_SECONDS));
        ingestor.ingest(batch(2)).await.expect("third");
        assert_eq!(
            saved().await.as_deref(),
            Some("3"),
            "saved again a minute on"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backlog_is_written_in_bounded_parts_with_the_cursor_last_and_nothing_twice() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "W".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .expect("workspace");
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 2, 0, 0).unwrap();
        let decider: Box<dyn Decider> = Box::new(GreetEachJoin {
            template: "hi {name}".into(),
        });
        let ingestor = Ingestor::new(
            store.clone(),
            Arc::new(FakeClock::new(now)),
            chrono_tz::Asia::Shanghai,
            "sandbox:one",
            Arc::new(Mutex::new(decider)),
        );
        let total = MAX_TRANSACTION_EVENTS * 2 + 500;
        let events: Vec<Event> = (0..total)
            .map(|index| Event {
                workspace: workspace.id,
                platform: Platform::Sandbox,
                key: format!("e{index}"),
                chat: format!("g{}", index % 7),
                at: now - Duration::seconds(1),
                kind: EventKind::MemberJoined {
                    member: format!("@m{index}").into(),
                    display_name: None,
                    via: JoinVia::Direct,
                },
            })
            .collect();
        // The first part arrived before a crash, without its cursor; the whole batch comes again.
        let early = Batch {
            events: events[..MAX_TRANSACTION_EVENTS].to_vec(),
            cursor: None,
        };
        ingestor.ingest(early).await.expect("first part");
        let report = ingestor
            .ingest(Batch {
                events,
                cursor: Some("c-final".into()),
            })
            .await
            .expect("batch");
        assert_eq!(report.appended, total - MAX_TRANSACTION_EVENTS);
        assert_eq!(report.duplicates, MAX_TRANSACTION_EVENTS);
        assert_eq!(
            store
                .cursor("sandbox:one")
                .await
                .expect("cursor")
                .as_deref(),
            Some("c-final")
        );
        let stats = store.log_stats().await.expect("stats");
        assert_eq!(stats.events as usize, total);
        let counts = store.action_counts(workspace.id).await.expect("counts");
        assert_eq!(
            counts.pending as usize, total,
            "one greeting per join, once"
        );
    }
}

//! The engine's health registry: each supervised loop's heartbeat, restarts and last error, each
//! connector's state, and the stored documents that were rejected — what `/healthz`, the
//! connectors API and the console's overview show.
//!
//! Loops report through a task-local [`Beat`] that [`crate::supervise`] installs, so a loop says
//! `health::beat()` without every `run` signature growing a parameter; outside a supervisor the
//! calls do nothing (tests, benches, one-off commands).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{Clock, Instant, Platform};
use serde::Serialize;

/// A problem with its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub at: DateTime<Utc>,
    pub message: String,
}

/// One supervised loop as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoopHealth {
    pub name: String,
    /// False while the loop is waiting to be restarted after a panic or an error.
    pub running: bool,
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// A running loop whose heartbeat is older than this is counted as down (stuck).
    pub stale_after_seconds: i64,
    pub restarts: u32,
    pub last_error: Option<Problem>,
}

/// Whether a connector reaches its platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorState {
    /// Signing in or the first poll has not answered yet.
    Connecting,
    /// The last poll succeeded.
    Connected,
    /// The last poll (or the sign-in) failed; it is being retried with backoff.
    Failing,
}

/// One connector as the connectors API shows it (the backlog is added from the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorHealth {
    pub id: String,
    pub platform: Platform,
    pub state: ConnectorState,
    pub last_poll_ok: Option<DateTime<Utc>>,
    pub last_error: Option<Problem>,
}

/// A stored rule or plan document that was rejected; the last good one stays in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentHealth {
    pub kind: String,
    pub name: String,
    pub version: i64,
    pub at: DateTime<Utc>,
    /// Each problem as `file:line:col: message`.
    pub problems: Vec<String>,
}

/// Everything at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// `starting` until the engine is up, then `ok`, or `degraded` when a loop is down.
    pub status: &'static str,
    /// The loops that are down: restarting, or running with a stale heartbeat.
    pub down: Vec<String>,
    pub loops: Vec<LoopHealth>,
    pub connectors: Vec<ConnectorHealth>,
    pub documents: Vec<DocumentHealth>,
}

#[derive(Default)]
struct State {
    /// Between [`Health::starting`] and [`Health::started`]: the process answers, the engine
    /// is still being built.
    starting: bool,
    loops: BTreeMap<String, LoopHealth>,
    connectors: BTreeMap<String, ConnectorHealth>,
    documents: BTreeMap<(String, String), DocumentHealth>,
}

/// The shared registry; cheap to clone.
#[derive(Clone)]
pub struct Health {
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").finish_non_exhaustive()
    }
}

impl Health {
    pub fn new(clock: Arc<dyn Clock>) -> Health {
        Health {
            clock,
            state: Arc::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The engine is being built: `/healthz` says `starting` until [`Health::started`].
    pub fn starting(&self) {
        self.lock().starting = true;
    }

    /// The engine is up.
    pub fn started(&self) {
        self.lock().starting = false;
    }

    /// Registers a loop (or marks it running again after a restart).
    pub fn loop_started(&self, name: &str, stale_after: Duration) {
        let now = self.now();
        let mut state = self.lock();
        let entry = state
            .loops
            .entry(name.to_string())
            .or_insert_with(|| LoopHealth {
                name: name.to_string(),
                running: true,
                last_heartbeat: None,
                stale_after_seconds: stale_after.num_seconds(),
                restarts: 0,
                last_error: None,
            });
        entry.running = true;
        entry.last_heartbeat = Some(now);
    }

    pub fn heartbeat(&self, name: &str) {
        let now = self.now();
        if let Some(entry) = self.lock().loops.get_mut(name) {
            entry.last_heartbeat = Some(now);
        }
    }

    /// A loop ended by a panic or an error; it will be restarted.
    pub fn loop_failed(&self, name: &str, message: String) {
        let at = self.now();
        if let Some(entry) = self.lock().loops.get_mut(name) {
            entry.running = false;
            entry.restarts = entry.restarts.saturating_add(1);
            entry.last_error = Some(Problem { at, message });
        }
    }

    /// A loop ended because the engine is stopping.
    pub fn loop_stopped(&self, name: &str) {
        self.lock().loops.remove(name);
    }

    pub fn connector_registered(&self, id: &str, platform: Platform) {
        self.lock()
            .connectors
            .entry(id.to_string())
            .or_insert_with(|| ConnectorHealth {
                id: id.to_string(),
                platform,
                state: ConnectorState::Connecting,
                last_poll_ok: None,
                last_error: None,
            });
    }

    /// Drops a connector's entry (a provisional name replaced by the connected one).
    pub fn connector_forget(&self, id: &str) {
        self.lock().connectors.remove(id);
    }

    pub fn connector_ok(&self, id: &str) {
        let now = self.now();
        if let Some(entry) = self.lock().connectors.get_mut(id) {
            entry.state = ConnectorState::Connected;
            entry.last_poll_ok = Some(now);
        }
    }

    pub fn connector_failed(&self, id: &str, message: String) {
        let at = self.now();
        if let Some(entry) = self.lock().connectors.get_mut(id) {
            entry.state = ConnectorState::Failing;
            entry.last_error = Some(Problem { at, message });
        }
    }

    /// A stored document was rejected (`problems` non-empty) or accepted (empty: clears it).
    pub fn document(&self, kind: &str, name: &str, version: i64, problems: Vec<String>) {
        let key = (kind.to_string(), name.to_string());
        let mut state = self.lock();
        if problems.is_empty() {
            state.documents.remove(&key);
            return;
        }
        let at = self.now();
        state.documents.insert(
            key,
            DocumentHealth {
                kind: kind.to_string(),
                name: name.to_string(),
                version,
                at,
                problems,
            },
        );
    }

    pub fn report(&self) -> HealthReport {
        let now = self.now();
        let state = self.lock();
        let down: Vec<String> = state
            .loops
            .values()
            .filter(|entry| {
                let stale = entry.last_heartbeat.is_none_or(|beat| {
                    beat.plus(Duration::seconds(entry.stale_after_seconds)) < now
                });
                !entry.running || stale
            })
            .map(|entry| entry.name.clone())
            .collect();
        HealthReport {
            status: match (state.starting, down.is_empty()) {
                (true, _) => "starting",
                (false, true) => "ok",
                (false, false) => "degraded",
            },
            down,
            loops: state.loops.values().cloned().collect(),
            connectors: state.connectors.values().cloned().collect(),
            documents: state.documents.values().cloned().collect(),
        }
    }
}

/// The running loop's name and registry, installed by the supervisor.
#[derive(Clone)]
pub struct Beat {
    pub health: Health,
    pub name: String,
}

tokio::task_local! {
    static BEAT: Beat;
}

/// Runs `future` with `beat` as the loop's reporting context.
pub async fn scope<F: std::future::Future>(beat: Beat, future: F) -> F::Output {
    BEAT.scope(beat, future).await
}

fn with<R>(action: impl FnOnce(&Beat) -> R) -> Option<R> {
    BEAT.try_with(|beat| action(beat)).ok()
}

/// The loop is alive (call once per round).
pub fn beat() {
    with(|beat| beat.health.heartbeat(&beat.name));
}

/// The loop's connector polled successfully.
pub fn connector_ok(id: &str) {
    with(|beat| beat.health.connector_ok(id));
}

/// The loop's connector failed to poll (or sign in).
pub fn connector_failed(id: &str, message: String) {
    with(|beat| beat.health.connector_failed(id, message));
}

/// Reports a stored document's state (empty `problems`: accepted).
pub fn document(kind: &str, name: &str, version: i64, problems: Vec<String>) {
    with(|beat| beat.health.document(kind, name, version, problems));
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_domain::FakeClock;

    #[test]
    fn starting_until_the_engine_is_up() {
        let health = Health::new(Arc::new(FakeClock::new(DateTime::default())));
        health.starting();
        health.loop_started("tick", Duration::seconds(30));
        assert_eq!(health.report().status, "starting");
        health.started();
        assert_eq!(health.report().status, "ok");
    }

    #[test]
    fn a_stale_or_restarting_loop_degrades_the_report() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let clock = Arc::new(FakeClock::new(start));
        let health = Health::new(clock.clone());
        health.loop_started("tick", Duration::seconds(30));
        health.loop_started("dispatch", Duration::seconds(30));
        assert_eq!(health.report().status, "ok");

        clock.advance(Duration::seconds(20));
        health.heartbeat("tick");
        clock.advance(Duration::seconds(20));
        let report = health.report();
        assert_eq!(
            (report.status, report.down),
            ("degraded", vec!["dispatch".to_string()])
        );

        health.heartbeat("dispatch");
        health.loop_failed("tick", "panicked: boom".into());
        let report = health.report();
        assert_eq!(report.down, vec!["tick".to_string()]);
        let tick = &report.loops[1];
        assert_eq!((tick.restarts, tick.running), (1, false));
        assert_eq!(
            tick.last_error
                .as_ref()
                .map(|problem| problem.message.as_str()),
            Some("panicked: boom")
        );

        health.loop_started("tick", Duration::seconds(30));
        assert_eq!(health.report().status, "ok");
        health.document("rules", "rules", 3, vec!["rules:1:1: bad".into()]);
        assert_eq!(health.report().documents.len(), 1);
        health.document("rules", "rules", 4, Vec::new());
        assert!(health.report().documents.is_empty());
    }
}

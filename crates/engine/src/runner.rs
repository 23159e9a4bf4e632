//! Runs one connector: the poll loop (sync and ingest), the tick loop and the dispatcher, each
//! under supervision, until told to stop.

use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use qunzhu_connector::{Connector, ConnectorError};
use qunzhu_domain::{ActionKind, ActionTarget, Clock, Platform};
use qunzhu_storage::{ActionOutcome, Claim, Store};
use tokio::sync::{watch, Mutex, Notify};
use tokio::task::JoinHandle;

use crate::decide::Decider;
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::health::{self, Health};
use crate::ingest::Ingestor;
use crate::planned_drops::PlannedDropError;
use crate::supervise::{supervise, Backoff, LoopResult};

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub zone: Tz,
    pub dispatch: DispatchConfig,
    /// How often time-driven decisions are looked at: a welcome wave goes out at most this long
    /// after its window closes.
    pub tick: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            zone: chrono_tz::Asia::Shanghai,
            dispatch: DispatchConfig::default(),
            // Issue #13.9: a welcome's latency is its window plus at most 200 ms.
            tick: Duration::from_millis(200),
        }
    }
}

/// The running loops of one connector.
pub struct ConnectorRuntime {
    pub tasks: Vec<JoinHandle<()>>,
    pub dispatcher: Arc<Dispatcher>,
    pub decider: Arc<Mutex<Box<dyn Decider>>>,
}

/// How long each loop may go without a heartbeat before `/healthz` counts it as down. The poll
/// loop's allowance covers a Matrix long poll (30 s) plus its longest backoff.
pub const POLL_STALE: chrono::Duration = chrono::Duration::minutes(5);
pub const TICK_STALE: chrono::Duration = chrono::Duration::minutes(1);
pub const DISPATCH_STALE: chrono::Duration = chrono::Duration::minutes(2);

impl ConnectorRuntime {
    /// Starts the three loops under supervision; they end when `stop` turns true.
    pub fn spawn(
        store: Arc<dyn Store>,
        connector: Arc<dyn Connector>,
        clock: Arc<dyn Clock>,
        decider: Box<dyn Decider>,
        config: RuntimeConfig,
        stop: watch::Receiver<bool>,
        health: &Health,
    ) -> ConnectorRuntime {
        let decider = Arc::new(Mutex::new(decider));
        let dispatcher = Arc::new(Dispatcher::new(
            store.clone(),
            connector.clone(),
            clock.clone(),
            config.dispatch.clone(),
        ));
        let id = connector.id().to_string();
        let platform = connector.platform();
        health.connector_registered(&id, connector.platform());
        let mut tasks = Vec::new();

        let waker = dispatcher.waker();
        let poll = {
            let (store, clock, decider, waker, stop) = (
                store.clone(),
                clock.clone(),
                decider.clone(),
                waker.clone(),
                stop.clone(),
            );
            let zone = config.zone;
            move || {
                let ingestor = Ingestor::new(
                    store.clone(),
                    clock.clone(),
                    zone,
                    connector.id(),
                    decider.clone(),
                )
                .stopping_on(stop.clone());
                poll_loop(
                    store.clone(),
                    connector.clone(),
                    ingestor,
                    waker.clone(),
                    stop.clone(),
                )
            }
        };
        tasks.push(supervise(
            format!("{id} poll"),
            health.clone(),
            POLL_STALE,
            Backoff::default(),
            stop.clone(),
            poll,
        ));
        let tick = {
            let (decider, waker, stop) = (decider.clone(), waker.clone(), stop.clone());
            let every = config.tick;
            let owner = config.dispatch.owner.clone();
            move || {
                tick_loop(
                    TickLoop {
                        store: store.clone(),
                        clock: clock.clone(),
                        decider: decider.clone(),
                        platform,
                        owner: owner.clone(),
                        every,
                        waker: waker.clone(),
                    },
                    stop.clone(),
                )
            }
        };
        tasks.push(supervise(
            format!("{id} tick"),
            health.clone(),
            TICK_STALE,
            Backoff::default(),
            stop.clone(),
            tick,
        ));
        let running = dispatcher.clone();
        let dispatch_stop = stop.clone();
        tasks.push(supervise(
            format!("{id} dispatch"),
            health.clone(),
            DISPATCH_STALE,
            Backoff::default(),
            stop,
            move || {
                let (running, stop) = (running.clone(), dispatch_stop.clone());
                async move {
                    running.run(stop).await;
                    Ok(())
                }
            },
        ));
        ConnectorRuntime {
            tasks,
            dispatcher,
            decider,
        }
    }

    /// Waits for every loop to finish (after `stop` was set).
    pub async fn join(self) {
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "engine task ended abnormally");
            }
        }
    }
}

async fn poll_loop(
    store: Arc<dyn Store>,
    connector: Arc<dyn Connector>,
    ingestor: Ingestor,
    waker: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> LoopResult {
    let mut cursor = loop {
        health::beat();
        match store.cursor(connector.id()).await {
            Ok(cursor) => break cursor,
            Err(error) => {
                tracing::error!(%error, connector = connector.id(), "cannot read the stored cursor; retrying");
                if wait_or_stop(&mut stop, Duration::from_secs(2)).await {
                    return Ok(());
                }
            }
        }
    };
    let mut failures: u32 = 0;
    loop {
        health::beat();
        let polled = tokio::select! {
            polled = connector.poll(cursor.as_deref()) => polled,
            _ = stop.changed() => return Ok(()),
        };
        let pause = match polled {
            Ok(batch) => {
                health::connector_ok(connector.id());
                let next = batch.cursor.clone();
                match ingestor.ingest(batch).await {
                    Ok(report) => {
                        failures = 0;
                        if next.is_some() {
                            cursor = next;
                        }
                        if report.actions > 0 {
                            waker.notify_one();
                        }
                        None
                    }
                    Err(error) => {
                        tracing::error!(%error, "ingest failed; the batch will be fetched again");
                        Some(Duration::from_secs(1))
                    }
                }
            }
            Err(ConnectorError::RateLimited { retry_after }) => {
                health::connector_failed(
                    connector.id(),
                    format!("rate limited for {retry_after:?}"),
                );
                Some(retry_after.min(crate::dispatch::MAX_RETRY_AFTER))
            }
            Err(ConnectorError::Auth(error)) => {
                tracing::error!(connector = connector.id(), %error, "connector cannot authenticate; retrying in 60 s");
                health::connector_failed(connector.id(), error);
                Some(Duration::from_secs(60))
            }
            Err(error) => {
                health::connector_failed(connector.id(), error.to_string());
                failures = failures.saturating_add(1);
                let backoff = Duration::from_millis(250 * 2_u64.pow(failures.min(7)));
                tracing::warn!(connector = connector.id(), %error, ?backoff, "poll failed");
                Some(backoff)
            }
        };
        if let Some(pause) = pause {
            if wait_or_stop(&mut stop, pause).await {
                return Ok(());
            }
        }
        if *stop.borrow() {
            return Ok(());
        }
    }
}

/// What the tick loop works with.
struct TickLoop {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    decider: Arc<Mutex<Box<dyn Decider>>>,
    platform: Platform,
    owner: String,
    every: Duration,
    waker: Arc<Notify>,
}

/// How long the tick loop holds an engine action it claimed: far longer than starting a game
/// takes, so only a dead instance lets another take it again.
pub const ENGINE_LEASE: chrono::Duration = chrono::Duration::seconds(60);

async fn tick_loop(ticks: TickLoop, mut stop: watch::Receiver<bool>) -> LoopResult {
    let TickLoop {
        store,
        clock,
        decider,
        platform,
        owner,
        every,
        waker,
    } = ticks;
    loop {
        health::beat();
        if wait_or_stop(&mut stop, every).await {
            return Ok(());
        }
        if start_scheduled(&*store, &*clock, &decider, platform, &owner).await > 0 {
            waker.notify_one();
        }
        let (actions, audit) = {
            let mut decider = decider.lock().await;
            let actions = decider.tick(clock.now());
            (actions, decider.take_audit())
        };
        crate::ingest::write_audit(&*store, audit).await;
        if actions.is_empty() {
            continue;
        }
        match store.enqueue(actions).await {
            Ok(new) if new > 0 => waker.notify_one(),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "could not write timed actions to the outbox"),
        }
    }
}

/// Claims the engine's due actions for this platform (the games and drops SOP steps start),
/// lets the deciders start the games and stores the drops; returns how many new actions that
/// wrote. Each claimed action is closed only after what it started is written, so a crash in
/// between claims it again after the lease, and the same keys make the second start write
/// nothing twice.
pub async fn start_scheduled(
    store: &dyn Store,
    clock: &dyn Clock,
    decider: &Mutex<Box<dyn Decider>>,
    platform: Platform,
    owner: &str,
) -> usize {
    let now = clock.now();
    let claim = Claim {
        platform,
        target: ActionTarget::Engine,
        now,
        limit: 50,
        owner,
        lease_until: now + ENGINE_LEASE,
    };
    let claimed = match store.claim_actions(claim).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::error!(%error, "cannot claim the engine's due actions");
            return 0;
        }
    };
    let mut started = 0;
    for action in claimed {
        let (outcome, actions) = if action.expires_at.is_some_and(|end| end <= now) {
            let reason = "past its grace: the step did not start late".to_string();
            (ActionOutcome::Skip { reason }, Vec::new())
        } else if matches!(action.kind, ActionKind::StartDrop { .. }) {
            // A drop lives in the store (the drop watcher opens it), not in a decider's memory.
            match crate::planned_drops::schedule_planned(store, &action, now).await {
                Ok((drop, actions)) => {
                    let receipt = Some(format!("drop:{}", drop.id));
                    (ActionOutcome::Done { receipt }, actions)
                }
                Err(PlannedDropError::Invalid(error)) => {
                    (ActionOutcome::Dead { error }, Vec::new())
                }
                Err(PlannedDropError::Store(error)) => {
                    tracing::error!(%error, action = action.id.0, "could not schedule a planned drop; it is claimed again after its lease");
                    continue;
                }
            }
        } else {
            match decider.lock().await.scheduled(&action, now) {
                Some(actions) if actions.is_empty() => {
                    let reason = "nothing started: the platform has no games, a game of this kind is already running in the group, or the quiz has no questions".to_string();
                    (ActionOutcome::Skip { reason }, actions)
                }
                Some(actions) => (ActionOutcome::Done { receipt: None }, actions),
                None => {
                    let reason = format!("no decider runs {}", action.kind.name());
                    (ActionOutcome::Skip { reason }, Vec::new())
                }
            }
        };
        // Enqueued before the claim is closed: a crash in between starts the same keys again.
        if !actions.is_empty() {
            match store.enqueue(actions).await {
                Ok(new) => started += new,
                Err(error) => {
                    tracing::error!(%error, action = action.id.0, "could not write a started game; it is claimed again after its lease");
                    continue;
                }
            }
        }
        if let Err(error) = store.finish_action(action.id, outcome, now).await {
            tracing::error!(%error, action = action.id.0, "could not close an engine action");
        }
    }
    started
}

/// Sleeps unless stopped first; true when stopped.
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

#[cfg(test)]
mod tests {
    /// Issue #13.9: a welcome wave's latency is its window plus at most one tick, 200 ms.
    #[test]
    fn time_driven_decisions_are_looked_at_every_200_ms() {
        assert!(super::RuntimeConfig::default().tick <= std::time::Duration::from_millis(200));
    }
}

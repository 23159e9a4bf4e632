//! Supervision of the engine's loops: a loop that panics, fails or ends by itself is logged with
//! its cause and started again with exponential backoff, and the [`Health`] registry keeps its
//! heartbeat, restarts and last error, so one bad input can never stop ingest or the outbox.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::health::{self, Beat, Health};

/// How a supervised loop is restarted.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// A loop that ran this long without failing starts again from `first`.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(500),
            max: Duration::from_secs(60),
            reset_after: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The pause before restart number `failures` (1-based): first, 2×first, 4×first… up to max.
    pub fn pause(&self, failures: u32) -> Duration {
        let factor = 2_u32.saturating_pow(failures.saturating_sub(1).min(20));
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// What a loop's body returns when it ends: `Ok` when it saw `stop`, `Err` with a cause otherwise.
pub type LoopResult = Result<(), String>;

/// Spawns `make()` under supervision as the loop `name` until `stop` turns true.
///
/// `stale_after` is how long the loop may go without a heartbeat before it counts as down.
/// Each run is its own task, so a panic is caught through its `JoinHandle` and never reaches
/// the other loops; a body that returns while `stop` is still false is restarted too (a loop
/// that quietly ends is as down as one that panicked).
pub fn supervise<F, Fut>(
    name: impl Into<String>,
    health: Health,
    stale_after: chrono::Duration,
    backoff: Backoff,
    mut stop: watch::Receiver<bool>,
    mut make: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = LoopResult> + Send + 'static,
{
    let name = name.into();
    tokio::spawn(async move {
        let mut failures: u32 = 0;
        loop {
            health.loop_started(&name, stale_after);
            let beat = Beat {
                health: health.clone(),
                name: name.clone(),
            };
            let started = tokio::time::Instant::now();
            let outcome = tokio::spawn(health::scope(beat, make())).await;
            let stopping = *stop.borrow();
            let cause = match outcome {
                Ok(Ok(())) if stopping => break,
                Ok(Ok(())) => "ended by itself".to_string(),
                Ok(Err(error)) => error,
                Err(join) if join.is_panic() => {
                    format!("panicked: {}", panic_message(join.into_panic()))
                }
                Err(join) => format!("was cancelled: {join}"),
            };
            if stopping {
                break;
            }
            if started.elapsed() >= backoff.reset_after {
                failures = 0;
            }
            failures = failures.saturating_add(1);
            let pause = backoff.pause(failures);
            tracing::error!(task = %name, %cause, restart_in = ?pause, "engine loop failed; restarting");
            health.loop_failed(&name, cause);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        health.loop_stopped(&name);
    })
}

/// Calls `attempt` until it succeeds, waiting `backoff.pause(n)` after the n-th failure and
/// telling `on_error` each cause and pause first; `None` when `stop` turns true meanwhile.
/// For what a loop needs before it can start (signing in to a homeserver that may be down).
pub async fn retry<T, Fut>(
    backoff: Backoff,
    stop: &mut watch::Receiver<bool>,
    mut attempt: impl FnMut() -> Fut,
    mut on_error: impl FnMut(String, Duration),
) -> Option<T>
where
    Fut: Future<Output = Result<T, String>>,
{
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return None;
        }
        let error = tokio::select! {
            outcome = attempt() => match outcome {
                Ok(value) => return Some(value),
                Err(error) => error,
            },
            _ = stop.changed() => return None,
        };
        failures = failures.saturating_add(1);
        let pause = backoff.pause(failures);
        on_error(error, pause);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return None,
        }
    }
}

/// The text a panic was raised with (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(text) => (*text).to_string(),
            Err(_) => "(a panic without a message)".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use qunzhu_domain::SystemClock;

    fn quick() -> Backoff {
        Backoff {
            first: Duration::from_millis(5),
            max: Duration::from_millis(20),
            reset_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let backoff = Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(10),
            reset_after: Duration::from_secs(60),
        };
        let pauses: Vec<u64> = (1..=6)
            .map(|failures| backoff.pause(failures).as_secs())
            .collect();
        assert_eq!(pauses, [1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff.pause(u32::MAX), Duration::from_secs(10));
    }

    /// A loop that panics twice and then fails once is restarted each time, and its health
    /// shows the restarts and the last cause; after that it runs and beats until stopped.
    #[tokio::test]
    async fn a_panicking_loop_is_restarted_and_reported() {
        let health = Health::new(Arc::new(SystemClock));
        let (stop_sender, stop) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let mut loop_stop = stop.clone();
        let task = supervise(
            "flaky",
            health.clone(),
            chrono::Duration::seconds(30),
            quick(),
            stop.clone(),
            move || {
                let run = counter.fetch_add(1, Ordering::SeqCst);
                let mut stop = loop_stop.clone();
                loop_stop.mark_unchanged();
                async move {
                    match run {
                        0 | 1 => panic!("overflow in run {run}"),
                        2 => Err("store unreachable".to_string()),
                        _ => loop {
                            crate::health::beat();
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_millis(2)) => {}
                                _ = stop.changed() => return Ok(()),
                            }
                        },
                    }
                }
            },
        );
        for _ in 0..500 {
            if runs.load(Ordering::SeqCst) >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let report = health.report();
        let flaky = &report.loops[0];
        assert_eq!(flaky.restarts, 3, "{report:?}");
        assert!(flaky.running, "{report:?}");
        assert_eq!(report.status, "ok");
        assert_eq!(
            flaky
                .last_error
                .as_ref()
                .map(|problem| problem.message.as_str()),
            Some("store unreachable")
        );
        let _ = stop_sender.send(true);
        assert!(task.await.is_ok());
        assert!(health.report().loops.is_empty(), "a stopped loop leaves");
    }

    #[tokio::test]
    async fn retry_waits_longer_after_each_failure_until_it_succeeds() {
        let (_stop_sender, mut stop) = watch::channel(false);
        let mut attempts = 0;
        let mut pauses = Vec::new();
        let value = retry(
            quick(),
            &mut stop,
            || {
                attempts += 1;
                let attempt = attempts;
                async move {
                    if attempt < 4 {
                        Err(format!("unreachable {attempt}"))
                    } else {
                        Ok(attempt)
                    }
                }
            },
            |error, pause| pauses.push((error, pause.as_millis())),
        )
        .await;
        assert_eq!(value, Some(4));
        assert_eq!(
            pauses,
            [
                ("unreachable 1".to_string(), 5),
                ("unreachable 2".to_string(), 10),
                ("unreachable 3".to_string(), 20)
            ]
        );

        let (stop_sender, mut stop) = watch::channel(false);
        let _ = stop_sender.send(true);
        let never: Option<()> = retry(
            quick(),
            &mut stop,
            || async { Err("down".to_string()) },
            |_, _| {},
        )
        .await;
        assert_eq!(never, None, "a stop ends the retries");
    }

    #[tokio::test]
    async fn a_panic_message_is_kept() {
        let health = Health::new(Arc::new(SystemClock));
        let (_stop_sender, stop) = watch::channel(false);
        let task = supervise(
            "always",
            health.clone(),
            chrono::Duration::seconds(30),
            Backoff {
                first: Duration::from_secs(3_600),
                ..quick()
            },
            stop,
            || async {
                let zero = std::hint::black_box(0_i64);
                let _ = 1 / zero;
                Ok(())
            },
        );
        for _ in 0..500 {
            if health.report().status == "degraded" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let report = health.report();
        assert_eq!(report.down, vec!["always".to_string()]);
        let message = report.loops[0]
            .last_error
            .as_ref()
            .map(|problem| problem.message.clone())
            .unwrap_or_default();
        assert_eq!(message, "panicked: attempt to divide by zero");
        task.abort();
    }
}

//! Sign-in throttling that holds in a storm: the decision is made and the attempt counted under
//! one lock before any password is verified, and argon2 runs at most `verify_slots` at a time.
//!
//! Failures are counted per account and per client address. From `attempts` failures on, a key is
//! locked for a backoff that doubles with each further failure up to `max_lock`, so the lock always
//! lifts; an address that has signed in to an account before is not held back by that account's
//! lock, so an attacker hammering a login never locks its real owner out of their usual place.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How hard sign-in is throttled; the defaults suit a console of a few dozen people.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// Failures allowed per key before it is locked.
    pub attempts: u32,
    /// The first lock; each further failure doubles it.
    pub base_lock: Duration,
    pub max_lock: Duration,
    /// A key with no attempt for this long starts again from zero failures.
    pub forget_after: Duration,
    /// argon2 verifications running at once (each takes ~19 MiB and a core for tens of ms).
    pub verify_slots: usize,
    /// How long a sign-in waits for a verification slot before it is told to try again.
    pub verify_wait: std::time::Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            attempts: 5,
            base_lock: Duration::seconds(60),
            max_lock: Duration::minutes(15),
            forget_after: Duration::hours(1),
            verify_slots: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(1, 4),
            verify_wait: std::time::Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Strikes {
    failures: u32,
    last: Option<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct State {
    strikes: HashMap<String, Strikes>,
    /// Per account: addresses that signed in to it successfully (a few each, most recent kept).
    known: HashMap<String, Vec<IpAddr>>,
}

/// What `begin` reserved; hand it back to `succeeded` when the password was right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    account: String,
    address: Option<IpAddr>,
}

/// Refused: how long until the lock lifts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked(pub Duration);

const KNOWN_PER_ACCOUNT: usize = 8;
const MAX_KEYS: usize = 10_000;

/// The sign-in gate of one process.
#[derive(Debug)]
pub struct LoginGuard {
    policy: LoginPolicy,
    state: Mutex<State>,
    slots: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    verified: AtomicUsize,
}

impl Default for LoginGuard {
    fn default() -> Self {
        LoginGuard::new(LoginPolicy::default())
    }
}

fn account_key(login: &str) -> String {
    format!("login:{}", login.trim().to_lowercase())
}

fn address_key(address: IpAddr) -> String {
    format!("ip:{address}")
}

/// A verification slot; while held it counts as running.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    running: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LoginGuard {
    pub fn new(policy: LoginPolicy) -> Self {
        let slots = Arc::new(Semaphore::new(policy.verify_slots.max(1)));
        LoginGuard {
            policy,
            state: Mutex::default(),
            slots,
            running: Arc::default(),
            peak: Arc::default(),
            verified: AtomicUsize::new(0),
        }
    }

    pub fn policy(&self) -> &LoginPolicy {
        &self.policy
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_for(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(self.policy.attempts).min(20);
        let lock = self.policy.base_lock * (1i32 << doublings);
        lock.min(self.policy.max_lock)
    }

    /// Decides and counts in one step: refuses while a key is locked, else records the attempt
    /// as a failure (undone by [`LoginGuard::succeeded`]) so parallel attempts cannot slip past.
    pub fn begin(
        &self,
        login: &str,
        address: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Attempt, Locked> {
        let account = account_key(login);
        let mut state = self.lock();
        let known = address.is_some_and(|address| {
            state
                .known
                .get(&account)
                .is_some_and(|known| known.contains(&address))
        });
        let mut keys = Vec::with_capacity(2);
        // A known address skips the account's lock (the real owner), never the address's own.
        if !known {
            keys.push(account.clone());
        }
        if let Some(address) = address {
            keys.push(address_key(address));
        }
        if state.strikes.len() > MAX_KEYS {
            let forget = self.policy.forget_after;
            state.strikes.retain(|_, strikes| {
                strikes.locked_until.is_some_and(|until| until > now)
                    || strikes.last.is_some_and(|last| now - last < forget)
            });
        }
        let mut wait = Duration::zero();
        for key in &keys {
            if let Some(until) = state.strikes.get(key).and_then(|s| s.locked_until) {
                if until > now {
                    wait = wait.max(until - now);
                }
            }
        }
        if wait > Duration::zero() {
            return Err(Locked(wait));
        }
        for key in &keys {
            let strikes = state.strikes.entry(key.clone()).or_default();
            if strikes
                .last
                .is_some_and(|last| now - last >= self.policy.forget_after)
            {
                *strikes = Strikes::default();
            }
            strikes.failures = strikes.failures.saturating_add(1);
            strikes.last = Some(now);
            if strikes.failures >= self.policy.attempts {
                strikes.locked_until = Some(now + self.lock_for(strikes.failures));
            }
        }
        Ok(Attempt { account, address })
    }

    /// The password was right: forgets the strikes and remembers the address for the account.
    pub fn succeeded(&self, attempt: &Attempt) {
        let mut state = self.lock();
        state.strikes.remove(&attempt.account);
        if let Some(address) = attempt.address {
            state.strikes.remove(&address_key(address));
            if state.known.len() > MAX_KEYS {
                state.known.clear();
            }
            let known = state.known.entry(attempt.account.clone()).or_default();
            known.retain(|other| *other != address);
            known.push(address);
            if known.len() > KNOWN_PER_ACCOUNT {
                known.remove(0);
            }
        }
    }

    /// Waits for one of the verification slots; `None` if none freed up in time.
    pub async fn slot(&self) -> Option<Slot> {
        let permit =
            tokio::time::timeout(self.policy.verify_wait, self.slots.clone().acquire_owned())
                .await
                .ok()?
                .ok()?;
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(running, Ordering::SeqCst);
        self.verified.fetch_add(1, Ordering::SeqCst);
        Some(Slot {
            _permit: permit,
            running: self.running.clone(),
        })
    }

    /// The most verifications that ever ran at once.
    pub fn peak_verifications(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// How many password verifications were started (real and dummy alike).
    pub fn verifications(&self) -> usize {
        self.verified.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn attempts_are_counted_before_verification_and_locks_back_off_up_to_a_cap() {
        let guard = LoginGuard::default();
        // Five attempts in the same instant (a parallel burst) pass, the sixth does not.
        let passed: Vec<_> = (0..8)
            .map(|_| guard.begin("Boss", ip("10.0.0.1"), at(0)))
            .collect();
        assert_eq!(passed.iter().filter(|r| r.is_ok()).count(), 5);
        assert_eq!(passed[5], Err(Locked(Duration::seconds(60))));
        // The same account from elsewhere is locked too; another account from elsewhere is not.
        assert!(guard.begin("boss", ip("10.0.0.2"), at(1)).is_err());
        assert!(guard.begin("other", ip("10.0.0.3"), at(1)).is_ok());
        // The lock lifts; each failure after it doubles the lock, up to fifteen minutes.
        let mut now = 60;
        let mut locks = Vec::new();
        for _ in 0..6 {
            assert!(guard.begin("boss", ip("10.0.0.1"), at(now)).is_ok());
            let Err(Locked(wait)) = guard.begin("boss", ip("10.0.0.1"), at(now)) else {
                panic!("locked after a failure");
            };
            locks.push(wait.num_seconds());
            now += wait.num_seconds();
        }
        assert_eq!(locks, [120, 240, 480, 900, 900, 900]);
    }

    #[test]
    fn the_real_owner_signs_in_from_a_known_address_while_the_account_is_hammered() {
        let guard = LoginGuard::default();
        let home = ip("192.0.2.7");
        let attempt = guard.begin("boss", home, at(0)).expect("first try");
        guard.succeeded(&attempt);
        for second in 0..50 {
            let _ = guard.begin("boss", ip("203.0.113.9"), at(second));
        }
        assert!(
            guard.begin("boss", ip("203.0.113.10"), at(60)).is_err(),
            "account locked elsewhere"
        );
        assert!(guard.begin("boss", home, at(60)).is_ok(), "not at home");
        // The attacker's own address is locked for every account.
        assert!(guard.begin("someone", ip("203.0.113.9"), at(60)).is_err());
    }

    #[test]
    fn success_forgets_failures_and_idle_keys_start_over() {
        let guard = LoginGuard::default();
        for _ in 0..4 {
            assert!(guard.begin("a", ip("10.0.0.1"), at(0)).is_ok());
        }
        let attempt = guard.begin("a", ip("10.0.0.1"), at(0)).expect("fifth");
        guard.succeeded(&attempt);
        assert!(guard.begin("a", ip("10.0.0.1"), at(0)).is_ok());
        for _ in 0..3 {
            assert!(guard.begin("b", None, at(0)).is_ok());
        }
        // An hour without attempts: four fresh failures pass again.
        for _ in 0..4 {
            assert!(guard.begin("b", None, at(3600)).is_ok());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn verification_slots_bound_the_work_running_at_once() {
        let policy = LoginPolicy {
            verify_slots: 2,
            ..LoginPolicy::default()
        };
        let guard = Arc::new(LoginGuard::new(policy));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let guard = guard.clone();
            tasks.push(tokio::spawn(async move {
                let slot = guard.slot().await.expect("a slot within the wait");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                drop(slot);
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(guard.verifications(), 20);
        assert_eq!(guard.peak_verifications(), 2);
    }
}

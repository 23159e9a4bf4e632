//! The outbox dispatcher: claims due actions, carries them out through the connector, records
//! the outcome — retries with exponential backoff, obeys rate limits and `Retry-After`, and
//! dead-letters with the reason after too many attempts.
//!
//! Delivery is at-least-once from the outbox's side and exactly-once in effect, because every
//! attempt passes the action's idempotency key to the platform (Matrix `txnId`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::{Connector, ConnectorError};
use qunzhu_domain::{ActionRecord, Clock, Instant};
use qunzhu_storage::{ActionOutcome, Claim, Store};
use tokio::sync::{Mutex, Notify};

use crate::live::LiveRenderer;
use crate::ratelimit::RateLimiter;

/// The longest a platform's rate limit may defer an action (issue #11.2): an hour.
pub const MAX_RETRY_AFTER: StdDuration = StdDuration::from_secs(3_600);

/// How hard the dispatcher tries.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Attempts before an action is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long a claim is held before another dispatcher may take the action over.
    pub lease: Duration,
    /// Actions claimed per round.
    pub batch: usize,
    /// Longest sleep between rounds when nothing wakes the dispatcher.
    pub idle_poll: StdDuration,
    /// Name of this dispatcher in leases (host and pid, so several instances can share a database).
    pub owner: String,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            max_attempts: 8,
            backoff_base: Duration::seconds(1),
            backoff_max: Duration::minutes(5),
            lease: Duration::seconds(60),
            batch: 256,
            idle_poll: StdDuration::from_millis(500),
            owner: format!("qunzhu-{}", std::process::id()),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub done: usize,
    pub retried: usize,
    pub deferred: usize,
    pub dead: usize,
    pub skipped: usize,
}

impl Round {
    fn add(&mut self, other: Round) {
        self.claimed += other.claimed;
        self.done += other.done;
        self.retried += other.retried;
        self.deferred += other.deferred;
        self.dead += other.dead;
        self.skipped += other.skipped;
    }
}

/// Carries out one connector's outbox.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    connector: Arc<dyn Connector>,
    clock: Arc<dyn Clock>,
    config: DispatchConfig,
    limiter: Mutex<RateLimiter>,
    wake: Arc<Notify>,
    /// Fills SOP posts' live variables just before they are sent.
    renderer: LiveRenderer,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        connector: Arc<dyn Connector>,
        clock: Arc<dyn Clock>,
        config: DispatchConfig,
    ) -> Self {
        let caps = connector.capabilities();
        let limiter = RateLimiter::new(caps.per_group_rate, caps.global_rate);
        Dispatcher {
            renderer: LiveRenderer::new(store.clone()),
            store,
            connector,
            clock,
            config,
            limiter: Mutex::new(limiter),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Notifying this handle makes the dispatcher look at the outbox at once (new actions).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Claims what is due now and carries it out; groups run concurrently, one group's actions
    /// in order.
    pub async fn run_once(&self) -> qunzhu_storage::Result<Round> {
        let now = self.clock.now();
        let budget = self.limiter.lock().await.account_budget(now);
        if budget == 0 {
            return Ok(Round::default());
        }
        let claimed = self
            .store
            .claim_actions(Claim {
                platform: self.connector.platform(),
                target: qunzhu_domain::ActionTarget::Platform,
                now,
                limit: self.config.batch.min(budget),
                owner: &self.config.owner,
                lease_until: now.plus(self.config.lease),
            })
            .await?;
        let mut round = Round {
            claimed: claimed.len(),
            ..Round::default()
        };
        let mut by_chat: BTreeMap<String, Vec<ActionRecord>> = BTreeMap::new();
        for action in claimed {
            by_chat.entry(action.chat.clone()).or_default().push(action);
        }
        let lanes = by_chat.into_values().map(|actions| self.run_lane(actions));
        for result in futures::future::join_all(lanes).await {
            round.add(result?);
        }
        Ok(round)
    }

    /// One group's claimed actions, in order. After a deferral the rest of the lane is
    /// deferred too, so messages never overtake each other.
    async fn run_lane(&self, actions: Vec<ActionRecord>) -> qunzhu_storage::Result<Round> {
        let mut round = Round::default();
        let mut hold_until: Option<DateTime<Utc>> = None;
        for action in actions {
            let now = self.clock.now();
            if let Some(until) = hold_until {
                self.store
                    .finish_action(action.id, ActionOutcome::Defer { at: until }, now)
                    .await?;
                round.deferred += 1;
                continue;
            }
            let outcome = self.attempt(&action, now).await;
            match &outcome {
                ActionOutcome::Done { .. } => round.done += 1,
                ActionOutcome::Retry { at, .. } => {
                    round.retried += 1;
                    hold_until = Some(*at);
                }
                ActionOutcome::Defer { at } => {
                    round.deferred += 1;
                    hold_until = Some(*at);
                }
                ActionOutcome::Dead { error } => {
                    tracing::warn!(action = action.id.0, key = %action.key, %error, "action dead-lettered");
                    round.dead += 1;
                }
                ActionOutcome::Skip { reason } => {
                    tracing::info!(action = action.id.0, key = %action.key, %reason, "action skipped");
                    round.skipped += 1;
                }
            }
            self.store
                .finish_action(action.id, outcome, self.clock.now())
                .await?;
        }
        Ok(round)
    }

    async fn attempt(&self, action: &ActionRecord, now: DateTime<Utc>) -> ActionOutcome {
        if let Some(expired) = action.expires_at.filter(|expires_at| *expires_at < now) {
            let late = now - action.not_before;
            return ActionOutcome::Skip {
                reason: format!(
                    "expired at {expired} ({} min after it was due)",
                    late.num_minutes()
                ),
            };
        }
        if let Some(reason) = self.superseded(action).await {
            return ActionOutcome::Skip { reason };
        }
        if let Some(reason) = crate::human_check::expiry_moot(self.store.as_ref(), action).await {
            return ActionOutcome::Skip { reason };
        }
        let caps = self.connector.capabilities();
        if !caps.supports(&action.kind) {
            return ActionOutcome::Dead {
                error: format!(
                    "{} cannot {} (capability missing)",
                    self.connector.platform(),
                    action.kind.name()
                ),
            };
        }
        if let Err(ready) = self.limiter.lock().await.try_acquire(&action.chat, now) {
            return ActionOutcome::Defer { at: ready };
        }
        // Render hook: a post says what is true when it is sent (members, today's leaders).
        let rendered = match self.renderer.render(action, now).await {
            Ok(rendered) => rendered,
            Err(error) => {
                return ActionOutcome::Retry {
                    at: now.plus(self.backoff(action.attempts + 1)),
                    error: format!("cannot fill the post's variables: {error}"),
                }
            }
        };
        let action = rendered.as_ref().unwrap_or(action);
        match self.connector.execute(action).await {
            Ok(receipt) => ActionOutcome::Done { receipt },
            Err(ConnectorError::RateLimited { retry_after }) => {
                // A platform's Retry-After is outside input: capped, so a huge one
                // cannot park the outbox for good or overflow the instant.
                let wait = Duration::from_std(retry_after.min(MAX_RETRY_AFTER))
                    .unwrap_or(Duration::seconds(1));
                let until = self.clock.now().plus(wait);
                self.limiter.lock().await.pause(until);
                tracing::info!(
                    action = action.id.0,
                    ?retry_after,
                    "platform rate limit; deferring"
                );
                ActionOutcome::Defer { at: until }
            }
            Err(ConnectorError::Permanent(error)) | Err(ConnectorError::Auth(error)) => {
                ActionOutcome::Dead { error }
            }
            Err(ConnectorError::Transient(error)) => {
                let attempts = action.attempts + 1;
                if attempts >= self.config.max_attempts {
                    ActionOutcome::Dead {
                        error: format!("gave up after {attempts} attempts: {error}"),
                    }
                } else {
                    ActionOutcome::Retry {
                        at: self.clock.now().plus(self.backoff(attempts)),
                        error,
                    }
                }
            }
        }
    }

    /// A scheduled unmute is wrong when another mute of the same member is still in force at
    /// its time (a later or a longer one, or one for good): lifting would cut that mute short.
    /// That mute's own unmute lifts it when it ends.
    async fn superseded(&self, action: &ActionRecord) -> Option<String> {
        if !qunzhu_moderation::is_timed_unmute(&action.key, &action.kind) {
            return None;
        }
        let qunzhu_domain::ActionKind::Unmute { member } = &action.kind else {
            return None;
        };
        let own_mute = action
            .key
            .strip_suffix(qunzhu_moderation::unmute::UNMUTE_SUFFIX);
        let filter = qunzhu_storage::ActionFilter {
            chat: Some(action.chat.clone()),
            limit: Some(1_000),
            ..qunzhu_storage::ActionFilter::default()
        };
        let others = match self.store.actions(action.workspace, &filter).await {
            Ok(others) => others,
            Err(error) => {
                // Unsure: unmuting on time is the promise the mute made.
                tracing::warn!(%error, action = action.id.0, "cannot check for a later mute");
                return None;
            }
        };
        // A mute is over once an unmute of the member was carried out after it was decided
        // (its own scheduled unmute, or a person's undo).
        let lifted_after = |mute: &ActionRecord| {
            others.iter().any(|unmute| {
                matches!(&unmute.kind, qunzhu_domain::ActionKind::Unmute { member: lifted } if lifted == member)
                    && unmute.id != action.id
                    && unmute.status == qunzhu_domain::ActionStatus::Done
                    && unmute.created_at >= mute.created_at
            })
        };
        others.iter().find_map(|other| match &other.kind {
            qunzhu_domain::ActionKind::Mute {
                member: muted,
                until,
                ..
            } if muted == member
                && Some(other.key.as_str()) != own_mute
                && !lifted_after(other)
                && !matches!(
                    other.status,
                    qunzhu_domain::ActionStatus::Dead
                        | qunzhu_domain::ActionStatus::Skipped
                        | qunzhu_domain::ActionStatus::DryRun
                )
                && until.is_none_or(|until| until > action.not_before) =>
            {
                Some(match until {
                    Some(until) => format!("another mute ({}) lasts until {until}", other.key),
                    None => format!("another mute ({}) has no end", other.key),
                })
            }
            _ => None,
        })
    }

    /// Exponential backoff with up to 20% jitter so retries of many actions spread out.
    fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2_i32.saturating_pow(attempts.saturating_sub(1).min(20));
        let base = self
            .config
            .backoff_base
            .checked_mul(factor)
            .unwrap_or(self.config.backoff_max)
            .min(self.config.backoff_max);
        let jitter_ms = (base.num_milliseconds() / 5).max(0);
        let jitter = if jitter_ms > 0 {
            rand::random::<u64>() % jitter_ms as u64
        } else {
            0
        };
        base.checked_add(&Duration::milliseconds(jitter as i64))
            .unwrap_or(base)
    }

    /// Runs rounds until `stop` resolves: right away when woken, else every `idle_poll`.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            match self.run_once().await {
                Ok(round) if round.claimed > 0 => {
                    tracing::debug!(?round, "dispatch round");
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "dispatcher could not reach the store"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.idle_poll) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

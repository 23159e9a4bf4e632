//! Token buckets per group and per connector, so sends stay within a platform's limits.
//!
//! The dispatcher never sleeps on a bucket: it asks when the next send may go and defers the
//! action in the outbox until then, so a throttled group never holds up another group.

use qunzhu_domain::Instant;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::Rate;

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    updated: DateTime<Utc>,
    /// A platform's `Retry-After`: nothing goes before this instant.
    paused_until: Option<DateTime<Utc>>,
}

impl Bucket {
    fn full(rate: Rate, now: DateTime<Utc>) -> Self {
        Bucket {
            tokens: f64::from(rate.burst),
            updated: now,
            paused_until: None,
        }
    }

    fn refill(&mut self, rate: Rate, now: DateTime<Utc>) {
        let elapsed = (now - self.updated)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as f64
            / 1e6;
        self.tokens = (self.tokens + elapsed * rate.per_second).min(f64::from(rate.burst));
        self.updated = now;
    }

    /// When one token will be available (now if it already is).
    fn ready_at(&self, rate: Rate, now: DateTime<Utc>) -> DateTime<Utc> {
        let paused = self.paused_until.filter(|until| *until > now);
        let refill_wait = if self.tokens >= 1.0 || rate.per_second.is_infinite() {
            now
        } else {
            let seconds = (1.0 - self.tokens) / rate.per_second;
            now.plus(Duration::microseconds((seconds * 1e6).ceil() as i64))
        };
        paused.map_or(refill_wait, |until| until.max(refill_wait))
    }
}

/// The limits of one connector: a bucket per group and one for the whole account.
#[derive(Debug)]
pub struct RateLimiter {
    per_group: Rate,
    global: Rate,
    groups: HashMap<String, Bucket>,
    account: Option<Bucket>,
}

impl RateLimiter {
    pub fn new(per_group: Rate, global: Rate) -> Self {
        RateLimiter {
            per_group,
            global,
            groups: HashMap::new(),
            account: None,
        }
    }

    /// Takes a token for a send in `chat` if both buckets allow it now; otherwise says when to
    /// try again and takes nothing.
    pub fn try_acquire(&mut self, chat: &str, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        let (per_group, global) = (self.per_group, self.global);
        let account = self
            .account
            .get_or_insert_with(|| Bucket::full(global, now));
        account.refill(global, now);
        let group = self
            .groups
            .entry(chat.to_string())
            .or_insert_with(|| Bucket::full(per_group, now));
        group.refill(per_group, now);
        let ready = account
            .ready_at(global, now)
            .max(group.ready_at(per_group, now));
        if ready > now {
            return Err(ready);
        }
        account.tokens -= 1.0;
        group.tokens -= 1.0;
        Ok(())
    }

    /// How many sends the account could make right now (the dispatcher claims no more than
    /// this, so a throttled account does not churn through claims it must defer).
    pub fn account_budget(&mut self, now: DateTime<Utc>) -> usize {
        let global = self.global;
        let account = self
            .account
            .get_or_insert_with(|| Bucket::full(global, now));
        account.refill(global, now);
        if account.paused_until.is_some_and(|until| until > now) {
            return 0;
        }
        if global.per_second.is_infinite() {
            return usize::MAX;
        }
        account.tokens.max(0.0).floor() as usize
    }

    /// The platform said "slow down": hold every send of this account until `until`.
    pub fn pause(&mut self, until: DateTime<Utc>) {
        let now = until;
        let account = self
            .account
            .get_or_insert_with(|| Bucket::full(self.global, now));
        account.paused_until = Some(
            account
                .paused_until
                .map_or(until, |previous| previous.max(until)),
        );
        account.tokens = account.tokens.min(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_burst_then_the_steady_rate() {
        let mut limiter = RateLimiter::new(
            Rate {
                per_second: 1.0,
                burst: 3,
            },
            Rate::UNLIMITED,
        );
        for _ in 0..3 {
            assert_eq!(limiter.try_acquire("g", at(0)), Ok(()));
        }
        assert_eq!(limiter.try_acquire("g", at(0)), Err(at(1)));
        // Another group has its own bucket.
        assert_eq!(limiter.try_acquire("h", at(0)), Ok(()));
        assert_eq!(limiter.try_acquire("g", at(1)), Ok(()));
    }

    #[test]
    fn the_global_bucket_spans_groups_and_a_pause_holds_everything() {
        let mut limiter = RateLimiter::new(
            Rate::UNLIMITED,
            Rate {
                per_second: 2.0,
                burst: 2,
            },
        );
        assert_eq!(limiter.try_acquire("a", at(0)), Ok(()));
        assert_eq!(limiter.try_acquire("b", at(0)), Ok(()));
        assert!(limiter.try_acquire("c", at(0)).is_err());
        limiter.pause(at(30));
        assert_eq!(limiter.account_budget(at(10)), 0);
        assert_eq!(limiter.try_acquire("c", at(10)), Err(at(30)));
        assert_eq!(limiter.try_acquire("c", at(30)), Ok(()));
    }
}

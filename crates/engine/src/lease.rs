//! One poller per connector account across instances: a connector wrapped in a lease.
//!
//! Several instances on one PostgreSQL share dispatch (claims never overlap), but each account's
//! events must be heard by exactly one of them, or their in-memory deciders would each see half
//! a conversation and fight over the cursor. [`LeasedConnector`] polls only while its instance
//! holds the lease `poll:<connector id>`, renewed in the background every third of its time to
//! live; when the holder dies, the lease runs out and another instance takes over, resuming from
//! the cursor the store kept with the last ingested batch (never from its own stale one).
//! Executing actions is not leased: any instance may carry out any claimed action.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use qunzhu_connector::{Batch, Capabilities, Connector, ConnectorError, Result};
use qunzhu_domain::{ActionRecord, Clock, Platform};
use qunzhu_storage::Store;
use tokio::sync::watch;

/// How long an instance's hold lasts without renewal, unless configured otherwise.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(15);

pub struct LeasedConnector {
    inner: Arc<dyn Connector>,
    store: Arc<dyn Store>,
    ttl: Duration,
    held: Arc<AtomicBool>,
    /// Set when the lease was (re)gained: the next poll starts from the stored cursor.
    resume_from_store: AtomicBool,
}

impl LeasedConnector {
    /// Wraps `inner`, tries the lease once, and keeps renewing it until `stop`; `holder` names
    /// this instance (stable across its restarts, so a restarted instance gets its own lease
    /// back at once instead of waiting for it to run out).
    pub async fn start(
        inner: Arc<dyn Connector>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        holder: String,
        ttl: Duration,
        stop: watch::Receiver<bool>,
    ) -> Arc<LeasedConnector> {
        let lease = format!("poll:{}", inner.id());
        let held = Arc::new(AtomicBool::new(false));
        try_hold(&*store, &*clock, &lease, &holder, ttl, &held).await;
        tokio::spawn(renew(
            store.clone(),
            clock,
            lease.clone(),
            holder.clone(),
            ttl,
            held.clone(),
            stop,
        ));
        Arc::new(LeasedConnector {
            inner,
            store,
            ttl,
            held,
            resume_from_store: AtomicBool::new(true),
        })
    }

    pub fn holds_lease(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }
}

/// Takes or renews the lease every third of `ttl`; releases it on a clean stop.
async fn renew(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lease: String,
    holder: String,
    ttl: Duration,
    held: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(ttl / 3) => {
                try_hold(&*store, &*clock, &lease, &holder, ttl, &held).await;
            }
            _ = stop.changed() => {
                if held.load(Ordering::SeqCst) {
                    if let Err(error) = store.release_lease(&lease, &holder).await {
                        tracing::warn!(%error, lease, "could not release the poll lease");
                    }
                }
                return;
            }
        }
    }
}

/// One attempt to take or renew the lease; `held` says the outcome.
async fn try_hold(
    store: &dyn Store,
    clock: &dyn Clock,
    lease: &str,
    holder: &str,
    ttl: Duration,
    held: &AtomicBool,
) {
    let now = clock.now();
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(15));
    let holds = match store.acquire_lease(lease, holder, now, now + ttl).await {
        Ok(holds) => holds,
        Err(error) => {
            // Unsure whether the renewal landed: stop polling until it is known, so two
            // instances never poll at once for long.
            tracing::warn!(%error, lease, "cannot renew the poll lease");
            false
        }
    };
    let had = held.swap(holds, Ordering::SeqCst);
    if holds && !had {
        tracing::info!(lease, holder, "took the poll lease");
    } else if had && !holds {
        tracing::warn!(lease, holder, "lost the poll lease");
    }
}

#[async_trait]
impl Connector for LeasedConnector {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }

    fn id(&self) -> &str {
        self.inner.id()
    }

    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }

    fn bot_user(&self) -> Option<String> {
        self.inner.bot_user()
    }

    async fn poll(&self, cursor: Option<&str>) -> Result<Batch> {
        if !self.holds_lease() {
            // Another instance polls this account; ask again shortly (the loop's stop signal
            // cancels this wait).
            self.resume_from_store.store(true, Ordering::SeqCst);
            tokio::time::sleep(self.ttl / 3).await;
            return Ok(Batch::default());
        }
        if self.resume_from_store.swap(false, Ordering::SeqCst) {
            let stored = self
                .store
                .cursor(self.inner.id())
                .await
                .map_err(|error| ConnectorError::Transient(error.to_string()))?;
            return self.inner.poll(stored.as_deref()).await;
        }
        self.inner.poll(cursor).await
    }

    async fn execute(&self, action: &ActionRecord) -> Result<Option<String>> {
        self.inner.execute(action).await
    }

    async fn member_link(&self, chat: &str, code: &str) -> Result<String> {
        self.inner.member_link(chat, code).await
    }

    fn requester_chat(&self, chat: &str, member: &str) -> Option<qunzhu_connector::RequesterChat> {
        self.inner.requester_chat(chat, member)
    }
}

//! The access token: fetched with the app's secret, valid for `expires_in` seconds (7200), and
//! shared by every qunzhu instance through an injected [`TokenCache`] so they do not each fetch.
//!
//! WeCom answers a second `gettoken` within the validity with the same token, so two instances
//! racing to refresh is harmless; the cache only saves the calls and keeps the refresh early.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A token with the instant it stops being valid.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    pub value: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("value", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl CachedToken {
    /// Refreshed this long before WeCom would refuse it, so no call runs into the expiry.
    pub const MARGIN: Duration = Duration::minutes(5);

    pub fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        now + Self::MARGIN < self.expires_at
    }
}

/// Where tokens are shared: memory for one instance, the database for several (the binary
/// injects a store-backed cache on PostgreSQL).
#[async_trait]
pub trait TokenCache: Send + Sync {
    async fn load(&self, name: &str) -> Result<Option<CachedToken>, String>;
    /// Keeps `token` unless the cache holds one that expires later; returns the one in force.
    async fn store_if_newer(&self, name: &str, token: CachedToken) -> Result<CachedToken, String>;
    /// Drops a token WeCom refused (42001) so nobody uses it again.
    async fn forget(&self, name: &str, value: &str) -> Result<(), String>;
}

/// A cache for a single instance.
#[derive(Debug, Default)]
pub struct MemoryTokenCache {
    tokens: Mutex<HashMap<String, CachedToken>>,
}

impl MemoryTokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedToken>> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl TokenCache for MemoryTokenCache {
    async fn load(&self, name: &str) -> Result<Option<CachedToken>, String> {
        Ok(self.lock().get(name).cloned())
    }

    async fn store_if_newer(&self, name: &str, token: CachedToken) -> Result<CachedToken, String> {
        let mut tokens = self.lock();
        let entry = tokens.entry(name.to_string()).or_insert(token.clone());
        if entry.expires_at < token.expires_at {
            *entry = token;
        }
        Ok(entry.clone())
    }

    async fn forget(&self, name: &str, value: &str) -> Result<(), String> {
        let mut tokens = self.lock();
        if tokens.get(name).is_some_and(|token| token.value == value) {
            tokens.remove(name);
        }
        Ok(())
    }
}

/// Tokens in qunzhu's store ([`ConnectorStateStore`]), so every instance on one database uses
/// the same token and refreshes it once.
pub struct StoreTokenCache<S: ?Sized> {
    store: std::sync::Arc<S>,
}

impl<S: ?Sized> StoreTokenCache<S> {
    pub fn new(store: std::sync::Arc<S>) -> Self {
        StoreTokenCache { store }
    }
}

#[async_trait]
impl<S> TokenCache for StoreTokenCache<S>
where
    S: qunzhu_storage::ConnectorStateStore + ?Sized + 'static,
{
    async fn load(&self, name: &str) -> Result<Option<CachedToken>, String> {
        self.store
            .connector_secret(name)
            .await
            .map(|found| {
                found.map(|secret| CachedToken {
                    value: secret.value,
                    expires_at: secret.expires_at,
                })
            })
            .map_err(|error| error.to_string())
    }

    async fn store_if_newer(&self, name: &str, token: CachedToken) -> Result<CachedToken, String> {
        let secret = qunzhu_storage::ConnectorSecret {
            value: token.value,
            expires_at: token.expires_at,
        };
        self.store
            .put_connector_secret_if_newer(name, &secret)
            .await
            .map(|kept| CachedToken {
                value: kept.value,
                expires_at: kept.expires_at,
            })
            .map_err(|error| error.to_string())
    }

    async fn forget(&self, name: &str, value: &str) -> Result<(), String> {
        self.store
            .forget_connector_secret(name, value)
            .await
            .map_err(|error| error.to_string())
    }
}

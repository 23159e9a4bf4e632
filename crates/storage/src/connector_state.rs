//! Small named values a connector shares across qunzhu instances: an access token with its
//! expiry (WeCom's is valid 7200 s and every instance should use the same one).
//!
//! The write is a compare-and-set in one statement — stored only if it expires later than what
//! is there — so two instances refreshing at once both end up using the same, newest value.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::Result;

/// A secret value and when it stops being valid.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectorSecret {
    pub value: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for ConnectorSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorSecret")
            .field("value", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[async_trait]
pub trait ConnectorStateStore: Send + Sync {
    /// The value stored under `name`, if any (expired or not: the caller decides).
    async fn connector_secret(&self, name: &str) -> Result<Option<ConnectorSecret>>;
    /// Stores `secret` unless the stored value expires at or after it; returns the value in
    /// force afterwards.
    async fn put_connector_secret_if_newer(
        &self,
        name: &str,
        secret: &ConnectorSecret,
    ) -> Result<ConnectorSecret>;
    /// Removes the value under `name` if it is still `value` (the platform refused it).
    async fn forget_connector_secret(&self, name: &str, value: &str) -> Result<()>;
}

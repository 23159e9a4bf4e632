//! Leases: which instance does a singular job (polling one connector account) right now.
//!
//! Several qunzhu instances may share one PostgreSQL database. Dispatch is shared (claims never
//! overlap), but a connector account must be polled by exactly one of them at a time, or its
//! cursor would be fought over. The holder renews its lease well before it runs out; when the
//! holder dies, the lease runs out and another instance takes it over.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// Who holds a lease and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes or renews the lease `name` for `holder` until `until`, if it is free, expired at
    /// `now`, or already `holder`'s. Atomic: of several instances asking at once, one gets it.
    /// Returns whether `holder` holds it now.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;

    /// Gives the lease up (a clean shutdown), so another instance need not wait for it to expire.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    /// The current holder, if any (expired leases included, with their expiry).
    async fn lease(&self, name: &str) -> Result<Option<Lease>>;
}

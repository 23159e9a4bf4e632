//! Leases on PostgreSQL: the row is taken or renewed by one atomic upsert whose condition
//! (free, expired, or already ours) is checked under the row lock, so two instances asking at
//! the same instant cannot both win.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_storage::{Lease, Leases, Result};

use crate::codec::{micros, time};
use crate::{backend, get, PostgresStore};

#[async_trait]
impl Leases for PostgresStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let client = self.client().await;
        let changed = client
            .execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                 WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= $4",
                &[&name, &holder, &micros(until), &micros(now)],
            )
            .await
            .map_err(backend)?;
        Ok(changed == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let client = self.client().await;
        client
            .execute(
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn lease(&self, name: &str) -> Result<Option<Lease>> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT name, holder, expires_at FROM leases WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(backend)?;
        row.map(|row| {
            Ok(Lease {
                name: get(&row, 0)?,
                holder: get(&row, 1)?,
                expires_at: time(get(&row, 2)?),
            })
        })
        .transpose()
    }
}

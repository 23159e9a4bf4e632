//! Leases on SQLite: one instance owns an embedded file, so a lease only ever changes hands
//! across restarts, but the same operations keep the engine backend-blind.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_storage::{Lease, Leases, Result};
use rusqlite::{params, OptionalExtension};

use crate::codec::{micros, time};
use crate::{backend, SqliteStore};

#[async_trait]
impl Leases for SqliteStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        self.run(|conn| {
            let changed = conn
                .execute(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4",
                    params![name, holder, micros(until), micros(now)],
                )
                .map_err(backend)?;
            Ok(changed == 1)
        })
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.run(|conn| {
            conn.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn lease(&self, name: &str) -> Result<Option<Lease>> {
        self.read(|conn| {
            conn.query_row(
                "SELECT name, holder, expires_at FROM leases WHERE name = ?1",
                [name],
                |row| {
                    Ok(Lease {
                        name: row.get(0)?,
                        holder: row.get(1)?,
                        expires_at: time(row.get(2)?),
                    })
                },
            )
            .optional()
            .map_err(backend)
        })
    }
}

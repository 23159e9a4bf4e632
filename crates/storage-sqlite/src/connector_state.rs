//! Connector secrets on SQLite: one upsert whose update only applies to a later expiry.

use async_trait::async_trait;
use qunzhu_storage::{ConnectorSecret, ConnectorStateStore, Result};
use rusqlite::{params, OptionalExtension};

use crate::codec::{micros, time};
use crate::{backend, SqliteStore};

fn read(conn: &rusqlite::Connection, name: &str) -> Result<Option<ConnectorSecret>> {
    conn.query_row(
        "SELECT value, expires_at FROM connector_secrets WHERE name = ?1",
        [name],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
    )
    .optional()
    .map_err(backend)
    .map(|found| {
        found.map(|(value, expires_at)| ConnectorSecret {
            value,
            expires_at: time(expires_at),
        })
    })
}

#[async_trait]
impl ConnectorStateStore for SqliteStore {
    async fn connector_secret(&self, name: &str) -> Result<Option<ConnectorSecret>> {
        self.read(|conn| read(conn, name))
    }

    async fn put_connector_secret_if_newer(
        &self,
        name: &str,
        secret: &ConnectorSecret,
    ) -> Result<ConnectorSecret> {
        self.run(|conn| {
            conn.execute(
                "INSERT INTO connector_secrets (name, value, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                 WHERE connector_secrets.expires_at < excluded.expires_at",
                params![name, secret.value, micros(secret.expires_at)],
            )
            .map_err(backend)?;
            read(conn, name)?.ok_or_else(|| {
                qunzhu_storage::StoreError::Backend("connector secret vanished after its write".into())
            })
        })
    }

    async fn forget_connector_secret(&self, name: &str, value: &str) -> Result<()> {
        self.run(|conn| {
            conn.execute(
                "DELETE FROM connector_secrets WHERE name = ?1 AND value = ?2",
                params![name, value],
            )
            .map(|_| ())
            .map_err(backend)
        })
    }
}

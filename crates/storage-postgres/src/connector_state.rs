//! Connector secrets on PostgreSQL: the upsert takes the row lock, and its update applies only
//! to a later expiry, so concurrent refreshes from several instances settle on the newest value.

use async_trait::async_trait;
use qunzhu_storage::{ConnectorSecret, ConnectorStateStore, Result, StoreError};

use crate::codec::{micros, time};
use crate::{backend, get, PostgresStore};

#[async_trait]
impl ConnectorStateStore for PostgresStore {
    async fn connector_secret(&self, name: &str) -> Result<Option<ConnectorSecret>> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT value, expires_at FROM connector_secrets WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(backend)?;
        row.map(|row| {
            Ok(ConnectorSecret {
                value: get(&row, 0)?,
                expires_at: time(get(&row, 1)?),
            })
        })
        .transpose()
    }

    async fn put_connector_secret_if_newer(
        &self,
        name: &str,
        secret: &ConnectorSecret,
    ) -> Result<ConnectorSecret> {
        let client = self.client().await;
        // One statement: the new row if it won, else the row that is there.
        let row = client
            .query_one(
                "WITH written AS (
                     INSERT INTO connector_secrets (name, value, expires_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                     WHERE connector_secrets.expires_at < excluded.expires_at
                     RETURNING value, expires_at)
                 SELECT value, expires_at FROM written
                 UNION ALL
                 SELECT value, expires_at FROM connector_secrets WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM written)
                 LIMIT 1",
                &[&name, &secret.value, &micros(secret.expires_at)],
            )
            .await
            .map_err(|error| StoreError::Backend(format!("connector secret {name}: {}", backend(error))))?;
        Ok(ConnectorSecret {
            value: get(&row, 0)?,
            expires_at: time(get(&row, 1)?),
        })
    }

    async fn forget_connector_secret(&self, name: &str, value: &str) -> Result<()> {
        let client = self.client().await;
        client
            .execute(
                "DELETE FROM connector_secrets WHERE name = $1 AND value = $2",
                &[&name, &value],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }
}

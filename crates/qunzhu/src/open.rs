//! Choosing and opening the storage backend, once, from the configuration.

use std::sync::Arc;

use anyhow::Context;
use qunzhu_storage::Store;
use qunzhu_storage_postgres::PostgresStore;
use qunzhu_storage_sqlite::SqliteStore;

use crate::config::Config;

/// PostgreSQL when `database_url` says so, else SQLite in the data directory. Migrations are
/// applied on open; a failure leaves what was stored untouched and is one sentence long.
pub async fn store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(url).await?));
    }
    if !url.is_empty() {
        anyhow::bail!("database_url `{url}` is not a postgres:// URL; leave it empty for the embedded SQLite database");
    }
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let path = config.data_dir.join("qunzhu.db");
    Ok(Arc::new(SqliteStore::open(&path)?))
}

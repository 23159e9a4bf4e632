//! Fresh databases for tests and benchmarks: one per caller, dropped when done.

use qunzhu_storage::{Result, StoreError};
use tokio_postgres::NoTls;

/// Drops its database when dropped (from a thread of its own, so it works inside a runtime).
pub struct DatabaseGuard {
    admin_url: String,
    name: String,
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok((client, connection)) = tokio_postgres::connect(&admin_url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// Creates `qunzhu_t_<random>` on the server of `base_url` and returns its URL.
pub async fn fresh_database(base_url: &str) -> Result<(String, DatabaseGuard)> {
    let (client, connection) = tokio_postgres::connect(base_url, NoTls)
        .await
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot reach PostgreSQL at {base_url}: {error}"))
        })?;
    tokio::spawn(connection);
    let name = format!("qunzhu_t_{:016x}", rand::random::<u64>());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(crate::backend)?;
    let url = match base_url.rsplit_once('/') {
        Some((server, database)) if !database.contains('@') && !server.ends_with('/') => {
            format!("{server}/{name}")
        }
        _ => format!("{}/{name}", base_url.trim_end_matches('/')),
    };
    Ok((
        url,
        DatabaseGuard {
            admin_url: base_url.to_string(),
            name,
        },
    ))
}

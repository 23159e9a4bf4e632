//! qunzhu's production storage: PostgreSQL, migrated on connect, safe for several qunzhu
//! instances on one database (migrations under an advisory lock, claims with SKIP LOCKED).
//!
//! The schema mirrors the SQLite backend's (times as BIGINT microseconds, days as text) so the
//! two answer the conformance suite identically.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod accounts;
mod analytics_models;
mod banlist;
mod bot_powers;
mod click_rollups;
mod codec;
mod connector_state;
mod coupon_revocations;
mod coupons;
mod drops;
mod guard_memory;
mod ingest;
mod invite_tasks;
mod invites;
mod landing;
mod leases;
mod ledger;
mod livecode_links;
mod livecodes;
mod lottery;
mod offers;
mod orders;
mod outbox;
mod platform_counts;
mod plays;
mod poll_tags;
mod queries;
mod races;
mod reports;
mod rollups;
mod sop;
mod store;
mod swaps;
pub mod testing;
mod tiers;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use qunzhu_storage::{Result, StoreError};
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, NoTls};

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../migrations/0001_init.sql")),
    (
        "0002_event_counter",
        include_str!("../migrations/0002_event_counter.sql"),
    ),
    ("0002_leases", include_str!("../migrations/0002_leases.sql")),
    (
        "0003_accounts",
        include_str!("../migrations/0003_accounts.sql"),
    ),
    (
        "0008_sop_read_models",
        include_str!("../migrations/0008_sop_read_models.sql"),
    ),
    (
        "0006_connector_state",
        include_str!("../migrations/0006_connector_state.sql"),
    ),
    (
        "0005_reports",
        include_str!("../migrations/0005_reports.sql"),
    ),
    ("0004_ledger", include_str!("../migrations/0004_ledger.sql")),
    (
        "0004b_coupons",
        include_str!("../migrations/0004b_coupons.sql"),
    ),
    (
        "0004c_invites",
        include_str!("../migrations/0004c_invites.sql"),
    ),
    (
        "0010_fair_baseline",
        include_str!("../migrations/0010_fair_baseline.sql"),
    ),
    (
        "0010b_workspace_keys",
        include_str!("../migrations/0010b_workspace_keys.sql"),
    ),
    (
        "0010c_pending_join_requests",
        include_str!("../migrations/0010c_pending_join_requests.sql"),
    ),
    (
        "0017_poll_tags",
        include_str!("../migrations/0017_poll_tags.sql"),
    ),
    (
        "0018_livecodes",
        include_str!("../migrations/0018_livecodes.sql"),
    ),
    ("0016_orders", include_str!("../migrations/0016_orders.sql")),
    (
        "0013_invite_tasks",
        include_str!("../migrations/0013_invite_tasks.sql"),
    ),
    (
        "0014_lotteries_drops",
        include_str!("../migrations/0014_lotteries_drops.sql"),
    ),
    (
        "0011_banlist",
        include_str!("../migrations/0011_banlist.sql"),
    ),
    (
        "0015_rollups",
        include_str!("../migrations/0015_rollups.sql"),
    ),
    (
        "0025_clicks_tiers",
        include_str!("../migrations/0025_clicks_tiers.sql"),
    ),
    (
        "0019_landing",
        include_str!("../migrations/0019_landing.sql"),
    ),
    ("0021_plays", include_str!("../migrations/0021_plays.sql")),
    (
        "0023_coupon_revocations",
        include_str!("../migrations/0023_coupon_revocations.sql"),
    ),
    ("0022_offers", include_str!("../migrations/0022_offers.sql")),
    (
        "0024_bot_powers",
        include_str!("../migrations/0024_bot_powers.sql"),
    ),
    (
        "0030_history_reads",
        include_str!("../migrations/0030_history_reads.sql"),
    ),
    ("0026_races", include_str!("../migrations/0026_races.sql")),
    (
        "0027_livecode_links",
        include_str!("../migrations/0027_livecode_links.sql"),
    ),
    (
        "0031_funnel_counts",
        include_str!("../migrations/0031_funnel_counts.sql"),
    ),
    (
        "0032_read_models",
        include_str!("../migrations/0032_read_models.sql"),
    ),
    (
        "0033_lean_log",
        include_str!("../migrations/0033_lean_log.sql"),
    ),
    (
        "0034_group_figures",
        include_str!("../migrations/0034_group_figures.sql"),
    ),
];
const POOL_SIZE: usize = 4;
/// Any constant shared by every qunzhu instance: the key of the migration advisory lock.
const MIGRATION_LOCK: i64 = 0x7175_6e7a_6875;

/// The PostgreSQL backend of [`qunzhu_storage::Store`].
pub struct PostgresStore {
    clients: Vec<Mutex<Client>>,
    next: AtomicUsize,
}

impl PostgresStore {
    /// Connects (a few connections), then applies pending migrations in one transaction under
    /// an advisory lock. An unreachable server is one sentence, after at most ~5 seconds.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|error| StoreError::Unavailable(format!("bad PostgreSQL URL: {error}")))?;
        config.connect_timeout(Duration::from_secs(5));
        let place = describe(&config);
        let mut clients = Vec::with_capacity(POOL_SIZE);
        for _ in 0..POOL_SIZE {
            let (client, connection) = config.connect(NoTls).await.map_err(|error| {
                StoreError::Unavailable(format!(
                    "cannot reach PostgreSQL at {place}: {}",
                    plain(&error)
                ))
            })?;
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::error!(%error, "PostgreSQL connection closed");
                }
            });
            clients.push(Mutex::new(client));
        }
        let store = PostgresStore {
            clients,
            next: AtomicUsize::new(0),
        };
        store.migrate().await.map_err(|error| match error {
            StoreError::Backend(message) => StoreError::Unavailable(format!(
                "cannot migrate PostgreSQL database at {place}: {message}"
            )),
            other => other,
        })?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(backend)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            .await
            .map_err(backend)?;
        for (name, sql) in MIGRATIONS {
            let applied = tx
                .query_opt("SELECT 1 FROM schema_migrations WHERE name = $1", &[name])
                .await
                .map_err(backend)?;
            if applied.is_none() {
                tx.batch_execute(sql).await.map_err(|error| {
                    StoreError::Backend(format!("migration {name}: {}", plain(&error)))
                })?;
                tx.execute("INSERT INTO schema_migrations (name) VALUES ($1)", &[name])
                    .await
                    .map_err(backend)?;
            }
        }
        tx.commit().await.map_err(backend)
    }

    /// A free connection, or the next one when all are busy.
    pub(crate) async fn client(&self) -> MutexGuard<'_, Client> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for offset in 0..self.clients.len() {
            if let Ok(guard) = self.clients[(start + offset) % self.clients.len()].try_lock() {
                return guard;
            }
        }
        self.clients[start % self.clients.len()].lock().await
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// The server's message (or the IO cause) without the client library's decoration.
fn plain(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.message().to_string();
    }
    match std::error::Error::source(error) {
        Some(source) => source.to_string(),
        None => error.to_string(),
    }
}

pub(crate) fn backend(error: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(plain(&error))
}

/// One column of a row, typed; a mismatch is an error, never a panic.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    index: usize,
) -> Result<T> {
    row.try_get(index).map_err(backend)
}

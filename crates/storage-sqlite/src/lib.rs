//! qunzhu's embedded storage: one SQLite file in WAL mode, migrated on open.
//!
//! One connection behind a mutex does all the writing: SQLite serializes writers anyway, and a
//! single connection keeps prepared statements hot. Reads that pages and `/healthz` make go to
//! read-only connections ([`readers`]), so they never queue behind a long ingest transaction.
//! Async callers reach both through [`SqliteStore::run`] / [`SqliteStore::read`], which use
//! `block_in_place` on a multi-threaded runtime so other tasks keep running meanwhile.

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
mod documents;
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
mod private;
mod queries;
mod races;
mod readers;
mod reports;
mod rollups;
mod sop;
mod store;
mod swaps;
mod tiers;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use qunzhu_storage::{Result, StoreError};
use rusqlite::Connection;

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

/// The SQLite backend of [`qunzhu_storage::Store`].
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Read-only connections to the same file; `None` in memory, where only one connection
    /// sees the data.
    readers: Option<readers::Readers>,
    /// Groups and members known to exist, so the hot ingest path skips their upserts.
    known: Mutex<Known>,
}

#[derive(Default)]
pub(crate) struct Known {
    pub groups: HashSet<(i64, String, String)>,
    pub members: HashSet<(i64, String, String)>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file and applies pending migrations.
    ///
    /// A locked, corrupt or unwritable file gives one sentence in `StoreError::Unavailable`;
    /// migrations run each in a transaction, so a failure leaves the file as it was.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let fail = |error: rusqlite::Error| {
            StoreError::Unavailable(format!(
                "cannot open SQLite database {}: {}",
                path.display(),
                plain(&error)
            ))
        };
        private::make_private(path).map_err(|error| {
            StoreError::Unavailable(format!(
                "cannot open SQLite database {}: {error}",
                path.display()
            ))
        })?;
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        // Reading the schema first tells a non-database file or a lock apart before anything is written.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
            row.get::<_, i64>(0)
        })
        .map_err(fail)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 268435456; PRAGMA wal_autocheckpoint = 8192;").map_err(fail)?;
        let mut store = SqliteStore::migrated(conn).map_err(|error| match error {
            StoreError::Backend(message) => StoreError::Unavailable(format!(
                "cannot migrate SQLite database {}: {message}",
                path.display()
            )),
            other => other,
        })?;
        store.readers = Some(readers::Readers::new(path));
        Ok(store)
    }

    /// A private database in memory, for tests.
    pub fn open_in_memory() -> Result<SqliteStore> {
        let conn = Connection::open_in_memory().map_err(backend)?;
        SqliteStore::migrated(conn)
    }

    fn migrated(mut conn: Connection) -> Result<SqliteStore> {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .map_err(backend)?;
        for (name, sql) in MIGRATIONS {
            let tx = conn.transaction().map_err(backend)?;
            let applied: i64 = tx
                .query_row(
                    "SELECT count(*) FROM schema_migrations WHERE name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            if applied == 0 {
                tx.execute_batch(sql)
                    .map_err(|error| StoreError::Backend(format!("migration {name}: {error}")))?;
                tx.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?1, strftime('%s','now'))", [name])
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            readers: None,
            known: Mutex::new(Known::default()),
        })
    }

    /// Runs database work on the one connection without stalling the async runtime.
    pub(crate) fn run<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let call = || {
            let mut conn = self
                .conn
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut conn)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(call)
            }
            _ => call(),
        }
    }

    /// Runs a read on a read-only connection (the writer's, in memory), off the async threads.
    pub(crate) fn read<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let Some(readers) = &self.readers else {
            return self.run(work);
        };
        let call = || readers.with(work);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(call)
            }
            _ => call(),
        }
    }

    pub(crate) fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The message of a SQLite error without rusqlite's decoration.
fn plain(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        rusqlite::Error::SqliteFailure(failure, None) => failure.to_string(),
        other => other.to_string(),
    }
}

pub(crate) fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(plain(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_database_is_one_clear_sentence_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qunzhu.db");
        std::fs::write(
            &path,
            b"these are not the bytes of a database, just some text long enough........",
        )
        .unwrap();
        let before = std::fs::read(&path).unwrap();
        let error = SqliteStore::open(&path).err().unwrap().to_string();
        assert_eq!(
            error,
            format!(
                "cannot open SQLite database {}: file is not a database",
                path.display()
            )
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn reopening_applies_no_migration_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qunzhu.db");
        drop(SqliteStore::open(&path).unwrap());
        let store = SqliteStore::open(&path).unwrap();
        let count: i64 = store
            .run(|conn| {
                conn.query_row("SELECT count(*) FROM schema_migrations", [], |row| {
                    row.get(0)
                })
                .map_err(backend)
            })
            .unwrap();
        assert_eq!(count, MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_locked_database_is_one_clear_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qunzhu.db");
        drop(SqliteStore::open(&path).unwrap());
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
            .unwrap();
        let started = std::time::Instant::now();
        let error = SqliteStore::open(&path).err().unwrap().to_string();
        assert!(
            error.starts_with("cannot open SQLite database")
                && error.ends_with("database is locked"),
            "{error}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
}

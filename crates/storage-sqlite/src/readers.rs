//! Read-only connections beside the one writer, so the console and `/healthz` never wait
//! behind a long write transaction (a backlog being ingested).
//!
//! In WAL mode readers see the last committed state while a writer works; each read connection
//! is used by one caller at a time and returned to a small idle list afterwards.
//!
//! Read connections map nothing (`mmap_size = 0`): each connection's map of the file is its own,
//! and every page it ever touched stays in the process's resident set, so a few readers over a
//! large log counted the same pages several times over. They read through the OS page cache
//! instead, with a small page cache of their own each, so the memory they hold is bounded by
//! `KEEP_IDLE × READ_CACHE`, whatever the size of the log.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use qunzhu_storage::Result;
use rusqlite::{Connection, OpenFlags};

use crate::backend;

/// More idle connections than this are closed rather than kept.
const KEEP_IDLE: usize = 4;
/// Each read connection's page cache, in KiB (SQLite's negative `cache_size`).
const READ_CACHE_KIB: u32 = 8 * 1024;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(path: &Path) -> Readers {
        Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Result<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        if let Some(conn) = idle {
            return Ok(conn);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA cache_size = -{READ_CACHE_KIB}; PRAGMA mmap_size = 0; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(backend)?;
        Ok(conn)
    }

    /// Runs `work` on a read connection (opened if none is idle).
    pub(crate) fn with<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.take()?;
        let result = work(&mut conn);
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    use crate::{backend, SqliteStore};

    #[test]
    fn a_read_completes_while_the_writer_is_inside_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("qunzhu.db")).unwrap());
        let (inside, writer_is_inside) = mpsc::channel();
        let (done, reader_is_done) = mpsc::channel::<()>();
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.run(|conn| {
                    let tx = conn.transaction().map_err(backend)?;
                    tx.execute("INSERT INTO counters (name, value) VALUES ('w', 1)", [])
                        .map_err(backend)?;
                    inside.send(()).ok();
                    // Holds the writer (and its transaction) until the reader has finished; a
                    // reader that queued behind the writer would never finish.
                    let finished = reader_is_done.recv_timeout(Duration::from_secs(30)).is_ok();
                    tx.commit().map_err(backend)?;
                    Ok(finished)
                })
            })
        };
        writer_is_inside.recv().unwrap();
        let seen: i64 = store
            .read(|conn| {
                conn.query_row(
                    "SELECT count(*) FROM counters WHERE name = 'w'",
                    [],
                    |row| row.get(0),
                )
                .map_err(backend)
            })
            .unwrap();
        assert_eq!(seen, 0, "the reader sees the last committed state");
        done.send(()).unwrap();
        assert!(
            writer.join().unwrap().unwrap(),
            "the read finished while the write transaction was open"
        );
        let after: i64 = store
            .read(|conn| {
                conn.query_row(
                    "SELECT count(*) FROM counters WHERE name = 'w'",
                    [],
                    |row| row.get(0),
                )
                .map_err(backend)
            })
            .unwrap();
        assert_eq!(after, 1, "and the commit once it is made");
    }
}

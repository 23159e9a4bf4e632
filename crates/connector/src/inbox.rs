//! A durable inbox a push-based connector owns: what a webhook or callback received, written to
//! disk before the platform is answered, then drained by `poll` like any pull-based platform.
//!
//! The trait is pull-based (`poll` with a cursor the engine stores in the same transaction as the
//! events), so a platform that pushes (a Telegram webhook, WeCom callbacks) needs somewhere to keep
//! what it pushed until the engine has logged it. This is that place: one append-only file of JSON
//! lines, each `{seq, key, at, payload}`, fsynced before [`Inbox::append`] returns. The cursor is the
//! last `seq` the engine stored; entries at or below it are acknowledged and may be compacted.
//!
//! Platforms retry a delivery they think failed (WeCom three times), so an append whose `key` is
//! already in the inbox is a counted no-op. Keys of acknowledged entries are kept for
//! [`Inbox::KEEP_KEYS`] after compaction so a late retry is still recognised.
//!
//! A crash mid-append leaves at most one partial last line; opening the file drops it (that
//! delivery was never answered, so the platform sends it again).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One delivery as the inbox holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// Position in the inbox, from 1; the cursor a poll returns.
    pub seq: u64,
    /// The platform's own id for the delivery (update id, message signature), for dedupe.
    pub key: String,
    /// Unix seconds when it arrived.
    pub at: i64,
    /// The delivery as received (raw JSON, decrypted XML); `None` once compacted away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// Whether an append was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    New { seq: u64 },
    Duplicate { seq: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("inbox {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("inbox {path}:{line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

struct Inner {
    file: File,
    /// Every entry still in the file, in order.
    entries: Vec<InboxEntry>,
    /// key → seq for every entry in the file.
    keys: HashMap<String, u64>,
    next_seq: u64,
    duplicates: u64,
}

/// The durable buffer; cheap to share behind an `Arc`, safe from several threads.
pub struct Inbox {
    path: PathBuf,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox").field("path", &self.path).finish()
    }
}

impl Inbox {
    /// How long the key of an acknowledged entry is remembered after compaction, in seconds.
    pub const KEEP_KEYS: i64 = 24 * 3600;

    /// Opens (creating if missing) the inbox file, dropping a partial last line left by a crash.
    pub fn open(path: impl AsRef<Path>) -> Result<Inbox, InboxError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| InboxError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Deliveries carry members' messages and ids: readable by qunzhu's user only.
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io)?;
        let mut entries = Vec::new();
        let mut good_len = 0u64;
        let mut reader = BufReader::new(&mut file);
        let mut line = String::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader.read_line(&mut line).map_err(io)?;
            if read == 0 {
                break;
            }
            number += 1;
            if !line.ends_with('\n') {
                // A crash mid-append: the delivery was never answered, so it will come again.
                break;
            }
            let entry: InboxEntry =
                serde_json::from_str(line.trim_end()).map_err(|error| InboxError::Corrupt {
                    path: path.clone(),
                    line: number,
                    message: error.to_string(),
                })?;
            good_len += read as u64;
            entries.push(entry);
        }
        drop(reader);
        if file.metadata().map_err(io)?.len() != good_len {
            file.set_len(good_len).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let next_seq = entries.last().map_or(1, |entry| entry.seq + 1);
        let keys = entries
            .iter()
            .map(|entry| (entry.key.clone(), entry.seq))
            .collect();
        Ok(Inbox {
            path,
            inner: Mutex::new(Inner {
                file,
                entries,
                keys,
                next_seq,
                duplicates: 0,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the file half-written (each write is one
        // line, and `open` drops a partial one), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn io(&self, source: std::io::Error) -> InboxError {
        InboxError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes a delivery and syncs it to disk before returning; a key already present is a
    /// duplicate and writes nothing. Answer the platform only after this returns `Ok`.
    pub fn append(&self, key: &str, at: i64, payload: &str) -> Result<Appended, InboxError> {
        let mut inner = self.lock();
        if let Some(&seq) = inner.keys.get(key) {
            inner.duplicates += 1;
            return Ok(Appended::Duplicate { seq });
        }
        let entry = InboxEntry {
            seq: inner.next_seq,
            key: key.to_string(),
            at,
            payload: Some(payload.to_string()),
        };
        let mut line = serde_json::to_string(&entry).map_err(|error| {
            self.io(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
        })?;
        line.push('\n');
        inner
            .file
            .write_all(line.as_bytes())
            .map_err(|error| self.io(error))?;
        inner.file.sync_data().map_err(|error| self.io(error))?;
        inner.next_seq += 1;
        inner.keys.insert(entry.key.clone(), entry.seq);
        let seq = entry.seq;
        inner.entries.push(entry);
        Ok(Appended::New { seq })
    }

    /// Entries after `after` that still carry their payload, oldest first, at most `limit`.
    pub fn read_after(&self, after: u64, limit: usize) -> Vec<InboxEntry> {
        let inner = self.lock();
        let start = inner.entries.partition_point(|entry| entry.seq <= after);
        inner.entries[start..]
            .iter()
            .filter(|entry| entry.payload.is_some())
            .take(limit)
            .cloned()
            .collect()
    }

    /// The highest sequence number written so far (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// Deliveries refused as duplicates since this inbox was opened.
    pub fn duplicates(&self) -> u64 {
        self.lock().duplicates
    }

    /// Rewrites the file without the payloads of entries at or below `acknowledged` (the cursor
    /// the engine stored with their events), forgetting their keys once older than
    /// [`Inbox::KEEP_KEYS`] before `now`. The new file replaces the old one atomically.
    pub fn compact(&self, acknowledged: u64, now: i64) -> Result<(), InboxError> {
        let mut inner = self.lock();
        let last_seq = inner.next_seq - 1;
        let kept: Vec<InboxEntry> = inner
            .entries
            .iter()
            // The last entry always stays (as a bare key when acknowledged), so a reopened inbox
            // goes on numbering after it and a cursor the engine stored stays meaningful.
            .filter(|entry| {
                entry.seq > acknowledged
                    || now - entry.at < Self::KEEP_KEYS
                    || entry.seq == last_seq
            })
            .map(|entry| {
                let mut entry = entry.clone();
                if entry.seq <= acknowledged {
                    entry.payload = None;
                }
                entry
            })
            .collect();
        let temporary = self.path.with_extension("compacting");
        {
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut out = options.open(&temporary).map_err(|error| self.io(error))?;
            for entry in &kept {
                let mut line = serde_json::to_string(entry).map_err(|error| {
                    self.io(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
                })?;
                line.push('\n');
                out.write_all(line.as_bytes())
                    .map_err(|error| self.io(error))?;
            }
            out.sync_all().map_err(|error| self.io(error))?;
        }
        std::fs::rename(&temporary, &self.path).map_err(|error| self.io(error))?;
        let mut options = OpenOptions::new();
        options.read(true).append(true);
        inner.file = options.open(&self.path).map_err(|error| self.io(error))?;
        inner.keys = kept
            .iter()
            .map(|entry| (entry.key.clone(), entry.seq))
            .collect();
        inner.entries = kept;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "qunzhu-inbox-{}-{name}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("inbox.jsonl")
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos())
    }

    #[test]
    fn appends_dedupe_and_survive_reopening() {
        let path = temp_path("reopen");
        let inbox = Inbox::open(&path).unwrap();
        assert_eq!(
            inbox.append("a", 10, "one").unwrap(),
            Appended::New { seq: 1 }
        );
        assert_eq!(
            inbox.append("b", 11, "two").unwrap(),
            Appended::New { seq: 2 }
        );
        assert_eq!(
            inbox.append("a", 12, "one again").unwrap(),
            Appended::Duplicate { seq: 1 }
        );
        assert_eq!(inbox.duplicates(), 1);
        drop(inbox);

        let inbox = Inbox::open(&path).unwrap();
        let entries = inbox.read_after(0, 10);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].payload.as_deref(), Some("two"));
        assert_eq!(inbox.read_after(1, 10).len(), 1);
        assert_eq!(
            inbox.append("b", 13, "two again").unwrap(),
            Appended::Duplicate { seq: 2 }
        );
        assert_eq!(
            inbox.append("c", 14, "three").unwrap(),
            Appended::New { seq: 3 }
        );
    }

    #[test]
    fn a_partial_last_line_from_a_crash_is_dropped() {
        let path = temp_path("partial");
        let inbox = Inbox::open(&path).unwrap();
        inbox.append("a", 10, "one").unwrap();
        drop(inbox);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"seq":2,"key":"b","at":11,"payl"#)
            .unwrap();
        drop(file);

        let inbox = Inbox::open(&path).unwrap();
        assert_eq!(inbox.read_after(0, 10).len(), 1);
        assert_eq!(
            inbox.append("b", 12, "two").unwrap(),
            Appended::New { seq: 2 }
        );
        drop(inbox);
        assert_eq!(Inbox::open(&path).unwrap().read_after(0, 10).len(), 2);
    }

    #[test]
    fn a_corrupt_middle_line_is_an_error_with_its_line() {
        let path = temp_path("corrupt");
        std::fs::write(
            &path,
            "{\"seq\":1,\"key\":\"a\",\"at\":1,\"payload\":\"x\"}\nnot json\n",
        )
        .unwrap();
        let error = Inbox::open(&path).unwrap_err().to_string();
        assert!(
            error.ends_with(":2: expected ident at line 1 column 2"),
            "{error}"
        );
    }

    #[test]
    fn compaction_drops_acknowledged_payloads_but_remembers_recent_keys() {
        let path = temp_path("compact");
        let inbox = Inbox::open(&path).unwrap();
        inbox.append("old", 0, "1").unwrap();
        inbox.append("recent", 100_000, "2").unwrap();
        inbox.append("unacked", 100_001, "3").unwrap();
        inbox.compact(2, 100_010).unwrap();

        let pending = inbox.read_after(0, 10);
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].key, "unacked");
        // The recent acknowledged key is still known; the old one is forgotten.
        assert!(matches!(
            inbox.append("recent", 100_020, "2").unwrap(),
            Appended::Duplicate { .. }
        ));
        assert_eq!(
            inbox.append("d", 100_030, "4").unwrap(),
            Appended::New { seq: 4 }
        );
        drop(inbox);
        let inbox = Inbox::open(&path).unwrap();
        assert_eq!(inbox.last_seq(), 4);
        assert_eq!(inbox.read_after(2, 10).len(), 2);
    }

    #[test]
    fn sequence_numbers_never_repeat_after_everything_is_compacted() {
        let path = temp_path("empty");
        let inbox = Inbox::open(&path).unwrap();
        inbox.append("a", 0, "1").unwrap();
        inbox.compact(1, Inbox::KEEP_KEYS + 1).unwrap();
        assert_eq!(inbox.append("b", 0, "2").unwrap(), Appended::New { seq: 2 });
        inbox.compact(2, Inbox::KEEP_KEYS + 1).unwrap();
        drop(inbox);
        let inbox = Inbox::open(&path).unwrap();
        assert!(inbox.read_after(0, 10).is_empty());
        assert_eq!(inbox.append("c", 0, "3").unwrap(), Appended::New { seq: 3 });
    }
}

//! The connector's own durable memory, an append-only JSON-lines file: which sends were begun
//! and what Telegram answered (receipts), which polls the bot sent (to tell answers apart), and
//! each member's invite link. Every line is flushed to disk before the call it guards.
//!
//! Telegram has no idempotency key for sendMessage, so a send whose answer was lost (a crash or
//! a timeout after the request left) is *uncertain*: the journal makes that visible instead of
//! blindly sending again.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::map::SentPoll;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Line {
    Begin {
        key: String,
        #[serde(default)]
        at: i64,
    },
    Done {
        key: String,
        receipt: Option<String>,
        #[serde(default)]
        at: i64,
    },
    Failed {
        key: String,
    },
    Poll {
        id: String,
        chat: i64,
        key: String,
        options: Vec<String>,
        #[serde(default)]
        at: i64,
    },
    Link {
        chat: String,
        code: String,
        url: String,
    },
}

/// Where an action stands as far as the connector knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Never tried, or tried and refused for certain.
    Fresh,
    /// Telegram answered ok with this receipt.
    Done(Option<String>),
    /// Begun, and no answer was ever recorded.
    Uncertain,
}

/// Receipts and polls are kept this long (seconds): far longer than any outbox retry or lease,
/// and than a poll stays open. Invite links are kept for good.
pub const KEEP_SECS: i64 = 30 * 24 * 3600;

#[derive(Default)]
struct State {
    /// Attempt and when it was written.
    attempts: HashMap<String, (Attempt, i64)>,
    polls: HashMap<String, (i64, SentPoll, i64)>,
    links: HashMap<(String, String), String>,
}

impl State {
    fn apply(&mut self, line: Line) {
        match line {
            Line::Begin { key, at } => {
                self.attempts.insert(key, (Attempt::Uncertain, at));
            }
            Line::Done { key, receipt, at } => {
                self.attempts.insert(key, (Attempt::Done(receipt), at));
            }
            Line::Failed { key } => {
                self.attempts.remove(&key);
            }
            Line::Poll {
                id,
                chat,
                key,
                options,
                at,
            } => {
                self.polls.insert(id, (chat, SentPoll { key, options }, at));
            }
            Line::Link { chat, code, url } => {
                self.links.insert((chat, code), url);
            }
        }
    }
}

impl State {
    /// Drops what is older than [`KEEP_SECS`] before `now`.
    fn forget_before(&mut self, now: i64) {
        let horizon = now - KEEP_SECS;
        self.attempts.retain(|_, (_, at)| *at >= horizon);
        self.polls.retain(|_, (_, _, at)| *at >= horizon);
    }

    /// The state as lines, for a compacted file.
    fn lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        for (key, (attempt, at)) in &self.attempts {
            lines.push(match attempt {
                Attempt::Done(receipt) => Line::Done {
                    key: key.clone(),
                    receipt: receipt.clone(),
                    at: *at,
                },
                _ => Line::Begin {
                    key: key.clone(),
                    at: *at,
                },
            });
        }
        for (id, (chat, poll, at)) in &self.polls {
            lines.push(Line::Poll {
                id: id.clone(),
                chat: *chat,
                key: poll.key.clone(),
                options: poll.options.clone(),
                at: *at,
            });
        }
        for ((chat, code), url) in &self.links {
            lines.push(Line::Link {
                chat: chat.clone(),
                code: code.clone(),
                url: url.clone(),
            });
        }
        lines
    }
}

/// Rewrites the journal as its current state: a temporary file, synced, renamed over the old.
fn rewrite(path: &Path, lines: &[Line]) -> std::io::Result<()> {
    let temporary = path.with_extension("journal.tmp");
    {
        let mut file = File::create(&temporary)?;
        for line in lines {
            let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
            text.push('\n');
            file.write_all(text.as_bytes())?;
        }
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    if let Some(parent) = path.parent() {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// A journal file (or, without a path, memory only: for tests of the mapping).
pub struct Journal {
    path: Option<PathBuf>,
    file: Mutex<Option<File>>,
    state: Mutex<State>,
}

#[derive(Debug, thiserror::Error)]
#[error("telegram journal {path}: {message}")]
pub struct JournalError {
    pub path: String,
    pub message: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Journal {
    pub fn in_memory() -> Journal {
        Journal {
            path: None,
            file: Mutex::new(None),
            state: Mutex::new(State::default()),
        }
    }

    /// Opens (creating) the file and replays it; a torn last line from a crash is skipped.
    /// Entries older than [`KEEP_SECS`] before `now` are forgotten, and a file much longer than
    /// what it still says is rewritten.
    pub fn open(path: &Path, now: i64) -> Result<Journal, JournalError> {
        let error = |message: String| JournalError {
            path: path.display().to_string(),
            message,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| error(e.to_string()))?;
        }
        let mut state = State::default();
        let mut read = 0usize;
        if path.exists() {
            let file = File::open(path).map_err(|e| error(e.to_string()))?;
            for (number, line) in BufReader::new(file).lines().enumerate() {
                let line = line.map_err(|e| error(e.to_string()))?;
                read += 1;
                match serde_json::from_str::<Line>(&line) {
                    Ok(parsed) => state.apply(parsed),
                    Err(problem) => tracing::warn!(
                        path = %path.display(), line = number + 1, %problem,
                        "skipping an unreadable journal line (torn by a crash?)"
                    ),
                }
            }
        }
        state.forget_before(now);
        let live = state.lines();
        if read > 1000 && read > 2 * live.len() {
            rewrite(path, &live).map_err(|e| error(format!("compacting: {e}")))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| error(e.to_string()))?;
        // A line torn by a crash has no newline; end it so the next line starts clean.
        let torn = std::fs::read(path)
            .map(|bytes| !bytes.is_empty() && bytes.last() != Some(&b'\n'))
            .unwrap_or(false);
        if torn {
            file.write_all(b"\n").map_err(|e| error(e.to_string()))?;
        }
        Ok(Journal {
            path: Some(path.to_path_buf()),
            file: Mutex::new(Some(file)),
            state: Mutex::new(state),
        })
    }

    fn write(&self, line: Line) -> Result<(), JournalError> {
        if let Some(file) = lock(&self.file).as_mut() {
            let error = |message: String| JournalError {
                path: self
                    .path
                    .as_ref()
                    .map(|path| path.display().to_string())
                    .unwrap_or_default(),
                message,
            };
            let mut text = serde_json::to_string(&line).map_err(|e| error(e.to_string()))?;
            text.push('\n');
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|e| error(e.to_string()))?;
        }
        lock(&self.state).apply(line);
        Ok(())
    }

    pub fn attempt(&self, key: &str) -> Attempt {
        lock(&self.state)
            .attempts
            .get(key)
            .map(|(attempt, _)| attempt.clone())
            .unwrap_or(Attempt::Fresh)
    }

    pub fn begin(&self, key: &str, at: i64) -> Result<(), JournalError> {
        self.write(Line::Begin {
            key: key.into(),
            at,
        })
    }

    pub fn done(&self, key: &str, receipt: Option<String>, at: i64) -> Result<(), JournalError> {
        self.write(Line::Done {
            key: key.into(),
            receipt,
            at,
        })
    }

    pub fn failed(&self, key: &str) -> Result<(), JournalError> {
        self.write(Line::Failed { key: key.into() })
    }

    pub fn poll_sent(
        &self,
        id: &str,
        chat: i64,
        key: &str,
        options: Vec<String>,
        at: i64,
    ) -> Result<(), JournalError> {
        self.write(Line::Poll {
            id: id.into(),
            chat,
            key: key.into(),
            options,
            at,
        })
    }

    pub fn poll(&self, id: &str) -> Option<(i64, SentPoll)> {
        lock(&self.state)
            .polls
            .get(id)
            .map(|(chat, poll, _)| (*chat, poll.clone()))
    }

    pub fn link(&self, chat: &str, code: &str) -> Option<String> {
        lock(&self.state)
            .links
            .get(&(chat.to_string(), code.to_string()))
            .cloned()
    }

    pub fn link_created(&self, chat: &str, code: &str, url: &str) -> Result<(), JournalError> {
        self.write(Line::Link {
            chat: chat.into(),
            code: code.into(),
            url: url.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_reopen_and_a_torn_last_line() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.jsonl");
        let now = 1_800_000_000;
        {
            let journal = Journal::open(&path, now).expect("open");
            journal.begin("a", now).expect("write");
            journal.done("a", Some("11".into()), now).expect("write");
            journal.begin("b", now).expect("write");
            journal.begin("c", now).expect("write");
            journal.failed("c").expect("write");
            journal
                .poll_sent("p", -100, "quiz:1", vec!["x".into()], now)
                .expect("write");
            journal
                .link_created("-100", "M1", "https://t.me/+a")
                .expect("write");
        }
        let mut file = OpenOptions::new().append(true).open(&path).expect("file");
        file.write_all(br#"{"t":"done","key":"b","rec"#)
            .expect("torn");
        let journal = Journal::open(&path, now).expect("reopen");
        journal
            .done("c", None, now)
            .expect("write after a torn line");
        let journal = Journal::open(&path, now).expect("reopen again");
        assert_eq!(journal.attempt("c"), Attempt::Done(None));
        assert_eq!(journal.attempt("a"), Attempt::Done(Some("11".into())));
        assert_eq!(journal.attempt("b"), Attempt::Uncertain);
        assert_eq!(journal.attempt("d"), Attempt::Fresh);
        assert_eq!(
            journal.poll("p").map(|(chat, poll)| (chat, poll.key)),
            Some((-100, "quiz:1".into()))
        );
        assert_eq!(
            journal.link("-100", "M1").as_deref(),
            Some("https://t.me/+a")
        );
    }

    #[test]
    fn old_receipts_are_forgotten_and_a_long_file_is_compacted() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.jsonl");
        let start = 1_800_000_000;
        {
            let journal = Journal::open(&path, start).expect("open");
            for n in 0..600 {
                journal.begin(&format!("k{n}"), start).expect("write");
                journal.done(&format!("k{n}"), None, start).expect("write");
            }
            journal
                .link_created("-100", "M1", "https://t.me/+a")
                .expect("write");
            journal.begin("late", start + KEEP_SECS).expect("write");
        }
        let later = start + KEEP_SECS + 10;
        let journal = Journal::open(&path, later).expect("reopen");
        assert_eq!(
            journal.attempt("k1"),
            Attempt::Fresh,
            "forgotten after the keep time"
        );
        assert_eq!(journal.attempt("late"), Attempt::Uncertain);
        assert_eq!(
            journal.link("-100", "M1").as_deref(),
            Some("https://t.me/+a"),
            "links are kept"
        );
        let lines = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .count();
        assert_eq!(lines, 2, "rewritten as what it still says");
    }
}

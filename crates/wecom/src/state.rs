//! The connector's own durable file: the rosters and member versions it last committed, the
//! groups waiting for a re-fetch, and a proposal that becomes committed once the engine has
//! stored the events it came with (the engine hands the proposal's epoch back in the cursor).
//!
//! Connectors never touch qunzhu's store, so this file is how a restart knows what was seen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::roster::GroupSnapshot;

/// A group to re-fetch with `groupchat/get` once `due` (Unix ms) has passed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub due_ms: i64,
    /// Members a callback said were removed by the owner or an admin (QuitScene 1).
    pub removed: Vec<String>,
    /// When the change happened (the callback's CreateTime), Unix seconds.
    pub at: i64,
}

/// What the connector knows, as of one epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub groups: BTreeMap<String, GroupSnapshot>,
    pub pending: BTreeMap<String, Pending>,
    /// Unix ms of the next full reconciliation.
    pub next_reconcile_ms: i64,
    /// Member-version gaps found so far (lost or reordered callbacks).
    pub gaps: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateFile {
    pub epoch: u64,
    pub committed: Known,
    pub proposed: Option<(u64, Known)>,
}

#[derive(Debug, thiserror::Error)]
#[error("WeCom state file {path}: {message}")]
pub struct StateError {
    pub path: PathBuf,
    pub message: String,
}

impl StateFile {
    pub fn load(path: &Path) -> Result<StateFile, StateError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|error| StateError {
                path: path.to_path_buf(),
                message: error.to_string(),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(StateFile::default()),
            Err(error) => Err(StateError {
                path: path.to_path_buf(),
                message: error.to_string(),
            }),
        }
    }

    /// Writes a temporary file, syncs it and renames it over the old one.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let fail = |error: std::io::Error| StateError {
            path: path.to_path_buf(),
            message: error.to_string(),
        };
        let text = serde_json::to_string(self).map_err(|error| StateError {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        let temporary = path.with_extension("saving");
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&temporary).map_err(fail)?;
            file.write_all(text.as_bytes()).map_err(fail)?;
            file.sync_all().map_err(fail)?;
        }
        std::fs::rename(&temporary, path).map_err(fail)
    }

    /// The engine stored everything up to `epoch`: a proposal at or below it is now committed,
    /// a newer one is dropped (its events never reached the log and will be derived again).
    pub fn acknowledge(&mut self, epoch: u64) {
        if let Some((proposed, known)) = self.proposed.take() {
            if proposed <= epoch {
                self.committed = known;
                self.epoch = proposed;
            }
        }
    }
}

/// `"{inbox seq}:{epoch}"`; anything else starts from the beginning (with a warning).
pub fn parse_cursor(cursor: Option<&str>) -> (u64, u64) {
    let Some(cursor) = cursor else {
        return (0, 0);
    };
    let parsed = cursor
        .split_once(':')
        .and_then(|(seq, epoch)| Some((seq.parse().ok()?, epoch.parse().ok()?)));
    parsed.unwrap_or_else(|| {
        tracing::warn!(%cursor, "unreadable WeCom cursor; starting from the beginning");
        (0, 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proposal_commits_only_when_its_epoch_comes_back() {
        let mut file = StateFile::default();
        let known = Known {
            gaps: 1,
            ..Known::default()
        };
        file.proposed = Some((1, known.clone()));
        file.acknowledge(0);
        assert_eq!(file.committed.gaps, 0, "the engine never stored epoch 1");
        assert!(file.proposed.is_none());
        file.proposed = Some((1, known));
        file.acknowledge(1);
        assert_eq!(file.committed.gaps, 1);
        assert_eq!(file.epoch, 1);
        assert_eq!(parse_cursor(Some("12:3")), (12, 3));
        assert_eq!(parse_cursor(Some("nonsense")), (0, 0));
        assert_eq!(parse_cursor(None), (0, 0));
    }

    #[test]
    fn saves_and_loads_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(StateFile::load(&path).unwrap().epoch, 0);
        let file = StateFile {
            epoch: 4,
            ..StateFile::default()
        };
        file.save(&path).unwrap();
        assert_eq!(StateFile::load(&path).unwrap().epoch, 4);
        std::fs::write(&path, "{").unwrap();
        assert!(StateFile::load(&path)
            .unwrap_err()
            .to_string()
            .contains("state.json"));
    }
}

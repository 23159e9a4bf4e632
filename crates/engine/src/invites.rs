//! The invite tracker: an incremental consumer of the log that keeps the invites read model
//! (who brought whom, who is still here), storing its watermark with each batch of changes so a
//! restart resumes exactly where it stopped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use qunzhu_domain::invite::{invite_change, named_code};
use qunzhu_domain::{InviteCode, WorkspaceId};
use qunzhu_storage::{Store, StoreError};
use tokio::sync::watch;

#[derive(Clone)]
pub struct InviteTracker {
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    /// Events read per batch.
    pub batch: usize,
    pub every: StdDuration,
}

impl InviteTracker {
    /// Applies every logged event after the watermark; returns how many events it read.
    pub async fn run_once(&self) -> qunzhu_storage::Result<usize> {
        let mut read = 0;
        let mut codes: HashMap<String, InviteCode> = HashMap::new();
        loop {
            let after = self.store.invite_watermark(self.workspace).await?;
            let events = self
                .store
                .events(self.workspace, after, self.batch.max(1))
                .await?;
            let Some(last) = events.last().map(|stored| stored.seq) else {
                return Ok(read);
            };
            for code in events.iter().filter_map(|stored| named_code(&stored.event)) {
                if codes.contains_key(code) {
                    continue;
                }
                match self.store.invite_code(self.workspace, code).await {
                    Ok(known) => {
                        codes.insert(code.to_string(), known);
                    }
                    // A platform's own link code qunzhu never issued: the join is still recorded.
                    Err(StoreError::NotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            let changes = events
                .iter()
                .filter_map(|stored| invite_change(&stored.event, &codes))
                .collect();
            self.store
                .apply_invite_changes(self.workspace, changes, last)
                .await?;
            read += events.len();
            if events.len() < self.batch.max(1) {
                return Ok(read);
            }
        }
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            // Tells the supervisor this loop is alive (a no-op outside one).
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.run_once().await {
                tracing::error!(%error, "invite tracking round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

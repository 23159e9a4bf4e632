//! Keeps the rules in force in step with the operator's rule document (and, for `serve`, a rule
//! file on disk): a valid change applies without a restart, an invalid one is reported with its
//! locations and the rules in force stay in force.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use qunzhu_domain::{Clock, DocumentKind, WorkspaceId};
use qunzhu_storage::{Store, StoreError};
use tokio::sync::watch;

use crate::guard::RulesHandle;

/// How a rejected rule file on disk is named in the health report; not a stored kind (stored
/// documents are named there by `DocumentKind::as_str`).
pub const RULE_FILE_KIND: &str = "rules_file";
/// The document the engine applies when several exist; otherwise the first by name.
pub const ACTIVE_RULES: &str = "rules";

/// Watches the store (and a file) and swaps the rules when they change.
#[derive(Clone)]
pub struct RulesWatcher {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub handle: RulesHandle,
    /// A rule file to import into the store whenever it changes (validated first).
    pub file: Option<PathBuf>,
    pub every: Duration,
}

impl RulesWatcher {
    /// Applies the active rule document if it changed since `applied`.
    pub async fn sync(
        &self,
        applied: &mut Option<(String, i64)>,
        file_seen: &mut Option<SystemTime>,
    ) {
        if let Some(path) = &self.file {
            self.import_file(path, file_seen).await;
        }
        let documents = match self
            .store
            .documents(self.workspace, DocumentKind::Rules)
            .await
        {
            Ok(documents) => documents,
            Err(error) => {
                tracing::warn!(%error, "cannot read rule documents");
                return;
            }
        };
        let active = documents
            .iter()
            .find(|document| document.name == ACTIVE_RULES)
            .or(documents.first());
        let Some(document) = active else { return };
        let identity = (document.name.clone(), document.version);
        if applied.as_ref() == Some(&identity) {
            return;
        }
        match qunzhu_moderation::check(&document.source, &document.name) {
            Ok(rules) => {
                self.handle.replace(rules);
                crate::health::document(
                    DocumentKind::Rules.as_str(),
                    &document.name,
                    document.version,
                    Vec::new(),
                );
                tracing::info!(name = %document.name, version = document.version, "rules applied");
            }
            Err(problems) => {
                for problem in &problems {
                    tracing::error!("{problem}");
                }
                let problems = problems.iter().map(ToString::to_string).collect();
                crate::health::document(
                    DocumentKind::Rules.as_str(),
                    &document.name,
                    document.version,
                    problems,
                );
                tracing::error!(name = %document.name, "rule document rejected; the rules in force stay in force");
            }
        }
        *applied = Some(identity);
    }

    async fn import_file(&self, path: &PathBuf, seen: &mut Option<SystemTime>) {
        let modified = std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok();
        if modified.is_none() || modified == *seen {
            return;
        }
        *seen = modified;
        crate::health::document(RULE_FILE_KIND, &path.display().to_string(), 0, Vec::new());
        let source = match std::fs::read_to_string(path) {
            Ok(source) => source,
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "cannot read the rule file");
                return;
            }
        };
        if let Err(problems) = qunzhu_moderation::check(&source, &path.display().to_string()) {
            for problem in &problems {
                tracing::error!("{problem}");
            }
            let problems = problems.iter().map(ToString::to_string).collect();
            crate::health::document(RULE_FILE_KIND, &path.display().to_string(), 0, problems);
            tracing::error!(path = %path.display(), "rule file rejected; the rules in force stay in force");
            return;
        }
        let unchanged = match self
            .store
            .document(self.workspace, DocumentKind::Rules, ACTIVE_RULES)
            .await
        {
            Ok(document) => document.source == source,
            Err(StoreError::NotFound { .. }) => false,
            Err(error) => {
                tracing::warn!(%error, "cannot read the rule document");
                return;
            }
        };
        if !unchanged {
            let by = format!("file:{}", path.display());
            if let Err(error) = self
                .store
                .put_document(
                    self.workspace,
                    DocumentKind::Rules,
                    ACTIVE_RULES,
                    &source,
                    &by,
                    self.clock.now(),
                )
                .await
            {
                tracing::error!(%error, "cannot save the rule file");
            }
        }
    }

    /// Polls until `stop`, starting from what [`RulesWatcher::sync`] already applied.
    pub async fn run(
        self,
        mut applied: Option<(String, i64)>,
        mut seen: Option<SystemTime>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            crate::health::beat();
            self.sync(&mut applied, &mut seen).await;
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

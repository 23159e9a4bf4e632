//! Operator documents: rule files and SOP plans, kept as the source the operator wrote.
//!
//! The store keeps text and versions; the pure crates (`qunzhu-moderation`, `qunzhu-sop`) parse and
//! validate it. Keeping the source (not a parsed form) means an error can always point at a line.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{DocumentKind, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// One saved document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub workspace: WorkspaceId,
    /// Which crate reads the source; serialized as the stored text (`rules`, `sop_plan`, …).
    pub kind: DocumentKind,
    /// Unique per workspace and kind.
    pub name: String,
    pub source: String,
    /// Starts at 1 and grows by one on every save.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Creates or replaces the document, bumping its version; returns the saved document.
    async fn put_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
        source: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Document>;
    /// `NotFound` if missing.
    async fn document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
    ) -> Result<Document>;
    /// All documents of a kind, by name.
    async fn documents(&self, workspace: WorkspaceId, kind: DocumentKind) -> Result<Vec<Document>>;
    /// `NotFound` if missing.
    async fn delete_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
    ) -> Result<()>;
}

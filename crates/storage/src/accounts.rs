//! Console accounts: users, sessions, API tokens and the audit log, scoped to a workspace.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::WorkspaceId;
use serde::{Deserialize, Serialize};

use crate::Result;

/// What a console user or API token may do in its workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Viewer,
    Operator,
    Admin,
    Owner,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Viewer => "viewer",
            UserRole::Operator => "operator",
            UserRole::Admin => "admin",
            UserRole::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "viewer" => UserRole::Viewer,
            "operator" => UserRole::Operator,
            "admin" => UserRole::Admin,
            "owner" => UserRole::Owner,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub login: String,
    pub display_name: String,
    pub role: UserRole,
    #[serde(skip)]
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub workspace: WorkspaceId,
    pub login: String,
    pub display_name: String,
    pub role: UserRole,
    /// An argon2 PHC string; the store never sees a password.
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub name: String,
    pub role: UserRole,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One change by a person or one action by the bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub at: DateTime<Utc>,
    /// `user:<login>`, `token:<name>`, `bot`.
    pub actor: String,
    /// A snake_case verb: `rule.update`, `group.update`, `member.unban`.
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub workspace: WorkspaceId,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// Accounts, sessions, tokens and audit; every read is scoped by workspace or by secret hash.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Fails with `Conflict` if the login is taken (logins are unique across workspaces).
    async fn create_user(&self, new: NewUser) -> Result<User>;
    async fn user_by_login(&self, login: &str) -> Result<Option<User>>;
    async fn users(&self, workspace: WorkspaceId) -> Result<Vec<User>>;

    /// Stores a session under the SHA-256 of its cookie value.
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The session's user, if the session exists and has not expired at `now`.
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    async fn create_api_token(
        &self,
        workspace: WorkspaceId,
        name: &str,
        role: UserRole,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiToken>;
    /// The token, if it exists and is not revoked.
    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    async fn api_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>>;
    /// Revokes a token of this workspace; `NotFound` for another workspace's token.
    async fn revoke_api_token(
        &self,
        workspace: WorkspaceId,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<()>;

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry>;
    /// Newest first, entries with id below `before` if given.
    async fn audit_log(
        &self,
        workspace: WorkspaceId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>>;
}

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

#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub login: String,
    pub display_name: String,
    pub role: UserRole,
    #[serde(skip)]
    pub password_hash: String,
    /// When an owner disabled the account; a disabled user cannot sign in and has no session.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// Written by hand so a log line or a panic message never carries the password hash.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("workspace", &self.workspace)
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("disabled_at", &self.disabled_at)
            .finish()
    }
}

#[derive(Clone)]
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

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("workspace", &self.workspace)
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// Accounts, sessions, tokens and audit; every read is scoped by workspace or by secret hash.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Fails with `Conflict` if the login is taken (logins are unique across workspaces).
    async fn create_user(&self, new: NewUser) -> Result<User>;
    async fn user_by_login(&self, login: &str) -> Result<Option<User>>;
    async fn users(&self, workspace: WorkspaceId) -> Result<Vec<User>>;
    /// Disables (`Some(at)`) or re-enables (`None`) a user of this workspace; disabling also ends
    /// every session of the user in the same transaction. `NotFound` for another workspace's user.
    async fn set_user_disabled(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// Replaces a user's password hash and ends every session of the user, atomically.
    async fn set_password_hash(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        password_hash: &str,
    ) -> Result<()>;
    /// Deletes a user of this workspace and its sessions; its audit entries stay.
    async fn delete_user(&self, workspace: WorkspaceId, user_id: i64) -> Result<()>;
    /// Ends every session of a user of this workspace; returns how many there were.
    async fn revoke_user_sessions(&self, workspace: WorkspaceId, user_id: i64) -> Result<u64>;
    /// Deletes every session that expired at or before `now`; returns how many.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
    /// Live sessions per user id of this workspace at `now` (users without one are absent).
    async fn session_counts(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, u64)>>;

    /// Stores a session under the SHA-256 of its cookie value.
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The session's user, if the session exists, has not expired at `now` and the user is not
    /// disabled.
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

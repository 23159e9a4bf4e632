//! Users, sessions, API tokens and the audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::WorkspaceId;
use qunzhu_storage::AccountStore;
use qunzhu_storage::{
    ApiToken, AuditEntry, NewAuditEntry, NewUser, Result, StoreError, User, UserRole,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::codec::{from_json, json, micros, opt_time, time};
use crate::{backend, SqliteStore};

fn role(text: &str) -> Result<UserRole> {
    UserRole::parse(text).ok_or_else(|| StoreError::Backend(format!("unknown user role `{text}`")))
}

fn user_from_row(row: &Row<'_>) -> Result<User> {
    let role_text: String = row.get(4).map_err(backend)?;
    Ok(User {
        id: row.get(0).map_err(backend)?,
        workspace: WorkspaceId(row.get(1).map_err(backend)?),
        login: row.get(2).map_err(backend)?,
        display_name: row.get(3).map_err(backend)?,
        role: role(&role_text)?,
        password_hash: row.get(5).map_err(backend)?,
        disabled_at: opt_time(row.get(6).map_err(backend)?),
    })
}

fn token_from_row(row: &Row<'_>) -> Result<ApiToken> {
    let role_text: String = row.get(3).map_err(backend)?;
    Ok(ApiToken {
        id: row.get(0).map_err(backend)?,
        workspace: WorkspaceId(row.get(1).map_err(backend)?),
        name: row.get(2).map_err(backend)?,
        role: role(&role_text)?,
        created_at: time(row.get(4).map_err(backend)?),
        revoked_at: opt_time(row.get(5).map_err(backend)?),
    })
}

fn audit_from_row(row: &Row<'_>) -> Result<AuditEntry> {
    let detail: String = row.get(6).map_err(backend)?;
    Ok(AuditEntry {
        id: row.get(0).map_err(backend)?,
        workspace: WorkspaceId(row.get(1).map_err(backend)?),
        at: time(row.get(2).map_err(backend)?),
        actor: row.get(3).map_err(backend)?,
        action: row.get(4).map_err(backend)?,
        subject: row.get(5).map_err(backend)?,
        detail: from_json(&detail)?,
    })
}

const USER_COLUMNS: &str =
    "u.id, u.workspace, u.login, u.display_name, u.role, u.password_hash, u.disabled_at";
const TOKEN_COLUMNS: &str = "id, workspace, name, role, created_at, revoked_at";

impl SqliteStore {
    pub(crate) fn write_user(&self, new: NewUser) -> Result<User> {
        self.run(|conn| {
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO users (workspace, login, display_name, role, password_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![new.workspace.0, new.login, new.display_name, new.role.as_str(), new.password_hash],
            );
            if inserted.map_err(backend)? == 0 {
                return Err(StoreError::Conflict { object: "user", id: new.login.clone() });
            }
            Ok(User {
                id: conn.last_insert_rowid(),
                workspace: new.workspace,
                login: new.login,
                display_name: new.display_name,
                role: new.role,
                password_hash: new.password_hash,
                disabled_at: None,
            })
        })
    }

    pub(crate) fn read_user_by_login(&self, login: &str) -> Result<Option<User>> {
        self.read(|conn| {
            conn.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.login = ?1"),
                [login],
                |row| Ok(user_from_row(row)),
            )
            .optional()
            .map_err(backend)?
            .transpose()
        })
    }

    pub(crate) fn read_users(&self, workspace: WorkspaceId) -> Result<Vec<User>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare(&format!(
                    "SELECT {USER_COLUMNS} FROM users u WHERE u.workspace = ?1 ORDER BY u.id"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([workspace.0]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(user_from_row(row)?);
            }
            Ok(out)
        })
    }

    pub(crate) fn write_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.run(|conn| {
            conn.execute("INSERT OR REPLACE INTO sessions (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)", params![token_hash, user_id, micros(expires_at)])
                .map(|_| ())
                .map_err(backend)
        })
    }

    pub(crate) fn read_session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        self.read(|conn| {
            conn.query_row(
                &format!("SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL"),
                params![token_hash, micros(now)],
                |row| Ok(user_from_row(row)),
            )
            .optional()
            .map_err(backend)?
            .transpose()
        })
    }

    pub(crate) fn write_delete_session(&self, token_hash: &str) -> Result<()> {
        self.run(|conn| {
            conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])
                .map(|_| ())
                .map_err(backend)
        })
    }

    pub(crate) fn write_api_token(
        &self,
        workspace: WorkspaceId,
        name: &str,
        role: UserRole,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiToken> {
        self.run(|conn| {
            let inserted = conn
                .execute(
                    "INSERT OR IGNORE INTO api_tokens (workspace, name, role, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![workspace.0, name, role.as_str(), token_hash, micros(now)],
                )
                .map_err(backend)?;
            if inserted == 0 {
                return Err(StoreError::Conflict { object: "api token", id: name.to_string() });
            }
            Ok(ApiToken { id: conn.last_insert_rowid(), workspace, name: name.to_string(), role, created_at: time(micros(now)), revoked_at: None })
        })
    }

    pub(crate) fn read_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        self.read(|conn| {
            conn.query_row(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL"), [token_hash], |row| {
                Ok(token_from_row(row))
            })
            .optional()
            .map_err(backend)?
            .transpose()
        })
    }

    pub(crate) fn read_api_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE workspace = ?1 ORDER BY id"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([workspace.0]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(token_from_row(row)?);
            }
            Ok(out)
        })
    }

    pub(crate) fn write_revoke(
        &self,
        workspace: WorkspaceId,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.run(|conn| {
            let changed = conn
                .execute("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?3) WHERE workspace = ?1 AND id = ?2", params![workspace.0, id, micros(now)])
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound { object: "api token", id: id.to_string() });
            }
            Ok(())
        })
    }

    pub(crate) fn write_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        self.run(|conn| {
            conn.execute(
                "INSERT INTO audit (workspace, at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![entry.workspace.0, micros(entry.at), entry.actor, entry.action, entry.subject, json(&entry.detail)?],
            )
            .map_err(backend)?;
            Ok(AuditEntry {
                id: conn.last_insert_rowid(),
                workspace: entry.workspace,
                at: time(micros(entry.at)),
                actor: entry.actor,
                action: entry.action,
                subject: entry.subject,
                detail: entry.detail,
            })
        })
    }

    pub(crate) fn read_audit(
        &self,
        workspace: WorkspaceId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare("SELECT id, workspace, at, actor, action, subject, detail FROM audit WHERE workspace = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3")
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, before, limit as i64]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(audit_from_row(row)?);
            }
            Ok(out)
        })
    }

    /// Runs `change` (which must touch exactly this workspace's user) and ends the user's
    /// sessions, in one transaction; `NotFound` when no row of this workspace changed.
    fn change_user(
        &self,
        user_id: i64,
        change: impl FnOnce(&Connection) -> rusqlite::Result<usize>,
        end_sessions: bool,
    ) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let changed = change(&tx).map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    object: "user",
                    id: user_id.to_string(),
                });
            }
            if end_sessions {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
    }

    pub(crate) fn write_user_disabled(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.change_user(
            user_id,
            |tx| {
                tx.execute(
                    "UPDATE users SET disabled_at = ?3 WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, user_id, disabled_at.map(micros)],
                )
            },
            disabled_at.is_some(),
        )
    }

    pub(crate) fn write_password_hash(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        password_hash: &str,
    ) -> Result<()> {
        self.change_user(
            user_id,
            |tx| {
                tx.execute(
                    "UPDATE users SET password_hash = ?3 WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, user_id, password_hash],
                )
            },
            true,
        )
    }

    pub(crate) fn write_delete_user(&self, workspace: WorkspaceId, user_id: i64) -> Result<()> {
        self.change_user(
            user_id,
            |tx| {
                tx.execute(
                    "DELETE FROM users WHERE workspace = ?1 AND id = ?2",
                    params![workspace.0, user_id],
                )
            },
            true,
        )
    }

    pub(crate) fn write_revoke_user_sessions(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
    ) -> Result<u64> {
        self.run(|conn| {
            let deleted = conn
                .execute(
                    "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE workspace = ?1 AND id = ?2)",
                    params![workspace.0, user_id],
                )
                .map_err(backend)?;
            Ok(deleted as u64)
        })
    }

    pub(crate) fn write_purge_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        self.run(|conn| {
            let deleted = conn
                .execute("DELETE FROM sessions WHERE expires_at <= ?1", [micros(now)])
                .map_err(backend)?;
            Ok(deleted as u64)
        })
    }

    pub(crate) fn read_session_counts(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, u64)>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare("SELECT s.user_id, count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.workspace = ?1 AND s.expires_at > ?2 GROUP BY s.user_id ORDER BY s.user_id")
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, micros(now)])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let count: i64 = row.get(1).map_err(backend)?;
                out.push((row.get(0).map_err(backend)?, count.max(0) as u64));
            }
            Ok(out)
        })
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, new: NewUser) -> Result<User> {
        self.write_user(new)
    }
    async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        self.read_user_by_login(login)
    }
    async fn users(&self, workspace: WorkspaceId) -> Result<Vec<User>> {
        self.read_users(workspace)
    }
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.write_session(token_hash, user_id, expires_at)
    }
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        self.read_session_user(token_hash, now)
    }
    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.write_delete_session(token_hash)
    }
    async fn create_api_token(
        &self,
        workspace: WorkspaceId,
        name: &str,
        role: UserRole,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiToken> {
        self.write_api_token(workspace, name, role, token_hash, now)
    }
    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        self.read_api_token(token_hash)
    }
    async fn api_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>> {
        self.read_api_tokens(workspace)
    }
    async fn revoke_api_token(
        &self,
        workspace: WorkspaceId,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_revoke(workspace, id, now)
    }
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        self.write_audit(entry)
    }
    async fn audit_log(
        &self,
        workspace: WorkspaceId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        self.read_audit(workspace, before, limit)
    }
    async fn set_user_disabled(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.write_user_disabled(workspace, user_id, disabled_at)
    }
    async fn set_password_hash(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        password_hash: &str,
    ) -> Result<()> {
        self.write_password_hash(workspace, user_id, password_hash)
    }
    async fn delete_user(&self, workspace: WorkspaceId, user_id: i64) -> Result<()> {
        self.write_delete_user(workspace, user_id)
    }
    async fn revoke_user_sessions(&self, workspace: WorkspaceId, user_id: i64) -> Result<u64> {
        self.write_revoke_user_sessions(workspace, user_id)
    }
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        self.write_purge_sessions(now)
    }
    async fn session_counts(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, u64)>> {
        self.read_session_counts(workspace, now)
    }
}

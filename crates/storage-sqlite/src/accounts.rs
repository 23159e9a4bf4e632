//! Users, sessions, API tokens and the audit log.

use chrono::{DateTime, Utc};
use qunzhu_domain::WorkspaceId;
use qunzhu_storage::{
    ApiToken, AuditEntry, NewAuditEntry, NewUser, Result, StoreError, User, UserRole,
};
use rusqlite::{params, OptionalExtension, Row};

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

const USER_COLUMNS: &str = "u.id, u.workspace, u.login, u.display_name, u.role, u.password_hash";
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
                &format!("SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND s.expires_at > ?2"),
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
}

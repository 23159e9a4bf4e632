//! Users, sessions, API tokens, audit, documents and tracked links on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{DocumentKind, WorkspaceId};
use qunzhu_storage::AccountStore;
use qunzhu_storage::{
    ApiToken, AuditEntry, Document, Link, LinkClick, LinkStats, NewAuditEntry, NewLink, NewUser,
    Result, StoreError, User, UserRole,
};
use tokio_postgres::Row;

use crate::codec::{document_kind, from_json, json, micros, opt_time, time};
use crate::{backend, get, PostgresStore};

fn role(text: &str) -> Result<UserRole> {
    UserRole::parse(text).ok_or_else(|| StoreError::Backend(format!("unknown user role `{text}`")))
}

fn user_from_row(row: &Row) -> Result<User> {
    Ok(User {
        id: get(row, 0)?,
        workspace: WorkspaceId(get(row, 1)?),
        login: get(row, 2)?,
        display_name: get(row, 3)?,
        role: role(&get::<String>(row, 4)?)?,
        password_hash: get(row, 5)?,
        disabled_at: opt_time(get(row, 6)?),
    })
}

fn token_from_row(row: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: get(row, 0)?,
        workspace: WorkspaceId(get(row, 1)?),
        name: get(row, 2)?,
        role: role(&get::<String>(row, 3)?)?,
        created_at: time(get(row, 4)?),
        revoked_at: opt_time(get(row, 5)?),
    })
}

fn document_from_row(row: &Row) -> Result<Document> {
    Ok(Document {
        workspace: WorkspaceId(get(row, 0)?),
        kind: document_kind(&get::<String>(row, 1)?)?,
        name: get(row, 2)?,
        source: get(row, 3)?,
        version: get(row, 4)?,
        updated_at: time(get(row, 5)?),
        updated_by: get(row, 6)?,
    })
}

const USER_COLUMNS: &str =
    "u.id, u.workspace, u.login, u.display_name, u.role, u.password_hash, u.disabled_at";
const TOKEN_COLUMNS: &str = "id, workspace, name, role, created_at, revoked_at";
const DOCUMENT_COLUMNS: &str = "workspace, kind, name, source, version, updated_at, updated_by";

impl PostgresStore {
    pub(crate) async fn write_user(&self, new: NewUser) -> Result<User> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "INSERT INTO users (workspace, login, display_name, role, password_hash) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (login) DO NOTHING RETURNING id",
                &[&new.workspace.0, &new.login, &new.display_name, &new.role.as_str(), &new.password_hash],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::Conflict { object: "user", id: new.login.clone() })?;
        Ok(User {
            id: get(&row, 0)?,
            workspace: new.workspace,
            login: new.login,
            display_name: new.display_name,
            role: new.role,
            password_hash: new.password_hash,
            disabled_at: None,
        })
    }

    pub(crate) async fn read_user_by_login(&self, login: &str) -> Result<Option<User>> {
        let client = self.client().await;
        let row = client
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.login = $1"),
                &[&login],
            )
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn read_users(&self, workspace: WorkspaceId) -> Result<Vec<User>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.workspace = $1 ORDER BY u.id"),
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(user_from_row).collect()
    }

    pub(crate) async fn write_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (token_hash) DO UPDATE SET user_id = EXCLUDED.user_id, expires_at = EXCLUDED.expires_at",
                &[&token_hash, &user_id, &micros(expires_at)],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(crate) async fn read_session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        let client = self.client().await;
        let row = client
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"),
                &[&token_hash, &micros(now)],
            )
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn write_delete_session(&self, token_hash: &str) -> Result<()> {
        let client = self.client().await;
        client
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(crate) async fn write_api_token(
        &self,
        workspace: WorkspaceId,
        name: &str,
        role: UserRole,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiToken> {
        let client = self.client().await;
        let row = client
            .query_opt(
                &format!(
                    "INSERT INTO api_tokens (workspace, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (token_hash) DO NOTHING RETURNING {TOKEN_COLUMNS}"
                ),
                &[&workspace.0, &name, &role.as_str(), &token_hash, &micros(now)],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::Conflict { object: "api token", id: name.to_string() })?;
        token_from_row(&row)
    }

    pub(crate) async fn read_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let client = self.client().await;
        let row = client
            .query_opt(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"), &[&token_hash])
            .await
            .map_err(backend)?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub(crate) async fn read_api_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE workspace = $1 ORDER BY id"),
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(token_from_row).collect()
    }

    pub(crate) async fn write_revoke(
        &self,
        workspace: WorkspaceId,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let client = self.client().await;
        let changed = client
            .execute("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE workspace = $1 AND id = $2", &[&workspace.0, &id, &micros(now)])
            .await
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                object: "api token",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    pub(crate) async fn write_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        let client = self.client().await;
        let row = client
            .query_one(
                "INSERT INTO audit (workspace, at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&entry.workspace.0, &micros(entry.at), &entry.actor, &entry.action, &entry.subject, &json(&entry.detail)?],
            )
            .await
            .map_err(backend)?;
        Ok(AuditEntry {
            id: get(&row, 0)?,
            workspace: entry.workspace,
            at: time(micros(entry.at)),
            actor: entry.actor,
            action: entry.action,
            subject: entry.subject,
            detail: entry.detail,
        })
    }

    pub(crate) async fn read_audit(
        &self,
        workspace: WorkspaceId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT id, workspace, at, actor, action, subject, detail FROM audit WHERE workspace = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
                &[&workspace.0, &before, &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: get(row, 0)?,
                    workspace: WorkspaceId(get(row, 1)?),
                    at: time(get(row, 2)?),
                    actor: get(row, 3)?,
                    action: get(row, 4)?,
                    subject: get(row, 5)?,
                    detail: from_json(&get::<String>(row, 6)?)?,
                })
            })
            .collect()
    }

    pub(crate) async fn write_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
        source: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Document> {
        let client = self.client().await;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO documents (workspace, kind, name, source, version, updated_at, updated_by) VALUES ($1, $2, $3, $4, 1, $5, $6)
                     ON CONFLICT (workspace, kind, name) DO UPDATE SET source = EXCLUDED.source, version = documents.version + 1,
                         updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
                     RETURNING {DOCUMENT_COLUMNS}"
                ),
                &[&workspace.0, &kind.as_str(), &name, &source, &micros(now), &by],
            )
            .await
            .map_err(backend)?;
        document_from_row(&row)
    }

    pub(crate) async fn read_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
    ) -> Result<Document> {
        let client = self.client().await;
        let row = client
            .query_opt(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE workspace = $1 AND kind = $2 AND name = $3"), &[&workspace.0, &kind.as_str(), &name])
            .await
            .map_err(backend)?;
        document_from_row(&row.ok_or_else(|| StoreError::NotFound {
            object: "document",
            id: format!("{kind}/{name}"),
        })?)
    }

    pub(crate) async fn read_documents(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
    ) -> Result<Vec<Document>> {
        let client = self.client().await;
        let rows = client
            .query(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE workspace = $1 AND kind = $2 ORDER BY name"), &[&workspace.0, &kind.as_str()])
            .await
            .map_err(backend)?;
        rows.iter().map(document_from_row).collect()
    }

    pub(crate) async fn write_delete_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
    ) -> Result<()> {
        let client = self.client().await;
        let changed = client
            .execute(
                "DELETE FROM documents WHERE workspace = $1 AND kind = $2 AND name = $3",
                &[&workspace.0, &kind.as_str(), &name],
            )
            .await
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                object: "document",
                id: format!("{kind}/{name}"),
            });
        }
        Ok(())
    }

    pub(crate) async fn write_links(&self, links: Vec<NewLink>) -> Result<()> {
        let client = self.client().await;
        for link in &links {
            client
                .execute(
                    "INSERT INTO links (code, workspace, url, push, chat, member, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING",
                    &[&link.code, &link.workspace.0, &link.url, &link.push, &link.chat, &link.member, &micros(link.created_at)],
                )
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    pub(crate) async fn read_link(&self, code: &str) -> Result<Link> {
        let client = self.client().await;
        let row = client
            .query_opt("SELECT code, workspace, url, push, chat, member, created_at FROM links WHERE code = $1", &[&code])
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound { object: "link", id: code.to_string() })?;
        Ok(Link {
            code: get(&row, 0)?,
            workspace: WorkspaceId(get(&row, 1)?),
            url: get(&row, 2)?,
            push: get(&row, 3)?,
            chat: get(&row, 4)?,
            member: get(&row, 5)?,
            created_at: time(get(&row, 6)?),
        })
    }

    pub(crate) async fn write_click(&self, click: LinkClick) -> Result<()> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO link_clicks (code, at, visitor) VALUES ($1, $2, $3)",
                &[&click.code, &micros(click.at), &click.visitor],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(crate) async fn read_push_stats(
        &self,
        workspace: WorkspaceId,
        push: &str,
    ) -> Result<LinkStats> {
        let client = self.client().await;
        let row = client
            .query_one(
                "SELECT count(c.id), count(DISTINCT c.visitor) FROM links l JOIN link_clicks c ON c.code = l.code WHERE l.workspace = $1 AND l.push = $2",
                &[&workspace.0, &push],
            )
            .await
            .map_err(backend)?;
        Ok(LinkStats {
            clicks: get::<i64>(&row, 0)? as u64,
            unique_visitors: get::<i64>(&row, 1)? as u64,
        })
    }
}

/// Each change to a user is one statement (a CTE), so the user row and its sessions change
/// together or not at all.
impl PostgresStore {
    async fn change_user(
        &self,
        user_id: i64,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<()> {
        let client = self.client().await;
        let changed: i64 = client
            .query_one(statement, params)
            .await
            .map_err(backend)
            .and_then(|row| get(&row, 0))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                object: "user",
                id: user_id.to_string(),
            });
        }
        Ok(())
    }

    pub(crate) async fn write_user_disabled(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let at = disabled_at.map(micros);
        self.change_user(
            user_id,
            "WITH u AS (UPDATE users SET disabled_at = $3 WHERE workspace = $1 AND id = $2 RETURNING id, disabled_at),
                  s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u WHERE disabled_at IS NOT NULL))
             SELECT count(*) FROM u",
            &[&workspace.0, &user_id, &at],
        )
        .await
    }

    pub(crate) async fn write_password_hash(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        password_hash: &str,
    ) -> Result<()> {
        self.change_user(
            user_id,
            "WITH u AS (UPDATE users SET password_hash = $3 WHERE workspace = $1 AND id = $2 RETURNING id),
                  s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u))
             SELECT count(*) FROM u",
            &[&workspace.0, &user_id, &password_hash],
        )
        .await
    }

    pub(crate) async fn write_delete_user(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
    ) -> Result<()> {
        self.change_user(
            user_id,
            "WITH u AS (DELETE FROM users WHERE workspace = $1 AND id = $2 RETURNING id),
                  s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u))
             SELECT count(*) FROM u",
            &[&workspace.0, &user_id],
        )
        .await
    }

    pub(crate) async fn write_revoke_user_sessions(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
    ) -> Result<u64> {
        let client = self.client().await;
        let deleted = client
            .execute(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE workspace = $1 AND id = $2)",
                &[&workspace.0, &user_id],
            )
            .await
            .map_err(backend)?;
        Ok(deleted)
    }

    pub(crate) async fn write_purge_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let client = self.client().await;
        client
            .execute(
                "DELETE FROM sessions WHERE expires_at <= $1",
                &[&micros(now)],
            )
            .await
            .map_err(backend)
    }

    pub(crate) async fn read_session_counts(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, u64)>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT s.user_id, count(*) FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE u.workspace = $1 AND s.expires_at > $2 GROUP BY s.user_id ORDER BY s.user_id",
                &[&workspace.0, &micros(now)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| Ok((get(row, 0)?, get::<i64>(row, 1)?.max(0) as u64)))
            .collect()
    }
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_user(&self, new: NewUser) -> Result<User> {
        self.write_user(new).await
    }
    async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        self.read_user_by_login(login).await
    }
    async fn users(&self, workspace: WorkspaceId) -> Result<Vec<User>> {
        self.read_users(workspace).await
    }
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.write_session(token_hash, user_id, expires_at).await
    }
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        self.read_session_user(token_hash, now).await
    }
    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.write_delete_session(token_hash).await
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
            .await
    }
    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        self.read_api_token(token_hash).await
    }
    async fn api_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>> {
        self.read_api_tokens(workspace).await
    }
    async fn revoke_api_token(
        &self,
        workspace: WorkspaceId,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_revoke(workspace, id, now).await
    }
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        self.write_audit(entry).await
    }
    async fn audit_log(
        &self,
        workspace: WorkspaceId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        self.read_audit(workspace, before, limit).await
    }
    async fn set_user_disabled(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.write_user_disabled(workspace, user_id, disabled_at)
            .await
    }
    async fn set_password_hash(
        &self,
        workspace: WorkspaceId,
        user_id: i64,
        password_hash: &str,
    ) -> Result<()> {
        self.write_password_hash(workspace, user_id, password_hash)
            .await
    }
    async fn delete_user(&self, workspace: WorkspaceId, user_id: i64) -> Result<()> {
        self.write_delete_user(workspace, user_id).await
    }
    async fn revoke_user_sessions(&self, workspace: WorkspaceId, user_id: i64) -> Result<u64> {
        self.write_revoke_user_sessions(workspace, user_id).await
    }
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        self.write_purge_sessions(now).await
    }
    async fn session_counts(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, u64)>> {
        self.read_session_counts(workspace, now).await
    }
}

//! Operator documents (rule files, SOP plans) and tracked links with their clicks.

use chrono::{DateTime, Utc};
use qunzhu_domain::{DocumentKind, WorkspaceId};
use qunzhu_storage::{Document, Link, LinkClick, LinkStats, NewLink, Result, StoreError};
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{document_kind, micros, time};
use crate::{backend, SqliteStore};

fn document_from_row(row: &Row<'_>) -> Result<Document> {
    Ok(Document {
        workspace: WorkspaceId(row.get(0).map_err(backend)?),
        kind: document_kind(&row.get::<_, String>(1).map_err(backend)?)?,
        name: row.get(2).map_err(backend)?,
        source: row.get(3).map_err(backend)?,
        version: row.get(4).map_err(backend)?,
        updated_at: time(row.get(5).map_err(backend)?),
        updated_by: row.get(6).map_err(backend)?,
    })
}

const DOCUMENT_COLUMNS: &str = "workspace, kind, name, source, version, updated_at, updated_by";

impl SqliteStore {
    pub(crate) fn write_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
        source: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Document> {
        self.run(|conn| {
            conn.execute(
                "INSERT INTO documents (workspace, kind, name, source, version, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)
                 ON CONFLICT DO UPDATE SET source = ?4, version = version + 1, updated_at = ?5, updated_by = ?6",
                params![workspace.0, kind.as_str(), name, source, micros(now), by],
            )
            .map_err(backend)?;
            read_document(conn, workspace, kind, name)
        })
    }

    pub(crate) fn read_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
    ) -> Result<Document> {
        self.read(|conn| read_document(conn, workspace, kind, name))
    }

    pub(crate) fn read_documents(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
    ) -> Result<Vec<Document>> {
        self.read(|conn| {
            let mut statement =
                conn.prepare(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE workspace = ?1 AND kind = ?2 ORDER BY name")).map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, kind.as_str()]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(document_from_row(row)?);
            }
            Ok(out)
        })
    }

    pub(crate) fn write_delete_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
    ) -> Result<()> {
        self.run(|conn| {
            let changed = conn
                .execute(
                    "DELETE FROM documents WHERE workspace = ?1 AND kind = ?2 AND name = ?3",
                    params![workspace.0, kind.as_str(), name],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    object: "document",
                    id: format!("{kind}/{name}"),
                });
            }
            Ok(())
        })
    }

    pub(crate) fn write_links(&self, links: Vec<NewLink>) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            for link in &links {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO links (code, workspace, url, push, chat, member, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut statement| {
                    statement.execute(params![link.code, link.workspace.0, link.url, link.push, link.chat, link.member, micros(link.created_at)])
                })
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
    }

    pub(crate) fn read_link(&self, code: &str) -> Result<Link> {
        self.read(|conn| {
            conn.query_row("SELECT code, workspace, url, push, chat, member, created_at FROM links WHERE code = ?1", [code], |row| {
                Ok(Link {
                    code: row.get(0)?,
                    workspace: WorkspaceId(row.get(1)?),
                    url: row.get(2)?,
                    push: row.get(3)?,
                    chat: row.get(4)?,
                    member: row.get(5)?,
                    created_at: time(row.get(6)?),
                })
            })
            .optional()
            .map_err(backend)?
            .ok_or(StoreError::NotFound { object: "link", id: code.to_string() })
        })
    }

    pub(crate) fn write_click(&self, click: LinkClick) -> Result<()> {
        self.run(|conn| {
            conn.execute(
                "INSERT INTO link_clicks (code, at, visitor) VALUES (?1, ?2, ?3)",
                params![click.code, micros(click.at), click.visitor],
            )
            .map(|_| ())
            .map_err(backend)
        })
    }

    pub(crate) fn read_push_stats(&self, workspace: WorkspaceId, push: &str) -> Result<LinkStats> {
        self.read(|conn| {
            conn.query_row(
                "SELECT count(c.id), count(DISTINCT c.visitor) FROM links l JOIN link_clicks c ON c.code = l.code WHERE l.workspace = ?1 AND l.push = ?2",
                params![workspace.0, push],
                |row| Ok(LinkStats { clicks: row.get::<_, i64>(0)? as u64, unique_visitors: row.get::<_, i64>(1)? as u64 }),
            )
            .map_err(backend)
        })
    }
}

fn read_document(
    conn: &rusqlite::Connection,
    workspace: WorkspaceId,
    kind: DocumentKind,
    name: &str,
) -> Result<Document> {
    conn.query_row(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE workspace = ?1 AND kind = ?2 AND name = ?3"), params![workspace.0, kind.as_str(), name], |row| {
        Ok(document_from_row(row))
    })
    .optional()
    .map_err(backend)?
    .unwrap_or(Err(StoreError::NotFound { object: "document", id: format!("{kind}/{name}") }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_kind_no_writer_knows_is_an_error_naming_it() {
        let store = SqliteStore::open_in_memory().unwrap();
        let workspace = WorkspaceId(1);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        store
            .write_document(workspace, DocumentKind::Rules, "r", "a = 1", "ops", now)
            .unwrap();
        let read = |conn: &mut rusqlite::Connection| {
            conn.query_row(
                &format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE name = 'r'"),
                [],
                |row| Ok(document_from_row(row)),
            )
            .map_err(backend)?
        };
        assert_eq!(store.run(read).unwrap().kind, DocumentKind::Rules);
        store
            .run(|conn| {
                conn.execute("UPDATE documents SET kind = 'rule'", [])
                    .map_err(backend)
            })
            .unwrap();
        let error = store.run(read).unwrap_err().to_string();
        assert!(
            error.contains("bad documents.kind `rule` in the database")
                && error.contains("expected one of: rules, sop_plan"),
            "{error}"
        );
    }
}

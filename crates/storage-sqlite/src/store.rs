//! The storage traits, implemented by delegating to the backend's modules.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{ActionRecord, DerivedState, Group, Member, NewAction, Platform, WorkspaceId};
use qunzhu_storage::*;
use rusqlite::{params, OptionalExtension};

use crate::{backend, SqliteStore};

fn workspace_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(row.get(0)?),
        slug: row.get(1)?,
        name: row.get(2)?,
        time_zone: row.get(3)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn ingest(&self, batch: IngestBatch, decide: &mut Decide<'_>) -> Result<IngestReport> {
        self.ingest_batch(batch, decide)
    }

    async fn cursor(&self, connector: &str) -> Result<Option<String>> {
        self.read_cursor(connector)
    }

    async fn events(
        &self,
        workspace: WorkspaceId,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        self.read_events(workspace, after_seq, limit)
    }

    async fn events_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        self.read_events_since(workspace, since, limit)
    }

    async fn recent_events(
        &self,
        workspace: WorkspaceId,
        chat: &str,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        self.read_recent_events(workspace, chat, limit)
    }

    async fn log_stats(&self) -> Result<LogStats> {
        self.run(|conn| {
            let events: i64 = conn
                .query_row(
                    "SELECT coalesce(sum(value), 0) FROM counters WHERE name LIKE 'events:%'",
                    [],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            let duplicates: Option<i64> = conn
                .query_row(
                    "SELECT value FROM counters WHERE name = 'duplicates'",
                    [],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            Ok(LogStats {
                events: events as u64,
                duplicates: duplicates.unwrap_or(0) as u64,
            })
        })
    }

    async fn rebuild_derived(&self) -> Result<()> {
        self.rebuild()
    }

    async fn derived_state(&self) -> Result<DerivedState> {
        self.read_derived()
    }

    async fn pending_join_requests(&self, workspace: WorkspaceId) -> Result<Vec<StoredEvent>> {
        self.read_pending_join_requests(workspace)
    }

    async fn baseline_insert(&self, events: &[NewEvent]) -> Result<()> {
        self.baseline(events)
    }
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn enqueue(&self, actions: Vec<NewAction>) -> Result<usize> {
        self.write_enqueue(actions)
    }

    async fn claim_actions(&self, claim: Claim<'_>) -> Result<Vec<ActionRecord>> {
        self.write_claim(claim)
    }

    async fn finish_action(
        &self,
        id: i64,
        outcome: ActionOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_finish(id, outcome, now)
    }

    async fn action(&self, id: i64) -> Result<ActionRecord> {
        self.read_action(id)
    }

    async fn action_by_key(&self, key: &str) -> Result<ActionRecord> {
        self.read_action_by_key(key)
    }

    async fn actions(
        &self,
        workspace: WorkspaceId,
        filter: &ActionFilter,
    ) -> Result<Vec<ActionRecord>> {
        self.read_actions(workspace, filter)
    }

    async fn action_counts(&self, workspace: WorkspaceId) -> Result<ActionCounts> {
        self.read_action_counts(workspace)
    }

    async fn cancel_actions(
        &self,
        workspace: WorkspaceId,
        origin_prefix: &str,
        from: DateTime<Utc>,
        reason: &str,
    ) -> Result<usize> {
        self.write_cancel(workspace, origin_prefix, from, reason)
    }
}

#[async_trait]
impl Directory for SqliteStore {
    async fn ensure_workspace(&self, new: NewWorkspace) -> Result<Workspace> {
        self.run(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO workspaces (slug, name, time_zone) VALUES (?1, ?2, ?3)",
                params![new.slug, new.name, new.time_zone],
            )
            .map_err(backend)?;
            conn.query_row(
                "SELECT id, slug, name, time_zone FROM workspaces WHERE slug = ?1",
                [&new.slug],
                workspace_from_row,
            )
            .map_err(backend)
        })
    }

    async fn workspace(&self, id: WorkspaceId) -> Result<Workspace> {
        self.run(|conn| {
            conn.query_row(
                "SELECT id, slug, name, time_zone FROM workspaces WHERE id = ?1",
                [id.0],
                workspace_from_row,
            )
            .optional()
            .map_err(backend)?
            .ok_or(StoreError::NotFound {
                object: "workspace",
                id: id.to_string(),
            })
        })
    }

    async fn workspaces(&self) -> Result<Vec<Workspace>> {
        self.run(|conn| {
            let mut statement = conn
                .prepare("SELECT id, slug, name, time_zone FROM workspaces ORDER BY id")
                .map_err(backend)?;
            let rows = statement
                .query_map([], workspace_from_row)
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<_>>().map_err(backend)
        })
    }

    async fn groups(&self, workspace: WorkspaceId) -> Result<Vec<GroupSummary>> {
        self.read_groups(workspace)
    }

    async fn group(&self, workspace: WorkspaceId, group_id: i64) -> Result<Group> {
        self.read_group(workspace, group_id)
    }

    async fn ensure_group(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Group> {
        self.write_ensure_group(workspace, platform, chat)
    }

    async fn update_group(
        &self,
        workspace: WorkspaceId,
        group_id: i64,
        update: GroupUpdate,
    ) -> Result<Group> {
        self.write_update_group(workspace, group_id, update)
    }

    async fn members(
        &self,
        workspace: WorkspaceId,
        query: &MemberQuery,
    ) -> Result<Vec<MemberSummary>> {
        self.read_members(workspace, query)
    }

    async fn member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &str,
    ) -> Result<Member> {
        self.read_member(workspace, platform, user)
    }

    async fn update_member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &str,
        update: MemberUpdate,
    ) -> Result<Member> {
        self.write_update_member(workspace, platform, user, update)
    }
}

#[async_trait]
impl Analytics for SqliteStore {
    async fn group_days(
        &self,
        workspace: WorkspaceId,
        group_id: Option<i64>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<GroupDayRow>> {
        self.read_group_days(workspace, group_id, from, to)
    }
}

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn put_document(
        &self,
        workspace: WorkspaceId,
        kind: &str,
        name: &str,
        source: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Document> {
        self.write_document(workspace, kind, name, source, by, now)
    }
    async fn document(&self, workspace: WorkspaceId, kind: &str, name: &str) -> Result<Document> {
        self.read_document(workspace, kind, name)
    }
    async fn documents(&self, workspace: WorkspaceId, kind: &str) -> Result<Vec<Document>> {
        self.read_documents(workspace, kind)
    }
    async fn delete_document(&self, workspace: WorkspaceId, kind: &str, name: &str) -> Result<()> {
        self.write_delete_document(workspace, kind, name)
    }
}

#[async_trait]
impl LinkStore for SqliteStore {
    async fn put_links(&self, links: Vec<NewLink>) -> Result<()> {
        self.write_links(links)
    }
    async fn link(&self, code: &str) -> Result<Link> {
        self.read_link(code)
    }
    async fn record_click(&self, click: LinkClick) -> Result<()> {
        self.write_click(click)
    }
    async fn push_link_stats(&self, workspace: WorkspaceId, push: &str) -> Result<LinkStats> {
        self.read_push_stats(workspace, push)
    }
}

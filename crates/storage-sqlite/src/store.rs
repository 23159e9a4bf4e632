//! The storage traits, implemented by delegating to the backend's modules.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{
    ActionId, ActionRecord, DerivedState, DocumentKind, Group, GroupId, Member, MemberId,
    NewAction, Platform, WorkspaceId,
};
use qunzhu_storage::*;
use rusqlite::{params, OptionalExtension};

use crate::{backend, SqliteStore};

fn workspace_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(row.get(0)?),
        slug: row.get(1)?,
        name: row.get(2)?,
        time_zone: {
            let name: String = row.get(3)?;
            name.parse().map_err(|_| {
                rusqlite::Error::FromSqlConversionFailure(
                    3,
                    rusqlite::types::Type::Text,
                    format!("workspaces.time_zone `{name}` is not an IANA time zone").into(),
                )
            })?
        },
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
        self.read(|conn| {
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
        id: ActionId,
        outcome: ActionOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_finish(id.0, outcome, now)
    }

    async fn action(&self, id: ActionId) -> Result<ActionRecord> {
        self.read_action(id.0)
    }

    async fn action_by_key(&self, workspace: WorkspaceId, key: &str) -> Result<ActionRecord> {
        self.read_action_by_key(workspace, key)
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
                // The configuration is the workspace's source of truth: a changed name or zone applies.
                "INSERT INTO workspaces (slug, name, time_zone) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (slug) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone",
                params![new.slug, new.name, new.time_zone.name()],
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
        self.read(|conn| {
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
        self.read(|conn| {
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

    async fn group(&self, workspace: WorkspaceId, group_id: GroupId) -> Result<Group> {
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
        group_id: GroupId,
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
        user: &MemberId,
    ) -> Result<Member> {
        self.read_member(workspace, platform, user)
    }

    async fn update_member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
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
        group_id: Option<GroupId>,
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
        kind: DocumentKind,
        name: &str,
        source: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Document> {
        self.write_document(workspace, kind, name, source, by, now)
    }
    async fn document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
    ) -> Result<Document> {
        self.read_document(workspace, kind, name)
    }
    async fn documents(&self, workspace: WorkspaceId, kind: DocumentKind) -> Result<Vec<Document>> {
        self.read_documents(workspace, kind)
    }
    async fn delete_document(
        &self,
        workspace: WorkspaceId,
        kind: DocumentKind,
        name: &str,
    ) -> Result<()> {
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

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn post_entries(
        &self,
        workspace: WorkspaceId,
        entries: Vec<qunzhu_domain::NewEntry>,
    ) -> Result<Vec<Posting>> {
        self.write_entries(workspace, entries)
    }
    async fn balance(
        &self,
        workspace: WorkspaceId,
        account: &qunzhu_domain::Account,
    ) -> Result<i64> {
        self.read_balance(workspace, account)
    }
    async fn balances(
        &self,
        workspace: WorkspaceId,
        kind: Option<qunzhu_domain::AccountKind>,
        limit: usize,
    ) -> Result<Vec<(qunzhu_domain::Account, i64)>> {
        self.read_balances(workspace, kind, limit)
    }
    async fn ledger_entries(
        &self,
        workspace: WorkspaceId,
        account: Option<&qunzhu_domain::Account>,
        limit: usize,
    ) -> Result<Vec<qunzhu_domain::Entry>> {
        self.read_entries(workspace, account, limit)
    }
    async fn ledger_entry(
        &self,
        workspace: WorkspaceId,
        key: &str,
    ) -> Result<qunzhu_domain::Entry> {
        self.read_entry(workspace, key)
    }
    async fn put_reward(&self, workspace: WorkspaceId, reward: Reward) -> Result<Reward> {
        self.write_reward(workspace, reward)
    }
    async fn rewards(&self, workspace: WorkspaceId) -> Result<Vec<Reward>> {
        self.read_rewards(workspace)
    }
    async fn redeem(&self, workspace: WorkspaceId, redeem: Redeem) -> Result<Redemption> {
        self.write_redeem(workspace, redeem)
    }
    async fn ledger_baseline_insert(
        &self,
        workspace: WorkspaceId,
        entries: &[qunzhu_domain::NewEntry],
        fresh: bool,
    ) -> Result<()> {
        self.write_ledger_baseline(workspace, entries, fresh)
    }
}

#[async_trait]
impl CouponStore for SqliteStore {
    async fn issue_coupons(
        &self,
        workspace: WorkspaceId,
        coupons: Vec<qunzhu_domain::NewCoupon>,
    ) -> Result<Vec<qunzhu_domain::Coupon>> {
        self.write_coupons(workspace, coupons)
    }
    async fn coupon(&self, workspace: WorkspaceId, code: &str) -> Result<qunzhu_domain::Coupon> {
        self.read_coupon(workspace, code)
    }
    async fn member_coupons(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &str,
    ) -> Result<Vec<qunzhu_domain::Coupon>> {
        self.read_member_coupons(workspace, platform, user)
    }
    async fn redeem_coupon(
        &self,
        workspace: WorkspaceId,
        redeem: RedeemCoupon,
    ) -> Result<CouponRedemption> {
        self.write_redeem_coupon(workspace, redeem)
    }
}

#[async_trait]
impl InviteStore for SqliteStore {
    async fn invite_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read_invite_watermark(workspace)
    }
    async fn apply_invite_changes(
        &self,
        workspace: WorkspaceId,
        changes: Vec<qunzhu_domain::InviteChange>,
        watermark: i64,
    ) -> Result<()> {
        self.write_invite_changes(workspace, changes, watermark)
    }
    async fn put_invite_code(
        &self,
        workspace: WorkspaceId,
        code: qunzhu_domain::InviteCode,
    ) -> Result<qunzhu_domain::InviteCode> {
        self.write_invite_code(workspace, code)
    }
    async fn invite_code(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<qunzhu_domain::InviteCode> {
        self.read_invite_code(workspace, code)
    }
    async fn invites_by(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        inviter: &str,
    ) -> Result<Vec<Invite>> {
        self.read_invites_by(workspace, platform, inviter)
    }
    async fn invite_counts(
        &self,
        workspace: WorkspaceId,
        filter: &InviteFilter,
        limit: usize,
    ) -> Result<Vec<InviteCount>> {
        self.read_invite_counts(workspace, filter, limit)
    }
}

//! [`TierStore`] on SQLite: the inputs are point reads by member (migration 0025's member
//! indexes on the rollup tables and the balances' primary key), the rows and marks one
//! transaction, the views paged reads of the rollup member rows.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::tier::TierInputs;
use qunzhu_domain::{Account, MemberTier, Platform, WorkspaceId};
use qunzhu_storage::tiers::{
    KolQuery, KolRow, LurkerQuery, LurkerRow, MemberKey, MemberTierRow, TierMarks, TierQuery,
    TierStore,
};
use qunzhu_storage::Result;
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{day, day_text, micros, opt_time, parsed, time};
use crate::{backend, SqliteStore};

fn platform(text: &str) -> Result<Platform> {
    parsed(Platform::parse(text))
}

const TIER_COLUMNS: &str =
    "platform, member, tier, spend_cents, points, active_days, checkins, review_at, computed_at";

fn tier_row(row: &Row<'_>) -> Result<MemberTierRow> {
    let text: String = row.get(0).map_err(backend)?;
    let tier: String = row.get(2).map_err(backend)?;
    let active_days: i64 = row.get(5).map_err(backend)?;
    Ok(MemberTierRow {
        platform: platform(&text)?,
        member: row.get(1).map_err(backend)?,
        tier: parsed(MemberTier::parse(&tier))?,
        inputs: TierInputs {
            spend_cents: row.get(3).map_err(backend)?,
            points: row.get(4).map_err(backend)?,
            active_days: u32::try_from(active_days).unwrap_or_default(),
            checkins: row.get(6).map_err(backend)?,
            first_active_day: None,
        },
        review_at: opt_time(row.get(7).map_err(backend)?),
        computed_at: time(row.get(8).map_err(backend)?),
    })
}

fn group_filter(group: &Option<(Platform, String)>) -> (Option<&'static str>, Option<String>) {
    match group {
        Some((platform, chat)) => (Some(platform.as_str()), Some(chat.clone())),
        None => (None, None),
    }
}

#[async_trait]
impl TierStore for SqliteStore {
    async fn tier_marks(&self, workspace: WorkspaceId) -> Result<TierMarks> {
        self.read(|conn| {
            conn.query_row(
                "SELECT events_seq, ledger_id FROM tier_watermarks WHERE workspace = ?1",
                [workspace.0],
                |row| {
                    Ok(TierMarks {
                        events_seq: row.get(0)?,
                        ledger_id: row.get(1)?,
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(backend)
        })
    }

    async fn ledger_members_after(
        &self,
        workspace: WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<MemberKey>, Option<i64>)> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT id, from_account, to_account FROM ledger_entries
                     WHERE workspace = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, after, limit as i64])
                .map_err(backend)?;
            let (mut out, mut last) = (Vec::new(), None);
            while let Some(row) = rows.next().map_err(backend)? {
                last = Some(row.get::<_, i64>(0).map_err(backend)?);
                for column in [1, 2] {
                    let text: String = row.get(column).map_err(backend)?;
                    if let Ok(Account::Member { platform, user }) = Account::parse(&text) {
                        out.push((platform, user));
                    }
                }
            }
            Ok((out, last))
        })
    }

    async fn tiers_due(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<MemberKey>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT platform, member FROM member_tiers
                     WHERE workspace = ?1 AND review_at IS NOT NULL AND review_at <= ?2
                     ORDER BY review_at LIMIT ?3",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, micros(now), limit as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let text: String = row.get(0).map_err(backend)?;
                out.push((platform(&text)?, row.get(1).map_err(backend)?));
            }
            Ok(out)
        })
    }

    async fn tier_inputs(
        &self,
        workspace: WorkspaceId,
        members: &[MemberKey],
        since: NaiveDate,
    ) -> Result<BTreeMap<MemberKey, TierInputs>> {
        let ws = workspace.0;
        self.read(|conn| {
            let mut spend = conn
                .prepare_cached("SELECT COALESCE(SUM(spend_cents), 0) FROM rollup_members WHERE workspace = ?1 AND platform = ?2 AND member = ?3")
                .map_err(backend)?;
            let mut points = conn
                .prepare_cached("SELECT balance FROM ledger_balances WHERE workspace = ?1 AND account = ?2")
                .map_err(backend)?;
            let mut active = conn
                .prepare_cached(
                    "SELECT COUNT(DISTINCT day), MIN(day), COALESCE(SUM(checkins), 0) FROM rollup_member_days
                     WHERE workspace = ?1 AND platform = ?2 AND member = ?3 AND day >= ?4",
                )
                .map_err(backend)?;
            let mut out = BTreeMap::new();
            for key in members {
                let spend_cents: i64 = spend
                    .query_row(params![ws, key.0.as_str(), key.1], |row| row.get(0))
                    .map_err(backend)?;
                let account = Account::member(key.0, key.1.clone()).encode();
                let balance: i64 = points
                    .query_row(params![ws, account], |row| row.get(0))
                    .optional()
                    .map_err(backend)?
                    .unwrap_or(0);
                let (days, first, checkins): (i64, Option<String>, i64) = active
                    .query_row(params![ws, key.0.as_str(), key.1, day_text(since)], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .map_err(backend)?;
                out.insert(
                    key.clone(),
                    TierInputs {
                        spend_cents,
                        points: balance,
                        active_days: u32::try_from(days).unwrap_or_default(),
                        checkins,
                        first_active_day: first.as_deref().map(day).transpose()?,
                    },
                );
            }
            Ok(out)
        })
    }

    async fn stored_tiers(
        &self,
        workspace: WorkspaceId,
        members: &[MemberKey],
    ) -> Result<BTreeMap<MemberKey, MemberTier>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT tier FROM member_tiers WHERE workspace = ?1 AND platform = ?2 AND member = ?3")
                .map_err(backend)?;
            let mut out = BTreeMap::new();
            for key in members {
                if let Some(tier) = statement
                    .query_row(params![workspace.0, key.0.as_str(), key.1], |row| row.get::<_, String>(0))
                    .optional()
                    .map_err(backend)?
                {
                    out.insert(key.clone(), parsed(MemberTier::parse(&tier))?);
                }
            }
            Ok(out)
        })
    }

    async fn apply_tiers(
        &self,
        workspace: WorkspaceId,
        rows: &[MemberTierRow],
        changed: &[MemberKey],
        from: TierMarks,
        to: TierMarks,
    ) -> Result<bool> {
        let ws = workspace.0;
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let current = tx
                .query_row(
                    "SELECT events_seq, ledger_id FROM tier_watermarks WHERE workspace = ?1",
                    [ws],
                    |row| Ok(TierMarks { events_seq: row.get(0)?, ledger_id: row.get(1)? }),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or_default();
            if current != from {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO tier_watermarks (workspace, events_seq, ledger_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (workspace) DO UPDATE SET events_seq = excluded.events_seq, ledger_id = excluded.ledger_id",
                params![ws, to.events_seq, to.ledger_id],
            )
            .map_err(backend)?;
            {
                let mut upsert = tx
                    .prepare_cached(&format!(
                        "INSERT OR REPLACE INTO member_tiers (workspace, {TIER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                    ))
                    .map_err(backend)?;
                for row in rows {
                    let i = &row.inputs;
                    upsert
                        .execute(params![
                            ws, row.platform.as_str(), row.member, row.tier.as_str(), i.spend_cents, i.points,
                            i64::from(i.active_days), i.checkins, row.review_at.map(micros), micros(row.computed_at)
                        ])
                        .map_err(backend)?;
                }
                let mut member = tx
                    .prepare_cached("UPDATE members SET tier = ?4 WHERE workspace = ?1 AND platform = ?2 AND user = ?3")
                    .map_err(backend)?;
                for key in changed {
                    if let Some(row) = rows.iter().find(|row| row.platform == key.0 && row.member == key.1) {
                        member
                            .execute(params![ws, key.0.as_str(), key.1, row.tier.as_str()])
                            .map_err(backend)?;
                    }
                }
            }
            tx.commit().map_err(backend)?;
            Ok(true)
        })
    }

    async fn member_tiers(
        &self,
        workspace: WorkspaceId,
        query: &TierQuery,
    ) -> Result<(usize, Vec<MemberTierRow>)> {
        let tier = query.tier.map(MemberTier::as_str);
        self.read(|conn| {
            let total: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM member_tiers WHERE workspace = ?1 AND (?2 IS NULL OR tier = ?2)",
                    params![workspace.0, tier],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {TIER_COLUMNS} FROM member_tiers WHERE workspace = ?1 AND (?2 IS NULL OR tier = ?2)
                     ORDER BY spend_cents DESC, points DESC, platform, member LIMIT ?3 OFFSET ?4"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, tier, query.limit as i64, query.offset as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(tier_row(row)?);
            }
            Ok((usize::try_from(total).unwrap_or_default(), out))
        })
    }

    async fn kols(&self, workspace: WorkspaceId, query: &KolQuery) -> Result<(usize, Vec<KolRow>)> {
        let (gp, gc) = group_filter(&query.group);
        self.read(|conn| {
            let grouped = "SELECT platform, member, SUM(referrals_stayed) AS stayed, SUM(messages) AS said, COUNT(*) AS n_groups
                 FROM rollup_members WHERE workspace = ?1 AND (?2 IS NULL OR (platform = ?2 AND chat = ?3))
                 GROUP BY platform, member HAVING SUM(referrals_stayed) >= ?4";
            let total: i64 = conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM ({grouped})"),
                    params![workspace.0, gp, gc, query.min_referrals.max(1)],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            let mut statement = conn
                .prepare_cached(&format!(
                    "{grouped} ORDER BY stayed DESC, said DESC, platform, member LIMIT ?5 OFFSET ?6"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, gp, gc, query.min_referrals.max(1), query.limit as i64, query.offset as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let text: String = row.get(0).map_err(backend)?;
                out.push(KolRow {
                    platform: platform(&text)?,
                    member: row.get(1).map_err(backend)?,
                    referrals_stayed: row.get(2).map_err(backend)?,
                    messages: row.get(3).map_err(backend)?,
                    groups: row.get(4).map_err(backend)?,
                });
            }
            Ok((usize::try_from(total).unwrap_or_default(), out))
        })
    }

    async fn lurkers(
        &self,
        workspace: WorkspaceId,
        query: &LurkerQuery,
    ) -> Result<(usize, Vec<LurkerRow>)> {
        let (gp, gc) = group_filter(&query.group);
        let before = micros(query.joined_before);
        self.read(|conn| {
            let filter = "FROM rollup_members WHERE workspace = ?1 AND present = 1
                 AND (joined_at IS NULL OR joined_at < ?2) AND messages <= ?3
                 AND (?4 IS NULL OR (platform = ?4 AND chat = ?5))";
            let total: i64 = conn
                .query_row(
                    &format!("SELECT COUNT(*) {filter}"),
                    params![workspace.0, before, query.max_messages, gp, gc],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT platform, chat, member, joined_at, messages, last_active_at {filter}
                     ORDER BY joined_at IS NOT NULL, joined_at, platform, chat, member LIMIT ?6 OFFSET ?7"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, before, query.max_messages, gp, gc, query.limit as i64, query.offset as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let text: String = row.get(0).map_err(backend)?;
                out.push(LurkerRow {
                    platform: platform(&text)?,
                    chat: row.get(1).map_err(backend)?,
                    member: row.get(2).map_err(backend)?,
                    joined_at: opt_time(row.get(3).map_err(backend)?),
                    messages: row.get(4).map_err(backend)?,
                    last_active_at: opt_time(row.get(5).map_err(backend)?),
                });
            }
            Ok((usize::try_from(total).unwrap_or_default(), out))
        })
    }
}

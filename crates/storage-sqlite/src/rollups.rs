//! [`RollupStore`] on SQLite: point lookups and upserts through cached statements, the
//! watermark checked and moved in the same transaction as the rows.

use async_trait::async_trait;
use chrono::NaiveDate;
use qunzhu_domain::rollup::{DayRollup, MemberDayFacts, MemberFacts, RollupKeys, RollupState};
use qunzhu_domain::{InviteChannel, Platform, WorkspaceId};
use qunzhu_storage::rollups::{hours_text, parse_hours};
use qunzhu_storage::{
    DayLeader, FactsQuery, LeaderBy, MemberFactsRow, Result, RollupDay, RollupDayQuery, RollupStore,
};
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{day, day_text, micros, opt_time, parsed};
use crate::{backend, SqliteStore};

const DAY_COLUMNS: &str = "members_end, joins_invited, joins_link, joins_knock, joins_direct, left_count, removed, speakers, messages, checkins, invites, orders, revenue_cents, hours";
const MEMBER_COLUMNS: &str = "joined_at, channel, campaign, inviter, present, first_active_at, last_active_at, active_weeks, messages, checkins, orders, spend_cents, first_order_at, referrals_stayed";

/// Reads a day's counts starting at column `at`.
fn day_from(row: &Row<'_>, at: usize) -> Result<DayRollup> {
    let n = |i: usize| -> Result<i64> { row.get(at + i).map_err(backend) };
    let hours: String = row.get(at + 13).map_err(backend)?;
    Ok(DayRollup {
        members_end: n(0)?,
        joins_invited: n(1)?,
        joins_link: n(2)?,
        joins_knock: n(3)?,
        joins_direct: n(4)?,
        left: n(5)?,
        removed: n(6)?,
        speakers: n(7)?,
        messages: n(8)?,
        checkins: n(9)?,
        invites: n(10)?,
        orders: n(11)?,
        revenue_cents: n(12)?,
        hours: parse_hours(&hours)?,
    })
}

/// Reads a member's facts starting at column `at`.
fn facts_from(row: &Row<'_>, at: usize) -> Result<MemberFacts> {
    let n = |i: usize| -> Result<i64> { row.get(at + i).map_err(backend) };
    let t = |i: usize| -> Result<Option<i64>> { row.get(at + i).map_err(backend) };
    let channel: Option<String> = row.get(at + 1).map_err(backend)?;
    Ok(MemberFacts {
        joined_at: opt_time(t(0)?),
        channel: channel
            .map(|text| parsed(InviteChannel::parse(&text)))
            .transpose()?,
        campaign: row.get(at + 2).map_err(backend)?,
        inviter: row.get(at + 3).map_err(backend)?,
        present: n(4)? != 0,
        first_active_at: opt_time(t(5)?),
        last_active_at: opt_time(t(6)?),
        // The bits are stored as a signed 64-bit integer, reinterpreted.
        active_weeks: n(7)? as u64,
        messages: n(8)?,
        checkins: n(9)?,
        orders: n(10)?,
        spend_cents: n(11)?,
        first_order_at: opt_time(t(12)?),
        referrals_stayed: n(13)?,
    })
}

fn platform(text: String) -> Result<Platform> {
    parsed(Platform::parse(&text))
}

#[async_trait]
impl RollupStore for SqliteStore {
    async fn rollup_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM rollup_watermarks WHERE workspace = ?1",
                [workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn rollup_rows(&self, workspace: WorkspaceId, keys: &RollupKeys) -> Result<RollupState> {
        let ws = workspace.0;
        self.read(|conn| {
            let mut out = RollupState::default();
            let mut groups = conn
                .prepare_cached("SELECT members FROM rollup_groups WHERE workspace = ?1 AND platform = ?2 AND chat = ?3")
                .map_err(backend)?;
            for key in &keys.groups {
                if let Some(members) = groups
                    .query_row(params![ws, key.0.as_str(), key.1], |row| row.get::<_, i64>(0))
                    .optional()
                    .map_err(backend)?
                {
                    out.groups.insert(key.clone(), members);
                }
            }
            let mut days = conn
                .prepare_cached(&format!("SELECT {DAY_COLUMNS} FROM rollup_days WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND day = ?4"))
                .map_err(backend)?;
            for key in &keys.days {
                let mut rows = days.query(params![ws, key.0.as_str(), key.1, day_text(key.2)]).map_err(backend)?;
                if let Some(row) = rows.next().map_err(backend)? {
                    out.days.insert(key.clone(), day_from(row, 0)?);
                }
            }
            let mut members = conn
                .prepare_cached(&format!("SELECT {MEMBER_COLUMNS} FROM rollup_members WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND member = ?4"))
                .map_err(backend)?;
            for key in &keys.members {
                let mut rows = members.query(params![ws, key.0.as_str(), key.1, key.2]).map_err(backend)?;
                if let Some(row) = rows.next().map_err(backend)? {
                    out.members.insert(key.clone(), facts_from(row, 0)?);
                }
            }
            let mut member_days = conn
                .prepare_cached("SELECT messages, checkins FROM rollup_member_days WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND day = ?4 AND member = ?5")
                .map_err(backend)?;
            for key in &keys.member_days {
                if let Some(facts) = member_days
                    .query_row(params![ws, key.0.as_str(), key.1, day_text(key.3), key.2], |row| {
                        Ok(MemberDayFacts { messages: row.get(0)?, checkins: row.get(1)? })
                    })
                    .optional()
                    .map_err(backend)?
                {
                    out.member_days.insert(key.clone(), facts);
                }
            }
            Ok(out)
        })
    }

    async fn apply_rollup(
        &self,
        workspace: WorkspaceId,
        rows: &RollupState,
        from_seq: i64,
        to_seq: i64,
    ) -> Result<bool> {
        let ws = workspace.0;
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let current: i64 = tx
                .query_row("SELECT seq FROM rollup_watermarks WHERE workspace = ?1", [ws], |row| row.get(0))
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            if current != from_seq {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO rollup_watermarks (workspace, seq) VALUES (?1, ?2) ON CONFLICT (workspace) DO UPDATE SET seq = excluded.seq",
                params![ws, to_seq],
            )
            .map_err(backend)?;
            {
                let mut groups = tx
                    .prepare_cached("INSERT OR REPLACE INTO rollup_groups (workspace, platform, chat, members) VALUES (?1, ?2, ?3, ?4)")
                    .map_err(backend)?;
                for (key, members) in &rows.groups {
                    groups.execute(params![ws, key.0.as_str(), key.1, members]).map_err(backend)?;
                }
                let mut days = tx
                    .prepare_cached(&format!(
                        "INSERT OR REPLACE INTO rollup_days (workspace, platform, chat, day, {DAY_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                    ))
                    .map_err(backend)?;
                for (key, d) in &rows.days {
                    days.execute(params![
                        ws, key.0.as_str(), key.1, day_text(key.2), d.members_end, d.joins_invited, d.joins_link,
                        d.joins_knock, d.joins_direct, d.left, d.removed, d.speakers, d.messages, d.checkins,
                        d.invites, d.orders, d.revenue_cents, hours_text(&d.hours)
                    ])
                    .map_err(backend)?;
                }
                let mut members = tx
                    .prepare_cached(&format!(
                        "INSERT OR REPLACE INTO rollup_members (workspace, platform, chat, member, {MEMBER_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                    ))
                    .map_err(backend)?;
                for (key, f) in &rows.members {
                    members.execute(params![
                        ws, key.0.as_str(), key.1, key.2, f.joined_at.map(micros), f.channel.map(|c| c.as_str()),
                        f.campaign, f.inviter, f.present, f.first_active_at.map(micros), f.last_active_at.map(micros),
                        f.active_weeks as i64, f.messages, f.checkins, f.orders, f.spend_cents,
                        f.first_order_at.map(micros), f.referrals_stayed
                    ])
                    .map_err(backend)?;
                }
                let mut member_days = tx
                    .prepare_cached("INSERT OR REPLACE INTO rollup_member_days (workspace, platform, chat, member, day, messages, checkins) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                    .map_err(backend)?;
                for (key, f) in &rows.member_days {
                    member_days
                        .execute(params![ws, key.0.as_str(), key.1, key.2, day_text(key.3), f.messages, f.checkins])
                        .map_err(backend)?;
                }
            }
            crate::analytics_models::write_funnel(&tx, ws, &rows.funnel)?;
            tx.commit().map_err(backend)?;
            Ok(true)
        })
    }

    async fn rollup_days(
        &self,
        workspace: WorkspaceId,
        query: &RollupDayQuery,
    ) -> Result<Vec<RollupDay>> {
        let (group_platform, group_chat) = match &query.group {
            Some((platform, chat)) => (Some(platform.as_str()), Some(chat.as_str())),
            None => (None, None),
        };
        self.read(|conn| {
            // One group reads its key range; every group reads the days by rollup_days_by_day
            // (a scan in key order would visit every day of the year).
            let sql = if group_platform.is_some() {
                format!(
                    "SELECT platform, chat, day, {DAY_COLUMNS} FROM rollup_days
                     WHERE workspace = ?1 AND platform = ?4 AND chat = ?5 AND day >= ?2 AND day <= ?3
                     ORDER BY day"
                )
            } else {
                format!(
                    "SELECT platform, chat, day, {DAY_COLUMNS} FROM rollup_days INDEXED BY rollup_days_by_day
                     WHERE workspace = ?1 AND day >= ?2 AND day <= ?3 AND ?4 IS NULL AND ?5 IS NULL
                     ORDER BY platform, chat, day"
                )
            };
            let mut statement = conn.prepare_cached(&sql).map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, day_text(query.from), day_text(query.to), group_platform, group_chat])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let day_text: String = row.get(2).map_err(backend)?;
                out.push(RollupDay {
                    platform: platform(row.get(0).map_err(backend)?)?,
                    chat: row.get(1).map_err(backend)?,
                    day: day(&day_text)?,
                    counts: day_from(row, 3)?,
                    clicks: 0,
                });
            }
            Ok(out)
        })
    }

    async fn member_facts(
        &self,
        workspace: WorkspaceId,
        query: &FactsQuery,
    ) -> Result<Vec<MemberFactsRow>> {
        let (group_platform, group_chat) = match &query.group {
            Some((platform, chat)) => (Some(platform.as_str()), Some(chat.as_str())),
            None => (None, None),
        };
        self.read(|conn| {
            // One group is read by its primary key: an `?4 IS NULL OR` test would hide the key
            // from the planner, and so would the join-time range, which it prefers to a key
            // prefix (scanning the workspace's members by join time); `+` keeps that index out.
            let (group_test, joined) = if group_platform.is_some() {
                ("platform = ?4 AND chat = ?5", "+joined_at")
            } else {
                ("?4 IS NULL AND ?5 IS NULL", "joined_at")
            };
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT platform, chat, member, {MEMBER_COLUMNS} FROM rollup_members
                     WHERE workspace = ?1 AND {group_test} AND {joined} IS NOT NULL AND {joined} >= ?2 AND {joined} < ?3
                       AND (?6 IS NULL OR channel = ?6) AND (?7 IS NULL OR campaign = ?7)
                     ORDER BY platform, chat, member"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![
                    workspace.0,
                    query.joined_since.map_or(i64::MIN, micros),
                    query.joined_until.map_or(i64::MAX, micros),
                    group_platform,
                    group_chat,
                    query.channel.map(|c| c.as_str()),
                    query.campaign
                ])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(MemberFactsRow {
                    platform: platform(row.get(0).map_err(backend)?)?,
                    chat: row.get(1).map_err(backend)?,
                    member: row.get(2).map_err(backend)?,
                    facts: facts_from(row, 3)?,
                });
            }
            Ok(out)
        })
    }

    async fn facts_group_by_baseline(&self, workspace: WorkspaceId) -> Result<u64> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT platform, chat, count(*), sum(messages), sum(spend_cents) FROM rollup_members
                     WHERE workspace = ?1 AND joined_at IS NOT NULL GROUP BY platform, chat",
                )
                .map_err(backend)?;
            let mut rows = statement.query([workspace.0]).map_err(backend)?;
            let mut groups = 0;
            while rows.next().map_err(backend)?.is_some() {
                groups += 1;
            }
            Ok(groups)
        })
    }

    async fn day_leaders(
        &self,
        workspace: WorkspaceId,
        group: (Platform, &str),
        on: NaiveDate,
        by: LeaderBy,
        limit: usize,
    ) -> Result<Vec<DayLeader>> {
        let column = match by {
            LeaderBy::Messages => "messages",
            LeaderBy::Checkins => "checkins",
        };
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT member, {column} FROM rollup_member_days
                     WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND day = ?4 AND {column} > 0
                     ORDER BY {column} DESC, member LIMIT ?5"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, group.0.as_str(), group.1, day_text(on), limit as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(DayLeader { member: row.get(0).map_err(backend)?, count: row.get(1).map_err(backend)? });
            }
            Ok(out)
        })
    }
}

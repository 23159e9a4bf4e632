//! [`RollupStore`] on PostgreSQL: a batch's rows are read and written with one set-based
//! statement per table (UNNEST arrays), under a lock on the watermark row so two instances never
//! fold the same events twice.

// Column arrays for UNNEST are tuples of vectors by nature; naming each would add nothing.
#![allow(clippy::type_complexity)]

use async_trait::async_trait;
use chrono::NaiveDate;
use qunzhu_domain::rollup::{DayRollup, MemberDayFacts, MemberFacts, RollupKeys, RollupState};
use qunzhu_domain::{InviteChannel, Platform, WorkspaceId};
use qunzhu_storage::rollups::{hours_text, parse_hours};
use qunzhu_storage::{
    DayLeader, FactsQuery, LeaderBy, MemberFactsRow, Result, RollupDay, RollupDayQuery, RollupStore,
};
use tokio_postgres::Row;

use crate::codec::{day, day_text, micros, opt_time, parsed};
use crate::{backend, get, PostgresStore};

const DAY_COLUMNS: &str = "members_end, joins_invited, joins_link, joins_knock, joins_direct, left_count, removed, speakers, messages, checkins, invites, orders, revenue_cents, hours";
const MEMBER_COLUMNS: &str = "joined_at, channel, campaign, inviter, present, first_active_at, last_active_at, active_weeks, messages, checkins, orders, spend_cents, first_order_at, referrals_stayed";

fn day_from(row: &Row, at: usize) -> Result<DayRollup> {
    let n = |i: usize| -> Result<i64> { get(row, at + i) };
    let hours: String = get(row, at + 13)?;
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

fn facts_from(row: &Row, at: usize) -> Result<MemberFacts> {
    let n = |i: usize| -> Result<i64> { get(row, at + i) };
    let t = |i: usize| -> Result<Option<i64>> { get(row, at + i) };
    let channel: Option<String> = get(row, at + 1)?;
    Ok(MemberFacts {
        joined_at: opt_time(t(0)?),
        channel: channel
            .map(|text| parsed(InviteChannel::parse(&text)))
            .transpose()?,
        campaign: get(row, at + 2)?,
        inviter: get(row, at + 3)?,
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

fn platform(row: &Row, index: usize) -> Result<Platform> {
    let text: String = get(row, index)?;
    parsed(Platform::parse(&text))
}

fn group_filter(group: &Option<(Platform, String)>) -> (Option<String>, Option<String>) {
    match group {
        Some((platform, chat)) => (Some(platform.as_str().to_string()), Some(chat.clone())),
        None => (None, None),
    }
}

#[async_trait]
impl RollupStore for PostgresStore {
    async fn rollup_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM rollup_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map_or(Ok(0), |row| get(&row, 0))
    }

    async fn rollup_rows(&self, workspace: WorkspaceId, keys: &RollupKeys) -> Result<RollupState> {
        let client = self.client().await;
        let mut out = RollupState::default();
        if !keys.groups.is_empty() {
            let (p, c): (Vec<&str>, Vec<&str>) = keys
                .groups
                .iter()
                .map(|k| (k.0.as_str(), k.1.as_str()))
                .unzip();
            for row in client
                .query(
                    "SELECT g.platform, g.chat, g.members FROM rollup_groups g
                     JOIN UNNEST($2::text[], $3::text[]) AS k(p, c) ON g.platform = k.p AND g.chat = k.c
                     WHERE g.workspace = $1",
                    &[&workspace.0, &p, &c],
                )
                .await
                .map_err(backend)?
            {
                out.groups.insert((platform(&row, 0)?, get(&row, 1)?), get(&row, 2)?);
            }
        }
        if !keys.days.is_empty() {
            let mut p = Vec::new();
            let mut c = Vec::new();
            let mut d = Vec::new();
            for key in &keys.days {
                p.push(key.0.as_str());
                c.push(key.1.as_str());
                d.push(day_text(key.2));
            }
            for row in client
                .query(
                    &format!(
                        "SELECT r.platform, r.chat, r.day, {} FROM rollup_days r
                         JOIN UNNEST($2::text[], $3::text[], $4::text[]) AS k(p, c, d) ON r.platform = k.p AND r.chat = k.c AND r.day = k.d
                         WHERE r.workspace = $1",
                        prefixed("r", DAY_COLUMNS)
                    ),
                    &[&workspace.0, &p, &c, &d],
                )
                .await
                .map_err(backend)?
            {
                let text: String = get(&row, 2)?;
                out.days.insert((platform(&row, 0)?, get(&row, 1)?, day(&text)?), day_from(&row, 3)?);
            }
        }
        if !keys.members.is_empty() {
            let mut p = Vec::new();
            let mut c = Vec::new();
            let mut m = Vec::new();
            for key in &keys.members {
                p.push(key.0.as_str());
                c.push(key.1.as_str());
                m.push(key.2.as_str());
            }
            for row in client
                .query(
                    &format!(
                        "SELECT r.platform, r.chat, r.member, {} FROM rollup_members r
                         JOIN UNNEST($2::text[], $3::text[], $4::text[]) AS k(p, c, m) ON r.platform = k.p AND r.chat = k.c AND r.member = k.m
                         WHERE r.workspace = $1",
                        prefixed("r", MEMBER_COLUMNS)
                    ),
                    &[&workspace.0, &p, &c, &m],
                )
                .await
                .map_err(backend)?
            {
                out.members.insert((platform(&row, 0)?, get(&row, 1)?, get(&row, 2)?), facts_from(&row, 3)?);
            }
        }
        if !keys.member_days.is_empty() {
            let mut p = Vec::new();
            let mut c = Vec::new();
            let mut m = Vec::new();
            let mut d = Vec::new();
            for key in &keys.member_days {
                p.push(key.0.as_str());
                c.push(key.1.as_str());
                m.push(key.2.as_str());
                d.push(day_text(key.3));
            }
            for row in client
                .query(
                    "SELECT r.platform, r.chat, r.member, r.day, r.messages, r.checkins FROM rollup_member_days r
                     JOIN UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) AS k(p, c, m, d)
                       ON r.platform = k.p AND r.chat = k.c AND r.member = k.m AND r.day = k.d
                     WHERE r.workspace = $1",
                    &[&workspace.0, &p, &c, &m, &d],
                )
                .await
                .map_err(backend)?
            {
                let text: String = get(&row, 3)?;
                out.member_days.insert(
                    (platform(&row, 0)?, get(&row, 1)?, get(&row, 2)?, day(&text)?),
                    MemberDayFacts { messages: get(&row, 4)?, checkins: get(&row, 5)? },
                );
            }
        }
        Ok(out)
    }

    async fn apply_rollup(
        &self,
        workspace: WorkspaceId,
        rows: &RollupState,
        from_seq: i64,
        to_seq: i64,
    ) -> Result<bool> {
        let ws = workspace.0;
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "INSERT INTO rollup_watermarks (workspace, seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&ws],
        )
        .await
        .map_err(backend)?;
        let row = tx
            .query_one(
                "SELECT seq FROM rollup_watermarks WHERE workspace = $1 FOR UPDATE",
                &[&ws],
            )
            .await
            .map_err(backend)?;
        if get::<i64>(&row, 0)? != from_seq {
            return Ok(false);
        }
        tx.execute(
            "UPDATE rollup_watermarks SET seq = $2 WHERE workspace = $1",
            &[&ws, &to_seq],
        )
        .await
        .map_err(backend)?;

        let (p, c, n): (Vec<&str>, Vec<&str>, Vec<i64>) = rows
            .groups
            .iter()
            .map(|(k, members)| (k.0.as_str(), k.1.as_str(), *members))
            .fold((vec![], vec![], vec![]), |mut acc, (p, c, n)| {
                acc.0.push(p);
                acc.1.push(c);
                acc.2.push(n);
                acc
            });
        if !p.is_empty() {
            tx.execute(
                "INSERT INTO rollup_groups (workspace, platform, chat, members)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[])
                 ON CONFLICT (workspace, platform, chat) DO UPDATE SET members = EXCLUDED.members",
                &[&ws, &p, &c, &n],
            )
            .await
            .map_err(backend)?;
        }

        if !rows.days.is_empty() {
            let mut text: [Vec<String>; 4] = Default::default();
            let mut numbers: [Vec<i64>; 13] = Default::default();
            for (key, d) in &rows.days {
                text[0].push(key.0.as_str().to_string());
                text[1].push(key.1.clone());
                text[2].push(day_text(key.2));
                text[3].push(hours_text(&d.hours));
                let values = [
                    d.members_end,
                    d.joins_invited,
                    d.joins_link,
                    d.joins_knock,
                    d.joins_direct,
                    d.left,
                    d.removed,
                    d.speakers,
                    d.messages,
                    d.checkins,
                    d.invites,
                    d.orders,
                    d.revenue_cents,
                ];
                for (column, value) in numbers.iter_mut().zip(values) {
                    column.push(value);
                }
            }
            let [a, b, cc, dd, e, f, g, h, i, j, k, l, m] = &numbers;
            tx.execute(
                &format!(
                    "INSERT INTO rollup_days (workspace, platform, chat, day, {DAY_COLUMNS})
                     SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
                       $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
                       $16::bigint[], $17::bigint[], $18::text[])
                     ON CONFLICT (workspace, platform, chat, day) DO UPDATE SET {}",
                    excluded(DAY_COLUMNS)
                ),
                &[&ws, &text[0], &text[1], &text[2], a, b, cc, dd, e, f, g, h, i, j, k, l, m, &text[3]],
            )
            .await
            .map_err(backend)?;
        }

        if !rows.members.is_empty() {
            let mut p = Vec::new();
            let mut c = Vec::new();
            let mut who = Vec::new();
            let mut texts: [Vec<Option<String>>; 3] = Default::default();
            let mut times: [Vec<Option<i64>>; 4] = Default::default();
            let mut numbers: [Vec<i64>; 7] = Default::default();
            for (key, f) in &rows.members {
                p.push(key.0.as_str());
                c.push(key.1.as_str());
                who.push(key.2.as_str());
                texts[0].push(f.channel.map(|channel| channel.as_str().to_string()));
                texts[1].push(f.campaign.clone());
                texts[2].push(f.inviter.clone());
                for (column, value) in times.iter_mut().zip([
                    f.joined_at,
                    f.first_active_at,
                    f.last_active_at,
                    f.first_order_at,
                ]) {
                    column.push(value.map(micros));
                }
                let values = [
                    i64::from(f.present),
                    f.active_weeks as i64,
                    f.messages,
                    f.checkins,
                    f.orders,
                    f.spend_cents,
                    f.referrals_stayed,
                ];
                for (column, value) in numbers.iter_mut().zip(values) {
                    column.push(value);
                }
            }
            let [joined, first_active, last_active, first_order] = &times;
            let [present, weeks, messages, checkins, orders, spend, referrals] = &numbers;
            tx.execute(
                &format!(
                    "INSERT INTO rollup_members (workspace, platform, chat, member, {MEMBER_COLUMNS})
                     SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
                       $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
                       $16::bigint[], $17::bigint[], $18::bigint[])
                     ON CONFLICT (workspace, platform, chat, member) DO UPDATE SET {}",
                    excluded(MEMBER_COLUMNS)
                ),
                &[
                    &ws, &p, &c, &who, joined, &texts[0], &texts[1], &texts[2], present, first_active, last_active, weeks,
                    messages, checkins, orders, spend, first_order, referrals,
                ],
            )
            .await
            .map_err(backend)?;
        }

        if !rows.member_days.is_empty() {
            let mut p = Vec::new();
            let mut c = Vec::new();
            let mut who = Vec::new();
            let mut d = Vec::new();
            let mut messages = Vec::new();
            let mut checkins = Vec::new();
            for (key, f) in &rows.member_days {
                p.push(key.0.as_str());
                c.push(key.1.as_str());
                who.push(key.2.as_str());
                d.push(day_text(key.3));
                messages.push(f.messages);
                checkins.push(f.checkins);
            }
            tx.execute(
                "INSERT INTO rollup_member_days (workspace, platform, chat, member, day, messages, checkins)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
                 ON CONFLICT (workspace, platform, chat, day, member) DO UPDATE SET messages = EXCLUDED.messages, checkins = EXCLUDED.checkins",
                &[&ws, &p, &c, &who, &d, &messages, &checkins],
            )
            .await
            .map_err(backend)?;
        }
        crate::analytics_models::write_funnel(&tx, ws, &rows.funnel).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn rollup_days(
        &self,
        workspace: WorkspaceId,
        query: &RollupDayQuery,
    ) -> Result<Vec<RollupDay>> {
        let (gp, gc) = group_filter(&query.group);
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT platform, chat, day, {DAY_COLUMNS} FROM rollup_days
                     WHERE workspace = $1 AND day >= $2 AND day <= $3 AND ($4::text IS NULL OR (platform = $4 AND chat = $5))
                     ORDER BY platform, chat, day"
                ),
                &[&workspace.0, &day_text(query.from), &day_text(query.to), &gp, &gc],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let text: String = get(row, 2)?;
                Ok(RollupDay {
                    platform: platform(row, 0)?,
                    chat: get(row, 1)?,
                    day: day(&text)?,
                    counts: day_from(row, 3)?,
                    clicks: 0,
                })
            })
            .collect()
    }

    async fn member_facts(
        &self,
        workspace: WorkspaceId,
        query: &FactsQuery,
    ) -> Result<Vec<MemberFactsRow>> {
        let (gp, gc) = group_filter(&query.group);
        let since = query.joined_since.map_or(i64::MIN, micros);
        let until = query.joined_until.map_or(i64::MAX, micros);
        let channel = query.channel.map(|c| c.as_str().to_string());
        // One group is read by its primary key; a `$4 IS NULL OR` test would hide the key from
        // the planner of a cached generic plan.
        let group_test = if gp.is_some() {
            "platform = $4 AND chat = $5"
        } else {
            "$4::text IS NULL AND $5::text IS NULL"
        };
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT platform, chat, member, {MEMBER_COLUMNS} FROM rollup_members
                     WHERE workspace = $1 AND {group_test} AND joined_at IS NOT NULL AND joined_at >= $2 AND joined_at < $3
                       AND ($6::text IS NULL OR channel = $6)
                       AND ($7::text IS NULL OR campaign = $7)
                     ORDER BY platform, chat, member"
                ),
                &[&workspace.0, &since, &until, &gp, &gc, &channel, &query.campaign],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(MemberFactsRow {
                    platform: platform(row, 0)?,
                    chat: get(row, 1)?,
                    member: get(row, 2)?,
                    facts: facts_from(row, 3)?,
                })
            })
            .collect()
    }

    async fn facts_group_by_baseline(&self, workspace: WorkspaceId) -> Result<u64> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT platform, chat, count(*), sum(messages), sum(spend_cents) FROM rollup_members
                 WHERE workspace = $1 AND joined_at IS NOT NULL GROUP BY platform, chat",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        Ok(rows.len() as u64)
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
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT member, {column} FROM rollup_member_days
                     WHERE workspace = $1 AND platform = $2 AND chat = $3 AND day = $4 AND {column} > 0
                     ORDER BY {column} DESC, member LIMIT $5"
                ),
                &[&workspace.0, &group.0.as_str(), &group.1, &day_text(on), &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(DayLeader {
                    member: get(row, 0)?,
                    count: get(row, 1)?,
                })
            })
            .collect()
    }
}

fn prefixed(table: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|column| format!("{table}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn excluded(columns: &str) -> String {
    columns
        .split(", ")
        .map(|column| format!("{column} = EXCLUDED.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

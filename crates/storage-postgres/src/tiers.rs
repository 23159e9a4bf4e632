//! [`TierStore`] on PostgreSQL: the inputs read for a batch of members with one statement each
//! (UNNEST of the keys against migration 0025's member indexes), the rows and marks one
//! transaction under a lock on the marks row, the views paged reads of the rollup member rows.

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
use tokio_postgres::Row;

use crate::codec::{day, day_text, micros, opt_time, parsed, time};
use crate::{backend, get, PostgresStore};

fn platform(text: &str) -> Result<Platform> {
    parsed(Platform::parse(text))
}

const TIER_COLUMNS: &str =
    "platform, member, tier, spend_cents, points, active_days, checkins, review_at, computed_at";

fn tier_row(row: &Row) -> Result<MemberTierRow> {
    let text: String = get(row, 0)?;
    let tier: String = get(row, 2)?;
    let active_days: i64 = get(row, 5)?;
    Ok(MemberTierRow {
        platform: platform(&text)?,
        member: get(row, 1)?,
        tier: parsed(MemberTier::parse(&tier))?,
        inputs: TierInputs {
            spend_cents: get(row, 3)?,
            points: get(row, 4)?,
            active_days: u32::try_from(active_days).unwrap_or_default(),
            checkins: get(row, 6)?,
            first_active_day: None,
        },
        review_at: opt_time(get(row, 7)?),
        computed_at: time(get(row, 8)?),
    })
}

fn group_filter(group: &Option<(Platform, String)>) -> (Option<String>, Option<String>) {
    match group {
        Some((platform, chat)) => (Some(platform.as_str().to_string()), Some(chat.clone())),
        None => (None, None),
    }
}

fn keys(members: &[MemberKey]) -> (Vec<String>, Vec<String>) {
    members
        .iter()
        .map(|(platform, member)| (platform.as_str().to_string(), member.clone()))
        .unzip()
}

fn total(row: &Row) -> Result<usize> {
    let count: i64 = get(row, 0)?;
    Ok(usize::try_from(count).unwrap_or_default())
}

#[async_trait]
impl TierStore for PostgresStore {
    async fn tier_marks(&self, workspace: WorkspaceId) -> Result<TierMarks> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT events_seq, ledger_id FROM tier_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map_or(Ok(TierMarks::default()), |row| {
            Ok(TierMarks {
                events_seq: get(&row, 0)?,
                ledger_id: get(&row, 1)?,
            })
        })
    }

    async fn ledger_members_after(
        &self,
        workspace: WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<MemberKey>, Option<i64>)> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT id, from_account, to_account FROM ledger_entries
                 WHERE workspace = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&workspace.0, &after, &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        let (mut out, mut last) = (Vec::new(), None);
        for row in &rows {
            last = Some(get::<i64>(row, 0)?);
            for column in [1, 2] {
                let text: String = get(row, column)?;
                if let Ok(Account::Member { platform, user }) = Account::parse(&text) {
                    out.push((platform, user));
                }
            }
        }
        Ok((out, last))
    }

    async fn tiers_due(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<MemberKey>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT platform, member FROM member_tiers
                 WHERE workspace = $1 AND review_at IS NOT NULL AND review_at <= $2
                 ORDER BY review_at LIMIT $3",
                &[&workspace.0, &micros(now), &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let text: String = get(row, 0)?;
                Ok((platform(&text)?, get(row, 1)?))
            })
            .collect()
    }

    async fn tier_inputs(
        &self,
        workspace: WorkspaceId,
        members: &[MemberKey],
        since: NaiveDate,
    ) -> Result<BTreeMap<MemberKey, TierInputs>> {
        let mut out: BTreeMap<MemberKey, TierInputs> = members
            .iter()
            .map(|key| (key.clone(), TierInputs::default()))
            .collect();
        if members.is_empty() {
            return Ok(out);
        }
        let (platforms, users) = keys(members);
        let accounts: Vec<String> = members
            .iter()
            .map(|(platform, user)| Account::member(*platform, user.clone()).encode())
            .collect();
        let client = self.client().await;
        let spend = client
            .query(
                "SELECT r.platform, r.member, SUM(r.spend_cents)::bigint FROM rollup_members r
                 JOIN UNNEST($2::text[], $3::text[]) AS k(platform, member) ON r.platform = k.platform AND r.member = k.member
                 WHERE r.workspace = $1 GROUP BY r.platform, r.member",
                &[&workspace.0, &platforms, &users],
            )
            .await
            .map_err(backend)?;
        for row in &spend {
            let text: String = get(row, 0)?;
            if let Some(inputs) = out.get_mut(&(platform(&text)?, get(row, 1)?)) {
                inputs.spend_cents = get(row, 2)?;
            }
        }
        let active = client
            .query(
                "SELECT d.platform, d.member, COUNT(DISTINCT d.day), MIN(d.day), SUM(d.checkins)::bigint FROM rollup_member_days d
                 JOIN UNNEST($2::text[], $3::text[]) AS k(platform, member) ON d.platform = k.platform AND d.member = k.member
                 WHERE d.workspace = $1 AND d.day >= $4 GROUP BY d.platform, d.member",
                &[&workspace.0, &platforms, &users, &day_text(since)],
            )
            .await
            .map_err(backend)?;
        for row in &active {
            let text: String = get(row, 0)?;
            if let Some(inputs) = out.get_mut(&(platform(&text)?, get(row, 1)?)) {
                let days: i64 = get(row, 2)?;
                let first: Option<String> = get(row, 3)?;
                inputs.active_days = u32::try_from(days).unwrap_or_default();
                inputs.first_active_day = first.as_deref().map(day).transpose()?;
                inputs.checkins = get(row, 4)?;
            }
        }
        let balances = client
            .query(
                "SELECT account, balance FROM ledger_balances WHERE workspace = $1 AND account = ANY($2)",
                &[&workspace.0, &accounts],
            )
            .await
            .map_err(backend)?;
        for row in &balances {
            let text: String = get(row, 0)?;
            if let Ok(Account::Member { platform, user }) = Account::parse(&text) {
                if let Some(inputs) = out.get_mut(&(platform, user)) {
                    inputs.points = get(row, 1)?;
                }
            }
        }
        Ok(out)
    }

    async fn stored_tiers(
        &self,
        workspace: WorkspaceId,
        members: &[MemberKey],
    ) -> Result<BTreeMap<MemberKey, MemberTier>> {
        let (platforms, users) = keys(members);
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT t.platform, t.member, t.tier FROM member_tiers t
                 JOIN UNNEST($2::text[], $3::text[]) AS k(platform, member) ON t.platform = k.platform AND t.member = k.member
                 WHERE t.workspace = $1",
                &[&workspace.0, &platforms, &users],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let text: String = get(row, 0)?;
                let tier: String = get(row, 2)?;
                Ok((
                    (platform(&text)?, get(row, 1)?),
                    parsed(MemberTier::parse(&tier))?,
                ))
            })
            .collect()
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
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "INSERT INTO tier_watermarks (workspace, events_seq, ledger_id) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING",
            &[&ws],
        )
        .await
        .map_err(backend)?;
        let row = tx
            .query_one(
                "SELECT events_seq, ledger_id FROM tier_watermarks WHERE workspace = $1 FOR UPDATE",
                &[&ws],
            )
            .await
            .map_err(backend)?;
        let current = TierMarks {
            events_seq: get(&row, 0)?,
            ledger_id: get(&row, 1)?,
        };
        if current != from {
            return Ok(false);
        }
        tx.execute(
            "UPDATE tier_watermarks SET events_seq = $2, ledger_id = $3 WHERE workspace = $1",
            &[&ws, &to.events_seq, &to.ledger_id],
        )
        .await
        .map_err(backend)?;
        if !rows.is_empty() {
            let mut text: [Vec<String>; 3] = Default::default();
            let mut numbers: [Vec<i64>; 5] = Default::default();
            let mut review: Vec<Option<i64>> = Vec::new();
            for row in rows {
                text[0].push(row.platform.as_str().to_string());
                text[1].push(row.member.clone());
                text[2].push(row.tier.as_str().to_string());
                let i = &row.inputs;
                for (slot, value) in numbers.iter_mut().zip([
                    i.spend_cents,
                    i.points,
                    i64::from(i.active_days),
                    i.checkins,
                    micros(row.computed_at),
                ]) {
                    slot.push(value);
                }
                review.push(row.review_at.map(micros));
            }
            tx.execute(
                &format!(
                    "INSERT INTO member_tiers (workspace, {TIER_COLUMNS})
                     SELECT $1, p, m, t, s, pts, a, c, r, at FROM UNNEST($2::text[], $3::text[], $4::text[],
                         $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
                         AS u(p, m, t, s, pts, a, c, r, at)
                     ON CONFLICT (workspace, platform, member) DO UPDATE SET tier = EXCLUDED.tier,
                         spend_cents = EXCLUDED.spend_cents, points = EXCLUDED.points, active_days = EXCLUDED.active_days,
                         checkins = EXCLUDED.checkins, review_at = EXCLUDED.review_at, computed_at = EXCLUDED.computed_at"
                ),
                &[
                    &ws, &text[0], &text[1], &text[2], &numbers[0], &numbers[1], &numbers[2], &numbers[3],
                    &review, &numbers[4],
                ],
            )
            .await
            .map_err(backend)?;
        }
        let (mut cp, mut cm, mut ct) = (Vec::new(), Vec::new(), Vec::new());
        for key in changed {
            if let Some(row) = rows
                .iter()
                .find(|row| row.platform == key.0 && row.member == key.1)
            {
                cp.push(key.0.as_str().to_string());
                cm.push(key.1.clone());
                ct.push(row.tier.as_str().to_string());
            }
        }
        if !cp.is_empty() {
            tx.execute(
                "UPDATE members SET tier = u.t FROM UNNEST($2::text[], $3::text[], $4::text[]) AS u(p, m, t)
                 WHERE members.workspace = $1 AND members.platform = u.p AND members.user_id = u.m",
                &[&ws, &cp, &cm, &ct],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn member_tiers(
        &self,
        workspace: WorkspaceId,
        query: &TierQuery,
    ) -> Result<(usize, Vec<MemberTierRow>)> {
        let tier = query.tier.map(|tier| tier.as_str().to_string());
        let client = self.client().await;
        let count = client
            .query_one(
                "SELECT COUNT(*) FROM member_tiers WHERE workspace = $1 AND ($2::text IS NULL OR tier = $2)",
                &[&workspace.0, &tier],
            )
            .await
            .map_err(backend)?;
        let rows = client
            .query(
                &format!(
                    "SELECT {TIER_COLUMNS} FROM member_tiers WHERE workspace = $1 AND ($2::text IS NULL OR tier = $2)
                     ORDER BY spend_cents DESC, points DESC, platform, member LIMIT $3 OFFSET $4"
                ),
                &[&workspace.0, &tier, &(query.limit as i64), &(query.offset as i64)],
            )
            .await
            .map_err(backend)?;
        Ok((
            total(&count)?,
            rows.iter().map(tier_row).collect::<Result<_>>()?,
        ))
    }

    async fn kols(&self, workspace: WorkspaceId, query: &KolQuery) -> Result<(usize, Vec<KolRow>)> {
        let (gp, gc) = group_filter(&query.group);
        let min = query.min_referrals.max(1);
        let grouped = "SELECT platform, member, SUM(referrals_stayed)::bigint AS stayed, SUM(messages)::bigint AS said,
                 COUNT(*) AS n_groups FROM rollup_members
                 WHERE workspace = $1 AND ($2::text IS NULL OR (platform = $2 AND chat = $3))
                 GROUP BY platform, member HAVING SUM(referrals_stayed) >= $4::bigint";
        let client = self.client().await;
        let count = client
            .query_one(
                &format!("SELECT COUNT(*) FROM ({grouped}) AS k"),
                &[&workspace.0, &gp, &gc, &min],
            )
            .await
            .map_err(backend)?;
        let rows = client
            .query(
                &format!(
                    "{grouped} ORDER BY stayed DESC, said DESC, platform, member LIMIT $5 OFFSET $6"
                ),
                &[
                    &workspace.0,
                    &gp,
                    &gc,
                    &min,
                    &(query.limit as i64),
                    &(query.offset as i64),
                ],
            )
            .await
            .map_err(backend)?;
        let rows = rows
            .iter()
            .map(|row| {
                let text: String = get(row, 0)?;
                Ok(KolRow {
                    platform: platform(&text)?,
                    member: get(row, 1)?,
                    referrals_stayed: get(row, 2)?,
                    messages: get(row, 3)?,
                    groups: get(row, 4)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((total(&count)?, rows))
    }

    async fn lurkers(
        &self,
        workspace: WorkspaceId,
        query: &LurkerQuery,
    ) -> Result<(usize, Vec<LurkerRow>)> {
        let (gp, gc) = group_filter(&query.group);
        let before = micros(query.joined_before);
        let filter = "FROM rollup_members WHERE workspace = $1 AND present <> 0
                 AND (joined_at IS NULL OR joined_at < $2) AND messages <= $3
                 AND ($4::text IS NULL OR (platform = $4 AND chat = $5))";
        let client = self.client().await;
        let count = client
            .query_one(
                &format!("SELECT COUNT(*) {filter}"),
                &[&workspace.0, &before, &query.max_messages, &gp, &gc],
            )
            .await
            .map_err(backend)?;
        let rows = client
            .query(
                &format!(
                    "SELECT platform, chat, member, joined_at, messages, last_active_at {filter}
                     ORDER BY joined_at NULLS FIRST, platform, chat, member LIMIT $6 OFFSET $7"
                ),
                &[
                    &workspace.0,
                    &before,
                    &query.max_messages,
                    &gp,
                    &gc,
                    &(query.limit as i64),
                    &(query.offset as i64),
                ],
            )
            .await
            .map_err(backend)?;
        let rows = rows
            .iter()
            .map(|row| {
                let text: String = get(row, 0)?;
                Ok(LurkerRow {
                    platform: platform(&text)?,
                    chat: get(row, 1)?,
                    member: get(row, 2)?,
                    joined_at: opt_time(get(row, 3)?),
                    messages: get(row, 4)?,
                    last_active_at: opt_time(get(row, 5)?),
                })
            })
            .collect::<Result<_>>()?;
        Ok((total(&count)?, rows))
    }
}

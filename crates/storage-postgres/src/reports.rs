//! The console's report queries on PostgreSQL, each served by an index of migration 0005.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{ActionRecord, GroupId, MemberId, Platform, WorkspaceId};
use qunzhu_storage::{
    ActionQuery, AuditEntry, AuditQuery, DaySpan, GroupDayReport, MemberPage, MemberPageQuery,
    MemberRow, MemberSort, MemberSummary, ReportStore, Result, SpeakerCounts, StoredEvent,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::codec::{day, day_text, micros, opt_time};
use crate::outbox::{action_from_row, ACTION_COLUMNS};
use crate::queries::{member_from_row, stored_events};
use crate::{backend, get, PostgresStore};

type Param = Box<dyn ToSql + Sync + Send>;

fn refs(values: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|value| value.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn slot(
    out: &mut BTreeMap<(GroupId, NaiveDate), GroupDayReport>,
    group_id: GroupId,
    day: NaiveDate,
) -> &mut GroupDayReport {
    out.entry((group_id, day))
        .or_insert(GroupDayReport::empty(group_id, day))
}

fn count(row: &Row, index: usize) -> Result<u64> {
    Ok(get::<i64>(row, index)?.max(0) as u64)
}

/// The days as three parallel arrays for `unnest`, the PostgreSQL form of a VALUES list.
const SPANS: &str =
    "WITH spans AS (SELECT * FROM unnest($4::text[], $5::bigint[], $6::bigint[]) AS t(day, s, e))";

async fn group_day_report(
    client: &Client,
    workspace: WorkspaceId,
    days: &[DaySpan],
) -> Result<Vec<GroupDayReport>> {
    let (Some(first), Some(last)) = (
        days.iter().map(|s| s.day).min(),
        days.iter().map(|s| s.day).max(),
    ) else {
        return Ok(Vec::new());
    };
    let start = micros(days.iter().map(|s| s.start).min().unwrap_or_default());
    let end = micros(days.iter().map(|s| s.end).max().unwrap_or_default());
    let mut ids: HashMap<(String, String), GroupId> = HashMap::new();
    let mut ids_by_chat: HashMap<String, GroupId> = HashMap::new();
    for row in client
        .query(
            "SELECT id, platform, chat FROM groups WHERE workspace = $1",
            &[&workspace.0],
        )
        .await
        .map_err(backend)?
    {
        let id = GroupId(get(&row, 0)?);
        let chat: String = get(&row, 2)?;
        ids_by_chat.insert(chat.clone(), id);
        ids.insert((get(&row, 1)?, chat), id);
    }
    let wanted: std::collections::HashSet<NaiveDate> = days.iter().map(|s| s.day).collect();
    let mut out: BTreeMap<(GroupId, NaiveDate), GroupDayReport> = BTreeMap::new();
    let (from, to) = (day_text(first), day_text(last));
    // The leaves told apart by how, as ingest counted them.
    for row in client
        .query(
            "SELECT platform, chat, day, joins, messages, speakers, leaves, removed FROM group_days
             WHERE workspace = $1 AND day >= $2 AND day <= $3",
            &[&workspace.0, &from, &to],
        )
        .await
        .map_err(backend)?
    {
        let on = day(&get::<String>(&row, 2)?)?;
        let key = (get::<String>(&row, 0)?, get::<String>(&row, 1)?);
        let (Some(id), true) = (ids.get(&key), wanted.contains(&on)) else {
            continue;
        };
        let r = slot(&mut out, *id, on);
        r.joins = count(&row, 3)?;
        r.messages = count(&row, 4)?;
        r.speakers = count(&row, 5)?;
        r.removed = count(&row, 7)?;
        r.left = count(&row, 6)?.saturating_sub(r.removed);
    }
    let span_days: Vec<String> = days.iter().map(|s| day_text(s.day)).collect();
    let span_starts: Vec<i64> = days.iter().map(|s| micros(s.start)).collect();
    let span_ends: Vec<i64> = days.iter().map(|s| micros(s.end)).collect();
    let params: [&(dyn ToSql + Sync); 6] = [
        &workspace.0,
        &start,
        &end,
        &span_days,
        &span_starts,
        &span_ends,
    ];
    for row in client
        .query(
            &format!(
                "{SPANS} SELECT a.platform, a.chat, spans.day, count(*) FROM actions a JOIN spans ON a.created_at >= spans.s AND a.created_at < spans.e
                 WHERE a.workspace = $1 AND a.origin = 'checkin' AND a.kind = 'grant_reward' AND a.created_at >= $2 AND a.created_at < $3
                 GROUP BY a.platform, a.chat, spans.day"
            ),
            &params,
        )
        .await
        .map_err(backend)?
    {
        let on = day(&get::<String>(&row, 2)?)?;
        let key = (get::<String>(&row, 0)?, get::<String>(&row, 1)?);
        if let Some(id) = ids.get(&key) {
            slot(&mut out, *id, on).checkins = count(&row, 3)?;
        }
    }
    for row in client
        .query(
            &format!(
                "{SPANS} SELECT l.chat, spans.day, count(*) FROM link_clicks c JOIN links l ON l.code = c.code
                 JOIN spans ON c.at >= spans.s AND c.at < spans.e
                 WHERE l.workspace = $1 AND c.at >= $2 AND c.at < $3 GROUP BY l.chat, spans.day"
            ),
            &params,
        )
        .await
        .map_err(backend)?
    {
        let on = day(&get::<String>(&row, 1)?)?;
        if let Some(id) = ids_by_chat.get(&get::<String>(&row, 0)?) {
            slot(&mut out, *id, on).link_clicks = count(&row, 2)?;
        }
    }
    Ok(out.into_values().collect())
}

/// A member-days (or memberships) row `d` of someone who never posted as a bot: one key probe
/// of the bot_members read model.
const BOT_FREE: &str = "NOT EXISTS (SELECT 1 FROM bot_members b WHERE b.workspace = d.workspace AND b.platform = d.platform
    AND b.member = d.member)";

async fn silent_per_group(
    client: &Client,
    workspace: WorkspaceId,
    since: DateTime<Utc>,
) -> Result<BTreeMap<GroupId, u64>> {
    let mut per_group = BTreeMap::new();
    for row in client
        .query(
            &format!(
                "SELECT g.id, count(*) FROM memberships d
             JOIN groups g ON g.workspace = d.workspace AND g.platform = d.platform AND g.chat = d.chat
             JOIN (SELECT platform, member, max(last_spoke_at) AS spoke FROM memberships WHERE workspace = $1
                   GROUP BY platform, member) m ON m.platform = d.platform AND m.member = d.member
             WHERE d.workspace = $1 AND d.present = 1 AND (m.spoke IS NULL OR m.spoke < $2) AND {BOT_FREE}
             GROUP BY g.id"
            ),
            &[&workspace.0, &micros(since)],
        )
        .await
        .map_err(backend)?
    {
        per_group.insert(GroupId(get(&row, 0)?), u64::try_from(get::<i64>(&row, 1)?).unwrap_or(0));
    }
    Ok(per_group)
}

async fn distinct_speakers(
    client: &Client,
    workspace: WorkspaceId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<SpeakerCounts> {
    let (from, to) = (day_text(from), day_text(to));
    let total: i64 = get(
        &client
            .query_one(
                &format!(
                    "SELECT count(*) FROM (SELECT DISTINCT platform, member FROM member_days d
                 WHERE workspace = $1 AND day >= $2 AND day <= $3 AND {BOT_FREE}) m"
                ),
                &[&workspace.0, &from, &to],
            )
            .await
            .map_err(backend)?,
        0,
    )?;
    let mut per_group = BTreeMap::new();
    for row in client
        .query(
            &format!("SELECT g.id, count(DISTINCT d.member) FROM member_days d
             JOIN groups g ON g.workspace = d.workspace AND g.platform = d.platform AND g.chat = d.chat
             WHERE d.workspace = $1 AND d.day >= $2 AND d.day <= $3 AND {BOT_FREE} GROUP BY g.id"),
            &[&workspace.0, &from, &to],
        )
        .await
        .map_err(backend)?
    {
        per_group.insert(GroupId(get(&row, 0)?), count(&row, 1)?);
    }
    Ok(SpeakerCounts {
        total: total.max(0) as u64,
        per_group,
    })
}

const BOT_POST: &str = "EXISTS (SELECT 1 FROM bot_members b WHERE b.workspace = mb.workspace AND b.platform = mb.platform
    AND b.member = mb.user_id)";

/// Per group id, its distinct speakers (never a bot) since each local day of `since`, summed
/// from the speaker days ingest keeps (a group's members by the day they last spoke).
async fn speakers_since(
    client: &Client,
    workspace: WorkspaceId,
    since: &[NaiveDate],
) -> Result<BTreeMap<GroupId, Vec<u64>>> {
    let Some(earliest) = since.iter().min() else {
        return Ok(BTreeMap::new());
    };
    let sums: Vec<String> = (0..since.len())
        .map(|n| {
            format!(
                "COALESCE(sum(d.speakers) FILTER (WHERE d.day >= ${}), 0)::bigint",
                n + 3
            )
        })
        .collect();
    let sql = format!(
        "SELECT g.id, {} FROM speaker_days d
         JOIN groups g ON g.workspace = d.workspace AND g.platform = d.platform AND g.chat = d.chat
         WHERE d.workspace = $1 AND d.day >= $2 GROUP BY g.id",
        sums.join(", ")
    );
    let bounds: Vec<String> = std::iter::once(*earliest)
        .chain(since.iter().copied())
        .map(day_text)
        .collect();
    let mut values: Vec<&(dyn ToSql + Sync)> = vec![&workspace.0];
    values.extend(bounds.iter().map(|day| day as &(dyn ToSql + Sync)));
    let mut per_group = BTreeMap::new();
    for row in client.query(&sql, &values).await.map_err(backend)? {
        let counts = (0..since.len())
            .map(|n| count(&row, n + 1))
            .collect::<Result<Vec<u64>>>()?;
        if counts.iter().any(|n| *n > 0) {
            per_group.insert(GroupId(get(&row, 0)?), counts);
        }
    }
    Ok(per_group)
}

fn member_filter(workspace: WorkspaceId, query: &MemberPageQuery) -> (String, Vec<Param>) {
    let mut sql = String::from(
        "FROM members mb LEFT JOIN memberships ms
           ON ms.workspace = mb.workspace AND ms.platform = mb.platform AND ms.member = mb.user_id
         WHERE mb.workspace = $1",
    );
    let mut values: Vec<Param> = vec![Box::new(workspace.0)];
    let mut bind = |sql: &mut String, clause: &str, value: Param| {
        values.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(text) = query.text.as_ref().filter(|text| !text.is_empty()) {
        bind(
            &mut sql,
            " AND (mb.display_name LIKE ? OR mb.user_id LIKE ?)",
            Box::new(format!("%{text}%")),
        );
    }
    if let Some(tag) = query.tag.as_ref().filter(|tag| !tag.is_empty()) {
        bind(
            &mut sql,
            " AND jsonb_exists(mb.tags::jsonb, ?)",
            Box::new(tag.clone()),
        );
    }
    if let Some(tier) = query.tier {
        bind(
            &mut sql,
            " AND mb.tier = ?",
            Box::new(tier.as_str().to_string()),
        );
    }
    if let Some(role) = query.role {
        bind(
            &mut sql,
            " AND mb.role = ?",
            Box::new(role.as_str().to_string()),
        );
    }
    if let Some(group_id) = query.group_id {
        bind(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM memberships gm JOIN groups g ON g.workspace = gm.workspace AND g.platform = gm.platform AND g.chat = gm.chat
               WHERE gm.workspace = mb.workspace AND gm.platform = mb.platform AND gm.member = mb.user_id AND gm.present = 1 AND g.id = ?)",
            Box::new(group_id.0),
        );
    }
    if !query.include_bots {
        sql.push_str(&format!(" AND NOT {BOT_POST}"));
    }
    sql.push_str(" GROUP BY mb.workspace, mb.platform, mb.user_id HAVING true");
    if !query.include_gone {
        sql.push_str(" AND COALESCE(sum(ms.present), 0) > 0");
    }
    if let Some(since) = query.active_since {
        bind(
            &mut sql,
            " AND max(ms.last_spoke_at) >= ?",
            Box::new(micros(since)),
        );
    }
    if let Some(since) = query.silent_since {
        bind(
            &mut sql,
            " AND (max(ms.last_spoke_at) IS NULL OR max(ms.last_spoke_at) < ?)",
            Box::new(micros(since)),
        );
    }
    (sql, values)
}

async fn member_page(
    client: &Client,
    workspace: WorkspaceId,
    query: &MemberPageQuery,
) -> Result<MemberPage> {
    let (filter, mut values) = member_filter(workspace, query);
    let total: i64 = get(
        &client
            .query_one(
                &format!("SELECT count(*) FROM (SELECT 1 {filter}) m"),
                &refs(&values),
            )
            .await
            .map_err(backend)?,
        0,
    )?;
    let order = match query.sort {
        MemberSort::LastSpoke => "max(ms.last_spoke_at) DESC NULLS LAST",
        MemberSort::Messages => "sum(ms.messages) DESC NULLS LAST",
        MemberSort::Checkins => "checkins DESC",
        MemberSort::Clicks => "clicks DESC",
        MemberSort::Joined => "min(ms.joined_at) DESC NULLS LAST",
    };
    values.push(Box::new(query.limit.clamp(1, 1000) as i64));
    values.push(Box::new(query.offset as i64));
    let n = values.len();
    let sql = format!(
        "SELECT mb.workspace, mb.platform, mb.user_id, mb.display_name, mb.role, mb.tier, mb.tags,
                count(ms.chat), COALESCE(sum(ms.messages), 0)::bigint, max(ms.last_spoke_at), min(ms.joined_at),
                COALESCE(sum(ms.present), 0)::bigint,
                (SELECT count(*) FROM actions a WHERE a.workspace = mb.workspace AND a.platform = mb.platform
                   AND (a.payload::jsonb ->> 'member') = mb.user_id AND a.origin = 'checkin' AND a.kind = 'grant_reward') AS checkins,
                (SELECT count(*) FROM links l JOIN link_clicks c ON c.code = l.code
                   WHERE l.workspace = mb.workspace AND l.member = mb.user_id) AS clicks,
                {BOT_POST}
         {filter} ORDER BY {order}, mb.user_id LIMIT ${} OFFSET ${n}",
        n - 1
    );
    let rows = client.query(&sql, &refs(&values)).await.map_err(backend)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(MemberRow {
            summary: MemberSummary {
                member: member_from_row(row)?,
                groups: count(row, 7)?,
                messages: count(row, 8)?,
                last_spoke_at: opt_time(get(row, 9)?),
                joined_at: opt_time(get(row, 10)?),
            },
            present_in: count(row, 11)?,
            checkins: count(row, 12)?,
            clicks: count(row, 13)?,
            bot: get(row, 14)?,
        });
    }
    Ok(MemberPage {
        total: total.max(0) as u64,
        rows: out,
    })
}

async fn query_actions(
    client: &Client,
    workspace: WorkspaceId,
    query: &ActionQuery,
) -> Result<Vec<ActionRecord>> {
    let mut sql = format!("SELECT {ACTION_COLUMNS} FROM actions WHERE workspace = $1");
    let mut values: Vec<Param> = vec![Box::new(workspace.0)];
    let mut any_of = |sql: &mut String, column: &str, items: Vec<String>, prefix: bool| {
        if items.is_empty() {
            return;
        }
        let mut parts = Vec::new();
        for item in items {
            values.push(Box::new(item));
            let at = values.len();
            parts.push(if prefix {
                format!("starts_with({column}, ${at})")
            } else {
                format!("{column} = ${at}")
            });
        }
        sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
    };
    any_of(
        &mut sql,
        "chat",
        query.chat.iter().cloned().collect(),
        false,
    );
    any_of(&mut sql, "kind", query.kinds.clone(), false);
    any_of(&mut sql, "origin", query.origins.clone(), true);
    any_of(
        &mut sql,
        "status",
        query
            .statuses
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        false,
    );
    if let Some(since) = query.since {
        values.push(Box::new(micros(since)));
        sql.push_str(&format!(" AND created_at >= ${}", values.len()));
    }
    if let Some(until) = query.until {
        values.push(Box::new(micros(until)));
        sql.push_str(&format!(" AND created_at < ${}", values.len()));
    }
    if let Some(due_since) = query.due_since {
        values.push(Box::new(micros(due_since)));
        sql.push_str(&format!(" AND not_before >= ${}", values.len()));
    }
    if let Some(due_until) = query.due_until {
        values.push(Box::new(micros(due_until)));
        sql.push_str(&format!(" AND not_before < ${}", values.len()));
    }
    values.push(Box::new(query.limit.clamp(1, 10_000) as i64));
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT ${}",
        values.len()
    ));
    let rows = client.query(&sql, &refs(&values)).await.map_err(backend)?;
    rows.iter().map(action_from_row).collect()
}

async fn audit_entries(
    client: &Client,
    workspace: WorkspaceId,
    query: &AuditQuery,
) -> Result<Vec<AuditEntry>> {
    let mut sql = String::from(
        "SELECT id, workspace, at, actor, action, subject, detail FROM audit WHERE workspace = $1",
    );
    let mut values: Vec<Param> = vec![Box::new(workspace.0)];
    let mut bind = |sql: &mut String, clause: &str, value: Param| {
        values.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(action) = query.action.as_ref().filter(|a| !a.is_empty()) {
        bind(
            &mut sql,
            " AND starts_with(action, ?)",
            Box::new(action.clone()),
        );
    }
    if let Some(actor) = query.actor.as_ref().filter(|a| !a.is_empty()) {
        bind(&mut sql, " AND actor = ?", Box::new(actor.clone()));
    }
    if let Some(since) = query.since {
        bind(&mut sql, " AND at >= ?", Box::new(micros(since)));
    }
    if let Some(until) = query.until {
        bind(&mut sql, " AND at < ?", Box::new(micros(until)));
    }
    if let Some(before) = query.before {
        bind(&mut sql, " AND id < ?", Box::new(before));
    }
    bind(
        &mut sql,
        " ORDER BY id DESC LIMIT ?",
        Box::new(query.limit.clamp(1, 10_000) as i64),
    );
    let rows = client.query(&sql, &refs(&values)).await.map_err(backend)?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                id: get(row, 0)?,
                workspace: WorkspaceId(get(row, 1)?),
                at: crate::codec::time(get(row, 2)?),
                actor: get(row, 3)?,
                action: get(row, 4)?,
                subject: get(row, 5)?,
                detail: crate::codec::from_json(&get::<String>(row, 6)?)?,
            })
        })
        .collect()
}

#[async_trait]
impl ReportStore for PostgresStore {
    async fn audit_entries(
        &self,
        workspace: WorkspaceId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>> {
        let client = self.client().await;
        audit_entries(&client, workspace, query).await
    }

    async fn group_day_report(
        &self,
        workspace: WorkspaceId,
        days: &[DaySpan],
    ) -> Result<Vec<GroupDayReport>> {
        let client = self.client().await;
        group_day_report(&client, workspace, days).await
    }

    async fn silent_per_group(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<BTreeMap<GroupId, u64>> {
        let client = self.client().await;
        silent_per_group(&client, workspace, since).await
    }

    async fn speakers_since(
        &self,
        workspace: WorkspaceId,
        since: &[NaiveDate],
    ) -> Result<BTreeMap<GroupId, Vec<u64>>> {
        let client = self.client().await;
        speakers_since(&client, workspace, since).await
    }

    async fn distinct_speakers(
        &self,
        workspace: WorkspaceId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<SpeakerCounts> {
        let client = self.client().await;
        distinct_speakers(&client, workspace, from, to).await
    }

    async fn member_events(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let client = self.client().await;
        stored_events(
            &*client,
            "SELECT workspace, platform, key, chat, at, day, payload, seq FROM events
             WHERE workspace = $1 AND platform = $2 AND member = $3 ORDER BY seq DESC LIMIT $4",
            &[
                &workspace.0,
                &platform.as_str(),
                &user.as_str(),
                &(limit as i64),
            ],
        )
        .await
    }

    async fn member_page(
        &self,
        workspace: WorkspaceId,
        query: &MemberPageQuery,
    ) -> Result<MemberPage> {
        let client = self.client().await;
        member_page(&client, workspace, query).await
    }

    async fn query_actions(
        &self,
        workspace: WorkspaceId,
        query: &ActionQuery,
    ) -> Result<Vec<ActionRecord>> {
        let client = self.client().await;
        query_actions(&client, workspace, query).await
    }
}

//! The console's report queries on SQLite, each served by an index of migration 0005.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{ActionRecord, GroupId, MemberId, Platform, WorkspaceId};
use qunzhu_storage::{
    ActionQuery, AuditEntry, AuditQuery, DaySpan, GroupDayReport, MemberPage, MemberPageQuery,
    MemberRow, MemberSort, MemberSummary, ReportStore, Result, SpeakerCounts, StoredEvent,
};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use crate::codec::{day, day_text, micros, opt_time};
use crate::outbox::{action_from_row, ACTION_COLUMNS};
use crate::queries::{member_from_row, stored_events};
use crate::{backend, SqliteStore};

/// `WITH spans(day, s, e) AS (VALUES …)` for the given days, binding from parameter `first`.
fn spans_cte(days: &[DaySpan], first: usize, values: &mut Vec<Value>) -> String {
    let mut rows = Vec::with_capacity(days.len());
    for (index, span) in days.iter().enumerate() {
        let at = first + index * 3;
        rows.push(format!("(?{at}, ?{}, ?{})", at + 1, at + 2));
        values.push(day_text(span.day).into());
        values.push(micros(span.start).into());
        values.push(micros(span.end).into());
    }
    format!("WITH spans(day, s, e) AS (VALUES {})", rows.join(", "))
}

fn slot(
    out: &mut BTreeMap<(GroupId, NaiveDate), GroupDayReport>,
    group_id: GroupId,
    day: NaiveDate,
) -> &mut GroupDayReport {
    out.entry((group_id, day))
        .or_insert(GroupDayReport::empty(group_id, day))
}

fn count(row: &rusqlite::Row<'_>, index: usize) -> Result<u64> {
    Ok(row.get::<_, i64>(index).map_err(backend)?.max(0) as u64)
}

/// Group ids by `(platform, chat)`.
type GroupIds = HashMap<(String, String), GroupId>;

/// Groups of the workspace by `(platform, chat)`, and by chat alone for links (which carry no platform).
fn group_ids(
    conn: &Connection,
    workspace: WorkspaceId,
) -> Result<(GroupIds, HashMap<String, GroupId>)> {
    let mut statement = conn
        .prepare_cached("SELECT id, platform, chat FROM groups WHERE workspace = ?1")
        .map_err(backend)?;
    let mut rows = statement.query(params![workspace.0]).map_err(backend)?;
    let (mut both, mut by_chat) = (HashMap::new(), HashMap::new());
    while let Some(row) = rows.next().map_err(backend)? {
        let id = GroupId(row.get(0).map_err(backend)?);
        let platform: String = row.get(1).map_err(backend)?;
        let chat: String = row.get(2).map_err(backend)?;
        by_chat.insert(chat.clone(), id);
        both.insert((platform, chat), id);
    }
    Ok((both, by_chat))
}

fn group_day_report(
    conn: &Connection,
    workspace: WorkspaceId,
    days: &[DaySpan],
) -> Result<Vec<GroupDayReport>> {
    let (Some(first), Some(last)) = (
        days.iter().map(|s| s.day).min(),
        days.iter().map(|s| s.day).max(),
    ) else {
        return Ok(Vec::new());
    };
    let (start, end) = (
        days.iter().map(|s| s.start).min().unwrap_or_default(),
        days.iter().map(|s| s.end).max().unwrap_or_default(),
    );
    let (ids, ids_by_chat) = group_ids(conn, workspace)?;
    let mut out: BTreeMap<(GroupId, NaiveDate), GroupDayReport> = BTreeMap::new();
    let wanted: std::collections::HashSet<NaiveDate> = days.iter().map(|s| s.day).collect();

    // Derived daily counts, the leaves told apart by how as ingest counted them.
    let mut statement = conn
        .prepare_cached(
            "SELECT platform, chat, day, joins, messages, speakers, leaves, removed FROM group_days
             WHERE workspace = ?1 AND day >= ?2 AND day <= ?3",
        )
        .map_err(backend)?;
    let mut rows = statement
        .query(params![workspace.0, day_text(first), day_text(last)])
        .map_err(backend)?;
    while let Some(row) = rows.next().map_err(backend)? {
        let key: (String, String) = (row.get(0).map_err(backend)?, row.get(1).map_err(backend)?);
        let on = day(&row.get::<_, String>(2).map_err(backend)?)?;
        let (Some(id), true) = (ids.get(&key), wanted.contains(&on)) else {
            continue;
        };
        let r = slot(&mut out, *id, on);
        r.joins = count(row, 3)?;
        r.messages = count(row, 4)?;
        r.speakers = count(row, 5)?;
        r.removed = count(row, 7)?;
        r.left = count(row, 6)?.saturating_sub(r.removed);
    }
    drop(rows);

    // Check-ins are the ledger actions the check-in decider writes (actions_by_origin_time).
    let mut values: Vec<Value> = vec![workspace.0.into(), micros(start).into(), micros(end).into()];
    let cte = spans_cte(days, 4, &mut values);
    let sql = format!(
        "{cte} SELECT a.platform, a.chat, spans.day, count(*) FROM actions a JOIN spans ON a.created_at >= spans.s AND a.created_at < spans.e
         WHERE a.workspace = ?1 AND a.origin = 'checkin' AND a.kind = 'grant_reward' AND a.created_at >= ?2 AND a.created_at < ?3
         GROUP BY a.platform, a.chat, spans.day"
    );
    let mut statement = conn.prepare(&sql).map_err(backend)?;
    let mut rows = statement
        .query(params_from_iter(values.iter()))
        .map_err(backend)?;
    while let Some(row) = rows.next().map_err(backend)? {
        let key: (String, String) = (row.get(0).map_err(backend)?, row.get(1).map_err(backend)?);
        let on = day(&row.get::<_, String>(2).map_err(backend)?)?;
        if let Some(id) = ids.get(&key) {
            slot(&mut out, *id, on).checkins = count(row, 3)?;
        }
    }
    drop(rows);
    drop(statement);

    // Link clicks (link_clicks_by_time), attributed to the group the link was posted in.
    let sql = format!(
        "{cte} SELECT l.chat, spans.day, count(*) FROM link_clicks c JOIN links l ON l.code = c.code
         JOIN spans ON c.at >= spans.s AND c.at < spans.e
         WHERE l.workspace = ?1 AND c.at >= ?2 AND c.at < ?3 GROUP BY l.chat, spans.day"
    );
    let mut statement = conn.prepare(&sql).map_err(backend)?;
    let mut rows = statement
        .query(params_from_iter(values.iter()))
        .map_err(backend)?;
    while let Some(row) = rows.next().map_err(backend)? {
        let chat: String = row.get(0).map_err(backend)?;
        let on = day(&row.get::<_, String>(1).map_err(backend)?)?;
        if let Some(id) = ids_by_chat.get(&chat) {
            slot(&mut out, *id, on).link_clicks = count(row, 2)?;
        }
    }
    Ok(out.into_values().collect())
}

/// A member-days (or memberships) row `d` of someone who never posted as a bot: one key probe
/// of the bot_members read model.
const BOT_FREE: &str = "NOT EXISTS (SELECT 1 FROM bot_members b WHERE b.workspace = d.workspace AND b.platform = d.platform
               AND b.member = d.member)";

fn silent_per_group(
    conn: &Connection,
    workspace: WorkspaceId,
    since: DateTime<Utc>,
) -> Result<BTreeMap<GroupId, u64>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT g.id, count(*) FROM memberships d
             JOIN groups g ON g.workspace = d.workspace AND g.platform = d.platform AND g.chat = d.chat
             JOIN (SELECT platform, member, max(last_spoke_at) AS spoke FROM memberships WHERE workspace = ?1
                   GROUP BY platform, member) m ON m.platform = d.platform AND m.member = d.member
             WHERE d.workspace = ?1 AND d.present = 1 AND (m.spoke IS NULL OR m.spoke < ?2) AND {BOT_FREE}
             GROUP BY g.id"
        ))
        .map_err(backend)?;
    let mut rows = statement
        .query(params![workspace.0, micros(since)])
        .map_err(backend)?;
    let mut per_group = BTreeMap::new();
    while let Some(row) = rows.next().map_err(backend)? {
        per_group.insert(GroupId(row.get(0).map_err(backend)?), count(row, 1)?);
    }
    Ok(per_group)
}

fn distinct_speakers(
    conn: &Connection,
    workspace: WorkspaceId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<SpeakerCounts> {
    let range = params![workspace.0, day_text(from), day_text(to)];
    let total = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM (SELECT DISTINCT platform, member FROM member_days d
             WHERE workspace = ?1 AND day >= ?2 AND day <= ?3 AND {BOT_FREE})"
            ),
            range,
            |row| row.get::<_, i64>(0),
        )
        .map_err(backend)?;
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT g.id, count(DISTINCT d.member) FROM member_days d
             JOIN groups g ON g.workspace = d.workspace AND g.platform = d.platform AND g.chat = d.chat
             WHERE d.workspace = ?1 AND d.day >= ?2 AND d.day <= ?3 AND {BOT_FREE} GROUP BY g.id"
        ))
        .map_err(backend)?;
    let mut rows = statement.query(range).map_err(backend)?;
    let mut per_group = BTreeMap::new();
    while let Some(row) = rows.next().map_err(backend)? {
        per_group.insert(GroupId(row.get(0).map_err(backend)?), count(row, 1)?);
    }
    Ok(SpeakerCounts {
        total: total.max(0) as u64,
        per_group,
    })
}

/// Per group id, its distinct speakers (never a bot) since each local day of `since`, summed
/// from the speaker days ingest keeps (a group's members by the day they last spoke): a few
/// rows per group and day of the window, however many members and however long the log.
fn speakers_since(
    conn: &Connection,
    workspace: WorkspaceId,
    since: &[NaiveDate],
) -> Result<BTreeMap<GroupId, Vec<u64>>> {
    let Some(earliest) = since.iter().min() else {
        return Ok(BTreeMap::new());
    };
    let sums: Vec<String> = (0..since.len())
        .map(|n| format!("sum(CASE WHEN day >= ?{} THEN speakers ELSE 0 END)", n + 3))
        .collect();
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT platform, chat, {} FROM speaker_days
             WHERE workspace = ?1 AND day >= ?2 GROUP BY platform, chat",
            sums.join(", ")
        ))
        .map_err(backend)?;
    let mut values: Vec<Value> = vec![workspace.0.into(), day_text(*earliest).into()];
    values.extend(since.iter().map(|day| Value::from(day_text(*day))));
    let mut rows = statement
        .query(params_from_iter(values.iter()))
        .map_err(backend)?;
    let (ids, _) = group_ids(conn, workspace)?;
    let mut per_group = BTreeMap::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let key: (String, String) = (row.get(0).map_err(backend)?, row.get(1).map_err(backend)?);
        let counts = (0..since.len())
            .map(|n| count(row, n + 2))
            .collect::<Result<Vec<u64>>>()?;
        if let (Some(id), true) = (ids.get(&key), counts.iter().any(|n| *n > 0)) {
            per_group.insert(*id, counts);
        }
    }
    Ok(per_group)
}

/// The `FROM … WHERE … GROUP BY … HAVING …` of the member list, with its parameters.
fn member_filter(workspace: WorkspaceId, query: &MemberPageQuery) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "FROM members mb LEFT JOIN memberships ms
           ON ms.workspace = mb.workspace AND ms.platform = mb.platform AND ms.member = mb.user
         WHERE mb.workspace = ?1",
    );
    let mut values: Vec<Value> = vec![workspace.0.into()];
    let mut bind = |sql: &mut String, clause: &str, value: Value| {
        values.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
    };
    if let Some(text) = query.text.as_ref().filter(|text| !text.is_empty()) {
        bind(
            &mut sql,
            " AND (mb.display_name LIKE ? OR mb.user LIKE ?)",
            format!("%{text}%").into(),
        );
    }
    if let Some(tag) = query.tag.as_ref().filter(|tag| !tag.is_empty()) {
        bind(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM json_each(mb.tags) WHERE json_each.value = ?)",
            tag.clone().into(),
        );
    }
    if let Some(tier) = query.tier {
        bind(
            &mut sql,
            " AND mb.tier = ?",
            tier.as_str().to_string().into(),
        );
    }
    if let Some(role) = query.role {
        bind(
            &mut sql,
            " AND mb.role = ?",
            role.as_str().to_string().into(),
        );
    }
    if let Some(group_id) = query.group_id {
        bind(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM memberships gm JOIN groups g ON g.workspace = gm.workspace AND g.platform = gm.platform AND g.chat = gm.chat
               WHERE gm.workspace = mb.workspace AND gm.platform = mb.platform AND gm.member = mb.user AND gm.present = 1 AND g.id = ?)",
            group_id.0.into(),
        );
    }
    if !query.include_bots {
        // bot_members: one key probe per member.
        sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM bot_members b WHERE b.workspace = mb.workspace AND b.platform = mb.platform
               AND b.member = mb.user)",
        );
    }
    sql.push_str(" GROUP BY mb.workspace, mb.platform, mb.user HAVING 1 = 1");
    if !query.include_gone {
        sql.push_str(" AND COALESCE(sum(ms.present), 0) > 0");
    }
    if let Some(since) = query.active_since {
        bind(
            &mut sql,
            " AND max(ms.last_spoke_at) >= ?",
            micros(since).into(),
        );
    }
    if let Some(since) = query.silent_since {
        bind(
            &mut sql,
            " AND (max(ms.last_spoke_at) IS NULL OR max(ms.last_spoke_at) < ?)",
            micros(since).into(),
        );
    }
    (sql, values)
}

fn member_page(
    conn: &Connection,
    workspace: WorkspaceId,
    query: &MemberPageQuery,
) -> Result<MemberPage> {
    let (filter, mut values) = member_filter(workspace, query);
    let total: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM (SELECT 1 {filter})"),
            params_from_iter(values.iter()),
            |row| row.get(0),
        )
        .map_err(backend)?;
    let order = match query.sort {
        MemberSort::LastSpoke => "max(ms.last_spoke_at) DESC NULLS LAST",
        MemberSort::Messages => "sum(ms.messages) DESC NULLS LAST",
        MemberSort::Checkins => "checkins DESC",
        MemberSort::Clicks => "clicks DESC",
        MemberSort::Joined => "min(ms.joined_at) DESC NULLS LAST",
    };
    values.push((query.limit.clamp(1, 1000) as i64).into());
    values.push((query.offset as i64).into());
    let n = values.len();
    let sql = format!(
        "SELECT mb.workspace, mb.platform, mb.user, mb.display_name, mb.role, mb.tier, mb.tags,
                count(ms.chat), COALESCE(sum(ms.messages), 0), max(ms.last_spoke_at), min(ms.joined_at),
                COALESCE(sum(ms.present), 0),
                (SELECT count(*) FROM actions a WHERE a.workspace = mb.workspace AND a.platform = mb.platform
                   AND json_extract(a.payload, '$.member') = mb.user AND a.origin = 'checkin' AND a.kind = 'grant_reward') AS checkins,
                (SELECT count(*) FROM links l JOIN link_clicks c ON c.code = l.code
                   WHERE l.workspace = mb.workspace AND l.member = mb.user) AS clicks,
                EXISTS (SELECT 1 FROM bot_members b WHERE b.workspace = mb.workspace AND b.platform = mb.platform
                   AND b.member = mb.user)
         {filter} ORDER BY {order}, mb.user LIMIT ?{} OFFSET ?{n}",
        n - 1
    );
    let mut statement = conn.prepare(&sql).map_err(backend)?;
    let mut rows = statement
        .query(params_from_iter(values.iter()))
        .map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(MemberRow {
            summary: MemberSummary {
                member: member_from_row(row)?,
                groups: count(row, 7)?,
                messages: count(row, 8)?,
                last_spoke_at: opt_time(row.get(9).map_err(backend)?),
                joined_at: opt_time(row.get(10).map_err(backend)?),
            },
            present_in: count(row, 11)?,
            checkins: count(row, 12)?,
            clicks: count(row, 13)?,
            bot: row.get(14).map_err(backend)?,
        });
    }
    Ok(MemberPage {
        total: total.max(0) as u64,
        rows: out,
    })
}

fn query_actions(
    conn: &Connection,
    workspace: WorkspaceId,
    query: &ActionQuery,
) -> Result<Vec<ActionRecord>> {
    let mut sql = format!("SELECT {ACTION_COLUMNS} FROM actions WHERE workspace = ?1");
    let mut values: Vec<Value> = vec![workspace.0.into()];
    let mut any_of = |sql: &mut String, column: &str, items: Vec<String>, prefix: bool| {
        if items.is_empty() {
            return;
        }
        let mut parts = Vec::new();
        for item in items {
            values.push(item.into());
            let at = values.len();
            parts.push(if prefix {
                format!("substr({column}, 1, length(?{at})) = ?{at}")
            } else {
                format!("{column} = ?{at}")
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
        values.push(micros(since).into());
        sql.push_str(&format!(" AND created_at >= ?{}", values.len()));
    }
    if let Some(until) = query.until {
        values.push(micros(until).into());
        sql.push_str(&format!(" AND created_at < ?{}", values.len()));
    }
    if let Some(due_since) = query.due_since {
        values.push(micros(due_since).into());
        sql.push_str(&format!(" AND not_before >= ?{}", values.len()));
    }
    if let Some(due_until) = query.due_until {
        values.push(micros(due_until).into());
        sql.push_str(&format!(" AND not_before < ?{}", values.len()));
    }
    values.push((query.limit.clamp(1, 10_000) as i64).into());
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT ?{}",
        values.len()
    ));
    let mut statement = conn.prepare(&sql).map_err(backend)?;
    let mut rows = statement
        .query(params_from_iter(values.iter()))
        .map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(action_from_row(row)?);
    }
    Ok(out)
}

fn audit_entries(
    conn: &Connection,
    workspace: WorkspaceId,
    query: &AuditQuery,
) -> Result<Vec<AuditEntry>> {
    let mut sql = String::from(
        "SELECT id, workspace, at, actor, action, subject, detail FROM audit WHERE workspace = ?1",
    );
    let mut values: Vec<Value> = vec![workspace.0.into()];
    let mut bind = |sql: &mut String, clause: &str, value: Value| {
        values.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
    };
    if let Some(action) = query.action.as_ref().filter(|a| !a.is_empty()) {
        bind(
            &mut sql,
            " AND substr(action, 1, length(?)) = ?",
            action.clone().into(),
        );
    }
    if let Some(actor) = query.actor.as_ref().filter(|a| !a.is_empty()) {
        bind(&mut sql, " AND actor = ?", actor.clone().into());
    }
    if let Some(since) = query.since {
        bind(&mut sql, " AND at >= ?", micros(since).into());
    }
    if let Some(until) = query.until {
        bind(&mut sql, " AND at < ?", micros(until).into());
    }
    if let Some(before) = query.before {
        bind(&mut sql, " AND id < ?", before.into());
    }
    bind(
        &mut sql,
        " ORDER BY id DESC LIMIT ?",
        (query.limit.clamp(1, 10_000) as i64).into(),
    );
    let mut statement = conn.prepare(&sql).map_err(backend)?;
    let mut rows = statement
        .query(params_from_iter(values.iter()))
        .map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let detail: String = row.get(6).map_err(backend)?;
        out.push(AuditEntry {
            id: row.get(0).map_err(backend)?,
            workspace: WorkspaceId(row.get(1).map_err(backend)?),
            at: crate::codec::time(row.get(2).map_err(backend)?),
            actor: row.get(3).map_err(backend)?,
            action: row.get(4).map_err(backend)?,
            subject: row.get(5).map_err(backend)?,
            detail: crate::codec::from_json(&detail)?,
        });
    }
    Ok(out)
}

#[async_trait]
impl ReportStore for SqliteStore {
    async fn audit_entries(
        &self,
        workspace: WorkspaceId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>> {
        self.read(|conn| audit_entries(conn, workspace, query))
    }

    async fn group_day_report(
        &self,
        workspace: WorkspaceId,
        days: &[DaySpan],
    ) -> Result<Vec<GroupDayReport>> {
        self.read(|conn| group_day_report(conn, workspace, days))
    }

    async fn silent_per_group(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<BTreeMap<GroupId, u64>> {
        self.read(|conn| silent_per_group(conn, workspace, since))
    }

    async fn speakers_since(
        &self,
        workspace: WorkspaceId,
        since: &[NaiveDate],
    ) -> Result<BTreeMap<GroupId, Vec<u64>>> {
        self.read(|conn| speakers_since(conn, workspace, since))
    }

    async fn distinct_speakers(
        &self,
        workspace: WorkspaceId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<SpeakerCounts> {
        self.read(|conn| distinct_speakers(conn, workspace, from, to))
    }

    async fn member_events(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        self.read(|conn| {
            stored_events(
                conn,
                "SELECT workspace, platform, key, chat, at, day, payload, seq FROM events
                 WHERE workspace = ?1 AND platform = ?2 AND member = ?3 ORDER BY seq DESC LIMIT ?4",
                params![workspace.0, platform.as_str(), user.as_str(), limit as i64],
            )
        })
    }

    async fn member_page(
        &self,
        workspace: WorkspaceId,
        query: &MemberPageQuery,
    ) -> Result<MemberPage> {
        self.read(|conn| member_page(conn, workspace, query))
    }

    async fn query_actions(
        &self,
        workspace: WorkspaceId,
        query: &ActionQuery,
    ) -> Result<Vec<ActionRecord>> {
        self.read(|conn| query_actions(conn, workspace, query))
    }
}

//! Reads: the log, derived state, groups, members and daily statistics.

use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{
    DerivedState, Event, Group, GroupDay, GroupId, GroupStatus, GroupType, Member, MemberDay,
    MemberId, MemberRole, MemberTier, Membership, Platform, WorkspaceId,
};
use qunzhu_storage::{
    GroupDayRow, GroupSummary, GroupUpdate, MemberQuery, MemberSummary, MemberUpdate, Result,
    StoreError, StoredEvent,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::codec::{day, day_text, from_json, json, micros, opt_time, parsed, time};
use crate::{backend, SqliteStore};

/// Rebuilds an event from `workspace, platform, key, chat, at, day, payload` columns.
pub(crate) fn event_from_row(row: &Row<'_>) -> Result<Event> {
    let platform: String = row.get(1).map_err(backend)?;
    let payload: String = row.get(6).map_err(backend)?;
    Ok(Event {
        workspace: WorkspaceId(row.get(0).map_err(backend)?),
        platform: parsed(Platform::parse(&platform))?,
        key: row.get(2).map_err(backend)?,
        chat: row.get(3).map_err(backend)?,
        at: time(row.get(4).map_err(backend)?),
        kind: from_json(&payload)?,
    })
}

pub(crate) fn stored_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredEvent>> {
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let day_text: String = row.get(5).map_err(backend)?;
        out.push(StoredEvent {
            seq: row.get(7).map_err(backend)?,
            event: event_from_row(row)?,
            day: day(&day_text)?,
        });
    }
    Ok(out)
}

const EVENT_COLUMNS: &str = "workspace, platform, key, chat, at, day, payload, seq";

fn group_from_row(row: &Row<'_>) -> Result<Group> {
    let get_text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(Group {
        id: GroupId(row.get(0).map_err(backend)?),
        workspace: WorkspaceId(row.get(1).map_err(backend)?),
        platform: parsed(Platform::parse(&get_text(2)?))?,
        chat: get_text(3)?,
        name: get_text(4)?,
        group_type: parsed(GroupType::parse(&get_text(5)?))?,
        status: parsed(GroupStatus::parse(&get_text(6)?))?,
        capacity: row.get(7).map_err(backend)?,
        tags: from_json(&get_text(8)?)?,
        positioning: from_json(&get_text(9)?)?,
    })
}

const GROUP_COLUMNS: &str = "g.id, g.workspace, g.platform, g.chat, g.name, g.group_type, g.status, g.capacity, g.tags, g.positioning";

pub(crate) fn member_from_row(row: &Row<'_>) -> Result<Member> {
    let get_text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(Member {
        workspace: WorkspaceId(row.get(0).map_err(backend)?),
        platform: parsed(Platform::parse(&get_text(1)?))?,
        user: MemberId(get_text(2)?),
        display_name: get_text(3)?,
        role: parsed(MemberRole::parse(&get_text(4)?))?,
        tier: parsed(MemberTier::parse(&get_text(5)?))?,
        tags: from_json(&get_text(6)?)?,
    })
}

fn group_by_id(conn: &Connection, workspace: WorkspaceId, group_id: GroupId) -> Result<Group> {
    conn.query_row(
        &format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.workspace = ?1 AND g.id = ?2"),
        params![workspace.0, group_id.0],
        |row| Ok(group_from_row(row)),
    )
    .optional()
    .map_err(backend)?
    .unwrap_or(Err(StoreError::NotFound {
        object: "group",
        id: group_id.to_string(),
    }))
}

fn member_by_id(
    conn: &Connection,
    workspace: WorkspaceId,
    platform: Platform,
    user: &MemberId,
) -> Result<Member> {
    conn.query_row(
        "SELECT workspace, platform, user, display_name, role, tier, tags FROM members WHERE workspace = ?1 AND platform = ?2 AND user = ?3",
        params![workspace.0, platform.as_str(), user.as_str()],
        |row| Ok(member_from_row(row)),
    )
    .optional()
    .map_err(backend)?
    .unwrap_or(Err(StoreError::NotFound { object: "member", id: user.to_string() }))
}

impl SqliteStore {
    pub(crate) fn read_events(
        &self,
        workspace: WorkspaceId,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        self.read(|conn| {
            stored_events(
                conn,
                &format!("SELECT {EVENT_COLUMNS} FROM events WHERE workspace = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
                params![workspace.0, after_seq, limit as i64],
            )
        })
    }

    pub(crate) fn read_events_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        self.read(|conn| {
            stored_events(
                conn,
                // Past the limit the newest are kept: the oldest are the ones a reader can spare.
                &format!("SELECT * FROM (SELECT {EVENT_COLUMNS} FROM events WHERE workspace = ?1 AND at >= ?2 ORDER BY seq DESC LIMIT ?3) ORDER BY seq"),
                params![workspace.0, micros(since), limit as i64],
            )
        })
    }

    pub(crate) fn read_recent_events(
        &self,
        workspace: WorkspaceId,
        chat: &str,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        self.read(|conn| {
            stored_events(
                conn,
                &format!("SELECT {EVENT_COLUMNS} FROM events WHERE workspace = ?1 AND chat = ?2 ORDER BY seq DESC LIMIT ?3"),
                params![workspace.0, chat, limit as i64],
            )
        })
    }

    pub(crate) fn read_pending_join_requests(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<StoredEvent>> {
        self.read(|conn| {
            stored_events(
                conn,
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE workspace = ?1 AND (workspace, platform, key) IN
                 (SELECT workspace, platform, event_key FROM pending_join_requests WHERE workspace = ?1)
                 ORDER BY seq"
                ),
                params![workspace.0],
            )
        })
    }

    pub(crate) fn read_derived(&self) -> Result<DerivedState> {
        self.read(|conn| {
            let mut state = DerivedState::default();
            let mut statement = conn
                .prepare("SELECT workspace, platform, chat, member, display_name, present, joined_at, left_at, last_spoke_at, messages FROM memberships")
                .map_err(backend)?;
            let mut rows = statement.query([]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let platform: String = row.get(1).map_err(backend)?;
                let key = (WorkspaceId(row.get(0).map_err(backend)?), parsed(Platform::parse(&platform))?, row.get(2).map_err(backend)?, row.get(3).map_err(backend)?);
                let membership = Membership {
                    display_name: row.get(4).map_err(backend)?,
                    present: row.get::<_, i64>(5).map_err(backend)? == 1,
                    joined_at: opt_time(row.get(6).map_err(backend)?),
                    left_at: opt_time(row.get(7).map_err(backend)?),
                    last_spoke_at: opt_time(row.get(8).map_err(backend)?),
                    messages: row.get::<_, i64>(9).map_err(backend)? as u64,
                };
                state.memberships.insert(key, membership);
            }
            let mut statement = conn.prepare("SELECT workspace, platform, chat, member, day, messages FROM member_days").map_err(backend)?;
            let mut rows = statement.query([]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let platform: String = row.get(1).map_err(backend)?;
                let key = (WorkspaceId(row.get(0).map_err(backend)?), parsed(Platform::parse(&platform))?, row.get(2).map_err(backend)?, row.get(3).map_err(backend)?);
                let day_text: String = row.get(4).map_err(backend)?;
                state.member_days.insert((key, day(&day_text)?), MemberDay { messages: row.get::<_, i64>(5).map_err(backend)? as u64 });
            }
            let mut statement =
                conn.prepare("SELECT workspace, platform, chat, day, joins, leaves, messages, speakers, removed FROM group_days").map_err(backend)?;
            let mut rows = statement.query([]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let platform: String = row.get(1).map_err(backend)?;
                let key = (WorkspaceId(row.get(0).map_err(backend)?), parsed(Platform::parse(&platform))?, row.get(2).map_err(backend)?);
                let day_text: String = row.get(3).map_err(backend)?;
                let count = |index: usize| -> Result<u64> { Ok(row.get::<_, i64>(index).map_err(backend)? as u64) };
                let counts = GroupDay { joins: count(4)?, leaves: count(5)?, messages: count(6)?, speakers: count(7)?, removed: count(8)? };
                state.group_days.insert((key, day(&day_text)?), counts);
            }
            Ok(state)
        })
    }

    pub(crate) fn read_groups(&self, workspace: WorkspaceId) -> Result<Vec<GroupSummary>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare(&format!(
                    // One row per group, whatever the length of the log: the present members
                    // as memberships' triggers keep them, the last event's time as ingest keeps
                    // it (both 0034).
                    "SELECT {GROUP_COLUMNS},
                        g.members_present,
                        g.last_event_at
                     FROM groups g WHERE g.workspace = ?1 ORDER BY g.id"
                ))
                .map_err(backend)?;
            let mut rows = statement.query([workspace.0]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(GroupSummary {
                    group: group_from_row(row)?,
                    members_present: row.get::<_, i64>(10).map_err(backend)? as u64,
                    last_event_at: opt_time(row.get(11).map_err(backend)?),
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn read_group(&self, workspace: WorkspaceId, group_id: GroupId) -> Result<Group> {
        self.read(|conn| group_by_id(conn, workspace, group_id))
    }

    pub(crate) fn write_ensure_group(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Group> {
        self.run(|conn| {
            conn.execute("INSERT OR IGNORE INTO groups (workspace, platform, chat, name) VALUES (?1, ?2, ?3, ?3)", params![workspace.0, platform.as_str(), chat])
                .map_err(backend)?;
            let id: i64 = conn
                .query_row("SELECT id FROM groups WHERE workspace = ?1 AND platform = ?2 AND chat = ?3", params![workspace.0, platform.as_str(), chat], |row| row.get(0))
                .map_err(backend)?;
            group_by_id(conn, workspace, GroupId(id))
        })
    }

    pub(crate) fn write_update_group(
        &self,
        workspace: WorkspaceId,
        group_id: GroupId,
        update: GroupUpdate,
    ) -> Result<Group> {
        self.run(|conn| {
            let mut group = group_by_id(conn, workspace, group_id)?;
        update.apply_to(&mut group);
            conn.execute(
                "UPDATE groups SET name = ?3, group_type = ?4, status = ?5, capacity = ?6, tags = ?7, positioning = ?8 WHERE workspace = ?1 AND id = ?2",
                params![
                    workspace.0,
                    group_id.0,
                    group.name,
                    group.group_type.as_str(),
                    group.status.as_str(),
                    group.capacity,
                    json(&group.tags)?,
                    json(&group.positioning)?
                ],
            )
            .map_err(backend)?;
            Ok(group)
        })
    }

    pub(crate) fn read_members(
        &self,
        workspace: WorkspaceId,
        query: &MemberQuery,
    ) -> Result<Vec<MemberSummary>> {
        self.read(|conn| {
            let mut sql = String::from(
                "SELECT mb.workspace, mb.platform, mb.user, mb.display_name, mb.role, mb.tier, mb.tags,
                        count(ms.chat), COALESCE(sum(ms.messages), 0), max(ms.last_spoke_at), min(ms.joined_at)
                 FROM members mb LEFT JOIN memberships ms
                   ON ms.workspace = mb.workspace AND ms.platform = mb.platform AND ms.member = mb.user
                 WHERE mb.workspace = ?1",
            );
            let mut values: Vec<rusqlite::types::Value> = vec![workspace.0.into()];
            let mut bind = |sql: &mut String, clause: &str, value: rusqlite::types::Value| {
                values.push(value);
                sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
            };
            if let Some(text) = query.text.as_ref().filter(|text| !text.is_empty()) {
                bind(&mut sql, " AND (mb.display_name LIKE ? OR mb.user LIKE ?)", format!("%{text}%").into());
            }
            if let Some(tag) = &query.tag {
                bind(&mut sql, " AND EXISTS (SELECT 1 FROM json_each(mb.tags) WHERE json_each.value = ?)", tag.clone().into());
            }
            if let Some(tier) = query.tier {
                bind(&mut sql, " AND mb.tier = ?", tier.as_str().to_string().into());
            }
            if let Some(role) = query.role {
                bind(&mut sql, " AND mb.role = ?", role.as_str().to_string().into());
            }
            if let Some(group_id) = query.group_id {
                bind(
                    &mut sql,
                    " AND EXISTS (SELECT 1 FROM memberships gm JOIN groups g ON g.workspace = gm.workspace AND g.platform = gm.platform AND g.chat = gm.chat
                       WHERE gm.workspace = mb.workspace AND gm.platform = mb.platform AND gm.member = mb.user AND gm.present = 1 AND g.id = ?)",
                    group_id.0.into(),
                );
            }
            sql.push_str(" GROUP BY mb.workspace, mb.platform, mb.user HAVING 1 = 1");
            if let Some(since) = query.active_since {
                bind(&mut sql, " AND max(ms.last_spoke_at) >= ?", micros(since).into());
            }
            if let Some(since) = query.silent_since {
                bind(&mut sql, " AND (max(ms.last_spoke_at) IS NULL OR max(ms.last_spoke_at) < ?)", micros(since).into());
            }
            bind(&mut sql, " ORDER BY max(ms.last_spoke_at) DESC, mb.user LIMIT ?", (query.limit.unwrap_or(200) as i64).into());
            let mut statement = conn.prepare(&sql).map_err(backend)?;
            let mut rows = statement.query(rusqlite::params_from_iter(values)).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(MemberSummary {
                    member: member_from_row(row)?,
                    groups: row.get::<_, i64>(7).map_err(backend)? as u64,
                    messages: row.get::<_, i64>(8).map_err(backend)? as u64,
                    last_spoke_at: opt_time(row.get(9).map_err(backend)?),
                    joined_at: opt_time(row.get(10).map_err(backend)?),
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn read_member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
    ) -> Result<Member> {
        self.read(|conn| member_by_id(conn, workspace, platform, user))
    }

    pub(crate) fn write_update_member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
        update: MemberUpdate,
    ) -> Result<Member> {
        self.run(|conn| {
            let mut member = member_by_id(conn, workspace, platform, user)?;
        update.apply_to(&mut member);
            conn.execute(
                "UPDATE members SET role = ?4, tier = ?5, tags = ?6 WHERE workspace = ?1 AND platform = ?2 AND user = ?3",
                params![workspace.0, platform.as_str(), user.as_str(), member.role.as_str(), member.tier.as_str(), json(&member.tags)?],
            )
            .map_err(backend)?;
            Ok(member)
        })
    }

    pub(crate) fn read_group_days(
        &self,
        workspace: WorkspaceId,
        group_id: Option<GroupId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<GroupDayRow>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT g.id, d.day, d.joins, d.leaves, d.messages, d.speakers, d.removed FROM group_days d
                     JOIN groups g ON g.workspace = d.workspace AND g.platform = d.platform AND g.chat = d.chat
                     WHERE d.workspace = ?1 AND d.day >= ?2 AND d.day <= ?3 AND (?4 IS NULL OR g.id = ?4)
                     ORDER BY d.day, g.id",
                )
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, day_text(from), day_text(to), group_id.map(|id| id.0)]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let day_value: String = row.get(1).map_err(backend)?;
                let count = |index: usize| -> Result<u64> { Ok(row.get::<_, i64>(index).map_err(backend)? as u64) };
                out.push(GroupDayRow {
                    group_id: GroupId(row.get(0).map_err(backend)?),
                    day: day(&day_value)?,
                    counts: GroupDay { joins: count(2)?, leaves: count(3)?, messages: count(4)?, speakers: count(5)?, removed: count(6)? },
                });
            }
            Ok(out)
        })
    }
}

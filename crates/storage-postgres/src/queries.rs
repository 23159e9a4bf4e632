//! Reads on PostgreSQL: the log, derived state, groups, members and daily statistics.

use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{
    DerivedState, Event, Group, GroupDay, GroupId, GroupStatus, GroupType, Member, MemberDay,
    MemberId, MemberRole, MemberTier, Membership, Platform, WorkspaceId,
};
use qunzhu_storage::{
    GroupDayRow, GroupSummary, GroupUpdate, MemberQuery, MemberSummary, MemberUpdate, Result,
    StoreError, StoredEvent,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use crate::codec::{day, day_text, from_json, json, micros, opt_time, parsed, time};
use crate::{backend, get, PostgresStore};

/// Rebuilds an event from `workspace, platform, key, chat, at, day, payload` columns.
pub(crate) fn event_from_row(row: &Row) -> Result<Event> {
    Ok(Event {
        workspace: WorkspaceId(get(row, 0)?),
        platform: parsed(Platform::parse(&get::<String>(row, 1)?))?,
        key: get(row, 2)?,
        chat: get(row, 3)?,
        at: time(get(row, 4)?),
        kind: from_json(&get::<String>(row, 6)?)?,
    })
}

const EVENT_COLUMNS: &str = "workspace, platform, key, chat, at, day, payload, seq";
const GROUP_COLUMNS: &str = "g.id, g.workspace, g.platform, g.chat, g.name, g.group_type, g.status, g.capacity, g.tags, g.positioning";
const MEMBER_COLUMNS: &str = "workspace, platform, user_id, display_name, role, tier, tags";

fn group_from_row(row: &Row) -> Result<Group> {
    Ok(Group {
        id: GroupId(get(row, 0)?),
        workspace: WorkspaceId(get(row, 1)?),
        platform: parsed(Platform::parse(&get::<String>(row, 2)?))?,
        chat: get(row, 3)?,
        name: get(row, 4)?,
        group_type: parsed(GroupType::parse(&get::<String>(row, 5)?))?,
        status: parsed(GroupStatus::parse(&get::<String>(row, 6)?))?,
        capacity: get::<i64>(row, 7)?.try_into().unwrap_or(u32::MAX),
        tags: from_json(&get::<String>(row, 8)?)?,
        positioning: from_json(&get::<String>(row, 9)?)?,
    })
}

pub(crate) fn member_from_row(row: &Row) -> Result<Member> {
    Ok(Member {
        workspace: WorkspaceId(get(row, 0)?),
        platform: parsed(Platform::parse(&get::<String>(row, 1)?))?,
        user: MemberId(get(row, 2)?),
        display_name: get(row, 3)?,
        role: parsed(MemberRole::parse(&get::<String>(row, 4)?))?,
        tier: parsed(MemberTier::parse(&get::<String>(row, 5)?))?,
        tags: from_json(&get::<String>(row, 6)?)?,
    })
}

pub(crate) async fn stored_events(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<StoredEvent>> {
    let rows = client.query(sql, params).await.map_err(backend)?;
    rows.iter()
        .map(|row| {
            Ok(StoredEvent {
                seq: get(row, 7)?,
                event: event_from_row(row)?,
                day: day(&get::<String>(row, 5)?)?,
            })
        })
        .collect()
}

async fn group_by_id(
    client: &impl GenericClient,
    workspace: WorkspaceId,
    group_id: GroupId,
) -> Result<Group> {
    let row = client
        .query_opt(
            &format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.workspace = $1 AND g.id = $2"),
            &[&workspace.0, &group_id.0],
        )
        .await
        .map_err(backend)?;
    group_from_row(&row.ok_or(StoreError::NotFound {
        object: "group",
        id: group_id.to_string(),
    })?)
}

async fn member_by_id(
    client: &impl GenericClient,
    workspace: WorkspaceId,
    platform: Platform,
    user: &MemberId,
) -> Result<Member> {
    let row = client
        .query_opt(
            &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE workspace = $1 AND platform = $2 AND user_id = $3"),
            &[&workspace.0, &platform.as_str(), &user.as_str()],
        )
        .await
        .map_err(backend)?;
    member_from_row(&row.ok_or(StoreError::NotFound {
        object: "member",
        id: user.to_string(),
    })?)
}

impl PostgresStore {
    pub(crate) async fn read_events(
        &self,
        workspace: WorkspaceId,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let client = self.client().await;
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE workspace = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        stored_events(&*client, &sql, &[&workspace.0, &after_seq, &(limit as i64)]).await
    }

    pub(crate) async fn read_events_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let client = self.client().await;
        // Past the limit the newest are kept: the oldest are the ones a reader can spare.
        let sql = format!("SELECT * FROM (SELECT {EVENT_COLUMNS} FROM events WHERE workspace = $1 AND at >= $2 ORDER BY seq DESC LIMIT $3) newest ORDER BY seq");
        stored_events(
            &*client,
            &sql,
            &[&workspace.0, &micros(since), &(limit as i64)],
        )
        .await
    }

    pub(crate) async fn read_recent_events(
        &self,
        workspace: WorkspaceId,
        chat: &str,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let client = self.client().await;
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE workspace = $1 AND chat = $2 ORDER BY seq DESC LIMIT $3");
        stored_events(&*client, &sql, &[&workspace.0, &chat, &(limit as i64)]).await
    }

    pub(crate) async fn read_pending_join_requests(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<StoredEvent>> {
        let client = self.client().await;
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE workspace = $1 AND (workspace, platform, key) IN
                 (SELECT workspace, platform, event_key FROM pending_join_requests WHERE workspace = $1)
                 ORDER BY seq"
        );
        stored_events(&*client, &sql, &[&workspace.0]).await
    }

    pub(crate) async fn read_derived(&self) -> Result<DerivedState> {
        let client = self.client().await;
        let mut state = DerivedState::default();
        let member_key = |row: &Row| -> Result<_> {
            Ok((
                WorkspaceId(get(row, 0)?),
                parsed(Platform::parse(&get::<String>(row, 1)?))?,
                get::<String>(row, 2)?,
                get::<String>(row, 3)?,
            ))
        };
        for row in client
            .query("SELECT workspace, platform, chat, member, display_name, present, joined_at, left_at, last_spoke_at, messages FROM memberships", &[])
            .await
            .map_err(backend)?
        {
            let membership = Membership {
                display_name: get(&row, 4)?,
                present: get::<i64>(&row, 5)? == 1,
                joined_at: opt_time(get(&row, 6)?),
                left_at: opt_time(get(&row, 7)?),
                last_spoke_at: opt_time(get(&row, 8)?),
                messages: get::<i64>(&row, 9)? as u64,
            };
            state.memberships.insert(member_key(&row)?, membership);
        }
        for row in client
            .query(
                "SELECT workspace, platform, chat, member, day, messages FROM member_days",
                &[],
            )
            .await
            .map_err(backend)?
        {
            let key = (member_key(&row)?, day(&get::<String>(&row, 4)?)?);
            state.member_days.insert(
                key,
                MemberDay {
                    messages: get::<i64>(&row, 5)? as u64,
                },
            );
        }
        for row in client
            .query("SELECT workspace, platform, chat, day, joins, leaves, messages, speakers, removed FROM group_days", &[])
            .await
            .map_err(backend)?
        {
            let chat = (WorkspaceId(get(&row, 0)?), parsed(Platform::parse(&get::<String>(&row, 1)?))?, get::<String>(&row, 2)?);
            let count = |index: usize| -> Result<u64> { Ok(get::<i64>(&row, index)? as u64) };
            let counts = GroupDay { joins: count(4)?, leaves: count(5)?, messages: count(6)?, speakers: count(7)?, removed: count(8)? };
            state.group_days.insert((chat, day(&get::<String>(&row, 3)?)?), counts);
        }
        Ok(state)
    }

    pub(crate) async fn read_groups(&self, workspace: WorkspaceId) -> Result<Vec<GroupSummary>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {GROUP_COLUMNS},
                        g.members_present,
                        g.last_event_at
                     FROM groups g WHERE g.workspace = $1 ORDER BY g.id"
                ),
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(GroupSummary {
                    group: group_from_row(row)?,
                    members_present: get::<i64>(row, 10)? as u64,
                    last_event_at: opt_time(get(row, 11)?),
                })
            })
            .collect()
    }

    pub(crate) async fn read_group(
        &self,
        workspace: WorkspaceId,
        group_id: GroupId,
    ) -> Result<Group> {
        group_by_id(&*self.client().await, workspace, group_id).await
    }

    pub(crate) async fn write_ensure_group(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Group> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO groups (workspace, platform, chat, name) VALUES ($1, $2, $3, $3) ON CONFLICT (workspace, platform, chat) DO NOTHING",
                &[&workspace.0, &platform.as_str(), &chat],
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_one(
                "SELECT id FROM groups WHERE workspace = $1 AND platform = $2 AND chat = $3",
                &[&workspace.0, &platform.as_str(), &chat],
            )
            .await
            .map_err(backend)?;
        group_by_id(&*client, workspace, GroupId(get(&row, 0)?)).await
    }

    pub(crate) async fn write_update_group(
        &self,
        workspace: WorkspaceId,
        group_id: GroupId,
        update: GroupUpdate,
    ) -> Result<Group> {
        let client = self.client().await;
        let mut group = group_by_id(&*client, workspace, group_id).await?;
        update.apply_to(&mut group);
        client
            .execute(
                "UPDATE groups SET name = $3, group_type = $4, status = $5, capacity = $6, tags = $7, positioning = $8 WHERE workspace = $1 AND id = $2",
                &[
                    &workspace.0,
                    &group_id.0,
                    &group.name,
                    &group.group_type.as_str(),
                    &group.status.as_str(),
                    &i64::from(group.capacity),
                    &json(&group.tags)?,
                    &json(&group.positioning)?,
                ],
            )
            .await
            .map_err(backend)?;
        Ok(group)
    }

    pub(crate) async fn read_members(
        &self,
        workspace: WorkspaceId,
        query: &MemberQuery,
    ) -> Result<Vec<MemberSummary>> {
        let mut sql = String::from(
            "SELECT mb.workspace, mb.platform, mb.user_id, mb.display_name, mb.role, mb.tier, mb.tags,
                    count(ms.chat), COALESCE(sum(ms.messages), 0)::bigint, max(ms.last_spoke_at), min(ms.joined_at)
             FROM members mb LEFT JOIN memberships ms
               ON ms.workspace = mb.workspace AND ms.platform = mb.platform AND ms.member = mb.user_id
             WHERE mb.workspace = $1",
        );
        let mut values: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(workspace.0)];
        let mut bind = |sql: &mut String, clause: &str, value: Box<dyn ToSql + Sync + Send>| {
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
        if let Some(tag) = &query.tag {
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
        sql.push_str(" GROUP BY mb.workspace, mb.platform, mb.user_id HAVING 1 = 1");
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
        bind(
            &mut sql,
            " ORDER BY max(ms.last_spoke_at) DESC NULLS LAST, mb.user_id LIMIT ?",
            Box::new(query.limit.unwrap_or(200) as i64),
        );
        let client = self.client().await;
        let params: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|value| value.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = client.query(&sql, &params).await.map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(MemberSummary {
                    member: member_from_row(row)?,
                    groups: get::<i64>(row, 7)? as u64,
                    messages: get::<i64>(row, 8)? as u64,
                    last_spoke_at: opt_time(get(row, 9)?),
                    joined_at: opt_time(get(row, 10)?),
                })
            })
            .collect()
    }

    pub(crate) async fn read_member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
    ) -> Result<Member> {
        member_by_id(&*self.client().await, workspace, platform, user).await
    }

    pub(crate) async fn write_update_member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
        update: MemberUpdate,
    ) -> Result<Member> {
        let client = self.client().await;
        let mut member = member_by_id(&*client, workspace, platform, user).await?;
        update.apply_to(&mut member);
        client
            .execute(
                "UPDATE members SET role = $4, tier = $5, tags = $6 WHERE workspace = $1 AND platform = $2 AND user_id = $3",
                &[&workspace.0, &platform.as_str(), &user.as_str(), &member.role.as_str(), &member.tier.as_str(), &json(&member.tags)?],
            )
            .await
            .map_err(backend)?;
        Ok(member)
    }

    pub(crate) async fn read_group_days(
        &self,
        workspace: WorkspaceId,
        group_id: Option<GroupId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<GroupDayRow>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT g.id, d.day, d.joins, d.leaves, d.messages, d.speakers, d.removed FROM group_days d
                 JOIN groups g ON g.workspace = d.workspace AND g.platform = d.platform AND g.chat = d.chat
                 WHERE d.workspace = $1 AND d.day >= $2 AND d.day <= $3 AND ($4::bigint IS NULL OR g.id = $4)
                 ORDER BY d.day, g.id",
                &[&workspace.0, &day_text(from), &day_text(to), &group_id.map(|id| id.0)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let count = |index: usize| -> Result<u64> { Ok(get::<i64>(row, index)? as u64) };
                Ok(GroupDayRow {
                    group_id: GroupId(get(row, 0)?),
                    day: day(&get::<String>(row, 1)?)?,
                    counts: GroupDay {
                        joins: count(2)?,
                        leaves: count(3)?,
                        messages: count(4)?,
                        speakers: count(5)?,
                        removed: count(6)?,
                    },
                })
            })
            .collect()
    }
}

//! [`SopStore`] on PostgreSQL: check-in streaks, groups' first-seen times and push renders.
//! The watermark row is locked while an update is applied, so two instances never apply the
//! same events twice.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{ActionId, ActionKind, ActionStatus, Platform, WorkspaceId};
use qunzhu_storage::{
    CheckinRow, CheckinSnapshot, GroupSeen, LeaderRow, MorningPost, PushFigures, PushRender,
    PushRow, PushWindow, Result, SopFactsUpdate, SopStore, StoreError,
};
use tokio_postgres::Row;

use crate::codec::{day, day_text, from_json, micros, parsed, time};
use crate::{backend, get, PostgresStore};

const PUSH_COLUMNS: &str = "action, chat, rendered_at, text, reach, replies";

fn push_from_row(row: &Row) -> Result<PushRow> {
    Ok(PushRow {
        action: ActionId(get(row, 0)?),
        chat: get(row, 1)?,
        rendered_at: time(get(row, 2)?),
        text: get(row, 3)?,
        reach: get::<i64>(row, 4)?.max(0) as u64,
        replies_within_hour: get::<i64>(row, 5)?.max(0) as u64,
    })
}

fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

const NOTE_SEEN: &str = "INSERT INTO group_first_seen (workspace, platform, chat, at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (workspace, platform, chat) DO UPDATE SET at = LEAST(group_first_seen.at, EXCLUDED.at)";

#[async_trait]
impl SopStore for PostgresStore {
    async fn sop_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM sop_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map_or(Ok(0), |row| get(&row, 0))
    }

    async fn apply_sop_facts(
        &self,
        workspace: WorkspaceId,
        update: SopFactsUpdate,
    ) -> Result<bool> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "INSERT INTO sop_watermarks (workspace, seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&workspace.0],
        )
        .await
        .map_err(backend)?;
        let row = tx
            .query_one(
                "SELECT seq FROM sop_watermarks WHERE workspace = $1 FOR UPDATE",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        let current: i64 = get(&row, 0)?;
        if current != update.from_seq {
            return Ok(false);
        }
        tx.execute(
            "UPDATE sop_watermarks SET seq = $2 WHERE workspace = $1",
            &[&workspace.0, &update.to_seq],
        )
        .await
        .map_err(backend)?;
        let upsert = tx
            .prepare(
                "INSERT INTO checkin_streaks (workspace, platform, chat, member, last_day, streak, total) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (workspace, platform, chat, member) DO UPDATE SET last_day = EXCLUDED.last_day, streak = EXCLUDED.streak, total = EXCLUDED.total",
            )
            .await
            .map_err(backend)?;
        for row in &update.checkins {
            let (streak, total) = (i64::from(row.streak), i64::from(row.total));
            tx.execute(
                &upsert,
                &[
                    &workspace.0,
                    &row.platform.as_str(),
                    &row.chat,
                    &row.member,
                    &day_text(row.last_day),
                    &streak,
                    &total,
                ],
            )
            .await
            .map_err(backend)?;
        }
        for post in &update.morning_posts {
            tx.execute(
                "INSERT INTO checkin_posts (workspace, platform, chat, message_id, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&workspace.0, &post.platform.as_str(), &post.chat, &post.message_id, &micros(post.at)],
            )
            .await
            .map_err(backend)?;
        }
        for seen in &update.groups_seen {
            tx.execute(
                NOTE_SEEN,
                &[
                    &workspace.0,
                    &seen.platform.as_str(),
                    &seen.chat,
                    &micros(seen.at),
                ],
            )
            .await
            .map_err(backend)?;
        }
        for (action, replies) in &update.replies {
            let replies = *replies as i64;
            tx.execute(
                "UPDATE push_renders SET replies = replies + $3 WHERE workspace = $1 AND action = $2",
                &[&workspace.0, &action.0, &replies],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn checkin_snapshot(
        &self,
        workspace: WorkspaceId,
        posts_since: DateTime<Utc>,
    ) -> Result<CheckinSnapshot> {
        let client = self.client().await;
        let watermark = match client
            .query_opt(
                "SELECT seq FROM sop_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
        {
            Some(row) => get(&row, 0)?,
            None => 0,
        };
        let mut members = Vec::new();
        for row in client
            .query(
                "SELECT platform, chat, member, last_day, streak, total FROM checkin_streaks WHERE workspace = $1 ORDER BY platform, chat, member",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
        {
            members.push(CheckinRow {
                platform: parsed(Platform::parse(&get::<String>(&row, 0)?))?,
                chat: get(&row, 1)?,
                member: get(&row, 2)?,
                last_day: day(&get::<String>(&row, 3)?)?,
                streak: count(get(&row, 4)?),
                total: count(get(&row, 5)?),
            });
        }
        let mut morning_posts = Vec::new();
        for row in client
            .query(
                "SELECT platform, chat, message_id, at FROM checkin_posts WHERE workspace = $1 AND at >= $2 ORDER BY at",
                &[&workspace.0, &micros(posts_since)],
            )
            .await
            .map_err(backend)?
        {
            morning_posts.push(MorningPost {
                platform: parsed(Platform::parse(&get::<String>(&row, 0)?))?,
                chat: get(&row, 1)?,
                message_id: get(&row, 2)?,
                at: time(get(&row, 3)?),
            });
        }
        Ok(CheckinSnapshot {
            watermark,
            members,
            morning_posts,
        })
    }

    async fn leaderboard(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        today: NaiveDate,
        limit: usize,
    ) -> Result<Vec<LeaderRow>> {
        let yesterday = day_text(today.pred_opt().unwrap_or(today));
        let limit = limit as i64;
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT s.member, COALESCE(m.display_name, s.member),
                        CASE WHEN s.last_day >= $4 THEN s.streak ELSE 0 END AS live, s.total
                 FROM checkin_streaks s
                 LEFT JOIN members m ON m.workspace = s.workspace AND m.platform = s.platform AND m.user_id = s.member
                 WHERE s.workspace = $1 AND s.platform = $2 AND s.chat = $3
                 ORDER BY live DESC, s.total DESC, s.member ASC LIMIT $5",
                &[&workspace.0, &platform.as_str(), &chat, &yesterday, &limit],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(LeaderRow {
                    member: get(row, 0)?,
                    display_name: get(row, 1)?,
                    streak: count(get(row, 2)?),
                    total: count(get(row, 3)?),
                })
            })
            .collect()
    }

    async fn note_group_seen(&self, workspace: WorkspaceId, seen: GroupSeen) -> Result<()> {
        let client = self.client().await;
        client
            .execute(
                NOTE_SEEN,
                &[
                    &workspace.0,
                    &seen.platform.as_str(),
                    &seen.chat,
                    &micros(seen.at),
                ],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn groups_seen(&self, workspace: WorkspaceId) -> Result<Vec<GroupSeen>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT platform, chat, at FROM group_first_seen WHERE workspace = $1 ORDER BY platform, chat",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(GroupSeen {
                    platform: parsed(Platform::parse(&get::<String>(row, 0)?))?,
                    chat: get(row, 1)?,
                    at: time(get(row, 2)?),
                })
            })
            .collect()
    }

    async fn record_render(&self, render: PushRender) -> Result<()> {
        let client = self.client().await;
        let reach = render.reach as i64;
        client
            .execute(
                "INSERT INTO push_renders (action, workspace, chat, rendered_at, text, reach) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (action) DO UPDATE SET rendered_at = EXCLUDED.rendered_at, text = EXCLUDED.text, reach = EXCLUDED.reach",
                &[&render.action.0, &render.workspace.0, &render.chat, &micros(render.at), &render.text, &reach],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn pushes_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<Vec<PushRow>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {PUSH_COLUMNS} FROM push_renders WHERE workspace = $1 AND rendered_at >= $2 ORDER BY rendered_at, action"),
                &[&workspace.0, &micros(since)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(push_from_row).collect()
    }

    async fn pushes(&self, workspace: WorkspaceId, actions: &[ActionId]) -> Result<Vec<PushRow>> {
        let actions: Vec<i64> = actions.iter().map(|action| action.0).collect();
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {PUSH_COLUMNS} FROM push_renders WHERE workspace = $1 AND action = ANY($2) ORDER BY action"),
                &[&workspace.0, &actions],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(push_from_row).collect()
    }

    async fn push_figures(
        &self,
        workspace: WorkspaceId,
        window: PushWindow,
    ) -> Result<Vec<PushFigures>> {
        let from = window.from.map_or(i64::MIN, micros);
        let until = window.until.map_or(i64::MAX, micros);
        let limit = window.limit as i64;
        let client = self.client().await;
        let rows = client
            .query(FIGURES, &[&workspace.0, &from, &until, &limit])
            .await
            .map_err(backend)?;
        rows.iter().map(figures_from_row).collect()
    }
}

/// The PostgreSQL dialect of the query the SQLite backend runs for `push_figures`.
const FIGURES: &str = "SELECT a.id, a.key, a.chat, a.origin, a.status, a.not_before, a.done_at, a.last_error, a.payload,
        r.text, COALESCE(r.reach, 0), COALESCE(r.replies, 0),
        (SELECT count(c.id) FROM links l JOIN link_clicks c ON c.code = l.code WHERE l.workspace = a.workspace AND l.push = a.key),
        (SELECT count(DISTINCT c.visitor) FROM links l JOIN link_clicks c ON c.code = l.code WHERE l.workspace = a.workspace AND l.push = a.key)
     FROM actions a LEFT JOIN push_renders r ON r.action = a.id
     WHERE a.workspace = $1 AND a.origin >= 'sop:' AND a.origin < 'sop;'
       AND a.kind IN ('send_message', 'person_task')
       AND a.not_before >= $2 AND a.not_before < $3
     ORDER BY a.id DESC LIMIT $4";

fn figures_from_row(row: &Row) -> Result<PushFigures> {
    let payload: String = get(row, 8)?;
    let kind: ActionKind = from_json(&payload)?;
    let template = match kind {
        ActionKind::SendMessage { text, .. } | ActionKind::PersonTask { text } => text,
        _ => String::new(),
    };
    let status: String = get(row, 4)?;
    Ok(PushFigures {
        action: ActionId(get(row, 0)?),
        key: get(row, 1)?,
        chat: get(row, 2)?,
        origin: qunzhu_domain::ActionOrigin::parse(&get::<String>(row, 3)?),
        status: ActionStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("unknown action status `{status}`")))?,
        scheduled: time(get(row, 5)?),
        done_at: get::<Option<i64>>(row, 6)?.map(time),
        last_error: get(row, 7)?,
        rendered: get(row, 9)?,
        template,
        reach: get::<i64>(row, 10)?.max(0) as u64,
        replies: get::<i64>(row, 11)?.max(0) as u64,
        clicks: get::<i64>(row, 12)?.max(0) as u64,
        unique_visitors: get::<i64>(row, 13)?.max(0) as u64,
    })
}

//! [`SopStore`] on SQLite: check-in streaks, groups' first-seen times and push renders.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{ActionId, Platform, WorkspaceId};
use qunzhu_storage::{
    CheckinRow, CheckinSnapshot, GroupSeen, LeaderRow, MorningPost, PushRender, PushRow, Result,
    SopFactsUpdate, SopStore,
};
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{day, day_text, micros, parsed, time};
use crate::{backend, SqliteStore};

const PUSH_COLUMNS: &str = "action, chat, rendered_at, text, reach, replies";

fn push_from_row(row: &Row<'_>) -> rusqlite::Result<PushRow> {
    Ok(PushRow {
        action: ActionId(row.get(0)?),
        chat: row.get(1)?,
        rendered_at: time(row.get(2)?),
        text: row.get(3)?,
        reach: row.get::<_, i64>(4)?.max(0) as u64,
        replies_within_hour: row.get::<_, i64>(5)?.max(0) as u64,
    })
}

fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

#[async_trait]
impl SopStore for SqliteStore {
    async fn sop_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM sop_watermarks WHERE workspace = ?1",
                [workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn apply_sop_facts(
        &self,
        workspace: WorkspaceId,
        update: SopFactsUpdate,
    ) -> Result<bool> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let current: i64 = tx
                .query_row(
                    "SELECT seq FROM sop_watermarks WHERE workspace = ?1",
                    [workspace.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            if current != update.from_seq {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO sop_watermarks (workspace, seq) VALUES (?1, ?2) ON CONFLICT DO UPDATE SET seq = ?2",
                params![workspace.0, update.to_seq],
            )
            .map_err(backend)?;
            for row in &update.checkins {
                tx.prepare_cached(
                    "INSERT INTO checkin_streaks (workspace, platform, chat, member, last_day, streak, total) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT DO UPDATE SET last_day = ?5, streak = ?6, total = ?7",
                )
                .and_then(|mut statement| {
                    statement.execute(params![workspace.0, row.platform.as_str(), row.chat, row.member, day_text(row.last_day), row.streak, row.total])
                })
                .map_err(backend)?;
            }
            for post in &update.morning_posts {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO checkin_posts (workspace, platform, chat, message_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut statement| {
                    statement.execute(params![workspace.0, post.platform.as_str(), post.chat, post.message_id, micros(post.at)])
                })
                .map_err(backend)?;
            }
            for seen in &update.groups_seen {
                note_seen(&tx, workspace, seen)?;
            }
            for (action, replies) in &update.replies {
                tx.prepare_cached(
                    "UPDATE push_renders SET replies = replies + ?3 WHERE workspace = ?1 AND action = ?2",
                )
                .and_then(|mut statement| statement.execute(params![workspace.0, action.0, *replies as i64]))
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(true)
        })
    }

    async fn checkin_snapshot(
        &self,
        workspace: WorkspaceId,
        posts_since: DateTime<Utc>,
    ) -> Result<CheckinSnapshot> {
        self.read(|conn| {
            let watermark: i64 = conn
                .query_row(
                    "SELECT seq FROM sop_watermarks WHERE workspace = ?1",
                    [workspace.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            let mut statement = conn
                .prepare("SELECT platform, chat, member, last_day, streak, total FROM checkin_streaks WHERE workspace = ?1 ORDER BY platform, chat, member")
                .map_err(backend)?;
            let raw = statement
                .query_map([workspace.0], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, i64>(4)?, row.get::<_, i64>(5)?))
                })
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(backend)?;
            let mut members = Vec::with_capacity(raw.len());
            for (platform, chat, member, last_day, streak, total) in raw {
                members.push(CheckinRow {
                    platform: parsed(Platform::parse(&platform))?,
                    chat,
                    member,
                    last_day: day(&last_day)?,
                    streak: count(streak),
                    total: count(total),
                });
            }
            let mut statement = conn
                .prepare("SELECT platform, chat, message_id, at FROM checkin_posts WHERE workspace = ?1 AND at >= ?2 ORDER BY at")
                .map_err(backend)?;
            let raw = statement
                .query_map(params![workspace.0, micros(posts_since)], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, i64>(3)?))
                })
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(backend)?;
            let mut morning_posts = Vec::with_capacity(raw.len());
            for (platform, chat, message_id, at) in raw {
                morning_posts.push(MorningPost { platform: parsed(Platform::parse(&platform))?, chat, message_id, at: time(at) });
            }
            Ok(CheckinSnapshot { watermark, members, morning_posts })
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
        let yesterday = today.pred_opt().unwrap_or(today);
        // Console reads go to a read connection, never behind the writer's transaction.
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT s.member, COALESCE(m.display_name, s.member),
                            CASE WHEN s.last_day >= ?4 THEN s.streak ELSE 0 END AS live, s.total
                     FROM checkin_streaks s
                     LEFT JOIN members m ON m.workspace = s.workspace AND m.platform = s.platform AND m.user = s.member
                     WHERE s.workspace = ?1 AND s.platform = ?2 AND s.chat = ?3
                     ORDER BY live DESC, s.total DESC, s.member ASC LIMIT ?5",
                )
                .map_err(backend)?;
            statement
                .query_map(
                    params![workspace.0, platform.as_str(), chat, day_text(yesterday), limit as i64],
                    |row| {
                        Ok(LeaderRow {
                            member: row.get(0)?,
                            display_name: row.get(1)?,
                            streak: count(row.get(2)?),
                            total: count(row.get(3)?),
                        })
                    },
                )
                .and_then(Iterator::collect)
                .map_err(backend)
        })
    }

    async fn note_group_seen(&self, workspace: WorkspaceId, seen: GroupSeen) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            note_seen(&tx, workspace, &seen)?;
            tx.commit().map_err(backend)
        })
    }

    async fn groups_seen(&self, workspace: WorkspaceId) -> Result<Vec<GroupSeen>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare("SELECT platform, chat, at FROM group_first_seen WHERE workspace = ?1 ORDER BY platform, chat")
                .map_err(backend)?;
            let raw = statement
                .query_map([workspace.0], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
                })
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(backend)?;
            raw.into_iter()
                .map(|(platform, chat, at)| {
                    Ok(GroupSeen { platform: parsed(Platform::parse(&platform))?, chat, at: time(at) })
                })
                .collect()
        })
    }

    async fn record_render(&self, render: PushRender) -> Result<()> {
        self.run(|conn| {
            conn.execute(
                "INSERT INTO push_renders (action, workspace, chat, rendered_at, text, reach) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO UPDATE SET rendered_at = ?4, text = ?5, reach = ?6",
                params![render.action.0, render.workspace.0, render.chat, micros(render.at), render.text, render.reach as i64],
            )
            .map(|_| ())
            .map_err(backend)
        })
    }

    async fn pushes_since(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<Vec<PushRow>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!("SELECT {PUSH_COLUMNS} FROM push_renders WHERE workspace = ?1 AND rendered_at >= ?2 ORDER BY rendered_at, action"))
                .map_err(backend)?;
            statement
                .query_map(params![workspace.0, micros(since)], push_from_row)
                .and_then(Iterator::collect)
                .map_err(backend)
        })
    }

    async fn pushes(&self, workspace: WorkspaceId, actions: &[ActionId]) -> Result<Vec<PushRow>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {PUSH_COLUMNS} FROM push_renders WHERE workspace = ?1 AND action = ?2"
                ))
                .map_err(backend)?;
            let mut rows = Vec::new();
            for action in actions {
                if let Some(row) = statement
                    .query_row(params![workspace.0, action.0], push_from_row)
                    .optional()
                    .map_err(backend)?
                {
                    rows.push(row);
                }
            }
            Ok(rows)
        })
    }

    async fn push_figures(
        &self,
        workspace: WorkspaceId,
        window: qunzhu_storage::PushWindow,
    ) -> Result<Vec<qunzhu_storage::PushFigures>> {
        self.read(|conn| read_figures(conn, workspace, window))
    }
}

fn note_seen(
    tx: &rusqlite::Transaction<'_>,
    workspace: WorkspaceId,
    seen: &GroupSeen,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO group_first_seen (workspace, platform, chat, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO UPDATE SET at = min(at, ?4)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            workspace.0,
            seen.platform.as_str(),
            seen.chat,
            micros(seen.at)
        ])
    })
    .map(|_| ())
    .map_err(backend)
}

/// Both backends' query of [`SopStore::push_figures`], in SQLite's dialect.
const FIGURES: &str = "SELECT a.id, a.key, a.chat, a.origin, a.status, a.not_before, a.done_at, a.last_error, a.payload,
        r.text, COALESCE(r.reach, 0), COALESCE(r.replies, 0),
        (SELECT count(c.id) FROM links l JOIN link_clicks c ON c.code = l.code WHERE l.workspace = a.workspace AND l.push = a.key),
        (SELECT count(DISTINCT c.visitor) FROM links l JOIN link_clicks c ON c.code = l.code WHERE l.workspace = a.workspace AND l.push = a.key)
     FROM actions a LEFT JOIN push_renders r ON r.action = a.id
     WHERE a.workspace = ?1 AND a.origin >= 'sop:' AND a.origin < 'sop;'
       AND a.kind IN ('send_message', 'person_task')
       AND a.not_before >= ?2 AND a.not_before < ?3
     ORDER BY a.id DESC LIMIT ?4";

type RawFigures = (
    (i64, String, String, String, String, i64),
    (Option<i64>, Option<String>, String, Option<String>),
    (i64, i64, i64, i64),
);

pub(crate) fn read_figures(
    conn: &rusqlite::Connection,
    workspace: WorkspaceId,
    window: qunzhu_storage::PushWindow,
) -> Result<Vec<qunzhu_storage::PushFigures>> {
    let from = window.from.map_or(i64::MIN, micros);
    let until = window.until.map_or(i64::MAX, micros);
    let mut statement = conn.prepare_cached(FIGURES).map_err(backend)?;
    let raw: Vec<RawFigures> = statement
        .query_map(
            params![workspace.0, from, until, window.limit as i64],
            |row| {
                Ok((
                    (
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                    ),
                    (row.get(6)?, row.get(7)?, row.get(8)?, row.get(9)?),
                    (row.get(10)?, row.get(11)?, row.get(12)?, row.get(13)?),
                ))
            },
        )
        .and_then(Iterator::collect)
        .map_err(backend)?;
    raw.into_iter().map(figures_from).collect()
}

fn figures_from(raw: RawFigures) -> Result<qunzhu_storage::PushFigures> {
    let (
        (action, key, chat, origin, status, scheduled),
        (done_at, last_error, payload, rendered),
        (reach, replies, clicks, unique),
    ) = raw;
    let kind: qunzhu_domain::ActionKind = crate::codec::from_json(&payload)?;
    let template = match kind {
        qunzhu_domain::ActionKind::SendMessage { text, .. }
        | qunzhu_domain::ActionKind::PersonTask { text } => text,
        _ => String::new(),
    };
    Ok(qunzhu_storage::PushFigures {
        action: ActionId(action),
        key,
        chat,
        origin: qunzhu_domain::ActionOrigin::parse(&origin),
        status: qunzhu_domain::ActionStatus::parse(&status).ok_or_else(|| {
            qunzhu_storage::StoreError::Backend(format!("unknown action status `{status}`"))
        })?,
        scheduled: time(scheduled),
        done_at: done_at.map(time),
        last_error,
        rendered,
        template,
        reach: reach.max(0) as u64,
        replies: replies.max(0) as u64,
        clicks: clicks.max(0) as u64,
        unique_visitors: unique.max(0) as u64,
    })
}

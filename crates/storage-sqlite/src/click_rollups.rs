//! [`ClickRollupStore`] on SQLite: clicks read after the watermark by the click id (the table's
//! primary key), counts loaded and upserted by their primary key, the watermark moved with them.

use std::collections::BTreeSet;

use async_trait::async_trait;
use qunzhu_domain::click_rollup::{ClickDays, ClickInput};
use qunzhu_domain::rollup::DayRef;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{ClickRollupStore, ClickRow, Result, RollupDayQuery};
use rusqlite::{params, OptionalExtension};

use crate::codec::{day, day_text, parsed, time};
use crate::{backend, SqliteStore};

fn platform(text: &str) -> Result<Platform> {
    parsed(Platform::parse(text))
}

#[async_trait]
impl ClickRollupStore for SqliteStore {
    async fn click_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM rollup_click_watermarks WHERE workspace = ?1",
                [workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn clicks_after(
        &self,
        workspace: WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<ClickRow>, Option<i64>)> {
        self.read(|conn| {
            // Every click after the mark, the workspace's or not, so the last id is known even
            // when the batch holds none of ours; the group's platform comes from the directory.
            let mut statement = conn
                .prepare_cached(
                    "SELECT c.id, c.at, l.workspace, l.chat,
                            (SELECT g.platform FROM groups g WHERE g.workspace = l.workspace AND g.chat = l.chat
                             ORDER BY g.platform LIMIT 1)
                     FROM link_clicks c LEFT JOIN links l ON l.code = c.code
                     WHERE c.id > ?1 ORDER BY c.id LIMIT ?2",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![after, limit as i64])
                .map_err(backend)?;
            let (mut out, mut last) = (Vec::new(), None);
            while let Some(row) = rows.next().map_err(backend)? {
                let id: i64 = row.get(0).map_err(backend)?;
                last = Some(id);
                let owner: Option<i64> = row.get(2).map_err(backend)?;
                let found: Option<String> = row.get(4).map_err(backend)?;
                let (Some(owner), Some(found)) = (owner, found) else {
                    continue;
                };
                if owner != workspace.0 {
                    continue;
                }
                out.push(ClickRow {
                    id,
                    click: ClickInput {
                        platform: platform(&found)?,
                        chat: row.get(3).map_err(backend)?,
                        at: time(row.get(1).map_err(backend)?),
                    },
                });
            }
            Ok((out, last))
        })
    }

    async fn click_days(
        &self,
        workspace: WorkspaceId,
        keys: &BTreeSet<DayRef>,
    ) -> Result<ClickDays> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT clicks FROM rollup_clicks WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND day = ?4")
                .map_err(backend)?;
            let mut out = ClickDays::new();
            for key in keys {
                if let Some(clicks) = statement
                    .query_row(params![workspace.0, key.0.as_str(), key.1, day_text(key.2)], |row| row.get::<_, i64>(0))
                    .optional()
                    .map_err(backend)?
                {
                    out.insert(key.clone(), clicks);
                }
            }
            Ok(out)
        })
    }

    async fn apply_clicks(
        &self,
        workspace: WorkspaceId,
        rows: &ClickDays,
        from: i64,
        to: i64,
    ) -> Result<bool> {
        let ws = workspace.0;
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let current: i64 = tx
                .query_row("SELECT seq FROM rollup_click_watermarks WHERE workspace = ?1", [ws], |row| row.get(0))
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            if current != from {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO rollup_click_watermarks (workspace, seq) VALUES (?1, ?2) ON CONFLICT (workspace) DO UPDATE SET seq = excluded.seq",
                params![ws, to],
            )
            .map_err(backend)?;
            {
                let mut upsert = tx
                    .prepare_cached("INSERT OR REPLACE INTO rollup_clicks (workspace, platform, chat, day, clicks) VALUES (?1, ?2, ?3, ?4, ?5)")
                    .map_err(backend)?;
                for (key, clicks) in rows {
                    upsert
                        .execute(params![ws, key.0.as_str(), key.1, day_text(key.2), clicks])
                        .map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)?;
            Ok(true)
        })
    }

    async fn click_days_in(
        &self,
        workspace: WorkspaceId,
        query: &RollupDayQuery,
    ) -> Result<ClickDays> {
        let (group_platform, group_chat) = match &query.group {
            Some((platform, chat)) => (Some(platform.as_str()), Some(chat.as_str())),
            None => (None, None),
        };
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT platform, chat, day, clicks FROM rollup_clicks
                     WHERE workspace = ?1 AND day >= ?2 AND day <= ?3 AND (?4 IS NULL OR (platform = ?4 AND chat = ?5))",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, day_text(query.from), day_text(query.to), group_platform, group_chat])
                .map_err(backend)?;
            let mut out = ClickDays::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let found: String = row.get(0).map_err(backend)?;
                let on: String = row.get(2).map_err(backend)?;
                out.insert(
                    (platform(&found)?, row.get(1).map_err(backend)?, day(&on)?),
                    row.get(3).map_err(backend)?,
                );
            }
            Ok(out)
        })
    }

    async fn members_end_before(
        &self,
        workspace: WorkspaceId,
        key: &DayRef,
    ) -> Result<Option<i64>> {
        self.read(|conn| {
            conn.query_row(
                "SELECT members_end FROM rollup_days WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND day < ?4
                 ORDER BY day DESC LIMIT 1",
                params![workspace.0, key.0.as_str(), key.1, day_text(key.2)],
                |row| row.get(0),
            )
            .optional()
            .map_err(backend)
        })
    }
}

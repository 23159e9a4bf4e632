//! [`ClickRollupStore`] on PostgreSQL: clicks read after the watermark by the click id, counts
//! loaded and written with one UNNEST statement each, under a lock on the watermark row so two
//! instances never fold the same clicks twice.

use std::collections::BTreeSet;

use async_trait::async_trait;
use qunzhu_domain::click_rollup::{ClickDays, ClickInput};
use qunzhu_domain::rollup::DayRef;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{ClickRollupStore, ClickRow, Result, RollupDayQuery};

use crate::codec::{day, day_text, parsed, time};
use crate::{backend, get, PostgresStore};

fn platform(text: &str) -> Result<Platform> {
    parsed(Platform::parse(text))
}

#[async_trait]
impl ClickRollupStore for PostgresStore {
    async fn click_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM rollup_click_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map_or(Ok(0), |row| get(&row, 0))
    }

    async fn clicks_after(
        &self,
        workspace: WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<ClickRow>, Option<i64>)> {
        let client = self.client().await;
        // Every click after the mark, the workspace's or not, so the last id is known even when
        // the batch holds none of ours; the group's platform comes from the directory.
        let rows = client
            .query(
                "SELECT c.id, c.at, l.workspace, l.chat,
                        (SELECT g.platform FROM groups g WHERE g.workspace = l.workspace AND g.chat = l.chat
                         ORDER BY g.platform LIMIT 1)
                 FROM link_clicks c LEFT JOIN links l ON l.code = c.code
                 WHERE c.id > $1 ORDER BY c.id LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        let (mut out, mut last) = (Vec::new(), None);
        for row in &rows {
            let id: i64 = get(row, 0)?;
            last = Some(id);
            let owner: Option<i64> = get(row, 2)?;
            let found: Option<String> = get(row, 4)?;
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
                    chat: get(row, 3)?,
                    at: time(get(row, 1)?),
                },
            });
        }
        Ok((out, last))
    }

    async fn click_days(
        &self,
        workspace: WorkspaceId,
        keys: &BTreeSet<DayRef>,
    ) -> Result<ClickDays> {
        let mut out = ClickDays::new();
        if keys.is_empty() {
            return Ok(out);
        }
        let (mut p, mut c, mut d) = (vec![], vec![], vec![]);
        for key in keys {
            p.push(key.0.as_str().to_string());
            c.push(key.1.clone());
            d.push(day_text(key.2));
        }
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT r.platform, r.chat, r.day, r.clicks FROM rollup_clicks r
                 JOIN UNNEST($2::text[], $3::text[], $4::text[]) AS k(platform, chat, day)
                   ON r.platform = k.platform AND r.chat = k.chat AND r.day = k.day
                 WHERE r.workspace = $1",
                &[&workspace.0, &p, &c, &d],
            )
            .await
            .map_err(backend)?;
        for row in &rows {
            let found: String = get(row, 0)?;
            let on: String = get(row, 2)?;
            out.insert((platform(&found)?, get(row, 1)?, day(&on)?), get(row, 3)?);
        }
        Ok(out)
    }

    async fn apply_clicks(
        &self,
        workspace: WorkspaceId,
        rows: &ClickDays,
        from: i64,
        to: i64,
    ) -> Result<bool> {
        let ws = workspace.0;
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "INSERT INTO rollup_click_watermarks (workspace, seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&ws],
        )
        .await
        .map_err(backend)?;
        let row = tx
            .query_one(
                "SELECT seq FROM rollup_click_watermarks WHERE workspace = $1 FOR UPDATE",
                &[&ws],
            )
            .await
            .map_err(backend)?;
        if get::<i64>(&row, 0)? != from {
            return Ok(false);
        }
        tx.execute(
            "UPDATE rollup_click_watermarks SET seq = $2 WHERE workspace = $1",
            &[&ws, &to],
        )
        .await
        .map_err(backend)?;
        if !rows.is_empty() {
            let (mut p, mut c, mut d, mut n) = (vec![], vec![], vec![], vec![]);
            for (key, clicks) in rows {
                p.push(key.0.as_str().to_string());
                c.push(key.1.clone());
                d.push(day_text(key.2));
                n.push(*clicks);
            }
            tx.execute(
                "INSERT INTO rollup_clicks (workspace, platform, chat, day, clicks)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[])
                 ON CONFLICT (workspace, platform, chat, day) DO UPDATE SET clicks = EXCLUDED.clicks",
                &[&ws, &p, &c, &d, &n],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn click_days_in(
        &self,
        workspace: WorkspaceId,
        query: &RollupDayQuery,
    ) -> Result<ClickDays> {
        let (gp, gc) = match &query.group {
            Some((platform, chat)) => (Some(platform.as_str().to_string()), Some(chat.clone())),
            None => (None, None),
        };
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT platform, chat, day, clicks FROM rollup_clicks
                 WHERE workspace = $1 AND day >= $2 AND day <= $3 AND ($4::text IS NULL OR (platform = $4 AND chat = $5))",
                &[&workspace.0, &day_text(query.from), &day_text(query.to), &gp, &gc],
            )
            .await
            .map_err(backend)?;
        let mut out = ClickDays::new();
        for row in &rows {
            let found: String = get(row, 0)?;
            let on: String = get(row, 2)?;
            out.insert((platform(&found)?, get(row, 1)?, day(&on)?), get(row, 3)?);
        }
        Ok(out)
    }

    async fn members_end_before(
        &self,
        workspace: WorkspaceId,
        key: &DayRef,
    ) -> Result<Option<i64>> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT members_end FROM rollup_days WHERE workspace = $1 AND platform = $2 AND chat = $3 AND day < $4
                 ORDER BY day DESC LIMIT 1",
                &[&workspace.0, &key.0.as_str(), &key.1, &day_text(key.2)],
            )
            .await
            .map_err(backend)?;
        row.map_or(Ok(None), |row| get(&row, 0).map(Some))
    }
}

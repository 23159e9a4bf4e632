//! Invite tasks (任务宝) on SQLite: campaign rows, the consumer's watermark and page referrals.

use async_trait::async_trait;
use qunzhu_domain::{CampaignId, Platform, WorkspaceId};
use qunzhu_growth::{InviteState, PrizeState, TaskInvite, TaskPrizeRow};
use qunzhu_storage::{
    flags_of, flags_text, state_of, InviteTaskStore, InviteTaskUpdate, PageReferral, PrizeFilter,
    Result,
};
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{from_json, json, micros, opt_time, parsed, time};
use crate::{backend, SqliteStore};

const PRIZE_COLUMNS: &str = "campaign, inviter, threshold, round, state, chat, earned_at, due_at, decided_by, note, prize, version";

fn invite_from_row(row: &Row<'_>) -> Result<TaskInvite> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(TaskInvite {
        campaign: CampaignId(text(0)?),
        chat: text(1)?,
        invitee: text(2)?,
        inviter: text(3)?,
        joined_at: time(row.get(4).map_err(backend)?),
        posted_at: opt_time(row.get(5).map_err(backend)?),
        state: state_of(&text(6)?, InviteState::parse)?,
        flags: flags_of(&text(7)?)?,
        counted_at: opt_time(row.get(8).map_err(backend)?),
        left_at: opt_time(row.get(9).map_err(backend)?),
    })
}

fn prize_from_row(row: &Row<'_>) -> Result<TaskPrizeRow> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    let number = |index: usize| -> Result<i64> { row.get(index).map_err(backend) };
    Ok(TaskPrizeRow {
        campaign: CampaignId(text(0)?),
        inviter: text(1)?,
        threshold: number(2)?.clamp(0, i64::from(u32::MAX)) as u32,
        round: number(3)?.clamp(0, i64::from(u32::MAX)) as u32,
        state: state_of(&text(4)?, PrizeState::parse)?,
        chat: text(5)?,
        earned_at: time(number(6)?),
        due_at: time(number(7)?),
        decided_by: row.get(8).map_err(backend)?,
        note: text(9)?,
        prize: from_json(&text(10)?)?,
        version: number(11)?,
    })
}

fn referral_from_row(row: &Row<'_>) -> Result<PageReferral> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(PageReferral {
        platform: parsed(Platform::parse(&text(0)?))?,
        chat: text(1)?,
        visitor: text(2)?,
        code: text(3)?,
        at: time(row.get(4).map_err(backend)?),
    })
}

/// Writes one prize against its version; `false` when someone else wrote it first.
fn write_prize(
    tx: &rusqlite::Transaction<'_>,
    workspace: WorkspaceId,
    prize: &TaskPrizeRow,
) -> Result<bool> {
    let body = json(&prize.prize)?;
    let changed = if prize.version == 0 {
        tx.prepare_cached(
            "INSERT INTO task_prizes (workspace, campaign, inviter, threshold, round, state, chat, earned_at, due_at, decided_by, note, prize, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1) ON CONFLICT DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                workspace.0, prize.campaign.as_str(), prize.inviter, prize.threshold, prize.round, prize.state.as_str(), prize.chat,
                micros(prize.earned_at), micros(prize.due_at), prize.decided_by, prize.note, body
            ])
        })
    } else {
        tx.prepare_cached(
            "UPDATE task_prizes SET round = ?5, state = ?6, chat = ?7, earned_at = ?8, due_at = ?9, decided_by = ?10, note = ?11, prize = ?12, version = version + 1
             WHERE workspace = ?1 AND campaign = ?2 AND inviter = ?3 AND threshold = ?4 AND version = ?13",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                workspace.0, prize.campaign.as_str(), prize.inviter, prize.threshold, prize.round, prize.state.as_str(), prize.chat,
                micros(prize.earned_at), micros(prize.due_at), prize.decided_by, prize.note, body, prize.version
            ])
        })
    }
    .map_err(backend)?;
    Ok(changed == 1)
}

#[async_trait]
impl InviteTaskStore for SqliteStore {
    async fn invite_task_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM task_watermarks WHERE workspace = ?1",
                [workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    async fn invite_task_rows(
        &self,
        workspace: WorkspaceId,
        campaign: &CampaignId,
    ) -> Result<(Vec<TaskInvite>, Vec<TaskPrizeRow>)> {
        let campaign = campaign.as_str();
        self.read(|conn| {
            let mut invites = Vec::new();
            let mut statement = conn
                .prepare_cached(
                    "SELECT campaign, chat, invitee, inviter, joined_at, posted_at, state, flags, counted_at, left_at
                     FROM task_invites WHERE workspace = ?1 AND campaign = ?2",
                )
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, campaign]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                invites.push(invite_from_row(row)?);
            }
            let mut prizes = Vec::new();
            let mut statement = conn
                .prepare_cached(&format!("SELECT {PRIZE_COLUMNS} FROM task_prizes WHERE workspace = ?1 AND campaign = ?2"))
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, campaign]).map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                prizes.push(prize_from_row(row)?);
            }
            Ok((invites, prizes))
        })
    }

    async fn apply_invite_tasks(
        &self,
        workspace: WorkspaceId,
        update: InviteTaskUpdate,
    ) -> Result<bool> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            if let Some((from, to)) = update.watermark {
                let current: i64 = tx
                    .query_row("SELECT seq FROM task_watermarks WHERE workspace = ?1", [workspace.0], |row| row.get(0))
                    .optional()
                    .map_err(backend)?
                    .unwrap_or(0);
                if current != from {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO task_watermarks (workspace, seq) VALUES (?1, ?2) ON CONFLICT (workspace) DO UPDATE SET seq = excluded.seq",
                    params![workspace.0, to],
                )
                .map_err(backend)?;
            }
            for invite in &update.invites {
                tx.prepare_cached(
                    "INSERT INTO task_invites (workspace, campaign, chat, invitee, inviter, joined_at, posted_at, state, flags, counted_at, left_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (workspace, campaign, chat, invitee) DO UPDATE SET posted_at = excluded.posted_at, state = excluded.state,
                     flags = excluded.flags, counted_at = excluded.counted_at, left_at = excluded.left_at",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        workspace.0, invite.campaign.as_str(), invite.chat, invite.invitee, invite.inviter, micros(invite.joined_at),
                        invite.posted_at.map(micros), invite.state.as_str(), flags_text(&invite.flags),
                        invite.counted_at.map(micros), invite.left_at.map(micros)
                    ])
                })
                .map_err(backend)?;
            }
            for prize in &update.prizes {
                if !write_prize(&tx, workspace, prize)? {
                    // Dropping the transaction rolls the whole round back.
                    return Ok(false);
                }
            }
            tx.commit().map_err(backend)?;
            Ok(true)
        })
    }

    async fn task_prizes(
        &self,
        workspace: WorkspaceId,
        filter: &PrizeFilter,
        limit: usize,
    ) -> Result<Vec<TaskPrizeRow>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {PRIZE_COLUMNS} FROM task_prizes WHERE workspace = ?1 AND (?2 IS NULL OR campaign = ?2)
                     AND (?3 IS NULL OR state = ?3) AND (?4 IS NULL OR inviter = ?4)
                     ORDER BY earned_at DESC, campaign, inviter, threshold LIMIT ?5"
                ))
                .map_err(backend)?;
            let state = filter.state.map(PrizeState::as_str);
            let mut rows = statement
                .query(params![workspace.0, filter.campaign.as_ref().map(CampaignId::as_str), state, filter.inviter, limit as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(prize_from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn present_elsewhere(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
        chat: &str,
    ) -> Result<bool> {
        self.read(|conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM invites WHERE workspace = ?1 AND platform = ?2 AND invitee = ?3 AND chat <> ?4 AND present = 1)",
                params![workspace.0, platform.as_str(), member, chat],
                |row| row.get(0),
            )
            .map_err(backend)
        })
    }

    async fn put_page_referral(
        &self,
        workspace: WorkspaceId,
        referral: PageReferral,
    ) -> Result<(PageReferral, bool)> {
        self.run(|conn| {
            let created = conn
                .execute(
                    "INSERT INTO page_referrals (workspace, platform, chat, visitor, code, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![workspace.0, referral.platform.as_str(), referral.chat, referral.visitor, referral.code, micros(referral.at)],
                )
                .map_err(backend)?
                == 1;
            let kept = conn
                .query_row(
                    "SELECT platform, chat, visitor, code, at FROM page_referrals WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND visitor = ?4",
                    params![workspace.0, referral.platform.as_str(), referral.chat, referral.visitor],
                    |row| Ok(referral_from_row(row)),
                )
                .map_err(backend)??;
            Ok((kept, created))
        })
    }

    async fn page_referral(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        visitor: &str,
    ) -> Result<Option<PageReferral>> {
        self.read(|conn| {
            conn.query_row(
                "SELECT platform, chat, visitor, code, at FROM page_referrals WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND visitor = ?4",
                params![workspace.0, platform.as_str(), chat, visitor],
                |row| Ok(referral_from_row(row)),
            )
            .optional()
            .map_err(backend)?
            .transpose()
        })
    }
}

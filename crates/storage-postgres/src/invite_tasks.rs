//! Invite tasks (任务宝) on PostgreSQL: campaign rows, the consumer's watermark and page referrals.

use async_trait::async_trait;
use qunzhu_domain::{CampaignId, Platform, WorkspaceId};
use qunzhu_growth::{InviteState, PrizeState, TaskInvite, TaskPrizeRow};
use qunzhu_storage::{
    flags_of, flags_text, state_of, InviteTaskStore, InviteTaskUpdate, PageReferral, PrizeFilter,
    Result,
};
use tokio_postgres::Row;

use crate::codec::{from_json, json, micros, opt_time, parsed, time};
use crate::{backend, get, PostgresStore};

const PRIZE_COLUMNS: &str = "campaign, inviter, threshold, round, state, chat, earned_at, due_at, decided_by, note, prize, version";

fn invite_from_row(row: &Row) -> Result<TaskInvite> {
    Ok(TaskInvite {
        campaign: CampaignId(get(row, 0)?),
        chat: get(row, 1)?,
        invitee: get(row, 2)?,
        inviter: get(row, 3)?,
        joined_at: time(get(row, 4)?),
        posted_at: opt_time(get(row, 5)?),
        state: state_of(&get::<String>(row, 6)?, InviteState::parse)?,
        flags: flags_of(&get::<String>(row, 7)?)?,
        counted_at: opt_time(get(row, 8)?),
        left_at: opt_time(get(row, 9)?),
    })
}

fn prize_from_row(row: &Row) -> Result<TaskPrizeRow> {
    Ok(TaskPrizeRow {
        campaign: CampaignId(get(row, 0)?),
        inviter: get(row, 1)?,
        threshold: get::<i64>(row, 2)?.clamp(0, i64::from(u32::MAX)) as u32,
        round: get::<i64>(row, 3)?.clamp(0, i64::from(u32::MAX)) as u32,
        state: state_of(&get::<String>(row, 4)?, PrizeState::parse)?,
        chat: get(row, 5)?,
        earned_at: time(get(row, 6)?),
        due_at: time(get(row, 7)?),
        decided_by: get(row, 8)?,
        note: get(row, 9)?,
        prize: from_json(&get::<String>(row, 10)?)?,
        version: get(row, 11)?,
    })
}

fn referral_from_row(row: &Row) -> Result<PageReferral> {
    Ok(PageReferral {
        platform: parsed(Platform::parse(&get::<String>(row, 0)?))?,
        chat: get(row, 1)?,
        visitor: get(row, 2)?,
        code: get(row, 3)?,
        at: time(get(row, 4)?),
    })
}

const REFERRAL: &str = "SELECT platform, chat, visitor, code, at FROM page_referrals WHERE workspace = $1 AND platform = $2 AND chat = $3 AND visitor = $4";

#[async_trait]
impl InviteTaskStore for PostgresStore {
    async fn invite_task_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM task_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map(|row| get(&row, 0))
            .transpose()
            .map(|seq| seq.unwrap_or(0))
    }

    async fn invite_task_rows(
        &self,
        workspace: WorkspaceId,
        campaign: &CampaignId,
    ) -> Result<(Vec<TaskInvite>, Vec<TaskPrizeRow>)> {
        let campaign = campaign.as_str();
        let client = self.client().await;
        let invites = client
            .query(
                "SELECT campaign, chat, invitee, inviter, joined_at, posted_at, state, flags, counted_at, left_at
                 FROM task_invites WHERE workspace = $1 AND campaign = $2",
                &[&workspace.0, &campaign],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(invite_from_row)
            .collect::<Result<Vec<_>>>()?;
        let prizes = client
            .query(
                &format!("SELECT {PRIZE_COLUMNS} FROM task_prizes WHERE workspace = $1 AND campaign = $2"),
                &[&workspace.0, &campaign],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(prize_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok((invites, prizes))
    }

    async fn apply_invite_tasks(
        &self,
        workspace: WorkspaceId,
        update: InviteTaskUpdate,
    ) -> Result<bool> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        if let Some((from, to)) = update.watermark {
            // The row lock makes two instances' rounds take turns; the loser sees the new seq.
            tx.execute(
                "INSERT INTO task_watermarks (workspace, seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
            let moved = tx
                .execute(
                    "UPDATE task_watermarks SET seq = $3 WHERE workspace = $1 AND seq = $2",
                    &[&workspace.0, &from, &to],
                )
                .await
                .map_err(backend)?;
            if moved != 1 {
                return Ok(false);
            }
        }
        for invite in &update.invites {
            tx.execute(
                "INSERT INTO task_invites (workspace, campaign, chat, invitee, inviter, joined_at, posted_at, state, flags, counted_at, left_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (workspace, campaign, chat, invitee) DO UPDATE SET posted_at = EXCLUDED.posted_at, state = EXCLUDED.state,
                 flags = EXCLUDED.flags, counted_at = EXCLUDED.counted_at, left_at = EXCLUDED.left_at",
                &[
                    &workspace.0, &invite.campaign.as_str(), &invite.chat, &invite.invitee, &invite.inviter, &micros(invite.joined_at),
                    &invite.posted_at.map(micros), &invite.state.as_str(), &flags_text(&invite.flags),
                    &invite.counted_at.map(micros), &invite.left_at.map(micros),
                ],
            )
            .await
            .map_err(backend)?;
        }
        for prize in &update.prizes {
            let body = json(&prize.prize)?;
            let (threshold, round) = (i64::from(prize.threshold), i64::from(prize.round));
            let (earned, due) = (micros(prize.earned_at), micros(prize.due_at));
            let changed = if prize.version == 0 {
                tx.execute(
                    "INSERT INTO task_prizes (workspace, campaign, inviter, threshold, round, state, chat, earned_at, due_at, decided_by, note, prize, version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1) ON CONFLICT DO NOTHING",
                    &[
                        &workspace.0, &prize.campaign.as_str(), &prize.inviter, &threshold, &round, &prize.state.as_str(), &prize.chat,
                        &earned, &due, &prize.decided_by, &prize.note, &body,
                    ],
                )
                .await
            } else {
                tx.execute(
                    "UPDATE task_prizes SET round = $5, state = $6, chat = $7, earned_at = $8, due_at = $9, decided_by = $10, note = $11, prize = $12, version = version + 1
                     WHERE workspace = $1 AND campaign = $2 AND inviter = $3 AND threshold = $4 AND version = $13",
                    &[
                        &workspace.0, &prize.campaign.as_str(), &prize.inviter, &threshold, &round, &prize.state.as_str(), &prize.chat,
                        &earned, &due, &prize.decided_by, &prize.note, &body, &prize.version,
                    ],
                )
                .await
            }
            .map_err(backend)?;
            if changed != 1 {
                // Dropping the transaction rolls the whole round back.
                return Ok(false);
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn task_prizes(
        &self,
        workspace: WorkspaceId,
        filter: &PrizeFilter,
        limit: usize,
    ) -> Result<Vec<TaskPrizeRow>> {
        let client = self.client().await;
        let state = filter.state.map(PrizeState::as_str);
        client
            .query(
                &format!(
                    "SELECT {PRIZE_COLUMNS} FROM task_prizes WHERE workspace = $1 AND ($2::TEXT IS NULL OR campaign = $2)
                     AND ($3::TEXT IS NULL OR state = $3) AND ($4::TEXT IS NULL OR inviter = $4)
                     ORDER BY earned_at DESC, campaign, inviter, threshold LIMIT $5"
                ),
                &[&workspace.0, &filter.campaign.as_ref().map(CampaignId::as_str), &state, &filter.inviter, &(limit as i64)],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(prize_from_row)
            .collect()
    }

    async fn present_elsewhere(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
        chat: &str,
    ) -> Result<bool> {
        let client = self.client().await;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM invites WHERE workspace = $1 AND platform = $2 AND invitee = $3 AND chat <> $4 AND present)",
                &[&workspace.0, &platform.as_str(), &member, &chat],
            )
            .await
            .map_err(backend)?;
        get(&row, 0)
    }

    async fn put_page_referral(
        &self,
        workspace: WorkspaceId,
        referral: PageReferral,
    ) -> Result<(PageReferral, bool)> {
        let client = self.client().await;
        let created = client
            .execute(
                "INSERT INTO page_referrals (workspace, platform, chat, visitor, code, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&workspace.0, &referral.platform.as_str(), &referral.chat, &referral.visitor, &referral.code, &micros(referral.at)],
            )
            .await
            .map_err(backend)?
            == 1;
        let row = client
            .query_one(
                REFERRAL,
                &[
                    &workspace.0,
                    &referral.platform.as_str(),
                    &referral.chat,
                    &referral.visitor,
                ],
            )
            .await
            .map_err(backend)?;
        Ok((referral_from_row(&row)?, created))
    }

    async fn page_referral(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        visitor: &str,
    ) -> Result<Option<PageReferral>> {
        let client = self.client().await;
        client
            .query_opt(
                REFERRAL,
                &[&workspace.0, &platform.as_str(), &chat, &visitor],
            )
            .await
            .map_err(backend)?
            .map(|row| referral_from_row(&row))
            .transpose()
    }
}

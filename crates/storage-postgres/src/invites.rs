//! Invite attribution on PostgreSQL.

use qunzhu_domain::{InviteChange, InviteChannel, InviteCode, Platform, WorkspaceId};
use qunzhu_storage::{Invite, InviteCount, InviteFilter, Result, StoreError};
use tokio_postgres::Row;

use crate::codec::{micros, opt_time, parsed, time};
use crate::{backend, get, PostgresStore};

pub(crate) fn invite_from_row(row: &Row) -> Result<Invite> {
    Ok(Invite {
        platform: parsed(Platform::parse(&get::<String>(row, 0)?))?,
        chat: get(row, 1)?,
        invitee: get(row, 2)?,
        inviter: get(row, 3)?,
        channel: parsed(InviteChannel::parse(&get::<String>(row, 4)?))?,
        code: get(row, 5)?,
        campaign: get(row, 6)?,
        joined_at: time(get(row, 7)?),
        left_at: opt_time(get(row, 8)?),
        present: get(row, 9)?,
    })
}

fn code_from_row(row: &Row) -> Result<InviteCode> {
    Ok(InviteCode {
        code: get(row, 0)?,
        platform: parsed(Platform::parse(&get::<String>(row, 1)?))?,
        member: get(row, 2)?,
        campaign: get(row, 3)?,
    })
}

impl PostgresStore {
    pub(crate) async fn read_invite_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT seq FROM invite_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        row.map(|row| get(&row, 0))
            .transpose()
            .map(|seq| seq.unwrap_or(0))
    }

    pub(crate) async fn write_invite_changes(
        &self,
        workspace: WorkspaceId,
        changes: Vec<InviteChange>,
        watermark: i64,
    ) -> Result<()> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        for change in &changes {
            match change {
                InviteChange::Joined {
                    platform,
                    chat,
                    invitee,
                    inviter,
                    channel,
                    code,
                    campaign,
                    at,
                } => {
                    tx.execute(
                        "INSERT INTO invites (workspace, platform, chat, invitee, inviter, channel, code, campaign, joined_at, present)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE)
                         ON CONFLICT (workspace, platform, chat, invitee) DO UPDATE SET present = TRUE, left_at = NULL",
                        &[&workspace.0, &platform.as_str(), chat, invitee, inviter, &channel.as_str(), code, campaign, &micros(*at)],
                    )
                    .await
                    .map_err(backend)?;
                }
                InviteChange::Left {
                    platform,
                    chat,
                    invitee,
                    at,
                } => {
                    tx.execute(
                        "UPDATE invites SET present = FALSE, left_at = $5 WHERE workspace = $1 AND platform = $2 AND chat = $3 AND invitee = $4",
                        &[&workspace.0, &platform.as_str(), chat, invitee, &micros(*at)],
                    )
                    .await
                    .map_err(backend)?;
                }
            }
        }
        tx.execute(
            "INSERT INTO invite_watermarks (workspace, seq) VALUES ($1, $2) ON CONFLICT (workspace) DO UPDATE SET seq = EXCLUDED.seq",
            &[&workspace.0, &watermark],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    pub(crate) async fn write_invite_code(
        &self,
        workspace: WorkspaceId,
        code: InviteCode,
    ) -> Result<InviteCode> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO invite_codes (workspace, code, platform, member, campaign) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&workspace.0, &code.code, &code.platform.as_str(), &code.member, &code.campaign],
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_one(
                "SELECT code, platform, member, campaign FROM invite_codes WHERE workspace = $1 AND code = $2",
                &[&workspace.0, &code.code],
            )
            .await
            .map_err(backend)?;
        let stored = code_from_row(&row)?;
        if stored.member != code.member || stored.platform != code.platform {
            return Err(StoreError::Conflict {
                object: "invite code",
                id: code.code,
            });
        }
        Ok(stored)
    }

    pub(crate) async fn read_invite_code(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<InviteCode> {
        let client = self.client().await;
        client
            .query_opt(
                "SELECT code, platform, member, campaign FROM invite_codes WHERE workspace = $1 AND code = $2",
                &[&workspace.0, &code],
            )
            .await
            .map_err(backend)?
            .map(|row| code_from_row(&row))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound { object: "invite code", id: code.to_string() })
    }

    pub(crate) async fn read_invites_by(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        inviter: &str,
    ) -> Result<Vec<Invite>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT platform, chat, invitee, inviter, channel, code, campaign, joined_at, left_at, present FROM invites
                 WHERE workspace = $1 AND platform = $2 AND inviter = $3 ORDER BY joined_at DESC, invitee",
                &[&workspace.0, &platform.as_str(), &inviter],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(invite_from_row).collect()
    }

    pub(crate) async fn read_invite_counts(
        &self,
        workspace: WorkspaceId,
        filter: &InviteFilter,
        limit: usize,
    ) -> Result<Vec<InviteCount>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT platform, inviter, count(*), count(*) FILTER (WHERE present) AS here FROM invites
                 WHERE workspace = $1 AND inviter IS NOT NULL AND ($2::text IS NULL OR chat = $2) AND ($3::text IS NULL OR campaign = $3)
                 GROUP BY platform, inviter ORDER BY here DESC, count(*) DESC, inviter LIMIT $4",
                &[&workspace.0, &filter.chat, &filter.campaign, &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(InviteCount {
                    platform: parsed(Platform::parse(&get::<String>(row, 0)?))?,
                    inviter: get(row, 1)?,
                    joined: get::<i64>(row, 2)? as u64,
                    present: get::<i64>(row, 3)? as u64,
                })
            })
            .collect()
    }
}

//! Invite attribution on SQLite.

use qunzhu_domain::{InviteChange, InviteChannel, InviteCode, Platform, WorkspaceId};
use qunzhu_storage::{Invite, InviteCount, InviteFilter, Result, StoreError};
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{micros, opt_time, parsed, time};
use crate::{backend, SqliteStore};

pub(crate) fn invite_from_row(row: &Row<'_>) -> Result<Invite> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(Invite {
        platform: parsed(Platform::parse(&text(0)?))?,
        chat: text(1)?,
        invitee: text(2)?,
        inviter: row.get(3).map_err(backend)?,
        channel: parsed(InviteChannel::parse(&text(4)?))?,
        code: row.get(5).map_err(backend)?,
        campaign: row.get(6).map_err(backend)?,
        joined_at: time(row.get(7).map_err(backend)?),
        left_at: opt_time(row.get(8).map_err(backend)?),
        present: row.get(9).map_err(backend)?,
    })
}

fn code_from_row(row: &Row<'_>) -> Result<InviteCode> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(InviteCode {
        code: text(0)?,
        platform: parsed(Platform::parse(&text(1)?))?,
        member: text(2)?,
        campaign: row.get(3).map_err(backend)?,
    })
}

fn read_code(
    conn: &rusqlite::Connection,
    workspace: WorkspaceId,
    code: &str,
) -> Result<Option<InviteCode>> {
    let mut statement = conn
        .prepare_cached("SELECT code, platform, member, campaign FROM invite_codes WHERE workspace = ?1 AND code = ?2")
        .map_err(backend)?;
    let mut rows = statement
        .query(params![workspace.0, code])
        .map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => Ok(Some(code_from_row(row)?)),
        None => Ok(None),
    }
}

impl SqliteStore {
    pub(crate) fn read_invite_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq FROM invite_watermarks WHERE workspace = ?1",
                [workspace.0],
                |row| row.get(0),
            )
            .optional()
            .map(|seq| seq.unwrap_or(0))
            .map_err(backend)
        })
    }

    pub(crate) fn write_invite_changes(
        &self,
        workspace: WorkspaceId,
        changes: Vec<InviteChange>,
        watermark: i64,
    ) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            for change in &changes {
                match change {
                    InviteChange::Joined { platform, chat, invitee, inviter, channel, code, campaign, at } => {
                        tx.prepare_cached(
                            "INSERT INTO invites (workspace, platform, chat, invitee, inviter, channel, code, campaign, joined_at, present)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1)
                             ON CONFLICT (workspace, platform, chat, invitee) DO UPDATE SET present = 1, left_at = NULL",
                        )
                        .and_then(|mut statement| {
                            statement.execute(params![
                                workspace.0,
                                platform.as_str(),
                                chat,
                                invitee,
                                inviter,
                                channel.as_str(),
                                code,
                                campaign,
                                micros(*at)
                            ])
                        })
                        .map_err(backend)?;
                    }
                    InviteChange::Left { platform, chat, invitee, at } => {
                        tx.prepare_cached(
                            "UPDATE invites SET present = 0, left_at = ?5 WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND invitee = ?4",
                        )
                        .and_then(|mut statement| {
                            statement.execute(params![workspace.0, platform.as_str(), chat, invitee, micros(*at)])
                        })
                        .map_err(backend)?;
                    }
                }
            }
            tx.execute(
                "INSERT INTO invite_watermarks (workspace, seq) VALUES (?1, ?2) ON CONFLICT (workspace) DO UPDATE SET seq = excluded.seq",
                params![workspace.0, watermark],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    pub(crate) fn write_invite_code(
        &self,
        workspace: WorkspaceId,
        code: InviteCode,
    ) -> Result<InviteCode> {
        self.run(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO invite_codes (workspace, code, platform, member, campaign) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![workspace.0, code.code, code.platform.as_str(), code.member, code.campaign],
            )
            .map_err(backend)?;
            let stored = read_code(conn, workspace, &code.code)?
                .ok_or_else(|| StoreError::Backend("an inserted invite code is missing".into()))?;
            if stored.member != code.member || stored.platform != code.platform {
                return Err(StoreError::Conflict { object: "invite code", id: code.code });
            }
            Ok(stored)
        })
    }

    pub(crate) fn read_invite_code(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<InviteCode> {
        self.read(|conn| {
            read_code(conn, workspace, code)?.ok_or_else(|| StoreError::NotFound {
                object: "invite code",
                id: code.to_string(),
            })
        })
    }

    pub(crate) fn read_invites_by(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        inviter: &str,
    ) -> Result<Vec<Invite>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT platform, chat, invitee, inviter, channel, code, campaign, joined_at, left_at, present FROM invites
                     WHERE workspace = ?1 AND platform = ?2 AND inviter = ?3 ORDER BY joined_at DESC, invitee",
                )
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, platform.as_str(), inviter]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(invite_from_row(row)?);
            }
            Ok(out)
        })
    }

    pub(crate) fn read_invite_counts(
        &self,
        workspace: WorkspaceId,
        filter: &InviteFilter,
        limit: usize,
    ) -> Result<Vec<InviteCount>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT platform, inviter, count(*), sum(present) FROM invites
                     WHERE workspace = ?1 AND inviter IS NOT NULL AND (?2 IS NULL OR chat = ?2) AND (?3 IS NULL OR campaign = ?3)
                     GROUP BY platform, inviter ORDER BY sum(present) DESC, count(*) DESC, inviter LIMIT ?4",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, filter.chat, filter.campaign, limit as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let platform: String = row.get(0).map_err(backend)?;
                out.push(InviteCount {
                    platform: parsed(Platform::parse(&platform))?,
                    inviter: row.get(1).map_err(backend)?,
                    joined: row.get::<_, i64>(2).map_err(backend)? as u64,
                    present: row.get::<_, i64>(3).map_err(backend)? as u64,
                });
            }
            Ok(out)
        })
    }
}

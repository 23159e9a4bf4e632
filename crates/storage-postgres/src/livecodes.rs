//! Live codes on PostgreSQL: the same rows as SQLite; a seat is taken under a row lock on its
//! code (`FOR UPDATE`), so scans through several instances still give the last seat once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{
    ChannelFigures, LiveCodeAlert, LiveCodeRecord, LiveCodeStore, Result, Seat, SeatRequest,
    SpareGroup, StoreError,
};
use tokio_postgres::{GenericClient, Row};

use crate::codec::{micros, parsed, time};
use crate::{backend, get, PostgresStore};

const CODE_COLUMNS: &str = "workspace, code, platform, source, updated_by, updated_at";
const SEAT_COLUMNS: &str = "code, platform, chat, visitor, channel, at, hold_until";

/// Seats in use in one group; see the SQLite backend. $1 workspace, $2 platform, $3 chat, $4 now.
const USED: &str = "SELECT
    (SELECT COUNT(*) FROM memberships m LEFT JOIN members u
        ON u.workspace = m.workspace AND u.platform = m.platform AND u.user_id = m.member
        WHERE m.workspace = $1 AND m.platform = $2 AND m.chat = $3 AND m.present = 1
        AND COALESCE(u.role, 'member') NOT IN ('owner', 'admin', 'service'))
  + (SELECT COUNT(*) FROM livecode_seats s
        WHERE s.workspace = $1 AND s.platform = $2 AND s.chat = $3 AND s.hold_until > $4
        AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.workspace = s.workspace
            AND m.platform = s.platform AND m.chat = s.chat AND m.member = s.visitor AND m.present = 1))";

fn code_from_row(row: &Row) -> Result<LiveCodeRecord> {
    Ok(LiveCodeRecord {
        workspace: WorkspaceId(get(row, 0)?),
        code: get(row, 1)?,
        platform: parsed(Platform::parse(&get::<String>(row, 2)?))?,
        source: get(row, 3)?,
        updated_by: get(row, 4)?,
        updated_at: time(get(row, 5)?),
    })
}

fn seat_from_row(row: &Row) -> Result<Seat> {
    Ok(Seat {
        code: get(row, 0)?,
        platform: parsed(Platform::parse(&get::<String>(row, 1)?))?,
        chat: get(row, 2)?,
        visitor: get(row, 3)?,
        channel: get(row, 4)?,
        at: time(get(row, 5)?),
        hold_until: time(get(row, 6)?),
        new: false,
    })
}

fn count(value: i64) -> u32 {
    value.clamp(0, i64::from(u32::MAX)) as u32
}

async fn used(
    client: &impl GenericClient,
    workspace: WorkspaceId,
    platform: Platform,
    chat: &str,
    now: DateTime<Utc>,
) -> Result<u32> {
    let row = client
        .query_one(
            USED,
            &[&workspace.0, &platform.as_str(), &chat, &micros(now)],
        )
        .await
        .map_err(backend)?;
    Ok(count(get(&row, 0)?))
}

#[async_trait]
impl LiveCodeStore for PostgresStore {
    async fn put_livecode(&self, record: LiveCodeRecord) -> Result<LiveCodeRecord> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "INSERT INTO livecodes (workspace, code, platform, source, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (code) DO UPDATE SET platform = excluded.platform, source = excluded.source, updated_by = excluded.updated_by, updated_at = excluded.updated_at
                 WHERE livecodes.workspace = excluded.workspace
                 RETURNING workspace",
                &[
                    &record.workspace.0,
                    &record.code,
                    &record.platform.as_str(),
                    &record.source,
                    &record.updated_by,
                    &micros(record.updated_at),
                ],
            )
            .await
            .map_err(backend)?;
        match row {
            Some(_) => Ok(record),
            // The conflict's WHERE refused the update: another workspace owns the code.
            None => Err(StoreError::Conflict {
                object: "live code",
                id: record.code,
            }),
        }
    }

    async fn livecode(&self, code: &str) -> Result<LiveCodeRecord> {
        let client = self.client().await;
        let row = client
            .query_opt(
                &format!("SELECT {CODE_COLUMNS} FROM livecodes WHERE code = $1"),
                &[&code],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                object: "live code",
                id: code.to_string(),
            })?;
        code_from_row(&row)
    }

    async fn livecodes(&self, workspace: WorkspaceId) -> Result<Vec<LiveCodeRecord>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!("SELECT {CODE_COLUMNS} FROM livecodes WHERE workspace = $1 ORDER BY code"),
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(code_from_row).collect()
    }

    async fn count_scan(&self, workspace: WorkspaceId, code: &str, channel: &str) -> Result<()> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO livecode_scans (workspace, code, channel, scans) VALUES ($1, $2, $3, 1)
                 ON CONFLICT (workspace, code, channel) DO UPDATE SET scans = livecode_scans.scans + 1",
                &[&workspace.0, &code, &channel],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn take_seat(
        &self,
        workspace: WorkspaceId,
        request: SeatRequest,
    ) -> Result<Option<Seat>> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        // Every seat of this code is taken under this lock, whichever instance takes it.
        let locked = tx
            .query_opt(
                "SELECT 1 FROM livecodes WHERE workspace = $1 AND code = $2 FOR UPDATE",
                &[&workspace.0, &request.code],
            )
            .await
            .map_err(backend)?;
        if locked.is_none() {
            return Err(StoreError::NotFound {
                object: "live code",
                id: request.code,
            });
        }
        let held = tx
            .query_opt(
                &format!("SELECT {SEAT_COLUMNS} FROM livecode_seats WHERE workspace = $1 AND code = $2 AND visitor = $3"),
                &[&workspace.0, &request.code, &request.visitor],
            )
            .await
            .map_err(backend)?;
        if let Some(row) = held {
            let seat = seat_from_row(&row)?;
            let present = tx
                .query_opt(
                    "SELECT 1 FROM memberships WHERE workspace = $1 AND platform = $2 AND chat = $3 AND member = $4 AND present = 1",
                    &[&workspace.0, &seat.platform.as_str(), &seat.chat, &seat.visitor],
                )
                .await
                .map_err(backend)?
                .is_some();
            if seat.hold_until > request.at || present {
                return Ok(Some(seat));
            }
        }
        for candidate in &request.candidates {
            if used(
                &tx,
                workspace,
                request.platform,
                &candidate.chat,
                request.at,
            )
            .await?
                >= candidate.cap
            {
                continue;
            }
            tx.execute(
                "INSERT INTO livecode_seats (workspace, code, visitor, platform, chat, channel, at, hold_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (workspace, code, visitor) DO UPDATE SET platform = excluded.platform, chat = excluded.chat, channel = excluded.channel, at = excluded.at, hold_until = excluded.hold_until",
                &[
                    &workspace.0,
                    &request.code,
                    &request.visitor,
                    &request.platform.as_str(),
                    &candidate.chat,
                    &request.channel,
                    &micros(request.at),
                    &micros(request.hold_until),
                ],
            )
            .await
            .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            return Ok(Some(Seat {
                code: request.code.clone(),
                platform: request.platform,
                chat: candidate.chat.clone(),
                visitor: request.visitor.clone(),
                channel: request.channel.clone(),
                at: request.at,
                hold_until: request.hold_until,
                new: true,
            }));
        }
        Ok(None)
    }

    async fn seats_used(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chats: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<u32>> {
        let client = self.client().await;
        let mut out = Vec::with_capacity(chats.len());
        for chat in chats {
            out.push(used(&*client, workspace, platform, chat, now).await?);
        }
        Ok(out)
    }

    async fn seat_in(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        visitor: &str,
    ) -> Result<Option<Seat>> {
        let client = self.client().await;
        client
            .query_opt(
                &format!("SELECT {SEAT_COLUMNS} FROM livecode_seats WHERE workspace = $1 AND platform = $2 AND chat = $3 AND visitor = $4 ORDER BY at LIMIT 1"),
                &[&workspace.0, &platform.as_str(), &chat, &visitor],
            )
            .await
            .map_err(backend)?
            .map(|row| seat_from_row(&row))
            .transpose()
    }

    async fn plan_spare(
        &self,
        workspace: WorkspaceId,
        code: &str,
        spare: SpareGroup,
    ) -> Result<bool> {
        let client = self.client().await;
        let added = client
            .execute(
                "INSERT INTO livecode_spares (workspace, code, sequence, key, chat, planned_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &workspace.0,
                    &code,
                    &i64::from(spare.sequence),
                    &spare.key,
                    &spare.chat,
                    &micros(spare.planned_at),
                ],
            )
            .await
            .map_err(backend)?;
        Ok(added == 1)
    }

    async fn spares(&self, workspace: WorkspaceId, code: &str) -> Result<Vec<SpareGroup>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT sequence, key, chat, planned_at FROM livecode_spares WHERE workspace = $1 AND code = $2 ORDER BY sequence",
                &[&workspace.0, &code],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(SpareGroup {
                    sequence: count(get(row, 0)?),
                    key: get(row, 1)?,
                    chat: get(row, 2)?,
                    planned_at: time(get(row, 3)?),
                })
            })
            .collect()
    }

    async fn adopt_spare(
        &self,
        workspace: WorkspaceId,
        code: &str,
        sequence: u32,
        chat: &str,
    ) -> Result<()> {
        let client = self.client().await;
        let changed = client
            .execute(
                "UPDATE livecode_spares SET chat = $4 WHERE workspace = $1 AND code = $2 AND sequence = $3",
                &[&workspace.0, &code, &i64::from(sequence), &chat],
            )
            .await
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                object: "spare group",
                id: format!("{code}:{sequence}"),
            });
        }
        Ok(())
    }

    async fn channel_figures(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<Vec<ChannelFigures>> {
        let client = self.client().await;
        let rows = client
            .query(
                "WITH channels AS (
                    SELECT channel FROM livecode_scans WHERE workspace = $1 AND code = $2
                    UNION SELECT channel FROM livecode_seats WHERE workspace = $1 AND code = $2)
                 SELECT c.channel,
                    COALESCE((SELECT scans FROM livecode_scans x WHERE x.workspace = $1 AND x.code = $2 AND x.channel = c.channel), 0)::BIGINT,
                    (SELECT COUNT(*) FROM livecode_seats s WHERE s.workspace = $1 AND s.code = $2 AND s.channel = c.channel),
                    (SELECT COUNT(*) FROM livecode_seats s JOIN memberships m
                        ON m.workspace = s.workspace AND m.platform = s.platform AND m.chat = s.chat AND m.member = s.visitor
                        WHERE s.workspace = $1 AND s.code = $2 AND s.channel = c.channel AND m.joined_at IS NOT NULL)
                 FROM channels c ORDER BY 2 DESC, 1",
                &[&workspace.0, &code],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(ChannelFigures {
                    channel: get(row, 0)?,
                    scans: get::<i64>(row, 1)?.max(0) as u64,
                    seats: get::<i64>(row, 2)?.max(0) as u64,
                    joins: get::<i64>(row, 3)?.max(0) as u64,
                })
            })
            .collect()
    }

    async fn raise_livecode_alert(
        &self,
        workspace: WorkspaceId,
        alert: LiveCodeAlert,
    ) -> Result<bool> {
        let client = self.client().await;
        let added = client
            .execute(
                "INSERT INTO livecode_alerts (workspace, code, kind, sequence, message, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &workspace.0,
                    &alert.code,
                    &alert.kind,
                    &i64::from(alert.sequence),
                    &alert.message,
                    &micros(alert.at),
                ],
            )
            .await
            .map_err(backend)?;
        Ok(added == 1)
    }

    async fn livecode_alerts(&self, workspace: WorkspaceId) -> Result<Vec<LiveCodeAlert>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT code, kind, sequence, message, at FROM livecode_alerts WHERE workspace = $1 ORDER BY at DESC, code, sequence DESC LIMIT 200",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(LiveCodeAlert {
                    code: get(row, 0)?,
                    kind: get(row, 1)?,
                    sequence: count(get(row, 2)?),
                    message: get(row, 3)?,
                    at: time(get(row, 4)?),
                })
            })
            .collect()
    }
}

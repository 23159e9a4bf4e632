//! Live codes on SQLite: seats are counted and taken on the one writer connection inside one
//! transaction, which is what makes the last seat go to one scan only.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{
    ChannelFigures, LiveCodeAlert, LiveCodeRecord, LiveCodeStore, Result, Seat, SeatRequest,
    SpareGroup, StoreError,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::codec::{micros, parsed, time};
use crate::{backend, SqliteStore};

const CODE_COLUMNS: &str = "workspace, code, platform, source, updated_by, updated_at";
const SEAT_COLUMNS: &str = "code, platform, chat, visitor, channel, at, hold_until";

/// Seats in use in one group: present members without staff, plus held seats of visitors not
/// (yet) present. ?1 workspace, ?2 platform, ?3 chat, ?4 now.
const USED: &str = "SELECT
    (SELECT COUNT(*) FROM memberships m LEFT JOIN members u
        ON u.workspace = m.workspace AND u.platform = m.platform AND u.user = m.member
        WHERE m.workspace = ?1 AND m.platform = ?2 AND m.chat = ?3 AND m.present = 1
        AND COALESCE(u.role, 'member') NOT IN ('owner', 'admin', 'service'))
  + (SELECT COUNT(*) FROM livecode_seats s
        WHERE s.workspace = ?1 AND s.platform = ?2 AND s.chat = ?3 AND s.hold_until > ?4
        AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.workspace = s.workspace
            AND m.platform = s.platform AND m.chat = s.chat AND m.member = s.visitor AND m.present = 1))";

fn code_from_row(row: &Row<'_>) -> Result<LiveCodeRecord> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(LiveCodeRecord {
        workspace: WorkspaceId(row.get(0).map_err(backend)?),
        code: text(1)?,
        platform: parsed(Platform::parse(&text(2)?))?,
        source: text(3)?,
        updated_by: text(4)?,
        updated_at: time(row.get(5).map_err(backend)?),
    })
}

fn seat_from_row(row: &Row<'_>) -> Result<Seat> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(Seat {
        code: text(0)?,
        platform: parsed(Platform::parse(&text(1)?))?,
        chat: text(2)?,
        visitor: text(3)?,
        channel: text(4)?,
        at: time(row.get(5).map_err(backend)?),
        hold_until: time(row.get(6).map_err(backend)?),
        new: false,
    })
}

fn used(
    conn: &Connection,
    workspace: WorkspaceId,
    platform: Platform,
    chat: &str,
    now: DateTime<Utc>,
) -> Result<u32> {
    let count: i64 = conn
        .prepare_cached(USED)
        .map_err(backend)?
        .query_row(
            params![workspace.0, platform.as_str(), chat, micros(now)],
            |row| row.get(0),
        )
        .map_err(backend)?;
    Ok(count.clamp(0, i64::from(u32::MAX)) as u32)
}

fn present(conn: &Connection, workspace: WorkspaceId, seat: &Seat) -> Result<bool> {
    conn.query_row(
        "SELECT 1 FROM memberships WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND member = ?4 AND present = 1",
        params![workspace.0, seat.platform.as_str(), seat.chat, seat.visitor],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(backend)
}

#[async_trait]
impl LiveCodeStore for SqliteStore {
    async fn put_livecode(&self, record: LiveCodeRecord) -> Result<LiveCodeRecord> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let owner: Option<i64> = tx
                .query_row(
                    "SELECT workspace FROM livecodes WHERE code = ?1",
                    params![record.code],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            if owner.is_some_and(|owner| owner != record.workspace.0) {
                return Err(StoreError::Conflict {
                    object: "live code",
                    id: record.code,
                });
            }
            tx.execute(
                "INSERT INTO livecodes (workspace, code, platform, source, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (code) DO UPDATE SET platform = excluded.platform, source = excluded.source, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                params![
                    record.workspace.0,
                    record.code,
                    record.platform.as_str(),
                    record.source,
                    record.updated_by,
                    micros(record.updated_at)
                ],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(record)
        })
    }

    async fn livecode(&self, code: &str) -> Result<LiveCodeRecord> {
        self.read(|conn| {
            conn.query_row(
                &format!("SELECT {CODE_COLUMNS} FROM livecodes WHERE code = ?1"),
                params![code],
                |row| Ok(code_from_row(row)),
            )
            .optional()
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                object: "live code",
                id: code.to_string(),
            })?
        })
    }

    async fn livecodes(&self, workspace: WorkspaceId) -> Result<Vec<LiveCodeRecord>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {CODE_COLUMNS} FROM livecodes WHERE workspace = ?1 ORDER BY code"
                ))
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(code_from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn count_scan(&self, workspace: WorkspaceId, code: &str, channel: &str) -> Result<()> {
        self.run(|conn| {
            conn.execute(
                "INSERT INTO livecode_scans (workspace, code, channel, scans) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (workspace, code, channel) DO UPDATE SET scans = scans + 1",
                params![workspace.0, code, channel],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn take_seat(
        &self,
        workspace: WorkspaceId,
        request: SeatRequest,
    ) -> Result<Option<Seat>> {
        self.run(|conn| {
            // IMMEDIATE: the write lock is taken before counting, not at the first write.
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let known = tx
                .query_row(
                    "SELECT 1 FROM livecodes WHERE workspace = ?1 AND code = ?2",
                    params![workspace.0, request.code],
                    |_| Ok(()),
                )
                .optional()
                .map_err(backend)?;
            if known.is_none() {
                return Err(StoreError::NotFound {
                    object: "live code",
                    id: request.code,
                });
            }
            let held = tx
                .query_row(
                    &format!("SELECT {SEAT_COLUMNS} FROM livecode_seats WHERE workspace = ?1 AND code = ?2 AND visitor = ?3"),
                    params![workspace.0, request.code, request.visitor],
                    |row| Ok(seat_from_row(row)),
                )
                .optional()
                .map_err(backend)?
                .transpose()?;
            if let Some(seat) = held {
                if seat.hold_until > request.at || present(&tx, workspace, &seat)? {
                    return Ok(Some(seat));
                }
            }
            for candidate in &request.candidates {
                if used(&tx, workspace, request.platform, &candidate.chat, request.at)? >= candidate.cap {
                    continue;
                }
                tx.execute(
                    "INSERT INTO livecode_seats (workspace, code, visitor, platform, chat, channel, at, hold_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (workspace, code, visitor) DO UPDATE SET platform = excluded.platform, chat = excluded.chat, channel = excluded.channel, at = excluded.at, hold_until = excluded.hold_until",
                    params![
                        workspace.0,
                        request.code,
                        request.visitor,
                        request.platform.as_str(),
                        candidate.chat,
                        request.channel,
                        micros(request.at),
                        micros(request.hold_until)
                    ],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)?;
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
        })
    }

    async fn seats_used(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chats: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<u32>> {
        self.read(|conn| {
            chats
                .iter()
                .map(|chat| used(conn, workspace, platform, chat, now))
                .collect()
        })
    }

    async fn seat_in(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        visitor: &str,
    ) -> Result<Option<Seat>> {
        self.read(|conn| {
            conn.query_row(
                &format!("SELECT {SEAT_COLUMNS} FROM livecode_seats WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND visitor = ?4 ORDER BY at LIMIT 1"),
                params![workspace.0, platform.as_str(), chat, visitor],
                |row| Ok(seat_from_row(row)),
            )
            .optional()
            .map_err(backend)?
            .transpose()
        })
    }

    async fn plan_spare(
        &self,
        workspace: WorkspaceId,
        code: &str,
        spare: SpareGroup,
    ) -> Result<bool> {
        self.run(|conn| {
            let added = conn
                .execute(
                    "INSERT INTO livecode_spares (workspace, code, sequence, key, chat, planned_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![
                        workspace.0,
                        code,
                        spare.sequence,
                        spare.key,
                        spare.chat,
                        micros(spare.planned_at)
                    ],
                )
                .map_err(backend)?;
            Ok(added == 1)
        })
    }

    async fn spares(&self, workspace: WorkspaceId, code: &str) -> Result<Vec<SpareGroup>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT sequence, key, chat, planned_at FROM livecode_spares WHERE workspace = ?1 AND code = ?2 ORDER BY sequence")
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, code]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(SpareGroup {
                    sequence: row.get(0).map_err(backend)?,
                    key: row.get(1).map_err(backend)?,
                    chat: row.get(2).map_err(backend)?,
                    planned_at: time(row.get(3).map_err(backend)?),
                });
            }
            Ok(out)
        })
    }

    async fn adopt_spare(
        &self,
        workspace: WorkspaceId,
        code: &str,
        sequence: u32,
        chat: &str,
    ) -> Result<()> {
        self.run(|conn| {
            let changed = conn
                .execute(
                    "UPDATE livecode_spares SET chat = ?4 WHERE workspace = ?1 AND code = ?2 AND sequence = ?3",
                    params![workspace.0, code, sequence, chat],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    object: "spare group",
                    id: format!("{code}:{sequence}"),
                });
            }
            Ok(())
        })
    }

    async fn channel_figures(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<Vec<ChannelFigures>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "WITH channels AS (
                        SELECT channel FROM livecode_scans WHERE workspace = ?1 AND code = ?2
                        UNION SELECT channel FROM livecode_seats WHERE workspace = ?1 AND code = ?2)
                     SELECT c.channel,
                        COALESCE((SELECT scans FROM livecode_scans x WHERE x.workspace = ?1 AND x.code = ?2 AND x.channel = c.channel), 0),
                        (SELECT COUNT(*) FROM livecode_seats s WHERE s.workspace = ?1 AND s.code = ?2 AND s.channel = c.channel),
                        (SELECT COUNT(*) FROM livecode_seats s JOIN memberships m
                            ON m.workspace = s.workspace AND m.platform = s.platform AND m.chat = s.chat AND m.member = s.visitor
                            WHERE s.workspace = ?1 AND s.code = ?2 AND s.channel = c.channel AND m.joined_at IS NOT NULL)
                     FROM channels c ORDER BY 2 DESC, 1",
                )
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, code]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let count = |index: usize| -> Result<u64> {
                    let value: i64 = row.get(index).map_err(backend)?;
                    Ok(value.max(0) as u64)
                };
                out.push(ChannelFigures {
                    channel: row.get(0).map_err(backend)?,
                    scans: count(1)?,
                    seats: count(2)?,
                    joins: count(3)?,
                });
            }
            Ok(out)
        })
    }

    async fn raise_livecode_alert(
        &self,
        workspace: WorkspaceId,
        alert: LiveCodeAlert,
    ) -> Result<bool> {
        self.run(|conn| {
            let added = conn
                .execute(
                    "INSERT INTO livecode_alerts (workspace, code, kind, sequence, message, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![
                        workspace.0,
                        alert.code,
                        alert.kind,
                        alert.sequence,
                        alert.message,
                        micros(alert.at)
                    ],
                )
                .map_err(backend)?;
            Ok(added == 1)
        })
    }

    async fn livecode_alerts(&self, workspace: WorkspaceId) -> Result<Vec<LiveCodeAlert>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT code, kind, sequence, message, at FROM livecode_alerts WHERE workspace = ?1 ORDER BY at DESC, code, sequence DESC LIMIT 200")
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(LiveCodeAlert {
                    code: row.get(0).map_err(backend)?,
                    kind: row.get(1).map_err(backend)?,
                    sequence: row.get(2).map_err(backend)?,
                    message: row.get(3).map_err(backend)?,
                    at: time(row.get(4).map_err(backend)?),
                });
            }
            Ok(out)
        })
    }
}

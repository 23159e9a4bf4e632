//! The bot's powers per group on SQLite: upserted by ingest in the batch's transaction, an
//! older report (a replay, a state shown again) never overwriting a newer one.

use async_trait::async_trait;
use qunzhu_domain::{Event, Platform, WorkspaceId};
use qunzhu_storage::{BotPowers, BotPowersStore, Result};
use rusqlite::{params, Row, Transaction};

use crate::codec::{micros, parsed, time};
use crate::{backend, SqliteStore};

const COLUMNS: &str = "platform, chat, level, can_redact, can_kick, can_ban, can_mute, at";

fn from_row(row: &Row<'_>) -> Result<BotPowers> {
    let flag = |index: usize| -> Result<bool> { row.get(index).map_err(backend) };
    Ok(BotPowers {
        platform: parsed(Platform::parse(&row.get::<_, String>(0).map_err(backend)?))?,
        chat: row.get(1).map_err(backend)?,
        level: row.get(2).map_err(backend)?,
        can_redact: flag(3)?,
        can_kick: flag(4)?,
        can_ban: flag(5)?,
        can_mute: flag(6)?,
        at: time(row.get(7).map_err(backend)?),
    })
}

/// Keeps the group's row in step with a `BotPowers` event (other events are ignored).
pub(crate) fn record(tx: &Transaction<'_>, event: &Event) -> Result<()> {
    let Some(powers) = BotPowers::from_event(event) else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT INTO bot_powers (workspace, platform, chat, level, can_redact, can_kick, can_ban, can_mute, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (workspace, platform, chat) DO UPDATE SET level = excluded.level,
             can_redact = excluded.can_redact, can_kick = excluded.can_kick, can_ban = excluded.can_ban,
             can_mute = excluded.can_mute, at = excluded.at
         WHERE excluded.at >= bot_powers.at",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            event.workspace.0,
            powers.platform.as_str(),
            powers.chat,
            powers.level,
            powers.can_redact,
            powers.can_kick,
            powers.can_ban,
            powers.can_mute,
            micros(powers.at)
        ])
    })
    .map(|_| ())
    .map_err(backend)
}

#[async_trait]
impl BotPowersStore for SqliteStore {
    async fn bot_powers(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Option<BotPowers>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM bot_powers WHERE workspace = ?1 AND platform = ?2 AND chat = ?3"
                ))
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, platform.as_str(), chat])
                .map_err(backend)?;
            match rows.next().map_err(backend)? {
                Some(row) => Ok(Some(from_row(row)?)),
                None => Ok(None),
            }
        })
    }

    async fn all_bot_powers(&self, workspace: WorkspaceId) -> Result<Vec<BotPowers>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM bot_powers WHERE workspace = ?1 ORDER BY platform, chat"
                ))
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(from_row(row)?);
            }
            Ok(out)
        })
    }
}

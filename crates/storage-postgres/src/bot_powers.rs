//! The bot's powers per group on PostgreSQL: the same rows as SQLite, upserted by ingest in
//! the batch's transaction; an older report never overwrites a newer one.

use async_trait::async_trait;
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{BotPowers, BotPowersStore, Result};
use tokio_postgres::{Row, Transaction};

use crate::codec::{micros, parsed, time};
use crate::{backend, get, PostgresStore};

const COLUMNS: &str = "platform, chat, level, can_redact, can_kick, can_ban, can_mute, at";

fn from_row(row: &Row) -> Result<BotPowers> {
    Ok(BotPowers {
        platform: parsed(Platform::parse(&get::<String>(row, 0)?))?,
        chat: get(row, 1)?,
        level: get(row, 2)?,
        can_redact: get(row, 3)?,
        can_kick: get(row, 4)?,
        can_ban: get(row, 5)?,
        can_mute: get(row, 6)?,
        at: time(get(row, 7)?),
    })
}

/// Writes one reported set of powers for the group, unless a newer one is stored.
pub(crate) async fn record(tx: &Transaction<'_>, workspace: i64, powers: &BotPowers) -> Result<()> {
    tx.execute(
        "INSERT INTO bot_powers (workspace, platform, chat, level, can_redact, can_kick, can_ban, can_mute, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (workspace, platform, chat) DO UPDATE SET level = EXCLUDED.level,
             can_redact = EXCLUDED.can_redact, can_kick = EXCLUDED.can_kick, can_ban = EXCLUDED.can_ban,
             can_mute = EXCLUDED.can_mute, at = EXCLUDED.at
         WHERE EXCLUDED.at >= bot_powers.at",
        &[
            &workspace,
            &powers.platform.as_str(),
            &powers.chat,
            &powers.level,
            &powers.can_redact,
            &powers.can_kick,
            &powers.can_ban,
            &powers.can_mute,
            &micros(powers.at),
        ],
    )
    .await
    .map(|_| ())
    .map_err(backend)
}

#[async_trait]
impl BotPowersStore for PostgresStore {
    async fn bot_powers(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Option<BotPowers>> {
        let client = self.client().await;
        client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM bot_powers WHERE workspace = $1 AND platform = $2 AND chat = $3"),
                &[&workspace.0, &platform.as_str(), &chat],
            )
            .await
            .map_err(backend)?
            .map(|row| from_row(&row))
            .transpose()
    }

    async fn all_bot_powers(&self, workspace: WorkspaceId) -> Result<Vec<BotPowers>> {
        let client = self.client().await;
        client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM bot_powers WHERE workspace = $1 ORDER BY platform, chat"
                ),
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(from_row)
            .collect()
    }
}

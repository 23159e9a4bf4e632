//! What the bot may do in each group, as the connector last saw it (Matrix: the room's power
//! levels): one row per group, written by ingest from `BotPowers` events, newest wins. The
//! console checks the rules in force against it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Event, EventKind, Platform, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// The bot's powers in one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotPowers {
    pub platform: Platform,
    pub chat: String,
    pub level: i64,
    pub can_redact: bool,
    pub can_kick: bool,
    pub can_ban: bool,
    pub can_mute: bool,
    /// When the platform said so (the power-levels event's time).
    pub at: DateTime<Utc>,
}

impl BotPowers {
    /// The row a `BotPowers` event writes; `None` for any other event.
    pub fn from_event(event: &Event) -> Option<BotPowers> {
        let EventKind::BotPowers {
            level,
            can_redact,
            can_kick,
            can_ban,
            can_mute,
        } = &event.kind
        else {
            return None;
        };
        Some(BotPowers {
            platform: event.platform,
            chat: event.chat.clone(),
            level: *level,
            can_redact: *can_redact,
            can_kick: *can_kick,
            can_ban: *can_ban,
            can_mute: *can_mute,
            at: event.at,
        })
    }
}

#[async_trait]
pub trait BotPowersStore: Send + Sync {
    /// The bot's powers in a group, `None` until the connector reported them.
    async fn bot_powers(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Option<BotPowers>>;

    /// Every group's stored powers in the workspace, by platform and chat.
    async fn all_bot_powers(&self, workspace: WorkspaceId) -> Result<Vec<BotPowers>>;
}

//! The connector trait: how qunzhu hears a platform and acts on it, and what each platform can do.
//!
//! The engine plans against [`Capabilities`], never against a platform's name: Matrix can kick
//! and redact but has no invite links, Telegram has per-member links and join requests, WeCom
//! cannot kick and needs a person to confirm each group send.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod inbox;
mod secret;

pub use secret::Secret;

use std::time::Duration;

use async_trait::async_trait;
use qunzhu_domain::{ActionKind, ActionRecord, Event, Platform};
use serde::Serialize;

/// A steady rate with a burst allowance, as a token bucket sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

impl Rate {
    pub const UNLIMITED: Rate = Rate {
        per_second: f64::INFINITY,
        burst: u32::MAX,
    };
}

/// What a platform lets the bot do; the engine asks these instead of the platform's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capabilities {
    pub kick: bool,
    pub ban: bool,
    pub mute: bool,
    pub redact: bool,
    pub invite: bool,
    /// Can post into a group by itself; WeCom cannot (a person must confirm each group send).
    pub send_autonomously: bool,
    pub formatted_messages: bool,
    pub per_member_invite_links: bool,
    /// Join requests (Matrix knock, Telegram chat_join_request) can be approved or denied.
    pub review_join_requests: bool,
    /// The full member list can be read (Telegram: no; the roster is built from events).
    pub list_members: bool,
    pub set_power_level: bool,
    /// Stop every member (not the staff) from posting in a group at once: Matrix raises
    /// `events_default`, Telegram clears the chat's default permissions (`setChatPermissions`).
    pub lock_posting: bool,
    /// Rename the group, set its topic.
    pub edit_group: bool,
    pub pin: bool,
    /// The platform deduplicates a retried action by its idempotency key (Matrix txnId).
    pub idempotent_actions: bool,
    /// Sends in one group.
    pub per_group_rate: Rate,
    /// Sends across all groups of this connector.
    pub global_rate: Rate,
    /// Messages older than this many seconds can no longer be deleted (Telegram: 48 h); `None`
    /// when there is no such limit.
    pub delete_window_secs: Option<u64>,
    /// The most messages one delete call removes (Telegram deleteMessages: 100); 0 when the
    /// platform has no batch delete.
    pub delete_batch: u32,
    /// A mute carries an end time the platform enforces by itself (Telegram until_date), so no
    /// unmute needs to be scheduled.
    pub timed_mute: bool,
    /// A ban can also delete everything the member posted (Telegram revoke_messages).
    pub ban_revokes_messages: bool,
    /// Inline buttons whose clicks come back as events (Telegram callback_data).
    pub buttons: bool,
    /// Dice and polls (regular and quiz) whose answers come back as events.
    pub games: bool,
    /// Shared ban lists as the platform knows them (Matrix policy-list rooms).
    pub policy_lists: bool,
    /// The bot can create a group by itself (Matrix createRoom); Telegram and WeCom bots cannot,
    /// so a live code there alerts the operator to make the spare group instead.
    pub create_groups: bool,
    /// Images the bot posts from a URL (a member's poster): Matrix and Telegram, not WeCom's
    /// group robot here.
    pub send_images: bool,
}

impl Capabilities {
    /// Whether this platform can carry out an action of this kind at all.
    pub fn supports(&self, kind: &ActionKind) -> bool {
        match kind {
            ActionKind::SendMessage { .. } => self.send_autonomously,
            ActionKind::Kick { .. } => self.kick,
            ActionKind::PolicyRule { .. } => self.policy_lists,
            ActionKind::Ban { .. } | ActionKind::Unban { .. } => self.ban,
            ActionKind::Mute { .. } | ActionKind::Unmute { .. } => self.mute,
            ActionKind::Redact { .. } => self.redact,
            ActionKind::Invite { .. } => self.invite,
            ActionKind::DecideJoinRequest { .. } => self.review_join_requests,
            ActionKind::SetPowerLevel { .. } => self.set_power_level,
            ActionKind::SetPostingLevel { .. } => self.lock_posting,
            ActionKind::SetGroupName { .. } | ActionKind::SetTopic { .. } => self.edit_group,
            ActionKind::Pin { .. } => self.pin,
            ActionKind::GrantReward { .. }
            | ActionKind::ReportBalance { .. }
            | ActionKind::IssueCoupon { .. }
            | ActionKind::PersonTask { .. }
            | ActionKind::MomentTask { .. }
            | ActionKind::StartGame { .. }
            | ActionKind::StartDrop { .. } => false,
            ActionKind::SendWithButtons { .. } => self.send_autonomously && self.buttons,
            ActionKind::DeleteMessages { .. } => self.redact && self.delete_batch > 0,
            ActionKind::CreateInviteLink { .. }
            | ActionKind::EditInviteLink { .. }
            | ActionKind::RevokeInviteLink { .. } => self.per_member_invite_links,
            ActionKind::SendDice { .. } | ActionKind::SendPoll { .. } => self.games,
            ActionKind::CreateGroup { .. } => self.create_groups,
            ActionKind::SendImage { .. } => self.send_autonomously && self.send_images,
        }
    }
}

/// What a poll brought: new events and the cursor to resume after them.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    /// Persisted with the events, in the same transaction, so a restart resumes with no gap.
    pub cursor: Option<String>,
}

/// Why an action or a poll failed, sorted by what the dispatcher should do next.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// Slow down and try again after this long (429 with Retry-After).
    #[error("rate limited, retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Worth retrying with backoff (network error, 5xx).
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help (no power, unknown room, unsupported action); dead-letter at once.
    #[error("{0}")]
    Permanent(String),
    /// The credentials are wrong or expired; the connector cannot go on until reconfigured.
    #[error("authentication failed: {0}")]
    Auth(String),
}

pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// One platform account qunzhu operates through.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    fn platform(&self) -> Platform;

    /// A stable name for this account, the key under which its cursor is stored.
    fn id(&self) -> &str;

    fn capabilities(&self) -> &Capabilities;

    /// The bot's own user id on the platform, where it shows up among a group's members (a
    /// flash group's dissolve removes everyone else); `None` where it never does.
    fn bot_user(&self) -> Option<String> {
        None
    }

    /// Waits (long-polls) for what happened after `cursor`; `None` means from the start.
    async fn poll(&self, cursor: Option<&str>) -> Result<Batch>;

    /// Carries out one action; the answer is the platform's receipt (an event id) if any.
    ///
    /// `action.key` must be passed to the platform where it can deduplicate (Matrix txnId) so a
    /// retry after a crash does not act twice.
    async fn execute(&self, action: &ActionRecord) -> Result<Option<String>>;

    /// A member's personal invite link to one group, named with their `code`, so a join through
    /// it comes back as `JoinVia::Link { code }` (attribution). Created on first request and the
    /// same link returned after; platforms without invite links refuse.
    async fn member_link(&self, chat: &str, code: &str) -> Result<String> {
        let _ = (chat, code);
        Err(ConnectorError::Permanent(format!(
            "{} has no per-member invite links",
            self.platform()
        )))
    }

    /// Where the bot may write privately to `member`, who asked to join `chat` and is not yet
    /// decided (a review question): send a message with this chat. Telegram gives a request's
    /// `user_chat_id` for five minutes; `None` where the platform has no such channel, the
    /// window has passed or the request was decided.
    fn requester_chat(&self, chat: &str, member: &str) -> Option<RequesterChat> {
        let _ = (chat, member);
        None
    }
}

/// A private chat with someone who asked to join, open until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequesterChat {
    pub chat: String,
    pub until: chrono::DateTime<chrono::Utc>,
}

//! Actions: what the engine decided to do, kept in the durable outbox until done.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ActionId, Platform, WorkspaceId};
use crate::origin::ActionOrigin;

/// Who carries an action out: the platform connector, qunzhu's own points ledger, or a person
/// (a post on a platform that cannot send by itself, confirmed by hand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionTarget {
    Platform,
    Ledger,
    Person,
    /// The engine itself: a game an SOP step starts, taken by the tick loop of the platform's
    /// runtime, never sent to a platform.
    Engine,
}

impl ActionTarget {
    /// The word the outbox stores in its `target` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionTarget::Platform => "platform",
            ActionTarget::Ledger => "ledger",
            ActionTarget::Person => "person",
            ActionTarget::Engine => "engine",
        }
    }
}

/// The closed set of things the bot can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionKind {
    SendMessage {
        text: String,
        /// Formatted body, when the platform renders HTML.
        html: Option<String>,
        /// Platform user ids to mention (a pill on Matrix, an @ on WeCom).
        mentions: Vec<String>,
        reply_to: Option<String>,
    },
    Kick {
        member: String,
        reason: String,
    },
    Ban {
        member: String,
        reason: String,
    },
    Unban {
        member: String,
        reason: String,
    },
    Mute {
        member: String,
        until: Option<DateTime<Utc>>,
        reason: String,
    },
    Unmute {
        member: String,
    },
    Redact {
        message_id: String,
        reason: String,
    },
    Invite {
        member: String,
    },
    DecideJoinRequest {
        member: String,
        approve: bool,
        reason: String,
    },
    SetPowerLevel {
        member: String,
        level: i64,
    },
    SetGroupName {
        name: String,
    },
    SetTopic {
        topic: String,
    },
    /// The level a member needs to post in the group (Matrix `events_default`): raised above
    /// the members' level it closes an ended flash group to new posts while keeping its history.
    SetPostingLevel {
        level: i64,
    },
    Pin {
        message_id: String,
    },
    /// Points or a coupon for a member; the rewards ledger consumes it, not a platform.
    GrantReward {
        member: String,
        points: i64,
        reason: String,
    },
    /// A coupon for a member (a join gift to the newcomer or the inviter); the ledger worker
    /// issues it with a fresh code and tells the member in the group.
    IssueCoupon {
        member: String,
        offer: crate::coupon::CouponOffer,
        /// Days it stays valid; `None` never expires.
        valid_days: Option<u32>,
        memo: String,
    },
    /// A member asked for their points balance (`积分`); the ledger worker answers in the group.
    ReportBalance {
        member: String,
    },
    /// A post a person must make (WeCom confirms every group send in its client); tracked in
    /// the outbox until someone confirms it was sent.
    PersonTask {
        text: String,
    },
    /// A message with inline buttons; a click comes back as `EventKind::ButtonClicked` with the
    /// button's `data` (Telegram callback_data, 1–64 bytes).
    SendWithButtons {
        text: String,
        html: Option<String>,
        /// Rows of buttons.
        buttons: Vec<Vec<Button>>,
        reply_to: Option<String>,
    },
    /// Several messages removed in one call (Telegram deleteMessages, up to 100 ids).
    DeleteMessages {
        message_ids: Vec<String>,
        reason: String,
    },
    /// An invite link named `name` (a member's or a campaign's code), so joins through it are
    /// attributed; the receipt is the link.
    CreateInviteLink {
        name: String,
        member_limit: Option<u32>,
        expire_at: Option<DateTime<Utc>>,
        /// Joining through it asks to join (reviewed) instead of entering directly.
        join_request: bool,
    },
    EditInviteLink {
        link: String,
        name: String,
        member_limit: Option<u32>,
        expire_at: Option<DateTime<Utc>>,
        join_request: bool,
    },
    RevokeInviteLink {
        link: String,
    },
    /// An image the bot posts, fetched from `url` (qunzhu's own `/p/{code}.png` for a
    /// member's poster): Matrix uploads it to the media repository and sends `m.image`,
    /// Telegram's `sendPhoto` takes the URL.
    SendImage {
        url: String,
        caption: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<String>,
    },
    /// A die thrown by the bot (🎲🎯🏀⚽🎳🎰).
    SendDice {
        emoji: String,
    },
    /// A poll, or a quiz when `correct_option` is set; answers come back as
    /// `EventKind::PollAnswered` carrying this action's key.
    SendPoll {
        question: String,
        options: Vec<String>,
        /// The right answer (0-based) makes it a quiz.
        correct_option: Option<u32>,
        explanation: Option<String>,
        /// Seconds it stays open (5–600 on Telegram).
        open_period: Option<u32>,
        /// Anonymous polls report no answers.
        anonymous: bool,
        /// A member tag per option (a survey's "city:上海"): answering adds it to the member,
        /// retracting removes it. Empty when no option tags.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<Option<String>>,
    },
    /// A 朋友圈 (moments) post for staff to publish to their customers; on WeCom an
    /// `add_moment_task` followed to its moment id, elsewhere a person's job. Empty `staff`
    /// means the connector's configured staff.
    MomentTask {
        text: String,
        staff: Vec<String>,
    },
    /// A game an SOP step starts in the group at its time; the engine's games decider runs it
    /// (keyed by this action's key, so an occurrence starts one game, even across a restart).
    StartGame {
        game: crate::game::GamePlan,
        /// The step's text, announced when the game opens.
        intro: String,
    },
    /// A point drop an SOP step starts in the group at its time; the engine schedules it as a
    /// drop keyed by this action's key (`keys::planned_drop`), so an occurrence drops once.
    StartDrop {
        drop: crate::game::DropPlan,
        /// The step's text, posted before the drop's own announcement (empty: none).
        intro: String,
    },
    /// A rule of the brand's Matrix policy list (`m.policy.rule.user` / `.server`, recommendation
    /// `m.ban`) written as a state event in the policy room the connector is configured with;
    /// `reason: None` removes the rule (empty content). `chat` is [`POLICY_CHAT`].
    PolicyRule {
        target: crate::ban::BanTarget,
        entity: String,
        reason: Option<String>,
    },
    /// A new group made from a template (a live code's spare group, made before the set is
    /// full); `chat` is [`NEW_GROUP_CHAT`] until it exists. `alias` comes from the action key
    /// (`keys::group_alias`), so a create retried after a crash finds the group it already made
    /// instead of making a second; the receipt is the new group's platform id.
    CreateGroup {
        name: String,
        topic: String,
        alias: String,
        join_rule: crate::model::JoinRule,
        /// Power levels of named members (a moderator), on top of the platform's defaults.
        #[serde(default)]
        power_users: std::collections::BTreeMap<String, i64>,
        /// The level needed to post; `None` keeps the platform's default (everyone).
        #[serde(default)]
        events_default: Option<i64>,
    },
}

/// The pseudo-chat of a [`ActionKind::CreateGroup`]: the group has no platform id yet.
pub const NEW_GROUP_CHAT: &str = "new";

/// The pseudo-chat of policy-list actions: the connector writes them to its own policy room.
pub const POLICY_CHAT: &str = "policy";

/// An inline button: what it says and what a click sends back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub data: String,
}

impl ActionKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::SendMessage { .. } => "send_message",
            ActionKind::Kick { .. } => "kick",
            ActionKind::Ban { .. } => "ban",
            ActionKind::Unban { .. } => "unban",
            ActionKind::Mute { .. } => "mute",
            ActionKind::Unmute { .. } => "unmute",
            ActionKind::Redact { .. } => "redact",
            ActionKind::Invite { .. } => "invite",
            ActionKind::DecideJoinRequest { .. } => "decide_join_request",
            ActionKind::SetPowerLevel { .. } => "set_power_level",
            ActionKind::SetGroupName { .. } => "set_group_name",
            ActionKind::SetTopic { .. } => "set_topic",
            ActionKind::SetPostingLevel { .. } => "set_posting_level",
            ActionKind::Pin { .. } => "pin",
            ActionKind::GrantReward { .. } => "grant_reward",
            ActionKind::ReportBalance { .. } => "report_balance",
            ActionKind::IssueCoupon { .. } => "issue_coupon",
            ActionKind::PersonTask { .. } => "person_task",
            ActionKind::SendWithButtons { .. } => "send_with_buttons",
            ActionKind::DeleteMessages { .. } => "delete_messages",
            ActionKind::CreateInviteLink { .. } => "create_invite_link",
            ActionKind::EditInviteLink { .. } => "edit_invite_link",
            ActionKind::RevokeInviteLink { .. } => "revoke_invite_link",
            ActionKind::SendImage { .. } => "send_image",
            ActionKind::SendDice { .. } => "send_dice",
            ActionKind::SendPoll { .. } => "send_poll",
            ActionKind::MomentTask { .. } => "moment_task",
            ActionKind::StartGame { .. } => "start_game",
            ActionKind::StartDrop { .. } => "start_drop",
            ActionKind::PolicyRule { .. } => "policy_rule",
            ActionKind::CreateGroup { .. } => "create_group",
        }
    }

    pub fn target(&self) -> ActionTarget {
        match self {
            ActionKind::GrantReward { .. }
            | ActionKind::ReportBalance { .. }
            | ActionKind::IssueCoupon { .. } => ActionTarget::Ledger,
            ActionKind::PersonTask { .. } | ActionKind::MomentTask { .. } => ActionTarget::Person,
            ActionKind::StartGame { .. } | ActionKind::StartDrop { .. } => ActionTarget::Engine,
            _ => ActionTarget::Platform,
        }
    }
}

/// An action about to be written to the outbox.
///
/// `key` is its idempotency key: derived from what caused it (an event key and a rule, a plan
/// step and a scheduled time), so deciding the same thing twice writes it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAction {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub chat: String,
    pub key: String,
    pub kind: ActionKind,
    /// When it was decided (the clock's now, or the causing event's time).
    pub created_at: DateTime<Utc>,
    /// Not to be carried out before this instant (a batching window, a scheduled post).
    pub not_before: DateTime<Utc>,
    /// Pointless after this instant (a morning report past its grace window): skipped, with the
    /// reason, instead of being sent late.
    pub expires_at: Option<DateTime<Utc>>,
    /// Recorded for the operator to see what a rule would do, never carried out.
    pub dry_run: bool,
    /// What decided it (stored as `rule:<name>`, `sop:<plan>@v<n>/<step>`, `api:<actor>`, ...).
    pub origin: ActionOrigin,
    /// The event that caused it, if any.
    pub cause: Option<String>,
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Waiting to be tried (again) at `next_attempt_at`.
    Pending,
    /// Claimed by a dispatcher whose lease has not run out.
    InFlight,
    /// The platform confirmed it.
    Done,
    /// Given up after too many attempts or a permanent error; the reason is kept.
    Dead,
    /// Not carried out on purpose: expired, or cancelled because its plan changed.
    Skipped,
    /// Decided by a rule in dry-run: recorded, never carried out.
    DryRun,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Pending => "pending",
            ActionStatus::InFlight => "in_flight",
            ActionStatus::Done => "done",
            ActionStatus::Dead => "dead",
            ActionStatus::Skipped => "skipped",
            ActionStatus::DryRun => "dry_run",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => ActionStatus::Pending,
            "in_flight" => ActionStatus::InFlight,
            "done" => ActionStatus::Done,
            "dead" => ActionStatus::Dead,
            "skipped" => ActionStatus::Skipped,
            "dry_run" => ActionStatus::DryRun,
            _ => return None,
        })
    }
}

/// An action as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub id: ActionId,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub chat: String,
    pub key: String,
    pub kind: ActionKind,
    pub origin: ActionOrigin,
    pub cause: Option<String>,
    pub status: ActionStatus,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// What the platform answered (a Matrix event id), once done.
    pub receipt: Option<String>,
}

impl ActionRecord {
    /// How late it was carried out compared with when it was wanted.
    pub fn lateness(&self) -> Option<chrono::Duration> {
        self.done_at.map(|done| done - self.not_before)
    }
}

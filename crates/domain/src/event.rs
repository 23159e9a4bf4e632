//! Normalized events: what happened in a group, in the same shape whatever the platform.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{MemberId, Platform, WorkspaceId};

/// One thing that happened in one group, as a connector reports it.
///
/// `key` is the platform's own idempotency key (a Matrix event id, a Telegram update id): the
/// same key delivered twice is one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub key: String,
    pub chat: String,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
}

/// How a member came into a group (attribution starts here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum JoinVia {
    /// Someone invited them; `by` is the inviter's platform id.
    Invited { by: String },
    /// Through an invite link or live code the platform reports.
    Link { code: String },
    /// A join request (knock) was approved, by whom if known.
    KnockApproved { by: Option<String> },
    /// They walked in through an open door.
    Direct,
}

/// How a member went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveHow {
    Left,
    Kicked,
    Banned,
}

impl LeaveHow {
    /// Whether someone else took the member out (kicked or banned), not the member themselves.
    pub fn is_removal(self) -> bool {
        matches!(self, LeaveHow::Kicked | LeaveHow::Banned)
    }
}

/// What a message carries, beyond its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Notice,
    Emote,
    Image,
    File,
    Other,
}

/// The closed set of things qunzhu reacts to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    MemberJoined {
        member: MemberId,
        display_name: Option<String>,
        via: JoinVia,
    },
    /// A member found already present (the bot just arrived): membership without a join.
    MemberPresent {
        member: MemberId,
        display_name: Option<String>,
    },
    MemberLeft {
        member: MemberId,
        how: LeaveHow,
        by: Option<String>,
    },
    MemberInvited {
        member: MemberId,
        by: String,
    },
    MemberUnbanned {
        member: MemberId,
        by: String,
    },
    MessagePosted {
        member: MemberId,
        message_id: String,
        text: String,
        links: Vec<String>,
        mentions: Vec<String>,
        reply_to: Option<String>,
        message_kind: MessageKind,
        /// The sender is a bot (qunzhu itself or another): rules never answer bots.
        from_bot: bool,
    },
    DisplayNameChanged {
        member: MemberId,
        old: Option<String>,
        new: String,
    },
    JoinRequested {
        member: MemberId,
        display_name: Option<String>,
        reason: Option<String>,
    },
    JoinRequestDenied {
        member: MemberId,
        by: String,
    },
    Reaction {
        member: MemberId,
        target: String,
        reaction: String,
    },
    MessageRedacted {
        target: String,
        by: String,
    },
    GroupRenamed {
        name: String,
        by: Option<String>,
    },
    /// A member changed a message they had posted (Telegram `edited_message`); logged with
    /// the new text, links and mentions, and not counted as a new message.
    MessageEdited {
        member: MemberId,
        message_id: String,
        text: String,
        links: Vec<String>,
        mentions: Vec<String>,
    },
    /// A member answered a poll the bot sent (Telegram `poll_answer`).
    PollAnswered {
        member: MemberId,
        /// The platform's poll id.
        poll_id: String,
        /// The outbox key of the action that sent the poll, when the connector knows it: this
        /// is how a quiz decider tells its own questions apart.
        poll_key: Option<String>,
        /// Chosen options, 0-based; empty when the member retracted their vote.
        option_ids: Vec<u32>,
        /// The chosen options' texts, when known.
        options: Vec<String>,
    },
    /// A member clicked an inline button carrying `data` (Telegram `callback_query`).
    ButtonClicked {
        member: MemberId,
        /// The message the button was under, if the platform says.
        message_id: Option<String>,
        data: String,
    },
    /// A member threw a die (Telegram 🎲🎯🏀⚽🎳🎰 messages); `value` is the platform's result.
    DiceRolled {
        member: MemberId,
        message_id: String,
        emoji: String,
        value: u32,
    },
    /// The group's notice (WeCom 群公告) or topic was changed.
    GroupTopicChanged {
        topic: String,
    },
    /// Ownership passed to another staff member (WeCom customer groups have exactly one owner).
    GroupOwnerChanged {
        owner: String,
    },
    /// The group no longer exists (WeCom `dismiss`).
    GroupDismissed,
    /// A rule of a followed Matrix policy list was written, withdrawn or redacted. `chat` is
    /// the list as the workspace follows it, not a group: nothing of a list makes a group.
    PolicyRuleChanged {
        /// The state event's type (`m.policy.rule.user`, the legacy `m.room.rule.server`, …);
        /// `None` for a redaction, which names the rule event it strips instead.
        rule_type: Option<String>,
        /// The rule's state key (its name within its type in the list).
        state_key: Option<String>,
        /// The user id, glob or server the rule names; `None` when the content was emptied.
        entity: Option<String>,
        /// `m.ban` (or the legacy `org.matrix.mjolnir.ban`) is the one qunzhu enforces.
        recommendation: Option<String>,
        reason: Option<String>,
        /// Who wrote the rule (the list's moderator), kept as the ban's decider.
        sender: String,
        /// For a redaction: the rule event it strips (withdrawing that rule if it still stands).
        redacts: Option<String>,
    },
    /// What the bot may do in the group, read from the platform's permissions (Matrix: the
    /// room's `m.room.power_levels`, at the bot's arrival and on every change). Kept per group
    /// as a read model so the console warns of a rule step the bot cannot take.
    BotPowers {
        /// The bot's level (Matrix power level; 0 where the platform has none).
        level: i64,
        can_redact: bool,
        can_kick: bool,
        can_ban: bool,
        can_mute: bool,
    },
    /// The shop reported an order (the signed orders webhook). `chat` is the group the order
    /// is attributed to, empty when none; a refund is a negative amount naming the original.
    OrderPlaced {
        order_id: String,
        member: MemberId,
        /// In the currency's minor unit (分, cents); negative for a refund.
        amount_cents: i64,
        currency: String,
        items: Vec<String>,
        coupon: Option<String>,
        /// The tracked-link token the buyer came through, if the shop passed it on.
        link_token: Option<String>,
        /// For a refund: the order it refunds.
        refund_of: Option<String>,
    },
}

impl EventKind {
    /// A short stable name, used as a column and in logs.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::MemberJoined { .. } => "member_joined",
            EventKind::MemberPresent { .. } => "member_present",
            EventKind::MemberLeft { .. } => "member_left",
            EventKind::MemberInvited { .. } => "member_invited",
            EventKind::MemberUnbanned { .. } => "member_unbanned",
            EventKind::MessagePosted { .. } => "message_posted",
            EventKind::DisplayNameChanged { .. } => "display_name_changed",
            EventKind::JoinRequested { .. } => "join_requested",
            EventKind::JoinRequestDenied { .. } => "join_request_denied",
            EventKind::Reaction { .. } => "reaction",
            EventKind::MessageRedacted { .. } => "message_redacted",
            EventKind::GroupRenamed { .. } => "group_renamed",
            EventKind::MessageEdited { .. } => "message_edited",
            EventKind::PollAnswered { .. } => "poll_answered",
            EventKind::ButtonClicked { .. } => "button_clicked",
            EventKind::DiceRolled { .. } => "dice_rolled",
            EventKind::GroupTopicChanged { .. } => "group_topic_changed",
            EventKind::GroupOwnerChanged { .. } => "group_owner_changed",
            EventKind::GroupDismissed => "group_dismissed",
            EventKind::OrderPlaced { .. } => "order_placed",
            EventKind::PolicyRuleChanged { .. } => "policy_rule_changed",
            EventKind::BotPowers { .. } => "bot_powers",
        }
    }

    /// The member the event is about, if any.
    pub fn member(&self) -> Option<&MemberId> {
        match self {
            EventKind::MemberJoined { member, .. }
            | EventKind::MemberPresent { member, .. }
            | EventKind::MemberLeft { member, .. }
            | EventKind::MemberInvited { member, .. }
            | EventKind::MemberUnbanned { member, .. }
            | EventKind::MessagePosted { member, .. }
            | EventKind::DisplayNameChanged { member, .. }
            | EventKind::JoinRequested { member, .. }
            | EventKind::JoinRequestDenied { member, .. }
            | EventKind::Reaction { member, .. }
            | EventKind::MessageEdited { member, .. }
            | EventKind::PollAnswered { member, .. }
            | EventKind::ButtonClicked { member, .. }
            | EventKind::DiceRolled { member, .. }
            | EventKind::OrderPlaced { member, .. } => Some(member),
            EventKind::MessageRedacted { .. }
            | EventKind::GroupRenamed { .. }
            | EventKind::GroupTopicChanged { .. }
            | EventKind::GroupOwnerChanged { .. }
            | EventKind::GroupDismissed
            | EventKind::PolicyRuleChanged { .. }
            | EventKind::BotPowers { .. } => None,
        }
    }

    /// Whether the event's chat is a group: a followed policy list's rules are not, so the
    /// stores make no group row for them.
    pub fn names_group(&self) -> bool {
        !matches!(self, EventKind::PolicyRuleChanged { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kind_serializes_with_a_type_tag() {
        let kind = EventKind::MemberJoined {
            member: "@a:x".into(),
            display_name: Some("上海-小王".into()),
            via: JoinVia::Invited { by: "@b:x".into() },
        };
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(
            json,
            r#"{"type":"member_joined","member":"@a:x","display_name":"上海-小王","via":{"how":"invited","by":"@b:x"}}"#
        );
        assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
        assert_eq!(kind.name(), "member_joined");
    }
}

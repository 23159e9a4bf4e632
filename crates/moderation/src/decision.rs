//! Decisions: an outbox action (or none) plus the audit record that explains it.

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionKind, ActionOrigin, ActorName, NewAction, Platform, WorkspaceId};
use serde::Serialize;

/// Who decided: always the bot here (the API records a person for undo).
pub const BOT_ACTOR: &str = "bot";

/// What the guardian decided about one cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The action for the outbox; `None` for decisions that only need recording (a join
    /// request queued for a person, a rule that fired with nothing left to do).
    pub action: Option<NewAction>,
    pub audit: AuditRecord,
    /// Recorded, never carried out (the action's own `dry_run` says the same).
    pub dry_run: bool,
}

/// Why a decision was taken, for the operator's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// The rule or policy: a rule name, `welcome`, `nickname`, `faq`, `review`, `lurker`, `rules`.
    pub rule: String,
    /// What was done, in words (`redact`, `warn 2`, `welcome 10`, ...).
    pub summary: String,
    pub actor: String,
    pub chat: String,
    pub member: Option<String>,
    pub display_name: Option<String>,
    /// The event that caused it.
    pub event_key: Option<String>,
    pub message_id: Option<String>,
    /// The start of the offending text (at most 80 characters).
    pub excerpt: Option<String>,
    /// What matched: a keyword, a link's host, a pattern, a count.
    pub matched: Option<String>,
    pub at: DateTime<Utc>,
}

/// Where an action goes and when it was decided: everything a `NewAction` takes besides its
/// key and kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub chat: &'a str,
    pub now: DateTime<Utc>,
}

impl Target<'_> {
    pub(crate) fn action(
        &self,
        key: String,
        kind: ActionKind,
        origin: &str,
        cause: Option<&str>,
        dry_run: bool,
    ) -> NewAction {
        NewAction {
            workspace: self.workspace,
            platform: self.platform,
            chat: self.chat.to_string(),
            key,
            kind,
            created_at: self.now,
            not_before: self.now,
            expires_at: None,
            dry_run,
            origin: ActionOrigin::rule(origin),
            cause: cause.map(str::to_string),
        }
    }

    /// An audit record with the chat and time filled in.
    pub(crate) fn audit(&self, rule: &str, summary: impl Into<String>) -> AuditRecord {
        AuditRecord {
            rule: rule.to_string(),
            summary: summary.into(),
            actor: BOT_ACTOR.to_string(),
            chat: self.chat.to_string(),
            member: None,
            display_name: None,
            event_key: None,
            message_id: None,
            excerpt: None,
            matched: None,
            at: self.now,
        }
    }
}

/// The first 80 characters of a message, for evidence without keeping whole messages.
pub(crate) fn excerpt(text: &str) -> String {
    const LIMIT: usize = 80;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Builds the undo actions the API issues when an operator reverses a decision.
pub mod undo {
    use super::*;

    fn undo_action(
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        kind: ActionKind,
        by: &ActorName,
        cause: &str,
        now: DateTime<Utc>,
    ) -> NewAction {
        NewAction {
            workspace,
            platform,
            chat: chat.to_string(),
            key: qunzhu_domain::keys::undo(kind.name(), chat, kind_member(&kind), cause),
            kind,
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: ActionOrigin::Api(by.clone()),
            cause: Some(cause.to_string()),
        }
    }

    fn kind_member(kind: &ActionKind) -> &str {
        match kind {
            ActionKind::Unban { member, .. } | ActionKind::Unmute { member } => member,
            _ => "",
        }
    }

    /// Lifts a ban. `cause` names what is undone (the ban action's key), which makes the key
    /// deterministic: undoing the same ban twice writes one action.
    pub fn unban(
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        member: &str,
        by: &ActorName,
        cause: &str,
        now: DateTime<Utc>,
    ) -> NewAction {
        let kind = ActionKind::Unban {
            member: member.to_string(),
            reason: format!("由 {by} 撤销"),
        };
        undo_action(workspace, platform, chat, kind, by, cause, now)
    }

    /// Lifts a mute; `cause` as for [`unban`].
    pub fn unmute(
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        member: &str,
        by: &ActorName,
        cause: &str,
        now: DateTime<Utc>,
    ) -> NewAction {
        let kind = ActionKind::Unmute {
            member: member.to_string(),
        };
        undo_action(workspace, platform, chat, kind, by, cause, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn undo_helpers_build_keyed_api_actions() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap();
        let action = undo::unban(
            WorkspaceId(1),
            Platform::Matrix,
            "!g:x",
            "@a:x",
            &ActorName::User("alice".into()),
            "mod:ads:$e1:ban",
            now,
        );
        assert_eq!(action.key, "undo:unban:!g:x:@a:x:mod:ads:$e1:ban");
        assert_eq!(action.origin.to_string(), "api:user:alice");
        assert_eq!(
            action.kind,
            ActionKind::Unban {
                member: "@a:x".into(),
                reason: "由 user:alice 撤销".into()
            }
        );
        let action = undo::unmute(
            WorkspaceId(1),
            Platform::Matrix,
            "!g:x",
            "@a:x",
            &ActorName::User("alice".into()),
            "mod:flood:$e2:mute",
            now,
        );
        assert_eq!(action.key, "undo:unmute:!g:x:@a:x:mod:flood:$e2:mute");
        assert_eq!(
            action.kind,
            ActionKind::Unmute {
                member: "@a:x".into()
            }
        );
        assert_eq!(excerpt(&"字".repeat(100)).chars().count(), 81);
    }
}

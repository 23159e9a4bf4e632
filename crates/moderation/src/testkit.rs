//! Test helpers: events, facts and fake times, so guardian tests read like scripts.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_domain::{
    ActionKind, Event, EventKind, GroupType, JoinVia, MemberRole, MemberTier, MessageKind,
    Platform, WorkspaceId,
};

use crate::{check, Decision, GroupFacts, Guardian, MemberFacts};

pub(crate) const CHAT: &str = "!g:example.org";

/// 2024-05-01 08:00 UTC plus `seconds`.
pub(crate) fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap() + Duration::seconds(seconds)
}

pub(crate) fn guardian(source: &str) -> Guardian {
    match check(source, "test.toml") {
        Ok(rules) => Guardian::new(Arc::new(rules)),
        Err(diagnostics) => panic!("test rules fail check: {diagnostics:?}"),
    }
}

pub(crate) fn group() -> GroupFacts {
    GroupFacts {
        name: "读书会".to_string(),
        group_type: GroupType::Traffic,
    }
}

pub(crate) fn facts(role: MemberRole, name: &str, joined_at: Option<DateTime<Utc>>) -> MemberFacts {
    MemberFacts {
        role,
        tier: MemberTier::Regular,
        joined_at,
        display_name: Some(name.to_string()),
    }
}

pub(crate) fn member() -> MemberFacts {
    facts(MemberRole::Member, "上海-小王", Some(t(-30 * 86_400)))
}

pub(crate) fn event(key: &str, at: DateTime<Utc>, kind: EventKind) -> Event {
    Event {
        workspace: WorkspaceId(1),
        platform: Platform::Matrix,
        key: key.to_string(),
        chat: CHAT.to_string(),
        at,
        kind,
    }
}

pub(crate) fn message(key: &str, at: DateTime<Utc>, member: &str, text: &str) -> Event {
    message_with(key, at, member, text, Vec::new(), Vec::new())
}

pub(crate) fn message_with(
    key: &str,
    at: DateTime<Utc>,
    member: &str,
    text: &str,
    links: Vec<String>,
    mentions: Vec<String>,
) -> Event {
    event(
        key,
        at,
        EventKind::MessagePosted {
            member: member.to_string().into(),
            message_id: format!("m-{key}"),
            text: text.to_string(),
            links,
            mentions,
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        },
    )
}

pub(crate) fn join(key: &str, at: DateTime<Utc>, member: &str, name: &str) -> Event {
    event(
        key,
        at,
        EventKind::MemberJoined {
            member: member.to_string().into(),
            display_name: Some(name.to_string()),
            via: JoinVia::Direct,
        },
    )
}

/// `kind` + its main argument, one string per decision: compact expectations for tables.
pub(crate) fn summary(decisions: &[Decision]) -> Vec<String> {
    decisions
        .iter()
        .map(|decision| {
            let dry = if decision.dry_run { " (dry)" } else { "" };
            let Some(action) = &decision.action else {
                return format!("none {}{dry}", decision.audit.summary);
            };
            let detail = match &action.kind {
                ActionKind::SendMessage { text, .. } => text.clone(),
                ActionKind::Redact { message_id, .. } => message_id.clone(),
                ActionKind::DeleteMessages { message_ids, .. } => message_ids.join(" "),
                ActionKind::Mute { member, until, .. } => {
                    format!(
                        "{member} {}m",
                        until.map_or(0, |until| (until - action.created_at).num_minutes())
                    )
                }
                ActionKind::Kick { member, .. } | ActionKind::Ban { member, .. } => member.clone(),
                ActionKind::GrantReward { member, points, .. } => format!("{member} {points}"),
                ActionKind::DecideJoinRequest {
                    member, approve, ..
                } => format!("{member} {approve}"),
                other => other.name().to_string(),
            };
            format!("{} {detail}{dry}", action.kind.name())
        })
        .collect()
}

//! Derived state: membership and daily counts, as a pure function of the event log.
//!
//! The storage backends keep the same state in tables, updated in the transaction that appends
//! the event; this reducer is the specification they are tested against (replaying the log
//! through either must give exactly the same state).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::model::{Platform, WorkspaceId};

/// The operator's calendar day an instant falls on.
pub fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// A group on a platform within a workspace.
pub type ChatKey = (WorkspaceId, Platform, String);
/// A member within a group.
pub type MemberKey = (WorkspaceId, Platform, String, String);

/// One member's standing in one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub display_name: Option<String>,
    pub present: bool,
    pub joined_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
    pub last_spoke_at: Option<DateTime<Utc>>,
    pub messages: u64,
}

/// One member's activity in one group on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDay {
    pub messages: u64,
}

/// One group's activity on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDay {
    pub joins: u64,
    pub leaves: u64,
    pub messages: u64,
    /// Distinct members who posted at least once that day.
    pub speakers: u64,
    /// Of the leaves, those kicked or banned (the rest left by themselves).
    pub removed: u64,
}

/// Everything derived from the log, in ordered maps so two states compare and print stably.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivedState {
    pub memberships: BTreeMap<MemberKey, Membership>,
    pub member_days: BTreeMap<(MemberKey, NaiveDate), MemberDay>,
    pub group_days: BTreeMap<(ChatKey, NaiveDate), GroupDay>,
}

impl DerivedState {
    /// Applies one (new, never seen before) event; `day` is its local day.
    pub fn apply(&mut self, event: &Event, day: NaiveDate) {
        let chat: ChatKey = (event.workspace, event.platform, event.chat.clone());
        let Some(member) = event.kind.member() else {
            return;
        };
        let member_key: MemberKey = (chat.0, chat.1, chat.2.clone(), member.to_string());
        match &event.kind {
            EventKind::MemberJoined { display_name, .. } => {
                let row = self.memberships.entry(member_key).or_default();
                row.present = true;
                row.joined_at = Some(event.at);
                row.left_at = None;
                if display_name.is_some() {
                    row.display_name.clone_from(display_name);
                }
                self.group_days.entry((chat, day)).or_default().joins += 1;
            }
            EventKind::MemberPresent { display_name, .. } => {
                let row = self.memberships.entry(member_key).or_default();
                if !row.present {
                    row.present = true;
                    row.joined_at.get_or_insert(event.at);
                    row.left_at = None;
                }
                if display_name.is_some() {
                    row.display_name.clone_from(display_name);
                }
            }
            EventKind::MemberLeft { how, .. } => {
                let row = self.memberships.entry(member_key).or_default();
                row.present = false;
                row.left_at = Some(event.at);
                let counts = self.group_days.entry((chat, day)).or_default();
                counts.leaves += 1;
                if how.is_removal() {
                    counts.removed += 1;
                }
            }
            EventKind::MessagePosted { .. } => {
                let row = self.memberships.entry(member_key.clone()).or_default();
                row.messages += 1;
                row.last_spoke_at = Some(
                    row.last_spoke_at
                        .map_or(event.at, |last| last.max(event.at)),
                );
                let member_day = self.member_days.entry((member_key, day)).or_default();
                member_day.messages += 1;
                let first_today = member_day.messages == 1;
                let group_day = self.group_days.entry((chat, day)).or_default();
                group_day.messages += 1;
                if first_today {
                    group_day.speakers += 1;
                }
            }
            EventKind::DisplayNameChanged { new, .. } => {
                self.memberships.entry(member_key).or_default().display_name = Some(new.clone());
            }
            _ => {}
        }
    }

    /// Members present in a group now.
    pub fn present_members(&self, chat: &ChatKey) -> BTreeSet<String> {
        self.memberships
            .iter()
            .filter(|((ws, platform, group, _), row)| {
                (*ws, *platform, group) == (chat.0, chat.1, &chat.2) && row.present
            })
            .map(|((_, _, _, member), _)| member.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{JoinVia, LeaveHow, MessageKind};

    fn event(key: &str, minute: i64, kind: EventKind) -> Event {
        Event {
            workspace: WorkspaceId(1),
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g1".into(),
            at: DateTime::from_timestamp(1_790_000_000 + minute * 60, 0).unwrap(),
            kind,
        }
    }

    fn message(member: &str) -> EventKind {
        EventKind::MessagePosted {
            member: member.into(),
            message_id: format!("m-{member}"),
            text: "hi".into(),
            links: vec![],
            mentions: vec![],
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        }
    }

    #[test]
    fn counts_joins_leaves_messages_and_distinct_speakers_per_day() {
        let day = NaiveDate::from_ymd_opt(2026, 9, 21).unwrap();
        let mut state = DerivedState::default();
        let joined = EventKind::MemberJoined {
            member: "a".into(),
            display_name: Some("A".into()),
            via: JoinVia::Direct,
        };
        state.apply(&event("1", 0, joined), day);
        state.apply(&event("2", 1, message("a")), day);
        state.apply(&event("3", 2, message("a")), day);
        state.apply(&event("4", 3, message("b")), day);
        let left = EventKind::MemberLeft {
            member: "b".into(),
            how: LeaveHow::Kicked,
            by: Some("a".into()),
        };
        state.apply(&event("5", 4, left), day);

        let chat: ChatKey = (WorkspaceId(1), Platform::Sandbox, "g1".into());
        let totals = state.group_days[&(chat.clone(), day)];
        assert_eq!(
            totals,
            GroupDay {
                joins: 1,
                leaves: 1,
                messages: 3,
                speakers: 2,
                removed: 1,
            }
        );
        assert_eq!(
            state.present_members(&chat),
            BTreeSet::from(["a".to_string()])
        );
        let alice =
            &state.memberships[&(WorkspaceId(1), Platform::Sandbox, "g1".into(), "a".into())];
        assert_eq!(alice.messages, 2);
        assert_eq!(alice.display_name.as_deref(), Some("A"));
    }

    #[test]
    fn local_day_follows_the_operator_time_zone() {
        let late_utc = DateTime::parse_from_rfc3339("2026-11-24T17:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            local_day(late_utc, chrono_tz::Asia::Shanghai),
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
        );
        assert_eq!(
            local_day(late_utc, chrono_tz::UTC),
            NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
        );
    }
}

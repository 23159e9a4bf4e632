//! Invite attribution: who brought each join, and through what; the pure step from a logged
//! event to a change of the invites read model.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, JoinVia};
use crate::model::Platform;

string_enum! {
    /// How a member came in.
    InviteChannel { Invited => "invited", Link => "link", KnockApproved => "knock_approved", Direct => "direct" }
}

/// A member's personal invite code (a link, a page, a platform's `state`), optionally for a
/// campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteCode {
    pub code: String,
    pub platform: Platform,
    /// The member the code belongs to: whoever joins through it counts for them.
    pub member: String,
    pub campaign: Option<String>,
}

/// A change to the invites read model, derived from one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InviteChange {
    /// A join with its attribution; the first join of a member in a group keeps its inviter.
    Joined {
        platform: Platform,
        chat: String,
        invitee: String,
        inviter: Option<String>,
        channel: InviteChannel,
        code: Option<String>,
        campaign: Option<String>,
        at: DateTime<Utc>,
    },
    /// The member went away (the invite no longer counts while they are gone).
    Left {
        platform: Platform,
        chat: String,
        invitee: String,
        at: DateTime<Utc>,
    },
}

/// The attribution change an event makes, if any; `codes` are the invite codes the event names.
pub fn invite_change(event: &Event, codes: &HashMap<String, InviteCode>) -> Option<InviteChange> {
    match &event.kind {
        EventKind::MemberJoined { member, via, .. } => {
            let (channel, inviter, code, campaign) = match via {
                JoinVia::Invited { by } if by != member => {
                    (InviteChannel::Invited, Some(by.clone()), None, None)
                }
                JoinVia::Invited { .. } => (InviteChannel::Invited, None, None, None),
                JoinVia::Link { code } => {
                    let known = codes
                        .get(code)
                        .filter(|known| known.platform == event.platform);
                    (
                        InviteChannel::Link,
                        // Joining through one's own link brings nobody.
                        known
                            .map(|known| known.member.clone())
                            .filter(|by| by != member),
                        Some(code.clone()),
                        known.and_then(|known| known.campaign.clone()),
                    )
                }
                JoinVia::KnockApproved { .. } => (InviteChannel::KnockApproved, None, None, None),
                JoinVia::Direct => (InviteChannel::Direct, None, None, None),
            };
            Some(InviteChange::Joined {
                platform: event.platform,
                chat: event.chat.clone(),
                invitee: member.0.clone(),
                inviter,
                channel,
                code,
                campaign,
                at: event.at,
            })
        }
        EventKind::MemberLeft { member, .. } => Some(InviteChange::Left {
            platform: event.platform,
            chat: event.chat.clone(),
            invitee: member.0.clone(),
            at: event.at,
        }),
        _ => None,
    }
}

/// The invite code a member's poster carries when the bot hands it out: derived from the
/// member (FNV-1a, 64 bits), so the pure decider and the poster route agree on it without a
/// lookup, and registered on first use. The `p` prefix keeps it apart from the random hex codes
/// operators create.
pub fn poster_code(
    workspace: crate::model::WorkspaceId,
    platform: Platform,
    member: &str,
) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let seed = format!("{}\u{0}{}\u{0}{member}", workspace.0, platform.as_str());
    for byte in seed.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("p{hash:016x}")
}

/// The link codes an event names, to look up before [`invite_change`].
pub fn named_code(event: &Event) -> Option<&str> {
    match &event.kind {
        EventKind::MemberJoined {
            via: JoinVia::Link { code },
            ..
        } => Some(code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LeaveHow;
    use crate::model::WorkspaceId;

    #[test]
    fn a_poster_code_is_the_members_own_and_never_a_random_one() {
        let code = poster_code(WorkspaceId(1), Platform::Matrix, "@a:hs");
        assert_eq!(code, poster_code(WorkspaceId(1), Platform::Matrix, "@a:hs"));
        assert_eq!(code.len(), 17);
        // Operators' codes are 12 hex digits: a `p` never appears in them.
        assert!(code.starts_with('p') && code[1..].chars().all(|c| c.is_ascii_hexdigit()));
        for other in [
            poster_code(WorkspaceId(1), Platform::Matrix, "@b:hs"),
            poster_code(WorkspaceId(2), Platform::Matrix, "@a:hs"),
            poster_code(WorkspaceId(1), Platform::Telegram, "@a:hs"),
        ] {
            assert_ne!(code, other);
        }
    }

    fn event(kind: EventKind) -> Event {
        Event {
            workspace: WorkspaceId(1),
            platform: Platform::Matrix,
            key: "$e".into(),
            chat: "!g".into(),
            at: DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default(),
            kind,
        }
    }

    fn joined(member: &str, via: JoinVia) -> Event {
        event(EventKind::MemberJoined {
            member: member.into(),
            display_name: None,
            via,
        })
    }

    fn attribution(
        change: Option<InviteChange>,
    ) -> (Option<String>, InviteChannel, Option<String>) {
        match change {
            Some(InviteChange::Joined {
                inviter,
                channel,
                campaign,
                ..
            }) => (inviter, channel, campaign),
            other => panic!("a join: {other:?}"),
        }
    }

    #[test]
    fn each_way_in_is_attributed_and_nobody_brings_themselves() {
        let codes: HashMap<String, InviteCode> = [(
            "a1".to_string(),
            InviteCode {
                code: "a1".into(),
                platform: Platform::Matrix,
                member: "@a".into(),
                campaign: Some("spring".into()),
            },
        )]
        .into();
        let cases = [
            (
                joined("@b", JoinVia::Invited { by: "@a".into() }),
                (Some("@a"), InviteChannel::Invited, None),
            ),
            (
                joined("@a", JoinVia::Invited { by: "@a".into() }),
                (None, InviteChannel::Invited, None),
            ),
            (
                joined("@b", JoinVia::Link { code: "a1".into() }),
                (Some("@a"), InviteChannel::Link, Some("spring")),
            ),
            (
                joined("@a", JoinVia::Link { code: "a1".into() }),
                (None, InviteChannel::Link, Some("spring")),
            ),
            (
                joined("@b", JoinVia::Link { code: "zz".into() }),
                (None, InviteChannel::Link, None),
            ),
            (
                joined("@b", JoinVia::Direct),
                (None, InviteChannel::Direct, None),
            ),
        ];
        for (event, (inviter, channel, campaign)) in cases {
            assert_eq!(
                attribution(invite_change(&event, &codes)),
                (
                    inviter.map(String::from),
                    channel,
                    campaign.map(String::from)
                ),
                "{:?}",
                event.kind
            );
        }
        let left = event(EventKind::MemberLeft {
            member: "@b".into(),
            how: LeaveHow::Left,
            by: None,
        });
        assert!(matches!(
            invite_change(&left, &codes),
            Some(InviteChange::Left { .. })
        ));
        assert_eq!(
            named_code(&joined("@b", JoinVia::Link { code: "a1".into() })),
            Some("a1")
        );
    }
}

//! Workspaces, groups and members: the records an operator manages, with their operators' vocabulary.

use serde::{Deserialize, Serialize};

/// A brand (tenant). Every record belongs to exactly one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkspaceId(pub i64);

impl std::fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An action in the outbox: the row id the store gave it, the handle undo, confirm and the
/// audit log use. JSON is the plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(pub i64);

impl std::fmt::Display for ActionId {
    /// The number, honouring width and alignment (`{:>6}` in the CLI's task list).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

/// A group: the row id the store gave it, how the console's paths (`/groups/7`), forms and the
/// API name it. JSON is the plain number, so pages, API bodies and stored payloads are unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(pub i64);

impl std::fmt::Display for GroupId {
    /// The number, honouring width and alignment, as `ActionId` does.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::str::FromStr for GroupId {
    type Err = std::num::ParseIntError;

    /// The number as written in a path, a form field or a CLI argument.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(GroupId)
    }
}

/// A member's identity on its platform (a Matrix user id, a Telegram user id, a WeCom
/// external user id): the platform's own text, which qunzhu never interprets. JSON is the
/// plain string, so stored rows and the event log's payloads are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MemberId(pub String);

impl MemberId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MemberId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

impl From<&str> for MemberId {
    fn from(text: &str) -> Self {
        MemberId(text.to_string())
    }
}

impl From<String> for MemberId {
    fn from(text: String) -> Self {
        MemberId(text)
    }
}

impl std::borrow::Borrow<str> for MemberId {
    /// Maps keyed by member id are looked up with a `&str` from a platform or a form.
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for MemberId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for MemberId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for MemberId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<MemberId> for String {
    /// An inviter or a code's owner (still plain text) compared with the member an event names.
    fn eq(&self, other: &MemberId) -> bool {
        self == &other.0
    }
}

/// An invite-task campaign (任务宝): the name of its `campaign` document, which is how its
/// invitee and prize rows, ledger memos and action keys name it. JSON is the plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CampaignId(pub String);

impl CampaignId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CampaignId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a closed string enum with `as_str`, `parse` and serde in snake_case.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the snake_case name; the error lists what would have been accepted.
            pub fn parse(text: &str) -> Result<Self, crate::model::UnknownVariant> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::model::UnknownVariant {
                        kind: stringify!($name),
                        given: text.to_string(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A word that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{given}`, expected one of: {}", expected.join(", "))]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub given: String,
    pub expected: &'static [&'static str],
}

string_enum! {
    /// The chat platform a group lives on.
    Platform { Matrix => "matrix", Telegram => "telegram", WeCom => "wecom", Sandbox => "sandbox" }
}

string_enum! {
    /// What a group is for (PLAYBOOKS §1): traffic 流量, flash 快闪, content 内容, check-in 打卡, member 会员.
    GroupType { Traffic => "traffic", Flash => "flash", Content => "content", CheckIn => "check_in", Member => "member" }
}

string_enum! {
    /// Who may enter a group the bot creates: anyone, only the invited, or whoever asks (knock).
    JoinRule { Public => "public", Invite => "invite", Knock => "knock" }
}

string_enum! {
    /// A group's life cycle.
    GroupStatus { Active => "active", Archived => "archived", Dissolved => "dissolved" }
}

string_enum! {
    /// A member's role in a group; every role but `Member` is exempt from moderation by default.
    MemberRole {
        Owner => "owner", Admin => "admin", Service => "service", Kol => "kol",
        Helper => "helper", Committee => "committee", Member => "member",
    }
}

string_enum! {
    /// A member's value tier: VIP, regular, or a prospect not yet a customer.
    MemberTier { Vip => "vip", Regular => "regular", Prospect => "prospect" }
}

impl MemberRole {
    /// Roles the moderation ladder leaves alone unless a rule says otherwise.
    pub fn exempt_by_default(self) -> bool {
        matches!(
            self,
            MemberRole::Owner
                | MemberRole::Admin
                | MemberRole::Service
                | MemberRole::Kol
                | MemberRole::Helper
        )
    }
}

/// The positioning profile (定位): "with solution X we help people Y solve problem Z".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Positioning {
    pub purpose: String,
    pub audience: String,
    pub value: String,
    pub paid: bool,
    pub channel: String,
}

/// A chat group qunzhu operates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub chat: String,
    pub name: String,
    pub group_type: GroupType,
    pub status: GroupStatus,
    pub capacity: u32,
    pub tags: Vec<String>,
    pub positioning: Positioning,
}

/// A person known on a platform, across all the workspace's groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub user: MemberId,
    pub display_name: String,
    pub role: MemberRole,
    pub tier: MemberTier,
    pub tags: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_reject_unknown_words() {
        for group_type in GroupType::ALL {
            assert_eq!(GroupType::parse(group_type.as_str()), Ok(*group_type));
        }
        let error = MemberRole::parse("boss").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown MemberRole `boss`, expected one of: owner, admin, service, kol, helper, committee, member"
        );
        assert!(MemberRole::Helper.exempt_by_default());
        assert!(!MemberRole::Committee.exempt_by_default());
    }

    #[test]
    fn ids_are_plain_json_and_print_as_their_value() {
        // Stored payloads, API bodies and pages were written with the raw number and text.
        assert_eq!(serde_json::to_string(&GroupId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<GroupId>("7").unwrap(), GroupId(7));
        assert_eq!("42".parse::<GroupId>(), Ok(GroupId(42)));
        assert!("g1".parse::<GroupId>().is_err());
        assert_eq!(format!("[{:>4}]", GroupId(7)), "[   7]");
        let member = MemberId::from("@a:x");
        assert_eq!(serde_json::to_string(&member).unwrap(), r#""@a:x""#);
        assert_eq!(
            serde_json::from_str::<MemberId>(r#""@a:x""#).unwrap(),
            member
        );
        assert_eq!(format!("{member}|{:<6}|", member), "@a:x|@a:x  |");
        assert_eq!(member, "@a:x");
        // Map keys stay the plain value, as `SpeakerCounts::per_group` is serialized.
        let per_group = std::collections::BTreeMap::from([(GroupId(3), 1u64)]);
        assert_eq!(serde_json::to_string(&per_group).unwrap(), r#"{"3":1}"#);
    }
}

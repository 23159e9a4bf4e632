//! Idempotency keys of the actions operators decide, built in one place.
//!
//! A key is derived from what caused the action, never from who asked or through which door
//! (console, API, CLI), so one decision taken twice is written once.

/// The decision on a join request, from the request's event key.
pub fn join_decision(request_event_key: &str) -> String {
    format!("decide:{request_event_key}")
}

/// A brand-wide ban carried out in one group: one per ban decision, group and member.
pub fn brand_ban(ban_id: i64, chat: &str, member: &str) -> String {
    format!("banlist:{ban_id}:{chat}:{member}")
}

/// A brand-wide ban lifted in one group.
pub fn brand_unban(ban_id: i64, chat: &str, member: &str) -> String {
    format!("banlist:{ban_id}:{chat}:{member}:unban")
}

/// A ban written to the workspace's Matrix policy room (the state event is the ban's).
pub fn policy_rule(ban_id: i64) -> String {
    format!("banlist:{ban_id}:policy")
}

/// One group's daily digest for one local day, to one destination chat: sent once however
/// many instances or rounds decide it.
pub fn digest(group_chat: &str, day: chrono::NaiveDate, destination: &str) -> String {
    format!("digest:{group_chat}:{day}:{destination}")
}

/// An operator's decision on a dying group (re-activate, merge, dissolve), once per group,
/// decision and request id whichever door it comes through.
pub fn group_fate(group_chat: &str, fate: &str, request: &str) -> String {
    format!("fate:{group_chat}:{fate}:{request}")
}

/// A live code's spare group number `sequence` (its place in the code's set, 1-based): planned
/// once however many scans or instances see the set filling up.
pub fn livecode_spare(code: &str, sequence: u32) -> String {
    format!("livecode:{code}:spare:{sequence}")
}

/// The bot inviting a live code's visitor into the group the code chose for them: once per
/// code, group and visitor.
pub fn livecode_invite(code: &str, chat: &str, visitor: &str) -> String {
    format!("livecode:{code}:{chat}:{visitor}")
}

/// The local part of a created group's address (a Matrix room alias), from the workspace and
/// the action key: the same create retried asks for the same alias, and two workspaces on one
/// homeserver never ask for each other's. Readable prefix, then a hash of the whole key.
pub fn group_alias(workspace: crate::WorkspaceId, key: &str) -> String {
    // FNV-1a, 64 bits: stable across builds and platforms (unlike std's hasher).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in workspace.0.to_le_bytes().iter().chain(key.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let readable: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("qz{}_{readable}_{hash:016x}", workspace.0)
}

#[cfg(test)]
mod tests {
    use crate::WorkspaceId;

    #[test]
    fn a_decision_key_depends_on_the_request_only() {
        assert_eq!(super::join_decision("$knock"), "decide:$knock");
    }

    #[test]
    fn a_group_alias_is_the_keys_and_the_workspaces() {
        let key = super::livecode_spare("spring", 4);
        let alias = super::group_alias(WorkspaceId(1), &key);
        assert_eq!(alias, super::group_alias(WorkspaceId(1), &key));
        assert!(alias.starts_with("qz1_livecode_spring_spare_4_"), "{alias}");
        assert_ne!(alias, super::group_alias(WorkspaceId(2), &key));
        assert_ne!(
            alias,
            super::group_alias(WorkspaceId(1), &super::livecode_spare("spring", 5))
        );
        assert!(alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }
}

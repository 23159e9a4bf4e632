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

/// The back-room 管理群 post about one moderation action (its outbox id is the incident's
/// number): posted once however many rounds or instances see the action.
pub fn backroom_incident(action_id: i64) -> String {
    format!("backroom:incident:{action_id}")
}

/// The back-room post about one join request waiting for a person (its log number).
pub fn backroom_knock(request_seq: i64) -> String {
    format!("backroom:knock:{request_seq}")
}

/// The back-room's answer to one staff command, from the command's event key: a command read
/// twice (a restart) is answered once.
pub fn backroom_reply(command_event_key: &str) -> String {
    format!("backroom:reply:{command_event_key}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_decision_key_depends_on_the_request_only() {
        assert_eq!(super::join_decision("$knock"), "decide:$knock");
    }
}

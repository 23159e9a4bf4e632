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

/// A member's poster handed out in a group: once per member, group and local day, so asking
/// again the same day re-sends nothing (the poster has not changed), and tomorrow it can.
pub fn poster(chat: &str, member: &str, day: chrono::NaiveDate) -> String {
    format!("poster:{chat}:{member}:{day}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_decision_key_depends_on_the_request_only() {
        assert_eq!(super::join_decision("$knock"), "decide:$knock");
    }

    #[test]
    fn a_poster_key_is_per_member_group_and_day() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(super::poster("!g", "@m", day), "poster:!g:@m:2026-12-01");
        assert_ne!(
            super::poster("!g", "@m", day),
            super::poster("!g", "@n", day)
        );
        assert_ne!(
            super::poster("!g", "@m", day),
            super::poster("!g", "@m", day.succ_opt().unwrap())
        );
    }
}

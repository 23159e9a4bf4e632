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

/// A 秒杀 claim's ledger entry (the points price) and its claim: one per offer and member, so a
/// claim retried through chat and the API at once is paid once.
pub fn offer_claim(offer: i64, member: &str) -> String {
    format!("offer:{offer}:claim:{member}")
}

/// The coupon a 秒杀 claim issues, once per offer and member.
pub fn offer_coupon(offer: i64, member: &str) -> String {
    format!("offer:{offer}:coupon:{member}")
}

/// One of a 秒杀's own posts (`countdown`, `open`, `sold_out`), once per offer.
pub fn offer_post(offer: i64, which: &str) -> String {
    format!("offer:{offer}:{which}")
}

/// The answer to one chat message claiming a 秒杀, once per message.
pub fn offer_reply(offer: i64, event_key: &str) -> String {
    format!("offer:{offer}:reply:{event_key}")
}

/// The swap board's answer to one chat message (a post, an accept, a listing), once per message.
pub fn swap_reply(event_key: &str) -> String {
    format!("swap:reply:{event_key}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_decision_key_depends_on_the_request_only() {
        assert_eq!(super::join_decision("$knock"), "decide:$knock");
    }
}

//! Idempotency keys of the actions operators decide, built in one place.
//!
//! A key is derived from what caused the action, never from who asked or through which door
//! (console, API, CLI), so one decision taken twice is written once.

/// The decision on a join request, from the request's event key.
pub fn join_decision(request_event_key: &str) -> String {
    format!("decide:{request_event_key}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_decision_key_depends_on_the_request_only() {
        assert_eq!(super::join_decision("$knock"), "decide:$knock");
    }
}

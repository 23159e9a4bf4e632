//! Timed mutes end on every platform: a mute with an end time brings its own unmute, written to
//! the outbox with the mute and due at the end time, because Matrix (a power-level change) has
//! no end time of its own; where the platform ends the mute itself the unmute is a no-op.

use qunzhu_domain::{ActionKind, NewAction};

/// The suffix of a scheduled unmute's key, after its mute's key.
pub use qunzhu_domain::keys::UNMUTE_SUFFIX;

/// The unmute that ends `mute` at its `until`, keyed from the mute's key (so deciding the mute
/// twice schedules one unmute); `None` for anything but a mute with an end time.
pub fn timed_unmute(mute: &NewAction) -> Option<NewAction> {
    let ActionKind::Mute {
        member,
        until: Some(until),
        ..
    } = &mute.kind
    else {
        return None;
    };
    Some(NewAction {
        key: qunzhu_domain::keys::unmute(&mute.key),
        kind: ActionKind::Unmute {
            member: member.clone(),
        },
        not_before: *until,
        expires_at: None,
        ..mute.clone()
    })
}

/// Whether an unmute was scheduled by [`timed_unmute`] (rather than asked for by a person).
pub fn is_timed_unmute(key: &str, kind: &ActionKind) -> bool {
    matches!(kind, ActionKind::Unmute { .. }) && key.ends_with(UNMUTE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};
    use qunzhu_domain::{Platform, WorkspaceId};

    #[test]
    fn a_timed_mute_brings_its_unmute_and_nothing_else_does() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mute = NewAction {
            workspace: WorkspaceId(1),
            platform: Platform::Matrix,
            chat: "!g:x".into(),
            key: "mod:flood:$e1:mute".into(),
            kind: ActionKind::Mute {
                member: "@u:x".into(),
                until: Some(now + Duration::minutes(10)),
                reason: "刷屏".into(),
            },
            created_at: now,
            not_before: now,
            expires_at: Some(now + Duration::minutes(5)),
            dry_run: true,
            origin: qunzhu_domain::ActionOrigin::rule("flood"),
            cause: Some("$e1".into()),
        };
        let unmute = timed_unmute(&mute).unwrap_or_else(|| panic!("a timed mute ends"));
        assert_eq!(unmute.key, "mod:flood:$e1:mute:unmute");
        assert_eq!(
            unmute.kind,
            ActionKind::Unmute {
                member: "@u:x".into()
            }
        );
        assert_eq!(unmute.not_before, now + Duration::minutes(10));
        assert_eq!((unmute.expires_at, unmute.dry_run), (None, true));
        assert_eq!(
            (unmute.origin.to_string().as_str(), unmute.cause.as_deref()),
            ("rule:flood", Some("$e1"))
        );
        assert!(is_timed_unmute(&unmute.key, &unmute.kind));

        let endless = NewAction {
            kind: ActionKind::Mute {
                member: "@u:x".into(),
                until: None,
                reason: String::new(),
            },
            ..mute.clone()
        };
        assert_eq!(timed_unmute(&endless), None);
        let kick = NewAction {
            kind: ActionKind::Kick {
                member: "@u:x".into(),
                reason: String::new(),
            },
            ..mute
        };
        assert_eq!(timed_unmute(&kick), None);
    }
}

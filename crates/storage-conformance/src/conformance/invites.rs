//! Conformance: invite attribution — first join keeps its inviter, leaving stops it counting,
//! codes resolve to their member, the watermark moves with the changes.

use qunzhu_domain::{InviteChange, InviteChannel, InviteCode};

use super::*;

fn joined(
    chat: &str,
    invitee: &str,
    inviter: Option<&str>,
    campaign: Option<&str>,
    minute: i64,
) -> InviteChange {
    InviteChange::Joined {
        platform: Platform::Sandbox,
        chat: chat.into(),
        invitee: invitee.into(),
        inviter: inviter.map(String::from),
        channel: if inviter.is_some() {
            InviteChannel::Invited
        } else {
            InviteChannel::Direct
        },
        code: None,
        campaign: campaign.map(String::from),
        at: at(minute),
    }
}

fn left(chat: &str, invitee: &str, minute: i64) -> InviteChange {
    InviteChange::Left {
        platform: Platform::Sandbox,
        chat: chat.into(),
        invitee: invitee.into(),
        at: at(minute),
    }
}

pub async fn invites_are_attributed_counted_and_resumed(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    assert_eq!(store.invite_watermark(ws).await.expect("watermark"), 0);
    store
        .apply_invite_changes(
            ws,
            vec![
                joined("g", "@b", Some("@a"), Some("spring"), 1),
                joined("g", "@c", Some("@a"), Some("spring"), 2),
                joined("g", "@d", Some("@x"), None, 3),
                joined("g", "@e", None, None, 4),
                joined("h", "@b", Some("@x"), None, 5),
            ],
            17,
        )
        .await
        .expect("apply");
    store
        .apply_invite_changes(
            ws,
            vec![
                left("g", "@c", 6),
                left("g", "@ghost", 6),
                // Rejoining keeps the first attribution.
                joined("g", "@b", Some("@x"), None, 7),
            ],
            20,
        )
        .await
        .expect("apply");
    assert_eq!(store.invite_watermark(ws).await.expect("watermark"), 20);
    let counts = |chat: Option<&str>, campaign: Option<&str>| InviteFilter {
        chat: chat.map(String::from),
        campaign: campaign.map(String::from),
    };
    let all = store
        .invite_counts(ws, &counts(None, None), 10)
        .await
        .expect("counts");
    assert_eq!(
        all.iter()
            .map(|count| (count.inviter.as_str(), count.joined, count.present))
            .collect::<Vec<_>>(),
        [("@x", 2, 2), ("@a", 2, 1)]
    );
    let spring = store
        .invite_counts(ws, &counts(None, Some("spring")), 10)
        .await
        .expect("counts");
    assert_eq!(spring.len(), 1);
    assert_eq!((spring[0].inviter.as_str(), spring[0].present), ("@a", 1));
    let in_h = store
        .invite_counts(ws, &counts(Some("h"), None), 10)
        .await
        .expect("counts");
    assert_eq!(in_h.len(), 1);
    let by_a = store
        .invites_by(ws, Platform::Sandbox, "@a")
        .await
        .expect("invites");
    assert_eq!(
        by_a.iter()
            .map(|invite| (invite.invitee.as_str(), invite.present, invite.left_at))
            .collect::<Vec<_>>(),
        [("@c", false, Some(at(6))), ("@b", true, None)]
    );

    let code = InviteCode {
        code: "a-1".into(),
        platform: Platform::Sandbox,
        member: "@a".into(),
        campaign: Some("spring".into()),
    };
    store.put_invite_code(ws, code.clone()).await.expect("code");
    store
        .put_invite_code(ws, code.clone())
        .await
        .expect("same member again");
    assert!(matches!(
        store
            .put_invite_code(
                ws,
                InviteCode {
                    member: "@z".into(),
                    ..code.clone()
                }
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.invite_code(ws, "a-1").await.expect("code"), code);
    let other = workspace(store, "b").await;
    assert!(matches!(
        store.invite_code(other, "a-1").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store
        .invite_counts(other, &counts(None, None), 10)
        .await
        .expect("counts")
        .is_empty());
}

//! Conformance: the ban list — one ban per source and entity (the first decision stands), a
//! revision that moves with every change, followed lists and their modes, and the present
//! members a new ban is carried out for.

use qunzhu_domain::{BanSource, BanTarget, ListMode, NewBan};

use super::*;

fn new_ban(workspace: WorkspaceId, entity: &str, source: BanSource, minute: i64) -> NewBan {
    NewBan {
        workspace,
        platform: Platform::Sandbox,
        target: BanTarget::User,
        entity: entity.into(),
        reason: format!("spam {minute}"),
        decided_by: "admin".into(),
        decided_at: at(minute),
        source,
    }
}

pub async fn bans_are_kept_once_revised_and_scoped(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    assert_eq!(store.ban_revision(ws).await.expect("revision"), 0);
    let (first, new) = store
        .add_ban(new_ban(ws, "@spam", BanSource::Own, 1))
        .await
        .expect("ban");
    assert!(new);
    assert_eq!(
        (
            first.entity.as_str(),
            first.reason.as_str(),
            first.decided_at
        ),
        ("@spam", "spam 1", at(1))
    );
    let (again, new) = store
        .add_ban(new_ban(ws, "@spam", BanSource::Own, 2))
        .await
        .expect("ban again");
    assert!(!new, "the same ban twice is one ban");
    assert_eq!(again, first, "the first decision stands");
    let revision = store.ban_revision(ws).await.expect("revision");
    assert_eq!(revision, 1, "a repeated ban does not move the revision");
    let list = BanSource::List("!list".into());
    let (listed, _) = store
        .add_ban(new_ban(ws, "@spam", list.clone(), 3))
        .await
        .expect("the same entity from a list");
    assert_ne!(listed.id, first.id);
    store
        .add_ban(new_ban(ws, "@*:evil", list.clone(), 4))
        .await
        .expect("glob");
    assert_eq!(store.bans(ws).await.expect("bans").len(), 3);
    assert!(store.bans(other).await.expect("other").is_empty());

    let lifted = store
        .remove_ban(ws, Platform::Sandbox, &BanSource::Own, "@spam")
        .await
        .expect("unban");
    assert_eq!(lifted.map(|ban| ban.id), Some(first.id));
    assert_eq!(
        store
            .remove_ban(ws, Platform::Sandbox, &BanSource::Own, "@spam")
            .await
            .expect("unban twice"),
        None
    );
    assert!(store.ban_revision(ws).await.expect("revision") > revision);
    let (renewed, new) = store
        .add_ban(new_ban(ws, "@spam", BanSource::Own, 5))
        .await
        .expect("ban anew");
    assert!(new && renewed.id != first.id, "a new decision has a new id");

    let followed = store
        .set_policy_list(ws, "!list", ListMode::DryRun, "admin", at(6))
        .await
        .expect("follow");
    assert_eq!(followed.mode, ListMode::DryRun);
    let before = store.ban_revision(ws).await.expect("revision");
    let enforced = store
        .set_policy_list(ws, "!list", ListMode::Enforced, "owner", at(7))
        .await
        .expect("enforce");
    assert_eq!(
        (
            enforced.mode,
            enforced.changed_by.as_str(),
            enforced.changed_at
        ),
        (ListMode::Enforced, "owner", at(7))
    );
    assert!(store.ban_revision(ws).await.expect("revision") > before);
    assert_eq!(store.policy_lists(ws).await.expect("lists"), vec![enforced]);
    assert!(store.policy_lists(other).await.expect("lists").is_empty());
    assert!(store
        .remove_policy_list(ws, "!list")
        .await
        .expect("unfollow"));
    assert!(store.policy_lists(ws).await.expect("lists").is_empty());
    let left: Vec<String> = store
        .bans(ws)
        .await
        .expect("bans")
        .into_iter()
        .map(|ban| ban.entity)
        .collect();
    assert_eq!(left, ["@spam"], "an unfollowed list's rules go with it");
}

pub async fn present_members_are_where_a_ban_is_carried_out(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    ingest(
        store,
        vec![
            event(ws, "e1", "g1", 0, joined("@spam", "s")),
            event(ws, "e2", "g2", 1, joined("@spam", "s")),
            event(ws, "e3", "g1", 2, joined("@ok", "o")),
            event(
                ws,
                "e4",
                "g2",
                3,
                EventKind::MemberLeft {
                    member: "@spam".into(),
                    how: LeaveHow::Left,
                    by: None,
                },
            ),
        ],
        None,
    )
    .await;
    let spam: Vec<(String, String)> = store
        .present_members(ws, Platform::Sandbox, Some("@spam"))
        .await
        .expect("present")
        .into_iter()
        .map(|presence| (presence.chat, presence.member))
        .collect();
    assert_eq!(spam, [("g1".to_string(), "@spam".to_string())]);
    let everyone = store
        .present_members(ws, Platform::Sandbox, None)
        .await
        .expect("present");
    assert_eq!(everyone.len(), 2);
    // The guard starts from these: each presence carries its join time and name in that group.
    let ok = everyone
        .iter()
        .find(|presence| presence.member == "@ok")
        .expect("@ok present");
    assert_eq!(ok.display_name.as_deref(), Some("o"));
    assert_eq!(ok.joined_at, Some(at(2)));
    assert!(store
        .present_members(ws, Platform::Matrix, None)
        .await
        .expect("other platform")
        .is_empty());
}

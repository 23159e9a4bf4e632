//! Conformance: live-code join links — one link per (code, group, channel), the first plan
//! standing; the url kept once; a name taken in a group refused; joins through the links
//! counted per channel from the invites read model, a rejoin once, other codes' joins not; a
//! WeCom join way (chat "") keeps its handle and counts joins in any group.

use qunzhu_domain::{InviteChange, InviteChannel};

use super::*;

fn link(code: &str, chat: &str, channel: &str, name: &str, key: &str) -> LiveCodeLink {
    LiveCodeLink {
        code: code.into(),
        platform: Platform::Telegram,
        chat: chat.into(),
        channel: channel.into(),
        name: name.into(),
        key: key.into(),
        url: None,
        handle: None,
        created_at: at(0),
    }
}

fn joined_through(chat: &str, invitee: &str, code: &str, minute: i64) -> InviteChange {
    InviteChange::Joined {
        platform: Platform::Telegram,
        chat: chat.into(),
        invitee: invitee.into(),
        inviter: None,
        channel: InviteChannel::Link,
        code: Some(code.into()),
        campaign: None,
        at: at(minute),
    }
}

pub async fn livecode_links_are_made_once_per_group_and_channel_and_count_joins(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    let first = store
        .plan_livecode_link(ws, link("spring", "-100", "store", "lc:spring:store", "k1"))
        .await
        .expect("plan");
    assert_eq!(first.key, "k1");
    // A second plan (another instance, a reload) gets the first one back.
    let again = store
        .plan_livecode_link(ws, link("spring", "-100", "store", "lc:spring:store", "k2"))
        .await
        .expect("plan again");
    assert_eq!(again.key, "k1");
    assert_eq!(again.url, None);
    // The same name in the same group for another code is refused.
    assert!(matches!(
        store
            .plan_livecode_link(ws, link("autumn", "-100", "xhs", "lc:spring:store", "k3"))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    store
        .plan_livecode_link(ws, link("spring", "-100", "xhs", "lc:spring:xhs", "k4"))
        .await
        .expect("plan xhs");
    store
        .plan_livecode_link(ws, link("spring", "-200", "store", "lc:spring:store", "k5"))
        .await
        .expect("plan in another group");
    assert!(store
        .livecode_link(other, "spring", "-100", "store")
        .await
        .expect("other workspace")
        .is_none());

    store
        .set_livecode_link_url(ws, "spring", "-100", "store", "https://t.me/+a", None)
        .await
        .expect("url");
    // A url once kept stays.
    store
        .set_livecode_link_url(ws, "spring", "-100", "store", "https://t.me/+b", Some("x"))
        .await
        .expect("url again");
    let kept = store
        .livecode_link(ws, "spring", "-100", "store")
        .await
        .expect("read")
        .expect("planned");
    assert_eq!(kept.url.as_deref(), Some("https://t.me/+a"));
    assert_eq!(kept.handle, None, "the first answer stands whole");
    let listed: Vec<(String, String, Option<String>)> = store
        .livecode_links(ws, "spring")
        .await
        .expect("list")
        .into_iter()
        .map(|link| (link.chat, link.channel, link.url))
        .collect();
    assert_eq!(
        listed,
        [
            (
                "-100".into(),
                "store".into(),
                Some("https://t.me/+a".into())
            ),
            ("-100".into(), "xhs".into(), None),
            ("-200".into(), "store".into(), None),
        ]
    );

    store
        .apply_invite_changes(
            ws,
            vec![
                joined_through("-100", "7", "lc:spring:store", 1),
                joined_through("-200", "8", "lc:spring:store", 2),
                joined_through("-100", "9", "lc:spring:xhs", 3),
                // A member's own link, not the code's.
                joined_through("-100", "10", "M42", 4),
                // A rejoin counts once.
                joined_through("-100", "7", "lc:spring:store", 5),
            ],
            9,
        )
        .await
        .expect("invites");
    let joins: Vec<(String, u64)> = store
        .livecode_link_joins(ws, "spring")
        .await
        .expect("joins")
        .into_iter()
        .map(|row| (row.channel, row.joins))
        .collect();
    assert_eq!(joins, [("store".into(), 2), ("xhs".into(), 1)]);
    assert!(store
        .livecode_link_joins(other, "spring")
        .await
        .expect("other")
        .is_empty());

    // A WeCom join way spans the set's groups (chat ""): its joins count in any group.
    let mut way = link(
        "autumn",
        "",
        "store",
        "lc:autumn:store",
        "livecode:autumn:joinway:store",
    );
    way.platform = Platform::WeCom;
    store.plan_livecode_link(ws, way).await.expect("plan way");
    store
        .set_livecode_link_url(
            ws,
            "autumn",
            "",
            "store",
            "https://wework.qpic.cn/x",
            Some("cfg1"),
        )
        .await
        .expect("way made");
    let made = store
        .livecode_link(ws, "autumn", "", "store")
        .await
        .expect("read way")
        .expect("way");
    assert_eq!(
        (made.url.as_deref(), made.handle.as_deref()),
        (Some("https://wework.qpic.cn/x"), Some("cfg1"))
    );
    let wecom = |chat: &str, invitee: &str, minute: i64| InviteChange::Joined {
        platform: Platform::WeCom,
        chat: chat.into(),
        invitee: invitee.into(),
        inviter: None,
        channel: InviteChannel::Link,
        code: Some("lc:autumn:store".into()),
        campaign: None,
        at: at(minute),
    };
    store
        .apply_invite_changes(ws, vec![wecom("wrA", "wm1", 6), wecom("wrB", "wm2", 7)], 11)
        .await
        .expect("wecom invites");
    let joins: Vec<(String, u64)> = store
        .livecode_link_joins(ws, "autumn")
        .await
        .expect("way joins")
        .into_iter()
        .map(|row| (row.channel, row.joins))
        .collect();
    assert_eq!(joins, [("store".into(), 2)]);
}

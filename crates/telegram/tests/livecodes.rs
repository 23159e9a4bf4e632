//! Live codes 活码 on Telegram end to end against the fake Bot API: visitors known only by a
//! page token, scanning through two channels, land in the groups with room and are handed a
//! link the bot made once per group and channel (the fake sees each created once); joins
//! through those links come back named, are attributed to the code and channel, and counted.

mod support;

use std::sync::Arc;

use qunzhu_domain::{EventKind, JoinVia, SystemClock};
use qunzhu_engine::InviteTracker;
use qunzhu_ops::{Actor, LinkJoin, LiveTarget, Ops};
use qunzhu_telegram_fake::FakeTelegram;
use support::{Bot, GROUP};

const SECOND: i64 = -1009876543210;

fn code() -> String {
    format!("title = \"春季训练营\"\nplatform = \"telegram\"\ngroups = [\"{GROUP}\", \"{SECOND}\"]\ncap = 2\n")
}

/// A visitor opens the page until their link is ready, the bot stepping meanwhile (as the
/// page waits and refreshes while the dispatcher works).
async fn link_for(
    bot: &mut Bot,
    ops: &Ops,
    target: &LiveTarget,
    token: &str,
    channel: &str,
) -> (String, String) {
    for _ in 0..20 {
        match ops
            .link_from_livecode(target, token, Some(channel))
            .await
            .expect("link")
        {
            LinkJoin::Ready { chat, url } => return (chat, url),
            LinkJoin::Preparing { .. } => bot.step().await,
            LinkJoin::Full => panic!("full for {token}"),
        }
    }
    panic!("no link for {token}");
}

fn token(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_on_two_channels_get_links_made_once_and_joins_are_attributed() {
    let fake = FakeTelegram::start(&[GROUP, SECOND]).await;
    let mut bot = Bot::start(&fake, None).await;
    let ops = Ops::new(bot.store.clone(), Arc::new(SystemClock));
    let who = Actor::cli(bot.workspace);
    ops.save_livecode(&who, "spring", &code())
        .await
        .expect("save");
    let target = ops.livecode_target("spring").await.expect("target");
    let (first, second) = (GROUP.to_string(), SECOND.to_string());

    // Four visitors: two into the first group (one per channel), two into the second.
    let mut handed = Vec::new();
    for (n, channel) in [(1, "store"), (2, "xhs"), (3, "store"), (4, "store")] {
        ops.count_scan_of(&target, Some(channel))
            .await
            .expect("scan");
        handed.push(link_for(&mut bot, &ops, &target, &token(n), channel).await);
    }
    assert_eq!(handed[0].0, first);
    assert_eq!(handed[1].0, first);
    assert_eq!(handed[2].0, second);
    assert_eq!(handed[3].0, second);
    assert_ne!(handed[0].1, handed[1].1, "one link per channel");
    assert_eq!(
        handed[2].1, handed[3].1,
        "the second group's store link is reused"
    );
    // A reload: the same seat and link, nothing new made.
    assert_eq!(
        link_for(&mut bot, &ops, &target, &token(1), "xhs").await,
        handed[0]
    );
    // Both groups hold their two seats: the next visitor is turned away, and the operator told.
    assert_eq!(
        ops.link_from_livecode(&target, &token(5), Some("xhs"))
            .await
            .expect("full"),
        LinkJoin::Full
    );
    {
        let world = fake.world();
        let names = |chat: i64| -> Vec<Option<String>> {
            world
                .chat(chat)
                .links
                .iter()
                .map(|link| link.name.clone())
                .collect()
        };
        assert_eq!(
            names(GROUP),
            [Some("lc:spring:store".into()), Some("lc:spring:xhs".into())],
            "created once per group and channel"
        );
        assert_eq!(names(SECOND), [Some("lc:spring:store".into())]);
    }

    // The visitors join through their links; one of them follows it again (no second join).
    for (user, (chat, url)) in [
        (101, &handed[0]),
        (102, &handed[1]),
        (103, &handed[2]),
        (104, &handed[3]),
    ] {
        let chat: i64 = chat.parse().expect("chat id");
        assert!(fake.join_by_link(chat, user, url, None), "{user} joins");
    }
    assert!(
        !fake.join_by_link(GROUP, 101, &handed[0].1, None),
        "already in"
    );
    for _ in 0..3 {
        bot.step().await;
    }
    let joins: Vec<(String, String, JoinVia)> = bot
        .events()
        .await
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::MemberJoined { member, via, .. } => Some((event.chat, member.0, via)),
            _ => None,
        })
        .collect();
    let link = |name: &str| JoinVia::Link { code: name.into() };
    assert_eq!(
        joins,
        [
            (first.clone(), "101".into(), link("lc:spring:store")),
            (first.clone(), "102".into(), link("lc:spring:xhs")),
            (second.clone(), "103".into(), link("lc:spring:store")),
            (second.clone(), "104".into(), link("lc:spring:store")),
        ]
    );
    let tracker = InviteTracker {
        store: bot.store.clone(),
        workspace: bot.workspace,
        batch: 500,
        every: std::time::Duration::from_secs(1),
    };
    tracker.run_once().await.expect("invites");
    let view = ops
        .livecode_in(&who, "spring", "https://ops.example.com")
        .await
        .expect("view");
    let channels: Vec<(&str, u64, u64, u64)> = view
        .channels
        .iter()
        .map(|row| (row.channel.as_str(), row.scans, row.seats, row.joins))
        .collect();
    assert_eq!(channels, [("store", 3, 3, 3), ("xhs", 1, 1, 1)]);
    assert_eq!(view.links.len(), 3);
    assert!(view.links.iter().all(|link| link.url.is_some()));
    let alerts = ops.livecode_alerts(&who).await.expect("alerts");
    assert_eq!(alerts[0].alert.kind, "full");
}

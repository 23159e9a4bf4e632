//! Sanctions and group edits on the Bot API fake, checked by their effect in the fake's world,
//! and refusals explained in administrator rights.

mod support;

use qunzhu_connector::Connector;
use qunzhu_domain::{ActionKind, ActionStatus};
use qunzhu_telegram_fake::{FakeTelegram, Status};
use support::{guarded, settled, text, Bot, GROUP};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_muted_until_its_end_and_then_deleted_in_one_call() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = guarded(&fake).await;
    fake.join(GROUP, 31);
    bot.step().await;
    let ids: Vec<i64> = (0..5)
        .map(|n| fake.say(GROUP, 31, &format!("买买买 {n}")).expect("sent"))
        .collect();
    bot.until("the flooder is muted", |actions| {
        actions
            .iter()
            .any(|a| matches!(a.kind, ActionKind::Mute { .. }) && a.status == ActionStatus::Done)
    })
    .await;
    let now = fake.world().now();
    match fake.world().status(GROUP, 31) {
        Status::Restricted(restriction) => {
            assert!(!restriction.can_send_messages);
            let minutes = (restriction.until - now) as f64 / 60.0;
            assert!(
                (9.0..=10.5).contains(&minutes),
                "muted for 10 minutes, not forever: {minutes}"
            );
        }
        other => panic!("expected a restriction with an end, got {other:?}"),
    }
    assert_eq!(
        fake.say(GROUP, 31, "still here?"),
        None,
        "Telegram refuses a muted member"
    );
    fake.advance(11 * 60);
    assert_eq!(
        fake.world().status(GROUP, 31),
        Status::Member,
        "Telegram ended the mute by itself"
    );
    assert!(fake.say(GROUP, 31, "I'm back").is_some());

    bot.enqueue(
        GROUP,
        "sweep-flood",
        ActionKind::DeleteMessages {
            message_ids: ids.iter().map(i64::to_string).collect(),
            reason: "刷屏".into(),
        },
    )
    .await;
    bot.until("the flood is deleted", |actions| {
        settled(actions, "sweep-flood")
    })
    .await;
    let world = fake.world();
    assert_eq!(
        world.calls_of("deleteMessages").len(),
        1,
        "one call for the whole flood"
    );
    assert!(world.calls_of("deleteMessage").is_empty());
    let visible: Vec<i64> = world.visible(GROUP).iter().map(|m| m.id).collect();
    assert!(ids.iter().all(|id| !visible.contains(id)), "{visible:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_has_its_effect_in_the_group() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    for user in [81, 82, 83] {
        fake.join(GROUP, user);
    }
    let spam = fake.say(GROUP, 82, "广告").expect("sent");
    let asked = fake.say(GROUP, 81, "几点开始？").expect("sent");
    let member = |id: i64| id.to_string();
    let steps: Vec<(&str, ActionKind)> = vec![
        (
            "title",
            ActionKind::SetGroupName {
                name: "咖啡爱好者".into(),
            },
        ),
        (
            "topic",
            ActionKind::SetTopic {
                topic: "每天一杯".into(),
            },
        ),
        (
            "html",
            ActionKind::SendMessage {
                text: "x".into(),
                html: Some("<b>群规</b>".into()),
                mentions: vec![],
                reply_to: None,
            },
        ),
        (
            "reply",
            ActionKind::SendMessage {
                text: "欢迎 @小王 八点开始".into(),
                html: None,
                mentions: vec![member(81)],
                reply_to: Some(asked.to_string()),
            },
        ),
        (
            "dice",
            ActionKind::SendDice {
                emoji: "🎯".into()
            },
        ),
        (
            "kick",
            ActionKind::Kick {
                member: member(81),
                reason: "t".into(),
            },
        ),
        (
            "ban",
            ActionKind::Ban {
                member: member(82),
                reason: "spam".into(),
            },
        ),
        (
            "mute",
            ActionKind::Mute {
                member: member(83),
                until: None,
                reason: "t".into(),
            },
        ),
        ("unmute", ActionKind::Unmute { member: member(83) }),
        (
            "link",
            ActionKind::CreateInviteLink {
                name: "channel-A".into(),
                member_limit: Some(2),
                expire_at: None,
                join_request: false,
            },
        ),
    ];
    for (key, kind) in steps {
        bot.enqueue(GROUP, key, kind).await;
    }
    bot.until("all done", |actions| {
        actions.iter().all(|a| a.status == ActionStatus::Done) && actions.len() == 10
    })
    .await;
    let html: i64 = bot
        .action("html")
        .await
        .receipt
        .expect("receipt")
        .parse()
        .expect("id");
    bot.enqueue(
        GROUP,
        "pin",
        ActionKind::Pin {
            message_id: html.to_string(),
        },
    )
    .await;
    bot.enqueue(
        GROUP,
        "unban",
        ActionKind::Unban {
            member: member(82),
            reason: "appeal".into(),
        },
    )
    .await;
    let link = bot.action("link").await.receipt.expect("link");
    bot.enqueue(
        GROUP,
        "rename-link",
        ActionKind::EditInviteLink {
            link: link.clone(),
            name: "channel-B".into(),
            member_limit: None,
            expire_at: None,
            join_request: false,
        },
    )
    .await;
    bot.until("second round", |actions| {
        ["pin", "unban", "rename-link"]
            .iter()
            .all(|key| settled(actions, key))
    })
    .await;
    bot.enqueue(
        GROUP,
        "revoke",
        ActionKind::RevokeInviteLink { link: link.clone() },
    )
    .await;
    bot.until("revoked", |actions| settled(actions, "revoke"))
        .await;
    assert!(
        bot.actions()
            .await
            .iter()
            .all(|a| a.status == ActionStatus::Done),
        "{:#?}",
        bot.actions().await
    );

    let world = fake.world();
    let chat = world.chat(GROUP);
    assert_eq!(
        (chat.title.as_str(), chat.description.as_str()),
        ("咖啡爱好者", "每天一杯")
    );
    let sent = &chat.messages[&html];
    assert_eq!(
        (sent.raw["parse_mode"].as_str(), sent.pinned),
        (Some("HTML"), true)
    );
    let reply = world
        .bot_messages(GROUP)
        .into_iter()
        .find(|m| m.text.starts_with("欢迎"))
        .expect("reply");
    assert_eq!(reply.raw["reply_parameters"]["message_id"], asked);
    assert_eq!(reply.raw["entities"][0]["type"], "text_mention");
    assert_eq!(reply.raw["entities"][0]["user"]["id"], 81);
    assert!(world
        .bot_messages(GROUP)
        .iter()
        .any(|m| m.raw["dice"]["emoji"] == "🎯"));
    assert_eq!(
        world.status(GROUP, 81),
        Status::Left,
        "kicked: out, but may come back"
    );
    assert_eq!(
        world.status(GROUP, 82),
        Status::Left,
        "banned, then unbanned"
    );
    assert!(
        chat.messages[&spam].deleted,
        "the ban revoked the spammer's messages"
    );
    assert_eq!(world.status(GROUP, 83), Status::Member, "unmuted");
    let made = chat.links.iter().find(|l| l.url == link).expect("link");
    assert_eq!(
        (made.name.as_deref(), made.revoked),
        (Some("channel-B"), true)
    );
    drop(world);
    assert!(
        !fake.join_by_link(GROUP, 84, &link, None),
        "a revoked link admits no one"
    );
    let ban_calls = fake.world().calls_of("banChatMember");
    assert_eq!(ban_calls.len(), 2);
    assert_eq!(
        ban_calls[0]["revoke_messages"], false,
        "a kick keeps the messages"
    );
    assert_eq!(ban_calls[1]["revoke_messages"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_explained_and_permanent() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    fake.join(GROUP, 41);
    let old = fake.say(GROUP, 41, "old news").expect("sent");
    fake.advance(49 * 3600);
    fake.world()
        .chat_mut(GROUP)
        .bot_rights
        .retain(|right| right != "can_restrict_members");
    bot.enqueue(
        GROUP,
        "mute",
        ActionKind::Mute {
            member: "41".into(),
            until: None,
            reason: "t".into(),
        },
    )
    .await;
    bot.enqueue(
        GROUP,
        "old",
        ActionKind::Redact {
            message_id: old.to_string(),
            reason: "t".into(),
        },
    )
    .await;
    bot.enqueue(-100999, "nowhere", text("hello?")).await;
    bot.until("all three refused", |actions| {
        ["mute", "old", "nowhere"]
            .iter()
            .all(|key| settled(actions, key))
    })
    .await;
    let mute = bot.action("mute").await;
    assert_eq!(mute.status, ActionStatus::Dead);
    assert_eq!(
        mute.last_error.as_deref(),
        Some(format!("cannot restrict in {GROUP}: the bot lacks can_restrict_members").as_str())
    );
    assert_eq!(mute.attempts, 1, "not retried");
    let old = bot.action("old").await;
    assert!(
        old.last_error
            .as_deref()
            .unwrap_or("")
            .contains("under 48 hours"),
        "{old:?}"
    );
    let nowhere = bot.action("nowhere").await;
    assert!(
        nowhere
            .last_error
            .as_deref()
            .unwrap_or("")
            .starts_with("unknown chat -100999"),
        "{nowhere:?}"
    );
    assert!(fake
        .world()
        .visible(GROUP)
        .iter()
        .any(|m| m.text == "old news"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_that_is_no_administrator_or_no_longer_in_the_group_is_told_so() {
    const DEMOTED: i64 = -1002;
    const LEFT: i64 = -1003;
    let fake = FakeTelegram::start(&[GROUP, DEMOTED, LEFT]).await;
    let mut bot = Bot::start(&fake, None).await;
    fake.world().chat_mut(DEMOTED).bot_admin = false;
    fake.world().chat_mut(LEFT).bot_present = false;
    bot.enqueue(
        DEMOTED,
        "pin",
        ActionKind::Pin {
            message_id: "1".into(),
        },
    )
    .await;
    bot.enqueue(
        DEMOTED,
        "link",
        ActionKind::CreateInviteLink {
            name: "M1".into(),
            member_limit: None,
            expire_at: None,
            join_request: false,
        },
    )
    .await;
    bot.enqueue(LEFT, "hello", text("hello")).await;
    bot.until("all refused", |actions| {
        ["pin", "link", "hello"]
            .iter()
            .all(|key| settled(actions, key))
    })
    .await;
    let error = |record: qunzhu_domain::ActionRecord| record.last_error.unwrap_or_default();
    assert_eq!(
        error(bot.action("pin").await),
        format!(
            "cannot pin in {DEMOTED}: the bot is not an administrator (it needs can_pin_messages)"
        )
    );
    assert_eq!(
        error(bot.action("link").await),
        format!("cannot manage invite links in {DEMOTED}: the bot is not an administrator (it needs can_invite_users)")
    );
    let left = error(bot.action("hello").await);
    assert!(
        left.starts_with(&format!(
            "cannot send in {LEFT}: Forbidden: bot is not a member"
        )),
        "{left}"
    );
    let refused = bot
        .connector
        .member_link(&DEMOTED.to_string(), "M2")
        .await
        .expect_err("refused");
    assert!(
        refused.to_string().contains("can_invite_users"),
        "{refused}"
    );
}

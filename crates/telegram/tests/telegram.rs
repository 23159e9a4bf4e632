//! The Telegram connector end to end against the Bot API fake: the engine's ingest, guardian,
//! outbox and dispatcher over a real SQLite store, with effects checked in the fake's world.

mod support;

use std::time::Duration;

use qunzhu_connector::{Connector, ConnectorError};
use qunzhu_domain::{ActionKind, ActionStatus, Clock, EventKind, JoinVia, SystemClock};
use qunzhu_engine::{Guard, RulesHandle};
use qunzhu_telegram::TelegramConnector;
use qunzhu_telegram_fake::{FakeTelegram, Request, Status};
use support::{settled, text, Bot, GROUP};

const RULES: &str = r#"
[keywords.spam]
words = ["刷单", "加微信"]

[[rules]]
name = "flood"
kind = "flood"
count = 4
within = "30s"
reason = "刷屏"
actions = "mute 10m"

[review.tg]
deny_lists = ["spam"]
approve_reasons = ["咖啡"]
otherwise = "deny"

[profiles.all]
default = true
rules = ["flood"]
review = "tg"
"#;

async fn guarded(fake: &FakeTelegram) -> Bot {
    let mut bot = Bot::start(fake, None).await;
    let rules = RulesHandle::new(qunzhu_moderation::check(RULES, "rules.toml").expect("rules"));
    let guard = Guard::load(
        &*bot.store,
        bot.workspace,
        bot.connector.platform(),
        bot.connector.capabilities().clone(),
        rules,
        SystemClock.now(),
    )
    .await
    .expect("guard");
    *bot.decider.lock().await = Box::new(guard);
    bot.step().await;
    bot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_through_a_members_link_are_attributed_to_their_code() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    let chat = GROUP.to_string();
    let link = bot
        .connector
        .member_link(&chat, "M42-小王")
        .await
        .expect("link");
    assert_eq!(
        bot.connector
            .member_link(&chat, "M42-小王")
            .await
            .expect("again"),
        link
    );
    {
        let world = fake.world();
        let links = &world.chat(GROUP).links;
        assert_eq!(links.len(), 1, "created once, on demand");
        assert_eq!(links[0].name.as_deref(), Some("M42-小王"));
    }
    assert!(fake.join_by_link(GROUP, 7, &link, None));
    fake.join(GROUP, 8);
    for _ in 0..3 {
        bot.step().await;
    }
    let joins: Vec<(String, JoinVia)> = bot
        .events()
        .await
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::MemberJoined { member, via, .. } => Some((member, via)),
            _ => None,
        })
        .collect();
    assert_eq!(
        joins,
        vec![
            (
                "7".into(),
                JoinVia::Link {
                    code: "M42-小王".into()
                }
            ),
            ("8".into(), JoinVia::Direct)
        ]
    );
    // The link survives a restart of the connector: the journal remembers it.
    let again = support::connector(&fake, bot.dir.path(), bot.workspace).await;
    assert_eq!(
        again.member_link(&chat, "M42-小王").await.expect("link"),
        link
    );
    assert_eq!(fake.world().chat(GROUP).links.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_requests_are_approved_or_declined_by_the_review_rules() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = guarded(&fake).await;
    bot.enqueue(
        GROUP,
        "campaign-link",
        ActionKind::CreateInviteLink {
            name: "双11-海报".into(),
            member_limit: Some(500),
            expire_at: None,
            join_request: true,
        },
    )
    .await;
    bot.until("the link exists", |actions| {
        settled(actions, "campaign-link")
    })
    .await;
    let link = bot
        .action("campaign-link")
        .await
        .receipt
        .expect("the link is the receipt");
    assert!(fake.join_by_link(GROUP, 21, &link, Some("我是做咖啡的，想来学习")));
    assert!(fake.join_by_link(GROUP, 22, &link, Some("兼职刷单日结")));
    bot.until("both requests decided", |actions| {
        actions
            .iter()
            .filter(|a| {
                matches!(a.kind, ActionKind::DecideJoinRequest { .. })
                    && a.status == ActionStatus::Done
            })
            .count()
            == 2
    })
    .await;
    {
        let world = fake.world();
        let requests = &world.chat(GROUP).requests;
        assert_eq!(requests[&21].state, Request::Approved);
        assert_eq!(requests[&22].state, Request::Declined);
        assert_eq!(world.status(GROUP, 21), Status::Member);
        assert_eq!(world.status(GROUP, 22), Status::Left);
    }
    bot.step().await;
    let joined = bot
        .events()
        .await
        .into_iter()
        .find_map(|event| match event.kind {
            EventKind::MemberJoined { member, via, .. } if member == "21" => Some(via),
            _ => None,
        });
    assert_eq!(
        joined,
        Some(JoinVia::Link {
            code: "双11-海报".into()
        }),
        "approved joins keep their link"
    );
}

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
async fn a_429_storm_delivers_everything_exactly_once() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    {
        let mut world = fake.world();
        world.storm = 6;
        world.storm_retry_after = 1;
    }
    for n in 0..12 {
        bot.enqueue(GROUP, &format!("post-{n}"), text(&format!("第 {n} 条")))
            .await;
    }
    bot.until("all twelve sent", |actions| {
        actions
            .iter()
            .filter(|a| a.status == ActionStatus::Done)
            .count()
            == 12
    })
    .await;
    let world = fake.world();
    let mut texts: Vec<String> = world
        .bot_messages(GROUP)
        .into_iter()
        .map(|m| m.text)
        .collect();
    texts.sort();
    let mut expected: Vec<String> = (0..12).map(|n| format!("第 {n} 条")).collect();
    expected.sort();
    assert_eq!(texts, expected, "each once, none lost");
    assert_eq!(world.storm, 0, "the storm was met");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_limit_of_twenty_a_minute_is_kept_without_a_429() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let dir = tempfile::tempdir().expect("dir");
    let store: std::sync::Arc<dyn qunzhu_storage::Store> = std::sync::Arc::new(
        qunzhu_storage_sqlite::SqliteStore::open(&dir.path().join("q.db")).expect("store"),
    );
    let workspace = support::workspace(&*store).await;
    let mut config = support::config(&fake);
    config.group_messages_per_minute = 20.0;
    let connector = support::connector_with(config, dir.path(), workspace).await;
    let caps = connector.capabilities().clone();
    assert!(f64::from(caps.per_group_rate.burst) + caps.per_group_rate.per_second * 60.0 <= 20.0);
    let mut bot = Bot::assemble(store, connector, None, workspace, dir);
    for n in 0..4 {
        bot.enqueue(GROUP, &format!("p{n}"), text(&format!("{n}")))
            .await;
    }
    bot.step().await;
    let actions = bot.actions().await;
    let done = actions
        .iter()
        .filter(|a| a.status == ActionStatus::Done)
        .count();
    assert_eq!(done, 2, "a burst of two, the rest waits its turn");
    assert!(actions
        .iter()
        .filter(|a| a.status == ActionStatus::Pending)
        .all(|a| a.next_attempt_at > bot.clock.now() + chrono::Duration::seconds(2)));
    assert_eq!(fake.world().bot_messages(GROUP).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_answer_was_lost_is_not_sent_twice() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    fake.world().swallow_answers = 1;
    bot.enqueue(GROUP, "announce", text("今晚八点直播")).await;
    bot.until("the send is settled", |actions| {
        settled(actions, "announce")
    })
    .await;
    let action = bot.action("announce").await;
    assert_eq!(action.status, ActionStatus::Dead);
    assert!(
        action
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("not sent again"),
        "{action:?}"
    );
    assert_eq!(
        fake.world().bot_messages(GROUP).len(),
        1,
        "it was there once, and only once"
    );

    // A send that succeeded is never repeated by a restarted connector with the same journal.
    bot.enqueue(GROUP, "second", text("第二条")).await;
    bot.until("second sent", |actions| settled(actions, "second"))
        .await;
    let receipt = bot.action("second").await.receipt;
    let restarted = support::connector(&fake, bot.dir.path(), bot.workspace).await;
    let record = bot.action("second").await;
    assert_eq!(restarted.execute(&record).await.expect("replayed"), receipt);
    assert_eq!(fake.world().bot_messages(GROUP).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_one_clear_error() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let dir = tempfile::tempdir().expect("dir");
    let connector = support::connector(&fake, dir.path(), qunzhu_domain::WorkspaceId(1)).await;
    fake.world().token_valid = false;
    let Err(ConnectorError::Auth(message)) = connector.poll(None).await else {
        panic!("expected an authentication error");
    };
    assert!(
        message.contains("QUNZHU_TELEGRAM_TOKEN") && !message.contains("FAKE-TOKEN"),
        "{message}"
    );
    let refused = TelegramConnector::connect(
        support::config(&fake),
        qunzhu_domain::WorkspaceId(1),
        dir.path(),
        std::sync::Arc::new(SystemClock),
    )
    .await
    .expect_err("refused");
    assert!(matches!(refused, ConnectorError::Auth(_)), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_updates_are_skipped_and_the_offset_moves_past_them() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    fake.push_raw(serde_json::json!({"message": {"message_id": "not a number", "chat": 5}}));
    fake.push_raw(serde_json::json!({"chat_member": {"chat": {"id": GROUP}, "date": "yesterday"}}));
    fake.join(GROUP, 51);
    bot.step().await;
    let kinds: Vec<&'static str> = bot.events().await.iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds, vec!["member_joined"]);
    assert_eq!(bot.cursor.as_deref(), Some("offset:4"));
    bot.step().await;
    assert!(
        fake.world().updates.is_empty(),
        "the offset confirmed all three"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_edits_reactions_clicks_and_poll_answers_reach_the_log() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    fake.join(GROUP, 61);
    let said = fake
        .say(GROUP, 61, "看这个 https://shop.example/x")
        .expect("sent");
    fake.edit(GROUP, said, "改了");
    fake.react(GROUP, said, 61, "🔥");
    fake.roll(GROUP, 61, "🎲", 6);
    bot.enqueue(
        GROUP,
        "survey",
        ActionKind::SendPoll {
            question: "你喝哪种咖啡？".into(),
            options: vec!["美式".into(), "拿铁".into()],
            correct_option: None,
            explanation: None,
            open_period: None,
            anonymous: false,
        },
    )
    .await;
    bot.enqueue(
        GROUP,
        "vote",
        ActionKind::SendWithButtons {
            text: "来吗？".into(),
            html: None,
            buttons: vec![vec![qunzhu_domain::Button {
                label: "来".into(),
                data: "rsvp:yes".into(),
            }]],
            reply_to: None,
        },
    )
    .await;
    bot.until("poll and buttons sent", |actions| {
        settled(actions, "survey") && settled(actions, "vote")
    })
    .await;
    let poll_message: i64 = bot
        .action("survey")
        .await
        .receipt
        .expect("receipt")
        .parse()
        .expect("id");
    let buttons: i64 = bot
        .action("vote")
        .await
        .receipt
        .expect("receipt")
        .parse()
        .expect("id");
    let poll = fake.poll_of(GROUP, poll_message).expect("poll");
    assert!(fake.answer_poll(&poll, 61, &[1]));
    fake.click(GROUP, buttons, 61, "rsvp:yes");
    bot.step().await;
    bot.step().await;
    let kinds: Vec<EventKind> = bot.events().await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.iter().any(|k| matches!(k, EventKind::MessagePosted { links, .. } if links == &["https://shop.example/x".to_string()])));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::MessageEdited { text, .. } if text == "改了")));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::Reaction { reaction, .. } if reaction == "🔥")));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::DiceRolled { value: 6, .. })));
    assert!(kinds.contains(&EventKind::PollAnswered {
        member: "61".into(),
        poll_id: poll,
        poll_key: Some("survey".into()),
        option_ids: vec![1],
        options: vec!["拿铁".into()],
    }));
    assert!(kinds.contains(&EventKind::ButtonClicked {
        member: "61".into(),
        message_id: Some(buttons.to_string()),
        data: "rsvp:yes".into(),
    }));
    // The click's spinner is stopped (answered in the background).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while fake.world().calls_of("answerCallbackQuery").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the click was never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
async fn the_bot_asks_for_every_update_kind_it_maps() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    bot.step().await;
    let allowed = fake.world().allowed_updates.clone().unwrap_or_default();
    for kind in [
        "message",
        "edited_message",
        "chat_member",
        "chat_join_request",
        "message_reaction",
        "poll_answer",
        "callback_query",
    ] {
        assert!(
            allowed.iter().any(|a| a == kind),
            "{kind} missing from {allowed:?}"
        );
    }
    // Telegram sends chat_member only when asked: the fake drops what was not asked for, so
    // this join arriving proves the request reached it.
    fake.join(GROUP, 91);
    bot.step().await;
    assert!(bot
        .events()
        .await
        .iter()
        .any(|e| e.kind.name() == "member_joined"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_obeyed_up_to_an_hour() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, None).await;
    {
        let mut world = fake.world();
        world.storm = 1;
        world.storm_retry_after = 7 * 24 * 3600;
    }
    bot.enqueue(GROUP, "later", text("稍后")).await;
    bot.step().await;
    let action = bot.action("later").await;
    assert_eq!(action.status, ActionStatus::Pending);
    let wait = action.next_attempt_at - bot.clock.now();
    assert!(
        wait > chrono::Duration::minutes(59) && wait <= chrono::Duration::minutes(60),
        "a week's retry_after is taken as an hour: {wait}"
    );
    assert!(fake.world().bot_messages(GROUP).is_empty());
}

//! What the bot hears from the Bot API fake: every update kind it asks for, mapped to events;
//! malformed updates skipped; a revoked token one clear error.

mod support;

use std::time::Duration;

use qunzhu_connector::{Connector, ConnectorError};
use qunzhu_domain::{ActionKind, EventKind, SystemClock};
use qunzhu_telegram::TelegramConnector;
use qunzhu_telegram_fake::FakeTelegram;
use support::{settled, Bot, GROUP};

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
            tags: Vec::new(),
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

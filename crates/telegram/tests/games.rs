//! Games on the Bot API fake: `/dice` and `/quiz` in the chat, members throwing and answering,
//! and the winners' rewards written to the outbox for the ledger.

mod support;

use std::time::Duration;

use qunzhu_domain::{ActionKind, ActionRecord, ActionStatus};
use qunzhu_engine::{Games, GamesConfig, Question};
use qunzhu_telegram_fake::FakeTelegram;
use support::{Bot, GROUP};

fn rewards(actions: &[ActionRecord]) -> Vec<(String, i64)> {
    let mut found: Vec<(String, i64)> = actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::GrantReward { member, points, .. } => Some((member.clone(), *points)),
            _ => None,
        })
        .collect();
    found.sort();
    found
}

fn games() -> Box<Games> {
    Box::new(Games::new(
        GamesConfig {
            dice_window: chrono::Duration::seconds(4),
            questions: vec![Question {
                question: "拿铁里有什么？".into(),
                options: vec!["只有咖啡".into(), "咖啡和牛奶".into()],
                correct: 1,
                explanation: Some("拿铁 = 浓缩咖啡 + 牛奶".into()),
            }],
            question_seconds: 5,
            answer_grace: chrono::Duration::zero(),
            ..GamesConfig::default()
        },
        true,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quiz_rewards_those_who_answer_right() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, Some(games())).await;
    for user in [71, 72] {
        fake.join(GROUP, user);
    }
    fake.say(GROUP, 71, "/quiz");
    bot.until("the first question is out", |actions| {
        actions.iter().any(|a| {
            matches!(a.kind, ActionKind::SendPoll { .. }) && a.status == ActionStatus::Done
        })
    })
    .await;
    let poll_message = bot
        .actions()
        .await
        .into_iter()
        .find(|a| matches!(a.kind, ActionKind::SendPoll { .. }))
        .and_then(|a| a.receipt)
        .expect("receipt");
    let poll = fake
        .poll_of(GROUP, poll_message.parse().expect("id"))
        .expect("the fake has the poll");
    {
        let world = fake.world();
        let sent = &world.polls[&poll];
        assert!(sent.quiz && !sent.anonymous);
        assert_eq!((sent.correct, sent.open_period), (Some(1), Some(5)));
    }
    assert!(fake.answer_poll(&poll, 71, &[1]));
    assert!(fake.answer_poll(&poll, 72, &[0]));
    bot.until("the quiz is over", |actions| !rewards(actions).is_empty())
        .await;
    let actions = bot.actions().await;
    assert_eq!(rewards(&actions), vec![("71".into(), 20)]);
    let reward = actions
        .iter()
        .find(|a| matches!(a.kind, ActionKind::GrantReward { .. }))
        .expect("reward");
    assert_eq!(
        reward.status,
        ActionStatus::Pending,
        "left for the ledger, not the platform"
    );
    bot.until("the result is posted", |actions| {
        actions
            .iter()
            .any(|a| a.key.ends_with(":result") && a.status == ActionStatus::Done)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dice_game_rewards_the_highest_throw() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = Bot::start(&fake, Some(games())).await;
    for user in [73, 74] {
        fake.join(GROUP, user);
    }
    fake.say(GROUP, 73, "/dice@qunzhu_test_bot");
    bot.until("the round is announced", |actions| {
        actions
            .iter()
            .any(|a| a.key.ends_with(":start") && a.status == ActionStatus::Done)
    })
    .await;
    fake.roll(GROUP, 73, "🎲", 4);
    fake.roll(GROUP, 74, "🎲", 5);
    fake.roll(GROUP, 73, "🎲", 6);
    bot.step().await;
    tokio::time::sleep(Duration::from_millis(4100)).await;
    bot.until("the round is over", |actions| !rewards(actions).is_empty())
        .await;
    assert_eq!(rewards(&bot.actions().await), vec![("74".into(), 10)]);
}

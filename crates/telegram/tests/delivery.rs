//! Delivery on the Bot API fake: 429 storms and retry_after, the 20-a-minute group pace, and
//! sends whose answer was lost never sent twice.

mod support;

use qunzhu_connector::Connector;
use qunzhu_domain::ActionStatus;
use qunzhu_telegram_fake::FakeTelegram;
use support::{settled, text, Bot, GROUP};

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
    // The third message waits for the steady pace (18 a minute after the burst): over 3 s.
    let waiting: Vec<_> = actions
        .iter()
        .filter(|a| a.status == ActionStatus::Pending)
        .collect();
    assert_eq!(waiting.len(), 2);
    assert!(waiting
        .iter()
        .all(|a| a.next_attempt_at >= a.created_at + chrono::Duration::seconds(3)));
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

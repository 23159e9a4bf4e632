//! Join requests, edits and floods as the Bot API has them, on the fake: the requester's private
//! chat (`user_chat_id`) is offered for five minutes and closed by the decision, Telegram
//! refusing a private message after; an ad edited into a harmless message is deleted like a new
//! one; a flood the rules redact goes in one `deleteMessages`.

mod support;

use qunzhu_connector::Connector;
use qunzhu_domain::{ActionKind, ActionStatus, EventKind, SystemClock};
use qunzhu_telegram_fake::{FakeTelegram, Request};
use support::{settled, text, Bot, GROUP};

const RULES: &str = r#"
[keywords.ads]
words = ["加微信", "兼职刷单"]

[[rules]]
name = "no-ads"
kind = "keywords"
lists = ["ads"]
reason = "群内禁止发广告"
actions = "redact"

[[rules]]
name = "flood"
kind = "flood"
count = 4
within = "30s"
reason = "刷屏"
actions = "redact+mute 10m"

[review.tg]
approve_reasons = ["咖啡"]
otherwise = "queue"

[profiles.all]
default = true
rules = ["no-ads", "flood"]
review = "tg"
"#;

async fn guarded(fake: &FakeTelegram) -> Bot {
    let mut bot = Bot::start(fake, None).await;
    let rules = qunzhu_engine::RulesHandle::new(
        qunzhu_moderation::check(RULES, "rules.toml").expect("rules"),
    );
    let guard = qunzhu_engine::Guard::load(
        &*bot.store,
        bot.workspace,
        bot.connector.platform(),
        bot.connector.capabilities().clone(),
        rules,
        qunzhu_domain::Clock::now(&SystemClock),
    )
    .await
    .expect("guard");
    *bot.decider.lock().await = Box::new(guard);
    bot.step().await;
    bot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ad_edited_in_after_posting_is_deleted() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = guarded(&fake).await;
    fake.join(GROUP, 31);
    let harmless = fake.say(GROUP, 31, "大家好").expect("sent");
    let other = fake.say(GROUP, 31, "今天天气不错").expect("sent");
    bot.step().await;
    fake.edit(GROUP, harmless, "大家好，兼职刷单日结，加微信 abc123");
    bot.until("the edited ad is removed", |actions| {
        let id = harmless.to_string();
        actions.iter().any(|a| {
            a.status == ActionStatus::Done
                && match &a.kind {
                    ActionKind::Redact { message_id, .. } => *message_id == id,
                    ActionKind::DeleteMessages { message_ids, .. } => message_ids.contains(&id),
                    _ => false,
                }
        })
    })
    .await;
    let messages = fake.world().visible(GROUP);
    assert!(
        messages.iter().all(|m| m.id != harmless),
        "the edited message is gone: {messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.id == other),
        "the other one stays"
    );
    let edits = bot
        .events()
        .await
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::MessageEdited { .. }))
        .count();
    assert_eq!(edits, 1, "the edit is logged as an edit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requesters_private_chat_is_open_five_minutes_until_the_decision() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = guarded(&fake).await;
    bot.enqueue(
        GROUP,
        "review-link",
        ActionKind::CreateInviteLink {
            name: "审核".into(),
            member_limit: None,
            expire_at: None,
            join_request: true,
        },
    )
    .await;
    bot.until("the link exists", |actions| settled(actions, "review-link"))
        .await;
    let link = bot.action("review-link").await.receipt.expect("link");
    // Neither bio matches the approve list: both wait in the queue for a person (or a question).
    assert!(fake.join_by_link(GROUP, 41, &link, Some("路过")));
    assert!(fake.join_by_link(GROUP, 42, &link, Some("看看")));
    bot.step().await;
    let chat = GROUP.to_string();
    let open = bot
        .connector
        .requester_chat(&chat, "41")
        .expect("the requester's private chat");
    assert_eq!(open.chat, "41");
    let asked = chrono::Utc::now();
    assert!(open.until > asked && open.until <= asked + chrono::Duration::minutes(5));
    assert!(bot.connector.requester_chat(&chat, "99").is_none());

    bot.enqueue(
        41,
        "question-41",
        text("你好！入群前请回答：你为什么想加入？"),
    )
    .await;
    bot.until("the question is sent", |actions| {
        settled(actions, "question-41")
    })
    .await;
    assert_eq!(bot.action("question-41").await.status, ActionStatus::Done);
    assert_eq!(
        fake.world().direct,
        [(41, "你好！入群前请回答：你为什么想加入？".to_string())]
    );

    // The decision closes the chat on both sides.
    bot.enqueue(
        GROUP,
        "decide-41",
        ActionKind::DecideJoinRequest {
            member: "41".into(),
            approve: true,
            reason: "答得好".into(),
        },
    )
    .await;
    bot.until("41 is approved", |actions| settled(actions, "decide-41"))
        .await;
    assert_eq!(
        fake.world().chat(GROUP).requests[&41].state,
        Request::Approved
    );
    assert!(bot.connector.requester_chat(&chat, "41").is_none());
    bot.enqueue(41, "late-41", text("欢迎！")).await;
    bot.until("the late message settles", |actions| {
        settled(actions, "late-41")
    })
    .await;
    let late = bot.action("late-41").await;
    assert_eq!(late.status, ActionStatus::Dead);
    assert!(
        late.last_error
            .as_deref()
            .is_some_and(|error| error.contains("can't initiate conversation")),
        "{late:?}"
    );

    // Five minutes on, 42's request is still pending but its chat has closed.
    fake.advance(5 * 60 + 1);
    bot.enqueue(42, "question-42", text("你好？")).await;
    bot.until("the question to 42 settles", |actions| {
        settled(actions, "question-42")
    })
    .await;
    assert_eq!(bot.action("question-42").await.status, ActionStatus::Dead);
    assert_eq!(fake.world().direct.len(), 1, "nothing more reached anyone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_the_rules_redact_is_deleted_in_one_delete_messages() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let mut bot = guarded(&fake).await;
    fake.join(GROUP, 51);
    fake.join(GROUP, 52);
    let calm = fake.say(GROUP, 52, "早上好").expect("sent");
    bot.step().await;
    let burst: Vec<i64> = (0..6)
        .map(|n| fake.say(GROUP, 51, &format!("买买买 {n}")).expect("sent"))
        .collect();
    bot.until("the flood is deleted and the flooder muted", |actions| {
        let done = |name: &str| {
            actions
                .iter()
                .any(|a| a.kind.name() == name && a.status == ActionStatus::Done)
        };
        done("delete_messages") && done("mute")
    })
    .await;
    for _ in 0..3 {
        bot.step().await;
    }
    let world = fake.world();
    let calls = world.calls_of("deleteMessages");
    assert_eq!(calls.len(), 1, "one call for the burst: {calls:#?}");
    assert!(
        world.calls_of("deleteMessage").is_empty(),
        "never one by one"
    );
    let visible: Vec<i64> = world.visible(GROUP).iter().map(|m| m.id).collect();
    let flooded: Vec<i64> = burst
        .iter()
        .copied()
        .filter(|id| !visible.contains(id))
        .collect();
    assert!(flooded.len() >= 4, "the burst is gone: {visible:?}");
    assert!(visible.contains(&calm), "other members' messages stay");
}

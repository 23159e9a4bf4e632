//! SOP steps that start games and surveys, end to end on the Bot API fake with a fake clock:
//! the plan's quiz and its tagged poll fire at their time, the fake sees the polls, members
//! answer, the ledger pays the winner, the result is posted once, and survey answers tag (and a
//! retraction untags) the members; a staff member's `/survey` command does the same.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, DurationRound, Utc};
use qunzhu_domain::{
    Account, ActionKind, ActionRecord, ActionStatus, Clock, DocumentKind, FakeClock, Platform,
};
use qunzhu_engine::{
    Chain, Games, GamesConfig, LedgerWorker, LedgerWorkerConfig, Planner, PollTagger,
};
use qunzhu_storage::Store;
use qunzhu_telegram_fake::FakeTelegram;
use support::{Bot, GROUP};

const QUESTION_SECONDS: u32 = 30;

fn plan(date: &str, at: &str) -> String {
    format!(
        r#"id = "evening"
[target]
all = true

[[steps]]
id = "climb"
repeat = "once"
date = {date}
at = "{at}"
text = "今晚答题闯关，{{group}} 的朋友们来！"
kind = "quiz"
questions = [
  {{ question = "拿铁里有什么？", options = ["只有咖啡", "咖啡和牛奶"], answer = "咖啡和牛奶" }},
  {{ question = "群规第一条？", options = ["禁止广告", "随便聊"], answer = "禁止广告", explanation = "见群公告" }},
]

[[steps]]
id = "city"
repeat = "once"
date = {date}
at = "{at}"
text = "你在哪个城市？"
kind = "poll"
options = [{{ text = "上海", tag = "city:上海" }}, {{ text = "北京", tag = "city:北京" }}, "其他"]
"#
    )
}

fn sent_polls(actions: &[ActionRecord]) -> Vec<&ActionRecord> {
    actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::SendPoll { .. }) && a.status == ActionStatus::Done)
        .collect()
}

fn poll_id(fake: &FakeTelegram, action: &ActionRecord) -> String {
    let message = action.receipt.as_deref().expect("receipt");
    fake.poll_of(GROUP, message.parse().expect("message id"))
        .expect("the fake has the poll")
}

/// Steps until `done` holds, letting a second of fake time pass after each step that did not
/// get there (the dispatcher's rate buckets refill by the clock), for at most 20 steps.
async fn settle(
    bot: &mut Bot,
    clock: &FakeClock,
    fake: &FakeTelegram,
    what: &str,
    done: impl Fn(&[ActionRecord]) -> bool,
) {
    for _ in 0..20 {
        bot.step().await;
        if done(&bot.actions().await) {
            return;
        }
        clock.advance(Duration::seconds(1));
        fake.advance(1);
    }
    panic!(
        "never happened: {what}; actions: {:#?}",
        bot.actions().await
    );
}

async fn tags(store: &dyn Store, bot: &Bot, user: &str) -> Vec<String> {
    store
        .member(bot.workspace, Platform::Telegram, &user.into())
        .await
        .expect("member")
        .tags
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiz_step_and_a_survey_step_fire_pay_and_tag() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let clock = FakeClock::new(
        Utc::now()
            .duration_trunc(Duration::seconds(1))
            .expect("now"),
    );
    let games = Games::new(
        GamesConfig {
            question_seconds: QUESTION_SECONDS,
            answer_grace: Duration::zero(),
            ..GamesConfig::default()
        },
        true,
    );
    let mut bot = Bot::start_with_clock(
        &fake,
        Box::new(Chain(vec![Box::new(games)])),
        Arc::new(clock.clone()),
    )
    .await;
    let store = bot.store.clone();
    for user in [71, 72] {
        fake.join(GROUP, user);
    }
    bot.step().await;
    store
        .ensure_group(bot.workspace, Platform::Telegram, &GROUP.to_string())
        .await
        .expect("group");

    // The steps fire at the next whole minute after two from now, Shanghai time.
    let fires = (Clock::now(&clock) + Duration::minutes(3))
        .duration_trunc(Duration::minutes(1))
        .expect("minute");
    let local = fires.with_timezone(&chrono_tz::Asia::Shanghai);
    let source = plan(
        &local.format("%Y-%m-%d").to_string(),
        &local.format("%H:%M").to_string(),
    );
    store
        .put_document(
            bot.workspace,
            DocumentKind::SopPlan,
            "evening",
            &source,
            "ops",
            Clock::now(&clock),
        )
        .await
        .expect("plan");
    let planner = Planner {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace: bot.workspace,
        platform: Platform::Telegram,
        send_autonomously: true,
        base_url: "http://q.example".into(),
        horizon: Duration::hours(48),
        look_back: Duration::hours(1),
        every: std::time::Duration::from_secs(15),
    };
    let round = planner.plan_once(&mut HashMap::new()).await.expect("plan");
    assert_eq!(round.new_actions, 2, "{round:?}");
    let start = bot
        .actions()
        .await
        .into_iter()
        .find(|a| matches!(a.kind, ActionKind::StartGame { .. }))
        .expect("the quiz step is a StartGame");
    assert_eq!(start.not_before, fires);
    bot.step().await;
    assert!(fake.world().polls.is_empty(), "nothing before its time");

    let wait = fires - Clock::now(&clock);
    clock.advance(wait);
    fake.advance(wait.num_seconds());
    settle(
        &mut bot,
        &clock,
        &fake,
        "the survey and the first question are out",
        |actions| sent_polls(actions).len() == 2,
    )
    .await;
    assert_eq!(bot.action(&start.key).await.status, ActionStatus::Done);
    let announced = fake
        .world()
        .bot_messages(GROUP)
        .iter()
        .filter(|m| m.text.starts_with("今晚答题闯关"))
        .count();
    assert_eq!(announced, 1, "the step's text opens the game");
    // A replan (a restart's first round) and a second look at due engine actions start
    // nothing again: the occurrence's keys are taken.
    let again = planner
        .plan_once(&mut HashMap::new())
        .await
        .expect("replan");
    assert_eq!(again.new_actions, 0);

    let actions = bot.actions().await;
    let survey = sent_polls(&actions)
        .into_iter()
        .find(|a| a.origin.to_string().ends_with("/city"))
        .map(|a| poll_id(&fake, a))
        .expect("survey");
    let first = sent_polls(&actions)
        .into_iter()
        .find(|a| a.key.ends_with(":q0"))
        .map(|a| poll_id(&fake, a))
        .expect("first question");
    {
        let world = fake.world();
        assert!(!world.polls[&survey].quiz && !world.polls[&survey].anonymous);
        assert_eq!(world.polls[&survey].options, ["上海", "北京", "其他"]);
        assert_eq!(
            world.polls[&first].correct,
            Some(1),
            "the step's own question"
        );
    }
    assert!(fake.answer_poll(&survey, 71, &[0]));
    assert!(fake.answer_poll(&survey, 72, &[1]));
    assert!(fake.answer_poll(&first, 71, &[1]));
    assert!(fake.answer_poll(&first, 72, &[0]));
    bot.step().await;

    let level = Duration::seconds(i64::from(QUESTION_SECONDS) + 1);
    clock.advance(level);
    fake.advance(level.num_seconds());
    settle(
        &mut bot,
        &clock,
        &fake,
        "the second question is out",
        |actions| sent_polls(actions).iter().any(|a| a.key.ends_with(":q1")),
    )
    .await;
    let second = sent_polls(&bot.actions().await)
        .into_iter()
        .find(|a| a.key.ends_with(":q1"))
        .map(|a| poll_id(&fake, a))
        .expect("second question");
    assert!(fake.answer_poll(&second, 71, &[0]));
    assert!(fake.answer_poll(&second, 72, &[0]));
    bot.step().await;
    clock.advance(level);
    fake.advance(level.num_seconds());
    settle(&mut bot, &clock, &fake, "the result is posted", |actions| {
        actions
            .iter()
            .any(|a| a.key.ends_with(":result") && a.status == ActionStatus::Done)
    })
    .await;

    let ledger = LedgerWorker {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        config: LedgerWorkerConfig::default(),
    };
    let paid = ledger.run_once().await.expect("ledger");
    assert_eq!(paid.applied, 1, "{paid:?}");
    assert_eq!(ledger.run_once().await.expect("again").applied, 0);
    let balance = |user: &str| Account::Member {
        platform: Platform::Telegram,
        user: user.into(),
    };
    assert_eq!(
        store
            .balance(bot.workspace, &balance("71"))
            .await
            .expect("71"),
        20
    );
    assert_eq!(
        store
            .balance(bot.workspace, &balance("72"))
            .await
            .expect("72"),
        0
    );
    for _ in 0..3 {
        bot.step().await;
    }
    let results = fake
        .world()
        .bot_messages(GROUP)
        .iter()
        .filter(|m| m.text.starts_with("📝 答题闯关结束"))
        .count();
    assert_eq!(results, 1, "the result is posted once");

    let tagger = PollTagger {
        store: store.clone(),
        workspace: bot.workspace,
        batch: 3,
        every: std::time::Duration::from_secs(1),
    };
    tagger.run_once().await.expect("tag");
    assert_eq!(tags(&*store, &bot, "71").await, ["city:上海"]);
    assert_eq!(tags(&*store, &bot, "72").await, ["city:北京"]);
    // Telegram reports a retracted vote as an answer with no options.
    assert!(fake.answer_poll(&survey, 72, &[]));
    bot.step().await;
    tagger.run_once().await.expect("untag");
    assert!(tags(&*store, &bot, "72").await.is_empty());
    assert_eq!(tags(&*store, &bot, "71").await, ["city:上海"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_survey_command_from_staff_tags_whoever_answers() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    let directory = qunzhu_engine::DirectoryHandle::default();
    let mut people = qunzhu_engine::directory::Directory::default();
    people.people.insert(
        (Platform::Telegram, "81".into()),
        (
            qunzhu_domain::MemberRole::Admin,
            qunzhu_domain::MemberTier::Regular,
        ),
    );
    directory.replace(people);
    let mut bot = Bot::start(&fake, None).await;
    *bot.decider.lock().await = Box::new(qunzhu_engine::Surveys {
        workspace: bot.workspace,
        platform: Platform::Telegram,
        enabled: true,
        directory,
    });
    for user in [81, 82, 83] {
        fake.join(GROUP, user);
    }
    fake.say(
        GROUP,
        82,
        "/survey 想要哪种课？ | 直播=课:直播 | 录播=课:录播",
    );
    fake.say(
        GROUP,
        81,
        "/survey 想要哪种课？ | 直播=课:直播 | 录播=课:录播",
    );
    bot.until("the survey is out", |actions| {
        !sent_polls(actions).is_empty()
    })
    .await;
    let actions = bot.actions().await;
    let polls = sent_polls(&actions);
    assert_eq!(polls.len(), 1, "only staff start surveys");
    let survey = poll_id(&fake, polls[0]);
    assert!(fake.answer_poll(&survey, 82, &[1]));
    assert!(fake.answer_poll(&survey, 83, &[0]));
    bot.step().await;
    let tagger = PollTagger {
        store: bot.store.clone(),
        workspace: bot.workspace,
        batch: 100,
        every: std::time::Duration::from_secs(1),
    };
    tagger.run_once().await.expect("tag");
    let store = bot.store.clone();
    assert_eq!(tags(&*store, &bot, "82").await, ["课:录播"]);
    assert_eq!(tags(&*store, &bot, "83").await, ["课:直播"]);
}

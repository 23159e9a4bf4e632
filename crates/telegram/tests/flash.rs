//! A flash group 快闪群 on the Bot API fake, named in its plan (Telegram bots cannot create
//! groups), with `end = "dissolve"`: at the close the closing message offers the long-lived
//! group, the title gets "（已结束）" and `SetPostingLevel` becomes `setChatPermissions` with every
//! `can_send_*` false, so a member's next message is refused; after the grace period both
//! members are removed (ban + unban) and the group is marked dissolved, each step once.

mod support;

use std::sync::Arc;

use chrono::{Timelike, Utc};
use qunzhu_connector::Connector;
use qunzhu_domain::{
    ActionKind, ActionStatus, Clock, DocumentKind, FakeClock, GroupStatus, Platform,
};
use qunzhu_engine::{FlashKeeper, Nothing};
use qunzhu_growth::flash::{Can, Stage};
use qunzhu_telegram_fake::{FakeTelegram, Status};
use support::{Bot, GROUP};

const PLAN: &str = r#"title = "双十二快闪"
platform = "telegram"
chat = "CHAT"
opens = "OPENS"
days = 1
link = "https://t.me/+vip"
end = "dissolve"
grace_hours = 1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_group_is_locked_by_chat_permissions_then_emptied_and_dissolved() {
    let fake = FakeTelegram::start(&[GROUP]).await;
    // On the minute, so the plan's local `opens` is exactly now.
    let start = Utc::now()
        .with_second(0)
        .and_then(|at| at.with_nanosecond(0))
        .expect("a minute");
    let clock = FakeClock::new(start);
    let clock_arc: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut bot = Bot::start_with_clock(&fake, Box::new(Nothing), clock_arc.clone()).await;
    let opens = start
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let plan = PLAN
        .replace("CHAT", &GROUP.to_string())
        .replace("OPENS", &opens);
    bot.store
        .put_document(
            bot.workspace,
            DocumentKind::Flash,
            "d12",
            &plan,
            "test",
            start,
        )
        .await
        .expect("plan");
    fake.join(GROUP, 41);
    fake.join(GROUP, 42);
    bot.step().await;
    let capabilities = bot.connector.capabilities().clone();
    assert!(capabilities.lock_posting, "Telegram declares the lock");
    let keeper = FlashKeeper {
        store: bot.store.clone(),
        clock: clock_arc.clone(),
        workspace: bot.workspace,
        platform: Platform::Telegram,
        can: Can {
            create_groups: capabilities.create_groups,
            send: capabilities.send_autonomously,
            rename: capabilities.edit_group,
            set_posting_level: capabilities.lock_posting,
            kick: capabilities.kick,
        },
        base_url: "https://q.example".into(),
        bot: bot.connector.bot_user(),
        every: std::time::Duration::from_secs(1),
        alerted: Arc::default(),
    };
    let stage = |round: Vec<qunzhu_engine::FlashStatus>| round[0].stage;
    assert_eq!(
        stage(keeper.run_once().await.expect("record")),
        Stage::Running
    );
    assert!(
        fake.say(GROUP, 41, "我要一份").is_some(),
        "selling: members post"
    );

    clock.advance(chrono::Duration::days(1));
    // Close, then rename and lock, then archived: a keeper round and a turn of the engine each,
    // a second apart (the dispatcher's per-group rate spaces the rename and the lock).
    for _ in 0..4 {
        keeper.run_once().await.expect("round");
        bot.step().await;
        clock.advance(chrono::Duration::seconds(1));
    }
    let round = keeper.run_once().await.expect("grace");
    assert_eq!(
        round[0].stage,
        Stage::Dissolving,
        "{:#?}",
        bot.actions().await
    );
    let lock = bot.action("flash:d12:lock").await;
    assert_eq!(lock.status, ActionStatus::Done, "{lock:?}");
    let calls = fake.world().calls_of("setChatPermissions");
    assert_eq!(calls.len(), 1, "{calls:?}");
    for (name, value) in calls[0]["permissions"].as_object().expect("permissions") {
        if name.starts_with("can_send") {
            assert_eq!(value, false, "{name}");
        }
    }
    assert!(!fake.world().chat(GROUP).members_may("can_send_messages"));
    assert_eq!(fake.say(GROUP, 41, "还能买吗"), None, "refused once locked");
    let (title, closing) = {
        let world = fake.world();
        let closing = world
            .bot_messages(GROUP)
            .into_iter()
            .map(|message| message.text)
            .collect::<Vec<_>>();
        (world.chat(GROUP).title.clone(), closing)
    };
    assert!(title.ends_with("（已结束）"), "{title}");
    assert!(
        closing
            .iter()
            .any(|text| text.contains("https://t.me/+vip")),
        "{closing:?}"
    );

    // After the grace period: both members removed, once each, then dissolved.
    clock.advance(chrono::Duration::hours(1));
    keeper.run_once().await.expect("kicks");
    for _ in 0..3 {
        bot.step().await;
        clock.advance(chrono::Duration::seconds(1));
    }
    let actions = bot.actions().await;
    assert!(
        ["flash:d12:kick:41", "flash:d12:kick:42"]
            .iter()
            .all(|key| support::settled(&actions, key)),
        "{actions:#?}"
    );
    bot.step().await;
    assert_eq!(
        stage(keeper.run_once().await.expect("dissolve")),
        Stage::Dissolved
    );
    for member in [41, 42] {
        assert_eq!(fake.world().status(GROUP, member), Status::Left, "{member}");
    }
    let group = bot
        .store
        .groups(bot.workspace)
        .await
        .expect("groups")
        .into_iter()
        .find(|summary| summary.group.chat == GROUP.to_string())
        .expect("the group")
        .group;
    assert_eq!(group.status, GroupStatus::Dissolved);
    // Much later, nothing more is written.
    clock.advance(chrono::Duration::days(7));
    keeper.run_once().await.expect("later");
    let actions = bot.actions().await;
    let kinds: Vec<&str> = actions.iter().map(|action| action.kind.name()).collect();
    assert_eq!(
        actions.len(),
        5,
        "close, rename, lock, two removals: {kinds:?}"
    );
    assert!(actions
        .iter()
        .all(|action| action.status == ActionStatus::Done));
    assert!(actions
        .iter()
        .any(|action| matches!(action.kind, ActionKind::SetPostingLevel { level: 50 })));
}

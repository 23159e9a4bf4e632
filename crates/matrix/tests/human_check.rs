//! The human check at join and self-introductions on a real Synapse with real member
//! accounts (issue #13.11, #13.14): a newcomer who answers right is released and can speak, a
//! silent one is removed after the limit with the reason, an allow-listed one skips it; an
//! introduction is read into tags and a newcomer who did not introduce themselves is nudged
//! exactly once.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use qunzhu_connector::Connector;
use qunzhu_domain::{ActionStatus, Clock, SystemClock};
use qunzhu_engine::{Decider, DispatchConfig, Dispatcher, Guard, Ingestor, RulesHandle};
use qunzhu_matrix::{encode, MatrixConnector};
use qunzhu_storage::{ActionFilter, NewWorkspace, Store};
use reqwest::Method;
use serde_json::json;
use support::{Server, User};
use tokio::sync::Mutex;

const RULES: &str = r#"
[human_check.wave]
within = "12s"
allow = ["@vip*:localhost"]
[[human_check.wave.questions]]
ask = "3 + 4 = ?"
answers = ["7", "七"]

[welcome.standard]
template = "🎉 欢迎 {name} 加入{group}！"
window = "1s"
nudge_after = "8s"
nudge_until = "intro"
nudge = "{name} 还没看到你的自我介绍哦：{intro_template}"
intro_template = "姓名：\n职业：\n行业：\n城市："

[profiles.all]
default = true
human_check = "wave"
welcome = "standard"
"#;

/// The name every guarded room is given before the bot joins.
const ROOM_NAME: &str = "裂变一群";

/// The engine's loops for one connector, stepped by hand so a test can wait on effects.
struct Bot {
    store: Arc<dyn Store>,
    connector: Arc<MatrixConnector>,
    ingestor: Ingestor,
    dispatcher: Dispatcher,
    decider: Arc<Mutex<Box<dyn Decider>>>,
    clock: Arc<dyn Clock>,
    cursor: Option<String>,
    workspace: qunzhu_domain::WorkspaceId,
}

impl Bot {
    async fn start(server: &Server, bot: &User, admin: &User, rules: &str) -> Bot {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "w".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .expect("workspace")
            .id;
        let connector = Arc::new(
            server
                .connector(bot, &[admin], |config| {
                    config.room_rate_per_second = 100.0;
                    config.account_rate_per_second = 100.0;
                })
                .await,
        );
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let rules = RulesHandle::new(qunzhu_moderation::check(rules, "rules.toml").expect("rules"));
        let guard = Guard::load(
            &*store,
            workspace,
            connector.platform(),
            connector.capabilities().clone(),
            rules,
            clock.now(),
        )
        .await
        .expect("guard");
        let decider: Arc<Mutex<Box<dyn Decider>>> = Arc::new(Mutex::new(Box::new(guard)));
        let ingestor = Ingestor::new(
            store.clone(),
            clock.clone(),
            chrono_tz::Asia::Shanghai,
            connector.id(),
            decider.clone(),
        );
        let dispatcher = Dispatcher::new(
            store.clone(),
            connector.clone(),
            clock.clone(),
            DispatchConfig::default(),
        );
        Bot {
            store,
            connector,
            ingestor,
            dispatcher,
            decider,
            clock,
            cursor: None,
            workspace,
        }
    }

    /// One turn of the engine: poll and ingest, tick, dispatch.
    async fn step(&mut self) {
        let batch = self
            .connector
            .poll(self.cursor.as_deref())
            .await
            .expect("poll");
        if batch.cursor.is_some() {
            self.cursor.clone_from(&batch.cursor);
        }
        self.ingestor.ingest(batch).await.expect("ingest");
        let timed = self.decider.lock().await.tick(self.clock.now());
        self.store.enqueue(timed).await.expect("enqueue");
        self.dispatcher.run_once().await.expect("dispatch");
    }

    /// Steps until `done` holds, for at most 30 s.
    async fn until(&mut self, what: &str, mut done: impl AsyncFnMut(&Bot) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(self).await {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            self.step().await;
        }
    }

    async fn actions(&self) -> Vec<qunzhu_domain::ActionRecord> {
        self.store
            .actions(
                self.workspace,
                &ActionFilter {
                    limit: Some(1000),
                    ..ActionFilter::default()
                },
            )
            .await
            .expect("actions")
    }
}

/// A room with the bot in it as a moderator.
async fn guarded_room(server: &Server) -> (User, Bot, String) {
    let (admin, bot_user) = (server.user("admin").await, server.user("bot").await);
    let room = admin.create_room("12", "public").await;
    admin
        .call(
            Method::PUT,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.name/",
                encode(&room)
            ),
            Some(json!({"name": ROOM_NAME})),
        )
        .await;
    let mut bot = Bot::start(server, &bot_user, &admin, RULES).await;
    bot.step().await;
    admin.invite(&room, &bot_user.id).await;
    let bot_id = bot_user.id.clone();
    let probe_room = room.clone();
    let probe_admin = &admin;
    bot.until("the bot joins", async |_| {
        probe_admin
            .joined_members(&probe_room)
            .await
            .contains(&bot_id)
    })
    .await;
    admin.set_power(&room, &bot_user.id, 50).await;
    bot.step().await;
    (admin, bot, room)
}

fn done(actions: &[qunzhu_domain::ActionRecord], suffix: &str) -> bool {
    actions
        .iter()
        .any(|action| action.key.ends_with(suffix) && action.status == ActionStatus::Done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_answer_releases_silence_removes_and_the_allow_list_skips() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, mut bot, room) = guarded_room(&server).await;
    let human = server.user("human").await;
    let quiet = server.user("quiet").await;
    let vip = server.user("vip1").await;
    human.join(&room).await;
    quiet.join(&room).await;
    vip.join(&room).await;
    bot.until("the questions are asked", async |bot| {
        bot.actions()
            .await
            .iter()
            .filter(|action| action.key.ends_with(":ask") && action.status == ActionStatus::Done)
            .count()
            == 2
    })
    .await;
    let asked: Vec<String> = admin
        .bodies(&room)
        .await
        .into_iter()
        .filter(|body| body.contains("3 + 4 = ?"))
        .collect();
    assert_eq!(
        asked.len(),
        2,
        "the allow-listed member is not asked: {asked:?}"
    );
    assert!(!asked.iter().any(|body| body.contains("vip1")), "{asked:?}");

    let answer = human.say(&room, "七").await;
    bot.until("the human passes", async |bot| {
        let actions = bot.actions().await;
        done(&actions, ":pass")
    })
    .await;
    assert_eq!(
        admin.event(&room, &answer).await["content"],
        json!({}),
        "the answer is redacted, nobody copies it"
    );
    let hello = human.say(&room, "大家好，我是新来的").await;
    let vip_hello = vip.say(&room, "hello from vip").await;

    let (watch_room, quiet_id) = (room.clone(), quiet.id.clone());
    let admin_ref = &admin;
    bot.until("the silent newcomer is removed", async |_| {
        !admin_ref
            .joined_members(&watch_room)
            .await
            .contains(&quiet_id)
    })
    .await;
    let state = admin
        .call(
            Method::GET,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.member/{}",
                encode(&room),
                encode(&quiet.id)
            ),
            None,
        )
        .await;
    assert_eq!(state["membership"], "leave");
    assert_eq!(state["reason"], "未在时限内完成人机验证", "{state}");
    // Released: what the human and the vip say after stays.
    bot.step().await;
    for message in [&hello, &vip_hello] {
        assert_ne!(admin.event(&room, message).await["content"], json!({}));
    }
    assert!(admin.joined_members(&room).await.contains(&human.id));
    let expire = bot.actions().await.into_iter().find(|action| {
        action.key.ends_with(":expire")
            && matches!(&action.kind, qunzhu_domain::ActionKind::Kick { member, .. } if *member == human.id)
    });
    assert!(
        expire.is_some_and(|action| action.status == ActionStatus::Skipped),
        "the passed member's removal is skipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intro_is_read_into_tags_and_a_non_introducer_is_nudged_once() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, mut bot, room) = guarded_room(&server).await;
    // Allow-listed, so the human check stays out of the way of the welcome.
    let writer = server.user("vipwriter").await;
    let chatter = server.user("vipchatter").await;
    writer.join(&room).await;
    chatter.join(&room).await;
    bot.until("the welcome goes out", async |bot| {
        bot.actions()
            .await
            .iter()
            .any(|action| action.key.starts_with("welcome:") && action.status == ActionStatus::Done)
    })
    .await;
    writer
        .say(&room, "姓名：小王\n职业：设计师\n行业：互联网\n城市：上海")
        .await;
    chatter.say(&room, "大家好").await;
    bot.until("the nudge goes out", async |bot| {
        bot.actions()
            .await
            .iter()
            .any(|action| action.key.starts_with("nudge:") && action.status == ActionStatus::Done)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    bot.step().await;
    let nudges: Vec<String> = admin
        .bodies(&room)
        .await
        .into_iter()
        .filter(|body| body.contains("还没看到你的自我介绍"))
        .collect();
    assert_eq!(nudges.len(), 1, "one nudge: {nudges:?}");
    assert!(
        nudges[0].contains("vipchatter") && !nudges[0].contains("vipwriter"),
        "{}",
        nudges[0]
    );
    let audit = bot
        .store
        .audit_log(bot.workspace, None, 100)
        .await
        .expect("audit");
    let intro = audit
        .iter()
        .find(|entry| entry.action == "guard.intro" && entry.subject == writer.id)
        .expect("the intro is audited");
    let tags = format!("{intro:?}");
    for tag in ["姓名:小王", "职业:设计师", "行业:互联网", "城市:上海"] {
        assert!(tags.contains(tag), "{tag} in {tags}");
    }
    // The tags are the member's, as the directory (and the console's member page) shows them.
    let member = bot
        .store
        .member(
            bot.workspace,
            qunzhu_domain::Platform::Matrix,
            &writer.id.as_str().into(),
        )
        .await
        .expect("member");
    assert_eq!(
        member.tags,
        ["姓名:小王", "职业:设计师", "行业:互联网", "城市:上海"],
        "{member:?}"
    );
    let quiet = bot
        .store
        .member(
            bot.workspace,
            qunzhu_domain::Platform::Matrix,
            &chatter.id.as_str().into(),
        )
        .await
        .expect("member");
    assert!(quiet.tags.is_empty(), "{quiet:?}");
}

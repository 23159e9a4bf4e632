//! Group guardianship end to end on a real Synapse: the engine's ingest, guardian, outbox and
//! dispatcher driving the Matrix connector, with effects checked as another member sees them.

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
[keywords.ads]
words = ["加微信", "兼职刷单"]

[[rules]]
name = "no-ads"
kind = "keywords"
lists = ["ads"]
reason = "群内禁止发广告"
actions = "redact+warn"

[[rules]]
name = "newcomer-link"
kind = "newcomer_link"
within = "30m"
reason = "新人入群请先自我介绍，不要直接发链接"
actions = "redact+kick"

[[rules]]
name = "trial-spam-words"
kind = "keywords"
words = ["帮我砍一刀"]
reason = "请勿在群里发砍价链接"
actions = "redact+warn"
dry_run = true

[welcome.standard]
template = "🎉 热烈欢迎 {name} 加入{group}！"
window = "3s"
max_batch = 30

[review.fission]
deny_names = ['^a{3}']
otherwise = "approve"

[profiles.all]
default = true
rules = ["no-ads", "newcomer-link", "trial-spam-words"]
welcome = "standard"
review = "fission"
"#;

/// The name every guarded room is given before the bot joins.
const ROOM_NAME: &str = "品牌一群";

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
async fn guarded_room(server: &Server, join_rule: &str) -> (User, User, Bot, String) {
    guarded_room_with(server, join_rule, RULES, 50).await
}

/// A room with the bot in it at power `level`, guarding by `rules`.
async fn guarded_room_with(
    server: &Server,
    join_rule: &str,
    rules: &str,
    level: i64,
) -> (User, User, Bot, String) {
    let (admin, bot_user) = (server.user("admin").await, server.user("bot").await);
    let room = admin.create_room("12", join_rule).await;
    // Named before the bot arrives: it learns the name from the room's state.
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
    let mut bot = Bot::start(server, &bot_user, &admin, rules).await;
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
    admin.set_power(&room, &bot_user.id, level).await;
    bot.step().await;
    (admin, bot_user, bot, room)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_wave_of_ten_gets_one_welcome() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, _bot_user, mut bot, room) = guarded_room(&server, "public").await;
    for index in 0..10 {
        server
            .user(&format!("wave{index}x"))
            .await
            .join(&room)
            .await;
    }
    bot.until("the welcome goes out", async |bot| {
        bot.actions()
            .await
            .iter()
            .any(|action| action.key.starts_with("welcome:") && action.status == ActionStatus::Done)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    bot.step().await;
    let welcomes: Vec<String> = admin
        .bodies(&room)
        .await
        .into_iter()
        .filter(|body| body.contains("热烈欢迎"))
        .collect();
    assert_eq!(welcomes.len(), 1, "one welcome for the wave: {welcomes:?}");
    assert_eq!(
        welcomes[0].matches("wave").count(),
        10,
        "it greets all ten: {}",
        welcomes[0]
    ); // Issue #13.3: `{group}` is the room's name, not its id.
    assert!(
        welcomes[0].contains(&format!("加入{ROOM_NAME}")) && !welcomes[0].contains(&room),
        "the welcome names the room: {}",
        welcomes[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_joiners_spam_link_is_redacted_and_the_sender_kicked() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, _bot_user, mut bot, room) = guarded_room(&server, "public").await;
    let spammer = server.user("spammer").await;
    spammer.join(&room).await;
    let spam = spammer.say(&room, "低价代购 http://ads.example/buy").await;
    let (watch_room, spammer_id) = (room.clone(), spammer.id.clone());
    let admin_ref = &admin;
    bot.until("the spammer is removed", async |_| {
        !admin_ref
            .joined_members(&watch_room)
            .await
            .contains(&spammer_id)
    })
    .await;
    assert_eq!(
        admin.event(&room, &spam).await["content"],
        json!({}),
        "the admin sees the link redacted"
    );
    let audit = bot
        .store
        .audit_log(bot.workspace, None, 50)
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|entry| entry.action == "guard.newcomer-link" && entry.subject == spammer.id),
        "audited with rule and evidence"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aaa_name_is_refused_at_the_knock() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, _bot_user, mut bot, room) = guarded_room(&server, "knock").await;
    let junk = server.user("junk").await;
    let path = format!(
        "/_matrix/client/v3/profile/{}/displayname",
        encode(&junk.id)
    );
    junk.call(
        Method::PUT,
        &path,
        Some(json!({"displayname": "AAA批发微商"})),
    )
    .await;
    junk.knock(&room).await;
    bot.until("the knock is denied", async |bot| {
        bot.actions().await.iter().any(|action| {
            matches!(
                action.kind,
                qunzhu_domain::ActionKind::DecideJoinRequest { approve: false, .. }
            ) && action.status == ActionStatus::Done
        })
    })
    .await;
    let state = admin
        .call(
            Method::GET,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.member/{}",
                encode(&room),
                encode(&junk.id)
            ),
            None,
        )
        .await;
    assert_eq!(
        state["membership"], "leave",
        "the admin sees the knock refused: {state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_rule_records_and_acts_on_nothing() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, _bot_user, mut bot, room) = guarded_room(&server, "invite").await;
    let member = server.user("member").await;
    admin.invite(&room, &member.id).await;
    member.join(&room).await;
    // Old enough a member that the newcomer rule does not apply: wait is not needed, the text has no link.
    let message = member.say(&room, "帮我砍一刀吧").await;
    bot.until("the dry run is recorded", async |bot| {
        bot.actions()
            .await
            .iter()
            .any(|action| action.status == ActionStatus::DryRun)
    })
    .await;
    for _ in 0..3 {
        bot.step().await;
    }
    assert_ne!(
        admin.event(&room, &message).await["content"],
        json!({}),
        "nothing was redacted"
    );
    assert!(admin.joined_members(&room).await.contains(&member.id));
    assert!(bot
        .actions()
        .await
        .iter()
        .all(|action| action.status != ActionStatus::Done
            || !action.key.starts_with("mod:trial-spam-words")));
}

/// A timed mute ends (issue #13.8): Matrix has no end time for a mute (a power-level change), so
/// the unmute is written to the outbox with the mute; another member sees the level restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_mute_is_lifted_when_it_ends() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let rules = r#"
[[rules]]
name = "flood"
kind = "flood"
count = 3
within = "20s"
reason = "请勿刷屏"
actions = "mute 4s"

[profiles.all]
default = true
rules = ["flood"]
"#;
    // Changing power levels takes 100 in Synapse's default rooms.
    let (admin, _bot_user, mut bot, room) = guarded_room_with(&server, "public", rules, 100).await;
    let flooder = server.user("flooder").await;
    flooder.join(&room).await;
    for index in 0..3 {
        flooder.say(&room, &format!("刷屏 {index}")).await;
    }
    let (watch_room, flooder_id) = (room.clone(), flooder.id.clone());
    let admin_ref = &admin;
    let level =
        async |room: &str, user: &str| admin_ref.power_levels(room).await["users"][user].as_i64();
    bot.until("the flooder is muted", async |_| {
        level(&watch_room, &flooder_id).await == Some(-1)
    })
    .await;
    let actions = bot.actions().await;
    let mute = actions
        .iter()
        .find(|action| action.kind.name() == "mute")
        .expect("the mute is in the outbox");
    let unmute = actions
        .iter()
        .find(|action| action.kind.name() == "unmute")
        .expect("its unmute is in the outbox with it");
    assert_eq!(unmute.key, format!("{}:unmute", mute.key));
    assert_eq!(
        unmute.status,
        ActionStatus::Pending,
        "not before the mute ends"
    );
    assert!(unmute.not_before > mute.created_at + chrono::Duration::seconds(3));
    bot.until("the mute ends and the level is restored", async |_| {
        level(&watch_room, &flooder_id).await.is_none()
    })
    .await;
    let unmute = bot
        .actions()
        .await
        .into_iter()
        .find(|action| action.kind.name() == "unmute")
        .expect("unmute");
    assert_eq!(unmute.status, ActionStatus::Done);
    assert!(
        bot.clock.now() >= unmute.not_before,
        "lifted at its time, not before"
    );
}

/// A flood is redacted as a whole (issue #13.1): all twelve messages of the burst are gone for
/// another member, not only the one that crossed the threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_redacted_as_a_whole_burst() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let rules = r#"
[[rules]]
name = "flood"
kind = "flood"
count = 12
within = "60s"
reason = "请勿刷屏"
actions = "redact"

[profiles.all]
default = true
rules = ["flood"]
"#;
    let (admin, _bot_user, mut bot, room) = guarded_room_with(&server, "public", rules, 50).await;
    let flooder = server.user("burst").await;
    flooder.join(&room).await;
    let mut sent = Vec::new();
    for index in 0..12 {
        sent.push(flooder.say(&room, &format!("刷屏 {index}")).await);
    }
    bot.until("the burst is redacted", async |bot| {
        let actions = bot.actions().await;
        actions
            .iter()
            .filter(|action| action.kind.name() == "redact")
            .count()
            == 12
            && actions
                .iter()
                .all(|action| action.status == ActionStatus::Done)
    })
    .await;
    for (index, message) in sent.iter().enumerate() {
        assert_eq!(
            admin.event(&room, message).await["content"],
            json!({}),
            "the admin sees message {index} of the burst redacted"
        );
    }
}

/// A space is not a group (issue #13.5): invited to the space that holds the room, the bot
/// stays out of it and the store lists only the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_is_not_a_group() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, bot_user, mut bot, room) = guarded_room(&server, "public").await;
    let space = admin
        .call(
            Method::POST,
            "/_matrix/client/v3/createRoom",
            Some(json!({"name": "品牌空间", "creation_content": {"type": "m.space"},
                "initial_state": [{"type": "m.space.child", "state_key": room, "content": {"via": ["localhost"]}}]})),
        )
        .await["room_id"]
        .as_str()
        .expect("space id")
        .to_string();
    admin.invite(&space, &bot_user.id).await;
    admin.say(&space, "空间里的一句话").await;
    for _ in 0..4 {
        bot.step().await;
    }
    assert!(
        !admin.joined_members(&space).await.contains(&bot_user.id),
        "the bot did not join the space"
    );
    let groups: Vec<String> = bot
        .store
        .groups(bot.workspace)
        .await
        .expect("groups")
        .into_iter()
        .map(|summary| summary.group.chat)
        .collect();
    assert_eq!(groups, vec![room.clone()], "only the room is a group");
    let named = bot
        .store
        .groups(bot.workspace)
        .await
        .expect("groups")
        .into_iter()
        .map(|summary| summary.group.name)
        .collect::<Vec<_>>();
    assert_eq!(
        named,
        vec![ROOM_NAME.to_string()],
        "recorded under its name"
    );
}

/// A mute without the power for it (issue #13.2): at power level 50 Synapse's rooms refuse
/// power-level changes, so no mute is attempted; the flooder is kicked instead, as another
/// member sees, and nothing is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mute_without_power_falls_back_to_a_kick() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let rules = r#"
[[rules]]
name = "flood"
kind = "flood"
count = 3
within = "20s"
reason = "请勿刷屏"
actions = "redact+mute 10m"

[profiles.all]
default = true
rules = ["flood"]
"#;
    let (admin, bot_user, mut bot, room) = guarded_room_with(&server, "public", rules, 50).await;
    let lacking: Vec<&str> = bot
        .connector
        .lacking_powers(&room)
        .await
        .expect("power levels")
        .iter()
        .map(|lacking| lacking.verb)
        .collect();
    assert_eq!(lacking, ["mute"], "the warning names the mute");
    // The read model the console warns from: the bot's level 50 allows all but the mute.
    let (workspace, watched) = (bot.workspace, room.clone());
    bot.until("the bot's powers are stored", async |bot| {
        bot.store
            .bot_powers(workspace, qunzhu_domain::Platform::Matrix, &watched)
            .await
            .expect("powers")
            .is_some_and(|p| p.level == 50 && !p.can_mute && p.can_kick && p.can_redact)
    })
    .await;
    let levels_before = admin.power_levels(&room).await;
    let flooder = server.user("nopower").await;
    flooder.join(&room).await;
    for index in 0..3 {
        flooder.say(&room, &format!("刷屏 {index}")).await;
    }
    let (watch_room, flooder_id) = (room.clone(), flooder.id.clone());
    let admin_ref = &admin;
    bot.until("the flooder is removed", async |_| {
        !admin_ref
            .joined_members(&watch_room)
            .await
            .contains(&flooder_id)
    })
    .await;
    assert_eq!(
        admin.power_levels(&room).await,
        levels_before,
        "no mute was attempted"
    );
    bot.until("every action is settled", async |bot| {
        bot.actions().await.iter().all(|action| {
            action.status == ActionStatus::Done
                || (action.kind.name() == "unmute" && action.status == ActionStatus::Pending)
        })
    })
    .await;
    assert!(admin.joined_members(&room).await.contains(&bot_user.id));
}

/// `allowed_inviters` takes patterns and edits apply while running (issue #13.7): an invitation
/// from someone not allowed is ignored; once a pattern covers them, the next one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviter_patterns_apply_without_a_restart() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (_admin, bot_user, mut bot, _room) = guarded_room(&server, "public").await;
    let stranger = server.user("ops-li").await;
    let first = stranger.create_room("12", "invite").await;
    stranger.invite(&first, &bot_user.id).await;
    for _ in 0..3 {
        bot.step().await;
    }
    assert!(
        !stranger.joined_members(&first).await.contains(&bot_user.id),
        "not an allowed inviter yet"
    );
    let domain = stranger
        .id
        .split_once(':')
        .map(|(_, domain)| domain)
        .expect("domain");
    bot.connector
        .set_allowed_inviters(vec![format!("@ops-*:{domain}")]);
    let second = stranger.create_room("12", "invite").await;
    stranger.invite(&second, &bot_user.id).await;
    let (watch, bot_id, stranger_ref) = (second.clone(), bot_user.id.clone(), &stranger);
    bot.until("the bot accepts the pattern's invitation", async |_| {
        stranger_ref.joined_members(&watch).await.contains(&bot_id)
    })
    .await;
}

/// A knock the bot approved is no longer waiting (issue #13.6), though the knocker has not
/// joined yet: approving is an invitation, which another member sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_knock_is_no_longer_listed_as_waiting() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, _bot_user, mut bot, room) = guarded_room(&server, "knock").await;
    let knocker = server.user("knocker").await;
    knocker.knock(&room).await;
    let (watch, knocker_id, admin_ref) = (room.clone(), knocker.id.clone(), &admin);
    bot.until("the knock is approved", async |_| {
        let path = format!(
            "/_matrix/client/v3/rooms/{}/state/m.room.member/{}",
            encode(&watch),
            encode(&knocker_id)
        );
        admin_ref.call(Method::GET, &path, None).await["membership"] == "invite"
    })
    .await;
    bot.step().await;
    bot.step().await;
    let pending = bot
        .store
        .pending_join_requests(bot.workspace)
        .await
        .expect("pending");
    assert!(pending.is_empty(), "nothing waits: {pending:?}");
}

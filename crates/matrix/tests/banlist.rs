//! The brand-wide ban list and raid mode on a real Synapse, through the engine's ingest, guard,
//! ban watcher, outbox and dispatcher, with effects checked as the room's admin sees them.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use qunzhu_connector::Connector;
use qunzhu_domain::{BanTarget, Clock, Platform, SystemClock};
use qunzhu_engine::{
    BanHandle, BanWatcher, Decider, DispatchConfig, Dispatcher, Guard, Ingestor, RulesHandle,
};
use qunzhu_matrix::{encode, MatrixConnector};
use qunzhu_storage::{NewWorkspace, Store, UserRole};
use reqwest::Method;
use support::{Server, User};
use tokio::sync::Mutex;

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
    bans: BanWatcher,
    revision: Option<i64>,
    follower: qunzhu_engine::PolicyFollower,
    backroom: Option<qunzhu_ops::backroom::Backroom>,
}

impl Bot {
    async fn start(
        server: &Server,
        bot: &User,
        admin: &User,
        rules: &str,
        policy_room: Option<&str>,
    ) -> Bot {
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
                    config.policy_room = policy_room.map(str::to_string);
                })
                .await,
        );
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let rules = RulesHandle::new(qunzhu_moderation::check(rules, "rules.toml").expect("rules"));
        let bans = BanWatcher {
            store: store.clone(),
            clock: clock.clone(),
            workspace,
            handle: BanHandle::default(),
            bots: vec![(Platform::Matrix, bot.id.clone())],
            every: Duration::from_secs(1),
        };
        let guard = Guard::load(
            &*store,
            workspace,
            connector.platform(),
            connector.capabilities().clone(),
            rules,
            clock.now(),
        )
        .await
        .expect("guard")
        .with_bans(bans.handle.clone());
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
        let follower = qunzhu_engine::PolicyFollower::new(
            store.clone(),
            clock.clone(),
            workspace,
            vec![(Platform::Matrix, bot.id.clone())],
        );
        Bot {
            backroom: None,
            follower,
            store,
            connector,
            ingestor,
            dispatcher,
            decider,
            clock,
            cursor: None,
            workspace,
            bans,
            revision: None,
        }
    }

    /// One turn of the engine: poll and ingest, the ban watcher, tick, dispatch.
    async fn step(&mut self) {
        // The followed lists as the store has them, as `serve` hands them to the connector.
        let lists = self
            .store
            .policy_lists(self.workspace)
            .await
            .expect("lists")
            .into_iter()
            .map(|list| list.room)
            .collect();
        self.connector.set_policy_lists(lists);
        let batch = self
            .connector
            .poll(self.cursor.as_deref())
            .await
            .expect("poll");
        if batch.cursor.is_some() {
            self.cursor.clone_from(&batch.cursor);
        }
        self.ingestor.ingest(batch).await.expect("ingest");
        self.follower.sync().await.expect("policy follower");
        if let Some(backroom) = &self.backroom {
            backroom.sync().await.expect("back-room");
        }
        self.revision = Some(self.bans.sync(self.revision).await.expect("ban watcher"));
        let timed = self.decider.lock().await.tick(self.clock.now());
        self.store.enqueue(timed).await.expect("enqueue");
        self.dispatcher.run_once().await.expect("dispatch");
    }

    /// Steps until `done` holds, for at most 40 s.
    async fn until(&mut self, what: &str, mut done: impl AsyncFnMut(&Bot) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(40);
        while !done(self).await {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            self.step().await;
        }
    }

    fn ops(&self) -> qunzhu_ops::Ops {
        qunzhu_ops::Ops::new(self.store.clone(), self.clock.clone())
    }

    fn actor(&self) -> qunzhu_ops::Actor {
        qunzhu_ops::Actor {
            workspace: self.workspace,
            name: qunzhu_domain::ActorName::User("admin".into()),
            role: UserRole::Admin,
        }
    }
}

/// `member`'s membership in `room` as `viewer` sees it (`join`, `ban`, …).
async fn membership(viewer: &User, room: &str, member: &str) -> String {
    let answer = viewer
        .call(
            Method::GET,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.member/{}",
                encode(room),
                encode(member)
            ),
            None,
        )
        .await;
    answer["membership"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A state event's content, or `null` while there is none (404).
async fn state_or_nothing(viewer: &User, path: &str) -> serde_json::Value {
    viewer
        .client
        .call(Method::GET, path, None, None)
        .await
        .unwrap_or_default()
}

/// A public room the bot guards at power 100.
async fn guarded(admin: &User, bot_user: &User, bot: &mut Bot) -> String {
    let room = admin.create_room("12", "public").await;
    bot.step().await;
    admin.invite(&room, &bot_user.id).await;
    let probe = (room.clone(), bot_user.id.clone());
    bot.until("the bot joins", async |_| {
        admin.joined_members(&probe.0).await.contains(&probe.1)
    })
    .await;
    admin.set_power(&room, &bot_user.id, 100).await;
    bot.step().await;
    room
}

const PLAIN: &str = "[profiles.all]\ndefault = true\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brand_ban_holds_in_every_group_and_at_a_later_join() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, bot_user) = (server.user("admin").await, server.user("bot").await);
    // The brand's own policy list: a room the bot may write state in.
    let policy = admin.create_room("12", "invite").await;
    admin.invite(&policy, &bot_user.id).await;
    let mut bot = Bot::start(&server, &bot_user, &admin, PLAIN, Some(&policy)).await;
    let probe = (policy.clone(), bot_user.id.clone());
    bot.until("the bot joins the policy room", async |_| {
        admin.joined_members(&probe.0).await.contains(&probe.1)
    })
    .await;
    admin.set_power(&policy, &bot_user.id, 100).await;
    let first = guarded(&admin, &bot_user, &mut bot).await;
    let second = guarded(&admin, &bot_user, &mut bot).await;
    let (spammer, staff) = (server.user("spammer").await, server.user("staff").await);
    spammer.join(&first).await;
    staff.join(&first).await;
    let probe = first.clone();
    bot.until("the bot sees the spammer", async |bot| {
        bot.store
            .present_members(bot.workspace, Platform::Matrix, Some(&spammer.id))
            .await
            .expect("present")
            .iter()
            .any(|presence| presence.chat == probe)
    })
    .await;
    bot.store
        .update_member(
            bot.workspace,
            Platform::Matrix,
            &staff.id.as_str().into(),
            qunzhu_storage::MemberUpdate {
                role: Some(qunzhu_domain::MemberRole::Admin),
                ..Default::default()
            },
        )
        .await
        .expect("staff role");
    let server_part = staff.id.split_once(':').expect("server").1.to_string();
    let refused = bot
        .ops()
        .ban(
            &bot.actor(),
            Platform::Matrix,
            BanTarget::User,
            &format!("@*:{server_part}"),
            "everyone here",
        )
        .await
        .expect_err("a glob over staff is refused");
    assert!(refused.to_string().contains(&staff.id), "{refused}");

    bot.ops()
        .ban(
            &bot.actor(),
            Platform::Matrix,
            BanTarget::User,
            &spammer.id,
            "广告刷屏",
        )
        .await
        .expect("ban");
    bot.until("banned where they are", async |_| {
        membership(&admin, &first, &spammer.id).await == "ban"
    })
    .await;
    // Published as a policy-list rule other moderation bots can follow.
    let rule_path = format!(
        "/_matrix/client/v3/rooms/{}/state/m.policy.rule.user/{}",
        encode(&policy),
        encode(&format!("rule:{}", spammer.id))
    );
    let rule_probe = rule_path.clone();
    bot.until("the rule is in the policy room", async |_| {
        state_or_nothing(&admin, &rule_probe).await["entity"] == spammer.id.as_str()
    })
    .await;
    let rule = state_or_nothing(&admin, &rule_path).await;
    assert_eq!(
        (rule["recommendation"].as_str(), rule["reason"].as_str()),
        (Some("m.ban"), Some("广告刷屏"))
    );
    // The ban holds in the other group the moment they walk in.
    spammer.join(&second).await;
    bot.until("banned at the later join", async |_| {
        membership(&admin, &second, &spammer.id).await == "ban"
    })
    .await;
    assert_eq!(membership(&admin, &first, &staff.id).await, "join");

    let lifted = bot
        .ops()
        .unban(&bot.actor(), Platform::Matrix, &spammer.id, "appeal")
        .await
        .expect("unban");
    assert_eq!(
        lifted.unbans, 2,
        "one unban per group it was carried out in"
    );
    bot.until("unbanned everywhere", async |_| {
        membership(&admin, &first, &spammer.id).await == "leave"
            && membership(&admin, &second, &spammer.id).await == "leave"
    })
    .await;
    bot.until("the rule is withdrawn (empty content)", async |_| {
        state_or_nothing(&admin, &rule_path)
            .await
            .get("entity")
            .is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_policy_list_bans_in_every_group_once_enforced_and_a_withdrawn_rule_unbans() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, bot_user) = (server.user("admin").await, server.user("bot").await);
    let mut bot = Bot::start(&server, &bot_user, &admin, PLAIN, None).await;
    let first = guarded(&admin, &bot_user, &mut bot).await;
    let second = guarded(&admin, &bot_user, &mut bot).await;
    let spammer = server.user("listed").await;
    spammer.join(&first).await;
    spammer.join(&second).await;
    let probe = spammer.id.clone();
    bot.until(
        "the bot sees the listed member in both groups",
        async |bot| {
            bot.store
                .present_members(bot.workspace, Platform::Matrix, Some(&probe))
                .await
                .expect("present")
                .len()
                == 2
        },
    )
    .await;

    // Another community's moderator keeps a policy list in a public room of their own.
    let keeper = server.user("keeper").await;
    let list = keeper.create_room("12", "public").await;
    let rule_path = |entity: &str| {
        format!(
            "/_matrix/client/v3/rooms/{}/state/m.policy.rule.user/{}",
            encode(&list),
            encode(&format!("rule:{entity}"))
        )
    };
    keeper
        .call(
            Method::PUT,
            &rule_path(&spammer.id),
            Some(serde_json::json!({"entity": spammer.id, "recommendation": "m.ban", "reason": "scam links"})),
        )
        .await;
    // A rule over the bot itself is never applied.
    keeper
        .call(
            Method::PUT,
            &rule_path(&bot_user.id),
            Some(serde_json::json!({"entity": bot_user.id, "recommendation": "m.ban", "reason": "bots"})),
        )
        .await;

    bot.ops()
        .follow_list(&bot.actor(), &list)
        .await
        .expect("follow");
    bot.until(
        "the dry-run shows who the list would ban where",
        async |bot| {
            let overview = bot
                .ops()
                .ban_overview(&bot.actor())
                .await
                .expect("overview");
            overview
                .lists
                .first()
                .is_some_and(|view| view.would_ban.len() == 2)
        },
    )
    .await;
    let overview = bot
        .ops()
        .ban_overview(&bot.actor())
        .await
        .expect("overview");
    let view = &overview.lists[0];
    assert_eq!(
        view.rules, 1,
        "the rule over the bot is not taken: {view:?}"
    );
    assert!(
        view.would_ban
            .iter()
            .all(|would| would.member == spammer.id && would.reason == "scam links"),
        "{view:?}"
    );
    for _ in 0..3 {
        bot.step().await;
    }
    assert_eq!(
        membership(&admin, &first, &spammer.id).await,
        "join",
        "dry-run bans nobody"
    );
    assert!(
        !admin.joined_members(&first).await.is_empty()
            && bot.store.groups(bot.workspace).await.expect("groups").len() == 2,
        "the list room is not a group"
    );

    bot.ops()
        .enforce_list(&bot.actor(), &list)
        .await
        .expect("enforce");
    bot.until("banned in both groups", async |_| {
        membership(&admin, &first, &spammer.id).await == "ban"
            && membership(&admin, &second, &spammer.id).await == "ban"
    })
    .await;
    assert!(admin.joined_members(&first).await.contains(&bot_user.id));

    // The keeper withdraws the rule (emptied content, as the spec removes a rule).
    keeper
        .call(
            Method::PUT,
            &rule_path(&spammer.id),
            Some(serde_json::json!({})),
        )
        .await;
    bot.until(
        "unbanned everywhere once the rule is withdrawn",
        async |_| {
            membership(&admin, &first, &spammer.id).await == "leave"
                && membership(&admin, &second, &spammer.id).await == "leave"
        },
    )
    .await;
    let overview = bot
        .ops()
        .ban_overview(&bot.actor())
        .await
        .expect("overview");
    assert!(
        overview.bans.iter().all(|ban| ban.entity != spammer.id),
        "the followed ban is gone: {:?}",
        overview.bans
    );
}

const ADS: &str = r#"
[keywords.ads]
words = ["加微信"]

[[rules]]
name = "no-ads"
kind = "keywords"
lists = ["ads"]
reason = "群内禁止发广告"
actions = "redact"

[profiles.all]
default = true
rules = ["no-ads"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_reaches_the_backroom_and_an_admin_bans_brand_wide_from_there() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, bot_user) = (server.user("admin").await, server.user("bot").await);
    let mut bot = Bot::start(&server, &bot_user, &admin, ADS, None).await;
    // The 管理群: a private room of the brand's admins.
    let backroom = admin.create_room("12", "invite").await;
    admin.invite(&backroom, &bot_user.id).await;
    let probe = (backroom.clone(), bot_user.id.clone());
    bot.until("the bot joins the back-room", async |_| {
        admin.joined_members(&probe.0).await.contains(&probe.1)
    })
    .await;
    let mut door = qunzhu_ops::backroom::Backroom::new(
        bot.ops(),
        bot.workspace,
        Platform::Matrix,
        backroom.clone(),
    );
    door.staff = vec![admin.id.clone()];
    bot.backroom = Some(door);
    let group = guarded(&admin, &bot_user, &mut bot).await;
    let spammer = server.user("adposter").await;
    spammer.join(&group).await;
    let ad = spammer.say(&group, "加微信领优惠券").await;
    bot.until("the ad is redacted", async |_| {
        admin.event(&group, &ad).await["content"]
            .as_object()
            .is_some_and(|content| content.is_empty())
    })
    .await;
    let mut incident = None;
    let spammer_id = spammer.id.clone();
    bot.until("the incident is posted in the back-room", async |_| {
        incident = admin
            .bodies(&backroom)
            .await
            .into_iter()
            .find(|body| body.contains(&spammer_id) && body.contains("no-ads"));
        incident.is_some()
    })
    .await;
    let incident = incident.expect("incident");
    let number: String = incident
        .trim_start_matches('#')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(
        !number.is_empty() && incident.contains("撤回消息"),
        "{incident}"
    );

    // A redaction cannot be undone: the answer says so.
    admin.say(&backroom, &format!("undo {number}")).await;
    bot.until("the undo answer is posted", async |_| {
        admin
            .bodies(&backroom)
            .await
            .iter()
            .any(|body| body.starts_with("⚠️") && body.contains("only bans and mutes"))
    })
    .await;
    admin.say(&backroom, &format!("拉黑 #{number}")).await;
    bot.until("the ban is answered and carried out", async |_| {
        admin
            .bodies(&backroom)
            .await
            .iter()
            .any(|body| body.starts_with("✅") && body.contains("banned brand-wide"))
            && membership(&admin, &group, &spammer_id).await == "ban"
    })
    .await;
    let overview = bot
        .ops()
        .ban_overview(&bot.actor())
        .await
        .expect("overview");
    assert!(
        overview
            .bans
            .iter()
            .any(|ban| ban.entity == spammer.id && ban.decided_by == format!("matrix:{}", admin.id)),
        "the ban is on the list, decided by the admin: {:?}",
        overview.bans
    );
    // The command read again (a restart) is answered once.
    for _ in 0..2 {
        bot.step().await;
    }
    let answers = admin
        .bodies(&backroom)
        .await
        .into_iter()
        .filter(|body| body.contains("banned brand-wide"))
        .count();
    assert_eq!(answers, 1);
}

const RAID: &str = "[raid.burst]\njoins = 3\nwithin = \"20s\"\nhold_for = \"12s\"\n\n[profiles.all]\ndefault = true\nraid = \"burst\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_joins_puts_the_group_in_review_until_it_ends() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, bot_user) = (server.user("admin").await, server.user("bot").await);
    let mut bot = Bot::start(&server, &bot_user, &admin, RAID, None).await;
    let room = guarded(&admin, &bot_user, &mut bot).await;
    let mut raiders = Vec::new();
    for index in 0..4 {
        let raider = server.user(&format!("raider{index}x")).await;
        raider.join(&room).await;
        raiders.push(raider);
    }
    bot.until("the admins are told", async |_| {
        admin
            .bodies(&room)
            .await
            .iter()
            .any(|body| body.contains("Too many joins: 4 within 20 s"))
    })
    .await;
    bot.until("the raiders are muted", async |_| {
        let levels = admin.power_levels(&room).await;
        raiders.iter().all(|raider| {
            levels["users"][raider.id.as_str()]
                .as_i64()
                .is_some_and(|level| level < 0)
        })
    })
    .await;
    let started = Instant::now();
    bot.until("review ends by itself", async |_| {
        admin
            .bodies(&room)
            .await
            .iter()
            .any(|body| body.contains("Review mode is over"))
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(30));
    bot.until("the raiders may speak again", async |_| {
        let levels = admin.power_levels(&room).await;
        raiders.iter().all(|raider| {
            levels["users"][raider.id.as_str()]
                .as_i64()
                .is_none_or(|level| level >= 0)
        })
    })
    .await;
}

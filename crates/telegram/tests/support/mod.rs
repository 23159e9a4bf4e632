//! Test support: the fake Bot API, a connector on it, and the engine's loops stepped by hand
//! over a real SQLite store, so a test waits on effects the fake's world shows.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use qunzhu_connector::Connector;
use qunzhu_domain::{
    ActionKind, ActionRecord, Clock, NewAction, Platform, SystemClock, WorkspaceId,
};
use qunzhu_engine::{Decider, DispatchConfig, Dispatcher, Ingestor, Nothing};
use qunzhu_storage::{ActionFilter, NewWorkspace, Store};
use qunzhu_telegram::{Secret, TelegramConfig, TelegramConnector};
use qunzhu_telegram_fake::{FakeTelegram, TOKEN};
use tokio::sync::Mutex;

pub const GROUP: i64 = -1001234567890;

pub fn config(fake: &FakeTelegram) -> TelegramConfig {
    TelegramConfig {
        enabled: true,
        token: Secret::new(TOKEN),
        api_url: fake.url.clone(),
        poll_timeout_secs: 1,
        request_timeout_secs: 2,
        group_messages_per_minute: 600.0,
        messages_per_second: 100.0,
        ..TelegramConfig::default()
    }
}

pub async fn connector(
    fake: &FakeTelegram,
    dir: &Path,
    workspace: WorkspaceId,
) -> Arc<TelegramConnector> {
    connector_with(config(fake), dir, workspace).await
}

pub async fn connector_with(
    config: TelegramConfig,
    dir: &Path,
    workspace: WorkspaceId,
) -> Arc<TelegramConnector> {
    Arc::new(
        TelegramConnector::connect(config, workspace, dir, Arc::new(SystemClock))
            .await
            .expect("connect"),
    )
}

pub async fn workspace(store: &dyn Store) -> WorkspaceId {
    store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("workspace")
        .id
}

/// The engine for one connector, stepped by hand.
pub struct Bot {
    pub store: Arc<dyn Store>,
    pub connector: Arc<TelegramConnector>,
    pub ingestor: Ingestor,
    pub dispatcher: Dispatcher,
    pub decider: Arc<Mutex<Box<dyn Decider>>>,
    pub clock: Arc<dyn Clock>,
    pub cursor: Option<String>,
    pub workspace: WorkspaceId,
    pub dir: tempfile::TempDir,
}

impl Bot {
    pub async fn start(fake: &FakeTelegram, decider: Option<Box<dyn Decider>>) -> Bot {
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open(&dir.path().join("qunzhu.db")).expect("store"),
        );
        let workspace = workspace(&*store).await;
        let connector = connector(fake, dir.path(), workspace).await;
        Bot::assemble(store, connector, decider, workspace, dir)
    }

    pub fn assemble(
        store: Arc<dyn Store>,
        connector: Arc<TelegramConnector>,
        decider: Option<Box<dyn Decider>>,
        workspace: WorkspaceId,
        dir: tempfile::TempDir,
    ) -> Bot {
        Bot::assemble_with_clock(
            store,
            connector,
            decider,
            workspace,
            dir,
            Arc::new(SystemClock),
        )
    }

    /// A bot whose ingest, ticks and dispatch read `clock` (a fake one moves time by hand).
    pub async fn start_with_clock(
        fake: &FakeTelegram,
        decider: Box<dyn Decider>,
        clock: Arc<dyn Clock>,
    ) -> Bot {
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open(&dir.path().join("qunzhu.db")).expect("store"),
        );
        let workspace = workspace(&*store).await;
        let connector = connector(fake, dir.path(), workspace).await;
        Bot::assemble_with_clock(store, connector, Some(decider), workspace, dir, clock)
    }

    pub fn assemble_with_clock(
        store: Arc<dyn Store>,
        connector: Arc<TelegramConnector>,
        decider: Option<Box<dyn Decider>>,
        workspace: WorkspaceId,
        dir: tempfile::TempDir,
        clock: Arc<dyn Clock>,
    ) -> Bot {
        let decider: Arc<Mutex<Box<dyn Decider>>> =
            Arc::new(Mutex::new(decider.unwrap_or_else(|| Box::new(Nothing))));
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
            DispatchConfig {
                backoff_base: chrono::Duration::milliseconds(100),
                ..DispatchConfig::default()
            },
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
            dir,
        }
    }

    /// One turn: poll and ingest, tick, dispatch.
    pub async fn step(&mut self) {
        let batch = self
            .connector
            .poll(self.cursor.as_deref())
            .await
            .expect("poll");
        if batch.cursor.is_some() {
            self.cursor.clone_from(&batch.cursor);
        }
        self.ingestor.ingest(batch).await.expect("ingest");
        // What the runtime's tick loop does: start the games SOP steps made due, then tick.
        qunzhu_engine::start_scheduled(
            &*self.store,
            &*self.clock,
            &self.decider,
            Platform::Telegram,
            "test",
        )
        .await;
        let timed = self.decider.lock().await.tick(self.clock.now());
        self.store.enqueue(timed).await.expect("enqueue");
        self.dispatcher.run_once().await.expect("dispatch");
    }

    /// Steps until `done` holds, for at most 30 s.
    pub async fn until(&mut self, what: &str, mut done: impl FnMut(&[ActionRecord]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let actions = self.actions().await;
            if done(&actions) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {what}; actions: {actions:#?}"
            );
            self.step().await;
        }
    }

    pub async fn actions(&self) -> Vec<ActionRecord> {
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

    pub async fn events(&self) -> Vec<qunzhu_domain::Event> {
        self.store
            .events(self.workspace, 0, 10_000)
            .await
            .expect("events")
            .into_iter()
            .map(|stored| stored.event)
            .collect()
    }

    /// Writes an action to the outbox as an operator or a rule would.
    pub async fn enqueue(&self, chat: i64, key: &str, kind: ActionKind) {
        let now = self.clock.now();
        self.store
            .enqueue(vec![NewAction {
                workspace: self.workspace,
                platform: Platform::Telegram,
                chat: chat.to_string(),
                key: key.into(),
                kind,
                created_at: now,
                not_before: now,
                expires_at: None,
                dry_run: false,
                origin: qunzhu_domain::ActionOrigin::parse("test"),
                cause: None,
            }])
            .await
            .expect("enqueue");
    }

    pub async fn action(&self, key: &str) -> ActionRecord {
        self.store
            .action_by_key(self.workspace, key)
            .await
            .expect("action")
    }
}

pub fn settled(actions: &[ActionRecord], key: &str) -> bool {
    actions.iter().any(|action| {
        action.key == key
            && matches!(
                action.status,
                qunzhu_domain::ActionStatus::Done | qunzhu_domain::ActionStatus::Dead
            )
    })
}

pub fn text(value: &str) -> ActionKind {
    ActionKind::SendMessage {
        text: value.into(),
        html: None,
        mentions: vec![],
        reply_to: None,
    }
}

/// Rules with a flood limit and a join review: deny spam words, approve coffee people.
pub const RULES: &str = r#"
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

/// A bot guarded by [`RULES`] through the engine's `Guard`.
pub async fn guarded(fake: &FakeTelegram) -> Bot {
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

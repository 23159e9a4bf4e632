//! The human check end to end on a real store, a fake clock and a recording connector: the
//! removal written at join survives a restart of the guard, runs at the deadline for a silent
//! newcomer, and is skipped for one who answered right.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::{Batch, Capabilities, Connector};
use qunzhu_domain::{
    ActionKind, ActionRecord, ActionStatus, Clock, Event, EventKind, FakeClock, JoinVia,
    MessageKind, Platform, WorkspaceId,
};
use qunzhu_engine::{Decider, DispatchConfig, Dispatcher, Guard, RulesHandle};
use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

const RULES: &str = r#"
[human_check.wave]
within = "5m"
[[human_check.wave.questions]]
ask = "3 + 4 = ?"
answers = ["7", "七"]

[profiles.all]
default = true
human_check = "wave"
"#;

struct Recording {
    capabilities: Capabilities,
    done: Mutex<Vec<ActionKind>>,
}

#[async_trait]
impl Connector for Recording {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }
    fn id(&self) -> &str {
        "recording"
    }
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    async fn poll(&self, _cursor: Option<&str>) -> qunzhu_connector::Result<Batch> {
        Ok(Batch::default())
    }
    async fn execute(&self, action: &ActionRecord) -> qunzhu_connector::Result<Option<String>> {
        self.done.lock().unwrap().push(action.kind.clone());
        Ok(None)
    }
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T08:00:00Z")
        .unwrap()
        .to_utc()
}

fn event(workspace: WorkspaceId, key: &str, seconds: i64, kind: EventKind) -> Event {
    Event {
        workspace,
        platform: Platform::Sandbox,
        key: key.into(),
        chat: "g".into(),
        at: start() + Duration::seconds(seconds),
        kind,
    }
}

fn join(workspace: WorkspaceId, member: &str, seconds: i64) -> Event {
    event(
        workspace,
        &format!("join-{member}"),
        seconds,
        EventKind::MemberJoined {
            member: member.into(),
            display_name: Some(member.trim_start_matches('@').into()),
            via: JoinVia::Direct,
        },
    )
}

fn says(workspace: WorkspaceId, member: &str, seconds: i64, text: &str) -> Event {
    event(
        workspace,
        &format!("msg-{member}-{seconds}"),
        seconds,
        EventKind::MessagePosted {
            member: member.into(),
            message_id: format!("$m-{member}-{seconds}"),
            text: text.into(),
            links: vec![],
            mentions: vec![],
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        },
    )
}

async fn ingest(store: &dyn Store, guard: &mut Guard, clock: &FakeClock, events: Vec<Event>) {
    let now = clock.now();
    let batch = IngestBatch {
        events: events
            .into_iter()
            .map(|event| NewEvent {
                day: event.at.date_naive(),
                event,
            })
            .collect(),
        cursor: None,
    };
    store
        .ingest(batch, &mut |event: &Event| guard.decide(event, now))
        .await
        .unwrap();
}

async fn load(store: &dyn Store, workspace: WorkspaceId, clock: &FakeClock) -> Guard {
    let rules = RulesHandle::new(qunzhu_moderation::check(RULES, "rules.toml").unwrap());
    Guard::load(
        store,
        workspace,
        Platform::Sandbox,
        qunzhu_sandbox::sandbox_capabilities(),
        rules,
        clock.now(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_silent_newcomer_is_removed_at_the_deadline_and_one_who_answered_is_not() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let clock = FakeClock::new(start());
    let mut guard = load(&*store, workspace, &clock).await;
    ingest(
        &*store,
        &mut guard,
        &clock,
        vec![join(workspace, "@quiet", 0), join(workspace, "@human", 0)],
    )
    .await;
    clock.set(start() + Duration::seconds(30));
    ingest(
        &*store,
        &mut guard,
        &clock,
        vec![says(workspace, "@human", 30, "七")],
    )
    .await;

    // A restart between the join and the deadline: the guard is rebuilt from the store.
    drop(guard);
    let mut guard = load(&*store, workspace, &clock).await;
    clock.set(start() + Duration::seconds(60));
    ingest(
        &*store,
        &mut guard,
        &clock,
        vec![says(workspace, "@human", 60, "大家好")],
    )
    .await;

    let mut capabilities = qunzhu_sandbox::sandbox_capabilities();
    capabilities.per_group_rate = qunzhu_connector::Rate::UNLIMITED;
    capabilities.global_rate = qunzhu_connector::Rate::UNLIMITED;
    let connector = Arc::new(Recording {
        capabilities,
        done: Mutex::new(Vec::new()),
    });
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        Arc::new(clock.clone()),
        DispatchConfig::default(),
    );
    dispatcher.run_once().await.unwrap();
    let kicks = |done: &[ActionKind]| -> Vec<String> {
        done.iter()
            .filter_map(|kind| match kind {
                ActionKind::Kick { member, reason } => Some(format!("{member}: {reason}")),
                _ => None,
            })
            .collect()
    };
    {
        let done = connector.done.lock().unwrap();
        assert!(
            kicks(&done).is_empty(),
            "nobody is removed before the deadline"
        );
        let redacted = done
            .iter()
            .filter(|kind| matches!(kind, ActionKind::Redact { .. }))
            .count();
        assert_eq!(
            redacted, 1,
            "the held answer is redacted, the later hello is not"
        );
    }

    clock.set(start() + Duration::seconds(301));
    dispatcher.run_once().await.unwrap();
    let done = connector.done.lock().unwrap().clone();
    assert_eq!(
        kicks(&done),
        vec!["@quiet: 未在时限内完成人机验证".to_string()],
        "{done:?}"
    );
    let skipped = store
        .action_by_key(workspace, "check:g:join-@human:expire")
        .await
        .unwrap();
    assert_eq!(skipped.status, ActionStatus::Skipped);
}

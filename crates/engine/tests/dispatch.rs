//! The dispatcher against a real store and a scripted connector, on a fake clock: retries with
//! backoff, dead letters with reasons, rate limits and Retry-After, capability checks, expiry.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::{Batch, Capabilities, Connector, ConnectorError, Rate};
use qunzhu_domain::{
    ActionKind, ActionRecord, ActionStatus, Clock, FakeClock, NewAction, Platform, WorkspaceId,
};
use qunzhu_engine::{DispatchConfig, Dispatcher};
use qunzhu_storage::{NewWorkspace, Store};
use qunzhu_storage_sqlite::SqliteStore;

/// A platform whose answers are scripted per call, recording what it was asked.
struct Scripted {
    answers: Mutex<VecDeque<Result<Option<String>, ConnectorError>>>,
    calls: Mutex<Vec<(String, DateTime<Utc>)>>,
    clock: FakeClock,
    capabilities: Capabilities,
}

#[async_trait]
impl Connector for Scripted {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }
    fn id(&self) -> &str {
        "scripted"
    }
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    async fn poll(&self, _cursor: Option<&str>) -> qunzhu_connector::Result<Batch> {
        Ok(Batch::default())
    }
    async fn execute(&self, action: &ActionRecord) -> qunzhu_connector::Result<Option<String>> {
        self.calls
            .lock()
            .unwrap()
            .push((action.key.clone(), self.clock.now()));
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(Some(format!("receipt-{}", action.key))))
    }
}

struct Fixture {
    store: Arc<dyn Store>,
    clock: FakeClock,
    connector: Arc<Scripted>,
    dispatcher: Dispatcher,
    workspace: WorkspaceId,
}

async fn fixture(
    answers: Vec<Result<Option<String>, ConnectorError>>,
    edit: impl FnOnce(&mut Capabilities),
) -> Fixture {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let clock = FakeClock::new(
        DateTime::parse_from_rfc3339("2026-11-24T08:00:00+08:00")
            .unwrap()
            .to_utc(),
    );
    let mut capabilities = qunzhu_sandbox::sandbox_capabilities();
    capabilities.per_group_rate = Rate::UNLIMITED;
    capabilities.global_rate = Rate::UNLIMITED;
    edit(&mut capabilities);
    let connector = Arc::new(Scripted {
        answers: Mutex::new(answers.into()),
        calls: Mutex::default(),
        clock: clock.clone(),
        capabilities,
    });
    let config = DispatchConfig {
        max_attempts: 3,
        idle_poll: StdDuration::from_millis(10),
        ..DispatchConfig::default()
    };
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        Arc::new(clock.clone()),
        config,
    );
    Fixture {
        store,
        clock,
        connector,
        dispatcher,
        workspace,
    }
}

fn send(workspace: WorkspaceId, key: &str, chat: &str, at: DateTime<Utc>) -> NewAction {
    NewAction {
        workspace,
        platform: Platform::Sandbox,
        chat: chat.into(),
        key: key.into(),
        kind: ActionKind::SendMessage {
            text: format!("hello {key}"),
            html: None,
            mentions: vec![],
            reply_to: None,
        },
        created_at: at,
        not_before: at,
        expires_at: None,
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::parse("test"),
        cause: None,
    }
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff_then_dead_lettered_with_the_reason() {
    let boom = || Err(ConnectorError::Transient("connection reset".into()));
    let f = fixture(vec![boom(), boom(), boom()], |_| {}).await;
    f.store
        .enqueue(vec![send(f.workspace, "a", "g1", f.clock.now())])
        .await
        .unwrap();

    assert_eq!(f.dispatcher.run_once().await.unwrap().retried, 1);
    assert_eq!(
        f.dispatcher.run_once().await.unwrap().claimed,
        0,
        "not due before the backoff"
    );
    f.clock.advance(Duration::milliseconds(1300));
    assert_eq!(f.dispatcher.run_once().await.unwrap().retried, 1);
    f.clock.advance(Duration::milliseconds(1500));
    assert_eq!(
        f.dispatcher.run_once().await.unwrap().claimed,
        0,
        "second backoff is doubled"
    );
    f.clock.advance(Duration::milliseconds(1100));
    assert_eq!(f.dispatcher.run_once().await.unwrap().dead, 1);

    let action = f.store.action_by_key(f.workspace, "a").await.unwrap();
    assert_eq!(action.status, ActionStatus::Dead);
    assert_eq!(action.attempts, 3);
    assert_eq!(
        action.last_error.as_deref(),
        Some("gave up after 3 attempts: connection reset")
    );
}

#[tokio::test]
async fn retry_after_is_obeyed_and_the_action_is_delivered_once() {
    let limited = Err(ConnectorError::RateLimited {
        retry_after: StdDuration::from_secs(7),
    });
    let f = fixture(vec![limited], |_| {}).await;
    f.store
        .enqueue(vec![send(f.workspace, "a", "g1", f.clock.now())])
        .await
        .unwrap();
    assert_eq!(f.dispatcher.run_once().await.unwrap().deferred, 1);
    f.clock.advance(Duration::seconds(6));
    assert_eq!(f.dispatcher.run_once().await.unwrap().claimed, 0);
    f.clock.advance(Duration::seconds(1));
    assert_eq!(f.dispatcher.run_once().await.unwrap().done, 1);
    let action = f.store.action_by_key(f.workspace, "a").await.unwrap();
    assert_eq!(
        (action.status, action.attempts),
        (ActionStatus::Done, 1),
        "a 429 is not a failed attempt"
    );
    assert_eq!(action.receipt.as_deref(), Some("receipt-a"));
    assert_eq!(f.connector.calls.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_throttled_group_waits_without_holding_up_another_group() {
    let f = fixture(vec![], |caps| {
        caps.per_group_rate = Rate {
            per_second: 1.0,
            burst: 1,
        }
    })
    .await;
    let now = f.clock.now();
    let actions = vec![
        send(f.workspace, "a1", "busy", now),
        send(f.workspace, "a2", "busy", now),
        send(f.workspace, "b1", "quiet", now),
    ];
    f.store.enqueue(actions).await.unwrap();
    let round = f.dispatcher.run_once().await.unwrap();
    assert_eq!((round.done, round.deferred), (2, 1));
    f.clock.advance(Duration::seconds(1));
    assert_eq!(f.dispatcher.run_once().await.unwrap().done, 1);
    let order: Vec<String> = f
        .connector
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|(key, _)| key.clone())
        .collect();
    assert_eq!(
        order
            .iter()
            .filter(|key| key.starts_with('a'))
            .cloned()
            .collect::<Vec<_>>(),
        ["a1", "a2"],
        "in order within a group"
    );
}

#[tokio::test]
async fn an_action_the_platform_cannot_do_is_dead_at_once_with_why() {
    let f = fixture(vec![], |caps| caps.kick = false).await;
    let mut kick = send(f.workspace, "k", "g1", f.clock.now());
    kick.kind = ActionKind::Kick {
        member: "@x".into(),
        reason: "spam".into(),
    };
    f.store.enqueue(vec![kick]).await.unwrap();
    assert_eq!(f.dispatcher.run_once().await.unwrap().dead, 1);
    let action = f.store.action_by_key(f.workspace, "k").await.unwrap();
    assert_eq!(
        action.last_error.as_deref(),
        Some("sandbox cannot kick (capability missing)")
    );
    assert!(f.connector.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_action_is_skipped_with_the_reason_and_never_sent() {
    let f = fixture(vec![], |_| {}).await;
    let mut report = send(f.workspace, "r", "g1", f.clock.now());
    report.expires_at = Some(f.clock.now() + Duration::minutes(15));
    f.store.enqueue(vec![report]).await.unwrap();
    f.clock.advance(Duration::minutes(20));
    assert_eq!(f.dispatcher.run_once().await.unwrap().skipped, 1);
    let action = f.store.action_by_key(f.workspace, "r").await.unwrap();
    assert_eq!(action.status, ActionStatus::Skipped);
    assert!(action
        .last_error
        .unwrap()
        .contains("20 min after it was due"));
    assert!(f.connector.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_dry_run_action_is_recorded_and_never_claimed() {
    let f = fixture(vec![], |_| {}).await;
    let mut would = send(f.workspace, "d", "g1", f.clock.now());
    would.dry_run = true;
    f.store.enqueue(vec![would]).await.unwrap();
    assert_eq!(f.dispatcher.run_once().await.unwrap().claimed, 0);
    assert_eq!(
        f.store
            .action_by_key(f.workspace, "d")
            .await
            .unwrap()
            .status,
        ActionStatus::DryRun
    );
}

/// Issue #11.2: a platform's huge Retry-After (here ~317 years) is capped at an hour, so it can
/// neither overflow the instant nor park the action for good; the dispatcher keeps running.
#[tokio::test]
async fn a_huge_retry_after_is_capped_at_an_hour() {
    let limited = || {
        Err(ConnectorError::RateLimited {
            retry_after: StdDuration::from_secs(10_000_000_000),
        })
    };
    // One 429 pauses the connector: the second action waits for the same hour, unsent.
    let f = fixture(vec![limited()], |_| {}).await;
    let now = f.clock.now();
    f.store
        .enqueue(vec![
            send(f.workspace, "a", "g1", now),
            send(f.workspace, "b", "g2", now),
        ])
        .await
        .unwrap();
    assert_eq!(f.dispatcher.run_once().await.unwrap().deferred, 2);
    let deferred = f.store.action_by_key(f.workspace, "a").await.unwrap();
    assert_eq!(deferred.next_attempt_at, now + Duration::hours(1));
    f.clock.advance(Duration::hours(1));
    assert_eq!(f.dispatcher.run_once().await.unwrap().done, 2);
}

/// An endless 5xx dead-letters each action after its attempts and never stops the loop: later
/// actions are still tried, and delivered once the platform answers again.
#[tokio::test]
async fn an_endless_server_error_never_stops_the_dispatcher() {
    let down = || Err(ConnectorError::Transient("502 Bad Gateway".into()));
    let f = fixture((0..6).map(|_| down()).collect(), |_| {}).await;
    let (stop_sender, stop) = tokio::sync::watch::channel(false);
    let dispatcher = Arc::new(f.dispatcher);
    let running = dispatcher.clone();
    let task = tokio::spawn(async move { running.run(stop).await });
    for key in ["a", "b", "c"] {
        f.store
            .enqueue(vec![send(f.workspace, key, "g1", f.clock.now())])
            .await
            .unwrap();
        dispatcher.waker().notify_one();
        for _ in 0..200 {
            f.clock.advance(Duration::seconds(30));
            tokio::time::sleep(StdDuration::from_millis(5)).await;
            let status = f
                .store
                .action_by_key(f.workspace, key)
                .await
                .unwrap()
                .status;
            if status != ActionStatus::Pending && status != ActionStatus::InFlight {
                break;
            }
        }
    }
    let statuses: Vec<ActionStatus> =
        futures_statuses(&f.store, f.workspace, &["a", "b", "c"]).await;
    assert_eq!(
        statuses,
        [ActionStatus::Dead, ActionStatus::Dead, ActionStatus::Done],
        "six 502s kill two actions (three attempts each); the third is delivered"
    );
    assert!(!task.is_finished(), "the loop is still running");
    let _ = stop_sender.send(true);
    task.await.unwrap();
}

async fn futures_statuses(
    store: &Arc<dyn Store>,
    workspace: WorkspaceId,
    keys: &[&str],
) -> Vec<ActionStatus> {
    let mut statuses = Vec::new();
    for key in keys {
        statuses.push(store.action_by_key(workspace, key).await.unwrap().status);
    }
    statuses
}

fn mute(workspace: WorkspaceId, key: &str, at: DateTime<Utc>, minutes: i64) -> Vec<NewAction> {
    let mute = NewAction {
        kind: ActionKind::Mute {
            member: "@u:x".into(),
            until: Some(at + Duration::minutes(minutes)),
            reason: "刷屏".into(),
        },
        ..send(workspace, key, "g1", at)
    };
    let unmute = qunzhu_moderation::timed_unmute(&mute).unwrap();
    vec![mute, unmute]
}

/// Timed mutes that overlap (issue #13.8): the short one's unmute must not cut the long one
/// short; the long one's unmute lifts it at its end. After a person's undo, a new timed mute
/// ends on time again.
#[tokio::test]
async fn a_timed_unmute_never_cuts_another_mute_short() {
    let f = fixture(vec![], |_| {}).await;
    let start = f.clock.now();
    f.store
        .enqueue(mute(f.workspace, "long", start, 60))
        .await
        .unwrap();
    assert_eq!(
        f.dispatcher.run_once().await.unwrap().done,
        1,
        "the long mute"
    );
    f.clock.advance(Duration::minutes(10));
    let at = f.clock.now();
    f.store
        .enqueue(mute(f.workspace, "short", at, 10))
        .await
        .unwrap();
    assert_eq!(
        f.dispatcher.run_once().await.unwrap().done,
        1,
        "the short mute"
    );

    f.clock.advance(Duration::minutes(10));
    assert_eq!(f.dispatcher.run_once().await.unwrap().skipped, 1);
    let short = f
        .store
        .action_by_key(f.workspace, "short:unmute")
        .await
        .unwrap();
    assert_eq!(short.status, ActionStatus::Skipped);
    assert!(
        short
            .last_error
            .as_deref()
            .is_some_and(|reason| reason.starts_with("another mute (long) lasts until")),
        "{short:?}"
    );

    f.clock.advance(Duration::minutes(40));
    assert_eq!(f.dispatcher.run_once().await.unwrap().done, 1);
    assert_eq!(
        f.store
            .action_by_key(f.workspace, "long:unmute")
            .await
            .unwrap()
            .status,
        ActionStatus::Done,
        "lifted when the long mute ends"
    );

    // A mute for good, undone by a person, does not keep later timed mutes from ending.
    let now = f.clock.now();
    let forever = NewAction {
        kind: ActionKind::Mute {
            member: "@u:x".into(),
            until: None,
            reason: "x".into(),
        },
        ..send(f.workspace, "forever", "g1", now)
    };
    let undo = NewAction {
        kind: ActionKind::Unmute {
            member: "@u:x".into(),
        },
        created_at: now + Duration::seconds(1),
        ..send(f.workspace, "undo:unmute:forever", "g1", now)
    };
    f.store.enqueue(vec![forever]).await.unwrap();
    f.store.enqueue(vec![undo]).await.unwrap();
    assert_eq!(f.dispatcher.run_once().await.unwrap().done, 2);
    f.clock.advance(Duration::minutes(1));
    let later = f.clock.now();
    f.store
        .enqueue(mute(f.workspace, "again", later, 5))
        .await
        .unwrap();
    assert_eq!(f.dispatcher.run_once().await.unwrap().done, 1);
    f.clock.advance(Duration::minutes(5));
    assert_eq!(f.dispatcher.run_once().await.unwrap().done, 1);
    assert_eq!(
        f.store
            .action_by_key(f.workspace, "again:unmute")
            .await
            .unwrap()
            .status,
        ActionStatus::Done
    );
}

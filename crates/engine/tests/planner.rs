//! The SOP planner on a real store: exactly once across restarts and across two instances on one
//! PostgreSQL, edits re-plan only the future, and platforms that cannot send get person tasks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::{Batch, Capabilities, Connector, Rate};
use qunzhu_domain::{
    ActionKind, ActionRecord, ActionStatus, Clock, DocumentKind, FakeClock, Platform, WorkspaceId,
};
use qunzhu_engine::{DispatchConfig, Dispatcher, Planner};
use qunzhu_storage::{ActionFilter, NewWorkspace, Store};

const PLAN: &str = "id = \"daily\"\nname = \"早报\"\n[target]\nall = true\n[links]\nshop = \"https://shop.example.com/a\"\n\n[[steps]]\nid = \"morning\"\nrepeat = \"daily\"\nat = \"08:00\"\ntext = \"早安 {group} {link:shop}\"\n";

fn eight_am() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T07:00:00+08:00")
        .unwrap()
        .to_utc()
}

async fn setup(store: Arc<dyn Store>, groups: usize) -> WorkspaceId {
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    for index in 0..groups {
        store
            .ensure_group(workspace, Platform::Sandbox, &format!("g{index}"))
            .await
            .unwrap();
    }
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "daily",
            PLAN,
            "ops",
            eight_am(),
        )
        .await
        .unwrap();
    workspace
}

fn planner(
    store: Arc<dyn Store>,
    clock: &FakeClock,
    workspace: WorkspaceId,
    send_autonomously: bool,
) -> Planner {
    Planner {
        store,
        clock: Arc::new(clock.clone()),
        workspace,
        platform: Platform::Sandbox,
        send_autonomously,
        base_url: "http://q.example".into(),
        horizon: Duration::hours(48),
        look_back: Duration::hours(24),
        every: std::time::Duration::from_secs(15),
    }
}

async fn sop_actions(store: &dyn Store, workspace: WorkspaceId) -> Vec<ActionRecord> {
    store
        .actions(
            workspace,
            &ActionFilter {
                origin_prefix: Some("sop:".into()),
                limit: Some(10_000),
                ..ActionFilter::default()
            },
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn occurrences_are_written_once_with_tracked_links_and_edits_replan_the_future() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = setup(store.clone(), 3).await;
    let clock = FakeClock::new(eight_am());
    let first = planner(store.clone(), &clock, workspace, true);
    let round = first.plan_once(&mut HashMap::new()).await.unwrap();
    assert_eq!(round.new_actions, 6, "two mornings ahead for three groups");
    // A restart (fresh memory) plans the same occurrences: nothing new.
    assert_eq!(
        planner(store.clone(), &clock, workspace, true)
            .plan_once(&mut HashMap::new())
            .await
            .unwrap()
            .new_actions,
        0
    );
    let actions = sop_actions(&*store, workspace).await;
    let ActionKind::SendMessage { text, .. } = &actions[0].kind else {
        panic!("a post")
    };
    let code = text.rsplit("/l/").next().unwrap();
    assert_eq!(
        store.link(code).await.unwrap().url,
        "https://shop.example.com/a"
    );
    assert!(actions
        .iter()
        .all(|action| action.expires_at == Some(action.not_before + Duration::minutes(15))));

    // An edit: future posts of version 1 are skipped with the reason, version 2 takes over.
    clock.advance(Duration::hours(2));
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "daily",
            &PLAN.replace("早安", "早上好"),
            "ops",
            clock.now(),
        )
        .await
        .unwrap();
    let mut versions = HashMap::from([("daily".to_string(), 1)]);
    let round = first.plan_once(&mut versions).await.unwrap();
    assert_eq!(
        (round.cancelled, round.new_actions),
        (3, 6),
        "only future posts are re-planned"
    );
    let actions = sop_actions(&*store, workspace).await;
    assert_eq!(
        actions
            .iter()
            .filter(|action| action.status == ActionStatus::Skipped)
            .count(),
        3
    );
    let future = actions
        .iter()
        .filter(|action| action.status == ActionStatus::Pending && action.not_before > clock.now());
    assert!(
        future.clone().count() == 6 && future.clone().all(|action| action.key.ends_with("#v2"))
    );
    let skipped = actions
        .iter()
        .find(|action| action.status == ActionStatus::Skipped)
        .unwrap();
    assert_eq!(
        skipped.last_error.as_deref(),
        Some("plan edited: replaced by version 2")
    );
}

#[tokio::test]
async fn a_platform_that_cannot_send_gets_person_tasks_that_are_reminded() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = setup(store.clone(), 1).await;
    let clock = FakeClock::new(eight_am());
    let planner = planner(store.clone(), &clock, workspace, false);
    planner.plan_once(&mut HashMap::new()).await.unwrap();
    let tasks = sop_actions(&*store, workspace).await;
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    assert!(tasks.iter().all(
        |task| matches!(task.kind, ActionKind::PersonTask { .. }) && task.expires_at.is_none()
    ));
    let mut reminded = HashMap::new();
    assert_eq!(
        planner.remind(&mut reminded).await.unwrap(),
        0,
        "not due yet"
    );
    clock.advance(Duration::hours(1) + Duration::minutes(5));
    assert_eq!(planner.remind(&mut reminded).await.unwrap(), 1);
    assert_eq!(
        planner.remind(&mut reminded).await.unwrap(),
        0,
        "at most hourly"
    );
    let audit = store.audit_log(workspace, None, 10).await.unwrap();
    assert_eq!(audit[0].action, "sop.task_reminder");
    let claimed = store
        .claim_actions(qunzhu_storage::Claim {
            platform: Platform::Sandbox,
            target: qunzhu_domain::ActionTarget::Platform,
            now: clock.now(),
            limit: 10,
            owner: "x",
            lease_until: clock.now(),
        })
        .await
        .unwrap();
    assert!(claimed.is_empty(), "no dispatcher takes a person's task");
}

/// Counts what each action key was sent as, across dispatchers.
struct Counting {
    sent: Mutex<Vec<String>>,
    capabilities: Capabilities,
}

#[async_trait]
impl Connector for Counting {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }
    fn id(&self) -> &str {
        "counting"
    }
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    async fn poll(&self, _cursor: Option<&str>) -> qunzhu_connector::Result<Batch> {
        Ok(Batch::default())
    }
    async fn execute(&self, action: &ActionRecord) -> qunzhu_connector::Result<Option<String>> {
        tokio::task::yield_now().await;
        self.sent.lock().unwrap().push(action.key.clone());
        Ok(None)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_send_each_occurrence_once() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .unwrap();
    let one: Arc<dyn Store> = Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&url)
            .await
            .unwrap(),
    );
    let two: Arc<dyn Store> = Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&url)
            .await
            .unwrap(),
    );
    let workspace = setup(one.clone(), 40).await;
    let clock = FakeClock::new(eight_am());
    let (plan_one, plan_two) = (
        planner(one.clone(), &clock, workspace, true),
        planner(two.clone(), &clock, workspace, true),
    );
    let (mut memory_one, mut memory_two) = (HashMap::new(), HashMap::new());
    let (first, second) = tokio::join!(
        plan_one.plan_once(&mut memory_one),
        plan_two.plan_once(&mut memory_two)
    );
    assert_eq!(
        first.unwrap().new_actions + second.unwrap().new_actions,
        80,
        "each occurrence written once"
    );

    let mut capabilities = qunzhu_sandbox::sandbox_capabilities();
    capabilities.per_group_rate = Rate::UNLIMITED;
    capabilities.global_rate = Rate::UNLIMITED;
    let platform = Arc::new(Counting {
        sent: Mutex::default(),
        capabilities,
    });
    let config = |owner: &str| DispatchConfig {
        batch: 7,
        owner: owner.into(),
        ..DispatchConfig::default()
    };
    let dispatch_one = Dispatcher::new(
        one.clone(),
        platform.clone(),
        Arc::new(clock.clone()),
        config("one"),
    );
    let dispatch_two = Dispatcher::new(
        two.clone(),
        platform.clone(),
        Arc::new(clock.clone()),
        config("two"),
    );
    // Both mornings, each right on time, with both instances dispatching at once.
    for wait in [Duration::minutes(61), Duration::hours(24)] {
        clock.advance(wait);
        loop {
            let (a, b) = tokio::join!(dispatch_one.run_once(), dispatch_two.run_once());
            if a.unwrap().claimed + b.unwrap().claimed == 0 {
                break;
            }
        }
    }
    let mut sent = platform.sent.lock().unwrap().clone();
    let total = sent.len();
    sent.sort();
    sent.dedup();
    assert_eq!(
        (sent.len(), total),
        (80, 80),
        "every occurrence sent, none twice"
    );
    let actions = sop_actions(&*one, workspace).await;
    assert!(actions
        .iter()
        .all(|action| action.status == ActionStatus::Done));
}

#[tokio::test]
async fn a_new_groups_creation_relative_steps_fire_from_when_it_was_first_seen() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = setup(store.clone(), 0).await;
    let clock = FakeClock::new(eight_am());
    let flash = qunzhu_sop::template("flash-sale-3day")
        .unwrap()
        .to_toml(qunzhu_sop::Target::all(), chrono_tz::Asia::Shanghai);
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "flash",
            &flash,
            "ops",
            eight_am(),
        )
        .await
        .unwrap();
    let planner = planner(store.clone(), &clock, workspace, true);
    let mut versions = HashMap::new();
    planner.plan_once(&mut versions).await.unwrap();
    assert!(
        sop_actions(&*store, workspace)
            .await
            .iter()
            .all(|action| !action.key.starts_with("sop:flash-sale-3day:")),
        "no group yet, nothing planned"
    );
    // A group registered now: its day-0 and day-1 steps are planned from now on.
    store
        .ensure_group(workspace, Platform::Sandbox, "new")
        .await
        .unwrap();
    planner.plan_once(&mut versions).await.unwrap();
    let flash_posts: Vec<ActionRecord> = sop_actions(&*store, workspace)
        .await
        .into_iter()
        .filter(|action| action.origin.to_string().contains("/day"))
        .collect();
    assert!(
        flash_posts
            .iter()
            .any(|action| action.origin.to_string().ends_with("/day0-welcome"))
            && flash_posts
                .iter()
                .any(|action| action.origin.to_string().ends_with("/day1-open")),
        "{flash_posts:#?}"
    );
    assert!(flash_posts
        .iter()
        .all(|action| action.not_before >= clock.now()));
    let seen = store.groups_seen(workspace).await.unwrap();
    assert_eq!(
        (seen.len(), seen[0].at),
        (1, clock.now()),
        "registration time recorded"
    );
}

/// Issue #11.1: a saved plan version that is rejected keeps the last good version in force —
/// its posts go on being planned under its own keys — and nothing of it is cancelled.
#[tokio::test]
async fn a_rejected_plan_version_keeps_the_last_good_one_in_force() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = setup(store.clone(), 1).await;
    let clock = FakeClock::new(eight_am());
    let planner = planner(store.clone(), &clock, workspace, true);
    let (mut versions, mut good) = (HashMap::new(), HashMap::new());
    let round = planner
        .plan_once_keeping(&mut versions, &mut good)
        .await
        .unwrap();
    assert_eq!(round.new_actions, 2, "two mornings ahead");

    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "daily",
            &PLAN.replace("08:00", "25:00"),
            "ops",
            clock.now(),
        )
        .await
        .unwrap();
    clock.advance(Duration::days(1));
    let round = planner
        .plan_once_keeping(&mut versions, &mut good)
        .await
        .unwrap();
    assert_eq!(
        (round.plans, round.cancelled, round.new_actions),
        (1, 0, 1),
        "version 1 still plans the next morning"
    );
    let actions = sop_actions(&*store, workspace).await;
    assert_eq!(actions.len(), 3);
    assert!(actions.iter().all(|action| action.key.ends_with("#v1")));
    assert!(actions
        .iter()
        .all(|action| action.status == ActionStatus::Pending));
}

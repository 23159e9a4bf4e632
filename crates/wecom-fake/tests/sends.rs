//! Sends as tasks on the fake WeCom: an SOP post planned by the engine becomes a group-send
//! task for the group's owner, is reminded at most 3 times in 24 hours, and its send result is
//! recorded on the outbox row; the receive cap holds posts back; a guard's welcome becomes a
//! person task instead of a dead letter; a moment task is followed to its moment id.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use qunzhu_connector::Connector;
use qunzhu_domain::{
    ActionKind, ActionStatus, Clock, DocumentKind, NewAction, Platform, WorkspaceId,
};
use qunzhu_engine::{DispatchConfig, Dispatcher, Planner};
use qunzhu_storage::{ActionFilter, NewWorkspace, Store};
use qunzhu_storage_sqlite::SqliteStore;
use qunzhu_wecom::tasks::TaskFollower;
use support::Rig;

const PLAN: &str = "id = \"daily\"\nname = \"早报\"\n[target]\nall = true\n\n[[steps]]\nid = \"morning\"\nrepeat = \"daily\"\nat = \"10:30\"\ntext = \"早安 {group}\"\n";

async fn setup(rig: &mut Rig) -> (Arc<dyn Store>, WorkspaceId) {
    let now = rig.now();
    rig.fake
        .with(|world| world.create_group("wrS", "zhangsan", "S群", now));
    rig.fake.lose_outgoing();
    rig.poll().await;
    rig.poll().await;
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
    store
        .ensure_group(workspace, Platform::WeCom, "wrS")
        .await
        .unwrap();
    (store, workspace)
}

async fn actions(store: &dyn Store, workspace: WorkspaceId) -> Vec<qunzhu_domain::ActionRecord> {
    store
        .actions(
            workspace,
            &ActionFilter {
                limit: Some(1000),
                ..ActionFilter::default()
            },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sop_post_becomes_a_task_reminded_at_most_three_times_and_its_result_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let (store, workspace) = setup(&mut rig).await;
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "daily",
            PLAN,
            "ops",
            rig.clock.now(),
        )
        .await
        .unwrap();
    let planner = Planner {
        store: store.clone(),
        clock: Arc::new(rig.clock.clone()),
        workspace,
        platform: Platform::WeCom,
        send_autonomously: rig.connector.capabilities().send_autonomously,
        base_url: "http://q.example".into(),
        horizon: Duration::hours(20),
        look_back: Duration::hours(1),
        every: std::time::Duration::from_secs(60),
    };
    planner.plan_once(&mut HashMap::new()).await.unwrap();
    let planned = actions(&*store, workspace).await;
    assert_eq!(planned.len(), 1);
    assert!(matches!(&planned[0].kind, ActionKind::PersonTask { text } if text.contains("早安")));

    let follower = TaskFollower::open(
        store.clone(),
        rig.connector.clone(),
        Arc::new(rig.clock.clone()),
        workspace,
    )
    .unwrap();
    // Not due before 10:30.
    assert_eq!(follower.run_once().await.unwrap().created, 0);
    rig.clock.advance(Duration::minutes(30));
    assert_eq!(follower.run_once().await.unwrap().created, 1);
    let (msgid, template) = rig
        .fake
        .with(|world| {
            world
                .templates
                .iter()
                .next()
                .map(|(id, t)| (id.clone(), t.clone()))
        })
        .unwrap();
    assert_eq!(template.sender, "zhangsan");
    assert_eq!(template.chat_ids, vec!["wrS"]);
    assert!(template.text.contains("早安"));
    let row = store.action(planned[0].id).await.unwrap();
    assert_eq!(row.status, ActionStatus::Pending);
    assert!(
        row.last_error.as_deref().unwrap_or("").contains(&msgid),
        "{row:?}"
    );

    // The owner does not send for 20 hours: at most 3 reminders reach WeCom.
    for _ in 0..40 {
        rig.clock.advance(Duration::minutes(30));
        follower.run_once().await.unwrap();
    }
    let reminders = rig
        .fake
        .with(|world| world.templates[&msgid].reminders.len());
    assert_eq!(reminders, 3);
    let row = store.action(planned[0].id).await.unwrap();
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or("")
            .contains("reminded 3×"),
        "{row:?}"
    );
    assert_eq!(
        rig.fake.with(|world| world.templates.len()),
        1,
        "created once"
    );

    let now = rig.now();
    rig.fake.with(|world| world.owner_sends(&msgid, now));
    rig.clock.advance(Duration::minutes(30));
    assert_eq!(follower.run_once().await.unwrap().sent, 1);
    let row = store.action(planned[0].id).await.unwrap();
    assert_eq!(row.status, ActionStatus::Done);
    assert_eq!(
        row.receipt.as_deref(),
        Some(format!("wecom:msgid={msgid};owner=zhangsan;sent_at={now}").as_str())
    );
}

fn new_action(
    workspace: WorkspaceId,
    key: &str,
    kind: ActionKind,
    at: chrono::DateTime<chrono::Utc>,
) -> NewAction {
    NewAction {
        workspace,
        platform: Platform::WeCom,
        chat: "wrS".into(),
        key: key.into(),
        kind,
        created_at: at,
        not_before: at,
        expires_at: None,
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::rule("welcome"),
        cause: Some("wecom:wrS:join:wmA:1".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_welcome_becomes_a_task_and_the_receive_cap_holds_posts_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start_with(dir.path(), |config| config.monthly_receive_cap = 1).await;
    let (store, workspace) = setup(&mut rig).await;
    let now = rig.clock.now();
    let welcome = ActionKind::SendMessage {
        text: "欢迎新朋友".into(),
        html: None,
        mentions: Vec::new(),
        reply_to: None,
    };
    store
        .enqueue(vec![new_action(workspace, "welcome-1", welcome, now)])
        .await
        .unwrap();
    let dispatcher = Dispatcher::new(
        store.clone(),
        rig.connector.clone(),
        Arc::new(rig.clock.clone()),
        DispatchConfig::default(),
    );
    dispatcher.run_once().await.unwrap();
    let dead = store.action_by_key(workspace, "welcome-1").await.unwrap();
    assert_eq!(dead.status, ActionStatus::Dead);

    let follower = TaskFollower::open(
        store.clone(),
        rig.connector.clone(),
        Arc::new(rig.clock.clone()),
        workspace,
    )
    .unwrap();
    let round = follower.run_once().await.unwrap();
    assert_eq!((round.rescued, round.created), (1, 1));
    let task = store
        .action_by_key(workspace, "welcome-1#task")
        .await
        .unwrap();
    assert!(matches!(&task.kind, ActionKind::PersonTask { text } if text == "欢迎新朋友"));
    assert_eq!(task.cause.as_deref(), Some("wecom:wrS:join:wmA:1"));
    assert_eq!(
        follower.run_once().await.unwrap().rescued,
        0,
        "rescued once"
    );

    // The group's cap for the month is 1 and it was used: the next post waits for next month.
    let msgid = rig
        .fake
        .with(|world| world.templates.keys().next().cloned())
        .unwrap();
    let at = rig.now();
    rig.fake.with(|world| world.owner_sends(&msgid, at));
    rig.clock.advance(Duration::minutes(30));
    assert_eq!(follower.run_once().await.unwrap().sent, 1);
    let post = ActionKind::PersonTask {
        text: "第二条".into(),
    };
    store
        .enqueue(vec![new_action(workspace, "post-2", post, rig.clock.now())])
        .await
        .unwrap();
    follower.run_once().await.unwrap();
    let held = store.action_by_key(workspace, "post-2").await.unwrap();
    assert!(
        held.last_error
            .as_deref()
            .unwrap_or("")
            .contains("receive cap"),
        "{held:?}"
    );
    assert_eq!(rig.fake.with(|world| world.templates.len()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moment_task_is_followed_to_its_moment_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let (store, workspace) = setup(&mut rig).await;
    let moment = ActionKind::MomentTask {
        text: "新品上市".into(),
        staff: vec!["zhangsan".into()],
    };
    store
        .enqueue(vec![new_action(
            workspace,
            "moment-1",
            moment,
            rig.clock.now(),
        )])
        .await
        .unwrap();
    let follower = TaskFollower::open(
        store.clone(),
        rig.connector.clone(),
        Arc::new(rig.clock.clone()),
        workspace,
    )
    .unwrap();
    assert_eq!(follower.run_once().await.unwrap().created, 1);
    let jobid = rig
        .fake
        .with(|world| world.moments.keys().next().cloned())
        .unwrap();
    assert_eq!(
        rig.fake.with(|world| world.moments[&jobid].staff.clone()),
        vec!["zhangsan"]
    );
    rig.clock.advance(Duration::minutes(30));
    assert_eq!(follower.run_once().await.unwrap().waiting, 1);
    rig.fake.with(|world| world.staff_post_moment(&jobid));
    rig.clock.advance(Duration::minutes(30));
    assert_eq!(follower.run_once().await.unwrap().sent, 1);
    let row = store.action_by_key(workspace, "moment-1").await.unwrap();
    assert_eq!(row.status, ActionStatus::Done);
    assert!(
        row.receipt
            .as_deref()
            .unwrap_or("")
            .contains("moment_id=mom"),
        "{row:?}"
    );
}

const MOMENTS: &str = "id = \"moments\"\nname = \"朋友圈\"\n[target]\nall = true\n\n[[steps]]\nid = \"noon\"\nrepeat = \"daily\"\nat = \"12:00\"\ntext = \"今日好物\"\nkind = \"moment\"\nstaff = [\"zhangsan\"]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_moment_step_becomes_one_moment_task() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let (store, workspace) = setup(&mut rig).await;
    store
        .ensure_group(workspace, Platform::WeCom, "wrOther")
        .await
        .unwrap();
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "moments",
            MOMENTS,
            "ops",
            rig.clock.now(),
        )
        .await
        .unwrap();
    let planner = Planner {
        store: store.clone(),
        clock: Arc::new(rig.clock.clone()),
        workspace,
        platform: Platform::WeCom,
        send_autonomously: false,
        base_url: "http://q.example".into(),
        horizon: Duration::hours(20),
        look_back: Duration::hours(1),
        every: std::time::Duration::from_secs(60),
    };
    planner.plan_once(&mut HashMap::new()).await.unwrap();
    let planned = actions(&*store, workspace).await;
    assert_eq!(
        planned.len(),
        1,
        "one moment, not one per group: {planned:?}"
    );
    assert!(
        matches!(&planned[0].kind, ActionKind::MomentTask { staff, .. } if staff == &["zhangsan".to_string()])
    );
    rig.clock.advance(Duration::hours(2));
    let follower = TaskFollower::open(
        store.clone(),
        rig.connector.clone(),
        Arc::new(rig.clock.clone()),
        workspace,
    )
    .unwrap();
    assert_eq!(follower.run_once().await.unwrap().created, 1);
    let texts: Vec<String> = rig.fake.with(|world| {
        world
            .moments
            .values()
            .map(|moment| moment.text.clone())
            .collect()
    });
    assert_eq!(texts, vec!["今日好物"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_created_just_before_a_crash_is_found_not_created_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let (store, workspace) = setup(&mut rig).await;
    let post = ActionKind::PersonTask {
        text: "周末活动".into(),
    };
    store
        .enqueue(vec![new_action(
            workspace,
            "post-crash",
            post,
            rig.clock.now(),
        )])
        .await
        .unwrap();
    // The previous process called add_msg_template and died before writing down the answer.
    let (msgid, _) = rig
        .connector
        .create_group_send("wrS", "周末活动")
        .await
        .unwrap();
    let since = rig.clock.now().to_rfc3339();
    std::fs::write(
        dir.path().join("main-tasks.json"),
        format!(r#"{{"tasks":{{"post-crash":{{"task":"creating","since":"{since}"}}}},"delivered":{{}}}}"#),
    )
    .unwrap();
    let follower = TaskFollower::open(
        store.clone(),
        rig.connector.clone(),
        Arc::new(rig.clock.clone()),
        workspace,
    )
    .unwrap();
    let round = follower.run_once().await.unwrap();
    assert_eq!(round.created, 0);
    assert_eq!(rig.fake.with(|world| world.templates.len()), 1);
    let row = store.action_by_key(workspace, "post-crash").await.unwrap();
    assert!(
        row.last_error.as_deref().unwrap_or("").contains(&msgid),
        "{row:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moment_task_interrupted_by_a_crash_is_left_to_a_person_not_posted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let (store, workspace) = setup(&mut rig).await;
    let moment = ActionKind::MomentTask {
        text: "新品".into(),
        staff: vec!["zhangsan".into()],
    };
    store
        .enqueue(vec![new_action(
            workspace,
            "moment-crash",
            moment,
            rig.clock.now(),
        )])
        .await
        .unwrap();
    let since = rig.clock.now().to_rfc3339();
    std::fs::write(
        dir.path().join("main-tasks.json"),
        format!(r#"{{"tasks":{{"moment-crash":{{"task":"creating","since":"{since}"}}}},"delivered":{{}}}}"#),
    )
    .unwrap();
    let follower = TaskFollower::open(
        store.clone(),
        rig.connector.clone(),
        Arc::new(rig.clock.clone()),
        workspace,
    )
    .unwrap();
    follower.run_once().await.unwrap();
    let row = store
        .action_by_key(workspace, "moment-crash")
        .await
        .unwrap();
    assert_eq!(row.status, ActionStatus::Dead);
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or("")
            .contains("客户朋友圈"),
        "{row:?}"
    );
    assert!(rig.fake.with(|world| world.moments.is_empty()));
}

//! A drop an SOP step starts (`kind = "drop"`) drops once per occurrence on a real store and a
//! fake clock: the claim waits for the step's time, a claim lost to a crash schedules the same
//! drop again after the lease (one drop, one intro), a restarted engine finds nothing new, and
//! the drop watcher and decider then open it and pay the first answers.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    ActionKind, ActionRecord, ActionStatus, ActionTarget, Clock, DocumentKind, DropPlan, Event,
    EventKind, FakeClock, MessageKind, NewAction, Platform, WorkspaceId,
};
use qunzhu_engine::{
    start_scheduled, Chain, Decider, DropWatcher, Drops, DropsHandle, ENGINE_LEASE,
};
use qunzhu_storage::{ActionFilter, Claim, NewWorkspace, Store};
use tokio::sync::Mutex;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-27T20:00:00+08:00")
        .unwrap()
        .to_utc()
}

const KEY: &str = "sop:fri:rain:!room:hs:t#v1";

async fn setup() -> (Arc<dyn Store>, WorkspaceId) {
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
    (store, workspace)
}

fn step(workspace: WorkspaceId, key: &str, shares: u32) -> NewAction {
    NewAction {
        workspace,
        platform: Platform::Matrix,
        chat: "!room:hs".into(),
        key: key.into(),
        kind: ActionKind::StartDrop {
            drop: DropPlan {
                keyword: "红包".into(),
                shares,
                points: 10,
                minutes: 10,
            },
            intro: "今晚 8 点红包雨！".into(),
        },
        created_at: start() - Duration::hours(1),
        not_before: start(),
        expires_at: Some(start() + Duration::minutes(30)),
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::parse("sop:fri@v1/rain"),
        cause: None,
    }
}

fn nothing() -> Mutex<Box<dyn Decider>> {
    Mutex::new(Box::new(Chain(Vec::new())))
}

async fn all(store: &dyn Store, workspace: WorkspaceId) -> Vec<ActionRecord> {
    store
        .actions(
            workspace,
            &ActionFilter {
                limit: Some(100),
                ..ActionFilter::default()
            },
        )
        .await
        .unwrap()
}

fn said(workspace: WorkspaceId, key: &str, member: &str, at: DateTime<Utc>) -> Event {
    Event {
        workspace,
        platform: Platform::Matrix,
        key: key.into(),
        chat: "!room:hs".into(),
        at,
        kind: EventKind::MessagePosted {
            member: member.into(),
            message_id: key.into(),
            text: "红包".into(),
            links: vec![],
            mentions: vec![],
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        },
    }
}

#[tokio::test]
async fn a_drop_step_drops_once_even_when_its_claim_is_lost() {
    let (store, workspace) = setup().await;
    let clock = Arc::new(FakeClock::new(start() - Duration::minutes(1)));
    store.enqueue(vec![step(workspace, KEY, 2)]).await.unwrap();
    let decider = nothing();
    assert_eq!(
        start_scheduled(&*store, &*clock, &decider, Platform::Matrix, "a").await,
        0,
        "not before its time"
    );
    assert!(store
        .drops_since(workspace, start() - Duration::days(1))
        .await
        .unwrap()
        .is_empty());
    clock.set(start());
    // An instance claims it and dies before scheduling: the claim is held for the lease.
    let lost = store
        .claim_actions(Claim {
            platform: Platform::Matrix,
            target: ActionTarget::Engine,
            now: start(),
            limit: 10,
            owner: "dead",
            lease_until: start() + ENGINE_LEASE,
        })
        .await
        .unwrap();
    assert_eq!(lost.len(), 1);
    assert_eq!(
        start_scheduled(&*store, &*clock, &decider, Platform::Matrix, "a").await,
        0,
        "another instance's claim is left alone while its lease runs"
    );
    clock.advance(ENGINE_LEASE + Duration::seconds(1));
    let dropped_at = clock.now();
    assert_eq!(
        start_scheduled(&*store, &*clock, &decider, Platform::Matrix, "a").await,
        1,
        "the step's text"
    );
    // The same occurrence claimed again (a crash before its claim was closed) is one drop.
    let again = qunzhu_engine::planned_drops::schedule_planned(
        &*store,
        &all(&*store, workspace)
            .await
            .into_iter()
            .find(|a| a.key == KEY)
            .unwrap(),
        clock.now() + Duration::minutes(1),
    )
    .await
    .unwrap();
    store.enqueue(again.1).await.unwrap();
    assert_eq!(
        start_scheduled(&*store, &*clock, &nothing(), Platform::Matrix, "b").await,
        0,
        "a restarted engine finds nothing new"
    );
    let drops = store
        .drops_since(workspace, start() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(drops.len(), 1, "{drops:?}");
    let drop = &drops[0];
    assert_eq!(drop.drop.key, format!("drop:sop:{KEY}"));
    assert_eq!(drop.drop.starts_at, dropped_at);
    assert_eq!(drop.drop.origin, "sop:fri@v1/rain");
    assert_eq!(drop.drop.spec.shares, 2);
    let actions = all(&*store, workspace).await;
    let step = actions.iter().find(|a| a.key == KEY).unwrap();
    assert_eq!(step.status, ActionStatus::Done);
    assert_eq!(step.receipt.as_deref(), Some(&*format!("drop:{}", drop.id)));
    let intros: Vec<&ActionRecord> = actions
        .iter()
        .filter(|a| a.key.ends_with(":intro"))
        .collect();
    assert_eq!(intros.len(), 1);
    assert!(
        matches!(&intros[0].kind, ActionKind::SendMessage { text, .. } if text == "今晚 8 点红包雨！")
    );

    // The watcher reads it back and the drops decider opens it and pays the first two answers.
    let handle = DropsHandle::default();
    let watcher = DropWatcher {
        store: store.clone(),
        workspace,
        handle: handle.clone(),
        clock: clock.clone(),
        every: std::time::Duration::from_secs(5),
    };
    watcher.sync().await.unwrap();
    let mut drops = Drops::new(workspace, Platform::Matrix, handle);
    let now = clock.now();
    let opened = drops.tick(now);
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].key, format!("drop:{}:start", drop.id));
    let mut paid = Vec::new();
    for (index, member) in ["@a:hs", "@b:hs", "@c:hs"].into_iter().enumerate() {
        let at = now + Duration::seconds(10 * (index as i64 + 1));
        paid.extend(drops.decide(&said(workspace, &format!("e{index}"), member, at), at));
    }
    let shares: Vec<&str> = paid
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::GrantReward {
                member, points: 10, ..
            } => Some(member.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(shares, ["@a:hs", "@b:hs"], "the first two, 10 points each");
}

#[tokio::test]
async fn a_drop_step_past_its_grace_is_skipped_and_drops_nothing() {
    let (store, workspace) = setup().await;
    let clock = FakeClock::new(start() + Duration::hours(1));
    store.enqueue(vec![step(workspace, KEY, 2)]).await.unwrap();
    assert_eq!(
        start_scheduled(&*store, &clock, &nothing(), Platform::Matrix, "a").await,
        0
    );
    let actions = all(&*store, workspace).await;
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].status, ActionStatus::Skipped);
    assert!(store
        .drops_since(workspace, start() - Duration::days(1))
        .await
        .unwrap()
        .is_empty());
}

/// An operator's plan: "at 20:00 drop 10 points each to the first 10 who answer 红包".
const RAIN: &str = "id = \"rain\"\n[target]\nall = true\n\n[[steps]]\nid = \"evening\"\nrepeat = \"daily\"\nat = \"20:00\"\ntext = \"晚上 8 点红包雨，发「红包」抢积分！\"\nkind = \"drop\"\ndrop = { keyword = \"红包\", shares = 10, points = 10, minutes = 10 }\n";

#[tokio::test]
async fn a_plan_with_a_drop_step_drops_in_each_group_at_its_time_once() {
    let (store, workspace) = setup().await;
    for chat in ["!a:hs", "!b:hs"] {
        store
            .ensure_group(workspace, Platform::Matrix, chat)
            .await
            .unwrap();
    }
    let noon = start() - Duration::hours(8);
    store
        .put_document(workspace, DocumentKind::SopPlan, "rain", RAIN, "ops", noon)
        .await
        .unwrap();
    let clock = Arc::new(FakeClock::new(noon));
    let planner = |clock: &Arc<FakeClock>| qunzhu_engine::Planner {
        store: store.clone(),
        clock: clock.clone(),
        workspace,
        platform: Platform::Matrix,
        send_autonomously: true,
        base_url: "http://q.example".into(),
        horizon: Duration::hours(12),
        look_back: Duration::hours(1),
        every: std::time::Duration::from_secs(15),
    };
    let round = planner(&clock)
        .plan_once(&mut std::collections::HashMap::new())
        .await
        .unwrap();
    assert_eq!(round.new_actions, 2, "tonight's drop in two groups");
    let planned = all(&*store, workspace).await;
    assert!(planned.iter().all(|a| matches!(
        &a.kind,
        ActionKind::StartDrop { drop, .. } if drop.shares == 10 && drop.points == 10 && drop.keyword == "红包"
    ) && a.not_before == start()));
    assert_eq!(
        start_scheduled(&*store, &*clock, &nothing(), Platform::Matrix, "a").await,
        0
    );
    clock.set(start());
    assert_eq!(
        start_scheduled(&*store, &*clock, &nothing(), Platform::Matrix, "a").await,
        2,
        "each group's intro"
    );
    // Planning again and starting again (a restart at 20:01) drops nothing more.
    clock.advance(Duration::minutes(1));
    planner(&clock)
        .plan_once(&mut std::collections::HashMap::new())
        .await
        .unwrap();
    assert_eq!(
        start_scheduled(&*store, &*clock, &nothing(), Platform::Matrix, "b").await,
        0
    );
    let drops = store
        .drops_since(workspace, noon - Duration::days(1))
        .await
        .unwrap();
    let mut chats: Vec<&str> = drops.iter().map(|d| d.drop.chat.as_str()).collect();
    chats.sort();
    assert_eq!(chats, ["!a:hs", "!b:hs"]);
    assert!(drops.iter().all(|d| d.drop.starts_at == start()));
}

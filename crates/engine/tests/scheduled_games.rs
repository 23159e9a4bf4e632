//! Games SOP steps start once per occurrence on a real store: a claim lost to a crash between
//! writing the game and closing the claim starts the same keys again (nothing written twice), a
//! step past its grace or on a platform without games is skipped with the reason.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    ActionKind, ActionRecord, ActionStatus, ActionTarget, FakeClock, GamePlan, NewAction, Platform,
    QuizQuestion, WorkspaceId,
};
use qunzhu_engine::{start_scheduled, Chain, Decider, Games, GamesConfig, ENGINE_LEASE};
use qunzhu_storage::{ActionFilter, Claim, NewWorkspace, Store};
use tokio::sync::Mutex;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-27T20:00:00+08:00")
        .unwrap()
        .to_utc()
}

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

fn step(
    workspace: WorkspaceId,
    key: &str,
    game: GamePlan,
    expires: Option<DateTime<Utc>>,
) -> NewAction {
    NewAction {
        workspace,
        platform: Platform::Telegram,
        chat: "-100".into(),
        key: key.into(),
        kind: ActionKind::StartGame {
            game,
            intro: "周五答题闯关".into(),
        },
        created_at: start() - Duration::hours(1),
        not_before: start(),
        expires_at: expires,
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::parse("sop:fri@v1/climb"),
        cause: None,
    }
}

fn quiz() -> GamePlan {
    GamePlan::Quiz {
        questions: vec![QuizQuestion {
            question: "群规第一条？".into(),
            options: vec!["禁止广告".into(), "随便聊".into()],
            correct: 0,
            explanation: None,
        }],
    }
}

fn games(enabled: bool) -> Mutex<Box<dyn Decider>> {
    Mutex::new(Box::new(Chain(vec![Box::new(Games::new(
        GamesConfig::default(),
        enabled,
    ))])))
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

#[tokio::test]
async fn a_game_step_starts_once_even_when_its_claim_is_lost() {
    let (store, workspace) = setup().await;
    let clock = FakeClock::new(start() - Duration::minutes(1));
    store
        .enqueue(vec![step(
            workspace,
            "sop:fri:climb:-100:t#v1",
            quiz(),
            None,
        )])
        .await
        .unwrap();
    let decider = games(true);
    assert_eq!(
        start_scheduled(&*store, &clock, &decider, Platform::Telegram, "a").await,
        0,
        "not before its time"
    );
    clock.set(start());
    // An instance claims it and dies before writing anything: the claim is held for the lease.
    let lost = store
        .claim_actions(Claim {
            platform: Platform::Telegram,
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
        start_scheduled(&*store, &clock, &decider, Platform::Telegram, "a").await,
        0,
        "another instance's claim is left alone while its lease runs"
    );
    clock.advance(ENGINE_LEASE + Duration::seconds(1));
    assert_eq!(
        start_scheduled(&*store, &clock, &decider, Platform::Telegram, "a").await,
        2,
        "the announcement and the first question"
    );
    // A restart (a new decider) that finds the step again writes nothing new.
    let restarted = games(true);
    assert_eq!(
        start_scheduled(&*store, &clock, &restarted, Platform::Telegram, "b").await,
        0
    );
    let actions = all(&*store, workspace).await;
    let step = actions
        .iter()
        .find(|a| a.key == "sop:fri:climb:-100:t#v1")
        .unwrap();
    assert_eq!(step.status, ActionStatus::Done);
    let keys: Vec<&str> = actions
        .iter()
        .filter(|a| a.key.starts_with("game:"))
        .map(|a| a.key.as_str())
        .collect();
    assert_eq!(keys.len(), 2, "one announcement, one question: {keys:?}");
    assert!(keys
        .iter()
        .all(|key| key.starts_with("game:quiz:sop:fri:climb:-100:t#v1:")));
    let announced = actions
        .iter()
        .find(|a| a.key.ends_with(":start"))
        .map(|a| a.kind.clone());
    assert!(
        matches!(announced, Some(ActionKind::SendMessage { text, .. }) if text.starts_with("周五答题闯关\n"))
    );
}

#[tokio::test]
async fn late_steps_and_platforms_without_games_are_skipped_with_the_reason() {
    let (store, workspace) = setup().await;
    let clock = FakeClock::new(start() + Duration::minutes(30));
    store
        .enqueue(vec![
            step(
                workspace,
                "late",
                GamePlan::Dice,
                Some(start() + Duration::minutes(15)),
            ),
            step(workspace, "nowhere", GamePlan::Dice, None),
        ])
        .await
        .unwrap();
    let decider = games(false);
    assert_eq!(
        start_scheduled(&*store, &clock, &decider, Platform::Telegram, "a").await,
        0
    );
    let actions = all(&*store, workspace).await;
    let reason = |key: &str| {
        let action = actions.iter().find(|a| a.key == key).unwrap();
        assert_eq!(action.status, ActionStatus::Skipped, "{action:?}");
        action.last_error.clone().unwrap_or_default()
    };
    assert!(reason("late").contains("past its grace"));
    assert!(reason("nowhere").contains("the platform has no games"));
    assert_eq!(actions.len(), 2, "nothing started");
}

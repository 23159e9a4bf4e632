//! The guard's memory survives a restart through its saved copy (`GuardMemoryStore`), and a
//! restart replays only the events after it: an ad posted after a restart climbs the warning
//! ladder exactly as it would have without one, whether the memory was saved before the earlier
//! ads (they are replayed) or after them (they are not, and must not be needed).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{ActionKind, Event, EventKind, MessageKind, NewAction, Platform, WorkspaceId};
use qunzhu_engine::{Decider, Guard, RulesHandle};
use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

const RULES: &str = "[keywords.ads]\nwords = [\"加微信\"]\n\n[[rules]]\nname = \"no-ads\"\nkind = \"keywords\"\nlists = [\"ads\"]\nladder = [\"redact+warn\", \"redact+warn\", \"redact+kick\"]\n\n[profiles.all]\ndefault = true\nrules = [\"no-ads\"]\n";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn ad(workspace: WorkspaceId, n: i64) -> Event {
    Event {
        workspace,
        platform: Platform::Sandbox,
        key: format!("ad-{n}"),
        chat: "g".into(),
        at: now() + Duration::minutes(n),
        kind: EventKind::MessagePosted {
            member: "@spam".into(),
            message_id: format!("m-{n}"),
            text: "加微信 领资料".into(),
            links: vec![],
            mentions: vec![],
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        },
    }
}

fn kicks(actions: &[NewAction]) -> bool {
    actions
        .iter()
        .any(|action| matches!(action.kind, ActionKind::Kick { .. }))
}

async fn store() -> (Arc<dyn Store>, WorkspaceId) {
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

async fn load(store: &dyn Store, workspace: WorkspaceId, at: DateTime<Utc>) -> Guard {
    let rules = RulesHandle::new(qunzhu_moderation::check(RULES, "rules").unwrap());
    Guard::load(
        store,
        workspace,
        Platform::Sandbox,
        qunzhu_sandbox::sandbox_capabilities(),
        rules,
        at,
    )
    .await
    .unwrap()
}

/// Logs one event with the guard deciding it, as the ingestor does.
async fn post(store: &dyn Store, guard: &mut Guard, event: Event) -> Vec<NewAction> {
    let at = event.at;
    let mut decided = Vec::new();
    store
        .ingest(
            IngestBatch {
                events: vec![NewEvent {
                    day: at.date_naive(),
                    event,
                }],
                cursor: None,
            },
            &mut |event: &Event| {
                let actions = guard.decide(event, at);
                decided.extend(actions.clone());
                actions
            },
        )
        .await
        .unwrap();
    decided
}

async fn save(store: &dyn Store, guard: &Guard, at: DateTime<Utc>) -> i64 {
    let mut saved = 0;
    for remembered in guard.memory() {
        saved = store
            .put_guard_memory(
                remembered.workspace,
                remembered.platform,
                at,
                &remembered.memory,
            )
            .await
            .unwrap()
            .seq;
    }
    saved
}

#[tokio::test]
async fn the_ladder_goes_on_after_a_restart_from_the_saved_memory() {
    for saved_after in [0, 1, 2] {
        let (store, workspace) = store().await;
        let mut guard = load(&*store, workspace, now()).await;
        let mut level = 0;
        for n in 0..2 {
            if n == saved_after {
                level = save(&*store, &guard, now()).await;
            }
            let actions = post(&*store, &mut guard, ad(workspace, n)).await;
            assert!(!kicks(&actions), "ad {n} is warned, not kicked");
        }
        if saved_after == 2 {
            level = save(&*store, &guard, now()).await;
        }
        assert_eq!(level, saved_after, "the memory is level with the log");
        drop(guard);

        let later = now() + Duration::minutes(5);
        let mut restarted = load(&*store, workspace, later).await;
        let actions = post(&*store, &mut restarted, ad(workspace, 3)).await;
        assert!(
            kicks(&actions),
            "saved after {saved_after} ads: the third ad kicks: {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_memory_that_cannot_be_read_falls_back_to_the_log() {
    let (store, workspace) = store().await;
    let mut guard = load(&*store, workspace, now()).await;
    for n in 0..2 {
        post(&*store, &mut guard, ad(workspace, n)).await;
    }
    store
        .put_guard_memory(workspace, Platform::Sandbox, now(), "{not json")
        .await
        .unwrap();
    let mut restarted = load(&*store, workspace, now() + Duration::minutes(5)).await;
    assert!(kicks(
        &post(&*store, &mut restarted, ad(workspace, 3)).await
    ));
}

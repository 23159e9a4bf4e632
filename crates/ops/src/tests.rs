//! The operations on a real (in-memory SQLite) store: one decision is one action and one audit
//! entry whichever door it came through; roles and workspaces are enforced.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use qunzhu_domain::{
    ActionKind, ActionStatus, DocumentKind, Event, EventKind, FakeClock, GroupId, NewAction,
    Platform, WorkspaceId,
};
use qunzhu_storage::{ActionFilter, IngestBatch, NewEvent, NewWorkspace, Store, UserRole};

use crate::{Actor, EditableKind, Ops, OpsError};

async fn setup() -> (Ops, WorkspaceId, GroupId) {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"));
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    let clock = FakeClock::new(now);
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "brand".into(),
            name: "Brand".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap();
    let knock = Event {
        workspace: workspace.id,
        platform: Platform::Matrix,
        key: "$knock".into(),
        chat: "!room:x".into(),
        at: now,
        kind: EventKind::JoinRequested {
            member: "@newcomer:x".into(),
            display_name: Some("Newcomer".into()),
            reason: None,
        },
    };
    let batch = IngestBatch {
        events: vec![NewEvent {
            event: knock,
            day: now.date_naive(),
        }],
        cursor: None,
    };
    store.ingest(batch, &mut |_| Vec::new()).await.unwrap();
    let group = store
        .ensure_group(workspace.id, Platform::Matrix, "!room:x")
        .await
        .unwrap();
    (Ops::new(store, Arc::new(clock)), workspace.id, group.id)
}

fn operator(workspace: WorkspaceId) -> Actor {
    Actor {
        workspace,
        name: qunzhu_domain::ActorName::User("ops".into()),
        role: UserRole::Operator,
    }
}

async fn audit_verbs(ops: &Ops, workspace: WorkspaceId) -> Vec<String> {
    ops.store
        .audit_log(workspace, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .collect()
}

#[tokio::test]
async fn a_join_decision_from_the_console_and_the_cli_is_one_action_and_one_audit_entry() {
    let (ops, workspace, group) = setup().await;
    let console = operator(workspace);
    let first = ops
        .decide_join_request(&console, group, "@newcomer:x", true, "welcome")
        .await
        .unwrap();
    assert!(first.new);
    let again = ops
        .decide_join_request_by_key(&Actor::cli(workspace), "$knock", true, "")
        .await
        .unwrap();
    assert!(!again.new, "the CLI's decision has the console's key");

    let actions = ops
        .store
        .actions(workspace, &ActionFilter::default())
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].key, "decide:$knock");
    assert!(matches!(
        actions[0].kind,
        ActionKind::DecideJoinRequest { approve: true, .. }
    ));
    assert_eq!(audit_verbs(&ops, workspace).await, ["join_request.approve"]);
}

#[tokio::test]
async fn viewers_cannot_decide_and_other_workspaces_see_nothing() {
    let (ops, workspace, group) = setup().await;
    let viewer = Actor {
        role: UserRole::Viewer,
        ..operator(workspace)
    };
    assert!(matches!(
        ops.decide_join_request(&viewer, group, "@newcomer:x", true, "")
            .await,
        Err(OpsError::Forbidden { .. })
    ));
    let stranger = operator(WorkspaceId(workspace.0 + 1000));
    assert!(ops
        .decide_join_request_by_key(&stranger, "$knock", false, "")
        .await
        .is_err());
}

#[tokio::test]
async fn confirming_a_person_task_marks_it_done_once() {
    let (ops, workspace, _) = setup().await;
    let now = ops.clock.now();
    let task = NewAction {
        workspace,
        platform: Platform::WeCom,
        chat: "wr-chat".into(),
        key: "sop:morning:1".into(),
        kind: ActionKind::PersonTask {
            text: "早安".into(),
        },
        created_at: now,
        not_before: now,
        expires_at: None,
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::parse("sop:morning/1"),
        cause: None,
    };
    ops.store.enqueue(vec![task]).await.unwrap();
    let id = ops
        .store
        .action_by_key(workspace, "sop:morning:1")
        .await
        .unwrap()
        .id;
    let done = ops.confirm_task(&operator(workspace), id).await.unwrap();
    assert_eq!(done.status, ActionStatus::Done);
    assert_eq!(done.receipt.as_deref(), Some("confirmed:user:ops"));
    let error = ops
        .confirm_task(&Actor::cli(workspace), id)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("action: task {id} is already done")
    );
    assert_eq!(audit_verbs(&ops, workspace).await, ["sop.task_confirm"]);
}

#[tokio::test]
async fn an_invalid_document_is_refused_with_its_line_and_nothing_is_stored() {
    let (ops, workspace, _) = setup().await;
    let error = ops
        .save_document(
            &operator(workspace),
            EditableKind::Rules,
            "rules",
            "[[rules]]\nname = \"x\"\nkind = \"keyword\"\n",
        )
        .await
        .unwrap_err();
    assert!(matches!(&error, OpsError::Problems(problems) if problems[0].line == Some(3)));
    assert!(ops
        .store
        .documents(workspace, DocumentKind::Rules)
        .await
        .unwrap()
        .is_empty());
}

//! A member role edited by an operator counts at the guard's next decision, without a restart:
//! an ad from a member is removed; after the member is made an admin, the same ad is left alone;
//! made a member again, it is removed again.

use std::sync::Arc;

use chrono::{DateTime, Duration};
use qunzhu_domain::{
    ActionKind, Event, EventKind, JoinVia, MemberRole, MessageKind, Platform, WorkspaceId,
};
use qunzhu_engine::{Decider, DirectoryHandle, DirectoryWatcher, Guard, RulesHandle};
use qunzhu_storage::{IngestBatch, MemberUpdate, NewEvent, NewWorkspace, Store};

const RULES: &str = "[keywords.ads]\nwords = [\"加微信\"]\n\n[[rules]]\nname = \"no-ads\"\nkind = \"keywords\"\nlists = [\"ads\"]\nactions = \"redact+warn\"\n\n[profiles.all]\ndefault = true\nrules = [\"no-ads\"]\n";

fn event(workspace: WorkspaceId, key: &str, minute: i64, kind: EventKind) -> Event {
    Event {
        workspace,
        platform: Platform::Sandbox,
        key: key.into(),
        chat: "g".into(),
        at: DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minute),
        kind,
    }
}

fn ad(workspace: WorkspaceId, key: &str, minute: i64) -> Event {
    event(
        workspace,
        key,
        minute,
        EventKind::MessagePosted {
            member: "@a".into(),
            message_id: key.into(),
            text: "加微信 领资料".into(),
            links: vec![],
            mentions: vec![],
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        },
    )
}

fn redacts(actions: &[qunzhu_domain::NewAction]) -> bool {
    actions
        .iter()
        .any(|action| matches!(action.kind, ActionKind::Redact { .. }))
}

#[tokio::test]
async fn a_role_edit_counts_at_the_next_decision() {
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
    let joined = event(
        workspace,
        "j",
        -600,
        EventKind::MemberJoined {
            member: "@a".into(),
            display_name: Some("小王".into()),
            via: JoinVia::Direct,
        },
    );
    store
        .ingest(
            IngestBatch {
                events: vec![NewEvent {
                    day: joined.at.date_naive(),
                    event: joined.clone(),
                }],
                cursor: None,
            },
            &mut |_: &Event| Vec::new(),
        )
        .await
        .unwrap();
    let watcher = DirectoryWatcher {
        store: store.clone(),
        workspace,
        handle: DirectoryHandle::default(),
        every: std::time::Duration::from_secs(1),
    };
    watcher.sync().await.unwrap();
    let rules = RulesHandle::new(qunzhu_moderation::check(RULES, "rules").unwrap());
    let now = ad(workspace, "x", 0).at;
    let mut guard = Guard::load(
        &*store,
        workspace,
        Platform::Sandbox,
        qunzhu_sandbox::sandbox_capabilities(),
        rules,
        now,
    )
    .await
    .unwrap()
    .with_directory(watcher.handle.clone());
    assert!(
        redacts(&guard.decide(&ad(workspace, "m1", 0), now)),
        "a member's ad goes"
    );

    let admin = MemberUpdate {
        role: Some(MemberRole::Admin),
        ..MemberUpdate::default()
    };
    store
        .update_member(workspace, Platform::Sandbox, &"@a".into(), admin)
        .await
        .unwrap();
    assert!(watcher.sync().await.unwrap(), "the edit is seen");
    assert!(
        !redacts(&guard.decide(&ad(workspace, "m2", 1), now)),
        "an admin is exempt, without a restart"
    );

    let member = MemberUpdate {
        role: Some(MemberRole::Member),
        ..MemberUpdate::default()
    };
    store
        .update_member(workspace, Platform::Sandbox, &"@a".into(), member)
        .await
        .unwrap();
    assert!(watcher.sync().await.unwrap());
    assert!(!watcher.sync().await.unwrap(), "no change, no new version");
    assert!(redacts(&guard.decide(&ad(workspace, "m3", 2), now)));
}

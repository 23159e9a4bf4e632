//! The guard knows who is in a group, since when and under which name from the memberships read
//! model, not only from the days of log it replays at start: after a restart, the warning to a
//! member who joined twenty days ago (outside the seven-day warm-up) still calls them by name.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{ActionKind, Event, EventKind, JoinVia, MessageKind, Platform, WorkspaceId};
use qunzhu_engine::{Decider, Guard, RulesHandle};
use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

const RULES: &str = "[keywords.ads]\nwords = [\"加微信\"]\n\n[[rules]]\nname = \"no-ads\"\nkind = \"keywords\"\nlists = [\"ads\"]\nactions = \"redact+warn\"\n\n[profiles.all]\ndefault = true\nrules = [\"no-ads\"]\n";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn event(workspace: WorkspaceId, key: &str, at: DateTime<Utc>, kind: EventKind) -> Event {
    Event {
        workspace,
        platform: Platform::Sandbox,
        key: key.into(),
        chat: "g".into(),
        at,
        kind,
    }
}

fn ad(workspace: WorkspaceId, member: &str) -> Event {
    event(
        workspace,
        &format!("post-{member}"),
        now(),
        EventKind::MessagePosted {
            member: member.into(),
            message_id: format!("m-{member}"),
            text: "加微信 领资料".into(),
            links: vec![],
            mentions: vec![],
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        },
    )
}

/// The text of the warning the guard decided, if any.
fn warning(actions: &[qunzhu_domain::NewAction]) -> String {
    actions
        .iter()
        .find_map(|action| match &action.kind {
            ActionKind::SendMessage { text, .. } => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_join_older_than_the_warm_up_is_still_known_after_a_restart() {
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
    let joins = [("@wang", "小王", 20)].map(|(member, name, days_ago)| {
        let joined = event(
            workspace,
            &format!("join-{member}"),
            now() - Duration::days(days_ago),
            EventKind::MemberJoined {
                member: member.into(),
                display_name: Some(name.into()),
                via: JoinVia::Direct,
            },
        );
        NewEvent {
            day: joined.at.date_naive(),
            event: joined,
        }
    });
    store
        .ingest(
            IngestBatch {
                events: joins.to_vec(),
                cursor: None,
            },
            &mut |_: &Event| Vec::new(),
        )
        .await
        .unwrap();

    let rules = RulesHandle::new(qunzhu_moderation::check(RULES, "rules").unwrap());
    let mut guard = Guard::load(
        &*store,
        workspace,
        Platform::Sandbox,
        qunzhu_sandbox::sandbox_capabilities(),
        rules,
        now(),
    )
    .await
    .unwrap();
    let warned = warning(&guard.decide(&ad(workspace, "@wang"), now()));
    assert!(
        warned.contains("小王"),
        "the warning names the member: {warned:?}"
    );
}

//! The keeper over a real (in-memory SQLite) store and a fake clock: the whole lifecycle, with a
//! fresh keeper — a restart — before every round, and the outbox holding each step once.

use chrono::TimeZone;
use qunzhu_domain::{
    ActionTarget, DocumentKind, Event, EventKind, FakeClock, JoinVia, LeaveHow, MemberId,
    MemberRole,
};
use qunzhu_storage::{
    ActionFilter, ActionOutcome, Claim, IngestBatch, MemberUpdate, NewEvent, NewWorkspace,
};

use super::*;

const PLAN: &str = r#"
title = "双十二快闪"
platform = "sandbox"
opens = "2026-12-10 10:00"
days = 2
link = "/j/vip"
name = "双十二快闪群"
tags = ["1212"]
"#;

const CAN: Can = Can {
    create_groups: true,
    send: true,
    rename: true,
    set_posting_level: true,
    kick: true,
};

async fn setup() -> (Arc<dyn Store>, Arc<FakeClock>, WorkspaceId) {
    setup_with(PLAN).await
}

async fn setup_with(plan: &str) -> (Arc<dyn Store>, Arc<FakeClock>, WorkspaceId) {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"));
    // 2026-12-10 09:00 in Shanghai, an hour before the group opens.
    let clock = Arc::new(FakeClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 12, 10, 1, 0, 0).unwrap(),
    ));
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
        .put_document(
            workspace,
            DocumentKind::Flash,
            "d12",
            plan,
            "cli",
            clock.now(),
        )
        .await
        .unwrap();
    (store, clock, workspace)
}

/// A keeper as a fresh process would make it: nothing carried over but the store.
fn keeper(store: &Arc<dyn Store>, clock: &Arc<FakeClock>, workspace: WorkspaceId) -> FlashKeeper {
    FlashKeeper {
        store: store.clone(),
        clock: clock.clone(),
        workspace,
        platform: Platform::Sandbox,
        can: CAN,
        base_url: "https://q.example".into(),
        bot: Some("@bot".into()),
        every: StdDuration::from_secs(1),
        alerted: Arc::default(),
    }
}

/// The platform carries out every due action; a create answers with the new group's id.
async fn platform_carries_out(store: &Arc<dyn Store>, clock: &FakeClock) -> Vec<String> {
    let claimed = store
        .claim_actions(Claim {
            platform: Platform::Sandbox,
            target: ActionTarget::Platform,
            now: clock.now(),
            limit: 10,
            owner: "t",
            lease_until: clock.now() + chrono::Duration::minutes(1),
        })
        .await
        .unwrap();
    let mut names = Vec::new();
    for action in claimed {
        let receipt = match action.kind {
            ActionKind::CreateGroup { .. } => "!flash:hs".to_string(),
            _ => format!("$done-{}", action.id),
        };
        names.push(action.kind.name().to_string());
        store
            .finish_action(
                action.id,
                ActionOutcome::Done {
                    receipt: Some(receipt),
                },
                clock.now(),
            )
            .await
            .unwrap();
    }
    names
}

async fn outbox(store: &Arc<dyn Store>, workspace: WorkspaceId) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = store
        .actions(workspace, &ActionFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|action| (action.key, action.kind.name().to_string()))
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn a_flash_group_is_created_run_closed_and_archived_once_across_restarts() {
    let (store, clock, workspace) = setup().await;
    // (hours to advance, does the platform carry out what is due, stage after the round)
    let rows: [(i64, bool, Stage); 11] = [
        (0, false, Stage::Planned),
        (1, false, Stage::Creating),
        (0, false, Stage::Creating),
        (0, true, Stage::Running),
        (0, false, Stage::Running),
        (24, false, Stage::Running),
        (24, false, Stage::Closing),
        (0, false, Stage::Closing),
        (0, true, Stage::Archiving),
        (0, true, Stage::Archived),
        (0, false, Stage::Archived),
    ];
    for (index, (hours, carry_out, stage)) in rows.into_iter().enumerate() {
        clock.advance(chrono::Duration::hours(hours));
        if carry_out {
            platform_carries_out(&store, &clock).await;
        }
        // Every round twice, each by a fresh keeper: a second instance or a restart.
        let first = keeper(&store, &clock, workspace).run_once().await.unwrap();
        let again = keeper(&store, &clock, workspace).run_once().await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].stage, stage, "row {index}");
        assert_eq!(again, first, "row {index}: deciding again changes nothing");
    }
    assert_eq!(
        outbox(&store, workspace).await,
        [
            ("flash:d12:close".to_string(), "send_message".to_string()),
            ("flash:d12:create".to_string(), "create_group".to_string()),
            (
                "flash:d12:lock".to_string(),
                "set_posting_level".to_string()
            ),
            ("flash:d12:rename".to_string(), "set_group_name".to_string()),
        ],
        "each step written once"
    );
    let close = store
        .action_by_key(workspace, "flash:d12:close")
        .await
        .unwrap();
    assert_eq!(close.chat, "!flash:hs");
    let ActionKind::SendMessage { text, .. } = &close.kind else {
        panic!("a message: {:?}", close.kind);
    };
    assert!(text.contains("https://q.example/j/vip"), "{text}");
    assert_eq!(
        close.not_before,
        chrono::Utc.with_ymd_and_hms(2026, 12, 12, 2, 0, 0).unwrap(),
        "two days after 10:00 Shanghai"
    );
    let rename = store
        .action_by_key(workspace, "flash:d12:rename")
        .await
        .unwrap();
    assert_eq!(
        rename.kind,
        ActionKind::SetGroupName {
            name: "双十二快闪群（已结束）".into()
        }
    );
    let lock = store
        .action_by_key(workspace, "flash:d12:lock")
        .await
        .unwrap();
    assert_eq!(lock.kind, ActionKind::SetPostingLevel { level: 50 });
    let groups = store.groups(workspace).await.unwrap();
    let group = &groups
        .iter()
        .find(|summary| summary.group.chat == "!flash:hs")
        .unwrap()
        .group;
    assert_eq!(group.group_type, GroupType::Flash);
    assert_eq!(group.tags, ["flash-d12", "1212"]);
    assert_eq!(group.status, GroupStatus::Archived, "the SOP stops posting");
    // Much later, nothing more happens.
    clock.advance(chrono::Duration::days(30));
    keeper(&store, &clock, workspace).run_once().await.unwrap();
    assert_eq!(outbox(&store, workspace).await.len(), 4);
}

#[tokio::test]
async fn where_no_group_can_be_made_the_plan_is_stuck_and_writes_nothing() {
    let (store, clock, workspace) = setup().await;
    clock.advance(chrono::Duration::hours(2));
    let mut keeper = keeper(&store, &clock, workspace);
    keeper.can.create_groups = false;
    let round = keeper.run_once().await.unwrap();
    assert_eq!(round[0].stage, Stage::Stuck);
    assert!(outbox(&store, workspace).await.is_empty());
    assert_eq!(
        keeper.alerted.lock().unwrap().len(),
        1,
        "the operator is told once"
    );
    keeper.run_once().await.unwrap();
    assert_eq!(keeper.alerted.lock().unwrap().len(), 1);
}

/// Logs membership changes in the flash group as a connector would, so the memberships read
/// model holds who is present.
async fn log(
    store: &Arc<dyn Store>,
    clock: &FakeClock,
    workspace: WorkspaceId,
    kinds: Vec<EventKind>,
) {
    let events = kinds
        .into_iter()
        .map(|kind| {
            let event = Event {
                workspace,
                platform: Platform::Sandbox,
                key: format!(
                    "{}-{}-{}",
                    clock.now().timestamp(),
                    kind.name(),
                    kind.member().map(MemberId::as_str).unwrap_or("")
                ),
                chat: "!flash:hs".into(),
                at: clock.now(),
                kind,
            };
            NewEvent {
                day: event.at.date_naive(),
                event,
            }
        })
        .collect();
    store
        .ingest(
            IngestBatch {
                events,
                cursor: None,
            },
            &mut |_: &Event| Vec::new(),
        )
        .await
        .unwrap();
}

fn joined(member: &str) -> EventKind {
    EventKind::MemberJoined {
        member: member.into(),
        display_name: None,
        via: JoinVia::Direct,
    }
}

fn kicked(member: &str) -> EventKind {
    EventKind::MemberLeft {
        member: member.into(),
        how: LeaveHow::Kicked,
        by: Some("@bot".into()),
    }
}

#[tokio::test]
async fn a_dissolving_group_removes_each_remaining_member_once_after_the_grace_period() {
    let plan = format!("{PLAN}end = \"dissolve\"\ngrace_hours = 6\n");
    let (store, clock, workspace) = setup_with(&plan).await;
    // Opened and created.
    clock.advance(chrono::Duration::hours(1));
    keeper(&store, &clock, workspace).run_once().await.unwrap();
    platform_carries_out(&store, &clock).await;
    keeper(&store, &clock, workspace).run_once().await.unwrap();
    // The bot, a helper, a moderator of the plan's and three buyers, one of whom leaves.
    log(
        &store,
        &clock,
        workspace,
        ["@bot", "@helper", "@a", "@b", "@c"]
            .into_iter()
            .map(joined)
            .collect(),
    )
    .await;
    store
        .update_member(
            workspace,
            Platform::Sandbox,
            &"@helper".into(),
            MemberUpdate {
                role: Some(MemberRole::Helper),
                ..MemberUpdate::default()
            },
        )
        .await
        .unwrap();
    // Two days later the sale closes: closing message, rename and lock, archived.
    clock.advance(chrono::Duration::days(2));
    for _ in 0..3 {
        keeper(&store, &clock, workspace).run_once().await.unwrap();
        platform_carries_out(&store, &clock).await;
    }
    let round = keeper(&store, &clock, workspace).run_once().await.unwrap();
    assert_eq!(round[0].stage, Stage::Dissolving, "the grace period");
    log(
        &store,
        &clock,
        workspace,
        vec![EventKind::MemberLeft {
            member: "@c".into(),
            how: LeaveHow::Left,
            by: None,
        }],
    )
    .await;
    assert!(
        !outbox(&store, workspace)
            .await
            .iter()
            .any(|(key, _)| key.contains(":kick:")),
        "nobody is removed during the grace period"
    );
    clock.advance(chrono::Duration::hours(6));
    // (the platform carries out what is due, members who join or are removed, stage)
    let rows: Vec<(bool, Vec<EventKind>, Stage)> = vec![
        (false, vec![], Stage::Dissolving),
        (false, vec![], Stage::Dissolving),
        // The removals are carried out; @a's is logged, @b's not yet, and @d joins late.
        (true, vec![kicked("@a"), joined("@d")], Stage::Dissolving),
        (true, vec![kicked("@b"), kicked("@d")], Stage::Dissolved),
        (false, vec![], Stage::Dissolved),
    ];
    for (index, (carry_out, events, stage)) in rows.into_iter().enumerate() {
        if carry_out {
            platform_carries_out(&store, &clock).await;
        }
        if !events.is_empty() {
            log(&store, &clock, workspace, events).await;
        }
        let first = keeper(&store, &clock, workspace).run_once().await.unwrap();
        let again = keeper(&store, &clock, workspace).run_once().await.unwrap();
        assert_eq!(first[0].stage, stage, "row {index}");
        assert_eq!(again, first, "row {index}: deciding again changes nothing");
    }
    let kicks: Vec<String> = outbox(&store, workspace)
        .await
        .into_iter()
        .filter(|(_, kind)| kind == "kick")
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        kicks,
        [
            "flash:d12:kick:@a",
            "flash:d12:kick:@b",
            "flash:d12:kick:@d"
        ],
        "the remaining buyers once each; not the bot, the helper or who left"
    );
    let group = store
        .groups(workspace)
        .await
        .unwrap()
        .into_iter()
        .find(|summary| summary.group.chat == "!flash:hs")
        .unwrap()
        .group;
    assert_eq!(group.status, GroupStatus::Dissolved);
    clock.advance(chrono::Duration::days(30));
    keeper(&store, &clock, workspace).run_once().await.unwrap();
    assert_eq!(
        outbox(&store, workspace).await.len(),
        7,
        "4 steps and 3 removals"
    );
}

#[tokio::test]
async fn where_the_bot_cannot_remove_members_one_persons_task_dissolves_the_group() {
    let plan = format!("{PLAN}end = \"dissolve\"\ngrace_hours = 0\n");
    let (store, clock, workspace) = setup_with(&plan).await;
    let keeper = |store: &Arc<dyn Store>| {
        let mut keeper = keeper(store, &clock, workspace);
        keeper.can.kick = false;
        keeper
    };
    clock.advance(chrono::Duration::hours(1));
    keeper(&store).run_once().await.unwrap();
    platform_carries_out(&store, &clock).await;
    keeper(&store).run_once().await.unwrap();
    log(&store, &clock, workspace, vec![joined("@a")]).await;
    clock.advance(chrono::Duration::days(2));
    for _ in 0..4 {
        keeper(&store).run_once().await.unwrap();
        keeper(&store).run_once().await.unwrap();
        platform_carries_out(&store, &clock).await;
    }
    let task = store
        .action_by_key(workspace, "flash:d12:dissolve")
        .await
        .unwrap();
    let ActionKind::PersonTask { text } = &task.kind else {
        panic!("a person's task: {:?}", task.kind);
    };
    assert!(text.contains("1 位成员"), "{text}");
    let round = keeper(&store).run_once().await.unwrap();
    assert_eq!(round[0].stage, Stage::Dissolving, "until a person confirms");
    store
        .finish_action(task.id, ActionOutcome::Done { receipt: None }, clock.now())
        .await
        .unwrap();
    let round = keeper(&store).run_once().await.unwrap();
    assert_eq!(round[0].stage, Stage::Dissolved);
    assert!(!outbox(&store, workspace)
        .await
        .iter()
        .any(|(_, kind)| kind == "kick"));
}

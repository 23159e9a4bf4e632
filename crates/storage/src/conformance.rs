//! The conformance suite every storage backend runs: same operations, same answers.
//!
//! A backend's test file calls [`conformance_suite!`] with an expression that makes a fresh,
//! empty store (and a guard kept alive while it is used); every check below then runs on it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use qunzhu_domain::{
    local_day, ActionKind, ActionStatus, DerivedState, Event, EventKind, JoinVia, LeaveHow,
    MessageKind, NewAction, Platform, WorkspaceId,
};

use crate::*;

/// Expands to one test per check, each on a fresh store made by `$make`: an async block yielding
/// `Some((Arc<dyn Store>, guard))`, or `None` when the backend is not available here (skipped).
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            ingest_dedupes_across_and_within_batches,
            derived_state_follows_the_reducer_and_rebuilds_the_same,
            outbox_claims_in_order_with_leases_and_records_outcomes,
            dry_run_and_ledger_actions_are_never_claimed_and_cancel_skips,
            concurrent_claimers_never_share_an_action,
            groups_members_and_daily_counts,
            join_requests_wait_until_decided,
            accounts_sessions_tokens_and_audit,
            documents_and_links,
            workspaces_never_see_each_other);

        #[test]
        fn derived_state_replays_exactly_for_random_logs() {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            let config = $crate::proptest::test_runner::Config { cases: 24, failure_persistence: None, ..Default::default() };
            let mut runner = $crate::proptest::test_runner::TestRunner::new(config);
            runner
                .run(&$crate::conformance::script(), |script| {
                    runtime.block_on(async {
                        if let Some((store, _guard)) = $make.await {
                            $crate::conformance::replay_matches(&*store, script).await;
                        }
                    });
                    Ok(())
                })
                .expect("replaying the log gives the reducer's state");
        }
    };
    (@tests $make:expr; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some((store, _guard)) = $make.await else { return };
                $crate::conformance::$name(&*store).await;
            }
        )+
    };
}

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T08:00:00+08:00")
        .map(|at| at.to_utc())
        .unwrap_or_default()
        + Duration::minutes(minute)
}

fn event(workspace: WorkspaceId, key: &str, chat: &str, minute: i64, kind: EventKind) -> Event {
    Event {
        workspace,
        platform: Platform::Sandbox,
        key: key.into(),
        chat: chat.into(),
        at: at(minute),
        kind,
    }
}

fn message(member: &str, text: &str) -> EventKind {
    EventKind::MessagePosted {
        member: member.into(),
        message_id: format!("m-{member}-{text}"),
        text: text.into(),
        links: vec![],
        mentions: vec![],
        reply_to: None,
        message_kind: MessageKind::Text,
        from_bot: false,
    }
}

fn joined(member: &str, name: &str) -> EventKind {
    EventKind::MemberJoined {
        member: member.into(),
        display_name: Some(name.into()),
        via: JoinVia::Direct,
    }
}

fn new_event(event: Event) -> NewEvent {
    NewEvent {
        day: local_day(event.at, chrono_tz::Asia::Shanghai),
        event,
    }
}

fn send(workspace: WorkspaceId, key: &str, chat: &str, minute: i64) -> NewAction {
    NewAction {
        workspace,
        platform: Platform::Sandbox,
        chat: chat.into(),
        key: key.into(),
        kind: ActionKind::SendMessage {
            text: key.into(),
            html: None,
            mentions: vec![],
            reply_to: None,
        },
        created_at: at(minute),
        not_before: at(minute),
        expires_at: None,
        dry_run: false,
        origin: "test:send".into(),
        cause: None,
    }
}

async fn workspace(store: &dyn Store, slug: &str) -> WorkspaceId {
    let new = NewWorkspace {
        slug: slug.into(),
        name: slug.into(),
        time_zone: "Asia/Shanghai".into(),
    };
    store.ensure_workspace(new).await.expect("workspace").id
}

async fn ingest(store: &dyn Store, events: Vec<Event>, cursor: Option<&str>) -> IngestReport {
    let batch = IngestBatch {
        events: events.into_iter().map(new_event).collect(),
        cursor: cursor.map(|cursor| ("c".to_string(), cursor.to_string())),
    };
    let mut decide = |_: &Event| Vec::new();
    store.ingest(batch, &mut decide).await.expect("ingest")
}

fn claim(platform: Platform, minute: i64, limit: usize, owner: &str) -> Claim<'_> {
    Claim {
        platform,
        now: at(minute),
        limit,
        owner,
        lease_until: at(minute + 1),
    }
}

pub async fn ingest_dedupes_across_and_within_batches(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let first = event(ws, "e1", "g", 0, joined("@a", "上海-小王"));
    let second = event(ws, "e2", "g", 1, message("@a", "hi"));
    let report = ingest(
        store,
        vec![first.clone(), second.clone(), second.clone()],
        Some("c1"),
    )
    .await;
    assert_eq!((report.appended, report.duplicates), (2, 1));
    let mut greet = |event: &Event| {
        vec![send(
            event.workspace,
            &format!("greet:{}", event.key),
            &event.chat,
            0,
        )]
    };
    let batch = IngestBatch {
        events: vec![
            new_event(first),
            new_event(event(ws, "e3", "g", 2, message("@a", "again"))),
        ],
        cursor: Some(("c".into(), "c2".into())),
    };
    let report = store.ingest(batch, &mut greet).await.expect("ingest");
    assert_eq!(
        (report.appended, report.duplicates, report.actions),
        (1, 1, 1),
        "decide runs only for the new event"
    );
    assert_eq!(
        store.cursor("c").await.expect("cursor").as_deref(),
        Some("c2")
    );
    assert_eq!(store.cursor("other").await.expect("cursor"), None);
    assert_eq!(
        store.log_stats().await.expect("stats"),
        LogStats {
            events: 3,
            duplicates: 2
        }
    );
    let logged: Vec<String> = store
        .events(ws, 0, 10)
        .await
        .expect("events")
        .into_iter()
        .map(|stored| stored.event.key)
        .collect();
    assert_eq!(logged, ["e1", "e2", "e3"]);
    assert_eq!(
        store.events(ws, 0, 10).await.expect("events")[1].event.kind,
        message("@a", "hi"),
        "events round-trip"
    );
    let recent: Vec<String> = store
        .recent_events(ws, "g", 2)
        .await
        .expect("recent")
        .into_iter()
        .map(|stored| stored.event.key)
        .collect();
    assert_eq!(recent, ["e3", "e2"]);
    assert_eq!(
        store
            .events_since(ws, at(1), 10)
            .await
            .expect("since")
            .len(),
        2
    );
    assert!(store.action_by_key("greet:e3").await.is_ok());
}

/// Operations (kind, member, group, minute, redelivery of an earlier one) and batch sizes.
pub type Script = (Vec<(u8, u8, u8, i64, Option<usize>)>, Vec<usize>);

/// A random log: joins, leaves, messages, renames and redeliveries, split into random batches.
pub fn script() -> impl Strategy<Value = Script> {
    (
        prop::collection::vec(
            (
                0u8..5,
                0u8..6,
                0u8..3,
                0i64..4000,
                prop::option::weighted(0.15, 0usize..40),
            ),
            1..60,
        ),
        prop::collection::vec(1usize..9, 1..12),
    )
}

pub async fn replay_matches(store: &dyn Store, (ops, splits): Script) {
    let ws = workspace(store, "p").await;
    let mut events: Vec<Event> = Vec::new();
    for (index, (kind, member, group, minute, again)) in ops.into_iter().enumerate() {
        if let Some(earlier) =
            again.and_then(|pick| events.get(pick % events.len().max(1)).cloned())
        {
            events.push(earlier);
            continue;
        }
        let member = format!("@m{member}");
        let kind = match kind {
            0 => joined(&member, &format!("name{index}")),
            1 => EventKind::MemberLeft {
                member,
                how: LeaveHow::Left,
                by: None,
            },
            2 => EventKind::DisplayNameChanged {
                member,
                old: None,
                new: format!("renamed{index}"),
            },
            3 => EventKind::MemberPresent {
                member,
                display_name: None,
            },
            _ => message(&member, &format!("t{index}")),
        };
        events.push(event(
            ws,
            &format!("k{index}"),
            &format!("g{group}"),
            minute,
            kind,
        ));
    }
    let mut expected = DerivedState::default();
    let mut seen = std::collections::HashSet::new();
    for event in &events {
        if seen.insert(event.key.clone()) {
            expected.apply(event, local_day(event.at, chrono_tz::Asia::Shanghai));
        }
    }
    let mut rest = events.as_slice();
    for size in splits.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at((*size).min(rest.len()));
        ingest(store, batch.to_vec(), None).await;
        rest = tail;
    }
    assert_eq!(
        store.derived_state().await.expect("derived"),
        expected,
        "ingest gives the reducer's state"
    );
    store.rebuild_derived().await.expect("rebuild");
    assert_eq!(
        store.derived_state().await.expect("derived"),
        expected,
        "replaying the log gives the same state"
    );
}

pub async fn derived_state_follows_the_reducer_and_rebuilds_the_same(store: &dyn Store) {
    let ops = vec![
        (0, 1, 0, 0, None),
        (4, 1, 0, 5, None),
        (4, 2, 0, 6, None),
        (4, 1, 0, 1000, None),
        (1, 1, 0, 1100, None),
        (4, 1, 1, 1200, Some(1)),
    ];
    replay_matches(store, (ops, vec![2, 3])).await;
}

pub async fn outbox_claims_in_order_with_leases_and_records_outcomes(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let later = send(ws, "b", "g", 5);
    let sooner = send(ws, "a", "g", 1);
    assert_eq!(
        store
            .enqueue(vec![later.clone(), sooner, later])
            .await
            .expect("enqueue"),
        2
    );
    assert!(
        store
            .claim_actions(claim(Platform::Sandbox, 0, 10, "x"))
            .await
            .expect("claim")
            .is_empty(),
        "nothing due yet"
    );
    assert!(
        store
            .claim_actions(claim(Platform::Matrix, 10, 10, "x"))
            .await
            .expect("claim")
            .is_empty(),
        "another platform's"
    );
    let claimed = store
        .claim_actions(claim(Platform::Sandbox, 10, 10, "x"))
        .await
        .expect("claim");
    assert_eq!(
        claimed
            .iter()
            .map(|action| action.key.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(claimed
        .iter()
        .all(|action| action.status == ActionStatus::InFlight));
    assert!(
        store
            .claim_actions(claim(Platform::Sandbox, 10, 10, "y"))
            .await
            .expect("claim")
            .is_empty(),
        "leased"
    );
    let again = store
        .claim_actions(claim(Platform::Sandbox, 12, 10, "y"))
        .await
        .expect("claim");
    assert_eq!(
        again.len(),
        2,
        "an expired lease makes the action due again"
    );
    let (a, b) = (again[0].id, again[1].id);
    store
        .finish_action(
            a,
            ActionOutcome::Done {
                receipt: Some("$ev".into()),
            },
            at(12),
        )
        .await
        .expect("finish");
    store
        .finish_action(
            b,
            ActionOutcome::Retry {
                at: at(20),
                error: "boom".into(),
            },
            at(12),
        )
        .await
        .expect("finish");
    let done = store.action(a).await.expect("action");
    assert_eq!(
        (
            done.status,
            done.attempts,
            done.receipt.as_deref(),
            done.done_at
        ),
        (ActionStatus::Done, 1, Some("$ev"), Some(at(12)))
    );
    let retried = store.action_by_key("b").await.expect("action");
    assert_eq!(
        (
            retried.status,
            retried.attempts,
            retried.next_attempt_at,
            retried.last_error.as_deref()
        ),
        (ActionStatus::Pending, 1, at(20), Some("boom"))
    );
    let b = store
        .claim_actions(claim(Platform::Sandbox, 20, 10, "x"))
        .await
        .expect("claim")[0]
        .id;
    store
        .finish_action(b, ActionOutcome::Defer { at: at(30) }, at(20))
        .await
        .expect("finish");
    assert_eq!(
        store.action(b).await.expect("action").attempts,
        1,
        "a deferral is not an attempt"
    );
    let b = store
        .claim_actions(claim(Platform::Sandbox, 30, 10, "x"))
        .await
        .expect("claim")[0]
        .id;
    store
        .finish_action(
            b,
            ActionOutcome::Dead {
                error: "no power".into(),
            },
            at(30),
        )
        .await
        .expect("finish");
    let dead = store.action(b).await.expect("action");
    assert_eq!(
        (dead.status, dead.attempts, dead.last_error.as_deref()),
        (ActionStatus::Dead, 2, Some("no power"))
    );
    let counts = store.action_counts(ws).await.expect("counts");
    assert_eq!((counts.done, counts.dead, counts.pending), (1, 1, 0));
    assert!(matches!(
        store
            .finish_action(9_999_999, ActionOutcome::Done { receipt: None }, at(0))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let filtered = store
        .actions(
            ws,
            &ActionFilter {
                status: Some(ActionStatus::Dead),
                ..ActionFilter::default()
            },
        )
        .await
        .expect("actions");
    assert_eq!(filtered.len(), 1);
}

pub async fn dry_run_and_ledger_actions_are_never_claimed_and_cancel_skips(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let mut dry = send(ws, "dry", "g", 0);
    dry.dry_run = true;
    let mut reward = send(ws, "points", "g", 0);
    reward.kind = ActionKind::GrantReward {
        member: "@a".into(),
        points: 10,
        reason: "check-in".into(),
    };
    let mut planned = send(ws, "sop-1", "g", 60);
    planned.origin = "sop:daily@v1/morning".into();
    let mut past = send(ws, "sop-0", "g", 0);
    past.origin = "sop:daily@v1/morning".into();
    store
        .enqueue(vec![dry, reward, planned, past])
        .await
        .expect("enqueue");
    assert_eq!(
        store
            .cancel_actions(ws, "sop:daily@v1/", at(30), "plan edited")
            .await
            .expect("cancel"),
        1
    );
    let skipped = store.action_by_key("sop-1").await.expect("action");
    assert_eq!(
        (skipped.status, skipped.last_error.as_deref()),
        (ActionStatus::Skipped, Some("plan edited"))
    );
    let claimed = store
        .claim_actions(claim(Platform::Sandbox, 100, 10, "x"))
        .await
        .expect("claim");
    assert_eq!(
        claimed
            .iter()
            .map(|action| action.key.as_str())
            .collect::<Vec<_>>(),
        ["sop-0"]
    );
    store
        .finish_action(
            claimed[0].id,
            ActionOutcome::Skip {
                reason: "expired".into(),
            },
            at(100),
        )
        .await
        .expect("finish");
    let counts = store.action_counts(ws).await.expect("counts");
    assert_eq!((counts.dry_run, counts.pending, counts.skipped), (1, 1, 2));
}

pub async fn concurrent_claimers_never_share_an_action(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let actions = (0..60)
        .map(|index| send(ws, &format!("k{index}"), &format!("g{}", index % 7), 0))
        .collect();
    store.enqueue(actions).await.expect("enqueue");
    let (first, second) = tokio::join!(
        store.claim_actions(claim(Platform::Sandbox, 1, 40, "one")),
        store.claim_actions(claim(Platform::Sandbox, 1, 40, "two"))
    );
    let mut keys: Vec<String> = first
        .expect("claim")
        .into_iter()
        .chain(second.expect("claim"))
        .map(|action| action.key)
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(
        (keys.len(), total),
        (60, 60),
        "every action claimed exactly once"
    );
}

pub async fn groups_members_and_daily_counts(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let events = vec![
        event(ws, "1", "g1", 0, joined("@a", "上海-小王")),
        event(ws, "2", "g1", 1, joined("@b", "北京-小李")),
        event(ws, "3", "g1", 2, message("@a", "早")),
        event(ws, "4", "g1", 3, message("@a", "好")),
        event(
            ws,
            "5",
            "g1",
            4,
            EventKind::MemberLeft {
                member: "@b".into(),
                how: LeaveHow::Kicked,
                by: Some("@a".into()),
            },
        ),
        event(
            ws,
            "6",
            "g2",
            5,
            EventKind::GroupRenamed {
                name: "打卡群".into(),
                by: None,
            },
        ),
    ];
    ingest(store, events, None).await;
    let groups = store.groups(ws).await.expect("groups");
    assert_eq!(groups.len(), 2);
    let g1 = groups
        .iter()
        .find(|summary| summary.group.chat == "g1")
        .expect("g1");
    assert_eq!(
        (
            g1.group.name.as_str(),
            g1.members_present,
            g1.group.capacity
        ),
        ("g1", 1, 500)
    );
    assert_eq!(
        groups
            .iter()
            .find(|summary| summary.group.chat == "g2")
            .expect("g2")
            .group
            .name,
        "打卡群"
    );
    let update = GroupUpdate {
        name: Some("瑜伽营".into()),
        tags: Some(vec!["yoga".into()]),
        ..GroupUpdate::default()
    };
    let updated = store
        .update_group(ws, g1.group.id, update)
        .await
        .expect("update");
    assert_eq!(
        (updated.name.as_str(), updated.tags.clone()),
        ("瑜伽营", vec!["yoga".to_string()])
    );
    assert_eq!(store.group(ws, g1.group.id).await.expect("group"), updated);
    assert_eq!(
        store
            .ensure_group(ws, Platform::Sandbox, "g1")
            .await
            .expect("ensure")
            .id,
        g1.group.id
    );

    let day = NaiveDate::from_ymd_opt(2026, 11, 24).expect("day");
    let days = store
        .group_days(ws, Some(g1.group.id), day, day)
        .await
        .expect("days");
    assert_eq!(days.len(), 1);
    assert_eq!(
        (
            days[0].counts.joins,
            days[0].counts.leaves,
            days[0].counts.messages,
            days[0].counts.speakers
        ),
        (2, 1, 2, 1)
    );

    let member = store
        .member(ws, Platform::Sandbox, "@a")
        .await
        .expect("member");
    assert_eq!(member.display_name, "上海-小王");
    let vip = MemberUpdate {
        tier: Some(qunzhu_domain::MemberTier::Vip),
        tags: Some(vec!["buyer".into()]),
        ..MemberUpdate::default()
    };
    store
        .update_member(ws, Platform::Sandbox, "@a", vip)
        .await
        .expect("update member");
    let found = |query: MemberQuery| async move {
        store
            .members(ws, &query)
            .await
            .expect("members")
            .into_iter()
            .map(|summary| summary.member.user)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found(MemberQuery {
            text: Some("小王".into()),
            ..MemberQuery::default()
        })
        .await,
        ["@a"]
    );
    assert_eq!(
        found(MemberQuery {
            tag: Some("buyer".into()),
            ..MemberQuery::default()
        })
        .await,
        ["@a"]
    );
    assert_eq!(
        found(MemberQuery {
            tier: Some(qunzhu_domain::MemberTier::Vip),
            ..MemberQuery::default()
        })
        .await,
        ["@a"]
    );
    assert_eq!(
        found(MemberQuery {
            group_id: Some(g1.group.id),
            ..MemberQuery::default()
        })
        .await,
        ["@a"],
        "present members only"
    );
    assert_eq!(
        found(MemberQuery {
            silent_since: Some(at(0)),
            ..MemberQuery::default()
        })
        .await,
        ["@b"]
    );
    assert_eq!(
        found(MemberQuery {
            active_since: Some(at(3)),
            ..MemberQuery::default()
        })
        .await,
        ["@a"]
    );
    let summary = &store
        .members(
            ws,
            &MemberQuery {
                text: Some("@a".into()),
                ..MemberQuery::default()
            },
        )
        .await
        .expect("members")[0];
    assert_eq!((summary.messages, summary.last_spoke_at), (2, Some(at(3))));
    assert!(matches!(
        store.member(ws, Platform::Sandbox, "@nobody").await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn join_requests_wait_until_decided(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let knock = |member: &str| EventKind::JoinRequested {
        member: member.into(),
        display_name: Some("AAA批发".into()),
        reason: None,
    };
    ingest(
        store,
        vec![
            event(ws, "1", "g", 0, knock("@x")),
            event(ws, "2", "g", 1, knock("@y")),
            event(ws, "3", "g", 2, joined("@x", "x")),
        ],
        None,
    )
    .await;
    let pending: Vec<String> = store
        .pending_join_requests(ws)
        .await
        .expect("pending")
        .into_iter()
        .map(|stored| stored.event.key)
        .collect();
    assert_eq!(pending, ["2"]);
    ingest(
        store,
        vec![event(
            ws,
            "4",
            "g",
            3,
            EventKind::JoinRequestDenied {
                member: "@y".into(),
                by: "@bot".into(),
            },
        )],
        None,
    )
    .await;
    assert!(store
        .pending_join_requests(ws)
        .await
        .expect("pending")
        .is_empty());
}

pub async fn accounts_sessions_tokens_and_audit(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let new = |login: &str| NewUser {
        workspace: ws,
        login: login.into(),
        display_name: "运营".into(),
        role: UserRole::Operator,
        password_hash: "$argon2id$x".into(),
    };
    let user = store.create_user(new("ops")).await.expect("user");
    assert!(matches!(
        store.create_user(new("ops")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store
            .user_by_login("ops")
            .await
            .expect("login")
            .expect("found")
            .password_hash,
        "$argon2id$x"
    );
    store
        .create_session("s1", user.id, at(60))
        .await
        .expect("session");
    assert_eq!(
        store
            .session_user("s1", at(59))
            .await
            .expect("session")
            .map(|user| user.login),
        Some("ops".into())
    );
    assert_eq!(
        store.session_user("s1", at(60)).await.expect("session"),
        None,
        "expired"
    );
    store.delete_session("s1").await.expect("delete");
    let token = store
        .create_api_token(ws, "ci", UserRole::Viewer, "t1", at(0))
        .await
        .expect("token");
    assert_eq!(
        store
            .api_token("t1")
            .await
            .expect("token")
            .map(|token| token.name),
        Some("ci".into())
    );
    store
        .revoke_api_token(ws, token.id, at(1))
        .await
        .expect("revoke");
    assert_eq!(store.api_token("t1").await.expect("token"), None);
    assert!(store.api_tokens(ws).await.expect("tokens")[0]
        .revoked_at
        .is_some());
    for index in 0..3 {
        let entry = NewAuditEntry {
            workspace: ws,
            at: at(index),
            actor: "user:ops".into(),
            action: "rule.update".into(),
            subject: format!("r{index}"),
            detail: serde_json::json!({"n": index}),
        };
        store.append_audit(entry).await.expect("audit");
    }
    let newest = store.audit_log(ws, None, 2).await.expect("audit");
    assert_eq!(
        newest
            .iter()
            .map(|entry| entry.subject.as_str())
            .collect::<Vec<_>>(),
        ["r2", "r1"]
    );
    let older = store
        .audit_log(ws, Some(newest[1].id), 10)
        .await
        .expect("audit");
    assert_eq!(
        (older.len(), older[0].detail.clone()),
        (1, serde_json::json!({"n": 0}))
    );
}

pub async fn documents_and_links(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    store
        .put_document(ws, "rules", "rules", "a = 1", "ops", at(0))
        .await
        .expect("put");
    let second = store
        .put_document(ws, "rules", "rules", "a = 2", "ops", at(1))
        .await
        .expect("put");
    assert_eq!(
        (second.version, second.source.as_str(), second.updated_at),
        (2, "a = 2", at(1))
    );
    assert_eq!(
        store.documents(ws, "rules").await.expect("documents").len(),
        1
    );
    assert!(store
        .documents(ws, "sop_plan")
        .await
        .expect("documents")
        .is_empty());
    store
        .delete_document(ws, "rules", "rules")
        .await
        .expect("delete");
    assert!(matches!(
        store.document(ws, "rules", "rules").await,
        Err(StoreError::NotFound { .. })
    ));
    let link = |code: &str| NewLink {
        code: code.into(),
        workspace: ws,
        url: "https://shop.example/x".into(),
        push: "push-1".into(),
        chat: "g".into(),
        member: None,
        created_at: at(0),
    };
    store
        .put_links(vec![link("abc"), link("def"), link("abc")])
        .await
        .expect("links");
    assert_eq!(
        store.link("abc").await.expect("link").url,
        "https://shop.example/x"
    );
    for visitor in ["v1", "v1", "v2"] {
        store
            .record_click(LinkClick {
                code: "abc".into(),
                at: at(1),
                visitor: visitor.into(),
            })
            .await
            .expect("click");
    }
    store
        .record_click(LinkClick {
            code: "def".into(),
            at: at(1),
            visitor: "v3".into(),
        })
        .await
        .expect("click");
    assert_eq!(
        store.push_link_stats(ws, "push-1").await.expect("stats"),
        LinkStats {
            clicks: 4,
            unique_visitors: 3
        }
    );
}

pub async fn workspaces_never_see_each_other(store: &dyn Store) {
    let (a, b) = (workspace(store, "a").await, workspace(store, "b").await);
    ingest(
        store,
        vec![
            event(a, "1", "g", 0, joined("@a", "A")),
            event(a, "2", "g", 1, message("@a", "hi")),
        ],
        None,
    )
    .await;
    store
        .enqueue(vec![send(a, "k", "g", 0)])
        .await
        .expect("enqueue");
    let user = store
        .create_user(NewUser {
            workspace: a,
            login: "ops-a".into(),
            display_name: "a".into(),
            role: UserRole::Owner,
            password_hash: "h".into(),
        })
        .await
        .expect("user");
    let token = store
        .create_api_token(a, "t", UserRole::Admin, "ta", at(0))
        .await
        .expect("token");
    store
        .append_audit(NewAuditEntry {
            workspace: a,
            at: at(0),
            actor: "x".into(),
            action: "y".into(),
            subject: "z".into(),
            detail: serde_json::json!({}),
        })
        .await
        .expect("audit");
    store
        .put_document(a, "rules", "rules", "x", "ops", at(0))
        .await
        .expect("document");
    store
        .put_links(vec![NewLink {
            code: "c".into(),
            workspace: a,
            url: "u".into(),
            push: "p".into(),
            chat: "g".into(),
            member: None,
            created_at: at(0),
        }])
        .await
        .expect("link");
    store
        .record_click(LinkClick {
            code: "c".into(),
            at: at(0),
            visitor: "v".into(),
        })
        .await
        .expect("click");
    let group_id = store.groups(a).await.expect("groups")[0].group.id;

    assert!(store.groups(b).await.expect("groups").is_empty());
    assert!(matches!(
        store.group(b, group_id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .update_group(b, group_id, GroupUpdate::default())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store
        .members(b, &MemberQuery::default())
        .await
        .expect("members")
        .is_empty());
    assert!(matches!(
        store.member(b, Platform::Sandbox, "@a").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.events(b, 0, 10).await.expect("events").is_empty());
    assert!(store
        .actions(b, &ActionFilter::default())
        .await
        .expect("actions")
        .is_empty());
    assert_eq!(
        store.action_counts(b).await.expect("counts"),
        ActionCounts::default()
    );
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).expect("day");
    assert!(store
        .group_days(b, None, day, day)
        .await
        .expect("days")
        .is_empty());
    assert!(store.users(b).await.expect("users").is_empty());
    assert!(store.api_tokens(b).await.expect("tokens").is_empty());
    assert!(matches!(
        store.revoke_api_token(b, token.id, at(1)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store
        .audit_log(b, None, 10)
        .await
        .expect("audit")
        .is_empty());
    assert!(store
        .documents(b, "rules")
        .await
        .expect("documents")
        .is_empty());
    assert_eq!(
        store.push_link_stats(b, "p").await.expect("stats"),
        LinkStats::default()
    );
    assert_eq!(
        store
            .cancel_actions(b, "", at(-100), "x")
            .await
            .expect("cancel"),
        0
    );
    assert_eq!(store.users(a).await.expect("users")[0].id, user.id);
}

//! The conformance suite every storage backend runs: same operations, same answers.
//!
//! A backend's test file calls [`conformance_suite!`] with an expression that makes a fresh,
//! empty store (and a guard kept alive while it is used); every check below then runs on it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use qunzhu_domain::{
    local_day, ActionId, ActionKind, ActionStatus, CampaignId, DerivedState, Event, EventKind,
    GroupId, JoinVia, LeaveHow, MessageKind, NewAction, Platform, WorkspaceId,
};

use qunzhu_storage::*;

mod accounts;
mod analytics_models;
mod banlist;
mod bot_powers;
mod click_rollups;
mod connector_state;
mod coupon_revocations;
mod coupons;
mod drops;
mod guard_memory;
mod invite_tasks;
mod invites;
mod landing;
mod leases;
mod ledger;
mod livecode_links;
mod livecodes;
mod lottery;
mod offers;
mod orders;
mod outbox;
mod plays;
mod poll_tags;
mod races;
mod reports;
mod rollups;
mod scoping;
mod tiers;
pub use accounts::*;
pub use analytics_models::*;
pub use banlist::*;
pub use bot_powers::*;
pub use click_rollups::*;
pub use connector_state::*;
pub use guard_memory::*;
pub use leases::*;
mod sop;
pub use coupon_revocations::*;
mod swaps;
pub use coupons::*;
pub use drops::*;
pub use invite_tasks::*;
pub use invites::*;
pub use landing::*;
pub use ledger::*;
pub use livecode_links::*;
pub use livecodes::*;
pub use lottery::*;
pub use offers::*;
pub use orders::*;
pub use outbox::*;
pub use plays::*;
pub use poll_tags::*;
pub use races::*;
pub use reports::*;
pub use rollups::*;
pub use scoping::*;
pub use sop::*;
pub use swaps::*;
pub use tiers::*;

/// Expands to one test per check, each on a fresh store made by `$make`: an async block yielding
/// `Some((Arc<dyn Store>, guard))`, or `None` when the backend is not available here (skipped).
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            ingest_dedupes_across_and_within_batches,
            derived_state_follows_the_reducer_and_rebuilds_the_same,
            outbox_claims_in_order_with_leases_and_records_outcomes,
            dry_run_never_claimed_ledger_actions_only_by_the_ledger_and_cancel_skips,
            concurrent_claimers_never_share_an_action,
            groups_members_and_daily_counts,
            join_requests_wait_until_decided,
            accounts_sessions_tokens_and_audit,
            accounts_are_disabled_repassworded_revoked_and_deleted,
            documents_and_links,
            workspaces_never_see_each_other,
            a_workspace_takes_the_configured_name_and_zone,
            action_keys_are_unique_per_workspace,
            leases_have_one_holder_and_pass_on_after_expiry,
            concurrent_acquirers_get_one_lease,
            sop_read_models_follow_the_watermark,
            push_renders_are_recorded_and_count_replies,
            push_figures_read_a_window_in_one_query,
            connector_secrets_keep_the_newest,
            guard_memory_is_level_with_the_log,
            reports_count_days_speakers_members_and_actions,
            ledger_posts_dedupes_refuses_and_reverses,
            ledger_catalogue_and_redemptions,
            concurrent_postings_never_overdraw_or_double,
            coupons_are_bound_to_their_member_and_redeemed_once,
            coupons_are_revoked_once_unless_redeemed,
            invites_are_attributed_counted_and_resumed,
            poll_answers_tag_members_and_retractions_untag_them,
            orders_are_recorded_once_attributed_and_totalled,
            earners_and_arrivals_come_from_the_read_models,
            invite_tasks_keep_rows_versions_and_referrals,
            lotteries_are_stored_bought_into_and_drawn_once,
            drops_are_scheduled_once_and_read_by_start,
            offers_sell_their_stock_once_per_member,
            concurrent_claims_never_oversell,
            swaps_close_both_sides_once,
            bans_are_kept_once_revised_and_scoped,
            present_members_are_where_a_ban_is_carried_out,
            rollups_fold_filter_and_guard_the_watermark,
            clicks_join_the_rollup_days_and_guard_the_watermark,
            tiers_follow_behaviour_and_views_page_kols_and_lurkers,
            landing_counters_and_leads_are_kept_once_and_forgotten,
            play_runs_are_kept_whole_listed_and_guard_the_watermark,
            livecodes_seat_visitors_within_capacity_and_count_channels,
            concurrent_scans_never_take_more_seats_than_there_are,
            bot_powers_keep_the_newest_report_per_group,
            races_open_and_settle_once,
            livecode_links_are_made_once_per_group_and_channel_and_count_joins,
            funnel_counts_are_seeded_for_a_workspace_folded_before_them,
            platform_counts_are_kept_per_day_and_replaced);

        #[test]
        fn ledger_matches_the_reducer_for_random_batches() {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            let config = $crate::proptest::test_runner::Config { cases: 24, failure_persistence: None, ..Default::default() };
            let mut runner = $crate::proptest::test_runner::TestRunner::new(config);
            runner
                .run(&$crate::conformance::ledger_script(), |script| {
                    runtime.block_on(async {
                        if let Some((store, _guard)) = $make.await {
                            $crate::conformance::ledger_matches_the_reducer(&*store, script).await;
                        }
                    });
                    Ok(())
                })
                .expect("the stored ledger is the reducer's");
        }

        #[test]
        fn rollups_folded_in_batches_equal_the_reducer_over_the_log() {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            let config = $crate::proptest::test_runner::Config { cases: 24, failure_persistence: None, ..Default::default() };
            let mut runner = $crate::proptest::test_runner::TestRunner::new(config);
            runner
                .run(&($crate::conformance::rollup_script(), 1usize..9), |(script, batch)| {
                    runtime.block_on(async {
                        if let Some((store, _guard)) = $make.await {
                            $crate::conformance::rollups_match_the_reducer(&*store, script, batch).await;
                        }
                    });
                    Ok(())
                })
                .expect("the incrementally kept rollups are the reducer's");
        }

        #[test]
        fn click_rollups_folded_while_clicks_arrive_equal_the_reducer() {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            let config = $crate::proptest::test_runner::Config { cases: 16, failure_persistence: None, ..Default::default() };
            let mut runner = $crate::proptest::test_runner::TestRunner::new(config);
            runner
                .run(&$crate::conformance::click_script(), |script| {
                    runtime.block_on(async {
                        if let Some((store, _guard)) = $make.await {
                            $crate::conformance::click_rollups_match_the_reducer(&*store, script).await;
                        }
                    });
                    Ok(())
                })
                .expect("the incrementally kept click rollups are the reducer's");
        }

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

pub(crate) fn at(minute: i64) -> DateTime<Utc> {
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
        origin: qunzhu_domain::ActionOrigin::parse("test:send"),
        cause: None,
    }
}

async fn workspace(store: &dyn Store, slug: &str) -> WorkspaceId {
    let new = NewWorkspace {
        slug: slug.into(),
        name: slug.into(),
        time_zone: chrono_tz::Asia::Shanghai,
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
        target: qunzhu_domain::ActionTarget::Platform,
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
    let newest: Vec<String> = store
        .events_since(ws, at(0), 2)
        .await
        .expect("since, limited")
        .into_iter()
        .map(|stored| stored.event.key)
        .collect();
    assert_eq!(
        newest,
        ["e2", "e3"],
        "past the limit the newest are kept, in log order"
    );
    assert!(store.action_by_key(ws, "greet:e3").await.is_ok());
}

/// Operations (kind, member, group, minute, redelivery of an earlier one) and batch sizes.
pub type Script = (Vec<(u8, u8, u8, i64, Option<usize>)>, Vec<usize>);

/// A random log: joins, leaves, messages, renames and redeliveries, split into random batches.
pub fn script() -> impl Strategy<Value = Script> {
    (
        prop::collection::vec(
            (
                0u8..6,
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
    for (index, (kind, member_index, group, minute, again)) in ops.into_iter().enumerate() {
        if let Some(earlier) =
            again.and_then(|pick| events.get(pick % events.len().max(1)).cloned())
        {
            events.push(earlier);
            continue;
        }
        let member = format!("@m{member_index}");
        let kind = match kind {
            // One member sometimes posts as a bot, after or before posting as a person.
            5 if member_index == 5 => EventKind::MessagePosted {
                member: member.into(),
                message_id: format!("bot-{index}"),
                text: "自动回复".into(),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: true,
            },
            0 => joined(&member, &format!("name{index}")),
            1 => EventKind::MemberLeft {
                member: member.into(),
                // Some leaves are removals, which the day rows count apart.
                how: [LeaveHow::Left, LeaveHow::Kicked, LeaveHow::Banned][index % 3],
                by: None,
            },
            2 => EventKind::DisplayNameChanged {
                member: member.into(),
                old: None,
                new: format!("renamed{index}"),
            },
            3 => EventKind::MemberPresent {
                member: member.into(),
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
    group_sizes_match(store, ws, &expected, "after ingest").await;
    speakers_match(store, ws, &events, &expected, "after ingest").await;
    store.rebuild_derived().await.expect("rebuild");
    assert_eq!(
        store.derived_state().await.expect("derived"),
        expected,
        "replaying the log gives the same state"
    );
    group_sizes_match(store, ws, &expected, "after the rebuild").await;
    speakers_match(store, ws, &events, &expected, "after the rebuild").await;
}

/// The kept speaker days give, per group and window, the members whose last message falls in
/// the window and who never posted as a bot.
async fn speakers_match(
    store: &dyn Store,
    ws: WorkspaceId,
    events: &[Event],
    expected: &DerivedState,
    when: &str,
) {
    let zone = chrono_tz::Asia::Shanghai;
    let bots: std::collections::BTreeSet<&str> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::MessagePosted {
                member,
                from_bot: true,
                ..
            } => Some(member.as_str()),
            _ => None,
        })
        .collect();
    let first = local_day(at(0), zone);
    let days: Vec<NaiveDate> = (0..4).map(|n| first + Duration::days(n)).collect();
    let ids: std::collections::BTreeMap<String, GroupId> = store
        .groups(ws)
        .await
        .expect("groups")
        .into_iter()
        .map(|summary| (summary.group.chat, summary.group.id))
        .collect();
    let mut want: std::collections::BTreeMap<GroupId, Vec<u64>> = std::collections::BTreeMap::new();
    for ((_, _, chat, member), membership) in &expected.memberships {
        let (Some(spoke), false) = (membership.last_spoke_at, bots.contains(member.as_str()))
        else {
            continue;
        };
        let counts = want.entry(ids[chat]).or_insert_with(|| vec![0; days.len()]);
        for (count, day) in counts.iter_mut().zip(&days) {
            *count += u64::from(local_day(spoke, zone) >= *day);
        }
    }
    let got = store
        .speakers_since(ws, &days)
        .await
        .expect("speakers since");
    assert_eq!(got, want, "speakers per group since each day {when}");
}

/// The group list's kept member counts equal the present memberships of the reducer's state.
async fn group_sizes_match(
    store: &dyn Store,
    ws: WorkspaceId,
    expected: &DerivedState,
    when: &str,
) {
    let mut want: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for ((_, _, chat, _), membership) in &expected.memberships {
        *want.entry(chat.clone()).or_default() += u64::from(membership.present);
    }
    let groups = store.groups(ws).await.expect("groups");
    for summary in &groups {
        want.entry(summary.group.chat.clone()).or_default();
    }
    let got: std::collections::BTreeMap<String, u64> = groups
        .into_iter()
        .map(|summary| (summary.group.chat, summary.members_present))
        .collect();
    assert_eq!(got, want, "each group's present members {when}");
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
        .member(ws, Platform::Sandbox, &"@a".into())
        .await
        .expect("member");
    assert_eq!(member.display_name, "上海-小王");
    let vip = MemberUpdate {
        tier: Some(qunzhu_domain::MemberTier::Vip),
        tags: Some(vec!["buyer".into()]),
        ..MemberUpdate::default()
    };
    store
        .update_member(ws, Platform::Sandbox, &"@a".into(), vip)
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
        store.member(ws, Platform::Sandbox, &"@nobody".into()).await,
        Err(StoreError::NotFound { .. })
    ));

    // A group's last event is the newest logged in it (one index seek), even one that happened
    // before the event logged ahead of it.
    let last = |groups: &[GroupSummary], chat: &str| {
        groups
            .iter()
            .find(|summary| summary.group.chat == chat)
            .and_then(|summary| summary.last_event_at)
    };
    let groups = store.groups(ws).await.expect("groups");
    assert_eq!(
        (last(&groups, "g1"), last(&groups, "g2")),
        (Some(at(4)), Some(at(5)))
    );
    ingest(
        store,
        vec![event(ws, "7", "g2", 1, message("@z", "迟到"))],
        None,
    )
    .await;
    let groups = store.groups(ws).await.expect("groups");
    assert_eq!(last(&groups, "g2"), Some(at(1)));
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
            event(ws, "3a", "g", 2, knock("@z")),
            // A knock approved on Matrix is an invitation; the knocker may not have joined yet.
            event(
                ws,
                "3b",
                "g",
                2,
                EventKind::MemberInvited {
                    member: "@z".into(),
                    by: "@bot".into(),
                },
            ),
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

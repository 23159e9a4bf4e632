//! `qunzhu bench scheduler`: planning a day for many groups, then dispatching a simultaneous
//! 08:00 post to all of them through the sandbox platform on a fake clock, so lateness shows
//! what the platform's rate limits force and nothing else.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::Connector;
use qunzhu_domain::{ActionStatus, Clock, FakeClock, Platform, WorkspaceId};
use qunzhu_engine::{DispatchConfig, Dispatcher};
use qunzhu_sandbox::{Behaviour, SandboxConnector, World};
use qunzhu_sop::{materialize, GroupFacts};
use qunzhu_storage::{ActionFilter, NewWorkspace, Store};

use crate::bench::{peak_rss_bytes, print_figures};

const MORNING_PLAN: &str = r#"
id = "bench"
name = "bench"
[[steps]]
id = "morning"
title = "早报"
repeat = "daily"
at = "08:00"
target = { all = true }
text = "☀️ 早安，{group}！今天是{date} {weekday}。"
"#;

pub async fn run(groups: usize, steps: usize, json: bool) -> anyhow::Result<()> {
    let planning = qunzhu_sop::bench_plan_day(groups, steps);

    // Dispatch: every group's 08:00 post, written to the outbox and sent through the sandbox.
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(qunzhu_storage_sqlite::SqliteStore::open(
        &dir.path().join("bench.db"),
    )?);
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "bench".into(),
            name: "bench".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await?;
    let eight: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-25T08:00:00+08:00")?.to_utc();
    let clock = FakeClock::new(eight - Duration::minutes(1));
    let plan = qunzhu_sop::parse_plan(MORNING_PLAN, "bench.toml")
        .map_err(|problems| anyhow::anyhow!("{}", problems[0]))?;
    let facts: Vec<GroupFacts> = (0..groups)
        .map(|index| {
            GroupFacts::new(
                format!("g{index:05}"),
                format!("群{index}"),
                qunzhu_domain::GroupType::Content,
                DateTime::UNIX_EPOCH,
            )
        })
        .collect();
    let occurrences = materialize(
        &plan,
        &facts,
        eight - Duration::minutes(1),
        eight + Duration::minutes(1),
    );
    let actions = occurrences
        .iter()
        .map(|occurrence| {
            occurrence.to_new_action(
                workspace.id,
                Platform::Sandbox,
                clock.now(),
                occurrence.scheduled,
            )
        })
        .collect();
    store.enqueue(actions).await?;

    let world = World::open(
        &dir.path().join("world.db"),
        Behaviour {
            groups: 0,
            ..Behaviour::default()
        },
        WorkspaceId(workspace.id.0),
        clock.now(),
        Some(0),
    )?;
    let connector = SandboxConnector::new(Arc::new(world), Arc::new(clock.clone()), "bench");
    let per_group = connector.capabilities().per_group_rate;
    let global = connector.capabilities().global_rate;
    let config = DispatchConfig {
        batch: 2048,
        ..DispatchConfig::default()
    };
    let dispatcher = Dispatcher::new(
        store.clone(),
        Arc::new(connector),
        Arc::new(clock.clone()),
        config,
    );
    clock.set(eight);
    let started = Instant::now();
    let mut done = 0;
    while done < occurrences.len() {
        let round = dispatcher.run_once().await?;
        done += round.done;
        if round.done == 0 {
            // Nothing could go now: let simulated time move to the next token.
            clock.advance(Duration::milliseconds(20));
        }
    }
    let dispatch_seconds = started.elapsed().as_secs_f64();
    let sent = store
        .actions(
            workspace.id,
            &ActionFilter {
                status: Some(ActionStatus::Done),
                limit: Some(groups * 2),
                ..ActionFilter::default()
            },
        )
        .await?;
    let mut lateness: Vec<i64> = sent
        .iter()
        .filter_map(|action| action.lateness())
        .map(|late| late.num_milliseconds())
        .collect();
    lateness.sort_unstable();
    let percentile = |p: f64| {
        lateness
            .get(((lateness.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    // The best any sender could do: the burst at once, then the account's steady rate.
    let forced = (groups as f64 - f64::from(global.burst)).max(0.0) / global.per_second;

    let figures = serde_json::json!({
        "groups": groups,
        "steps_per_day": steps,
        "plan_day_occurrences": planning.occurrences,
        "plan_day_ms": (planning.elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        "plan_occurrences_per_sec": planning.occurrences_per_second.round(),
        "dispatched": lateness.len(),
        "dispatch_wall_seconds": (dispatch_seconds * 100.0).round() / 100.0,
        "dispatch_actions_per_sec": (lateness.len() as f64 / dispatch_seconds).round(),
        "platform_rate_per_sec": global.per_second,
        "platform_rate_per_group_per_sec": per_group.per_second,
        "lateness_p50_s": percentile(0.5),
        "lateness_p99_s": percentile(0.99),
        "lateness_max_s": percentile(1.0),
        "lateness_forced_by_limits_s": (forced * 10.0).round() / 10.0,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    print_figures("scheduler bench", &figures, json);
    Ok(())
}

//! `qunzhu bench analytics`: a synthetic year of 1,000 groups built day by day through the
//! store, the analytics consumer folding each day's events as a running server would (timed
//! per day), then p99 of the console's analytics reads (one group's funnel and cohorts from its
//! member rows, the workspace's from the counters, the 30-day group table) against a plain
//! `GROUP BY` over the same member rows in the same run.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::funnel::{cohorts, FunnelConfig};
use qunzhu_domain::funnel_counts::cohorts_of_counts;
use qunzhu_domain::{Event, EventKind, JoinVia, LeaveHow, MessageKind, Platform, WorkspaceId};
use qunzhu_storage::rollups::{fold_new_events, FoldStep};
use qunzhu_storage::{FactsQuery, IngestBatch, NewEvent, NewWorkspace, RollupDayQuery, Store};

use crate::bench::{open, peak_rss_bytes, print_figures, Backend};

const DAYS: i64 = 365;
const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// A small deterministic generator, so two runs build the same year.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

struct World {
    groups: Vec<Vec<String>>,
    next_member: Vec<usize>,
    rng: Rng,
    serial: u64,
}

impl World {
    fn event(
        &mut self,
        workspace: WorkspaceId,
        group: usize,
        at: DateTime<Utc>,
        kind: EventKind,
    ) -> NewEvent {
        self.serial += 1;
        let event = Event {
            workspace,
            platform: Platform::Sandbox,
            key: format!("b{}", self.serial),
            chat: format!("!g{group}"),
            at,
            kind,
        };
        NewEvent {
            day: qunzhu_domain::local_day(at, ZONE),
            event,
        }
    }

    fn join(&mut self, workspace: WorkspaceId, group: usize, at: DateTime<Utc>) -> NewEvent {
        let member = format!("@g{group}m{}", self.next_member[group]);
        self.next_member[group] += 1;
        let via = if !self.groups[group].is_empty() && self.rng.below(10) < 3 {
            let by = self.groups[group][self.rng.below(self.groups[group].len())].clone();
            JoinVia::Invited { by }
        } else {
            JoinVia::Direct
        };
        self.groups[group].push(member.clone());
        self.event(
            workspace,
            group,
            at,
            EventKind::MemberJoined {
                member: member.into(),
                display_name: None,
                via,
            },
        )
    }

    /// One group's events on one day: mostly messages from present members, some joins,
    /// leaves, removals and orders.
    fn day(
        &mut self,
        workspace: WorkspaceId,
        group: usize,
        start: DateTime<Utc>,
        count: usize,
        out: &mut Vec<NewEvent>,
    ) {
        for slot in 0..count {
            let at = start + Duration::seconds((slot as i64 * 86_400) / count.max(1) as i64);
            let roll = self.rng.below(100);
            let present = self.groups[group].len();
            if present < 5 || roll < 4 {
                let event = self.join(workspace, group, at);
                out.push(event);
            } else if roll < 6 {
                let member = self.groups[group].swap_remove(self.rng.below(present));
                let how = if roll == 5 {
                    LeaveHow::Kicked
                } else {
                    LeaveHow::Left
                };
                out.push(self.event(
                    workspace,
                    group,
                    at,
                    EventKind::MemberLeft {
                        member: member.into(),
                        how,
                        by: None,
                    },
                ));
            } else if roll < 7 {
                let member = self.groups[group][self.rng.below(present)].clone();
                let serial = self.serial;
                out.push(self.event(
                    workspace,
                    group,
                    at,
                    EventKind::OrderPlaced {
                        order_id: format!("o{serial}"),
                        member: member.into(),
                        amount_cents: 990 + (serial % 50) as i64 * 100,
                        currency: "CNY".into(),
                        items: vec!["item".into()],
                        coupon: None,
                        link_token: None,
                        refund_of: None,
                    },
                ));
            } else {
                // Most talk comes from a few: pick from the first fifth of the roster half the time.
                let pool = if self.rng.below(2) == 0 {
                    (present / 5).max(1)
                } else {
                    present
                };
                let member = self.groups[group][self.rng.below(pool)].clone();
                let text = if roll < 15 {
                    "打卡".to_string()
                } else {
                    format!("hello {slot}")
                };
                let serial = self.serial;
                out.push(self.event(
                    workspace,
                    group,
                    at,
                    EventKind::MessagePosted {
                        member: member.into(),
                        message_id: format!("m{serial}"),
                        text,
                        links: vec![],
                        mentions: vec![],
                        reply_to: None,
                        message_kind: MessageKind::Text,
                        from_bot: false,
                    },
                ));
            }
        }
    }
}

fn p99(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let index = ((samples.len() as f64 * 0.99).ceil() as usize).saturating_sub(1);
    let value = samples.get(index).copied().unwrap_or(0.0);
    (value * 100.0).round() / 100.0
}

fn millis(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

async fn fold_all(store: &dyn Store, workspace: WorkspaceId) -> anyhow::Result<()> {
    let checkin = |event: &Event| qunzhu_engine::rollups::is_checkin(event);
    loop {
        match fold_new_events(store, workspace, ZONE, 5_000, &checkin).await? {
            FoldStep::Folded(0) => return Ok(()),
            FoldStep::Folded(_) | FoldStep::Lost => {}
        }
    }
}

/// p99 of 20 workspace funnels from the counters and 20 one-group funnels from member rows.
async fn read_sample(
    store: &dyn Store,
    workspace: WorkspaceId,
    groups: usize,
) -> anyhow::Result<(f64, f64)> {
    let config = FunnelConfig::default();
    let mut rng = Rng(11);
    let (mut workspace_ms, mut group_ms) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let started = Instant::now();
        if let Some(counts) = store.funnel_counts(workspace).await? {
            std::hint::black_box(config.funnel_of_counts(&counts, None));
        }
        workspace_ms.push(millis(started));
        let query = FactsQuery {
            group: Some((Platform::Sandbox, format!("!g{}", rng.below(groups)))),
            ..FactsQuery::default()
        };
        let started = Instant::now();
        let rows = store.member_facts(workspace, &query).await?;
        std::hint::black_box(config.funnel(rows.iter().map(|row| &row.facts)));
        group_ms.push(millis(started));
    }
    Ok((p99(workspace_ms), p99(group_ms)))
}

pub async fn run(
    events: usize,
    groups: usize,
    backend: Backend,
    database_url: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let groups = groups.max(1);
    let (store, _scratch) = open(backend, database_url).await?;
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "bench".into(),
            name: "bench".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await?
        .id;
    // Rounded up: the year holds at least the events asked for.
    let per_group_day = events.div_ceil(groups * DAYS as usize).max(1);
    let mut world = World {
        groups: vec![Vec::new(); groups],
        next_member: vec![0; groups],
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        serial: 0,
    };
    let first = DateTime::parse_from_rfc3339("2025-12-01T00:00:00+08:00")?.to_utc();
    let (mut ingest_s, mut fold_s, mut fold_max_s, mut total) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    for day in 0..DAYS {
        let start = first + Duration::days(day);
        let mut batch = Vec::with_capacity(per_group_day * groups);
        for group in 0..groups {
            world.day(workspace, group, start, per_group_day, &mut batch);
        }
        total += batch.len();
        let started = Instant::now();
        for chunk in batch.chunks(20_000) {
            store
                .ingest(
                    IngestBatch {
                        events: chunk.to_vec(),
                        cursor: None,
                    },
                    &mut |_| vec![],
                )
                .await?;
        }
        ingest_s += started.elapsed().as_secs_f64();
        let started = Instant::now();
        fold_all(&*store, workspace).await?;
        let took = started.elapsed().as_secs_f64();
        fold_s += took;
        fold_max_s = fold_max_s.max(took);
        if (day + 1) % 30 == 0 {
            // A line on stderr every 30 days: the figures so far and the reads at this much
            // history, so a long run shows whether the console's reads stay flat as it grows.
            let (workspace_ms, group_ms) = read_sample(&*store, workspace, groups).await?;
            eprintln!(
                "{}",
                serde_json::json!({
                    "day": day + 1,
                    "events": total,
                    "ingest_s": (ingest_s * 10.0).round() / 10.0,
                    "rollup_s_per_day": (fold_s / (day + 1) as f64 * 1000.0).round() / 1000.0,
                    "rollup_max_s_per_day": (fold_max_s * 1000.0).round() / 1000.0,
                    "funnel_workspace_p99_ms": workspace_ms,
                    "funnel_p99_ms": group_ms,
                })
            );
        }
    }
    let last_day = qunzhu_domain::local_day(first + Duration::days(DAYS - 1), ZONE);
    let config = FunnelConfig::default();
    let samples = 200;
    let mut rng = Rng(7);
    let group_of = |n: usize| Some((Platform::Sandbox, format!("!g{n}")));

    let mut funnel_ms = Vec::new();
    let mut cohort_ms = Vec::new();
    for _ in 0..samples {
        let query = FactsQuery {
            group: group_of(rng.below(groups)),
            ..FactsQuery::default()
        };
        let started = Instant::now();
        let rows = store.member_facts(workspace, &query).await?;
        std::hint::black_box(config.funnel(rows.iter().map(|row| &row.facts)));
        funnel_ms.push(millis(started));
        let query = FactsQuery {
            group: group_of(rng.below(groups)),
            ..FactsQuery::default()
        };
        let started = Instant::now();
        let rows = store.member_facts(workspace, &query).await?;
        std::hint::black_box(cohorts(
            rows.iter().map(|row| &row.facts),
            last_day,
            ZONE,
            12,
        ));
        cohort_ms.push(millis(started));
    }
    let mut table_ms = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let rows = store
            .rollup_days(
                workspace,
                &RollupDayQuery {
                    group: None,
                    from: last_day - Duration::days(29),
                    to: last_day,
                },
            )
            .await?;
        std::hint::black_box(rows.len());
        table_ms.push(millis(started));
    }
    // The console's workspace-wide reads: the funnel (whole and by channel) and the cohort
    // triangle from the counters the consumer keeps, checked against a count over the member rows.
    let mut workspace_funnel_ms = Vec::new();
    let mut workspace_cohort_ms = Vec::new();
    let mut scan_funnel_ms = Vec::new();
    let mut baseline_ms = Vec::new();
    let mut acquired = 0;
    for _ in 0..samples {
        let started = Instant::now();
        let counts = store
            .funnel_counts(workspace)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the funnel counters were never started"))?;
        let whole = config.funnel_of_counts(&counts, None);
        for channel in counts.channels() {
            std::hint::black_box(config.funnel_of_counts(&counts, Some(channel)));
        }
        acquired = whole.acquired;
        workspace_funnel_ms.push(millis(started));
        let started = Instant::now();
        let counts = store
            .funnel_counts(workspace)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the funnel counters were never started"))?;
        std::hint::black_box(cohorts_of_counts(&counts, None, last_day, 12));
        workspace_cohort_ms.push(millis(started));
    }
    for _ in 0..5 {
        let started = Instant::now();
        let rows = store
            .member_facts(workspace, &FactsQuery::default())
            .await?;
        let scanned = config.funnel(rows.iter().map(|row| &row.facts));
        scan_funnel_ms.push(millis(started));
        if scanned.acquired != acquired {
            anyhow::bail!(
                "the counters say {acquired} acquired, the member rows {}",
                scanned.acquired
            );
        }
        let started = Instant::now();
        std::hint::black_box(store.facts_group_by_baseline(workspace).await?);
        baseline_ms.push(millis(started));
    }
    let figures = serde_json::json!({
        "backend": store.backend(),
        "events": total,
        "groups": groups,
        "days": DAYS,
        "acquired_members": acquired,
        "ingest_s": (ingest_s * 10.0).round() / 10.0,
        "rollup_s_per_day": (fold_s / DAYS as f64 * 1000.0).round() / 1000.0,
        "rollup_max_s_per_day": (fold_max_s * 1000.0).round() / 1000.0,
        "rollup_events_per_sec": (total as f64 / fold_s.max(1e-9)).round(),
        "funnel_p99_ms": p99(funnel_ms),
        "cohort_p99_ms": p99(cohort_ms),
        "group_table_p99_ms": p99(table_ms),
        "funnel_workspace_p99_ms": p99(workspace_funnel_ms),
        "cohort_workspace_p99_ms": p99(workspace_cohort_ms),
        "funnel_workspace_scan_p99_ms": p99(scan_funnel_ms),
        "baseline_group_by_ms": p99(baseline_ms),
        "peak_rss_bytes": peak_rss_bytes(),
    });
    print_figures("analytics bench", &figures, json);
    Ok(())
}

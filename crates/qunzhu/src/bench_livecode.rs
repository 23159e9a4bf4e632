//! `qunzhu bench livecode`: routing decisions per second under concurrent scans — each one the
//! whole `join_from_livecode` (read the code and its spares, take a seat counted against the cap
//! in one transaction, enqueue the invitation) — and a count of seats given past any group's cap,
//! which must be 0.

use std::sync::Arc;
use std::time::Instant;

use qunzhu_domain::{Clock, Platform, SystemClock};
use qunzhu_ops::{Actor, LiveJoin, Ops};
use qunzhu_storage::NewWorkspace;

use crate::bench::{open, peak_rss_bytes, print_figures, Backend};

pub async fn run(
    scans: usize,
    groups: usize,
    concurrency: usize,
    backend: Backend,
    database_url: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let (store, _scratch) = open(backend, database_url).await?;
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "bench".into(),
            name: "bench".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await?
        .id;
    let groups = groups.max(1);
    // Seats for nine in ten visitors, so the last scans meet full groups too.
    let cap = ((scans * 9 / 10) / groups).max(1);
    let chats: Vec<String> = (0..groups)
        .map(|index| format!("!g{index}:bench"))
        .collect();
    let source = format!(
        "title = \"bench\"\nplatform = \"matrix\"\ngroups = [{}]\ncap = {cap}\n",
        chats
            .iter()
            .map(|chat| format!("\"{chat}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ops = Ops::new(store.clone(), clock.clone());
    ops.save_livecode(&Actor::cli(workspace), "bench", &source)
        .await?;

    let concurrency = concurrency.max(1);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let ops = ops.clone();
        tasks.push(tokio::spawn(async move {
            let (mut seated, mut full) = (0usize, 0usize);
            let channels = ["store", "xhs", "direct"];
            for index in (worker..scans).step_by(concurrency) {
                let visitor = format!("@v{index}:bench");
                match ops
                    .join_from_livecode("bench", &visitor, Some(channels[index % 3]))
                    .await?
                {
                    LiveJoin::Invited { .. } => seated += 1,
                    LiveJoin::Full => full += 1,
                }
            }
            anyhow::Ok((seated, full))
        }));
    }
    let (mut seated, mut full) = (0usize, 0usize);
    for task in tasks {
        let (one, other) = task.await??;
        seated += one;
        full += other;
    }
    let seconds = started.elapsed().as_secs_f64();
    let used = store
        .seats_used(workspace, Platform::Matrix, &chats, clock.now())
        .await?;
    let over_capacity: u64 = used
        .iter()
        .map(|&used| u64::from(used).saturating_sub(cap as u64))
        .sum();
    let figures = serde_json::json!({
        "backend": store.backend(),
        "scans": scans,
        "groups": groups,
        "cap": cap,
        "concurrency": concurrency,
        "seated": seated,
        "turned_away": full,
        "seats_counted": used.iter().map(|&used| u64::from(used)).sum::<u64>(),
        "scans_per_sec": (scans as f64 / seconds).round(),
        "over_capacity": over_capacity,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    print_figures("live-code bench", &figures, json);
    if over_capacity > 0 || seated != groups * cap {
        anyhow::bail!(
            "capacity broken: {over_capacity} seats over the caps, {seated} seated for {} seats",
            groups * cap
        );
    }
    Ok(())
}

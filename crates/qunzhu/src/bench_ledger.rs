//! `qunzhu bench ledger`: grants per second through the ledger with its balance checks (and a
//! spend in every ten that checks the member can pay), against a plain insert of the same
//! entries in the same run.

use std::time::Instant;

use qunzhu_domain::{Account, NewEntry, Platform, Reason};
use qunzhu_storage::{NewWorkspace, Posting};

use crate::bench::{open, peak_rss_bytes, print_figures, Backend};

fn entries(count: usize, members: usize) -> Vec<NewEntry> {
    let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
    (0..count)
        .map(|index| {
            // Every tenth entry spends from the member the entry before it paid.
            let paid = if index % 10 == 9 { index - 1 } else { index };
            let member = Account::member(
                Platform::Sandbox,
                format!("@m{}:bench", paid % members.max(1)),
            );
            let (reason, from, to, amount) = if index % 10 == 9 {
                (Reason::Spend, member, Account::Redeemed, 5)
            } else {
                (Reason::CheckIn, Account::Issuance, member, 10)
            };
            NewEntry {
                key: format!("bench:{index}"),
                reason,
                cause: Some(format!("action:{index}")),
                from,
                to,
                amount,
                at: at + chrono::Duration::seconds(index as i64),
                memo: "bench".into(),
                reverses: None,
            }
        })
        .collect()
}

pub async fn run(
    count: usize,
    members: usize,
    batch: usize,
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
    let entries = entries(count, members);
    let batch = batch.max(1);

    let started = Instant::now();
    for (index, chunk) in entries.chunks(batch).enumerate() {
        store
            .ledger_baseline_insert(workspace, chunk, index == 0)
            .await?;
    }
    let baseline_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let (mut applied, mut refused) = (0usize, 0usize);
    for chunk in entries.chunks(batch) {
        for posting in store.post_entries(workspace, chunk.to_vec()).await? {
            match posting {
                Posting::Applied { .. } => applied += 1,
                Posting::Refused { .. } => refused += 1,
                Posting::Duplicate { .. } => {}
            }
        }
    }
    let full_seconds = started.elapsed().as_secs_f64();

    let grants_per_sec = count as f64 / full_seconds;
    let baseline_rows_per_sec = count as f64 / baseline_seconds;
    let figures = serde_json::json!({
        "backend": store.backend(),
        "entries": count,
        "members": members,
        "batch": batch,
        "applied": applied,
        "refused": refused,
        "grants_per_sec": grants_per_sec.round(),
        "baseline_rows_per_sec": baseline_rows_per_sec.round(),
        "ratio": (grants_per_sec / baseline_rows_per_sec * 1000.0).round() / 1000.0,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    print_figures("ledger bench", &figures, json);
    Ok(())
}

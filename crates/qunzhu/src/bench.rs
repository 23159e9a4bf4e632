//! `qunzhu bench …`: figures for speed and memory, printed, never asserted by a test.

use std::sync::Arc;
use std::time::Instant;

use clap::{Subcommand, ValueEnum};
use qunzhu_domain::{local_day, Event, WorkspaceId};
use qunzhu_engine::{Decider, GreetEachJoin};
use qunzhu_sandbox::{Behaviour, Generator, Person};
use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Full ingest path vs a plain bulk insert of the same rows (the storage floor).
    Ingest {
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        /// PostgreSQL server to create a scratch database on (default: QUNZHU_DATABASE_URL, else local).
        #[arg(long)]
        database_url: Option<String>,
        /// Events per transaction, as a connector batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        #[arg(long)]
        json: bool,
    },
    /// Messages per second through the full moderation decision (10,000 keywords, 100 rules,
    /// a 100,000-entry ban list).
    Moderation {
        #[arg(long, default_value_t = 200_000)]
        messages: usize,
        #[arg(long)]
        json: bool,
    },
    /// No-panic property tests: arbitrary and mutated input through every parser of outside
    /// input (rule files, SOP plans, Matrix sync JSON); one `{"target","cases","panics"}` per
    /// target with `--json`. Exits non-zero when any case panicked.
    Fuzz {
        #[arg(long, default_value_t = 100_000)]
        cases: usize,
        /// Only this target (default: all of them).
        #[arg(long)]
        target: Option<String>,
        /// Seed of the mutations, so a run can be repeated exactly.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// A sign-in storm: parallel wrong passwords through the real sign-in path; reports how many
    /// were verified, throttled, the most verifications at once and the peak RSS.
    Signin {
        #[arg(long, default_value_t = 120)]
        attempts: usize,
        /// Verification slots (default: the server's, at most 4); a large value shows the
        /// memory an unbounded server would use.
        #[arg(long)]
        slots: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Live-code routing under concurrent scans, with capacity never exceeded.
    Livecode {
        #[arg(long, default_value_t = 5_000)]
        scans: usize,
        #[arg(long, default_value_t = 50)]
        groups: usize,
        /// Scans in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        /// PostgreSQL server to create a scratch database on (default: QUNZHU_DATABASE_URL, else local).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Grants per second through the points ledger with balance checks, vs a plain insert of
    /// the same entries (the storage floor).
    Ledger {
        #[arg(long, default_value_t = 100_000)]
        entries: usize,
        #[arg(long, default_value_t = 10_000)]
        members: usize,
        /// Entries per transaction, as the ledger worker posts a claimed batch.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        /// PostgreSQL server to create a scratch database on (default: QUNZHU_DATABASE_URL, else local).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A log of N events over 200 groups, then a cold `serve` of it: start-up until `/healthz`
    /// says the engine is live, peak RSS, and p99 of the console's heavy reads.
    History {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Events per ingest transaction while the log is built.
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
        /// Keep the log in this directory; a log already there is measured again, not rebuilt.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// Also bring every other log consumer of `serve` level first, as a server that wrote
        /// the log would have (slow: each reads the whole log); without it the served engine
        /// catches them up while it is measured.
        #[arg(long)]
        level: bool,
        #[arg(long)]
        json: bool,
    },
    /// A fresh `serve` on a sandbox of many groups whose first events are one big backlog:
    /// `/healthz` and console p99 while it is ingested, then seconds from SIGTERM to exit.
    Backlog {
        #[arg(long, default_value_t = 10_000)]
        groups: usize,
        #[arg(long, default_value_t = 100)]
        members: usize,
        /// How long to probe while the backlog is ingested.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        #[arg(long)]
        json: bool,
    },
    /// The demo community under console load (a signed-in client fetching the main pages):
    /// the demo's RSS every 10 s and the pages' p99.
    Soak {
        #[arg(long, default_value_t = 3.0)]
        minutes: f64,
        #[arg(long, default_value_t = 200)]
        groups: u16,
        #[arg(long)]
        json: bool,
    },
    /// A synthetic year of groups (10M events by default), folded into the analytics rollups day
    /// by day (timed), then p99 of the funnel, cohort and group-table reads vs a plain GROUP BY.
    Analytics {
        #[arg(long, default_value_t = 10_000_000)]
        events: usize,
        #[arg(long, default_value_t = 1_000)]
        groups: usize,
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        /// PostgreSQL server to create a scratch database on (default: QUNZHU_DATABASE_URL, else local).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Time from a connector batch arriving to the redaction it causes being handed to the
    /// connector, through the real store, outbox and dispatcher (`p50_ms`, `p99_ms`).
    React {
        #[arg(long, default_value_t = 1_000)]
        messages: usize,
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        /// PostgreSQL server to create a scratch database on (default: QUNZHU_DATABASE_URL, else local).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// 10,000 groups × 5 steps a day: planning, then dispatching a simultaneous 08:00 post to
    /// every group through the sandbox platform within its rate limits.
    Scheduler {
        #[arg(long, default_value_t = 10_000)]
        groups: usize,
        #[arg(long, default_value_t = 5)]
        steps: usize,
        #[arg(long)]
        json: bool,
    },
    /// Members' posters per second from the default template, and the p99 of one poster
    /// (`posters_per_sec`, `p99_ms`); needs a CJK font (fonts-noto-cjk).
    Poster {
        #[arg(long, default_value_t = 500)]
        posters: usize,
        /// A font file instead of the default Debian paths.
        #[arg(long)]
        font: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Analytics {
            events,
            groups,
            backend,
            database_url,
            json,
        } => crate::bench_analytics::run(events, groups, backend, database_url, json).await,
        BenchCommand::Ingest {
            events,
            backend,
            database_url,
            batch,
            json,
        } => ingest(events, backend, database_url, batch, json).await,
        BenchCommand::Moderation { messages, json } => {
            let report = qunzhu_moderation::bench(messages);
            let figures = serde_json::json!({
                "messages": report.messages,
                "keywords": report.keywords,
                "rules": report.rules,
                "bans": report.bans,
                "decisions": report.decisions,
                "msgs_per_sec": report.msgs_per_sec.round(),
                "p50_ns": report.p50_ns,
                "p99_ns": report.p99_ns,
                "max_ns": report.max_ns,
                "peak_rss_bytes": peak_rss_bytes(),
            });
            print_figures("moderation bench (one core)", &figures, json);
            Ok(())
        }
        BenchCommand::Fuzz {
            cases,
            target,
            seed,
            json,
        } => crate::bench_fuzz::run(cases, json, target, seed),
        BenchCommand::Livecode {
            scans,
            groups,
            concurrency,
            backend,
            database_url,
            json,
        } => {
            crate::bench_livecode::run(scans, groups, concurrency, backend, database_url, json)
                .await
        }
        BenchCommand::Ledger {
            entries,
            members,
            batch,
            backend,
            database_url,
            json,
        } => crate::bench_ledger::run(entries, members, batch, backend, database_url, json).await,
        BenchCommand::Scheduler {
            groups,
            steps,
            json,
        } => crate::bench_scheduler::run(groups, steps, json).await,
        BenchCommand::History {
            events,
            batch,
            dir,
            level,
            json,
        } => crate::bench_history::run(events, batch, dir, level, json).await,
        BenchCommand::Backlog {
            groups,
            members,
            seconds,
            json,
        } => crate::bench_backlog::run(groups, members, seconds, json).await,
        BenchCommand::Soak {
            minutes,
            groups,
            json,
        } => crate::bench_soak::run(minutes, groups, json).await,
        BenchCommand::React {
            messages,
            backend,
            database_url,
            json,
        } => crate::bench_react::run(messages, backend, database_url, json).await,
        BenchCommand::Poster {
            posters,
            font,
            json,
        } => crate::bench_poster::run(posters, font, json),
        BenchCommand::Signin {
            attempts,
            slots,
            json,
        } => crate::bench_signin::run(attempts, slots, json).await,
    }
}

/// Realistic load from the sandbox behaviour model: 100 groups × 200 members, mostly chatter.
fn generate(count: usize) -> Vec<Event> {
    let behaviour = Behaviour {
        groups: 100,
        members_per_group: 200,
        messages_per_second: 3.0,
        join_chance: 0.05,
        leave_chance: 0.02,
        ..Behaviour::default()
    };
    let mut stream = EventStream::new(behaviour);
    stream.take(count)
}

/// The sandbox community's events in order, produced a chunk at a time so a history of
/// millions never sits in memory at once.
pub(crate) struct EventStream {
    behaviour: Behaviour,
    present: Vec<Vec<Person>>,
    serials: Vec<u64>,
    start: chrono::DateTime<chrono::Utc>,
    tick: i64,
    spare: Vec<Event>,
}

impl EventStream {
    pub(crate) fn new(behaviour: Behaviour) -> Self {
        let generator = Generator {
            behaviour: &behaviour,
            workspace: WorkspaceId(1),
        };
        let present = (0..behaviour.groups)
            .map(|group| generator.founders(group))
            .collect();
        let serials = vec![behaviour.members_per_group as u64; behaviour.groups];
        EventStream {
            behaviour,
            present,
            serials,
            start: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default(),
            tick: 0,
            spare: Vec::new(),
        }
    }

    /// The next `count` events.
    pub(crate) fn take(&mut self, count: usize) -> Vec<Event> {
        let generator = Generator {
            behaviour: &self.behaviour,
            workspace: WorkspaceId(1),
        };
        let mut out = std::mem::take(&mut self.spare);
        while out.len() < count {
            for group in 0..self.behaviour.groups {
                let at = self.start + chrono::Duration::seconds(self.tick);
                for (event, person) in generator.tick(
                    self.tick,
                    at,
                    group,
                    &self.present[group],
                    &mut self.serials[group],
                ) {
                    if let Some(person) = person {
                        self.present[group].push(person);
                    }
                    out.push(event);
                }
            }
            self.tick += 1;
        }
        self.spare = out.split_off(count);
        out
    }
}

/// What to clean up after a benchmark: a temporary directory or a scratch database.
pub(crate) enum Scratch {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] qunzhu_storage_postgres::testing::DatabaseGuard),
}

pub(crate) async fn open(
    backend: Backend,
    database_url: Option<String>,
) -> anyhow::Result<(Arc<dyn Store>, Scratch)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir()?;
            let store = qunzhu_storage_sqlite::SqliteStore::open(&dir.path().join("bench.db"))?;
            Ok((Arc::new(store), Scratch::Sqlite(dir)))
        }
        Backend::Postgres => {
            let base = database_url
                .or_else(|| std::env::var("QUNZHU_DATABASE_URL").ok())
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let (url, guard) = qunzhu_storage_postgres::testing::fresh_database(&base).await?;
            let store = qunzhu_storage_postgres::PostgresStore::connect(&url).await?;
            Ok((Arc::new(store), Scratch::Postgres(guard)))
        }
    }
}

async fn ingest(
    count: usize,
    backend: Backend,
    database_url: Option<String>,
    batch: usize,
    json: bool,
) -> anyhow::Result<()> {
    let events = generate(count);
    let zone = chrono_tz::Asia::Shanghai;
    let (store, _dir) = open(backend, database_url).await?;
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "bench".into(),
            name: "bench".into(),
            time_zone: zone,
        })
        .await?;
    let rows: Vec<NewEvent> = events
        .iter()
        .map(|event| NewEvent {
            day: local_day(event.at, zone),
            event: event.clone(),
        })
        .collect();

    // Both paths get the same prepared rows, built before either timer starts.
    let size = batch.max(1);
    let batches: Vec<IngestBatch> = rows
        .chunks(size)
        .map(|chunk| IngestBatch {
            events: chunk.to_vec(),
            cursor: Some(("bench".into(), "x".into())),
        })
        .collect();

    // The floor: the same rows, same transaction size, plain inserts into a table with the
    // log's unique key that grows to the same size.
    let started = Instant::now();
    for chunk in rows.chunks(size) {
        store.baseline_insert(chunk).await?;
    }
    let baseline_seconds = started.elapsed().as_secs_f64();
    drop(rows);

    // The full path: dedupe, append, derived state, rules, outbox — as the engine does.
    let mut rules = GreetEachJoin {
        template: "欢迎 {name}".into(),
    };
    let now = chrono::Utc::now();
    let started = Instant::now();
    let mut actions = 0;
    for batch in batches {
        let mut decide = |event: &Event| rules.decide(event, now);
        let report = store.ingest(batch, &mut decide).await?;
        actions += report.actions;
    }
    let full_seconds = started.elapsed().as_secs_f64();
    let _ = workspace;

    let events_per_sec = count as f64 / full_seconds;
    let baseline_rows_per_sec = count as f64 / baseline_seconds;
    let report = serde_json::json!({
        "backend": store.backend(),
        "events": count,
        "batch": batch,
        "actions_written": actions,
        "events_per_sec": events_per_sec.round(),
        "baseline_rows_per_sec": baseline_rows_per_sec.round(),
        "ratio": (events_per_sec / baseline_rows_per_sec * 1000.0).round() / 1000.0,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    if json {
        println!("{report}");
    } else {
        println!(
            "ingest bench on {} ({count} events, batches of {batch})",
            store.backend()
        );
        println!("  full path:   {events_per_sec:>10.0} events/s ({actions} actions written)");
        println!("  bulk insert: {baseline_rows_per_sec:>10.0} rows/s (storage floor)");
        println!(
            "  ratio:       {:>10.3}",
            events_per_sec / baseline_rows_per_sec
        );
        println!("  peak RSS:    {:>10} bytes", peak_rss_bytes());
    }
    Ok(())
}

/// The process's high-water resident memory (Linux `VmHWM`), 0 where unknown.
/// The resident set right now (`VmRSS`), 0 where `/proc` is missing.
pub fn current_rss_bytes() -> u64 {
    status_kib("VmRSS:") * 1024
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .unwrap_or(0)
}

pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| {
                    line.split_whitespace()
                        .nth(1)
                        .and_then(|kib| kib.parse::<u64>().ok())
                        .map(|kib| kib * 1024)
                })
        })
        .unwrap_or(0)
}

/// Prints a flat JSON object as one line (`--json`) or as aligned `key: value` lines.
pub fn print_figures(title: &str, figures: &serde_json::Value, json: bool) {
    if json {
        println!("{figures}");
        return;
    }
    println!("{title}");
    if let Some(object) = figures.as_object() {
        for (key, value) in object {
            println!("  {key:<24} {value}");
        }
    }
}

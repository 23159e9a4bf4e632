//! `qunzhu bench history`: what a long history costs — a log of N events over 200 groups, then a
//! cold `serve` of the real binary on it (start-up time, peak RSS) and the console's heavy reads.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use qunzhu_domain::{local_day, ActionKind, MemberId, NewAction, Platform, WorkspaceId};
use qunzhu_sandbox::{chat_id, Behaviour};
use qunzhu_storage::{
    ActionOutcome, IngestBatch, NewEvent, NewWorkspace, PushRender, PushWindow, Store,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::bench::{print_figures, EventStream};

/// How many times each query runs for its p99.
const QUERY_RUNS: usize = 200;
/// How long `serve` may take to answer before the bench gives up on it.
const START_LIMIT: Duration = Duration::from_secs(600);
/// Log time between two SOP pushes to every group, so the push report has pushes whose replies
/// the SOP read models counted from the messages after them.
const PUSH_EVERY: chrono::Duration = chrono::Duration::hours(1);
/// The SOP plan the bench's pushes claim to come from.
const PUSH_PLAN: &str = "history-bench";

pub async fn run(
    events: usize,
    batch: usize,
    keep: Option<std::path::PathBuf>,
    level: bool,
    json: bool,
) -> anyhow::Result<()> {
    let temporary = tempfile::tempdir()?;
    let dir = match &keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            dir.as_path()
        }
        None => temporary.path(),
    };
    let zone = chrono_tz::Asia::Shanghai;
    let built = Instant::now();
    let built_log = build(dir, events, batch.max(1), zone, level).await?;
    let build_s = built.elapsed().as_secs_f64();
    let db_bytes = std::fs::metadata(dir.join("qunzhu.db"))
        .map(|meta| meta.len())
        .unwrap_or(0);

    let port = free_port()?;
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("QUNZHU_DATA_DIR", dir)
        .env("QUNZHU_DATABASE_URL", "")
        .env("QUNZHU_HTTP_BIND", "127.0.0.1")
        .env("QUNZHU_HTTP_PORT", port.to_string())
        .env("QUNZHU_WORKSPACE_SLUG", "default")
        .env("QUNZHU_TIME_ZONE", zone.name())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start `qunzhu serve`")?;
    let outcome = measure(&mut child, port, started, dir, &built_log, zone).await;
    let peak_rss_bytes = child_peak_rss(child.id());
    let (rss_anon_bytes, rss_file_bytes) = child_rss_split(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let (startup_s, p99) = outcome?;

    let figures = serde_json::json!({
        "events": events,
        "groups": 200,
        "build_s": (build_s * 10.0).round() / 10.0,
        "catch_up_s": (built_log.sop_catch_up_s * 10.0).round() / 10.0,
        "consumers_levelled": level,
        "pushes": built_log.pushes,
        "db_bytes": db_bytes,
        "startup_s": (startup_s * 1000.0).round() / 1000.0,
        "peak_rss_bytes": peak_rss_bytes,
        "rss_anon_bytes": rss_anon_bytes,
        "rss_file_bytes": rss_file_bytes,
        "query_p99_ms": p99,
    });
    print_figures("history bench (SQLite, cold serve)", &figures, json);
    Ok(())
}

/// What the built log holds that the measured reads ask about.
struct BuiltLog {
    /// Some members of the log, for the member-history read.
    members: Vec<String>,
    /// The last event's time: "now" for the reads, as right after the log was written.
    last_at: chrono::DateTime<chrono::Utc>,
    pushes: usize,
    sop_catch_up_s: f64,
}

/// Writes the log through the store in big batches, with an SOP push to every group each
/// [`PUSH_EVERY`] of log time (sent, rendered and left for the read models to count replies).
async fn build(
    dir: &Path,
    events: usize,
    batch: usize,
    zone: chrono_tz::Tz,
    level: bool,
) -> anyhow::Result<BuiltLog> {
    let store: Arc<dyn Store> = Arc::new(qunzhu_storage_sqlite::SqliteStore::open(
        &dir.join("qunzhu.db"),
    )?);
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "default".into(),
            name: "bench".into(),
            time_zone: zone,
        })
        .await?;
    anyhow::ensure!(
        workspace.id == WorkspaceId(1),
        "the fresh database gave workspace {:?}",
        workspace.id
    );
    let mut stream = EventStream::new(Behaviour {
        groups: 200,
        members_per_group: 200,
        messages_per_second: 0.5,
        join_chance: 0.01,
        leave_chance: 0.004,
        ..Behaviour::default()
    });
    let mut members = Vec::new();
    let mut last_at = chrono::DateTime::<chrono::Utc>::default();
    let mut next_push: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut pushes = 0;
    // A kept log is measured again: the same stream is replayed (not written) for its members
    // and its last moment.
    let logged = store.events(workspace.id, 0, 1).await?.len();
    let mut written = 0;
    let mut seen = 0_usize;
    while written < events {
        let chunk = stream.take(batch.min(events - written));
        written += chunk.len();
        let rows = chunk
            .into_iter()
            .map(|event| {
                seen += 1;
                if members.len() < 50 && seen.is_multiple_of(997) {
                    if let Some(member) = event.kind.member() {
                        members.push(member.to_string());
                    }
                }
                let day = local_day(event.at, zone);
                last_at = event.at;
                NewEvent { day, event }
            })
            .collect();
        if logged > 0 {
            continue;
        }
        let mut decide = |_: &qunzhu_domain::Event| Vec::new();
        store
            .ingest(
                IngestBatch {
                    events: rows,
                    cursor: Some(("sandbox".into(), written.to_string())),
                },
                &mut decide,
            )
            .await?;
        let due = *next_push.get_or_insert(last_at + PUSH_EVERY);
        if last_at >= due {
            pushes += push_to_every_group(store.as_ref(), workspace.id, due).await?;
            next_push = Some(due + PUSH_EVERY);
        }
    }
    if members.is_empty() {
        members.push("nobody".into());
    }
    // A running server keeps its SOP read models level with the log as it goes, so a restart
    // only catches up what is new: bring them level here, as that server would have.
    let facts = qunzhu_engine::SopFacts {
        store: store.clone(),
        clock: Arc::new(qunzhu_domain::SystemClock),
        workspace: workspace.id,
        zone,
        batch: 5_000,
        every: Duration::from_secs(2),
    };
    let caught = Instant::now();
    facts.catch_up().await?;
    if level {
        level_consumers(&store, workspace.id, zone).await?;
    }
    Ok(BuiltLog {
        members,
        last_at,
        pushes,
        sop_catch_up_s: caught.elapsed().as_secs_f64(),
    })
}

/// Brings every log consumer `serve` runs level with the log, as a server that wrote the log
/// would have kept them: the cold start then measures a restart, not a first catch-up of N
/// events by each consumer.
async fn level_consumers(
    store: &Arc<dyn Store>,
    workspace: WorkspaceId,
    zone: chrono_tz::Tz,
) -> anyhow::Result<()> {
    let clock: Arc<dyn qunzhu_domain::Clock> = Arc::new(qunzhu_domain::SystemClock);
    let every = Duration::from_secs(1);
    let config = crate::config::Config::default();
    let store = store.clone();
    qunzhu_engine::Showcases {
        store: store.clone(),
        workspace,
        hashtag: config.orders.showcase_hashtag.trim().to_string(),
        batch: 5_000,
        every,
    }
    .run_once()
    .await?;
    qunzhu_engine::InviteTracker {
        store: store.clone(),
        workspace,
        batch: 5_000,
        every,
    }
    .run_once()
    .await?;
    qunzhu_engine::PollTagger {
        store: store.clone(),
        workspace,
        batch: 5_000,
        every,
    }
    .run_once()
    .await?;
    qunzhu_engine::OfferClaims {
        store: store.clone(),
        workspace,
        tz: zone,
        clock: clock.clone(),
        batch: 5_000,
        every,
    }
    .run_once()
    .await?;
    qunzhu_engine::SwapDesk {
        store: store.clone(),
        workspace,
        clock: clock.clone(),
        ttl: chrono::Duration::days(3),
        batch: 5_000,
        every,
    }
    .run_once()
    .await?;
    let tasks = qunzhu_engine::InviteTasks {
        store: store.clone(),
        clock: clock.clone(),
        workspace,
        batch: 5_000,
        every,
    };
    while tasks.run_once().await?.events > 0 {}
    let plays = qunzhu_engine::Plays {
        store: store.clone(),
        clock: clock.clone(),
        workspace,
        batch: 5_000,
        every,
    };
    while plays.run_once().await?.events > 0 {}
    qunzhu_engine::Rollups {
        store: store.clone(),
        clock,
        workspace,
        zone,
        batch: 5_000,
        every,
        digest: config.analytics.digest.clone(),
        tiers: config.analytics.tiers.clone(),
        sent: Default::default(),
    }
    .run_once()
    .await?;
    Ok(())
}

/// One SOP push to each of the 200 groups at `at`, as the dispatcher leaves it once sent.
async fn push_to_every_group(
    store: &dyn Store,
    workspace: WorkspaceId,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let actions: Vec<NewAction> = (0..200)
        .map(|group| {
            let chat = chat_id(group);
            NewAction {
                workspace,
                platform: Platform::Sandbox,
                key: qunzhu_sop::occurrence_key(PUSH_PLAN, "hourly", &chat, at),
                chat,
                kind: ActionKind::SendMessage {
                    text: "今日话题：聊聊你最近读的书".into(),
                    html: None,
                    mentions: Vec::new(),
                    reply_to: None,
                },
                created_at: at,
                not_before: at,
                expires_at: None,
                dry_run: false,
                origin: qunzhu_domain::ActionOrigin::Sop {
                    plan: PUSH_PLAN.to_string(),
                    version: Some(1),
                    step: "hourly".to_string(),
                },
                cause: None,
            }
        })
        .collect();
    let keys: Vec<(String, String)> = actions
        .iter()
        .map(|action| (action.key.clone(), action.chat.clone()))
        .collect();
    store.enqueue(actions).await?;
    for (key, chat) in keys {
        let action = store.action_by_key(workspace, &key).await?;
        store
            .record_render(PushRender {
                action: action.id,
                workspace,
                chat,
                at,
                text: "今日话题：聊聊你最近读的书".into(),
                reach: 200,
            })
            .await?;
        store
            .finish_action(action.id, ActionOutcome::Done { receipt: None }, at)
            .await?;
    }
    Ok(200)
}

/// Waits for `/healthz` to say the engine is live, then times the console's reads.
async fn measure(
    child: &mut Child,
    port: u16,
    started: Instant,
    dir: &Path,
    log: &BuiltLog,
    zone: chrono_tz::Tz,
) -> anyhow::Result<(f64, serde_json::Value)> {
    let (members, now) = (&log.members, log.last_at);
    let today = local_day(now, zone);
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("`qunzhu serve` exited before it answered: {status}");
        }
        if healthz_live(port).await {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < START_LIMIT,
            "`qunzhu serve` did not answer /healthz within {} s",
            START_LIMIT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let startup_s = started.elapsed().as_secs_f64();

    let store: Arc<dyn Store> = Arc::new(qunzhu_storage_sqlite::SqliteStore::open(
        &dir.join("qunzhu.db"),
    )?);
    let ws = WorkspaceId(1);
    let mut timings: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut times = Vec::with_capacity(QUERY_RUNS);
    for run in 0..QUERY_RUNS {
        let chat = chat_id(run % 200);
        let at = Instant::now();
        store
            .leaderboard(ws, Platform::Sandbox, &chat, today, 20)
            .await?;
        times.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    timings.push(("leaderboard", std::mem::take(&mut times)));
    for _ in 0..QUERY_RUNS {
        let at = Instant::now();
        store
            .push_figures(
                ws,
                PushWindow {
                    from: None,
                    until: None,
                    limit: 50,
                },
            )
            .await?;
        times.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    timings.push(("push_report", std::mem::take(&mut times)));
    for run in 0..QUERY_RUNS {
        let member = &members[run % members.len()];
        let at = Instant::now();
        store
            .member_events(ws, Platform::Sandbox, &MemberId(member.clone()), 50)
            .await?;
        times.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    timings.push(("member_history", std::mem::take(&mut times)));
    for _ in 0..QUERY_RUNS {
        let at = Instant::now();
        store.groups(ws).await?;
        times.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    timings.push(("group_list", std::mem::take(&mut times)));
    // The 群列表 page's reads: 30 days of group rows, the speakers of today, the week and the
    // month, and the groups, all ending at the log's last moment.
    for _ in 0..QUERY_RUNS {
        let at = Instant::now();
        qunzhu_server::group_table::group_rows(store.as_ref(), ws, zone, now, None).await?;
        times.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    timings.push(("group_table", times));
    let mut p99 = serde_json::Map::new();
    for (name, mut samples) in timings {
        samples.sort_by(f64::total_cmp);
        let index = (samples.len() * 99 / 100).min(samples.len().saturating_sub(1));
        let value = samples.get(index).copied().unwrap_or(0.0);
        p99.insert(name.into(), ((value * 100.0).round() / 100.0).into());
    }
    Ok((startup_s, serde_json::Value::Object(p99)))
}

/// True when `/healthz` answers 200 with status `ok` (every engine loop running).
pub(crate) async fn healthz_live(port: u16) -> bool {
    match http_get(port, "/healthz", None).await {
        Ok((200, body)) => body.contains("\"status\":\"ok\""),
        _ => false,
    }
}

/// An HTTP answer as a bench needs it.
pub(crate) struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// A bare HTTP/1.1 GET on localhost: status and body (enough for a bench, no client crate).
pub(crate) async fn http_get(
    port: u16,
    path: &str,
    cookie: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let answer = http(port, "GET", path, cookie, None).await?;
    Ok((answer.status, answer.body))
}

/// One request on a fresh connection; `form` is sent urlencoded.
pub(crate) async fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> anyhow::Result<Answer> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nConnection: close\r\n"
    );
    if let Some(cookie) = cookie {
        request.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if let Some(form) = form {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            form.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(form.unwrap_or(""));
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("no HTTP status line")?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok(Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// The `name=value` of each `Set-Cookie` header of an answer.
pub(crate) fn set_cookies(head: &str) -> Vec<String> {
    head.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().split(';').next().unwrap_or("").to_string())
        })
        .collect()
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// A process's high-water resident memory (`VmHWM`), 0 where unknown.
pub(crate) fn child_peak_rss(pid: u32) -> u64 {
    proc_kib(pid, "VmHWM:") * 1024
}

/// A process's resident memory now (`VmRSS`), 0 where unknown.
pub(crate) fn child_rss(pid: u32) -> u64 {
    proc_kib(pid, "VmRSS:") * 1024
}

/// A process's resident memory now split into heap/stack (`RssAnon`) and mapped files
/// (`RssFile`: SQLite's memory-mapped database pages, shared with the page cache).
pub(crate) fn child_rss_split(pid: u32) -> (u64, u64) {
    (
        proc_kib(pid, "RssAnon:") * 1024,
        proc_kib(pid, "RssFile:") * 1024,
    )
}

fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
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

//! `qunzhu bench backlog`: a fresh `serve` on a sandbox of many groups, whose first events are
//! one big backlog — do `/healthz` and the console keep answering while it is ingested, and does
//! SIGTERM stop `serve` promptly, keeping every event it had logged?
//!
//! Measured on the real binary as an operator runs it: start-up until `/healthz` first answers,
//! the p99 of `/healthz` and of console pages while ingest runs, the events logged per second
//! meanwhile, the seconds from SIGTERM to exit, and the log read again after the exit.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::bench::print_figures;
use crate::bench_history::{free_port, http};
use crate::bench_soak::{p99, sign_in};

/// Console pages an operator opens first.
const PAGES: &[&str] = &["/", "/groups", "/today"];
/// How long `serve` may take before its `/healthz` first answers.
const START_LIMIT: Duration = Duration::from_secs(600);
/// How long `serve` may take to exit after SIGTERM before the bench kills it.
const STOP_LIMIT: Duration = Duration::from_secs(120);
const LOGIN: &str = "bench";
const PASSWORD: &str = "backlog-bench-password-1";

pub async fn run(groups: usize, members: usize, seconds: f64, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=100_000).contains(&groups),
        "--groups must be between 1 and 100000, got {groups}"
    );
    anyhow::ensure!(
        (1..=10_000).contains(&members),
        "--members must be between 1 and 10000, got {members}"
    );
    anyhow::ensure!(
        seconds > 0.0 && seconds <= 3600.0,
        "--seconds must be between 0 and 3600, got {seconds}"
    );
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let config = dir.path().join("qunzhu.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\ndatabase_url = \"\"\n\n[http]\nbind = \"127.0.0.1\"\nport = {port}\n\n[sandbox]\nenabled = true\ngroups = {groups}\nmembers_per_group = {members}\n",
            data = dir.path().display().to_string(),
        ),
    )?;
    let qunzhu = |args: &[&str]| {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(args)
            .arg("--config")
            .arg(&config)
            .env_remove("QUNZHU_DATA_DIR")
            .env_remove("QUNZHU_DATABASE_URL")
            .env_remove("QUNZHU_HTTP_PORT");
        anyhow::Ok(command)
    };
    add_user(qunzhu(&[
        "users",
        "add",
        LOGIN,
        "--role",
        "owner",
        "--password-stdin",
    ])?)?;

    let started = Instant::now();
    let mut child = qunzhu(&["serve"])?
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start `qunzhu serve`")?;
    let outcome = measure(
        &mut child,
        port,
        started,
        Duration::from_secs_f64(seconds),
        || logged(qunzhu(&["status", "--json"])?),
    )
    .await;
    let outcome = match outcome {
        Ok(during) => stop(&mut child).map(|stopped| (during, stopped)),
        Err(error) => Err(error),
    };
    let _ = child.kill();
    let _ = child.wait();
    let (during, (stop_s, exit_code)) = outcome?;
    let after_exit = logged(qunzhu(&["status", "--json"])?)?;

    let figures = serde_json::json!({
        "groups": groups,
        "members_per_group": members,
        "healthz_first_s": round(during.healthz_first_s, 1000.0),
        "measured_s": round(during.measured_s, 10.0),
        "healthz_p99_ms": p99(during.healthz_ms),
        "page_p99_ms": p99(during.page_ms.iter().map(|(_, ms)| *ms).collect()),
        "page_p99_ms_by_path": PAGES
            .iter()
            .map(|path| {
                let times = during.page_ms.iter().filter(|(p, _)| p == path).map(|(_, ms)| *ms);
                (path.to_string(), serde_json::json!(p99(times.collect())))
            })
            .collect::<serde_json::Map<_, _>>(),
        "non_200": during.non_200,
        "events_at_start": during.events_at_start,
        "events_at_end": during.events_at_end,
        "events_per_sec": round(
            (during.events_at_end.saturating_sub(during.events_at_start)) as f64
                / during.measured_s.max(0.001),
            1.0,
        ),
        "stop_s": round(stop_s, 1000.0),
        "exit_code": exit_code,
        "events_after_exit": after_exit,
        "kept_every_event": after_exit >= during.events_at_end,
    });
    print_figures("backlog bench (serve on a big sandbox)", &figures, json);
    Ok(())
}

/// What was seen while the backlog was being ingested.
struct During {
    healthz_first_s: f64,
    measured_s: f64,
    healthz_ms: Vec<f64>,
    /// Each console page's answer time, by path.
    page_ms: Vec<(&'static str, f64)>,
    non_200: u64,
    events_at_start: u64,
    events_at_end: u64,
}

async fn measure(
    child: &mut Child,
    port: u16,
    started: Instant,
    length: Duration,
    logged: impl Fn() -> anyhow::Result<u64>,
) -> anyhow::Result<During> {
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("`serve` exited before it answered: {status}");
        }
        anyhow::ensure!(
            started.elapsed() < START_LIMIT,
            "`serve` did not answer /healthz within {} s",
            START_LIMIT.as_secs()
        );
        if http(port, "GET", "/healthz", None, None).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let healthz_first_s = started.elapsed().as_secs_f64();
    let session = sign_in(port, LOGIN, PASSWORD).await?;
    let events_at_start = logged()?;
    let mut during = During {
        healthz_first_s,
        measured_s: 0.0,
        healthz_ms: Vec::new(),
        page_ms: Vec::new(),
        non_200: 0,
        events_at_start,
        events_at_end: events_at_start,
    };
    let begun = Instant::now();
    let mut page = 0;
    while begun.elapsed() < length {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("`serve` exited during the backlog: {status}");
        }
        let at = Instant::now();
        let answer = http(port, "GET", "/healthz", None, None).await?;
        during.healthz_ms.push(at.elapsed().as_secs_f64() * 1000.0);
        // `/healthz` says 503 while a loop is down; either way it answered.
        if answer.status != 200 && answer.status != 503 {
            during.non_200 += 1;
        }
        let path = PAGES[page % PAGES.len()];
        page += 1;
        let at = Instant::now();
        let answer = http(port, "GET", path, Some(&session), None).await?;
        during
            .page_ms
            .push((path, at.elapsed().as_secs_f64() * 1000.0));
        if answer.status != 200 {
            during.non_200 += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    during.measured_s = begun.elapsed().as_secs_f64();
    during.events_at_end = logged()?;
    Ok(during)
}

/// Sends SIGTERM and waits for the exit; returns the seconds it took and the exit code.
fn stop(child: &mut Child) -> anyhow::Result<(f64, Option<i32>)> {
    let at = Instant::now();
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .context("cannot run `kill`")?;
    anyhow::ensure!(sent.success(), "`kill -TERM` failed: {sent}");
    while at.elapsed() < STOP_LIMIT {
        if let Some(status) = child.try_wait()? {
            return Ok((at.elapsed().as_secs_f64(), status.code()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    anyhow::bail!(
        "`serve` did not exit within {} s of SIGTERM",
        STOP_LIMIT.as_secs()
    )
}

fn add_user(mut command: Command) -> anyhow::Result<()> {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot run `qunzhu users add`")?;
    child
        .stdin
        .take()
        .context("no stdin for `qunzhu users add`")?
        .write_all(format!("{PASSWORD}\n").as_bytes())?;
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "`qunzhu users add` failed: {status}");
    Ok(())
}

/// Events in the log, as `qunzhu status --json` reads them beside the running server.
fn logged(mut command: Command) -> anyhow::Result<u64> {
    let output = command
        .stderr(Stdio::null())
        .output()
        .context("cannot run `qunzhu status`")?;
    anyhow::ensure!(
        output.status.success(),
        "`qunzhu status` failed: {}",
        output.status
    );
    let status: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    status["log"]["events"]
        .as_u64()
        .context("`qunzhu status --json` gave no log.events")
}

fn round(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}

//! `qunzhu bench soak`: the demo community at 200 groups under console load for M minutes —
//! does memory stay flat and do pages stay fast as the data builds up?

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::bench::print_figures;
use crate::bench_history::{child_rss, child_rss_split, free_port, http, set_cookies};

/// The console pages an operator keeps open.
const PAGES: &[&str] = &[
    "/",
    "/today",
    "/groups",
    "/members",
    "/moderation",
    "/audit",
    "/pushes",
];
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

pub async fn run(minutes: f64, groups: u16, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        minutes > 0.0 && minutes <= 24.0 * 60.0,
        "--minutes must be between 0 and 1440, got {minutes}"
    );
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["demo", "--groups", &groups.to_string(), "--port"])
        .arg(port.to_string())
        .arg("--data")
        .arg(dir.path())
        .env_remove("QUNZHU_DATABASE_URL")
        .env_remove("QUNZHU_DATA_DIR")
        .env_remove("QUNZHU_HTTP_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start `qunzhu demo`")?;
    let outcome = soak(&mut child, port, Duration::from_secs_f64(minutes * 60.0)).await;
    let _ = child.kill();
    let _ = child.wait();
    let figures = outcome?;
    print_figures("soak bench (demo under console load)", &figures, json);
    Ok(())
}

async fn soak(child: &mut Child, port: u16, length: Duration) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let password = demo_password(child)?;
    let ready_s = started.elapsed().as_secs_f64();
    let session = sign_in(port, "demo", &password).await?;
    let pid = child.id();

    let mut samples = vec![child_rss(pid)];
    let mut latencies: Vec<f64> = Vec::new();
    let mut first_minute: Vec<f64> = Vec::new();
    let mut by_page: Vec<Vec<f64>> = vec![Vec::new(); PAGES.len()];
    let mut errors = 0_u64;
    let soak_start = Instant::now();
    let mut next_sample = soak_start + SAMPLE_EVERY;
    let mut page = 0;
    while soak_start.elapsed() < length {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the demo exited during the soak: {status}");
        }
        let index = page % PAGES.len();
        let path = PAGES[index];
        page += 1;
        let at = Instant::now();
        let answer = http(port, "GET", path, Some(&session), None).await?;
        let ms = at.elapsed().as_secs_f64() * 1000.0;
        if answer.status != 200 {
            errors += 1;
        }
        if soak_start.elapsed() < Duration::from_secs(60) {
            first_minute.push(ms);
        }
        latencies.push(ms);
        by_page[index].push(ms);
        if Instant::now() >= next_sample {
            samples.push(child_rss(pid));
            next_sample += SAMPLE_EVERY;
        }
    }
    samples.push(child_rss(pid));
    let (rss_anon_end, rss_file_end) = child_rss_split(pid);
    let seconds = soak_start.elapsed().as_secs_f64();
    let requests = latencies.len();
    let last_minute: Vec<f64> = {
        // Requests of the last minute, to compare against the first.
        let per_second = requests as f64 / seconds.max(1.0);
        let take = ((per_second * 60.0) as usize).min(requests);
        latencies[requests - take..].to_vec()
    };
    let per_page: serde_json::Map<String, serde_json::Value> = PAGES
        .iter()
        .zip(by_page)
        .map(|(path, samples)| (path.to_string(), p99(samples).into()))
        .collect();
    Ok(serde_json::json!({
        "groups_ready_s": (ready_s * 10.0).round() / 10.0,
        "minutes": (seconds / 6.0).round() / 10.0,
        "requests": requests,
        "non_200": errors,
        "pages_per_sec": (requests as f64 / seconds * 10.0).round() / 10.0,
        "rss_start_bytes": samples.first().copied().unwrap_or(0),
        "rss_end_bytes": samples.last().copied().unwrap_or(0),
        "rss_anon_end_bytes": rss_anon_end,
        "rss_file_end_bytes": rss_file_end,
        "rss_max_bytes": samples.iter().copied().max().unwrap_or(0),
        "rss_samples_mib": samples.iter().map(|bytes| bytes / (1024 * 1024)).collect::<Vec<_>>(),
        "page_p99_ms": p99(latencies),
        "page_p99_by_page_ms": per_page,
        "page_p99_first_minute_ms": p99(first_minute),
        "page_p99_last_minute_ms": p99(last_minute),
    }))
}

/// Reads the demo's banner for the password of its login; the banner comes once it serves.
fn demo_password(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child
        .stdout
        .take()
        .context("the demo's output is not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next().transpose()? {
        if let Some(rest) = line.split("with password `").nth(1) {
            let password = rest.split('`').next().unwrap_or("").to_string();
            // Keep draining the demo's output so it never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return Ok(password);
        }
    }
    anyhow::bail!("the demo stopped before it printed its login")
}

/// Signs in through the login form (its CSRF cookie and field); returns the session cookie.
pub(crate) async fn sign_in(port: u16, login: &str, password: &str) -> anyhow::Result<String> {
    let form = http(port, "GET", "/login", None, None).await?;
    let csrf = set_cookies(&form.head)
        .into_iter()
        .find(|cookie| cookie.starts_with("qz_login_csrf="))
        .context("the login form set no CSRF cookie")?;
    let token = csrf.trim_start_matches("qz_login_csrf=");
    let body = format!(
        "_csrf={}&next=%2F&login={}&password={}",
        encode(token),
        encode(login),
        encode(password)
    );
    let answer = http(port, "POST", "/login", Some(&csrf), Some(&body)).await?;
    set_cookies(&answer.head)
        .into_iter()
        .find(|cookie| cookie.starts_with("qz_session="))
        .with_context(|| format!("sign-in failed with HTTP {}", answer.status))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

pub(crate) fn p99(mut samples: Vec<f64>) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    let value = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
    (value * 100.0).round() / 100.0
}

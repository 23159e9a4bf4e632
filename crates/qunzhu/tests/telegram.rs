//! A revoked Telegram token is one clear line in the log, and the rest of qunzhu keeps serving.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qunzhu_telegram_fake::{FakeTelegram, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_one_line_and_the_console_still_answers() {
    let fake = FakeTelegram::start(&[-100]).await;
    fake.world().token_valid = false;
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port();
    let config = dir.path().join("qunzhu.toml");
    std::fs::write(
        &config,
        format!("[telegram]\nenabled = true\napi_url = \"{}\"\n", fake.url),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(["serve", "--config", config.to_str().expect("path")])
        .env_remove("QUNZHU_DATABASE_URL")
        .env("QUNZHU_DATA_DIR", dir.path())
        .env("QUNZHU_HTTP_PORT", port.to_string())
        .env("QUNZHU_TELEGRAM_TOKEN", TOKEN)
        .env("QUNZHU_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qunzhu starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let answered = loop {
        let probe = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/openapi.json")).await;
        if let Ok(response) = probe {
            break response.status().as_u16();
        }
        assert!(Instant::now() < deadline, "qunzhu never served");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert_eq!(answered, 200, "the console and API keep running");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("Telegram"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("Telegram connector not started"),
        "{stderr}"
    );
    assert!(lines[0].contains("QUNZHU_TELEGRAM_TOKEN"), "{stderr}");
    assert!(
        !stderr.contains("FAKE-TOKEN"),
        "the token never shows: {stderr}"
    );
}

//! A first real start: a fresh `qunzhu serve` says how to create the first owner, `qunzhu users
//! add` creates them while it runs, they sign in and the empty overview names the next step.
//! With `QUNZHU_TEST_BROWSER=1` the same happens in Chromium (`node e2e/first_start.mjs`).

mod support;

use std::path::PathBuf;

use support::{get, printed_password, qunzhu, serve, sign_in};

#[test]
fn a_fresh_serve_leads_to_a_signed_in_owner_and_the_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let served = serve(data);
    let banner = served.banner.join("\n");
    assert!(
        banner.contains(&format!(
            "qunzhu is running: console at http://127.0.0.1:{}",
            served.port
        )),
        "{banner}"
    );
    assert!(
        banner.contains("no console user yet; create the first owner with:\n  qunzhu users add admin --role owner"),
        "{banner}"
    );
    assert_eq!(sign_in(served.port, "admin", "not-yet-a-user"), (401, None));

    let (ok, stdout, stderr) = qunzhu(data, &["users", "add", "admin", "--role", "owner"], None);
    assert!(ok, "{stderr}");
    let password = printed_password(&stdout);

    let (status, session) = sign_in(served.port, "admin", &password);
    assert_eq!(status, 303);
    let session = session.expect("a session cookie");
    let (status, _, body) = get(served.port, "/", &format!("qz_session={session}; lang=en"));
    assert_eq!(status, 200);
    assert!(body.contains("data-next-step"), "{body}");
    assert!(body.contains("No groups yet"), "{body}");
    assert!(body.contains(r#"href="/help/matrix""#), "{body}");
    let (status, _, body) = get(
        served.port,
        "/help/matrix",
        &format!("qz_session={session}"),
    );
    assert_eq!(status, 200);
    assert!(
        body.contains("[matrix]") && body.contains("allowed_inviters"),
        "{body}"
    );

    // A second start with an owner says nothing about creating one.
    drop(served);
    let served = serve(data);
    assert!(
        !served.banner.join("\n").contains("no console user yet"),
        "{:?}",
        served.banner
    );
}

#[test]
fn the_hint_names_the_config_file_it_was_started_with() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("my config.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let (ok, _, stderr) = qunzhu(
        dir.path(),
        &["users", "list", "--config", config.to_str().unwrap()],
        None,
    );
    assert!(ok, "{stderr}");
    let hint = {
        // The binary prints it; the text is checked here through `serve --config`.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_qunzhu"))
            .args(["serve", "--config", config.to_str().unwrap()])
            .env_remove("QUNZHU_DATABASE_URL")
            .env("QUNZHU_HTTP_PORT", port.to_string())
            .env("QUNZHU_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let mut seen = Vec::new();
        while seen.len() < 3 {
            match lines.next() {
                Some(Ok(line)) => seen.push(line),
                _ => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        seen.join("\n")
    };
    assert!(
        hint.ends_with(&format!(
            "  qunzhu users add admin --role owner --config '{}'",
            config.display()
        )),
        "{hint}"
    );
}

#[test]
fn first_start_works_in_a_real_browser() {
    if !qunzhu_storage_conformance::testing::require_browser() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let served = serve(data);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e/first_start.mjs");
    let output = std::process::Command::new("node")
        .arg(script)
        .arg(&served.base)
        .arg(env!("CARGO_BIN_EXE_qunzhu"))
        .env("QUNZHU_DATA_DIR", data)
        .env_remove("QUNZHU_DATABASE_URL")
        .output()
        .expect("node runs (install Node.js to run the browser test)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}"
    );
    drop(served);
}

//! A failed start is one clear sentence and a non-zero exit, and touches nothing stored.

use std::process::Command;

fn qunzhu(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qunzhu"));
    command
        .args(args)
        .env_remove("QUNZHU_DATABASE_URL")
        .env("QUNZHU_LOG", "error");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("qunzhu runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).trim().to_string(),
    )
}

#[test]
fn a_corrupt_sqlite_file_is_one_sentence_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("qunzhu.db");
    std::fs::write(
        &file,
        "not a database at all, just words in a file that is long enough",
    )
    .unwrap();
    let before = std::fs::read(&file).unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, stderr) = qunzhu(&["migrate"], &[("QUNZHU_DATA_DIR", data)]);
    assert!(!ok);
    assert_eq!(
        stderr,
        format!(
            "error: cannot open SQLite database {}: file is not a database",
            file.display()
        )
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn an_unreachable_postgres_is_one_sentence() {
    let started = std::time::Instant::now();
    let (ok, stderr) = qunzhu(
        &["migrate"],
        &[(
            "QUNZHU_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/qunzhu",
        )],
    );
    assert!(!ok);
    assert!(
        stderr.starts_with("error: cannot reach PostgreSQL at 127.0.0.1:1: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn a_malformed_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("qunzhu.toml");
    std::fs::write(&config, "[http]\nport = 8080\nbindd = \"0.0.0.0\"\n").unwrap();
    let (ok, stderr) = qunzhu(&["serve", "--config", config.to_str().unwrap()], &[]);
    assert!(!ok);
    assert!(
        stderr.starts_with(&format!(
            "error: {}:3:1: unknown field `bindd`",
            config.display()
        )),
        "{stderr}"
    );
    let (ok, stderr) = qunzhu(&["migrate"], &[("QUNZHU_HTTP_PROT", "1")]);
    assert!(
        !ok && stderr.starts_with("error: environment variable QUNZHU_HTTP_PROT: unknown variable"),
        "{stderr}"
    );
}

#[test]
fn the_example_config_is_accepted_by_serve() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("qunzhu.toml");
    let example = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(["config", "example"])
        .output()
        .unwrap();
    let text = String::from_utf8(example.stdout).unwrap().replace(
        "data_dir = \"qunzhu-data\"",
        &format!("data_dir = {:?}", dir.path().join("data")),
    );
    std::fs::write(&config, text).unwrap();
    let (ok, stderr) = qunzhu(&["migrate", "--config", config.to_str().unwrap()], &[]);
    assert!(ok, "{stderr}");
}

/// Issue #11.1: `rules check` panicked (exit 101) on durations of 9.2e15 s and more, and accepted
/// `100000000w`; now each is one located problem and exit 1.
#[test]
fn rules_check_refuses_huge_durations_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    std::fs::write(
        &file,
        "[settings]\nwarn_decay = \"9300000000000000s\"\n\n[[rules]]\nname = \"f\"\nkind = \"flood\"\ncount = 3\nwithin = \"100000000w\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(["rules", "check", file.to_str().unwrap()])
        .output()
        .expect("qunzhu runs");
    assert_eq!(output.status.code(), Some(1), "not a panic (101)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let name = file.display();
    assert_eq!(
        stdout,
        format!(
            "{name}:2:14: duration `9300000000000000s` is too long: at most 365 d\n\
             {name}:8:10: duration `100000000w` is too long: at most 365 d\n"
        )
    );
}

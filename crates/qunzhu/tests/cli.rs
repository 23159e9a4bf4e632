//! The CLI never answers with silence: every list says when it is empty, `status` names the
//! data directory it reads (and creates nothing where there is none), and an error prints each
//! cause once.

use std::path::Path;
use std::process::Command;

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn qunzhu(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qunzhu"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("QUNZHU_DATABASE_URL")
        .env_remove("QUNZHU_DATA_DIR")
        .env("QUNZHU_LOG", "error");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("qunzhu runs");
    Output {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).trim().to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    }
}

#[test]
fn status_without_a_config_names_the_directory_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = qunzhu(dir.path(), &["status"], &[]);
    assert!(!out.ok, "{}", out.stdout);
    let expected = std::path::absolute(dir.path().join("qunzhu-data")).unwrap();
    assert!(
        out.stderr
            .starts_with("error: no qunzhu database in the data directory")
            && out.stderr.contains(&expected.display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1);
    assert!(
        !dir.path().join("qunzhu-data").exists(),
        "status must not create ./qunzhu-data"
    );
}

#[test]
fn every_list_says_when_it_is_empty_and_status_says_what_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("QUNZHU_DATA_DIR", data.to_str().unwrap())];
    let migrated = qunzhu(dir.path(), &["migrate"], &env);
    assert!(migrated.ok, "{}", migrated.stderr);
    let status = qunzhu(dir.path(), &["status"], &env);
    assert!(status.ok, "{}", status.stderr);
    assert!(
        status.stdout.starts_with(&format!(
            "reading SQLite {}",
            data.join("qunzhu.db").display()
        )),
        "{}",
        status.stdout
    );
    for (args, says) in [
        (&["actions"][..], "no actions in the outbox"),
        (
            &["actions", "--status", "dead"][..],
            "no dead actions in the outbox",
        ),
        (&["sop", "pushes"][..], "no pushes yet"),
        (&["sop", "tasks"][..], "no posts are waiting for a person"),
        (
            &["moderation", "requests"][..],
            "no join requests are waiting",
        ),
    ] {
        let out = qunzhu(dir.path(), args, &env);
        assert!(out.ok, "{args:?}: {}", out.stderr);
        assert!(
            out.stdout.starts_with(says),
            "{args:?} said `{}`",
            out.stdout
        );
    }
}

#[test]
fn an_error_prints_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = qunzhu(dir.path(), &["status", "--config", "missing.toml"], &[]);
    assert!(!out.ok);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("missing.toml"), "{}", out.stderr);
    let cause = "No such file or directory";
    assert_eq!(
        out.stderr.matches(cause).count(),
        1,
        "the cause is printed once: {}",
        out.stderr
    );
}

#[test]
fn demo_groups_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = qunzhu(dir.path(), &["demo", "--groups", "201"], &[]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("201") && out.stderr.contains("1..=200"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("qunzhu-data").exists());
}

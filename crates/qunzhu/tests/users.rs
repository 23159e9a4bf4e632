//! `qunzhu users` against a real data directory: add (generated or from stdin), list, disable,
//! enable and passwd, with the same checks and audit as the console, and one-sentence errors.

mod support;

use support::{printed_password, qunzhu};

#[test]
fn users_are_added_listed_disabled_enabled_and_repassworded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let (ok, stdout, stderr) = qunzhu(data, &["users", "list"], None);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("no users in workspace `default`; create the first owner with: qunzhu users add NAME --role owner"),
        "{stdout}"
    );

    let (ok, stdout, stderr) = qunzhu(data, &["users", "add", "boss", "--role", "owner"], None);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("created owner `boss` in workspace `default`"),
        "{stdout}"
    );
    let generated = printed_password(&stdout);
    assert_eq!(generated.chars().count(), 20);
    assert_eq!(stdout.matches(&generated).count(), 1, "printed once");

    let (ok, stdout, stderr) = qunzhu(
        data,
        &[
            "users",
            "add",
            "ops",
            "--role",
            "operator",
            "--password-stdin",
        ],
        Some("chosen-by-me\n"),
    );
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("password (shown once"), "{stdout}");

    let (ok, stdout, _) = qunzhu(data, &["users", "list", "--json"], None);
    assert!(ok);
    let users: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let summary: Vec<(String, String, bool)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["login"].as_str().unwrap().to_string(),
                u["role"].as_str().unwrap().to_string(),
                u["disabled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("boss".to_string(), "owner".to_string(), false),
            ("ops".to_string(), "operator".to_string(), false)
        ]
    );
    assert!(!stdout.contains("argon2"), "no hash ever leaves: {stdout}");

    // Errors are one sentence naming what is wrong.
    for (args, stdin, expected) in [
        (
            vec!["users", "add", "boss", "--role", "owner"],
            None,
            "error: user `boss` already exists",
        ),
        (
            vec!["users", "add", "x y", "--role", "owner"],
            None,
            "error: login: 2–64 characters",
        ),
        (
            vec!["users", "add", "new", "--role", "king"],
            None,
            "error: unknown role `king`; expected owner, admin, operator or viewer",
        ),
        (
            vec![
                "users",
                "add",
                "new",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            Some("short\n"),
            "error: password: at least 8 characters",
        ),
        (
            vec![
                "users",
                "add",
                "new",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            Some(""),
            "error: --password-stdin: standard input held no password",
        ),
        (
            vec!["users", "disable", "nobody"],
            None,
            "error: user not found",
        ),
        (
            vec!["users", "disable", "boss"],
            None,
            "error: login: this is the last owner who can sign in; add another owner first",
        ),
    ] {
        let (ok, _, stderr) = qunzhu(data, &args, stdin);
        assert!(!ok, "{args:?} must fail");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }

    let (ok, stdout, stderr) = qunzhu(data, &["users", "disable", "ops"], None);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("disabled `ops`"), "{stdout}");
    let (_, stdout, _) = qunzhu(data, &["users", "list"], None);
    let ops_line = stdout.lines().find(|l| l.starts_with("ops ")).unwrap();
    assert!(ops_line.contains("disabled"), "{stdout}");
    let (ok, _, stderr) = qunzhu(data, &["users", "enable", "ops"], None);
    assert!(ok, "{stderr}");
    let (_, stdout, _) = qunzhu(data, &["users", "list"], None);
    assert!(stdout
        .lines()
        .find(|l| l.starts_with("ops "))
        .unwrap()
        .contains("active"));

    let (ok, stdout, stderr) = qunzhu(data, &["users", "passwd", "ops"], None);
    assert!(ok, "{stderr}");
    let new_password = printed_password(&stdout);
    assert_ne!(new_password, generated);
    let (ok, _, stderr) = qunzhu(
        data,
        &["users", "passwd", "ops", "--password-stdin"],
        Some("another-one-2\r\n"),
    );
    assert!(ok, "{stderr}");

    // Every change is in the audit log under the terminal user.
    let db = rusqlite::Connection::open(data.join("qunzhu.db")).unwrap();
    let mut statement = db
        .prepare("SELECT actor, action, subject FROM audit ORDER BY id")
        .unwrap();
    let audit: Vec<(String, String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let verbs: Vec<(&str, &str)> = audit
        .iter()
        .map(|(_, a, s)| (a.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        verbs,
        [
            ("user.create", "boss"),
            ("user.create", "ops"),
            ("user.disable", "ops"),
            ("user.enable", "ops"),
            ("user.password", "ops"),
            ("user.password", "ops")
        ]
    );
    assert!(
        audit.iter().all(|(actor, _, _)| actor == "cli"),
        "{audit:?}"
    );
}

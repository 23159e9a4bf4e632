//! `qunzhu lottery` end to end on a temporary data directory: open from the template, refuse an
//! early draw, draw after the close, and `verify` re-runs the draw both from the stored lottery
//! and, with no database, from the revealed seed and the exported entries.

use std::path::Path;
use std::process::Command;

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn qunzhu(dir: &Path, args: &[&str], data: &Path) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(args)
        .current_dir(dir)
        .env_remove("QUNZHU_DATABASE_URL")
        .env("QUNZHU_DATA_DIR", data)
        .env("QUNZHU_LOG", "error")
        .output()
        .expect("qunzhu runs");
    Output {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).trim().to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    }
}

#[test]
fn a_lottery_is_opened_drawn_after_its_close_and_verified_by_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let template = qunzhu(dir.path(), &["lottery", "template", "invite"], &data);
    assert!(template.ok, "{}", template.stderr);
    let closes = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let file = dir.path().join("lottery.toml");
    let text = template
        .stdout
        .lines()
        .map(|line| {
            if line.starts_with("closes_at") {
                format!("closes_at = \"{closes}\"")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    let unknown = qunzhu(
        dir.path(),
        &["lottery", "create", file, "--request", "r0"],
        &data,
    );
    assert!(!unknown.ok);
    assert_eq!(
        unknown.stderr, "error: group not found",
        "the template's group is not known here"
    );
    // The group the template names, as the engine registers it when the bot arrives.
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store = qunzhu_storage_sqlite::SqliteStore::open(&data.join("qunzhu.db")).unwrap();
            let workspace = qunzhu_storage::Directory::ensure_workspace(
                &store,
                qunzhu_storage::NewWorkspace {
                    slug: "default".into(),
                    name: "ignored".into(),
                    time_zone: chrono_tz::Asia::Shanghai,
                },
            )
            .await
            .unwrap();
            qunzhu_storage::Directory::ensure_group(
                &store,
                workspace.id,
                qunzhu_domain::Platform::Matrix,
                "!room:example.org",
            )
            .await
            .unwrap();
        });
    }
    let created = qunzhu(
        dir.path(),
        &["lottery", "create", file, "--request", "r1"],
        &data,
    );
    assert!(created.ok, "{}", created.stderr);
    assert!(
        created.stdout.starts_with("lottery 1 opened"),
        "{}",
        created.stdout
    );
    let commitment = created.stdout.rsplit(' ').next().unwrap().to_string();
    assert_eq!(commitment.len(), 64);

    let early = qunzhu(dir.path(), &["lottery", "draw", "1"], &data);
    assert!(!early.ok);
    assert!(
        early
            .stderr
            .starts_with("error: closes_at: the lottery closes at"),
        "{}",
        early.stderr
    );
    let not_yet = qunzhu(dir.path(), &["lottery", "verify", "--lottery", "1"], &data);
    assert!(!not_yet.ok);
    assert!(
        not_yet.stderr.contains("not drawn yet"),
        "{}",
        not_yet.stderr
    );

    std::thread::sleep(std::time::Duration::from_millis(3200));
    let drawn = qunzhu(dir.path(), &["lottery", "draw", "1"], &data);
    assert!(drawn.ok, "{}", drawn.stderr);
    // Nobody invited anyone in this empty group.
    assert!(drawn.stdout.contains("no winners"), "{}", drawn.stdout);
    let seed = drawn.stdout.rsplit(' ').next().unwrap().to_string();

    let stored = qunzhu(dir.path(), &["lottery", "verify", "--lottery", "1"], &data);
    assert!(stored.ok, "{}", stored.stderr);
    assert!(
        stored.stdout.contains("seed matches the commitment"),
        "{}",
        stored.stdout
    );
    assert!(
        stored.stdout.ends_with("matches the recorded draw"),
        "{}",
        stored.stdout
    );

    // Offline: anyone with the seed and an entry list gets the same winners every time.
    let entries = dir.path().join("entries.txt");
    std::fs::write(&entries, "@c:x 3\n@a:x 1\n@b:x 2\n").unwrap();
    let entries = entries.to_str().unwrap();
    let args = [
        "lottery",
        "verify",
        "--seed",
        &seed,
        "--entries",
        entries,
        "--winners",
        "2",
        "--commitment",
        &commitment,
    ];
    let first = qunzhu(dir.path(), &args, &data);
    assert!(first.ok, "{}", first.stderr);
    let second = qunzhu(dir.path(), &args, &data);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(
        first.stdout.lines().filter(|l| l.contains(". @")).count(),
        2
    );
    let wrong = qunzhu(
        dir.path(),
        &[
            "lottery",
            "verify",
            "--seed",
            &seed,
            "--entries",
            entries,
            "--commitment",
            &"0".repeat(64),
        ],
        &data,
    );
    assert!(!wrong.ok);
    assert!(
        wrong
            .stderr
            .contains("does not match the published commitment"),
        "{}",
        wrong.stderr
    );
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "@a 1\n@b lots\n").unwrap();
    let bad = qunzhu(
        dir.path(),
        &[
            "lottery",
            "verify",
            "--seed",
            &seed,
            "--entries",
            bad.to_str().unwrap(),
        ],
        &data,
    );
    assert!(
        bad.stderr
            .contains("line 2:4: `lots` is not a chance count"),
        "{}",
        bad.stderr
    );
}

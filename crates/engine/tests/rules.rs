//! Rule documents apply without a restart; an invalid edit is refused with its location and the
//! rules in force stay in force.

use std::sync::Arc;

use qunzhu_domain::{Clock, DocumentKind, FakeClock};
use qunzhu_engine::{RulesHandle, RulesWatcher};
use qunzhu_storage::{NewWorkspace, Store};

const VALID: &str = "[keywords.ads]\nwords = [\"加微信\"]\n\n[[rules]]\nname = \"no-ads\"\nkind = \"keywords\"\nlists = [\"ads\"]\nactions = \"redact+warn\"\n";
const BROKEN: &str =
    "[[rules]]\nname = \"bad\"\nkind = \"keywords\"\nwords = [\"x\"]\nactions = \"explode\"\n";

#[tokio::test]
async fn a_valid_edit_applies_and_an_invalid_one_leaves_the_rules_in_force() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let clock = FakeClock::new(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    let handle = RulesHandle::new(qunzhu_moderation::check("", "empty").unwrap());
    let watcher = RulesWatcher {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        handle: handle.clone(),
        file: None,
        every: std::time::Duration::from_secs(1),
    };
    let (mut applied, mut seen) = (None, None);

    store
        .put_document(
            workspace,
            DocumentKind::Rules,
            "rules",
            VALID,
            "ops",
            clock.now(),
        )
        .await
        .unwrap();
    watcher.sync(&mut applied, &mut seen).await;
    assert_eq!(
        handle.rules().keyword_lists(),
        ["ads".to_string()],
        "applied without a restart"
    );

    store
        .put_document(
            workspace,
            DocumentKind::Rules,
            "rules",
            BROKEN,
            "ops",
            clock.now(),
        )
        .await
        .unwrap();
    watcher.sync(&mut applied, &mut seen).await;
    assert_eq!(
        handle.rules().keyword_lists(),
        ["ads".to_string()],
        "the rules in force stay in force"
    );
    let problems = qunzhu_moderation::check(BROKEN, "rules").unwrap_err();
    assert!(
        problems[0].to_string().starts_with("rules:5:"),
        "{}",
        problems[0]
    );
}

#[tokio::test]
async fn a_rule_file_on_disk_is_imported_only_when_valid() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, BROKEN).unwrap();
    let clock = FakeClock::new(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    let handle = RulesHandle::new(qunzhu_moderation::check("", "empty").unwrap());
    let watcher = RulesWatcher {
        store: store.clone(),
        clock: Arc::new(clock),
        workspace,
        handle: handle.clone(),
        file: Some(path.clone()),
        every: std::time::Duration::from_secs(1),
    };
    let (mut applied, mut seen) = (None, None);
    watcher.sync(&mut applied, &mut seen).await;
    assert!(
        store
            .documents(workspace, DocumentKind::Rules)
            .await
            .unwrap()
            .is_empty(),
        "an invalid file is not imported"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, VALID).unwrap();
    // Give the file a distinct modification time even on coarse file systems.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    watcher.sync(&mut applied, &mut seen).await;
    watcher.sync(&mut applied, &mut seen).await;
    assert_eq!(handle.rules().keyword_lists(), ["ads".to_string()]);
}

/// Issue #11.1: a stored document that an older qunzhu accepted (a 100000000-week window) is
/// reported at start — in the log and in health, with its location — and start-up goes on with
/// the rules it had (none), instead of the engine panicking on every restart.
#[tokio::test]
async fn a_stored_document_that_can_no_longer_run_is_reported_and_start_up_goes_on() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let clock = FakeClock::new(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    let stored = "[[rules]]\nname = \"flood\"\nkind = \"flood\"\ncount = 3\nwithin = \"100000000w\"\nactions = \"mute 100000000w\"\n";
    store
        .put_document(
            workspace,
            DocumentKind::Rules,
            "rules",
            stored,
            "old",
            clock.now(),
        )
        .await
        .unwrap();
    let handle = RulesHandle::new(qunzhu_moderation::check("", "empty").unwrap());
    let watcher = RulesWatcher {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        handle: handle.clone(),
        file: None,
        every: std::time::Duration::from_secs(1),
    };
    let health = qunzhu_engine::Health::new(Arc::new(clock.clone()));
    let beat = qunzhu_engine::health::Beat {
        health: health.clone(),
        name: "rules watcher".into(),
    };
    let (mut applied, mut seen) = (None, None);
    qunzhu_engine::health::scope(beat, watcher.sync(&mut applied, &mut seen)).await;
    assert!(
        handle.rules().rules.is_empty(),
        "no rules rather than a broken one"
    );
    let report = health.report();
    let rejected = &report.documents[0];
    assert_eq!((rejected.kind.as_str(), rejected.version), ("rules", 1));
    assert_eq!(
        rejected.problems,
        ["rules:5:10: duration `100000000w` is too long: at most 365 d"]
    );

    // The operator fixes it: it applies and the report clears.
    store
        .put_document(
            workspace,
            DocumentKind::Rules,
            "rules",
            VALID,
            "ops",
            clock.now(),
        )
        .await
        .unwrap();
    let beat = qunzhu_engine::health::Beat {
        health: health.clone(),
        name: "rules watcher".into(),
    };
    qunzhu_engine::health::scope(beat, watcher.sync(&mut applied, &mut seen)).await;
    assert_eq!(handle.rules().keyword_lists(), ["ads".to_string()]);
    assert!(health.report().documents.is_empty());
}

//! Test gates for outside services: a test that needs PostgreSQL, Synapse or Chromium asks here.
//!
//! Locally a missing service skips the test with a printed reason; under `CI=true` it fails the
//! test, so CI cannot pass by skipping what it was meant to run.

/// True when the environment says this is CI (`CI=true` or `CI=1`, as CI services set it).
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

/// The value of `var` (non-empty) that names where `service` runs.
///
/// Without it: under CI this panics naming the service, the variable and `how` to provide it;
/// otherwise it prints `skipped: …` and returns `None`, and the caller returns.
pub fn require_service(service: &str, var: &str, how: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            let reason = format!("{service} is needed: set {var} ({how})");
            assert!(!in_ci(), "CI=true and {reason}; a test must not skip in CI");
            println!("skipped: {reason}");
            None
        }
    }
}

/// The PostgreSQL server URL for tests (`QUNZHU_TEST_DATABASE_URL`), gated as [`require_service`].
pub fn require_postgres() -> Option<String> {
    require_service(
        "PostgreSQL",
        "QUNZHU_TEST_DATABASE_URL",
        "e.g. postgres://postgres@127.0.0.1:5432/postgres; scripts/test.sh sets it when one runs",
    )
}

/// Whether the real-browser tests may run (`QUNZHU_TEST_BROWSER=1`), gated as [`require_service`].
pub fn require_browser() -> bool {
    match require_service(
        "Chromium",
        "QUNZHU_TEST_BROWSER",
        "=1, with chromium installed and `npm ci` run in e2e/; scripts/test.sh does both",
    ) {
        Some(value) if value == "1" => true,
        Some(value) => {
            let reason = format!("QUNZHU_TEST_BROWSER is `{value}`, not 1");
            assert!(!in_ci(), "CI=true and {reason}; a test must not skip in CI");
            println!("skipped: {reason}");
            false
        }
        None => false,
    }
}

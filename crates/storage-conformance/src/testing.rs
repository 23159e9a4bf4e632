//! Test gates for outside services: a test that needs PostgreSQL, Synapse or Chromium asks here.
//!
//! Locally a missing service skips the test with a printed reason; under `CI=true` it fails the
//! test, so CI cannot pass by skipping what it was meant to run.

/// True when the environment says this is CI (`CI=true` or `CI=1`, as CI services set it).
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

/// What a gate does, decided from the environment's values alone (so it is testable).
#[derive(Debug, PartialEq, Eq)]
enum Gate {
    Run(String),
    Skip(String),
    Fail(String),
}

fn gate(ci: bool, value: Option<String>, reason: impl FnOnce() -> String) -> Gate {
    match value {
        Some(value) if !value.is_empty() => Gate::Run(value),
        _ if ci => Gate::Fail(format!(
            "CI=true and {}; a test must not skip in CI",
            reason()
        )),
        _ => Gate::Skip(format!("skipped: {}", reason())),
    }
}

fn obey(gate: Gate) -> Option<String> {
    match gate {
        Gate::Run(value) => Some(value),
        Gate::Skip(line) => {
            println!("{line}");
            None
        }
        Gate::Fail(message) => panic!("{message}"),
    }
}

/// The value of `var` (non-empty) that names where `service` runs.
///
/// Without it: under CI this panics naming the service, the variable and `how` to provide it;
/// otherwise it prints `skipped: …` and returns `None`, and the caller returns.
pub fn require_service(service: &str, var: &str, how: &str) -> Option<String> {
    obey(gate(in_ci(), std::env::var(var).ok(), || {
        format!("{service} is needed: set {var} ({how})")
    }))
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
    let value = std::env::var("QUNZHU_TEST_BROWSER")
        .ok()
        .filter(|value| value == "1");
    obey(gate(in_ci(), value, || {
        "Chromium is needed: set QUNZHU_TEST_BROWSER=1 (with chromium installed and `npm ci` run in e2e/; scripts/test.sh does both)".to_string()
    }))
    .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_service_skips_locally_and_fails_in_ci() {
        let reason = || "X is needed".to_string();
        let cases = [
            (false, Some("url"), Gate::Run("url".into())),
            (true, Some("url"), Gate::Run("url".into())),
            (false, None, Gate::Skip("skipped: X is needed".into())),
            (false, Some(""), Gate::Skip("skipped: X is needed".into())),
            (
                true,
                None,
                Gate::Fail("CI=true and X is needed; a test must not skip in CI".into()),
            ),
            (
                true,
                Some(""),
                Gate::Fail("CI=true and X is needed; a test must not skip in CI".into()),
            ),
        ];
        for (ci, value, expected) in cases {
            assert_eq!(
                gate(ci, value.map(String::from), reason),
                expected,
                "{ci} {value:?}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "must not skip in CI")]
    fn a_failing_gate_panics() {
        obey(Gate::Fail(
            "CI=true and X; a test must not skip in CI".into(),
        ));
    }
}

#!/usr/bin/env bash
# Runs all of qunzhu's tests: unit and data-driven tests, the storage conformance suite on SQLite
# and PostgreSQL, the SIGKILL crash test, the Matrix tests against a real Synapse, and the
# console's real-browser test. What the machine lacks is installed or started here, so a fresh
# checkout needs nothing else (Chromium comes from Debian's packages and needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL: the conformance suite and crash test run on it when this URL is set.
if [[ -z "${QUNZHU_TEST_DATABASE_URL:-}" ]] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  export QUNZHU_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
fi
[[ -n "${QUNZHU_TEST_DATABASE_URL:-}" ]] && echo "test.sh: PostgreSQL at ${QUNZHU_TEST_DATABASE_URL}" || echo "test.sh: no PostgreSQL; its tests will say they were skipped"

# Synapse: one homeserver with relaxed limits, one with Synapse's defaults (the rate-limit test).
if [[ -x scripts/synapse.sh && "${QUNZHU_SKIP_SYNAPSE:-}" != 1 ]]; then
  scripts/synapse.sh install
  eval "$(scripts/synapse.sh start relaxed)"
  eval "$(scripts/synapse.sh start limited --default-limits)"
  trap 'scripts/synapse.sh stop relaxed; scripts/synapse.sh stop limited' EXIT
fi

# The browser test: Debian's Chromium driven by playwright-core.
if [[ -f e2e/package.json && "${QUNZHU_SKIP_BROWSER:-}" != 1 ]]; then
  if ! command -v chromium >/dev/null && [[ "$(id -u)" == 0 ]]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) || true
  fi
  if command -v chromium >/dev/null && command -v npm >/dev/null; then
    (cd e2e && npm ci --no-audit --no-fund --silent)
    export QUNZHU_TEST_BROWSER=1
  fi
fi

cargo test --workspace --all-targets "$@"

#!/usr/bin/env bash
# Runs all of qunzhu's tests: unit and data-driven tests, the storage conformance suite on SQLite
# and PostgreSQL, the SIGKILL crash test, the Matrix tests against a real Synapse, and the
# console's real-browser test. What the machine lacks is installed or started here, so a fresh
# checkout needs nothing else (Chromium comes from Debian's packages and needs root).
# Locally a missing service only skips its tests (each says so); with CI=true it is an error here,
# and each test that needs it fails too (qunzhu_storage_conformance::testing), so CI cannot pass by skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

strict=0
[[ "${CI:-}" == true || "${CI:-}" == 1 ]] && strict=1
# A missing service: an error with its reason under CI, a note otherwise.
missing() {
  if [[ $strict == 1 ]]; then
    echo "test.sh: CI=true and $1" >&2
    exit 1
  fi
  echo "test.sh: $1; its tests will say they were skipped"
}

# PostgreSQL: the conformance suite and crash test run on it when this URL is set.
if [[ -z "${QUNZHU_TEST_DATABASE_URL:-}" ]] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  export QUNZHU_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
fi
if [[ -n "${QUNZHU_TEST_DATABASE_URL:-}" ]]; then
  echo "test.sh: PostgreSQL at ${QUNZHU_TEST_DATABASE_URL}"
else
  missing "no PostgreSQL answers at 127.0.0.1:5432 and QUNZHU_TEST_DATABASE_URL is not set"
fi

# The CJK font posters are drawn with (the golden-image and poster route tests need it): Debian's
# fonts-noto-cjk, installed here, never downloaded by qunzhu itself.
if [[ ! -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc && "$(id -u)" == 0 ]]; then
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null); then
    missing "installing fonts-noto-cjk with apt-get failed"
  fi
fi
if [[ ! -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]]; then
  missing "fonts-noto-cjk is not installed (the poster tests need it)"
fi

# Synapse: one homeserver with relaxed limits, one with Synapse's defaults (the rate-limit test).
if [[ "${QUNZHU_SKIP_SYNAPSE:-}" == 1 ]]; then
  missing "QUNZHU_SKIP_SYNAPSE=1 skips the Synapse tests"
elif [[ ! -x scripts/synapse.sh ]]; then
  missing "scripts/synapse.sh is missing or not executable"
else
  scripts/synapse.sh install
  eval "$(scripts/synapse.sh start relaxed)"
  trap 'scripts/synapse.sh stop relaxed' EXIT
  eval "$(scripts/synapse.sh start limited --default-limits)"
  trap 'scripts/synapse.sh stop relaxed; scripts/synapse.sh stop limited' EXIT
fi

# The browser test: Debian's Chromium driven by playwright-core.
if [[ "${QUNZHU_SKIP_BROWSER:-}" == 1 ]]; then
  missing "QUNZHU_SKIP_BROWSER=1 skips the browser tests"
elif [[ ! -f e2e/package.json ]]; then
  missing "e2e/package.json is missing"
else
  if ! command -v chromium >/dev/null && [[ "$(id -u)" == 0 ]]; then
    # An install that fails is an error under CI (it was `|| true` once, and CI passed untested).
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null); then
      missing "installing Chromium with apt-get failed"
    fi
  fi
  if ! command -v chromium >/dev/null; then
    missing "chromium is not installed (run this as root to install it from Debian's packages)"
  elif ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    missing "npm or node is not installed (the browser test drives Chromium with playwright-core)"
  else
    (cd e2e && npm ci --no-audit --no-fund --silent)
    export QUNZHU_TEST_BROWSER=1
  fi
fi

cargo test --workspace --all-targets "$@"

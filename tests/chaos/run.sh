#!/usr/bin/env bash
# The chaos test (tests/chaos/chaos.test.mjs) with node:test:
#   installs Debian's Chromium if /usr/bin/chromium is missing (never a downloaded browser),
#   `npm ci` (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1), builds parley unless PARLEY_BIN is set, runs.
#
#   tests/chaos/run.sh
#   PARLEY_BIN=/path/to/parley run.sh    # test that binary, no cargo build
#   PARLEY_SKIP_BUILD=1 run.sh           # use target/debug/parley as it is
#
# PostgreSQL comes from PARLEY_TEST_POSTGRES_URL (the test creates and drops its own database
# there); Redis is a redis-server the test starts itself on a free port. Scenarios whose
# dependency is missing are skipped with the reason.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# shellcheck source=web/tests/chromium.sh
. "$repo/web/tests/chromium.sh"

cd "$here"
echo "== npm ci"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; exit 1; }

if [[ -z "${PARLEY_BIN:-}" && -z "${PARLEY_SKIP_BUILD:-}" ]]; then
  echo "== cargo build -p parley"
  (cd "$repo" && cargo build -p parley) || { echo "cargo build failed"; exit 1; }
fi

echo "== node --test chaos.test.mjs"
node --test --test-reporter=spec --test-concurrency=1 --test-timeout=600000 chaos.test.mjs
rc=$?
echo "chaos test: $([[ $rc -eq 0 ]] && echo OK || echo FAILED)"
exit $rc

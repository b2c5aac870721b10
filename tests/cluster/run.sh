#!/usr/bin/env bash
# The cluster tests (tests/cluster/*.test.mjs) with node:test: `parley serve` on two and three
# nodes sharing PostgreSQL and Redis, with Chromium as the visitor and the agent.
#   installs Debian's Chromium if /usr/bin/chromium is missing (never a downloaded browser),
#   `npm ci` and `npm run build` in web/ (the tests use the browser suite's library and the built
#   widget), builds parley unless PARLEY_BIN is set, runs.
#
#   tests/cluster/run.sh
#   tests/cluster/run.sh cluster.test.mjs     # some files (relative to tests/cluster/)
#   PARLEY_BIN=/path/to/parley run.sh         # test that binary, no cargo build
#   PARLEY_SKIP_BUILD=1 run.sh                # use target/debug/parley as it is
#
# PostgreSQL is PARLEY_TEST_POSTGRES_URL's server (each cluster creates and drops a database of
# its own there, parley_cluster_test_*); Redis is PARLEY_TEST_REDIS_URL (each cluster uses a
# cluster channel of its own, and the keys derived from it). When either cannot be reached the
# tests are skipped with the reason. Screenshots go to artifacts/screenshots/cluster-*.png.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# shellcheck source=web/tests/chromium.sh
. "$repo/web/tests/chromium.sh"

cd "$repo/web"
echo "== npm ci (web/)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; exit 1; }
echo "== npm run build (web/)"
npm run build || { echo "the web build failed"; exit 1; }

if [[ -z "${PARLEY_BIN:-}" && -z "${PARLEY_SKIP_BUILD:-}" ]]; then
  echo "== cargo build -p parley"
  (cd "$repo" && cargo build -p parley) || { echo "cargo build failed"; exit 1; }
fi

cd "$here"
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then files=(*.test.mjs); fi
echo "== node --test ${files[*]}"
node --test --test-reporter=spec --test-concurrency=1 --test-timeout=600000 "${files[@]}"
rc=$?
echo "cluster tests: $([[ $rc -eq 0 ]] && echo OK || echo FAILED)"
exit $rc

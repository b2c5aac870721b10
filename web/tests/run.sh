#!/usr/bin/env bash
# Browser tests for the widget and the agents' dashboard, against the real server:
#   installs Debian's Chromium if /usr/bin/chromium is missing (never a downloaded browser),
#   `npm ci` in web/ (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1), builds both bundles, builds parley
#   unless PARLEY_BIN is set, then runs widget/tests/*.test.mjs and dashboard/tests/*.test.mjs
#   with node:test (they share tests/lib/).
#
#   web/tests/run.sh                                  # everything
#   web/tests/run.sh widget/tests/xss.test.mjs        # some files (paths relative to web/)
#   PARLEY_BIN=/path/to/parley run.sh                 # test that binary, no cargo build
#   PARLEY_SKIP_BUILD=1 run.sh                        # use target/debug/parley as it is
#
# Screenshots go to artifacts/screenshots/ at the repository root (gitignored; CI keeps them).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
web="$(cd "$here/.." && pwd)"
repo="$(cd "$web/.." && pwd)"

# shellcheck source=web/tests/chromium.sh
. "$here/chromium.sh"
# Emoji glyphs for reactions in the screenshots; the tests pass without them.
if ! fc-list 2>/dev/null | grep -qi 'color emoji'; then
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq fonts-noto-color-emoji >/dev/null 2>&1 || true
fi

cd "$web"
echo "== npm ci"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; exit 1; }
echo "== npm run build"
npm run build || { echo "the web build failed"; exit 1; }

if [[ -z "${PARLEY_BIN:-}" && -z "${PARLEY_SKIP_BUILD:-}" ]]; then
  echo "== cargo build -p parley"
  (cd "$repo" && cargo build -p parley) || { echo "cargo build failed"; exit 1; }
fi

files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then files=(widget/tests/*.test.mjs dashboard/tests/*.test.mjs); fi
echo "== node --test ${files[*]}"
node --test --test-reporter=spec --test-concurrency=1 --test-timeout=180000 "${files[@]}"
rc=$?
echo "browser tests: $([[ $rc -eq 0 ]] && echo OK || echo FAILED)"
exit $rc

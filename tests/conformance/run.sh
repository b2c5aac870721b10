#!/usr/bin/env bash
# Black-box conformance suite for `parley realtime`, driven by the official
# Pusher clients: pusher-js 8, laravel-echo 2 and the node `pusher` SDK (node:test),
# and the Python `pusher` SDK (pytest).
#
#   tests/conformance/run.sh              # build parley (unless PARLEY_BIN is set), install, run all
#   PARLEY_BIN=/path/to/parley run.sh     # test that binary, no build
#   run.sh connection.test.mjs            # only the given node test files (the Python part still runs)
#   PARLEY_SKIP_PYTHON=1 / PARLEY_SKIP_NODE=1 to run one half.
#
# Exits non-zero when anything fails.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

if [[ -z "${PARLEY_BIN:-}" && -z "${PARLEY_SKIP_BUILD:-}" ]]; then
  echo "== cargo build -p parley"
  (cd "$repo" && cargo build -p parley) || { echo "cargo build failed"; exit 1; }
fi

node_rc=0
py_rc=0
node_summary="(node part not run)"
py_summary="(python part not run)"
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

if [[ -z "${PARLEY_SKIP_NODE:-}" ]]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; exit 1; }
  files=("$@")
  if [[ ${#files[@]} -eq 0 ]]; then files=(*.test.mjs); fi
  echo "== node --test ${files[*]}"
  node --test --test-reporter=spec --test-concurrency=1 --test-timeout=60000 "${files[@]}" 2>&1 | tee "$log_dir/node.log"
  node_rc=${PIPESTATUS[0]}
  node_summary="$(grep -E '^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$log_dir/node.log" || true)"
fi

if [[ -z "${PARLEY_SKIP_PYTHON:-}" ]]; then
  echo "== python venv + pip install -r python/requirements.txt"
  py="${PYTHON:-python3}"
  if [[ ! -x .venv/bin/python ]]; then
    "$py" -m venv .venv || { echo "venv creation failed"; exit 1; }
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -r python/requirements.txt \
    || { echo "pip install failed"; exit 1; }
  echo "== pytest python"
  .venv/bin/python -m pytest python -q 2>&1 | tee "$log_dir/py.log"
  py_rc=${PIPESTATUS[0]}
  py_summary="$(grep -E '(passed|failed|error|no tests ran)' "$log_dir/py.log" | tail -1 || true)"
fi

echo
echo "== summary: node test runner"
echo "$node_summary"
echo "== summary: pytest"
echo "$py_summary"

if [[ $node_rc -ne 0 || $py_rc -ne 0 ]]; then
  echo "conformance: FAILED (node rc=$node_rc, pytest rc=$py_rc)"
  exit 1
fi
echo "conformance: OK"

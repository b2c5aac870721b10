#!/usr/bin/env bash
# RFC 6455 conformance: the Autobahn cases (through kosoku, a runner of Autobahn's own case
# files) against an echo server built on the realtime server's WebSocket stack.
# Fails on any case whose result is not OK, INFORMATIONAL or UNIMPLEMENTED (compression).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv=tests/autobahn/.venv
if [ ! -x "$venv/bin/kosoku" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r tests/autobahn/requirements.txt
fi
cargo build --quiet -p parley-realtime --example autobahn_echo
out=$(mktemp -d)
target/debug/examples/autobahn_echo 127.0.0.1:0 > "$out/echo.log" 2>&1 &
echo_pid=$!
trap 'kill $echo_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  addr=$(grep -o '127\.0\.0\.1:[0-9]*' "$out/echo.log" || true)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { echo "echo server did not start"; cat "$out/echo.log"; exit 1; }
reports=${AUTOBAHN_REPORTS:-reports/autobahn}
rm -rf "$reports"
# kosoku exits non-zero whenever a case is not OK, compression's UNIMPLEMENTED included, so the
# verdict comes from its report below rather than from its exit code.
"$venv/bin/kosoku" -p 2 -o "$reports" "$addr" > "$out/kosoku.log" 2>&1 || true
[ -f "$reports/index.json" ] || { tail -20 "$out/kosoku.log"; exit 1; }
python3 - "$reports/index.json" <<'PY'
import collections, json, sys
results = json.load(open(sys.argv[1]))
allowed = {"OK", "INFORMATIONAL", "UNIMPLEMENTED"}
counts, bad = collections.Counter(), []
for cases in results.values():
    for case, result in cases.items():
        counts[result["behavior"]] += 1
        if result["behavior"] not in allowed or result["behaviorClose"] not in allowed:
            bad.append(f'{case}: {result["behavior"]}/{result["behaviorClose"]}')
print("autobahn:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
for line in bad:
    print("  not conformant:", line)
ok = sum(counts.values()) - len(bad)
print(f"autobahn: {ok} passed, {len(bad)} failed")
sys.exit(1 if bad or not counts else 0)
PY

#!/usr/bin/env bash
# The realtime benchmark with a second client stack: a Node harness (bench/js/harness.mjs, `ws`
# subscribers, publishes through the official `pusher` SDK) against Parley, Soketi and Sockudo,
# one after another, each started fresh the way bench/run.sh starts it (same app, limits lifted).
# Two passes: server pinned to SERVER_CORE and harness to HARNESS_CORE, then both unpinned.
# Prints a side-by-side table with each figure's ratio to the best peer of the same pass; the
# last line is one JSON object with every run.
#
# Usage: bench/js/run.sh [fanout] [burst]   (default: both)
# Environment: SERVERS ("parley soketi sockudo"), PASSES ("pinned unpinned"), SUBSCRIBERS (5000),
# RATE (10), DURATION (30), BURST_EVENTS (1000), PUBLISHERS (8), SIZE (100), DEFLATE (true: the
# ws client offers permessage-deflate as browsers do), SERVER_CORE (0), HARNESS_CORE (1),
# SKIP_BUILD=1 to reuse target/release/parley.
set -euo pipefail

cd "$(dirname "$0")/../.."

SERVERS=${SERVERS:-parley soketi sockudo}
PASSES=${PASSES:-pinned unpinned}
SUBSCRIBERS=${SUBSCRIBERS:-5000}
RATE=${RATE:-10}
DURATION=${DURATION:-30}
BURST_EVENTS=${BURST_EVENTS:-1000}
PUBLISHERS=${PUBLISHERS:-8}
SIZE=${SIZE:-100}
DEFLATE=${DEFLATE:-true}
SERVER_CORE=${SERVER_CORE:-0}
HARNESS_CORE=${HARNESS_CORE:-1}

scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(fanout burst)

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== building target/release/parley"
    cargo build --release -p parley
fi
if [ ! -d bench/js/node_modules/ws ] || [ ! -d bench/js/node_modules/pusher ]; then
    (cd bench/js && npm ci --no-audit --no-fund --loglevel=error)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-js.XXXXXX")
# shellcheck source=bench/servers.sh
. bench/servers.sh
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

RESULTS="$WORK/results.jsonl"
for pass in $PASSES; do
    case $pass in
        pinned) SERVER_PIN=(taskset -c "$SERVER_CORE"); HARNESS_PIN=(taskset -c "$HARNESS_CORE") ;;
        unpinned) SERVER_PIN=(); HARNESS_PIN=() ;;
        *) echo "unknown pass: $pass (pinned or unpinned)" >&2; exit 2 ;;
    esac
    for scenario in "${scenarios[@]}"; do
        case $scenario in
            fanout) args=(fanout --subscribers "$SUBSCRIBERS" --rate "$RATE" --duration "$DURATION") ;;
            burst) args=(burst --subscribers "$SUBSCRIBERS" --events "$BURST_EVENTS" --publishers "$PUBLISHERS") ;;
            *) echo "unknown scenario: $scenario (fanout or burst)" >&2; exit 2 ;;
        esac
        for SERVER in $SERVERS; do
            if ! peer_installed "$SERVER"; then
                echo "== $SERVER is not installed (bench/peers/install.sh): skipped" >&2
                continue
            fi
            echo
            echo "== $pass $scenario $SERVER: ${args[*]}"
            start_server "$WORK/$pass-$scenario-$SERVER.log"
            out="$WORK/$pass-$scenario-$SERVER.txt"
            if "${HARNESS_PIN[@]}" node bench/js/harness.mjs --port "$PORT" --server-pid "$SERVER_PID" \
                --app-id "$APP_ID" --key "$APP_KEY" --secret "$APP_SECRET" --size "$SIZE" \
                --deflate "$DEFLATE" --label "$pass/$scenario/$SERVER" "${args[@]}" | tee "$out"; then
                tail -n 1 "$out" >>"$RESULTS"
            else
                echo "error: $pass $scenario $SERVER failed" >&2
            fi
            stop_server
        done
    done
done

echo
echo "== side by side (ratio: this server's figure / the best of the pass; logs in $WORK)"
node bench/js/table.mjs "$RESULTS"

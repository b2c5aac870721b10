#!/usr/bin/env bash
# The realtime benchmark with a second client stack: a Node harness (bench/js/harness.mjs, `ws`
# subscribers, publishes through the official `pusher` SDK) against Parley, Soketi and Sockudo,
# one after another, each started fresh the way bench/run.sh starts it (same app, limits lifted).
# With HARNESSES="js rust" each server is also measured by bench/loadgen (the Rust harness),
# started fresh again, with the same sizes. Two passes: server pinned to SERVER_CORE and harness
# to HARNESS_CORE, then both unpinned. Prints a side-by-side table with each figure's ratio to
# the best server of the same pass, scenario and harness; the last line is one JSON object with
# every run.
#
# Usage: bench/js/run.sh [fanout] [burst]   (default: both)
# Environment: SERVERS ("parley soketi sockudo"), HARNESSES ("js"; "js rust" for both), PASSES ("pinned unpinned"), SUBSCRIBERS (5000),
# RATE (10), DURATION (30), BURST_EVENTS (1000), PUBLISHERS (8), SIZE (100), DEFLATE (true: the
# ws client offers permessage-deflate as browsers do), SERVER_CORE (0), HARNESS_CORE (1),
# SKIP_BUILD=1 to reuse target/release/parley.
set -euo pipefail

cd "$(dirname "$0")/../.."

SERVERS=${SERVERS:-parley soketi sockudo}
HARNESSES=${HARNESSES:-js}
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

# The descriptor limit and the release build; the pins are set per pass below.
LOADGEN_CORE=$HARNESS_CORE
# shellcheck source=bench/common.sh
. bench/common.sh
if [ ! -d bench/js/node_modules/ws ] || [ ! -d bench/js/node_modules/pusher ]; then
    (cd bench/js && npm ci --no-audit --no-fund --loglevel=error)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-js.XXXXXX")
# shellcheck source=bench/servers.sh
. bench/servers.sh
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

RESULTS="$WORK/results.jsonl"
# SERVER_PIN is read by start_server (bench/servers.sh).
# shellcheck disable=SC2034
for pass in $PASSES; do
    case $pass in
        pinned) SERVER_PIN=(taskset -c "$SERVER_CORE"); HARNESS_PIN=(taskset -c "$HARNESS_CORE") ;;
        unpinned) SERVER_PIN=(); HARNESS_PIN=() ;;
        *) echo "unknown pass: $pass (pinned or unpinned)" >&2; exit 2 ;;
    esac
    for scenario in "${scenarios[@]}"; do
        case $scenario in
            fanout)
                js=(fanout --subscribers "$SUBSCRIBERS" --rate "$RATE" --duration "$DURATION")
                rust=(fanout --subscribers "$SUBSCRIBERS" --rate "$RATE" --duration "$DURATION") ;;
            burst)
                js=(burst --subscribers "$SUBSCRIBERS" --events "$BURST_EVENTS" --publishers "$PUBLISHERS")
                rust=(fanout --subscribers "$SUBSCRIBERS" --burst "$BURST_EVENTS" --publishers "$PUBLISHERS") ;;
            *) echo "unknown scenario: $scenario (fanout or burst)" >&2; exit 2 ;;
        esac
        for harness in $HARNESSES; do
            for SERVER in $SERVERS; do
                if ! peer_installed "$SERVER"; then
                    echo "== $SERVER is not installed (bench/peers/install.sh): skipped" >&2
                    continue
                fi
                label="$pass/$scenario/$harness/$SERVER"
                echo
                echo "== $label"
                start_server "$WORK/${label//\//-}.log"
                out="$WORK/${label//\//-}.txt"
                case $harness in
                    js)
                        if "${HARNESS_PIN[@]}" node bench/js/harness.mjs --port "$PORT" \
                            --server-pid "$SERVER_PID" --app-id "$APP_ID" --key "$APP_KEY" \
                            --secret "$APP_SECRET" --size "$SIZE" --deflate "$DEFLATE" \
                            --label "$label" "${js[@]}" | tee "$out"; then
                            tail -n 1 "$out" >>"$RESULTS"
                        else
                            echo "error: $label failed" >&2
                        fi
                        ;;
                    rust)
                        # The loadgen's payload is its header plus --pad filler bytes.
                        if "${HARNESS_PIN[@]}" target/release/parley-loadgen --host 127.0.0.1 \
                            --port "$PORT" --app-id "$APP_ID" --key "$APP_KEY" --secret "$APP_SECRET" \
                            --server-pid "$SERVER_PID" "${rust[@]}" --pad "$((SIZE > 60 ? SIZE - 60 : 0))" \
                            | tee "$out"; then
                            printf '{"harness":"rust","label":"%s","loadgen":%s}\n' "$label" \
                                "$(tail -n 1 "$out")" >>"$RESULTS"
                        else
                            echo "error: $label failed" >&2
                        fi
                        ;;
                    *) echo "unknown harness: $harness (js or rust)" >&2; exit 2 ;;
                esac
                stop_server
            done
        done
    done
done

echo
echo "== side by side (ratio: this server's figure / the best of the pass; logs in $WORK)"
node bench/js/table.mjs "$RESULTS"

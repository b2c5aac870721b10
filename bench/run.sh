#!/usr/bin/env bash
# Benchmarks Parley's realtime server on this machine: builds release binaries, starts a fresh
# `parley realtime` pinned to core 0 for each scenario, runs the load generator pinned to core 1,
# and prints every scenario's figures. The server is always stopped on exit.
#
# Usage: bench/run.sh [idle] [fanout] [burst] [channels] [client-events]   (default: all)
# Sizes can be overridden through the environment, e.g. IDLE_CONNECTIONS=2000 DURATION=10;
# SKIP_BUILD=1 reuses the release binaries already in target/release.
# SERVER=sockudo or SERVER=soketi measures that peer instead, the same way (install it first with
# bench/peers/install.sh). SERVER=parley-cluster starts two Parley nodes sharing Redis
# (REDIS_URL, default redis://127.0.0.1:6379/): subscribers on one, HTTP publishes to the other.
set -euo pipefail

cd "$(dirname "$0")/.."

IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
IDLE_SECS=${IDLE_SECS:-5}
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-5000}
FANOUT_RATE=${FANOUT_RATE:-10}
BURST_EVENTS=${BURST_EVENTS:-1000}
CHANNELS_CONNECTIONS=${CHANNELS_CONNECTIONS:-5000}
CHANNELS=${CHANNELS:-500}
CHANNELS_RATE=${CHANNELS_RATE:-500}
CE_GROUPS=${CE_GROUPS:-500}
CE_GROUP_SIZE=${CE_GROUP_SIZE:-2}
CE_RATE=${CE_RATE:-10}
DURATION=${DURATION:-30}
SERVER=${SERVER:-parley}
SERVER_CORE=${SERVER_CORE:-0}
LOADGEN_CORE=${LOADGEN_CORE:-1}

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
    scenarios=(idle fanout burst channels client-events)
fi

# shellcheck source=bench/common.sh
. bench/common.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
# shellcheck source=bench/servers.sh
. bench/servers.sh
# With SERVER=parley-cluster: the node publishes go to, and its port.
PUBLISH_NODE_PID=""
API_PORT=""

stop_servers() {
    stop_pid "$PUBLISH_NODE_PID"
    PUBLISH_NODE_PID=""
    API_PORT=""
    stop_server
}
trap stop_servers EXIT
trap 'stop_servers; exit 130' INT TERM

# The server for scenario $1: bench/servers.sh's, or two Parley nodes sharing Redis.
start_scenario_server() {
    local log="$WORK/server-$1.log"
    if [ "$SERVER" != parley-cluster ]; then
        start_server "$log"
        return
    fi
    # Each node joins before it listens, so both are in the cluster once both accept.
    local cluster=(REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/}"
        PARLEY_CLUSTER_CHANNEL="parley-bench:$$:$1")
    API_PORT=$(free_port)
    start_parley "$API_PORT" "$WORK/publish-node-$1.log" "${cluster[@]}"
    PUBLISH_NODE_PID=$!
    PORT=$(free_port)
    start_parley "$PORT" "$log" "${cluster[@]}"
    SERVER_PID=$!
    await_server "$log" "$PORT" "$API_PORT"
}

loadgen() {
    local api=()
    [ -n "$API_PORT" ] && api=(--api-port "$API_PORT")
    "${LOADGEN_PIN[@]}" target/release/parley-loadgen \
        --host 127.0.0.1 --port "$PORT" "${api[@]}" --app-id "$APP_ID" --key "$APP_KEY" \
        --secret "$APP_SECRET" --server-pid "$SERVER_PID" "$@"
}

RESULTS="$WORK/results.jsonl"
failed=0
for scenario in "${scenarios[@]}"; do
    case $scenario in
        idle) args=(idle --connections "$IDLE_CONNECTIONS" --idle-secs "$IDLE_SECS") ;;
        fanout) args=(fanout --subscribers "$FANOUT_SUBSCRIBERS" --rate "$FANOUT_RATE" --duration "$DURATION") ;;
        burst) args=(fanout --subscribers "$FANOUT_SUBSCRIBERS" --burst "$BURST_EVENTS" --publishers 8) ;;
        channels) args=(channels --connections "$CHANNELS_CONNECTIONS" --channels "$CHANNELS" --rate "$CHANNELS_RATE" --duration "$DURATION") ;;
        client-events) args=(client-events --groups "$CE_GROUPS" --group-size "$CE_GROUP_SIZE" --rate "$CE_RATE" --duration "$DURATION") ;;
        *) echo "unknown scenario: $scenario" >&2; exit 2 ;;
    esac
    echo
    echo "== $scenario: ${args[*]}"
    start_scenario_server "$scenario"
    out="$WORK/$scenario.txt"
    if loadgen "${args[@]}" | tee "$out"; then
        tail -n 1 "$out" >>"$RESULTS"
    else
        echo "error: scenario $scenario failed" >&2
        failed=1
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "error: the server died during $scenario; its log:" >&2
        tail -n 50 "$WORK/server-$scenario.log" >&2
        failed=1
    fi
    stop_servers
done

echo
echo "== results (one JSON line per scenario; logs in $WORK)"
[ -f "$RESULTS" ] && cat "$RESULTS"
exit $failed

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
# Where bench/peers/install.sh puts the peer servers.
PEERS=$PWD/bench/peers/.install
SERVER_CORE=${SERVER_CORE:-0}
LOADGEN_CORE=${LOADGEN_CORE:-1}

APP_ID=bench
APP_KEY=bench-key
APP_SECRET=bench-secret

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
    scenarios=(idle fanout burst channels client-events)
fi

# shellcheck source=bench/common.sh
. bench/common.sh

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
SERVER_PID=""
# With SERVER=parley-cluster: the node publishes go to, and its port.
PUBLISH_NODE_PID=""
API_PORT=""

stop_pid() {
    local pid=$1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        # Give it its shutdown grace, then insist.
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

stop_server() {
    stop_pid "$SERVER_PID"
    stop_pid "$PUBLISH_NODE_PID"
    SERVER_PID=""
    PUBLISH_NODE_PID=""
    API_PORT=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

# The peers are started with the same app and with their own limits lifted to the benchmark's
# sizes, so that no figure is a peer's default quota.
# A `parley realtime` on $1 logging to $2; extra environment after that.
start_parley() {
    local port=$1 log=$2
    shift 2
    env REVERB_APP_ID=$APP_ID REVERB_APP_KEY=$APP_KEY REVERB_APP_SECRET=$APP_SECRET \
        REVERB_SERVER_HOST=127.0.0.1 REVERB_SERVER_PORT="$port" \
        PARLEY_DATA_DIR="$WORK/data" RUST_LOG="${RUST_LOG:-warn}" "$@" \
        "${SERVER_PIN[@]}" target/release/parley realtime >"$log" 2>&1 &
}

start_server() {
    PORT=$(free_port)
    local log="$WORK/server-$1.log"
    case $SERVER in
        parley) start_parley "$PORT" "$log" ;;
        parley-cluster)
            # Each node joins before it listens, so both are in the cluster once both accept.
            local cluster=(REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/}"
                PARLEY_CLUSTER_CHANNEL="parley-bench:$$:$1")
            API_PORT=$(free_port)
            start_parley "$API_PORT" "$WORK/publish-node-$1.log" "${cluster[@]}"
            PUBLISH_NODE_PID=$!
            start_parley "$PORT" "$log" "${cluster[@]}"
            ;;
        sockudo)
            (cd "$WORK" && exec env HOST=127.0.0.1 PORT="$PORT" METRICS_ENABLED=false \
                SOCKUDO_DEFAULT_APP_ID=$APP_ID SOCKUDO_DEFAULT_APP_KEY=$APP_KEY \
                SOCKUDO_DEFAULT_APP_SECRET=$APP_SECRET SOCKUDO_DEFAULT_APP_ENABLED=true \
                SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES=true \
                SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS=100000 SOCKUDO_MAX_CONNECTIONS=100000 \
                SOCKUDO_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SECOND=1000000 \
                SOCKUDO_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SECOND=1000000 \
                SOCKUDO_DEFAULT_APP_MAX_READ_REQUESTS_PER_SECOND=1000000 \
                RATE_LIMITER_ENABLED=false QUEUE_DRIVER=memory \
                RUST_LOG="${RUST_LOG:-warn}" \
                "${SERVER_PIN[@]}" "$PEERS/sockudo/bin/sockudo") >"$log" 2>&1 &
            ;;
        soketi)
            # One process (not soketi-pm2); limits are unlimited by default and said so here.
            # Its /usage server and cluster discovery ports are moved off their fixed defaults.
            env SOKETI_HOST=127.0.0.1 SOKETI_PORT="$PORT" SOKETI_METRICS_ENABLED=false \
                SOKETI_METRICS_SERVER_PORT="$(free_port)" SOKETI_CLUSTER_PORT="$(free_port)" \
                SOKETI_DEFAULT_APP_ID=$APP_ID SOKETI_DEFAULT_APP_KEY=$APP_KEY \
                SOKETI_DEFAULT_APP_SECRET=$APP_SECRET SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES=true \
                SOKETI_DEFAULT_APP_MAX_CONNS=-1 SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC=-1 \
                SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC=-1 SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC=-1 \
                SOKETI_ADAPTER_DRIVER=local SOKETI_QUEUE_DRIVER=sync SOKETI_SHUTDOWN_GRACE_PERIOD=0 \
                NODE_NO_WARNINGS=1 \
                "${SERVER_PIN[@]}" node "$PEERS/soketi/node_modules/@soketi/soketi/bin/server.js" start \
                >"$log" 2>&1 &
            ;;
        *) echo "unknown SERVER=$SERVER (parley, parley-cluster, sockudo or soketi)" >&2; return 1 ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null &&
            { [ -z "$API_PORT" ] || (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; }; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "error: the server exited during start-up:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "error: the server did not accept connections on port $PORT within 30 s:" >&2
    cat "$log" >&2
    return 1
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
    start_server "$scenario"
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
    stop_server
done

echo
echo "== results (one JSON line per scenario; logs in $WORK)"
[ -f "$RESULTS" ] && cat "$RESULTS"
exit $failed

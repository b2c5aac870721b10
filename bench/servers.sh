# Starting and stopping the server under test for bench/run.sh, bench/curve.sh and bench/js
# (sourced after bench/common.sh, not run): a fresh `parley realtime`, Soketi or Sockudo on a free port, with the
# benchmark's app and every per-app limit lifted, pinned with SERVER_PIN (bench/common.sh).
# Needs WORK (a scratch directory) and SERVER (parley, soketi or sockudo); sets PORT and
# SERVER_PID.

APP_ID=${APP_ID:-bench}
APP_KEY=${APP_KEY:-bench-key}
APP_SECRET=${APP_SECRET:-bench-secret}
# Where bench/peers/install.sh puts the peer servers.
PEERS=${PEERS:-$PWD/bench/peers/.install}
# The peers' own connection caps, lifted well past any size measured.
PEER_MAX_CONNECTIONS=${PEER_MAX_CONNECTIONS:-2000000}

SERVER_PID=""
PORT=""

# The command that runs $1's binary, or nothing if it is not installed.
peer_installed() {
    case $1 in
        parley) [ -x target/release/parley ] ;;
        sockudo) [ -x "$PEERS/sockudo/bin/sockudo" ] ;;
        soketi) [ -f "$PEERS/soketi/node_modules/@soketi/soketi/bin/server.js" ] ;;
        *) return 1 ;;
    esac
}

stop_server() {
    stop_pid "$SERVER_PID"
    SERVER_PID=""
}

# A `parley realtime` on port $1 logging to $2, in the background; extra environment after that.
start_parley() {
    local port=$1 log=$2
    shift 2
    env REVERB_APP_ID=$APP_ID REVERB_APP_KEY=$APP_KEY REVERB_APP_SECRET=$APP_SECRET \
        REVERB_SERVER_HOST=127.0.0.1 REVERB_SERVER_PORT="$port" \
        PARLEY_DATA_DIR="$WORK/data" RUST_LOG="${RUST_LOG:-warn}" "$@" \
        "${SERVER_PIN[@]}" target/release/parley realtime >"$log" 2>&1 &
}

# Starts $SERVER logging to $1 and waits until it accepts connections.
start_server() {
    local log=$1
    PORT=$(free_port)
    case $SERVER in
        parley) start_parley "$PORT" "$log" ;;
        sockudo)
            (cd "$WORK" && exec env HOST=127.0.0.1 PORT="$PORT" METRICS_ENABLED=false \
                SOCKUDO_DEFAULT_APP_ID=$APP_ID SOCKUDO_DEFAULT_APP_KEY=$APP_KEY \
                SOCKUDO_DEFAULT_APP_SECRET=$APP_SECRET SOCKUDO_DEFAULT_APP_ENABLED=true \
                SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES=true \
                SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS="$PEER_MAX_CONNECTIONS" \
                SOCKUDO_MAX_CONNECTIONS="$PEER_MAX_CONNECTIONS" \
                SOCKUDO_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SECOND=1000000 \
                SOCKUDO_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SECOND=1000000 \
                SOCKUDO_DEFAULT_APP_MAX_READ_REQUESTS_PER_SECOND=1000000 \
                RATE_LIMITER_ENABLED=false QUEUE_DRIVER=memory \
                RUST_LOG="${RUST_LOG:-warn}" \
                "${SERVER_PIN[@]}" "$PEERS/sockudo/bin/sockudo") >"$log" 2>&1 &
            ;;
        soketi)
            # One process (not soketi-pm2); its /usage server and cluster discovery ports are
            # moved off their fixed defaults.
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
        *) echo "unknown SERVER=$SERVER (parley, sockudo or soketi)" >&2; return 1 ;;
    esac
    SERVER_PID=$!
    await_server "$log" "$PORT"
}

# Waits until SERVER_PID (logging to $1) accepts connections on every port after $1.
await_server() {
    local log=$1 port
    shift
    for _ in $(seq 1 300); do
        local ready=1
        for port in "$@"; do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { ready=0; break; }
        done
        [ "$ready" = 1 ] && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "error: the server exited during start-up:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "error: the server did not accept connections on port(s) $* within 30 s:" >&2
    cat "$log" >&2
    return 1
}

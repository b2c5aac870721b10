#!/usr/bin/env bash
# Benchmarks Parley's chat path end to end (POST a message → stored → broadcast → WebSocket) on
# SQLite and on PostgreSQL: builds release binaries, and for each database runs the `chat`
# scenario (steady rate) and `chat --burst-secs` (as fast as the senders go), each against a
# fresh `parley serve` pinned to core 0 with a fresh data directory (and, for PostgreSQL, a fresh
# database, dropped afterwards). The generator runs pinned to core 1.
#
# Each run is made with group commit off (PARLEY_GROUP_COMMIT=0: every message its own
# transaction) and on (the default), back to back, and the end prints the ratio on/off of each
# figure, so that a neighbour's load on the machine hits both sides alike. REPEAT=N makes N such
# pairs of each run.
#
# The `poll` mode (MODES=poll) instead has POLL_WIDGETS widgets polling their conversation
# (`GET /api/chatbot/conversation/{id}?after=`) every POLL_INTERVAL seconds, each on its own
# keep-alive connection, while POLL_MESSAGE_RATE messages/s are posted; it runs with group
# commit on, and with group reads off (PARLEY_GROUP_READ=0: every read its own statement) and on
# (the default), back to back, printing the ratio on/off like the other modes.
#
# Usage: bench/chat.sh [sqlite] [postgres]   (default: both)
# Environment: CONVERSATIONS (200), RATE (200 messages/s), DURATION (20 s), SENDERS (16),
# BURST_SECS (10; 0 skips the burst), BURST_SENDERS (64), MODES ("steady burst"; add "poll"),
# GROUP_COMMIT ("off on"; "on" alone skips the comparison), GROUP_READ (likewise, for the poll
# mode), REPEAT (1), POLL_WIDGETS (10000),
# POLL_INTERVAL (2 s), POLL_DURATION (20 s), POLL_MESSAGE_RATE (10/s), POLL_CONNECTIONS (one per
# widget), PG_HOST (127.0.0.1), PG_USER (postgres), SERVER_CORE (0), LOADGEN_CORE (1);
# SKIP_BUILD=1 reuses target/release; PARLEY (target/release/parley) is the server binary, e.g.
# one built from an earlier commit, to measure a change before and after with the same script.
set -euo pipefail

cd "$(dirname "$0")/.."

CONVERSATIONS=${CONVERSATIONS:-200}
RATE=${RATE:-200}
DURATION=${DURATION:-20}
SENDERS=${SENDERS:-16}
BURST_SECS=${BURST_SECS:-10}
BURST_SENDERS=${BURST_SENDERS:-64}
MODES=${MODES:-steady burst}
GROUP_COMMIT=${GROUP_COMMIT:-off on}
GROUP_READ=${GROUP_READ:-off on}
REPEAT=${REPEAT:-1}
PARLEY=${PARLEY:-target/release/parley}
POLL_WIDGETS=${POLL_WIDGETS:-10000}
POLL_INTERVAL=${POLL_INTERVAL:-2}
POLL_DURATION=${POLL_DURATION:-20}
POLL_MESSAGE_RATE=${POLL_MESSAGE_RATE:-10}
POLL_CONNECTIONS=${POLL_CONNECTIONS:-}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_USER=${PG_USER:-postgres}
SERVER_CORE=${SERVER_CORE:-0}
LOADGEN_CORE=${LOADGEN_CORE:-1}

backends=("$@")
if [ ${#backends[@]} -eq 0 ]; then
    backends=(sqlite postgres)
fi
for backend in "${backends[@]}"; do
    case $backend in
        sqlite | postgres) ;;
        *) echo "unknown backend: $backend (sqlite or postgres)" >&2; exit 2 ;;
    esac
done

# shellcheck source=bench/common.sh
. bench/common.sh

psql_admin() {
    psql -h "$PG_HOST" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAtc "$1"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-chat-bench.XXXXXX")
SERVER_PID=""
LOADGEN_PID=""
DATABASE=""

stop_server() {
    stop_pid "$SERVER_PID"
    SERVER_PID=""
}

drop_database() {
    if [ -n "$DATABASE" ]; then
        psql_admin "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)" ||
            echo "warning: could not drop database $DATABASE" >&2
    fi
    DATABASE=""
}

cleanup() {
    if [ -n "$LOADGEN_PID" ]; then
        kill "$LOADGEN_PID" 2>/dev/null || true
        wait "$LOADGEN_PID" 2>/dev/null || true
    fi
    stop_server
    drop_database
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# Starts a fresh `parley serve` for run $1 on backend $2 with group commit $3 and group reads
# $4 (each on or off); sets SERVER_PID, API, TOKEN.
start_server() {
    local run=$1 backend=$2 group_commit=$3 group_read=$4
    local log="$WORK/server-$run.log"
    local env_db=()
    if [ "$backend" = postgres ]; then
        DATABASE="parley_bench_$(date +%s)_$RANDOM"
        psql_admin "CREATE DATABASE $DATABASE"
        env_db=(DATABASE_URL="postgres://$PG_USER@$PG_HOST/$DATABASE")
    fi
    # Created here: the server's shell may not have opened it yet when it is first read.
    : >"$log"
    env "${env_db[@]}" PARLEY_DATA_DIR="$WORK/data-$run" PARLEY_HTTP_ADDR=127.0.0.1:0 \
        REVERB_SERVER_HOST=127.0.0.1 REVERB_SERVER_PORT=0 \
        PARLEY_RATE_CONVERSATIONS_PER_IP=0 PARLEY_RATE_CONVERSATIONS_PER_WIDGET=0 \
        PARLEY_RATE_MESSAGES_PER_IP=0 PARLEY_RATE_MESSAGES_PER_WIDGET=0 PARLEY_BOT_WORKER=false \
        PARLEY_GROUP_COMMIT="$([ "$group_commit" = off ] && echo 0 || echo 1)" \
        PARLEY_GROUP_READ="$([ "$group_read" = off ] && echo 0 || echo 1)" \
        PARLEY_HTTP_MAX_CONNECTIONS=$((POLL_WIDGETS + 1000)) \
        RUST_LOG="${RUST_LOG:-warn}" \
        "${SERVER_PIN[@]}" "$PARLEY" serve >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        API=$(sed -n 's|^Parley listening on \(http://127\.0\.0\.1:[0-9]*\).*|\1|p' "$log")
        TOKEN=$(sed -n 's|^Demo widget token: \(cbw_[A-Za-z0-9_-]*\).*|\1|p' "$log")
        if [ -n "$API" ] && [ -n "$TOKEN" ]; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "error: the server exited during start-up:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "error: the server did not print its address and demo token within 30 s:" >&2
    cat "$log" >&2
    return 1
}

# Runs the generator's scenario $3 for backend $1 in the background, writing its report to $2,
# and waits for it: a signal interrupts `wait` at once (a foreground command would delay the
# trap until it ends), and `$!` is the generator itself, so the trap can stop it. PostgreSQL's
# backends are reported apart from other processes' CPU.
loadgen() {
    local backend=$1 out=$2 scenario=$3 db=()
    shift 3
    [ "$backend" = postgres ] && db=(--db-process postgres)
    "${LOADGEN_PIN[@]}" target/release/parley-loadgen --server-pid "$SERVER_PID" "${db[@]}" \
        "$scenario" --api "$API" --token "$TOKEN" "$@" >"$out" &
    LOADGEN_PID=$!
    local status=0
    wait "$LOADGEN_PID" || status=$?
    LOADGEN_PID=""
    cat "$out"
    return $status
}

RESULTS="$WORK/results.jsonl"
SUMMARIES="$WORK/summaries.txt"
failed=0
read -r -a modes <<<"$MODES"
read -r -a settings <<<"$GROUP_COMMIT"
read -r -a read_settings <<<"$GROUP_READ"
for backend in "${backends[@]}"; do
    for mode in "${modes[@]}"; do
        case $mode in
            steady)
                scenario=chat
                args=(--conversations "$CONVERSATIONS" --rate "$RATE" --duration "$DURATION"
                    --senders "$SENDERS")
                ;;
            burst)
                [ "$BURST_SECS" = 0 ] && continue
                scenario=chat
                args=(--conversations "$CONVERSATIONS" --burst-secs "$BURST_SECS"
                    --senders "$BURST_SENDERS")
                ;;
            poll)
                scenario=poll
                args=(--widgets "$POLL_WIDGETS" --interval-secs "$POLL_INTERVAL"
                    --duration "$POLL_DURATION" --message-rate "$POLL_MESSAGE_RATE")
                [ -n "$POLL_CONNECTIONS" ] && args+=(--connections "$POLL_CONNECTIONS")
                ;;
            *) echo "unknown mode: $mode (steady, burst or poll)" >&2; exit 2 ;;
        esac
        # What the mode compares: group commit for sending, group reads for polling.
        runs=("${settings[@]}")
        [ "$mode" = poll ] && runs=("${read_settings[@]}")
        for round in $(seq 1 "$REPEAT"); do
            for setting in "${runs[@]}"; do
                group_commit=$setting group_read=on
                [ "$mode" = poll ] && group_commit=on group_read=$setting
                run="$backend-$mode-gc_$group_commit-gr_$group_read-$round"
                echo
                echo "== $run: $scenario ${args[*]} (group commit $group_commit, group reads $group_read)"
                start_server "$run" "$backend" "$group_commit" "$group_read"
                out="$WORK/$run.txt"
                if loadgen "$backend" "$out" "$scenario" "${args[@]}"; then
                    { echo "-- $run"; head -n -1 "$out"; } >>"$SUMMARIES"
                    tail -n 1 "$out" | sed "s/^{/{\"backend\":\"$backend\",\"mode\":\"$mode\",\"group_commit\":\"$group_commit\",\"group_read\":\"$group_read\",\"round\":$round,/" >>"$RESULTS"
                else
                    echo "error: $run failed" >&2
                    failed=1
                fi
                if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                    echo "error: the server died during $run; its log:" >&2
                    tail -n 50 "$WORK/server-$run.log" >&2
                    failed=1
                elif grep -qiE 'warn|error' "$WORK/server-$run.log"; then
                    echo "note: the server logged warnings during $run (see $WORK/server-$run.log):" >&2
                    # -m, not `| head`: head leaving early fails grep, and pipefail the script.
                    grep -m 5 -iE 'warn|error' "$WORK/server-$run.log" >&2 || true
                fi
                stop_server
                drop_database
                rm -rf "$WORK/data-$run"
            done
        done
    done
done

echo
echo "== summaries"
[ -f "$SUMMARIES" ] && cat "$SUMMARIES"
echo
echo "== results (one JSON line per run; logs in $WORK)"
[ -f "$RESULTS" ] && cat "$RESULTS"

# Group commit on against off, run by run: the same round of the same mode on the same database.
if [ -f "$RESULTS" ] && command -v jq >/dev/null; then
    echo
    echo "== group commit on / off (same round, same database)"
    jq -rs '
        def f: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
        def ratio(a; b): if (a // 0) > 0 and (b // 0) > 0 then (b / a * 100 | round / 100 | tostring) + "x" else "-" end;
        [ .[] | select(.mode != "poll") ]
        | group_by([.backend, .mode, .round])[]
        | (map(select(.group_commit == "off"))[0]) as $off
        | (map(select(.group_commit == "on"))[0]) as $on
        | select($off != null and $on != null)
        | "\($on.backend) \($on.mode) round \($on.round): messages/s \($off.messages_per_sec | f) -> \($on.messages_per_sec | f) (\(ratio($off.messages_per_sec; $on.messages_per_sec))); POST->WS p50 \($off.latency_p50_ms | f) -> \($on.latency_p50_ms | f) ms, p99 \($off.latency_p99_ms | f) -> \($on.latency_p99_ms | f) ms (\(ratio($off.latency_p99_ms; $on.latency_p99_ms))); server CPU \($off.server_cpu_pct | f) -> \($on.server_cpu_pct | f) %, database CPU \($off.db_cpu_pct | f) -> \($on.db_cpu_pct | f) %"
    ' "$RESULTS"
    jq -r 'select(.mode == "poll")
        | "\(.backend) poll, group reads \(.group_read) (round \(.round)): \(.widgets) widgets every \(.interval_secs) s over \(.connections) connections: \(.polls_per_sec) polls/s of \(.offered_per_sec) offered, p50 \(.poll_p50_ms) ms, p99 \(.poll_p99_ms) ms, max \(.poll_max_ms) ms; server CPU \(.server_cpu_pct) %, database CPU \(.db_cpu_pct // "-") %, errors \(.errors) \(.error_kinds // {} | tostring)"
    ' "$RESULTS"
    echo
    echo "== group reads on / off (same round, same database)"
    jq -rs '
        def f: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
        def ratio(a; b): if (a // 0) > 0 and (b // 0) > 0 then (b / a * 100 | round / 100 | tostring) + "x" else "-" end;
        [ .[] | select(.mode == "poll") ]
        | group_by([.backend, .round])[]
        | (map(select(.group_read == "off"))[0]) as $off
        | (map(select(.group_read == "on"))[0]) as $on
        | select($off != null and $on != null)
        | "\($on.backend) poll round \($on.round): polls/s \($off.polls_per_sec | f) -> \($on.polls_per_sec | f) of \($on.offered_per_sec | f) offered (\(ratio($off.polls_per_sec; $on.polls_per_sec))); p50 \($off.poll_p50_ms | f) -> \($on.poll_p50_ms | f) ms, p99 \($off.poll_p99_ms | f) -> \($on.poll_p99_ms | f) ms; server CPU \($off.server_cpu_pct | f) -> \($on.server_cpu_pct | f) %, database CPU \($off.db_cpu_pct | f) -> \($on.db_cpu_pct | f) %"
    ' "$RESULTS"
fi
exit $failed

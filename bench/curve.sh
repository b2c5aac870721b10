#!/usr/bin/env bash
# The connection curve: how one realtime server's memory, connect rate and fan-out latency grow
# with the connections it holds. For each size N (CONNECTIONS) and each server (SERVERS: parley,
# soketi, sockudo), a fresh server is started pinned to core 0 and loaded from core 1:
#
#   1. N connections open at once: N - 1000 idle ones (public channels bench-idle-*) held by as
#      many generator processes as the descriptor limit needs, each from its own loopback source
#      address (127.0.0.2, 127.0.0.3, ...), plus 1000 subscribers of one channel held by a fan-out
#      generator. Every generator of the run gets an address of its own. Connect rate =
#      connections / the slowest generator's setup.
#   2. All idle for IDLE_SECS, then: the server's VmRSS, the host's kernel TCP memory
#      (/proc/net/sockstat "TCP: mem", pages) and socket objects (/proc/slabinfo), each against
#      its reading before anything connected, per connection; and the buffer memory of the
#      server's own sockets (`ss -tm`: received + queued + reserved bytes).
#   3. Fan-out: events published at FANOUT_RATE/s for DURATION s to the 1000 subscribers while
#      the others stay connected, REPEATS times (a new set of 1000 subscribers each time; more
#      runs, up to EXTRA_REPEATS, while runs are disturbed by other processes' CPU).
#
# ROUNDS > 1 measures the whole list of sizes that many times, taken turn about (1k, 19k, 1k,
# 19k, ...), and pools each size's fan-out runs: one minute's fan-out p99 varies here by a third
# from the next minute's at the same size, more than the flatness aim's 1.2x, and drifts with the
# machine's other load, so comparing sizes wants many runs of each, interleaved.
#
# IDLE_ON=neighbour puts the idle connections on a second server of the same kind beside the
# measured one (same core, same kernel) instead of on it: the measured server then holds only
# the 1000 subscribers, so a fan-out p99 that still grows with N is the machine's (its kernel
# holding N more sockets, both ends), not the server's. The memory figures then count the
# measured server only, and mean nothing per connection.
#
# Every figure is printed per server and size, with Parley's ratio to the best peer measured in
# the same run; the last line is one JSON object.
#
# Usage: bench/curve.sh
#        CONNECTIONS="1000 5000 10000 19000 250000" SERVERS="parley soketi" bench/curve.sh
# Settings (environment): CONNECTIONS, SERVERS, FANOUT_SUBSCRIBERS (1000), FANOUT_RATE (10),
# DURATION (20), REPEATS (3), EXTRA_REPEATS (3), ROUNDS (1), IDLE_ON (server or neighbour),
# OTHER_CPU_LIMIT (25: a fan-out run during which other processes took more than this % of a
# core counts as disturbed), IDLE_SECS (5),
# CONNECT_PARALLELISM (200 handshakes in flight over all generators), PER_LOADGEN (connections
# per generator: at most 10 000 and what the descriptor limit and the port range allow),
# NICE (-10 as root: the server and generators run at that niceness), SERVER_CORE, LOADGEN_CORE,
# SKIP_BUILD=1, INSTALL_PEERS=1 (install missing peers with bench/peers/install.sh; otherwise
# they are skipped), IDLE_PRIORITY_PIDS (processes whose threads run at idle priority for the
# run, as root: a host agent that walks every descriptor each second; see bench/common.sh).
#
# Limits: the script raises the descriptor limit (as root up to fs.nr_open, raising that too)
# and, when one generator needs more ports than net.ipv4.ip_local_port_range has, widens the
# range to 1024-65535 for the run (restored on exit). A size the server's descriptor limit cannot
# hold is skipped with a message.
set -euo pipefail

cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-"1000 5000 10000 19000"}
SERVERS=${SERVERS:-"parley soketi sockudo"}
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-1000}
FANOUT_RATE=${FANOUT_RATE:-10}
DURATION=${DURATION:-20}
REPEATS=${REPEATS:-3}
EXTRA_REPEATS=${EXTRA_REPEATS:-3}
ROUNDS=${ROUNDS:-1}
if ! [[ $ROUNDS =~ ^[1-9][0-9]*$ ]]; then
    echo "error: ROUNDS is a whole number of at least 1, not $ROUNDS" >&2
    exit 2
fi
IDLE_ON=${IDLE_ON:-server}
case $IDLE_ON in server | neighbour) ;; *)
    echo "error: IDLE_ON is server or neighbour, not $IDLE_ON" >&2
    exit 2
    ;;
esac
NEIGHBOUR_PID=""
NEIGHBOUR_PORT=""
OTHER_CPU_LIMIT=${OTHER_CPU_LIMIT:-25}
IDLE_SECS=${IDLE_SECS:-5}
CONNECT_PARALLELISM=${CONNECT_PARALLELISM:-200}
SERVER_CORE=${SERVER_CORE:-0}
LOADGEN_CORE=${LOADGEN_CORE:-1}

# shellcheck source=bench/common.sh
. bench/common.sh

# Neighbours (compilers, say) get a smaller share of the cores than the server and the
# generators: the same for every server measured, and it keeps their latencies nearer their own.
NICE=${NICE:-$([ "$(id -u)" = 0 ] && echo -10 || echo 0)}
if [ "$NICE" != 0 ]; then
    SERVER_PIN=(nice -n "$NICE" "${SERVER_PIN[@]}")
    LOADGEN_PIN=(nice -n "$NICE" "${LOADGEN_PIN[@]}")
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-curve.XXXXXX")
# shellcheck source=bench/servers.sh
. bench/servers.sh

# --- Limits ---------------------------------------------------------------------------------

max_n=0
for n in $CONNECTIONS; do
    [ "$n" -gt "$max_n" ] && max_n=$n
done
want_fds=$((max_n + 1000))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want_fds" ] && [ "$(id -u)" = 0 ]; then
    # The hard limit may go up to fs.nr_open, and root may raise both.
    if [ "$(cat /proc/sys/fs/nr_open)" -lt "$want_fds" ]; then
        sysctl -qw fs.nr_open="$want_fds" 2>/dev/null || true
    fi
    ulimit -Hn "$want_fds" 2>/dev/null || true
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
[ "$FD_LIMIT" = unlimited ] && FD_LIMIT=1048576

read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
ORIGINAL_PORT_RANGE="$port_lo $port_hi"
PORT_RANGE_CHANGED=0
if [ -z "${PER_LOADGEN:-}" ]; then
    # Several generators even where one could hold more: the load is spread as it would have to
    # be past one process's limits.
    PER_LOADGEN=$((FD_LIMIT - 300))
    [ "$PER_LOADGEN" -gt 10000 ] && PER_LOADGEN=10000
fi
# Each generator connects from one address: it needs that many ephemeral ports.
if [ "$PER_LOADGEN" -gt $((port_hi - port_lo + 1 - 500)) ]; then
    if [ "$max_n" -gt "$FANOUT_SUBSCRIBERS" ] &&
        sysctl -qw net.ipv4.ip_local_port_range="1024 65535" 2>/dev/null; then
        PORT_RANGE_CHANGED=1
        read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
    fi
    range=$((port_hi - port_lo + 1 - 500))
    [ "$PER_LOADGEN" -gt "$range" ] && PER_LOADGEN=$range
fi

LOADGEN_PIDS=()
stop_loadgens() {
    local pid
    for pid in "${LOADGEN_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${LOADGEN_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    LOADGEN_PIDS=()
}
stop_neighbour() {
    stop_pid "$NEIGHBOUR_PID"
    NEIGHBOUR_PID="" NEIGHBOUR_PORT=""
}
cleanup() {
    stop_loadgens
    stop_server
    stop_neighbour
    if [ "$PORT_RANGE_CHANGED" = 1 ]; then
        sysctl -qw net.ipv4.ip_local_port_range="$ORIGINAL_PORT_RANGE" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# --- Readings -------------------------------------------------------------------------------

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo null; }
# Pages the kernel has charged to TCP socket buffers, all sockets of the host.
tcp_mem_pages() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat; }
# Bytes in the slab caches every connected socket takes: the socket itself, its inode, its
# file and its epoll registration (readable by root only; null otherwise).
socket_slab_bytes() {
    awk '$1 ~ /^(TCP|TCPv6|sock_inode_cache|filp|eventpoll_epi|eventpoll_pwq)$/ {s += $2 * $4}
         END {print s + 0}' /proc/slabinfo 2>/dev/null || echo null
}
# Bytes of buffer memory (received, queued to send, reserved) held by the server's own sockets.
server_skmem_bytes() {
    ss -tmnH state established "( sport = :$PORT )" 2>/dev/null | grep -o 'skmem:([^)]*)' |
        awk -F'[(),]' '{for (i = 2; i <= NF; i++) if ($i ~ /^[rwf][0-9]+$/) s += substr($i, 2)}
                       END {print s + 0}'
}
conntrack_count() { cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo null; }

# A new loopback source address for each generator of the run: 127.0.0.2, 127.0.0.3, ... A closed
# connection's port stays taken on its address for a minute (TIME_WAIT), and binding to port 0
# slows down badly as an address's ports fill, so no address is used twice.
ADDR_NEXT=0
next_source() {
    local i=$ADDR_NEXT
    ADDR_NEXT=$((ADDR_NEXT + 1))
    SOURCE="127.$((i / 62500 % 250)).$((i / 250 % 250)).$((i % 250 + 2))"
}
# Sockets still closing from the previous size would make the next baseline too high: wait
# (at most 20 s) until the host has no more TCP sockets than when the script started, give or
# take a hundred.
tcp_alloc() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "alloc") print $(i + 1)}' /proc/net/sockstat; }
TCP_ALLOC_START=$(tcp_alloc)
wait_sockets_closed() {
    for _ in $(seq 1 100); do
        [ "$(tcp_alloc)" -le $((TCP_ALLOC_START + 100)) ] && return 0
        sleep 0.2
    done
}

loadgen() {
    "${LOADGEN_PIN[@]}" target/release/parley-loadgen --host 127.0.0.1 --port "$PORT" \
        --app-id "$APP_ID" --key "$APP_KEY" --secret "$APP_SECRET" --server-pid "$SERVER_PID" "$@"
}

# Waits until every file named exists; fails if a generator exits first.
wait_ready() {
    local file pid
    while :; do
        local missing=0
        for file in "$@"; do
            [ -f "$file" ] || missing=1
        done
        [ "$missing" = 0 ] && return 0
        for pid in "${LOADGEN_PIDS[@]}"; do
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "error: a generator exited before it was connected (logs in $DIR)" >&2
                return 1
            fi
        done
        sleep 0.2
    done
}

RESULTS=$WORK/points.jsonl
: >"$RESULTS"

# Measures $SERVER at $1 connections; appends one JSON line to $RESULTS.
run_point() {
    local n=$1
    DIR=$WORK/$SERVER-$n-round$ROUND
    mkdir -p "$DIR"
    local fanout=$FANOUT_SUBSCRIBERS
    [ "$fanout" -gt "$n" ] && fanout=$n
    local idle=$((n - fanout))
    local holders=$(((idle + PER_LOADGEN - 1) / PER_LOADGEN))
    echo
    echo "== $SERVER, $n connections: $idle idle over $holders generator(s) + $fanout fan-out subscribers"

    wait_sockets_closed
    if [ "$IDLE_ON" = neighbour ] && [ "$idle" -gt 0 ]; then
        start_server "$DIR/neighbour.log" || return 1
        NEIGHBOUR_PID=$SERVER_PID NEIGHBOUR_PORT=$PORT
    fi
    start_server "$DIR/server.log" || return 1
    sleep 1
    local rss_before mem_before slab_before ct_before
    rss_before=$(rss_kb "$SERVER_PID")
    mem_before=$(tcp_mem_pages)
    slab_before=$(socket_slab_bytes)
    ct_before=$(conntrack_count)

    # Every generator's share of the handshakes in flight follows its share of connections, so
    # that all finish together.
    local ready=() i count left=$idle parallel
    for ((i = 0; i < holders; i++)); do
        count=$(((left + holders - i - 1) / (holders - i)))
        left=$((left - count))
        parallel=$((CONNECT_PARALLELISM * count / n))
        [ "$parallel" -lt 1 ] && parallel=1
        next_source
        PORT=${NEIGHBOUR_PORT:-$PORT} SERVER_PID=${NEIGHBOUR_PID:-$SERVER_PID} \
            loadgen --bind "$SOURCE" --connect-parallelism "$parallel" \
            --ready-file "$DIR/ready-$i.json" --release-file "$DIR/release" \
            idle --connections "$count" --channels 100 --idle-secs 0 \
            >"$DIR/idle-$i.txt" 2>"$DIR/idle-$i.err" &
        LOADGEN_PIDS+=($!)
        ready+=("$DIR/ready-$i.json")
    done
    parallel=$((CONNECT_PARALLELISM * fanout / n))
    [ "$parallel" -lt 1 ] && parallel=1
    next_source
    loadgen --bind "$SOURCE" --connect-parallelism "$parallel" \
        --ready-file "$DIR/ready-fanout.json" --release-file "$DIR/go" \
        fanout --subscribers "$fanout" --rate "$FANOUT_RATE" --duration "$DURATION" \
        >"$DIR/fanout-1.txt" 2>"$DIR/fanout-1.err" &
    local first_fanout=$!
    LOADGEN_PIDS+=("$first_fanout")
    ready+=("$DIR/ready-fanout.json")
    wait_ready "${ready[@]}" || return 1
    jq -c . "${ready[@]}" >"$DIR/setup.jsonl"
    echo "  connected: $(jq -s 'map(.connections_ok) | add' "$DIR/setup.jsonl") of $n" \
        "in $(jq -s 'map(.setup_secs) | max' "$DIR/setup.jsonl") s; idling $IDLE_SECS s"

    sleep "$IDLE_SECS"
    local rss_after mem_after slab_after ct_after skmem
    rss_after=$(rss_kb "$SERVER_PID")
    skmem=$(server_skmem_bytes)
    mem_after=$(tcp_mem_pages)
    slab_after=$(socket_slab_bytes)
    ct_after=$(conntrack_count)

    # Fan-out while the rest idle: the first run's subscribers were connected above; each further
    # run connects 1000 new ones (the server is back at N connections) and publishes at once.
    touch "$DIR/go"
    local runs=1 quiet=0 other
    wait "$first_fanout" || true
    : >"$DIR/fanout.jsonl"
    while :; do
        local line
        line=$(tail -n 1 "$DIR/fanout-$runs.txt")
        if jq -e .latency_p99_ms <<<"$line" >/dev/null 2>&1; then
            echo "$line" >>"$DIR/fanout.jsonl"
            other=$(jq -r '.other_cpu_pct // 1000' <<<"$line")
            echo "  fan-out run $runs: p50 $(jq -r .latency_p50_ms <<<"$line") ms," \
                "p99 $(jq -r .latency_p99_ms <<<"$line") ms, lost $(jq -r .lost <<<"$line")," \
                "server CPU $(jq -r .server_cpu_pct <<<"$line") %, other processes $other % of a core"
            if awk -v o="$other" -v l="$OTHER_CPU_LIMIT" 'BEGIN {exit !(o <= l)}'; then
                quiet=$((quiet + 1))
            fi
        else
            echo "  fan-out run $runs failed: $(tail -n 3 "$DIR/fanout-$runs.err")" >&2
        fi
        [ "$quiet" -ge "$REPEATS" ] && break
        [ "$runs" -ge $((REPEATS + EXTRA_REPEATS)) ] && break
        [ "$runs" -ge "$REPEATS" ] && [ "$EXTRA_REPEATS" = 0 ] && break
        runs=$((runs + 1))
        next_source
        loadgen --bind "$SOURCE" \
            fanout --subscribers "$fanout" --rate "$FANOUT_RATE" --duration "$DURATION" \
            >"$DIR/fanout-$runs.txt" 2>"$DIR/fanout-$runs.err" || true
    done

    # The idle generators report (and hang up) once released.
    touch "$DIR/release"
    local pid
    for pid in "${LOADGEN_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    LOADGEN_PIDS=()
    : >"$DIR/idle.jsonl"
    for ((i = 0; i < holders; i++)); do
        tail -n 1 "$DIR/idle-$i.txt" >>"$DIR/idle.jsonl"
    done
    local alive=true
    kill -0 "$SERVER_PID" 2>/dev/null || alive=false
    stop_server
    stop_neighbour
    # Let the closed sockets go before the next baseline.
    sleep 2

    jq -nc --arg server "$SERVER" --argjson n "$n" --argjson fanout "$fanout" --arg idle_on "$IDLE_ON" \
        --argjson holders "$holders" --argjson alive "$alive" \
        --argjson rss_before "$rss_before" --argjson rss_after "$rss_after" \
        --argjson mem_before "$mem_before" --argjson mem_after "$mem_after" \
        --argjson slab_before "$slab_before" --argjson slab_after "$slab_after" \
        --argjson ct_before "$ct_before" --argjson ct_after "$ct_after" --argjson skmem "$skmem" \
        --argjson page "$(getconf PAGESIZE)" \
        --slurpfile setup "$DIR/setup.jsonl" --slurpfile fanout_runs "$DIR/fanout.jsonl" \
        --slurpfile idle "$DIR/idle.jsonl" '
        {server: $server, connections: $n, fanout_subscribers: $fanout, idle_generators: $holders,
         idle_on: $idle_on,
         server_survived: $alive,
         connections_ok: ($setup | map(.connections_ok) | add),
         connections_failed: ($setup | map(.connections_failed) | add),
         setup_secs: ($setup | map(.setup_secs) | max),
         handshake_p99_ms: ($setup | map(.handshake_p99_ms) | max),
         listen_overflows: ($setup | map(.listen_overflows // 0) | max),
         rss_before_kb: $rss_before, rss_after_kb: $rss_after,
         tcp_mem_pages_before: $mem_before, tcp_mem_pages_after: $mem_after, page_bytes: $page,
         socket_slab_bytes_before: $slab_before, socket_slab_bytes_after: $slab_after,
         server_skmem_bytes: $skmem,
         conntrack_before: $ct_before, conntrack_after: $ct_after,
         dropped_while_idle: ($idle | map(.dropped_while_idle // 0) | add // 0),
         fanout_runs: $fanout_runs}' >>"$RESULTS"
}

echo "== connection curve: CONNECTIONS=\"$CONNECTIONS\" SERVERS=\"$SERVERS\"; descriptors per" \
    "process $FD_LIMIT, ports $port_lo-$port_hi, up to $PER_LOADGEN connections per generator;" \
    "logs in $WORK"
servers=()
for SERVER in $SERVERS; do
    if ! peer_installed "$SERVER"; then
        if [ "${INSTALL_PEERS:-0}" = 1 ] && [ "$SERVER" != parley ]; then
            bench/peers/install.sh "$SERVER"
        else
            echo "note: $SERVER is not installed; skipped (bench/peers/install.sh $SERVER, or INSTALL_PEERS=1)" >&2
            continue
        fi
    fi
    servers+=("$SERVER")
done

failed=0
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    [ "$ROUNDS" -gt 1 ] && echo "== round $ROUND of $ROUNDS"
    for n in $CONNECTIONS; do
        if [ $((n + 100)) -gt "$FD_LIMIT" ]; then
            [ "$ROUND" = 1 ] && echo "note: $n connections skipped: a server holding them needs" \
                "about $((n + 100)) open files and the limit here is $FD_LIMIT (raise" \
                "LimitNOFILE / the hard limit)" >&2
            continue
        fi
        # Servers in turn at each size, so that a neighbour's load falls on all of them alike.
        for SERVER in "${servers[@]}"; do
            if ! run_point "$n"; then
                echo "error: $SERVER at $n connections failed (logs in $DIR)" >&2
                failed=1
                stop_loadgens
                stop_server
                stop_neighbour
            fi
        done
    done
done

echo
python3 bench/curve_report.py "$RESULTS" --other-cpu-limit "$OTHER_CPU_LIMIT" \
    --fd-limit "$FD_LIMIT" --port-range "$port_lo-$port_hi" --per-loadgen "$PER_LOADGEN" \
    --idle-priority-pids "${IDLE_PRIORITY_PIDS:-}"
exit $failed

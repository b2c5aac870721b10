#!/usr/bin/env bash
# Parley's realtime server across nodes: fan-out and presence churn on one, two and three
# `parley realtime` nodes sharing one Redis (REDIS_URL, default redis://127.0.0.1:6379/, on a
# cluster channel of this run's own). Subscribers, churners and watchers are spread over every
# node (the generator's --ws-ports); HTTP publishes go to the first node. Every node is pinned to
# SERVER_CORE and the generator to LOADGEN_CORE, so more nodes means more work on the same core:
# what the ratios show is the cost of the cluster machinery, not how far it scales out.
#
# Usage: bench/cluster.sh [fanout] [presence-churn]   (default: both)
# NODES="1 2 3" (the node counts, in order; the first is the one ratios are taken to),
# DURATION (seconds per run, default 20), FANOUT_SUBSCRIBERS (5000), FANOUT_RATE (10),
# CHURNERS (200), CHURN_CHANNELS (20), CHURN_WATCHERS (4 per channel), SKIP_BUILD=1.
# Prints each run's figures, then a table of each figure with its ratio to the first node
# count's, then (last line) one JSON object with every run and the ratios.
set -euo pipefail

cd "$(dirname "$0")/.."

NODES=${NODES:-"1 2 3"}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/}
DURATION=${DURATION:-20}
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-5000}
FANOUT_RATE=${FANOUT_RATE:-10}
CHURNERS=${CHURNERS:-200}
CHURN_CHANNELS=${CHURN_CHANNELS:-20}
CHURN_WATCHERS=${CHURN_WATCHERS:-4}
SERVER_CORE=${SERVER_CORE:-0}
LOADGEN_CORE=${LOADGEN_CORE:-1}

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
    scenarios=(fanout presence-churn)
fi
for scenario in "${scenarios[@]}"; do
    case $scenario in
        fanout | presence-churn) ;;
        *) echo "unknown scenario: $scenario (fanout or presence-churn)" >&2; exit 2 ;;
    esac
done

# shellcheck source=bench/common.sh
. bench/common.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-cluster-bench.XXXXXX")
# shellcheck source=bench/servers.sh
. bench/servers.sh
CHANNEL_PREFIX="parley-bench-cluster:$$"
NODE_PIDS=()
NODE_PORTS=()

stop_nodes() {
    local pid
    for pid in "${NODE_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${NODE_PIDS[@]}"; do
        stop_pid "$pid"
    done
    NODE_PIDS=()
    NODE_PORTS=()
}

# The run's keys in Redis (some names hold a newline, so they are deleted inside Redis).
forget_redis_keys() {
    command -v redis-cli >/dev/null || return 0
    redis-cli -u "$REDIS_URL" eval '
        local cursor, n = "0", 0
        repeat
            local r = redis.call("SCAN", cursor, "MATCH", ARGV[1], "COUNT", 1000)
            cursor = r[1]
            for _, k in ipairs(r[2]) do redis.call("DEL", k); n = n + 1 end
        until cursor == "0"
        return n' 0 "$CHANNEL_PREFIX:*" >/dev/null 2>&1 || true
}
trap 'stop_nodes; forget_redis_keys' EXIT
trap 'exit 130' INT TERM

# Starts $1 nodes sharing the cluster channel $2; waits until every one accepts connections.
start_nodes() {
    local count=$1 channel=$2 i port
    for i in $(seq 1 "$count"); do
        port=$(free_port)
        start_parley "$port" "$WORK/$channel-node-$i.log" PARLEY_DATA_DIR="$WORK/data-$i" \
            REDIS_URL="$REDIS_URL" PARLEY_CLUSTER_CHANNEL="$channel"
        NODE_PIDS+=($!)
        NODE_PORTS+=("$port")
    done
    for i in "${!NODE_PORTS[@]}"; do
        for _ in $(seq 1 300); do
            (exec 3<>"/dev/tcp/127.0.0.1/${NODE_PORTS[$i]}") 2>/dev/null && continue 2
            kill -0 "${NODE_PIDS[$i]}" 2>/dev/null || break
            sleep 0.1
        done
        echo "error: node $((i + 1)) did not start:" >&2
        cat "$WORK/$channel-node-$((i + 1)).log" >&2
        return 1
    done
}

# CPU ticks (user + system) of every node so far.
nodes_ticks() {
    local pid total=0 fields
    for pid in "${NODE_PIDS[@]}"; do
        # Fields 14 and 15 of /proc/PID/stat, counted after the ")" closing the command name.
        fields=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')
        total=$((total + fields))
    done
    echo "$total"
}

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
failed=0
for scenario in "${scenarios[@]}"; do
    for n in $NODES; do
        case $scenario in
            fanout) args=(fanout --subscribers "$FANOUT_SUBSCRIBERS" --rate "$FANOUT_RATE" --duration "$DURATION") ;;
            presence-churn) args=(presence-churn --churners "$CHURNERS" --channels "$CHURN_CHANNELS"
                --watchers "$CHURN_WATCHERS" --duration "$DURATION") ;;
        esac
        channel="$CHANNEL_PREFIX:$scenario:$n"
        echo
        echo "== $scenario on $n node(s): ${args[*]}"
        start_nodes "$n" "$channel"
        ports=$(
            IFS=,
            echo "${NODE_PORTS[*]}"
        )
        out="$WORK/$scenario-$n.txt"
        ticks_before=$(nodes_ticks)
        started=$(date +%s.%N)
        if "${LOADGEN_PIN[@]}" target/release/parley-loadgen --host 127.0.0.1 \
            --port "${NODE_PORTS[0]}" --ws-ports "$ports" --app-id $APP_ID --key $APP_KEY \
            --secret $APP_SECRET --server-pid "${NODE_PIDS[0]}" --db-process redis-server \
            "${args[@]}" | tee "$out"; then
            ticks_after=$(nodes_ticks)
            ended=$(date +%s.%N)
            tail -n 1 "$out" | python3 -c '
import json, os, sys
run = json.loads(sys.stdin.read())
ticks = int(sys.argv[3]) - int(sys.argv[2])
secs = float(sys.argv[5]) - float(sys.argv[4])
run["nodes"] = int(sys.argv[1])
run["nodes_cpu_pct"] = round(ticks / os.sysconf("SC_CLK_TCK") * 100 / secs, 1)
print(json.dumps(run))' "$n" "$ticks_before" "$ticks_after" "$started" "$ended" >>"$RESULTS"
        else
            echo "error: $scenario on $n node(s) failed" >&2
            failed=1
        fi
        for i in "${!NODE_PIDS[@]}"; do
            if ! kill -0 "${NODE_PIDS[$i]}" 2>/dev/null; then
                echo "error: node $((i + 1)) died during $scenario; its log:" >&2
                tail -n 30 "$WORK/$channel-node-$((i + 1)).log" >&2
                failed=1
            fi
        done
        stop_nodes
    done
done

echo
echo "== across nodes (ratio to the first node count's figure, same run; logs in $WORK)"
python3 - "$RESULTS" <<'EOF'
import json, sys

runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
figures = {
    "fanout": ["latency_p50_ms", "latency_p99_ms", "deliveries_per_sec", "lost",
               "server_cpu_pct", "nodes_cpu_pct", "db_cpu_pct", "other_cpu_pct", "errors"],
    "presence-churn": ["joins_leaves_per_sec", "join_p50_ms", "join_p99_ms", "added_p50_ms",
                       "added_p99_ms", "removed_p50_ms", "removed_p99_ms", "mismatched",
                       "missing", "extra", "duplicates", "server_cpu_pct", "nodes_cpu_pct",
                       "db_cpu_pct", "other_cpu_pct", "errors"],
}
ratios = {}
for scenario, keys in figures.items():
    rows = [r for r in runs if r["scenario"] == scenario]
    if not rows:
        continue
    base = rows[0]
    print(f"\n{scenario}: " + " | ".join(f"{r['nodes']} node(s)" for r in rows))
    ratios[scenario] = {}
    for key in keys:
        cells = []
        for r in rows:
            v, b = r.get(key), base.get(key)
            cell = "n/a" if v is None else f"{v}"
            if r is not base and isinstance(v, (int, float)) and isinstance(b, (int, float)) and b:
                ratio = round(v / b, 3)
                ratios[scenario].setdefault(key, {})[str(r["nodes"])] = ratio
                cell += f" (×{ratio})"
            cells.append(cell)
        print(f"  {key:<22} " + " | ".join(cells))
print(json.dumps({"runs": runs, "ratios_to_first": ratios}))
EOF
exit $failed

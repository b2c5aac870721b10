# Shared by every bench/ script (sourced, not run): raises the descriptor limit,
# builds the release binaries unless SKIP_BUILD=1, and sets SERVER_PIN / LOADGEN_PIN, arrays
# rather than a shell function so that `$!` is the server's own pid (taskset execs it): that pid
# is what --server-pid reads memory from and what gets killed. Needs SERVER_CORE, LOADGEN_CORE.

# 10k sockets on each side: the default 1024 descriptors is far too few.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== building release binaries"
    cargo build --release -p parley -p parley-loadgen
fi
for bin in target/release/parley target/release/parley-loadgen; do
    [ -x "$bin" ] || { echo "error: $bin is missing; run without SKIP_BUILD" >&2; exit 1; }
done

SERVER_PIN=()
LOADGEN_PIN=()
if command -v taskset >/dev/null; then
    SERVER_PIN=(taskset -c "$SERVER_CORE")
    LOADGEN_PIN=(taskset -c "$LOADGEN_CORE")
else
    echo "warning: taskset not found, running unpinned" >&2
fi

# IDLE_PRIORITY_PIDS="pid ...": those processes' threads run at idle priority (SCHED_IDLE: only
# on a core nothing else wants) for the run, and get their own policy back when the script ends,
# however it ends. For a host agent that wakes up to walk every descriptor of every process: its
# work grows with the connections under test and lands on the server's or the generator's core
# in bursts (docs/capacity.md, runs AD-AH, and "What runs out first"). Needs root.
restore_priorities() {
    local entry pid task tid policy prio reset
    # Threads started during the run inherited idle priority: back to the default first.
    for task in $(for pid in $IDLE_PRIORITY_PIDS; do echo /proc/"$pid"/task/*; done); do
        chrt -o -p 0 "${task##*/}" 2>/dev/null || true
    done
    for entry in "$@"; do
        IFS=: read -r tid policy prio reset <<<"$entry"
        case $policy in
            SCHED_FIFO) policy=-f ;; SCHED_RR) policy=-r ;; SCHED_BATCH) policy=-b ;;
            SCHED_IDLE) policy=-i ;; *) policy=-o ;;
        esac
        # shellcheck disable=SC2086
        chrt $reset "$policy" -p "$prio" "$tid" 2>/dev/null || true
    done
}
lower_priorities() {
    local pid task tid line policy prio reset entry saved=()
    if [ "$(id -u)" != 0 ] || ! command -v chrt >/dev/null; then
        echo "error: IDLE_PRIORITY_PIDS needs root and chrt (util-linux)" >&2
        exit 2
    fi
    # Every pid checked and every thread's policy saved before any is changed, and the watcher
    # started before the first change: a refusal or a kill part-way leaves nothing lowered.
    for pid in $IDLE_PRIORITY_PIDS; do
        [ -d "/proc/$pid/task" ] || { echo "error: IDLE_PRIORITY_PIDS: no process $pid" >&2; exit 2; }
    done
    for pid in $IDLE_PRIORITY_PIDS; do
        for task in /proc/"$pid"/task/*; do
            tid=${task##*/}
            line=$(chrt -p "$tid" 2>/dev/null) || continue
            policy=$(sed -n 's/.*policy: \([A-Z_]*\).*/\1/p' <<<"$line")
            prio=$(sed -n 's/.*priority: \([0-9]*\).*/\1/p' <<<"$line")
            reset=$(grep -q RESET_ON_FORK <<<"$line" && echo -R || true)
            saved+=("$tid:$policy:${prio:-0}:$reset")
        done
    done
    # A watcher rather than a trap: each script sets its own traps, and a killed script still
    # gives the priorities back.
    (
        while kill -0 $$ 2>/dev/null; do sleep 1; done
        restore_priorities "${saved[@]}"
    ) >/dev/null 2>&1 &
    for entry in "${saved[@]}"; do
        chrt -i -p 0 "${entry%%:*}" 2>/dev/null || true
    done
    for pid in $IDLE_PRIORITY_PIDS; do
        echo "== threads of process $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) at idle priority for this run"
    done
}
if [ -n "${IDLE_PRIORITY_PIDS:-}" ]; then
    lower_priorities
fi

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

# Stops process $1 if it runs: SIGTERM, its shutdown grace (5 s), then SIGKILL.
stop_pid() {
    local pid=$1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

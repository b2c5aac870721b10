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

#!/usr/bin/env bash
# Runs a command (the test suites) with a PostgreSQL and a Redis to test against.
#
# PARLEY_TEST_POSTGRES_URL and PARLEY_TEST_REDIS_URL name them (default: the usual local ports).
# When one does not answer, a throwaway instance is started from the installed server package on
# a free port, in a temporary folder, and removed afterwards; when the package is missing and we
# are root, it is installed from Debian's packages first. When none can be had, the variable is
# unset, so the suites that need it skip with one line saying why, and this script says so too.
#
# Usage: tests/with-services.sh COMMAND [ARGS...]
set -uo pipefail

say() { echo "services: $*" >&2; }

started=""
why=""
scratch=$(mktemp -d "${TMPDIR:-/tmp}/parley-services.XXXXXX")
pg_data=""
redis_pid=""
cleanup() {
    if [[ -n "$pg_data" ]]; then
        as_postgres "$(pg_bin pg_ctl)" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [[ -n "$redis_pid" ]]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

# A TCP port nobody listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether host:port accepts a TCP connection within 2 s.
answers() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# host and port of a URL such as postgres://user@host:port/db, with the scheme's default port.
host_of() { local rest=${1#*://}; rest=${rest#*@}; rest=${rest%%/*}; echo "${rest%%:*}"; }
port_of() {
    local rest=${1#*://}; rest=${rest#*@}; rest=${rest%%/*}
    if [[ "$rest" == *:* ]]; then echo "${rest##*:}"; else echo "$2"; fi
}

can_install() { [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; }

apt_updated=""
apt_install() {
    if [[ -z "$apt_updated" ]]; then
        apt-get update -qq >/dev/null 2>&1 || return 1
        apt_updated=yes
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# --- PostgreSQL -----------------------------------------------------------------------------

# The newest installed server's binary NAME, or nothing.
pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$dir" && -x "$dir/$1" ]] && echo "$dir/$1"
}

# PostgreSQL refuses to run as root, so the throwaway cluster belongs to the `postgres` user that
# the Debian package creates.
as_postgres() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_postgres() {
    if [[ -z "$(pg_bin initdb)" ]]; then
        if ! can_install; then
            why="no PostgreSQL server is installed (and not root to install one)"
            return 1
        fi
        say "installing PostgreSQL from Debian's packages"
        apt_install postgresql || { why="apt-get install postgresql failed"; return 1; }
    fi
    local port
    port=$(free_port)
    pg_data="$scratch/postgres"
    mkdir -p "$pg_data"
    [[ $(id -u) == 0 ]] && chown postgres "$scratch" "$pg_data"
    chmod 0755 "$scratch"
    as_postgres "$(pg_bin initdb)" -D "$pg_data" -U postgres -A trust >"$scratch/initdb.log" 2>&1 ||
        { why="initdb failed: $(tail -n 1 "$scratch/initdb.log")"; pg_data=""; return 1; }
    as_postgres "$(pg_bin pg_ctl)" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 \
        -o "-p $port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
        start >/dev/null 2>&1 ||
        { why="the server did not start: $(tail -n 1 "$pg_data/server.log" 2>/dev/null)"; return 1; }
    as_postgres "$(pg_bin createdb)" -h 127.0.0.1 -p "$port" -U postgres test ||
        { why="createdb test failed"; return 1; }
    started="postgres://postgres@127.0.0.1:$port/test"
}

pg_url=${PARLEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1/test}
if answers "$(host_of "$pg_url")" "$(port_of "$pg_url" 5432)"; then
    export PARLEY_TEST_POSTGRES_URL=$pg_url
elif start_postgres; then
    say "PostgreSQL at $pg_url does not answer; started a throwaway one at $started"
    export PARLEY_TEST_POSTGRES_URL=$started
else
    say "skipping the PostgreSQL suites: $pg_url does not answer and $why"
    unset PARLEY_TEST_POSTGRES_URL
fi

# --- Redis ----------------------------------------------------------------------------------

start_redis() {
    if ! command -v redis-server >/dev/null; then
        if ! can_install; then
            why="no redis-server is installed (and not root to install one)"
            return 1
        fi
        say "installing Redis from Debian's packages"
        apt_install redis-server || { why="apt-get install redis-server failed"; return 1; }
    fi
    local port
    port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --dir "$scratch" >"$scratch/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 100); do
        answers 127.0.0.1 "$port" && { started="redis://127.0.0.1:$port/"; return 0; }
        kill -0 "$redis_pid" 2>/dev/null || break
        sleep 0.1
    done
    why="redis-server did not start: $(tail -n 1 "$scratch/redis.log")"
    return 1
}

redis_url=${PARLEY_TEST_REDIS_URL:-redis://127.0.0.1:6379/}
if answers "$(host_of "$redis_url")" "$(port_of "$redis_url" 6379)"; then
    export PARLEY_TEST_REDIS_URL=$redis_url
elif start_redis; then
    say "Redis at $redis_url does not answer; started a throwaway one at $started"
    export PARLEY_TEST_REDIS_URL=$started
else
    say "skipping the Redis (scale-out) suites: $redis_url does not answer and $why"
    unset PARLEY_TEST_REDIS_URL
fi

"$@"

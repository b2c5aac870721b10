#!/usr/bin/env bash
# docs/deploy.md's three nodes, for real on this machine: three `parley serve` sharing one
# PostgreSQL database, Redis and one data directory (what a shared mount gives three machines),
# started as the guide says (the first alone, then the others), behind nginx with
# packaging/nginx/parley.conf and then behind Caddy with packaging/caddy/Caddyfile, both with
# TLS. Only the addresses, the name, the listen ports and the certificate are changed in those
# files. Through each proxy tests/deploy/client.mjs checks /up, what browsers are told
# (REVERB_SCHEME/PORT), a WebSocket upgrade with wss, channel auth, messages crossing nodes and
# an attachment served by every node.
#
#   tests/deploy/run.sh                              # uses target/release/parley (builds it if missing)
#   PARLEY_BIN=/usr/bin/parley tests/deploy/run.sh
#
# PostgreSQL from PARLEY_TEST_POSTGRES_URL (a database of its own, dropped afterwards), Redis
# from PARLEY_TEST_REDIS_URL (a pub/sub channel of its own). Missing PostgreSQL or Redis skip the
# test saying why; nginx and Caddy are installed from Debian's packages when missing (as root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pg="${PARLEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1/test}"
redis="${PARLEY_TEST_REDIS_URL:-redis://127.0.0.1:6379/}"
bin="${PARLEY_BIN:-$repo/target/release/parley}"

fail() { echo "deploy test: FAILED: $*" >&2; exit 1; }
skip() { echo "skipped: the three-node deployment test ($*)"; exit 0; }
step() { echo "== $*"; }

command -v psql >/dev/null || skip "no psql to create its database"
psql "$pg" -Atqc 'select 1' >/dev/null 2>&1 || skip "no PostgreSQL at PARLEY_TEST_POSTGRES_URL"
command -v redis-cli >/dev/null || skip "no redis-cli"
[[ "$(redis-cli -u "$redis" ping 2>/dev/null)" == PONG ]] || skip "no Redis at PARLEY_TEST_REDIS_URL"

missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v caddy >/dev/null || missing+=(caddy)
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || fail "needs ${missing[*]} (apt-get install ${missing[*]}), or root to install it"
  step "apt-get install ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "could not install ${missing[*]}"
fi

if [[ ! -x "$bin" ]]; then
  step "cargo build --release -p parley"
  (cd "$repo" && cargo build --release -p parley) || fail "cargo build"
fi

step "npm ci (pusher-js)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci"

work="$(mktemp -d /tmp/parley-deploy-test.XXXXXX)"
db="parley_deploy_test_$$"
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  set +e
  stop_all
  psql "$pg" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  psql "$pg" -qc "DROP DATABASE IF EXISTS ${db}_restore WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

psql "$pg" -qc "CREATE DATABASE $db" || fail "cannot create database $db"
node_db="${pg%/*}/$db"

# A free TCP port for a proxy (nginx and Caddy cannot be asked for port 0), below the range the
# kernel hands out for port 0 and outgoing connections, so no node or client takes it meanwhile.
free_port() {
  node -e '
    const net = require("net");
    const low = Number(require("fs").readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0]);
    const attempt = (left) => {
      const port = 10000 + Math.floor(Math.random() * (low - 10000));
      const server = net.createServer().once("error", () => (left ? attempt(left - 1) : process.exit(1)));
      server.listen(port, "0.0.0.0", () => { console.log(port); server.close(); });
    };
    attempt(50);'
}

# A certificate authority and a certificate for localhost, for nginx.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Parley test CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$work/site.key" -out "$work/site.csr" 2>/dev/null
openssl x509 -req -in "$work/site.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile <(printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth') -out "$work/site.pem" 2>/dev/null

# The settings every node shares (docs/deploy.md, "Three nodes").
export DATABASE_URL="$node_db"
export REDIS_URL="$redis"
export PARLEY_CLUSTER_CHANNEL="parley-deploy-test-$$"
export REVERB_APP_ID=100001
export REVERB_APP_KEY="deploykey$$"
REVERB_APP_SECRET="$(openssl rand -hex 24)"
export REVERB_APP_SECRET
export PARLEY_DATA_DIR="$work/data"
export APP_ENV=production
export PARLEY_TRUSTED_PROXIES=127.0.0.1
export PARLEY_HTTP_ADDR=127.0.0.1:0
export REVERB_SERVER_HOST=127.0.0.1
export REVERB_SERVER_PORT=0
export RUST_LOG=warn,parley=info

# Starts one node; sets node_http and node_realtime from what it prints.
start_node() {
  local n=$1 fifo="$work/node$1.out" line
  rm -f "$fifo"; mkfifo "$fifo"
  "$bin" serve >"$fifo" 2>"$work/node$n.err" &
  pids+=($!)
  exec {fd}<"$fifo"
  node_http="" node_realtime=""
  while IFS= read -r -t 60 line <&$fd; do
    [[ "$line" =~ ^Parley\ realtime\ server\ listening\ on\ (http://[^ ]+) ]] && node_realtime="${BASH_REMATCH[1]}"
    [[ "$line" =~ ^Parley\ listening\ on\ (http://[^ ]+)$ ]] && node_http="${BASH_REMATCH[1]}"
    [[ -n "$node_http" && -n "$node_realtime" ]] && break
  done
  [[ -n "$node_http" ]] || { cat "$work/node$n.err"; fail "node $n did not start"; }
  cat <&$fd >/dev/null &
}

# Runs the three nodes with browsers told to use https://localhost:$1; fills http[] realtime[].
start_nodes() {
  export PARLEY_PUBLIC_URL="https://localhost:$1" REVERB_PORT="$1" REVERB_SCHEME=https
  http=() realtime=()
  # The first node alone: it migrates the database and writes the shared secrets.
  for n in 1 2 3; do
    start_node "$n"
    http+=("$node_http") realtime+=("$node_realtime")
  done
  echo "nodes: ${http[*]} (chat), ${realtime[*]} (realtime)"
}

# The guide's way to make a widget: `parley widget create` with the nodes' settings.
widget_token="$("$bin" widget create --name "Deploy test" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')"
[[ "$widget_token" == cbw_* ]] || fail "parley widget create"

hostport() { echo "${1#http://}"; }

# What the nodes said, when something failed.
node_logs() {
  for n in 1 2 3; do
    echo "-- node $n (stderr, last lines)"
    tail -5 "$work/node$n.err" 2>/dev/null
  done
}

run_client() { # proxy URL
  NODE_EXTRA_CA_CERTS="$1" node "$here/client.mjs" "$2" "$widget_token" \
    "$(IFS=,; echo "${http[*]}")" "$(IFS=,; echo "${realtime[*]}")"
}

# -- nginx ------------------------------------------------------------------------------------
step "three nodes behind nginx (packaging/nginx/parley.conf)"
port="$(free_port)"
start_nodes "$port"
conf="$work/nginx-site.conf"
sed -e "s#10.0.0.11:8000#$(hostport "${http[0]}")#; s#10.0.0.12:8000#$(hostport "${http[1]}")#; s#10.0.0.13:8000#$(hostport "${http[2]}")#" \
    -e "s#10.0.0.11:8080#$(hostport "${realtime[0]}")#; s#10.0.0.12:8080#$(hostport "${realtime[1]}")#; s#10.0.0.13:8080#$(hostport "${realtime[2]}")#" \
    -e "s#listen 443 ssl http2;#listen 127.0.0.1:$port ssl http2;#; /listen \[::\]:443/d" \
    -e "s#listen 80;#listen 127.0.0.1:$(free_port);#; /listen \[::\]:80;/d" \
    -e "s#server_name chat.example.com;#server_name localhost;#" \
    -e "s#/etc/letsencrypt/live/chat.example.com/fullchain.pem#$work/site.pem#; s#/etc/letsencrypt/live/chat.example.com/privkey.pem#$work/site.key#" \
    "$repo/packaging/nginx/parley.conf" >"$conf"
grep -q '10\.0\.0\.' "$conf" && fail "an address of the example is left in the nginx config"
diff <(sed 's/^ *//' "$repo/packaging/nginx/parley.conf") <(sed 's/^ *//' "$conf") | grep '^[<>]' | sed 's/^/  changed: /' || true
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<EOF
daemon off;
user root;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log $work/nginx/access.log;
    client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
    include $conf;
}
EOF
nginx -t -q -c "$work/nginx.conf" -e "$work/nginx/error.log" || { cat "$work/nginx/error.log"; fail "nginx -t"; }
nginx -c "$work/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
pids+=("$nginx_pid")
curl -s -o /dev/null --retry 10 --retry-connrefused --retry-max-time 30 --cacert "$work/ca.pem" "https://localhost:$port/up" \
  || { cat "$work/nginx/error.log"; fail "nginx does not answer"; }
run_client "$work/ca.pem" "https://localhost:$port" || { tail -5 "$work/nginx/error.log"; node_logs; fail "through nginx"; }
# nginx logs a WebSocket when it closes: stop it gracefully (it waits for them) and then look.
kill -QUIT "$nginx_pid"; wait "$nginx_pid" || true
upgrades="$(grep -c 'GET /app/.* 101 ' "$work/nginx/access.log" || true)"
(( upgrades >= 1 )) || fail "nginx logged no WebSocket upgrade (101) on /app/"
echo "ok: nginx logged $upgrades WebSocket upgrade(s) (101) on /app/"

# The PostgreSQL backup docs/deploy.md describes, while the nodes run, restored elsewhere.
pg_dump --format=custom --file="$work/parley.dump" "$node_db" || fail "pg_dump"
psql "$pg" -qc "CREATE DATABASE ${db}_restore" || fail "cannot create ${db}_restore"
pg_restore --no-owner --dbname="${pg%/*}/${db}_restore" "$work/parley.dump" || fail "pg_restore"
# Visitors' messages: all were sent before the dump (the bot may still be answering).
count() { psql "$1" -Atqc "SELECT count(*) FROM messages WHERE sender_type = 'visitor'"; }
[[ "$(count "${pg%/*}/${db}_restore")" == "$(count "$node_db")" ]] || fail "the restored database differs"
echo "ok: pg_dump while the nodes run, pg_restore into another database: $(count "$node_db") visitor messages in both"
stop_all

# -- Caddy ------------------------------------------------------------------------------------
step "three nodes behind Caddy (packaging/caddy/Caddyfile)"
port="$(free_port)"
start_nodes "$port"
caddyfile="$work/Caddyfile"
{
  # Caddy's own CA for localhost, no admin endpoint, nothing installed in the system's trust.
  printf '{\n\tadmin off\n\tskip_install_trust\n\thttp_port %s\n\thttps_port %s\n\tstorage file_system %s\n}\n' \
    "$(free_port)" "$port" "$work/caddy"
  sed -e "s#10.0.0.11:8000#$(hostport "${http[0]}")#; s#10.0.0.12:8000#$(hostport "${http[1]}")#; s#10.0.0.13:8000#$(hostport "${http[2]}")#" \
      -e "s#10.0.0.11:8080#$(hostport "${realtime[0]}")#; s#10.0.0.12:8080#$(hostport "${realtime[1]}")#; s#10.0.0.13:8080#$(hostport "${realtime[2]}")#" \
      -e "s#^chat.example.com {#localhost {\n\ttls internal#" \
      "$repo/packaging/caddy/Caddyfile"
} >"$caddyfile"
grep -q '10\.0\.0\.' "$caddyfile" && fail "an address of the example is left in the Caddyfile"
caddy validate --config "$caddyfile" --adapter caddyfile >"$work/caddy-validate.log" 2>&1 \
  || { cat "$work/caddy-validate.log"; fail "caddy validate"; }
XDG_DATA_HOME="$work/caddy-home" XDG_CONFIG_HOME="$work/caddy-home" \
  caddy run --config "$caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
pids+=($!)
ca="$work/caddy/pki/authorities/local/root.crt"
curl -s -o /dev/null -k --retry 10 --retry-connrefused --retry-max-time 30 "https://localhost:$port/up" \
  || { cat "$work/caddy.log"; fail "Caddy does not answer"; }
[[ -f "$ca" ]] || fail "no Caddy CA at $ca"
run_client "$ca" "https://localhost:$port" || { tail -5 "$work/caddy.log"; node_logs; fail "through Caddy"; }
stop_all

echo "deploy test: OK"

#!/usr/bin/env bash
# The deployment files say what the code does: every setting named in the package's settings
# file and unit, the Dockerfile, compose.yaml and its files, and docs/deploy.md is one the code
# reads; the ports and paths they share agree with each other. No container engine is needed
# (none can run images on the test machine; see docs/deploy.md).
#
#   tests/deploy/check-names.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

failures=0
bad() { echo "check-names: $*" >&2; failures=$((failures + 1)); }

# Every environment name the Rust code reads, as a string literal.
# RUST_LOG is read by tracing-subscriber's EnvFilter::try_from_default_env (crates/parley/src/cli.rs).
known="$(grep -rhoE '"[A-Z][A-Z0-9_]*_[A-Z0-9_]+"' crates/*/src | tr -d '"'; echo RUST_LOG)"
known="$(sort -u <<<"$known")"
grep -q 'EnvFilter::try_from_default_env' crates/parley/src/cli.rs || { echo "check-names: RUST_LOG is no longer read as assumed" >&2; exit 1; }
reads() { grep -qx "$1" <<<"$known"; }
# Names that belong to other programs: PostgreSQL's image, compose's proxy.
foreign='^(POSTGRES_(USER|PASSWORD|DB)|PROXY_(SITE|HTTP_PORT|HTTPS_PORT))$'
pattern='(PARLEY|REVERB|PUSHER|REDIS|DATABASE|BROADCAST|APP|RUST)_[A-Z0-9_]*[A-Z0-9]'

check_file() { # file, names...
  local file=$1 name; shift
  for name in "$@"; do
    [[ "$name" =~ $foreign ]] && continue
    reads "$name" || bad "$file names $name, which the code does not read"
  done
}

mapfile -t names < <(grep -oE "^#?$pattern=" packaging/deb/parley.env | tr -d '#=' | sort -u)
check_file packaging/deb/parley.env "${names[@]}"
mapfile -t names < <(sed -n 's/^Environment=\([A-Z0-9_]*\)=.*/\1/p' packaging/deb/parley.service)
check_file packaging/deb/parley.service "${names[@]}"
mapfile -t names < <(grep -oE "\b$pattern=" Dockerfile | tr -d '=' | sort -u)
check_file Dockerfile "${names[@]}"
mapfile -t names < <(grep -oE "^ +[A-Z][A-Z0-9_]+:" compose.yaml | tr -d ' :' | sort -u)
check_file compose.yaml "${names[@]}"
mapfile -t names < <(grep -oE "^#?$pattern=" packaging/compose/env.example | tr -d '#=' | sort -u)
check_file packaging/compose/env.example "${names[@]}"
mapfile -t names < <(grep -ohE "\b$pattern\b" docs/deploy.md packaging/nginx/parley.conf packaging/caddy/Caddyfile | sort -u)
check_file "docs/deploy.md and the proxy examples" "${names[@]}"

# compose.yaml's ${VAR} are set in env.example (or have a default there).
for name in $(grep -oE '\$\{[A-Z_]+' compose.yaml | tr -d '${' | sort -u); do
  grep -qE "^#?$name=" packaging/compose/env.example || grep -qE "\\\$\{$name:-" compose.yaml \
    || bad "compose.yaml uses \${$name}, which env.example does not set and compose.yaml gives no default"
done

# The ports: the Dockerfile's addresses, its EXPOSE and healthcheck, the proxies' upstreams.
grep -q 'PARLEY_HTTP_ADDR=0.0.0.0:8000' Dockerfile || bad "Dockerfile: the chat port is not 0.0.0.0:8000"
grep -q 'REVERB_SERVER_PORT=8080' Dockerfile || bad "Dockerfile: the realtime port is not 8080"
grep -q '^EXPOSE 8000 8080$' Dockerfile || bad "Dockerfile: EXPOSE is not 8000 8080"
grep -q '/dev/tcp/127.0.0.1/8000' Dockerfile && grep -q 'GET /up ' Dockerfile || bad "Dockerfile: the healthcheck is not GET /up on 8000"
for file in packaging/compose/Caddyfile packaging/caddy/Caddyfile packaging/nginx/parley.conf; do
  grep -qE ':8080\b' "$file" && grep -qE ':8000\b' "$file" || bad "$file does not send to ports 8000 and 8080"
  grep -qE '/app/' "$file" || bad "$file does not route the WebSocket path /app/"
done
# compose: the Caddyfile's upstreams are compose's services, the mounted files exist.
for host in $(grep -oE 'parley[0-9]+:8000' packaging/compose/Caddyfile | cut -d: -f1); do
  grep -qE "^  $host:$" compose.yaml || bad "packaging/compose/Caddyfile sends to $host, not a compose service"
done
for path in $(grep -oE '\./[A-Za-z0-9_./-]+:' compose.yaml | tr -d ':'); do
  [[ -e "$path" ]] || bad "compose.yaml mounts $path, which does not exist"
done
# The data directory is the same everywhere.
grep -q 'PARLEY_DATA_DIR=/var/lib/parley' Dockerfile || bad "Dockerfile: PARLEY_DATA_DIR is not /var/lib/parley"
grep -q 'VOLUME \["/var/lib/parley"\]' Dockerfile || bad "Dockerfile: no volume at /var/lib/parley"
grep -q 'parley-data:/var/lib/parley' compose.yaml || bad "compose.yaml: the data volume is not at /var/lib/parley"
grep -q '^PARLEY_DATA_DIR=/var/lib/parley$' packaging/deb/parley.env || bad "parley.env: PARLEY_DATA_DIR is not /var/lib/parley"
grep -q '^ReadWritePaths=/var/lib/parley$' packaging/deb/parley.service || bad "parley.service does not write /var/lib/parley"

if ((failures)); then
  echo "check-names: FAILED ($failures)" >&2
  exit 1
fi
echo "check-names: OK (settings in the package, Dockerfile, compose.yaml and docs/deploy.md are read by the code; ports and paths agree)"

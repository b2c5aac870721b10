#!/usr/bin/env bash
# The .deb, installed and run the way a server would: builds it with cargo-deb (a release build),
# installs it with `dpkg -i`, checks the parley user, the modes and owners the package promises
# and the unit (`systemd-analyze verify`), starts Parley (with systemctl when systemd runs this
# machine, otherwise exactly as the unit's ExecStart would: as the parley user, from the unit's
# environment and /etc/parley/parley.env, its working directory, umask, descriptor limit, no new
# privileges and no capabilities), checks /up answers 200, reinstalls over an edited settings
# file, stops it and purges the package.
#
#   packaging/test-deb.sh                    # as root (dpkg -i); cargo installs cargo-deb if missing
#   PARLEY_DEB=path/to/parley.deb test-deb.sh   # test that package, no build
#
# It installs and purges the package `parley` and creates and deletes the `parley` user, so it
# refuses to run where either exists already.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
CARGO_DEB_VERSION=3.8.0

fail() { echo "test-deb: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

command -v dpkg-deb >/dev/null || { echo "skipped: the .deb test (no dpkg-deb: not a Debian-like system)"; exit 0; }
if [[ $(id -u) -ne 0 ]]; then
  # Installing needs root: build as this user, then install and run the rest with sudo.
  sudo -n true 2>/dev/null || { echo "skipped: the .deb test (installing a package needs root or sudo)"; exit 0; }
  if [[ -z "${PARLEY_DEB:-}" ]]; then
    cargo deb --version >/dev/null 2>&1 || cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet
    step "cargo deb -p parley (release build)"
    cargo deb -p parley --locked --fast >/dev/null || fail "cargo deb"
    PARLEY_DEB="$(ls -t target/debian/parley_*.deb | head -1)"
  fi
  exec sudo PARLEY_DEB="$PARLEY_DEB" "$0"
fi
if dpkg-query -W -f='${Status}' parley 2>/dev/null | grep -q "installed"; then
  fail "the package parley is installed on this machine; this test installs and purges it"
fi
if getent passwd parley >/dev/null || getent group parley >/dev/null; then
  fail "a parley user or group exists on this machine; this test creates and deletes it"
fi

work="$(mktemp -d /tmp/parley-deb-test.XXXXXX)"
server_pid=""
cleanup() {
  set +e
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid"; fi
  if dpkg-query -W -f='${Status}' parley 2>/dev/null | grep -q "installed\|config-files"; then
    dpkg --purge parley >/dev/null 2>&1
  fi
  # What the package keeps on purge, by design (the data and the user), and only what this
  # test made (it refused to start while either existed).
  rm -rf /var/lib/parley
  if getent passwd parley >/dev/null; then deluser --system --quiet parley >/dev/null 2>&1 || userdel parley; fi
  if getent group parley >/dev/null; then delgroup --system --quiet parley >/dev/null 2>&1 || groupdel parley; fi
  rm -rf "$work"
}
trap cleanup EXIT

# -- build ----------------------------------------------------------------------------------
if [[ -n "${PARLEY_DEB:-}" ]]; then
  deb="$PARLEY_DEB"
else
  if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
    step "cargo install cargo-deb $CARGO_DEB_VERSION"
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet
  fi
  step "cargo deb -p parley (release build)"
  start=$SECONDS
  # --fast: lighter compression, the same files.
  cargo deb -p parley --locked --fast --output "$work/deb" >"$work/cargo-deb.log" 2>&1 \
    || { tail -40 "$work/cargo-deb.log"; fail "cargo deb"; }
  deb="$(ls "$work"/deb/*.deb)"
  echo "built $(basename "$deb") ($(du -h "$deb" | cut -f1)) in $((SECONDS - start)) s"
fi

# -- the package as built ---------------------------------------------------------------------
step "package contents"
dpkg-deb --info "$deb" >"$work/info"
dpkg-deb --contents "$deb" >"$work/contents"
grep -q '^ *Package: parley$' "$work/info" || fail "not the parley package"
grep -Eq ' ./usr/bin/parley$' "$work/contents" || fail "no /usr/bin/parley"
unit_path="$(grep -Eo '\./(usr/)?lib/systemd/system/parley\.service$' "$work/contents" | sed 's/^\.//')"
[[ -n "$unit_path" ]] || fail "no parley.service in the package"
grep -Eq '^-rw-r----- (root/root|0/0) .* \./etc/parley/parley\.env$' "$work/contents" || fail "parley.env is not shipped 0640"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/parley/parley.env \
  || fail "/etc/parley/parley.env is not a conffile"
echo "ok: /usr/bin/parley, $unit_path, /etc/parley/parley.env (conffile, 0640)"

# -- install ----------------------------------------------------------------------------------
step "dpkg -i"
dpkg -i "$deb" >"$work/dpkg-i.log" 2>&1 || { cat "$work/dpkg-i.log"; fail "dpkg -i"; }

expect_stat() { # path owner:group mode
  local got
  got="$(stat -c '%U:%G %a' "$1")"
  [[ "$got" == "$2 $3" ]] || fail "$1 is $got, expected $2 $3"
  echo "ok: $1 $got"
}
uid="$(id -u parley)" || fail "no parley user after install"
(( uid < 1000 )) || fail "parley is not a system user (uid $uid)"
[[ "$(getent passwd parley | cut -d: -f7)" == */nologin ]] || fail "parley has a login shell"
echo "ok: system user parley (uid $uid, no login shell)"
expect_stat /var/lib/parley parley:parley 750
expect_stat /etc/parley/parley.env root:parley 640
expect_stat /usr/bin/parley root:root 755
/usr/bin/parley --version

step "the unit"
unit="$unit_path"
for directive in NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/parley Restart=on-failure \
                 User=parley EnvironmentFile=/etc/parley/parley.env; do
  grep -qx "$directive" "$unit" || fail "$unit has no $directive"
done
grep -Eq '^LimitNOFILE=[0-9]{6,}$' "$unit" || fail "$unit has no high LimitNOFILE"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" 2>&1 | tee "$work/verify" 
  # Without systemd running, verify also complains about the machine (no D-Bus, no /run/systemd);
  # anything naming the unit's own file or its directives is the unit's fault.
  if grep -Ei "parley\.service:[0-9]+|unknown|invalid|failed to parse|not executable" "$work/verify"; then
    fail "systemd-analyze verify"
  fi
  echo "ok: systemd-analyze verify"
  if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
    systemd-analyze security --offline=true --no-pager "$unit" 2>/dev/null | tail -1 || true
  fi
else
  echo "skipped: systemd-analyze verify (systemd-analyze not installed)"
fi
[[ "$(systemctl is-enabled parley 2>/dev/null)" == enabled ]] && echo "ok: parley.service enabled" \
  || fail "parley.service is not enabled after install"

# The test listens on free ports: edited in the settings file, as an administrator would.
printf '\n# test-deb.sh\nPARLEY_HTTP_ADDR=127.0.0.1:0\nREVERB_SERVER_PORT=0\n' >>/etc/parley/parley.env

# -- start ------------------------------------------------------------------------------------
unit_value() { sed -n "s/^$1=//p" "$unit"; }
http_url=""
if [[ -d /run/systemd/system ]]; then
  step "systemctl restart parley"
  systemctl restart parley
  server_pid="$(systemctl show -p MainPID --value parley)"
  for _ in $(seq 100); do
    http_url="$(journalctl -u parley -o cat --no-pager | sed -n 's/^Parley listening on \(http:[^ ]*\)$/\1/p' | tail -1)"
    [[ -n "$http_url" ]] && break
    systemctl is-active -q parley || break
    sleep 0.1
  done
  server_pid="" # systemd stops it
else
  step "no systemd on this machine: ExecStart as the unit runs it"
  env_args=()
  while IFS= read -r assignment; do env_args+=("$assignment"); done < <(unit_value Environment)
  env_file="$(unit_value EnvironmentFile)"
  while IFS= read -r line; do
    [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || continue
    name="${line%%=*}"; value="${line#*=}"
    [[ "$value" =~ ^\"(.*)\"$ ]] && value="${BASH_REMATCH[1]}"
    env_args+=("$name=$value")
  done <"$env_file"
  limit="$(unit_value LimitNOFILE)"
  hard="$(ulimit -Hn)"
  if [[ "$hard" != unlimited ]] && (( hard < limit )); then
    echo "note: LimitNOFILE=$limit is above this shell's hard limit ($hard); using $hard"
    limit=$hard
  fi
  mkfifo "$work/out"
  (
    cd "$(unit_value WorkingDirectory)"
    umask "$(unit_value UMask)"
    # shellcheck disable=SC2046
    exec prlimit --nofile="$limit:$limit" -- \
      setpriv --reuid="$(unit_value User)" --regid="$(unit_value Group)" --init-groups \
              --no-new-privs --bounding-set=-all --inh-caps=-all \
      env -i "${env_args[@]}" $(unit_value ExecStart)
  ) >"$work/out" 2>"$work/server.err" &
  server_pid=$!
  exec 3<"$work/out"
  while IFS= read -r -t 60 line <&3; do
    echo "  | $line"
    if [[ "$line" =~ ^Parley\ listening\ on\ (http://[^ ]+)$ ]]; then http_url="${BASH_REMATCH[1]}"; break; fi
  done
  # Keep reading what it prints, so it never blocks on a full pipe.
  cat <&3 >"$work/server.out" &
fi
[[ -n "$http_url" ]] || { cat "$work/server.err" 2>/dev/null; fail "parley did not start"; }

step "checks on the running service"
status="$(curl -s -o "$work/up.json" -w '%{http_code}' "$http_url/up")"
[[ "$status" == 200 ]] || fail "/up answered $status: $(cat "$work/up.json")"
echo "ok: GET $http_url/up -> 200 $(cat "$work/up.json")"
# The Dockerfile's HEALTHCHECK command, run against this server (its port in place of 8000).
healthcheck="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$repo/Dockerfile" | sed -n 's/^HEALTHCHECK .* CMD \(\[.*\]\)$/\1/p' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)[2])')"
[[ "$healthcheck" == *"/dev/tcp/127.0.0.1/8000"* ]] || fail "no HEALTHCHECK on port 8000 in the Dockerfile"
port="${http_url##*:}"
bash -c "${healthcheck//\/8000//$port}" || fail "the Dockerfile's HEALTHCHECK fails against a healthy server"
echo "ok: the Dockerfile's HEALTHCHECK passes against it"
if [[ -n "$server_pid" ]]; then
  pid="$(pgrep -u parley -x parley)"
  [[ "$(ps -o user= -p "$pid")" == parley ]] || fail "not running as parley"
  grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid/status" || fail "NoNewPrivs is not set"
  grep -q '^CapBnd:[[:space:]]*0*$' "/proc/$pid/status" || fail "capabilities left in the bounding set"
  echo "ok: runs as parley, no new privileges, no capabilities, $(grep 'open files' "/proc/$pid/limits" | awk '{print $4}') descriptors"
fi
expect_stat /var/lib/parley parley:parley 750
for file in parley.db link-secret realtime-app.json; do
  expect_stat "/var/lib/parley/$file" parley:parley 600
done
# The command the settings file documents for running parley with its settings.
runuser -u parley -- sh -c 'set -a; . /etc/parley/parley.env; exec parley check-config' >"$work/check" \
  || fail "parley check-config with the settings file sourced by sh"
echo "ok: $(head -1 "$work/check") (settings file sourced by sh, as the parley user)"

# The backups docs/deploy.md describes, taken while Parley runs.
if command -v sqlite3 >/dev/null; then
  as_parley_sql() { runuser -u parley -- sqlite3 "$@"; }
  as_parley_sql /var/lib/parley/parley.db ".backup '/var/lib/parley/backup.db'" || fail "sqlite3 .backup"
  as_parley_sql /var/lib/parley/parley.db "VACUUM INTO '/var/lib/parley/vacuum.db'" || fail "VACUUM INTO"
  for copy in backup.db vacuum.db; do
    [[ "$(as_parley_sql "/var/lib/parley/$copy" 'PRAGMA integrity_check')" == ok ]] || fail "$copy is damaged"
    widgets="$(as_parley_sql "/var/lib/parley/$copy" 'SELECT count(*) FROM widgets')"
    (( widgets >= 1 )) || fail "$copy holds no widget"
    rm "/var/lib/parley/$copy"
  done
  echo "ok: sqlite3 .backup and VACUUM INTO while running, both copies intact"
else
  echo "skipped: the SQLite backup commands (no sqlite3)"
fi

# -- upgrade in place -------------------------------------------------------------------------
step "dpkg -i again (an upgrade keeps the edited settings and their owner and mode)"
dpkg -i "$deb" >"$work/dpkg-i2.log" 2>&1 || { cat "$work/dpkg-i2.log"; fail "dpkg -i over the installed package"; }
grep -qx 'PARLEY_HTTP_ADDR=127.0.0.1:0' /etc/parley/parley.env || fail "the edited settings were replaced"
expect_stat /etc/parley/parley.env root:parley 640
expect_stat /var/lib/parley/parley.db parley:parley 600

# -- stop -------------------------------------------------------------------------------------
step "stop"
if [[ -d /run/systemd/system ]]; then
  systemctl stop parley
else
  kill -TERM "$server_pid"
  rc=0; wait "$server_pid" || rc=$?
  server_pid=""
  [[ $rc -eq 0 ]] || { cat "$work/server.err"; fail "parley exited with $rc on SIGTERM"; }
  echo "ok: SIGTERM -> exit 0"
fi

# -- purge ------------------------------------------------------------------------------------
step "dpkg --purge parley"
dpkg --purge parley >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
[[ ! -e /usr/bin/parley && ! -e "$unit" ]] || fail "files left after purge"
[[ ! -e /etc/parley ]] || fail "/etc/parley left after purge"
! dpkg-statoverride --list /etc/parley/parley.env >/dev/null || fail "statoverride left after purge"
[[ -f /var/lib/parley/parley.db ]] || fail "purge removed the data (it keeps it)"
echo "ok: purged; /var/lib/parley and the parley user kept as documented ($(grep -c . "$work/purge.log") line(s) said so)"
echo "test-deb: OK"

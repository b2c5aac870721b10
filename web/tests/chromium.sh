# Debian's Chromium for the browser tests (sourced by web/tests/run.sh, tests/chaos/run.sh and
# tests/cluster/run.sh, not run): installed from apt when /usr/bin/chromium is missing and
# CHROMIUM_PATH names no other, never a downloaded browser. Exits the caller when it cannot be.

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}

if [[ -z "${CHROMIUM_PATH:-}" && ! -x /usr/bin/chromium ]]; then
  echo "== apt-get install chromium"
  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium \
    || { echo "could not install chromium"; exit 1; }
fi

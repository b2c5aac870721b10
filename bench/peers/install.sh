#!/usr/bin/env bash
# Installs the peer servers that bench/run.sh can measure instead of Parley (SERVER=sockudo or
# SERVER=soketi), from the public registries, into bench/peers/.install (not committed). Nothing
# of theirs is part of Parley: they are only here to be measured with the same harness.
#
# Usage: bench/peers/install.sh [sockudo] [soketi]   (default: both)
set -euo pipefail

cd "$(dirname "$0")"
DEST=$PWD/.install
mkdir -p "$DEST"

# Pinned so that figures can be reproduced.
SOCKUDO_VERSION=5.2.0
SOKETI_VERSION=1.6.1
UWS_PACK_VERSION=20.0.8

install_sockudo() {
    echo "== sockudo $SOCKUDO_VERSION (crates.io; a release build takes a while)"
    # One of its dependencies compiles protobuf definitions at build time.
    if ! command -v protoc >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq protobuf-compiler
        else
            echo "error: sockudo's build needs protoc (Debian: apt-get install protobuf-compiler)" >&2
            exit 1
        fi
    fi
    # Its default features add OpenTelemetry export, which a benchmark does not use.
    cargo install sockudo --version "$SOCKUDO_VERSION" --root "$DEST/sockudo" \
        --no-default-features --features local,v2
}

# Soketi's own dependency on uWebSockets.js points at GitHub, which a machine limited to the
# package registries cannot reach. The npm package uws-pack carries the same prebuilt uWS
# binaries; a two-file local package named uWebSockets.js loads the one for this Node, the way
# the upstream package does, and an npm override points Soketi at it.
install_soketi() {
    echo "== soketi $SOKETI_VERSION (npm), uWS binaries from uws-pack $UWS_PACK_VERSION"
    local dir="$DEST/soketi"
    rm -rf "$dir"
    mkdir -p "$dir/uws-shim"
    (
        cd "$dir"
        npm pack --silent "uws-pack@$UWS_PACK_VERSION" >/dev/null
        local binary
        binary="uws_$(node -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node"
        tar xzf "uws-pack-$UWS_PACK_VERSION.tgz" -C uws-shim --strip-components=3 "package/dist/bin/$binary"
        cat >uws-shim/package.json <<JSON
{ "name": "uWebSockets.js", "version": "20.10.0", "main": "uws.js" }
JSON
        cat >uws-shim/uws.js <<JS
module.exports = require('./$binary');
JS
        cat >package.json <<JSON
{ "name": "soketi-peer", "private": true,
  "dependencies": { "@soketi/soketi": "$SOKETI_VERSION" },
  "overrides": { "uWebSockets.js": "file:./uws-shim" } }
JSON
        npm install --ignore-scripts --no-audit --no-fund --loglevel=error
        node -e "require('uWebSockets.js').App" || { echo "error: the uWS binary does not load" >&2; exit 1; }
    )
}

peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(sockudo soketi)
for peer in "${peers[@]}"; do
    case $peer in
        sockudo) install_sockudo ;;
        soketi) install_soketi ;;
        *) echo "unknown peer: $peer (sockudo or soketi)" >&2; exit 2 ;;
    esac
done

#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a while on its checked-in corpus (fuzz/corpus/<target>,
# which holds the seeds and every input that once found a bug), then prints the runs per target.
#
#   fuzz/run.sh [seconds-per-target] [target...]     (default: 15 s, every target)
#
# libFuzzer comes from the libfuzzer-sys crate and the coverage instrumentation from rustc's
# stable -C flags, so the stable toolchain is enough (no cargo-fuzz, no nightly). Builds go to
# target/fuzz; inputs the fuzzer finds go to target/fuzz/corpus, crashes to target/fuzz/artifacts.
# Replay one input: target/fuzz/<triple>/release/<target> <file>.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-15}
shift || true
all=(ws_decoder ws_roundtrip ws_server_frame pusher_frame channel_name realtime_inbound
     api_signature http_api multipart_upload)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

root=$PWD
out=${FUZZ_TARGET_DIR:-$root/target/fuzz}
triple=$(rustc -vV | sed -n 's/^host: //p')

# The fuzz crate is its own workspace; its lock starts from the main one so both build the same
# dependency versions (fuzz/Cargo.lock is generated, not committed).
cp Cargo.lock fuzz/Cargo.lock
# Coverage instrumentation for libFuzzer is added by rustc-wrapper.sh to the code under test
# only (the flags cargo-fuzz passes, minus a sanitizer: that needs nightly, and the code has no
# `unsafe`).
export RUSTC_WRAPPER=$root/fuzz/rustc-wrapper.sh
bins=()
for target in "${targets[@]}"; do bins+=(--bin "$target"); done
echo "fuzz: building ${#targets[@]} targets"
CARGO_TARGET_DIR=$out cargo build --quiet --manifest-path fuzz/Cargo.toml --release \
    --target "$triple" "${bins[@]}"

passed=0
failed=0
for target in "${targets[@]}"; do
    corpus=$out/corpus/$target
    artifacts=$out/artifacts/$target
    work=$out/work/$target
    log=$out/logs/$target.log
    rm -rf "$work"
    mkdir -p "$corpus" "$artifacts" "$work" "$(dirname "$log")"
    mkdir -p "fuzz/corpus/$target"
    seeds=$(find "fuzz/corpus/$target" -type f | wc -l)
    status=0
    PARLEY_FUZZ_DIR=$work "$out/$triple/release/$target" \
        -seed="${FUZZ_SEED:-0}" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$corpus" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    rm -rf "$work"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    found=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    seed=$(sed -n 's/^INFO: Seed: *//p' "$log" | head -1)
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'fuzz %-18s ok      %8s runs in %ss, %s seeds, %s new inputs\n' \
            "$target" "${runs:-?}" "$seconds" "$seeds" "${found:-0}"
    else
        failed=$((failed + 1))
        printf 'fuzz %-18s FAILED  after %s runs (seed %s); log %s\n' \
            "$target" "${runs:-?}" "${seed:-?}" "$log"
        grep -E "panicked at|SUMMARY|Test unit written|^Base64" "$log" | head -20 || true
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

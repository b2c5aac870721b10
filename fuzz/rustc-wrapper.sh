#!/usr/bin/env bash
# Instruments for libFuzzer only the code being fuzzed (Parley's crates and the parsers they hand
# input to); the rest of the dependencies build plainly, which keeps CI's build short.
# cargo calls this as `rustc-wrapper.sh <rustc> <args…>` (fuzz/run.sh sets RUSTC_WRAPPER and
# passes --target, so build scripts and proc macros, built without --target, stay plain).
rustc=$1
shift
case " $* " in
*" --target "*) ;;
*) exec "$rustc" "$@" ;;
esac
case " $* " in
*" --crate-name parley_"* | *" --crate-name serde_json "* | *" --crate-name multer "* | \
    *" --crate-name form_urlencoded "* | *" --crate-name axum "* | *" --crate-name axum_core "* | \
    *" --crate-name httparse "* | *" --crate-name http "* | *" --crate-name mime "*)
    exec "$rustc" "$@" -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
        -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing
    ;;
esac
exec "$rustc" "$@"

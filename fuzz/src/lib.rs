//! The fuzz targets' bodies, one function over the fuzzer's input each, with the invariants each
//! run asserts. `fuzz_targets/*.rs` hand libFuzzer's input to these; `run.sh` builds and runs
//! them. A panic anywhere (in a target or in a server task it drives) is a finding.

#![forbid(unsafe_code)]

pub mod api;
pub mod chat;
pub mod live;
pub mod protocol;
pub mod ws;

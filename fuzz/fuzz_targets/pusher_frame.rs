#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| parley_fuzz::protocol::client_frame(data));

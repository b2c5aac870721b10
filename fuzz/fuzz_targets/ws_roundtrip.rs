#![no_main]
libfuzzer_sys::fuzz_target!(|session: parley_fuzz::ws::ClientSession| {
    parley_fuzz::ws::decoder_roundtrip(session)
});

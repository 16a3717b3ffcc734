//! Any bytes as an uploaded weights file: every reader fails cleanly or succeeds
//! (`difflab::fuzz::weights`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| difflab::fuzz::weights(data));

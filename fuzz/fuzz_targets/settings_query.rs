//! Any bytes as a shared link's query: no panic, and what is parsed prints back unchanged
//! (`difflab::fuzz::settings_query`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| difflab::fuzz::settings_query(data));

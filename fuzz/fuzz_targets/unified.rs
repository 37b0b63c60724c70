//! Fuzzes the unified v3 JSON decoder; the invariants are in `lookcoin_state::fuzz_checks`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lookcoin_state::fuzz_checks::check_unified(data));

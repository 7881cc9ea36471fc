//! Fuzz target: New API ratio sync responses (sources, fetch, options, preview, apply).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msync_fuzz::run_ratio(data));

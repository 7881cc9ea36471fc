//! Fuzz target: the version-guarded redirect matcher.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msync_fuzz::run_matcher(data));

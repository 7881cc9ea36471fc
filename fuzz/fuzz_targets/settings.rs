//! Fuzz target: settings import files and page messages.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msync_fuzz::run_settings(data));

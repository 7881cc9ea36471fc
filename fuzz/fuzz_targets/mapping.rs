//! Fuzz target: model_mapping JSON text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msync_fuzz::run_mapping(data));

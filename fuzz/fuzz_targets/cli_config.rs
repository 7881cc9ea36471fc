//! Fuzz target: the CLI's msync.toml parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msync_fuzz::run_cli_config(data));

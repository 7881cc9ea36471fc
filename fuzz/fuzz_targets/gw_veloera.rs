//! Veloera adapter responses (list, get, fetch-models, update, test connection).
#![no_main]
use libfuzzer_sys::fuzz_target;
use msync_core::model::SiteKind;

fuzz_target!(|data: &[u8]| msync_fuzz::run_gateway(SiteKind::Veloera, data));

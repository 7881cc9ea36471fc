//! The redirect matcher compiled to wasm, timed in headless Chromium: the benchmark's data
//! (1,000 channels × 300 models × 50 standard models, `crates/core/benches/support/redirect_data.rs`).
//!
//! A benchmark, not a test: it is `#[ignore]`d so `cargo xtask test` never runs it, and it asserts
//! nothing about speed. `cargo xtask bench` runs it in release mode with
//! `-- --include-ignored --nocapture bench_redirect` and reads the `@wasm-bench` lines it prints.
#![cfg(target_arch = "wasm32")]

#[allow(dead_code)]
#[path = "../../core/benches/support/redirect_data.rs"]
mod redirect_data;

use msync_core::redirect::{MatchOptions, Matcher};
use std::hint::black_box;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn best_of(runs: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut last = 0;
    for _ in 0..runs {
        let t = js_sys::Date::now();
        last = f();
        best = best.min(js_sys::Date::now() - t);
    }
    (best, last)
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run by `cargo xtask bench`"]
fn bench_redirect_match() {
    let data = redirect_data::data();
    let (shared_ms, shared_maps) = best_of(5, || {
        let m = Matcher::new(&data.standards, &[], MatchOptions::default());
        data.shared
            .iter()
            .map(|models| black_box(m.match_models(models)).mapping.len())
            .sum()
    });
    let (distinct_ms, distinct_maps) = best_of(5, || {
        let m = Matcher::new(&data.standards, &[], MatchOptions::default());
        data.distinct
            .iter()
            .map(|models| black_box(m.match_models(models)).mapping.len())
            .sum()
    });
    // Same work as the native benchmark: the mapping counts must agree with it.
    assert!(shared_maps > 0 && distinct_maps > 0);
    console_log!("@wasm-bench|shared|{shared_ms:.1}|{shared_maps}");
    console_log!("@wasm-bench|distinct|{distinct_ms:.1}|{distinct_maps}");
}

//! Redirect matcher benchmark: 1,000 channels × 300 models × 50 standard models.
//!
//! `cargo bench -p msync-core --bench redirect`. std::time only; prints a markdown section and an
//! `@target|…` line for `cargo xtask bench`. Three cases:
//! * `shared pool` — channel model names drawn from a pool of a few thousand distinct ids, as on a
//!   real site where channels repeat the same upstream names (the parse cache helps here);
//! * `all distinct` — every one of the 300,000 names is different (no cache help: worst case);
//!   both match cases are held to the < 100 ms target;
//! * `plan` — the full `plan_redirect` (match + merge + models list) on the shared pool.
//!
//! The same data, compiled to wasm and timed in headless Chromium, is in
//! `crates/worker/tests/bench_redirect.rs`.

#[path = "support/redirect_data.rs"]
mod redirect_data;

use msync_core::gateway::Capabilities;
use msync_core::model::{Channel, ChannelId, Mapping, SiteKind};
use msync_core::redirect::{plan_redirect, ApplyOptions, MatchOptions, Matcher, PlanStatus};
use redirect_data::{CHANNELS, MODELS, STANDARDS};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn channel(i: usize, models: Vec<String>) -> Channel {
    Channel {
        id: ChannelId(i.to_string()),
        name: format!("channel {i}"),
        enabled: true,
        channel_type: "1".into(),
        upstream_base_url: None,
        models,
        mapping: Mapping::Empty,
        tag: None,
        rules: Default::default(),
    }
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        last = Some(v);
    }
    (best, last.expect("runs > 0"))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let data = redirect_data::data();
    let standards = &data.standards;
    let size = format!("{CHANNELS} ch × {MODELS} models × {STANDARDS} std");

    println!("### Redirect matching, native\n");
    println!("Best of 5; a run builds its matcher once and matches every channel. Data: `crates/core/benches/support/redirect_data.rs`.\n");
    println!("| case | size | time | mappings |");
    println!("|---|---|---:|---:|");

    let (shared, mapped) = best_of(5, || {
        let m = Matcher::new(standards, &[], MatchOptions::default());
        data.shared
            .iter()
            .map(|models| black_box(m.match_models(models)).mapping.len())
            .sum::<usize>()
    });
    println!(
        "| match, shared pool ({} distinct names) | {size} | {} | {mapped} |",
        data.pool_len,
        ms(shared)
    );

    let (distinct, mapped) = best_of(5, || {
        let m = Matcher::new(standards, &[], MatchOptions::default());
        data.distinct
            .iter()
            .map(|models| black_box(m.match_models(models)).mapping.len())
            .sum::<usize>()
    });
    println!(
        "| match, all 300,000 names distinct | {size} | {} | {mapped} |",
        ms(distinct)
    );

    let channels: Vec<Channel> = data
        .shared
        .iter()
        .enumerate()
        .map(|(i, m)| channel(i, m.clone()))
        .collect();
    let caps: Capabilities = Capabilities::NEW_API;
    let (t, changed) = best_of(5, || {
        let m = Matcher::new(standards, &[], MatchOptions::default());
        channels
            .iter()
            .map(|c| plan_redirect(&m, c, &caps, SiteKind::NewApi, &ApplyOptions::default()))
            .filter(|p| p.status == PlanStatus::Change)
            .count()
    });
    println!(
        "| plan (match + merge + models), shared pool | {size} | {} | {changed} channels changed |\n",
        ms(t)
    );
    for (case, t) in [
        ("shared pool", shared),
        ("worst case: all names distinct", distinct),
    ] {
        let v = t.as_secs_f64() * 1000.0;
        println!(
            "@target|redirect matching {size}, native, {case}|{v:.1} ms|< 100 ms|{}",
            if v < 100.0 { "PASS" } else { "MISS" }
        );
    }
}

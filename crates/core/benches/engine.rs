//! Engine benchmarks (std::time only; `cargo bench -p msync-core --bench engine`).
//!
//! Prints a markdown table: limiter accuracy (worst 60 s window vs `rpm + burst`), run time over
//! the bound the limits impose (virtual time), and engine overhead per channel with limits off.

use msync_core::clock::Clock;
use msync_core::engine::limit::{max_in_window, Limits, TokenBucket};
use msync_core::engine::retry::SplitMix64;
use msync_core::engine::{Engine, EngineDeps, RunRequest};
use msync_core::settings::{LimitScope, SyncSettings};
use msync_core::sim::Sim;
use msync_core::store::MemoryStore;
use msync_core::testing::{fake_channel, FakeGateway, Latency};
use std::rc::Rc;
use std::time::Instant;

fn limiter_row(rpm: u32, burst: u32) -> String {
    let mut sim = Sim::new();
    let clock = Rc::new(sim.clock());
    let bucket = TokenBucket::new(clock.clone(), rpm, burst);
    bucket.record_admissions();
    let n = 3 * (rpm + burst) as usize;
    let t0 = clock.now_ms();
    sim.block_on(futures::future::join_all((0..n).map(|_| bucket.acquire())));
    let times = bucket.admissions();
    let worst = max_in_window(&times, 60_000);
    let took = clock.now_ms() - t0;
    // A full bucket: `burst` at once, then one per 60/rpm s.
    let ideal = (n as u64 - u64::from(burst)) * 60_000 / u64::from(rpm);
    format!(
        "| limiter rpm {rpm} burst {burst}, {n} requests | worst 60 s window {worst} (limit {}) | time/ideal {:.4} |",
        rpm + burst,
        took as f64 / ideal as f64
    )
}

fn run_row(channels: usize, hosts: usize, scope: LimitScope) -> String {
    let mut sim = Sim::new();
    let clock = Rc::new(sim.clock());
    let gw = Rc::new(FakeGateway::new(clock.clone()));
    for i in 0..channels {
        let host = format!("https://up{}.example", i % hosts);
        gw.add(
            fake_channel(i as i64 + 1, &format!("c{i}"), &["a", "b"], Some(&host)),
            &["a", "b", "c"],
        );
    }
    gw.set_latency(Latency {
        fetch_ms: 300,
        write_before_ms: 50,
        ..Default::default()
    });
    let mut settings = SyncSettings::default();
    settings.rate.scope = scope;
    let limits = Limits::recording(clock.clone(), &settings.rate);
    gw.set_admin_bucket(limits.site_bucket());
    let engine = Engine::new(
        EngineDeps {
            gateway: gw.clone(),
            clock: clock.clone(),
            store: Rc::new(MemoryStore::new()),
            limits: Some(limits.clone()),
            rng: Box::new(SplitMix64(1)),
        },
        settings.clone(),
    )
    .expect("valid settings");
    let t0 = clock.now_ms();
    let record = sim
        .block_on(engine.run(RunRequest::all(), &()))
        .expect("run");
    let took = clock.now_ms() - t0;
    let (rpm, burst) = (u64::from(settings.rate.rpm), u64::from(settings.rate.burst));
    let per_bucket = match scope {
        LimitScope::Global => channels as u64,
        LimitScope::PerHost => channels.div_ceil(hosts) as u64,
    };
    let fetch_bound = per_bucket.saturating_sub(burst) * 60_000 / rpm;
    // Every admin call (list pages, fetches, writes) also takes a site token.
    let site_calls = channels.div_ceil(100) as u64 + 2 * channels as u64;
    let site_bound = site_calls.saturating_sub(u64::from(settings.rate.site_burst)) * 60_000
        / u64::from(settings.rate.site_rpm);
    let (bound, binding) = if site_bound > fetch_bound {
        (site_bound, "site bucket")
    } else {
        (fetch_bound, "fetch bucket")
    };
    let worst = limits
        .fetch_buckets()
        .iter()
        .map(|(_, b)| max_in_window(&b.admissions(), 60_000))
        .max()
        .unwrap_or(0);
    format!(
        "| run {channels} channels, {hosts} host(s), {scope:?}, rpm {rpm} | {} written, worst window {worst} (limit {}) | run/bound {:.4} ({:.1} s / {:.1} s virtual, {binding} binds) |",
        record.head.totals.success,
        rpm + burst,
        took as f64 / bound as f64,
        took as f64 / 1000.0,
        bound as f64 / 1000.0
    )
}

fn overhead_row(channels: usize) -> String {
    let mut sim = Sim::new();
    let clock = Rc::new(sim.clock());
    let gw = Rc::new(FakeGateway::new(clock.clone()));
    for i in 0..channels {
        gw.add(
            fake_channel(i as i64 + 1, &format!("c{i}"), &["a", "b", "c"], None),
            &["a", "b", "c", "d"],
        );
    }
    let settings = SyncSettings {
        concurrency: 16,
        ..Default::default()
    };
    let limits = Limits::unlimited(clock.clone());
    let engine = Engine::new(
        EngineDeps {
            gateway: gw.clone(),
            clock: clock.clone(),
            store: Rc::new(MemoryStore::new()),
            limits: Some(limits),
            rng: Box::new(SplitMix64(1)),
        },
        settings,
    )
    .expect("valid settings");
    let wall = Instant::now();
    let record = sim
        .block_on(engine.run(RunRequest::all(), &()))
        .expect("run");
    let elapsed = wall.elapsed();
    assert_eq!(record.head.totals.success, channels);
    format!(
        "| overhead {channels} channels, limits off, concurrency 16 | {} written, {:.0} ms wall | {:.1} µs per channel |",
        record.head.totals.success,
        elapsed.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64() * 1e6 / channels as f64
    )
}

fn main() {
    let _ = Sim::new().clock().now_ms();
    println!("| benchmark | result | ratio / cost |");
    println!("|---|---|---|");
    for (rpm, burst) in [(20, 5), (60, 10), (600, 50), (1, 1)] {
        println!("{}", limiter_row(rpm, burst));
    }
    println!("{}", run_row(100, 1, LimitScope::PerHost));
    println!("{}", run_row(100, 1, LimitScope::Global));
    println!("{}", run_row(200, 4, LimitScope::PerHost));
    println!("{}", overhead_row(10_000));
}

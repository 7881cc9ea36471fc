//! The engine over real HTTP: `Engine::connect` with the reqwest transport against mockgw on
//! 127.0.0.1, with latency injected per request, timed on the wall clock and compared with the
//! lower bound the limits impose (`cargo bench -p msync-cli --bench loopback`; `cargo xtask bench`
//! runs it). Prints a markdown section and an `@target|…` line.
//!
//! Two settings, about half a minute each: one where a per-host bucket sets the pace, one where
//! the site-wide admin bucket does. Latencies: every request 5 ms (mockgw `latency_ms`), plus per
//! channel a fetch delay of 80 ms + Exp(mean 250 ms) and a write delay of 30 ms + Exp(mean 60 ms),
//! injected as mockgw `delay` faults.

use async_trait::async_trait;
use msync_cli::transport::ReqwestTransport;
use msync_core::clock::Clock;
use msync_core::engine::retry::{RandomSource, SplitMix64};
use msync_core::engine::{Engine, RunRequest};
use msync_core::gateway::Ctx;
use msync_core::model::{Credentials, Secret, Site, SiteId, SiteKind};
use msync_core::settings::SyncSettings;
use msync_core::store::MemoryStore;
use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, MockGateway, Op};
use serde_json::Value;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

const BASE_LATENCY_MS: u64 = 5;

struct SystemClock;

#[async_trait(?Send)]
impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
    async fn sleep_ms(&self, ms: u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await
    }
}

fn draw(rng: &mut SplitMix64, min: u64, mean: f64, max: u64) -> u64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (min + (-mean * (1.0 - u).ln()) as u64).min(max)
}

struct Case {
    label: &'static str,
    channels: usize,
    rpm: u32,
    burst: u32,
    site_rpm: u32,
    site_burst: u32,
}

struct Result {
    took_ms: u64,
    bound_ms: u64,
    why: &'static str,
    fetches: usize,
    writes: usize,
    calls: usize,
    failed: usize,
}

fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn run_case(case: &Case) -> Result {
    // msync's own limits are measured here; the server's (on by default) stays out of the way.
    let mut cfg = MockConfig::new(Flavor::NewApi)
        .channels(case.channels)
        .seed(11)
        .no_rate_limit();
    cfg.latency_ms = BASE_LATENCY_MS;
    let mock = MockGateway::start(cfg).expect("mockgw starts");
    let mut rng = SplitMix64(5);
    let mut fetch_ms = HashMap::new();
    let mut write_ms = HashMap::new();
    let mut host_of = HashMap::new();
    for c in mock.channels() {
        let id = c.get("id").and_then(Value::as_u64).expect("channel id");
        let base = c.get("base_url").and_then(Value::as_str).unwrap_or("");
        host_of.insert(id, host(base));
        let (f, w) = (
            draw(&mut rng, 80, 250.0, 5_000),
            draw(&mut rng, 30, 60.0, 2_000),
        );
        fetch_ms.insert(id, f);
        write_ms.insert(id, w);
        mock.set_fault(
            FaultRule::new(FaultKind::Delay { ms: f })
                .op(Op::FetchModels)
                .channel(id),
        );
        mock.set_fault(
            FaultRule::new(FaultKind::Delay { ms: w })
                .op(Op::UpdateChannel)
                .channel(id),
        );
    }
    let site = Site {
        id: SiteId("bench".into()),
        name: "bench".into(),
        kind: SiteKind::NewApi,
        base_url: mock.base_url(),
        credentials: Credentials::TokenAndUserId {
            token: Secret(mock.token()),
            user_id: Some(mock.config().user_id),
        },
        allow_insecure: false,
    };
    let mut settings = SyncSettings::default();
    settings.rate.rpm = case.rpm;
    settings.rate.burst = case.burst;
    settings.rate.site_rpm = case.site_rpm;
    settings.rate.site_burst = case.site_burst;
    settings.concurrency = 2;
    // Seeded channels whose upstream dropped most models would be held for review, not written.
    settings.removal_threshold_pct = 100;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let transport = Rc::new(ReqwestTransport::new().expect("transport"));
    let ctx = Ctx::new(site, transport, Rc::new(SystemClock));
    let engine =
        Engine::connect(ctx, Rc::new(MemoryStore::new()), settings.clone(), 1).expect("engine");
    let t0 = Instant::now();
    let record = rt
        .block_on(engine.run(RunRequest::all(), &()))
        .expect("run");
    let took_ms = t0.elapsed().as_millis() as u64;

    // The bound, from the requests the run had to make (as the server logged them).
    let reqs = mock.requests();
    let calls = reqs.len();
    let mut per_host: HashMap<String, (u64, u64)> = HashMap::new(); // (fetches, min tail)
    let (mut fetches, mut writes, mut busy) = (0usize, 0usize, 0u64);
    for r in &reqs {
        let id = r.channel.unwrap_or(0);
        match r.op {
            Op::FetchModels => {
                fetches += 1;
                let f = fetch_ms.get(&id).copied().unwrap_or(0) + BASE_LATENCY_MS;
                busy += f;
                let e = per_host
                    .entry(host_of.get(&id).cloned().unwrap_or_default())
                    .or_insert((0, u64::MAX));
                e.0 += 1;
                e.1 = e.1.min(f);
            }
            Op::UpdateChannel => {
                writes += 1;
                busy += write_ms.get(&id).copied().unwrap_or(0) + BASE_LATENCY_MS;
            }
            _ => busy += BASE_LATENCY_MS,
        }
    }
    let mut bound = (0u64, "latency");
    let mut consider = |v: u64, why: &'static str| {
        if v > bound.0 {
            bound = (v, why);
        }
    };
    for (k, tail) in per_host.values() {
        consider(
            k.saturating_sub(u64::from(case.burst)) * 60_000 / u64::from(case.rpm) + tail,
            "per-host bucket",
        );
    }
    consider(
        (calls as u64).saturating_sub(u64::from(case.site_burst)) * 60_000
            / u64::from(case.site_rpm)
            + BASE_LATENCY_MS,
        "site bucket",
    );
    consider(busy / 2, "concurrency");
    Result {
        took_ms,
        bound_ms: bound.0,
        why: bound.1,
        fetches,
        writes,
        calls,
        failed: record.head.totals.failed,
    }
}

fn main() {
    let cases = [
        Case {
            label: "per-host bucket binds",
            channels: 60,
            rpm: 12,
            burst: 2,
            site_rpm: 600,
            site_burst: 10,
        },
        Case {
            label: "site bucket binds",
            channels: 60,
            rpm: 60,
            burst: 5,
            site_rpm: 150,
            site_burst: 10,
        },
    ];
    println!("### Run time against the bound over real HTTP (loopback)\n");
    println!("`Engine::connect` + `ReqwestTransport` against mockgw (New API flavour, 60 seeded channels over its");
    println!("13 upstream hosts) on 127.0.0.1, concurrency 2, wall clock. Injected latency: {BASE_LATENCY_MS} ms on every");
    println!(
        "request, plus per channel a fetch delay of 80 ms + Exp(mean 250 ms) and a write delay of"
    );
    println!("30 ms + Exp(mean 60 ms). The bound is computed from the requests the server logged, as in the");
    println!(
        "virtual-time table (disabled channels are skipped, unchanged ones are not written).\n"
    );
    println!("| case | RPM / burst per host | site RPM / burst | requests (fetch / write) | failed | msync | bound (set by) | msync / bound |");
    println!("|---|---|---|---|---:|---:|---:|---:|");
    let mut worst: f64 = 0.0;
    for c in &cases {
        let r = run_case(c);
        let ratio = r.took_ms as f64 / r.bound_ms as f64;
        worst = worst.max(ratio);
        println!(
            "| {} | {} / {} | {} / {} | {} ({} / {}) | {} | {:.2} s | {:.2} s ({}) | {ratio:.3} |",
            c.label,
            c.rpm,
            c.burst,
            c.site_rpm,
            c.site_burst,
            r.calls,
            r.fetches,
            r.writes,
            r.failed,
            r.took_ms as f64 / 1000.0,
            r.bound_ms as f64 / 1000.0,
            r.why
        );
    }
    println!();
    println!(
        "@target|run time / bound, loopback HTTP (worst of 2)|{worst:.3}|≤ 1.15|{}",
        if worst <= 1.15 { "PASS" } else { "MISS" }
    );
}

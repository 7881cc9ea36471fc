//! Input limits (not a timed test): the engine over very large sites, with peak memory.
//! `cargo bench -p msync-core --bench limits` (Linux: peak RSS from /proc/self/status VmHWM).
//!
//! The gateway here generates everything lazily (channels on list, upstream lists on fetch) and
//! keeps no copy of what is written, so the peak RSS measured is the engine's own: listing,
//! per-channel fetch + filter + diff + write, and the run record kept in the store.
//!
//! * `many channels`: 5,000 channels of 100 models, upstreams of 120 models.
//! * `huge lists`: 20, then 40 channels whose upstream lists 100,000 models (half of them new).
//!
//! The full 5,000 × 100,000 case is not run: the run record keeps every channel's old, new,
//! added and removed lists (and the snapshot its old list) for the whole run, so memory grows
//! with channels × models rather than with the channels in flight — the 20 → 40 rows show it
//! (see the hardening report). Set `MSYNC_LIMITS_CHANNELS=N` to run N × 100,000 as well.

use async_trait::async_trait;
use msync_core::engine::limit::Limits;
use msync_core::engine::retry::SplitMix64;
use msync_core::engine::{Engine, EngineDeps, RunRequest};
use msync_core::gateway::{Capabilities, ConnectionReport, Gateway};
use msync_core::model::{Channel, ChannelId, ChannelUpdate, Mapping, Site};
use msync_core::settings::SyncSettings;
use msync_core::sim::Sim;
use msync_core::store::MemoryStore;
use msync_core::testing::fake_site;
use msync_core::Result;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

struct LazyGateway {
    site: Site,
    channels: usize,
    current: usize,
    upstream: usize,
    writes: Cell<usize>,
    written_models: Cell<usize>,
}

impl LazyGateway {
    fn channel(&self, i: usize) -> Channel {
        Channel {
            id: ChannelId((i + 1).to_string()),
            name: format!("channel-{i}"),
            enabled: true,
            channel_type: "1".into(),
            upstream_base_url: Some(format!("https://up{}.example", i % 50)),
            models: (0..self.current).map(|m| model(i, m)).collect(),
            mapping: Mapping::Empty,
            tag: None,
        }
    }
}

/// Model names shared by every channel for the first half, channel-specific after.
fn model(channel: usize, m: usize) -> String {
    if m.is_multiple_of(2) {
        format!("vendor/model-{m}-preview")
    } else {
        format!("vendor/model-{m}-c{}", channel % 7)
    }
}

#[async_trait(?Send)]
impl Gateway for LazyGateway {
    fn site(&self) -> &Site {
        &self.site
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            model_mapping: true,
            ratio_sync: false,
            aliases_must_be_listed: true,
        }
    }
    async fn test_connection(&self) -> Result<ConnectionReport> {
        Ok(ConnectionReport::default())
    }
    async fn list_channels(&self) -> Result<Vec<Channel>> {
        Ok((0..self.channels).map(|i| self.channel(i)).collect())
    }
    async fn get_channel(&self, id: &ChannelId) -> Result<Channel> {
        let i: usize = id.0.parse().unwrap_or(1);
        Ok(self.channel(i - 1))
    }
    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>> {
        let i: usize = channel.id.0.parse().unwrap_or(1);
        Ok((0..self.upstream).map(|m| model(i - 1, m)).collect())
    }
    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel> {
        self.writes.set(self.writes.get() + 1);
        let mut out = channel.clone();
        if let Some(models) = &update.models {
            self.written_models
                .set(self.written_models.get() + models.len());
            out.models = models.clone();
        }
        Ok(out)
    }
}

/// Peak and current resident set size in KiB (Linux), or None.
fn rss_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn scenario(label: &str, channels: usize, current: usize, upstream: usize) -> String {
    let before = rss_kib().map_or(0, |(_, rss)| rss);
    let mut sim = Sim::new();
    let clock = Rc::new(sim.clock());
    let gw = Rc::new(LazyGateway {
        site: fake_site(),
        channels,
        current,
        upstream,
        writes: Cell::new(0),
        written_models: Cell::new(0),
    });
    let settings = SyncSettings {
        // 100 = never hold a run for review: every channel is written.
        removal_threshold_pct: 100,
        ..Default::default()
    };
    let store = Rc::new(MemoryStore::new());
    let engine = Engine::new(
        EngineDeps {
            gateway: gw.clone(),
            clock: clock.clone(),
            store: store.clone(),
            limits: Some(Limits::unlimited(clock.clone())),
            rng: Box::new(SplitMix64(7)),
        },
        settings,
    )
    .expect("valid settings");
    let wall = Instant::now();
    let record = sim
        .block_on(engine.run(RunRequest::all(), &()))
        .expect("run");
    let elapsed = wall.elapsed();
    let stored: usize = store.snapshot().values().map(String::len).sum();
    let (peak, _) = rss_kib().unwrap_or((0, 0));
    assert_eq!(record.head.totals.success, channels, "{label}");
    assert_eq!(gw.writes.get(), channels, "{label}");
    format!(
        "| {label} | {channels} × {upstream} upstream ({} names) | {:.1} s | peak RSS {:.0} MiB (was {:.0} MiB before) | {:.1} MiB stored |",
        channels * upstream,
        elapsed.as_secs_f64(),
        mib(peak),
        mib(before),
        stored as f64 / (1024.0 * 1024.0)
    )
}

fn main() {
    println!("| scenario | size | wall | memory | run record + snapshots |");
    println!("|---|---|---|---|---|");
    // Peak RSS only grows: run the small scenarios first so each line's peak is its own or less.
    println!("{}", scenario("many channels", 5_000, 100, 120));
    println!("{}", scenario("huge lists", 20, 50_000, 100_000));
    println!("{}", scenario("huge lists", 40, 50_000, 100_000));
    if let Some(n) = std::env::var("MSYNC_LIMITS_CHANNELS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        println!("{}", scenario("custom", n, 0, 100_000));
    }
}

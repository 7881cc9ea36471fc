//! Input limits (not a timed test): the engine over very large sites, with peak memory.
//! `cargo bench -p msync-core --bench limits` (Linux: peak RSS from /proc/self/status VmHWM).
//!
//! The gateway here generates everything lazily (channels on list, upstream lists on fetch) and
//! keeps no copy of what is written; run records and snapshots go to files (as the CLI's store
//! and `chrome.storage.local` keep them outside the engine's memory). So the peak RSS measured is
//! the engine's own: the channel list, the channels in flight (fetch + filter + diff + write),
//! and the finished items, which stay in memory only as counts and previews ([`ItemBudget`]).
//!
//! * `many channels`: 5,000 channels of 100 models, upstreams of 120 models.
//! * `huge lists`: 20, then 80 channels of 1,000 models whose upstreams list 100,000 models each
//!   (written whole, 100,000 names per write). Peak memory must not grow with the channel count.
//! * `huge listing`: 40 channels that already list 50,000 models each (2,000,000 listed names,
//!   over the engine's listing budget): the lists are dropped after listing and each channel is
//!   read again at its turn, so what stays is the listing's own peak.
//!
//! The adapters read a site's whole listing (all pages) before a run starts, so 5,000 channels
//! *each listing* 100,000 models would need gigabytes at that moment; what is bounded is everything
//! the engine holds on top, for the rest of the run. `MSYNC_LIMITS_CHANNELS=N` adds an
//! N × 100,000 row (the store needs about 6 MB of disk per channel).

use async_trait::async_trait;
use msync_core::engine::limit::Limits;
use msync_core::engine::retry::SplitMix64;
use msync_core::engine::{Engine, EngineDeps, RunRequest};
use msync_core::gateway::{Capabilities, ConnectionReport, Gateway};
use msync_core::model::{Channel, ChannelId, ChannelUpdate, Mapping, Site};
use msync_core::settings::SyncSettings;
use msync_core::sim::Sim;
use msync_core::store::{KvStore, StoreError};
use msync_core::testing::fake_site;
use msync_core::Result;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
            rules: Default::default(),
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
            ratio_sync: false,
            ..Capabilities::NEW_API
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

/// One file per key under a directory, names hex-encoded (keys hold `/`).
struct DirStore(PathBuf);

impl DirStore {
    fn new(label: &str) -> DirStore {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("limits-{label}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bench store directory");
        DirStore(dir)
    }
    fn path(&self, key: &str) -> PathBuf {
        self.0
            .join(key.bytes().map(|b| format!("{b:02x}")).collect::<String>())
    }
    /// Total bytes stored.
    fn bytes(&self) -> u64 {
        std::fs::read_dir(&self.0)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

impl Drop for DirStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn store_err(e: std::io::Error) -> StoreError {
    StoreError(e.to_string())
}

#[async_trait(?Send)]
impl KvStore for DirStore {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        match std::fs::read_to_string(self.path(key)) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(store_err(e)),
        }
    }
    async fn set(&self, key: &str, value: String) -> std::result::Result<(), StoreError> {
        std::fs::write(self.path(key), value).map_err(store_err)
    }
    async fn remove(&self, key: &str) -> std::result::Result<(), StoreError> {
        match std::fs::remove_file(self.path(key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(store_err(e)),
            _ => Ok(()),
        }
    }
    async fn keys(&self, prefix: &str) -> std::result::Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.0).map_err(store_err)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes: Option<Vec<u8>> = (0..name.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(name.get(i..i + 2)?, 16).ok())
                .collect();
            if let Some(key) = bytes.and_then(|b| String::from_utf8(b).ok()) {
                if key.starts_with(prefix) {
                    out.push(key);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The global allocator, counted: live heap bytes now and at their highest. RSS also shows what
/// the allocator keeps after a free (fragmentation); the live count is the engine's own.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed to `System` unchanged; only byte counts are kept on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

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

fn scenario(label: &str, channels: usize, current: usize, upstream: usize) -> String {
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
    let store = Rc::new(DirStore::new(label));
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
    let stored = store.bytes();
    let (peak_rss, _) = rss_kib().unwrap_or((0, 0));
    let peak_heap = PEAK.load(Ordering::Relaxed);
    // What the finished run still holds: the returned record (counts and previews).
    let held = LIVE.load(Ordering::Relaxed);
    assert_eq!(record.head.totals.success, channels, "{label}");
    assert_eq!(gw.writes.get(), channels, "{label}");
    assert_eq!(gw.written_models.get(), channels * upstream, "{label}");
    // The returned record is a preview: counts whole, lists cut to the budget.
    let counted: usize = record.items.iter().map(|i| i.sizes().new).sum();
    assert_eq!(counted, channels * upstream, "{label}");
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    let row = format!(
        "| {label} | {channels} × {current} listed, {upstream} upstream | {:.1} s | {:.0} MiB | {:.0} MiB | {:.0} MiB | {:.0} MiB |",
        elapsed.as_secs_f64(),
        mib(peak_heap),
        mib(held),
        peak_rss as f64 / 1024.0,
        stored as f64 / (1024.0 * 1024.0)
    );
    format!("{row}\n@peak|{label}|{channels}|{peak_heap}|{held}")
}

/// Every row runs in a process of its own (this binary, re-run with `--scenario …`), so each
/// peak RSS is that scenario's alone and not what an earlier one left in the allocator.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--scenario") {
        let n = |k: usize| -> usize {
            args.get(pos + k)
                .and_then(|v| v.parse().ok())
                .expect("--scenario LABEL CHANNELS CURRENT UPSTREAM")
        };
        let label = args.get(pos + 1).map_or("custom", String::as_str);
        println!("{}", scenario(label, n(2), n(3), n(4)));
        return;
    }
    let mut rows: Vec<(&str, usize, usize, usize)> = vec![
        ("many channels", 5_000, 100, 120),
        ("huge lists", 20, 1_000, 100_000),
        ("huge lists", 80, 1_000, 100_000),
        ("huge listing", 40, 50_000, 100_000),
    ];
    let custom = std::env::var("MSYNC_LIMITS_CHANNELS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = custom {
        rows.push(("custom", n, 0, 100_000));
    }
    let exe = std::env::current_exe().expect("the bench binary");
    println!("### Input limits: memory with 5,000 channels and 100,000-model lists\n");
    println!("Peak heap: the most live heap at once (a counting allocator). Held after: what the");
    println!(
        "finished run still holds (its record: counts and previews). Peak RSS includes what the"
    );
    println!("allocator keeps after frees. Stored: run record and snapshots, on disk.\n");
    println!("| scenario | size | wall | peak heap | held after | peak RSS | stored |");
    println!("|---|---|---|---|---|---|---|");
    let mut peaks: Vec<(String, usize, usize, usize)> = Vec::new();
    for (label, channels, current, upstream) in rows {
        let out = std::process::Command::new(&exe)
            .arg("--scenario")
            .arg(label)
            .args([channels, current, upstream].map(|v| v.to_string()))
            .output()
            .expect("run a scenario");
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            match line.strip_prefix("@peak|") {
                Some(rest) => {
                    let f: Vec<&str> = rest.split('|').collect();
                    let num = |i: usize| f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
                    peaks.push((f[0].to_string(), num(1), num(2), num(3)));
                }
                None => println!("{line}"),
            }
        }
    }
    const MIB: usize = 1024 * 1024;
    let find = |label: &str, n: usize| {
        peaks
            .iter()
            .find(|p| p.0 == label && p.1 == n)
            .map(|p| (p.2, p.3))
    };
    if let (Some((small, _)), Some((big, held))) = (find("huge lists", 20), find("huge lists", 80))
    {
        let growth = big.saturating_sub(small);
        println!(
            "@target|engine heap, 80 vs 20 channels of 100,000 models|+{} MiB ({} → {} MiB)|≤ +64 MiB (the preview budget)|{}",
            growth / MIB,
            small / MIB,
            big / MIB,
            if growth <= 64 * MIB { "PASS" } else { "MISS" }
        );
        println!(
            "@target|record held after 80 × 100,000|{} MiB|≤ 64 MiB|{}",
            held / MIB,
            if held <= 64 * MIB { "PASS" } else { "MISS" }
        );
    }
    if let Some((peak, held)) = find("many channels", 5_000) {
        println!(
            "@target|engine heap, 5,000 channels|{} MiB peak, {} MiB held after|≤ 128 MiB peak|{}",
            peak / MIB,
            held / MIB,
            if peak <= 128 * MIB { "PASS" } else { "MISS" }
        );
    }
}

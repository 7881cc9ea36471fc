//! A model of the anchor's model-sync run (All API Hub 3.58, research report
//! `anchor-all-api-hub.md` §A.4, §A.5, §A.8, §A.9), for the side-by-side benchmark only. It is not
//! part of the shipped library.
//!
//! What is modelled, rule by rule:
//! * one `RateLimiter(rpm, burst)` per run, shared by every worker, starting full; tokens are
//!   fractional (`refillRate = rpm / 60000` per ms); `acquire()` refills, takes a token if one is
//!   there, else sleeps `max((1 - tokens) / refillRate, minInterval)` with
//!   `minInterval = max(1, floor(60000 / rpm))` and tries again — so once empty, every further
//!   request waits at least a full interval (§A.9);
//! * throttled: every channel-list page (100 per page), every model fetch, every write, so a changed
//!   channel costs 2 tokens; on DoneHub each token covers 2 HTTP requests (the adapter's extra
//!   `GET /api/channel/{id}` before the fetch and before the write is not throttled);
//! * `runBatch`: `max(1, min(concurrency, total))` workers pull the next index from a shared
//!   counter (§A.9);
//! * `runForChannel`: up to `maxRetries + 1` attempts; before retry *k* it waits
//!   `2^(k-1) · 1000` ms, no jitter; `Retry-After` is ignored and every error is retried,
//!   401/403/404 included (§A.5, §A.8); a write is only sent when the set changed; there is no
//!   site-wide bucket besides the one limiter, and no per-host bucket;
//! * optional (§H, measured on the real 3.58.0): the channel list is fetched again before every
//!   write, outside the limiter.

use msync_core::clock::Clock;
use msync_core::gateway::Gateway;
use msync_core::model::{Channel, ChannelUpdate};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The anchor's `RateLimiter`.
pub struct AnchorLimiter {
    clock: Rc<dyn Clock>,
    capacity: f64,
    tokens: Cell<f64>,
    refill_per_ms: f64,
    min_interval_ms: u64,
    last_ms: Cell<u64>,
    log: RefCell<Vec<u64>>,
}

impl AnchorLimiter {
    pub fn new(clock: Rc<dyn Clock>, rpm: f64, burst: f64) -> AnchorLimiter {
        let capacity = burst.floor();
        let now = clock.now_ms();
        AnchorLimiter {
            clock,
            capacity,
            tokens: Cell::new(capacity),
            refill_per_ms: rpm / 60_000.0,
            min_interval_ms: ((60_000.0 / rpm).floor() as u64).max(1),
            last_ms: Cell::new(now),
            log: RefCell::new(Vec::new()),
        }
    }

    fn refill(&self) {
        let now = self.clock.now_ms();
        let elapsed = now.saturating_sub(self.last_ms.get()) as f64;
        self.tokens
            .set((self.tokens.get() + elapsed * self.refill_per_ms).min(self.capacity));
        self.last_ms.set(now);
    }

    pub async fn acquire(&self) {
        loop {
            self.refill();
            if self.tokens.get() >= 1.0 {
                self.tokens.set(self.tokens.get() - 1.0);
                self.log.borrow_mut().push(self.clock.now_ms());
                return;
            }
            // setTimeout takes whole milliseconds; round up so the wait is never short.
            let need = ((1.0 - self.tokens.get()) / self.refill_per_ms).ceil() as u64;
            self.clock.sleep_ms(need.max(self.min_interval_ms)).await;
        }
    }

    /// Every admission time.
    pub fn admissions(&self) -> Vec<u64> {
        self.log.borrow().clone()
    }
}

#[derive(Debug, Clone)]
pub struct AnchorConfig {
    pub rpm: f64,
    pub burst: f64,
    pub concurrency: usize,
    /// The UI's default is 2 (3 attempts).
    pub max_retries: u32,
    /// DoneHub: an un-throttled `GET /api/channel/{id}` before the fetch and before the write.
    pub done_hub: bool,
    /// §H: the real 3.58.0 lists all channels again before every write (not throttled).
    pub relist_before_write: bool,
}

impl AnchorConfig {
    /// The user's settings (§A.12 defaults: RPM 20, burst 5, concurrency 2, 2 retries).
    pub fn new(rpm: u32, burst: u32, concurrency: usize) -> AnchorConfig {
        AnchorConfig {
            rpm: f64::from(rpm),
            burst: f64::from(burst),
            concurrency,
            max_retries: 2,
            done_hub: false,
            relist_before_write: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AnchorRun {
    pub duration_ms: u64,
    pub ok: usize,
    pub failed: usize,
    /// Limiter admissions (tokens taken).
    pub tokens: usize,
}

fn changed(old: &[String], new: &[String]) -> bool {
    if old.len() != new.len() {
        return true;
    }
    let (mut a, mut b) = (old.to_vec(), new.to_vec());
    a.sort();
    b.sort();
    a != b
}

fn clean(list: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    list.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && seen.insert(s.clone()))
        .collect()
}

/// `runForChannel`: true when the channel ended `ok`.
async fn run_for_channel(
    gw: &dyn Gateway,
    clock: &dyn Clock,
    limiter: &AnchorLimiter,
    cfg: &AnchorConfig,
    channel: &Channel,
) -> bool {
    let mut attempts = 0u32;
    while attempts <= cfg.max_retries {
        let result: Result<(), ()> = async {
            limiter.acquire().await;
            if cfg.done_hub {
                gw.get_channel(&channel.id).await.map_err(|_| ())?;
            }
            let upstream = clean(gw.fetch_upstream_models(channel).await.map_err(|_| ())?);
            if changed(&channel.models, &upstream) {
                limiter.acquire().await;
                if cfg.relist_before_write {
                    gw.list_channels().await.map_err(|_| ())?;
                }
                if cfg.done_hub {
                    gw.get_channel(&channel.id).await.map_err(|_| ())?;
                }
                let update = ChannelUpdate {
                    models: Some(upstream),
                    mapping: None,
                };
                gw.update_channel(channel, &update).await.map_err(|_| ())?;
            }
            Ok(())
        }
        .await;
        if result.is_ok() {
            return true;
        }
        attempts += 1;
        if attempts > cfg.max_retries {
            break;
        }
        clock.sleep_ms((1u64 << (attempts - 1)) * 1000).await;
    }
    false
}

/// `executeSync()` for every channel: list (throttled per page), then `runBatch`.
pub async fn run(
    gw: &dyn Gateway,
    clock: &dyn Clock,
    limiter: &AnchorLimiter,
    cfg: &AnchorConfig,
) -> AnchorRun {
    let t0 = clock.now_ms();
    // The legacy list path awaits the limiter before every page (100 channels a page); the fake
    // answers all pages in one call, so take the page tokens first.
    limiter.acquire().await;
    let Ok(channels) = gw.list_channels().await else {
        return AnchorRun::default();
    };
    for _ in 1..channels.len().div_ceil(100) {
        limiter.acquire().await;
    }
    let next = Cell::new(0usize);
    let ok = Cell::new(0usize);
    let workers = cfg.concurrency.min(channels.len()).max(1);
    futures::future::join_all((0..workers).map(|_| async {
        loop {
            let i = next.get();
            if i >= channels.len() {
                break;
            }
            next.set(i + 1);
            if run_for_channel(gw, clock, limiter, cfg, &channels[i]).await {
                ok.set(ok.get() + 1);
            }
        }
    }))
    .await;
    AnchorRun {
        duration_ms: clock.now_ms() - t0,
        ok: ok.get(),
        failed: channels.len() - ok.get(),
        tokens: limiter.admissions().len(),
    }
}

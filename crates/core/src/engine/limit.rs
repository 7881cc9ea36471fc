//! Token buckets (`docs/sync.md` §3): per upstream host or global for fetches, plus one site-wide bucket
//! that every admin API call goes through ([`LimitedTransport`]).
//!
//! Invariant (tested, benchmarked): over any closed 60 s window a bucket admits at most
//! `rpm + burst` requests. Arithmetic is in integer units (1 ms of refill = `rpm` units, one
//! admission = 60 000 units), so there is no floating-point drift. Waiters are served first come,
//! first served, and a waiter that is cancelled (a channel timeout) gives its place up.

use crate::clock::Clock;
use crate::gateway::{api_rate_limit, Ctx};
use crate::http::{Request, Response, Transport, TransportError};
use crate::settings::{LimitScope, RateSettings};
use async_trait::async_trait;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

const UNITS_PER_TOKEN: u64 = 60_000;
/// How long a bucket stays slowed after a 429 (counted from the end of its `Retry-After`).
pub const SLOW_WINDOW_MS: u64 = 60_000;
/// While slowed, each admission costs this many tokens.
pub const SLOW_FACTOR: u64 = 2;

#[derive(Default)]
struct State {
    tokens: u64,
    last_ms: u64,
    blocked_until_ms: u64,
    slow_until_ms: u64,
    queue: VecDeque<u64>,
    wakers: HashMap<u64, Waker>,
    next_ticket: u64,
    log: Option<Vec<u64>>,
    /// The waits a server imposed (`Retry-After`, a full rate window), as merged `[from, to)`
    /// intervals, most recent last ([`TokenBucket::paused_between`]).
    pauses: VecDeque<(u64, u64)>,
}

/// How many server-imposed pauses a bucket remembers.
const MAX_PAUSES: usize = 64;

impl State {
    fn wake_head(&mut self) {
        if let Some(head) = self.queue.front() {
            if let Some(w) = self.wakers.remove(head) {
                w.wake();
            }
        }
    }
}

/// What one admission costs at `now`: more while the bucket is slowed after a 429.
fn cost_at(st: &State, now: u64) -> u64 {
    if now < st.slow_until_ms {
        UNITS_PER_TOKEN * SLOW_FACTOR
    } else {
        UNITS_PER_TOKEN
    }
}

/// A token bucket over an injected clock. `rpm == 0` means unlimited.
pub struct TokenBucket {
    clock: Rc<dyn Clock>,
    rpm: u64,
    burst: u64,
    state: RefCell<State>,
}

impl TokenBucket {
    /// A full bucket: `burst` requests pass at once, then `rpm` per minute.
    pub fn new(clock: Rc<dyn Clock>, rpm: u32, burst: u32) -> TokenBucket {
        let burst = u64::from(burst.max(1));
        let state = State {
            tokens: burst * UNITS_PER_TOKEN,
            last_ms: clock.monotonic_ms(),
            ..Default::default()
        };
        TokenBucket {
            clock,
            rpm: u64::from(rpm),
            burst,
            state: RefCell::new(state),
        }
    }

    /// A bucket that never waits (for "limits off" benchmarks).
    pub fn unlimited(clock: Rc<dyn Clock>) -> TokenBucket {
        let mut b = TokenBucket::new(clock, 0, 1);
        b.rpm = 0;
        b
    }

    /// Keep the time of every admission (tests and benchmarks read it with [`Self::admissions`]).
    pub fn record_admissions(&self) {
        self.state.borrow_mut().log.get_or_insert_with(Vec::new);
    }

    pub fn admissions(&self) -> Vec<u64> {
        self.state.borrow().log.clone().unwrap_or_default()
    }

    pub fn rpm(&self) -> u32 {
        u32::try_from(self.rpm).unwrap_or(u32::MAX)
    }

    pub fn burst(&self) -> u32 {
        u32::try_from(self.burst).unwrap_or(u32::MAX)
    }

    /// The tokens `st` holds at `now` (refilled since `last_ms`, capped at the burst).
    fn tokens_at(&self, st: &State, now: u64) -> u64 {
        if now > st.last_ms {
            (self.burst * UNITS_PER_TOKEN).min(
                st.tokens
                    .saturating_add((now - st.last_ms).saturating_mul(self.rpm)),
            )
        } else {
            st.tokens
        }
    }

    fn refill(&self, st: &mut State, now: u64) {
        st.tokens = self.tokens_at(st, now);
        st.last_ms = st.last_ms.max(now);
    }

    /// Wait for a token. Cancel-safe: dropping the future gives the place in the queue up.
    pub async fn acquire(&self) {
        if self.rpm == 0 {
            return;
        }
        let ticket = {
            let mut st = self.state.borrow_mut();
            let t = st.next_ticket;
            st.next_ticket += 1;
            st.queue.push_back(t);
            t
        };
        let guard = QueueGuard {
            bucket: self,
            ticket,
            armed: true,
        };
        loop {
            poll_fn(|cx| {
                let mut st = self.state.borrow_mut();
                if st.queue.front() == Some(&ticket) {
                    Poll::Ready(())
                } else {
                    st.wakers.insert(ticket, cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
            let now = self.clock.monotonic_ms();
            let wait = {
                let mut st = self.state.borrow_mut();
                self.refill(&mut st, now);
                let cost = cost_at(&st, now);
                if now < st.blocked_until_ms {
                    st.blocked_until_ms - now
                } else if st.tokens >= cost {
                    st.tokens -= cost;
                    st.queue.pop_front();
                    if let Some(log) = st.log.as_mut() {
                        log.push(now);
                    }
                    st.wake_head();
                    0
                } else {
                    (cost - st.tokens).div_ceil(self.rpm)
                }
            };
            if wait == 0 {
                let mut guard = guard;
                guard.armed = false;
                return;
            }
            self.clock.sleep_ms(wait).await;
        }
    }

    /// About how long a new [`Self::acquire`] would wait now, counting the callers already queued
    /// (0 = it would pass at once). For choosing which channel to start next, not a promise.
    pub fn ready_in_ms(&self) -> u64 {
        if self.rpm == 0 {
            return 0;
        }
        let now = self.clock.monotonic_ms();
        let st = self.state.borrow();
        let tokens = self.tokens_at(&st, now);
        let cost = cost_at(&st, now);
        let need = cost.saturating_mul(st.queue.len() as u64 + 1);
        // Tokens only start to count again once a block has ended.
        let from = st.blocked_until_ms.max(now);
        let short = need.saturating_sub(tokens);
        (from - now).saturating_add(short.div_ceil(self.rpm))
    }

    /// A 429 was seen: no admission before `retry_after_ms` (if given), the burst is spent, and
    /// admissions cost [`SLOW_FACTOR`] tokens for the next [`SLOW_WINDOW_MS`].
    pub fn penalize(&self, retry_after_ms: Option<u64>) {
        if self.rpm == 0 {
            return;
        }
        let now = self.clock.monotonic_ms();
        let mut st = self.state.borrow_mut();
        self.refill(&mut st, now);
        st.tokens = 0;
        if let Some(wait) = retry_after_ms.filter(|w| *w > 0) {
            let to = now.saturating_add(wait);
            match st.pauses.back_mut() {
                Some(last) if last.1 >= now => last.1 = last.1.max(to),
                _ => {
                    if st.pauses.len() == MAX_PAUSES {
                        st.pauses.pop_front();
                    }
                    st.pauses.push_back((now, to));
                }
            }
        }
        st.blocked_until_ms = st
            .blocked_until_ms
            .max(now.saturating_add(retry_after_ms.unwrap_or(0)));
        // Refill only from the end of the block: no burst right after the server's wait.
        st.last_ms = st.last_ms.max(st.blocked_until_ms);
        st.slow_until_ms = st
            .slow_until_ms
            .max(st.blocked_until_ms.saturating_add(SLOW_WINDOW_MS));
    }
}

impl TokenBucket {
    /// How much of `[from, to)` the server had this bucket paused (`Retry-After`, or a full
    /// rate window after a bare 429). Time an item spends waiting out the server does not count
    /// against its own time limit.
    pub fn paused_between(&self, from: u64, to: u64) -> u64 {
        self.state
            .borrow()
            .pauses
            .iter()
            .map(|&(a, b)| b.min(to).saturating_sub(a.max(from)))
            .sum()
    }
}

struct QueueGuard<'a> {
    bucket: &'a TokenBucket,
    ticket: u64,
    armed: bool,
}

impl Drop for QueueGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.bucket.state.borrow_mut();
            st.queue.retain(|t| *t != self.ticket);
            st.wakers.remove(&self.ticket);
            st.wake_head();
        }
    }
}

/// The most admissions found in any closed window of `window_ms` (times must be sorted).
pub fn max_in_window(times: &[u64], window_ms: u64) -> usize {
    let mut best = 0;
    let mut start = 0;
    for (end, t) in times.iter().enumerate() {
        while times[start] + window_ms < *t {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// All buckets of one engine (one site).
pub struct Limits {
    clock: Rc<dyn Clock>,
    rate: RateSettings,
    site: Rc<TokenBucket>,
    fetch: RefCell<HashMap<String, Rc<TokenBucket>>>,
    record: bool,
    unlimited: bool,
}

impl Limits {
    pub fn new(clock: Rc<dyn Clock>, rate: &RateSettings) -> Rc<Limits> {
        Rc::new(Limits {
            site: Rc::new(TokenBucket::new(
                clock.clone(),
                rate.site_rpm,
                rate.site_burst,
            )),
            clock,
            rate: rate.clone(),
            fetch: RefCell::new(HashMap::new()),
            record: false,
            unlimited: false,
        })
    }

    /// Like [`Self::new`], keeping every admission time (tests, benchmarks).
    pub fn recording(clock: Rc<dyn Clock>, rate: &RateSettings) -> Rc<Limits> {
        let site = Rc::new(TokenBucket::new(
            clock.clone(),
            rate.site_rpm,
            rate.site_burst,
        ));
        site.record_admissions();
        Rc::new(Limits {
            site,
            clock,
            rate: rate.clone(),
            fetch: RefCell::new(HashMap::new()),
            record: true,
            unlimited: false,
        })
    }

    /// No limits at all (engine-overhead benchmarks only).
    pub fn unlimited(clock: Rc<dyn Clock>) -> Rc<Limits> {
        Rc::new(Limits {
            site: Rc::new(TokenBucket::unlimited(clock.clone())),
            clock,
            rate: RateSettings::default(),
            fetch: RefCell::new(HashMap::new()),
            record: false,
            unlimited: true,
        })
    }

    /// The bucket every admin API call takes a token from.
    pub fn site_bucket(&self) -> Rc<TokenBucket> {
        self.site.clone()
    }

    /// The bucket key of a fetch: the upstream host (per-host scope; channels without a known
    /// host share the `""` bucket) or `"*"` (global scope).
    pub fn fetch_key(&self, host: Option<&str>) -> String {
        match self.rate.scope {
            LimitScope::Global => "*".into(),
            LimitScope::PerHost => host.unwrap_or("").to_string(),
        }
    }

    /// The bucket for a fetch to `host`.
    pub fn fetch_bucket(&self, host: Option<&str>) -> Rc<TokenBucket> {
        let key = self.fetch_key(host);
        self.fetch
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                let b = if self.unlimited {
                    TokenBucket::unlimited(self.clock.clone())
                } else {
                    TokenBucket::new(self.clock.clone(), self.rate.rpm, self.rate.burst)
                };
                if self.record {
                    b.record_admissions();
                }
                Rc::new(b)
            })
            .clone()
    }

    /// Every fetch bucket by key (tests, benchmarks).
    pub fn fetch_buckets(&self) -> Vec<(String, Rc<TokenBucket>)> {
        let mut v: Vec<_> = self
            .fetch
            .borrow()
            .iter()
            .map(|(k, b)| (k.clone(), b.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Wrap a transport so each request takes a site token and a 429 slows the site bucket.
    pub fn wrap_transport(&self, inner: Rc<dyn Transport>) -> Rc<dyn Transport> {
        Rc::new(LimitedTransport {
            inner,
            bucket: self.site.clone(),
            quiet_429_pause_ms: None,
        })
    }

    /// The adapter context with its transport wrapped (see [`Self::wrap_transport`]). A bare
    /// 429 from a site type with a known admin API limit pauses the site bucket for that
    /// limit's whole window (see [`LimitedTransport`]).
    pub fn wrap_ctx(&self, mut ctx: Ctx) -> Ctx {
        ctx.transport = Rc::new(LimitedTransport {
            inner: ctx.transport,
            bucket: self.site.clone(),
            quiet_429_pause_ms: api_rate_limit(ctx.site.kind).map(|l| l.window_ms),
        });
        ctx
    }
}

/// A [`Transport`] that takes a token from the site bucket before every request.
///
/// New API, Veloera and DoneHub answer their own rate limit with a 429 that has an empty body
/// and (except New API since 2026-07-21) no `Retry-After`: the sliding window is full, and
/// every request before it drains is refused again and counted against the admin's dashboard
/// too. Such a 429 pauses the site bucket for the limit's whole window.
pub struct LimitedTransport {
    inner: Rc<dyn Transport>,
    bucket: Rc<TokenBucket>,
    /// The pause after a 429 without `Retry-After` and without a body.
    quiet_429_pause_ms: Option<u64>,
}

#[async_trait(?Send)]
impl Transport for LimitedTransport {
    async fn send(&self, req: Request) -> Result<Response, TransportError> {
        self.bucket.acquire().await;
        let resp = self.inner.send(req).await?;
        if resp.status == 429 {
            let quiet = resp.body.trim().is_empty();
            let wait = resp
                .retry_after_ms()
                .or(self.quiet_429_pause_ms.filter(|_| quiet));
            self.bucket.penalize(wait);
        }
        Ok(resp)
    }

    fn manages_cookies(&self) -> bool {
        self.inner.manages_cookies()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Sim;
    use futures::future::join_all;

    fn admit_all(rpm: u32, burst: u32, n: usize, stagger_ms: u64) -> Vec<u64> {
        let mut sim = Sim::new();
        let clock = Rc::new(sim.clock());
        let b = TokenBucket::new(clock.clone(), rpm, burst);
        b.record_admissions();
        sim.block_on(join_all((0..n).map(|i| {
            let (b, clock) = (&b, clock.clone());
            async move {
                clock.sleep_ms(i as u64 * stagger_ms).await;
                b.acquire().await;
            }
        })));
        b.admissions()
    }

    #[test]
    fn no_window_admits_more_than_rpm_plus_burst() {
        for (rpm, burst, n, stagger) in [
            (20, 5, 200, 0),
            (60, 10, 500, 7),
            (1, 1, 10, 0),
            (600, 50, 3000, 1),
            (7, 3, 100, 4_000),
        ] {
            let times = admit_all(rpm, burst, n, stagger);
            assert_eq!(times.len(), n);
            let worst = max_in_window(&times, 60_000);
            assert!(
                worst <= (rpm + burst) as usize,
                "rpm {rpm} burst {burst}: {worst}"
            );
            if stagger == 0 {
                // A saturated bucket reaches the bound exactly: it is a limit, not a guess.
                assert_eq!(worst, (rpm + burst) as usize, "rpm {rpm} burst {burst}");
            }
        }
    }

    #[test]
    fn burst_then_steady_rate() {
        let times = admit_all(20, 5, 8, 0);
        let t0 = times[0];
        let rel: Vec<u64> = times.iter().map(|t| t - t0).collect();
        assert_eq!(rel, vec![0, 0, 0, 0, 0, 3000, 6000, 9000]);
    }

    #[test]
    fn penalty_blocks_then_slows() {
        let mut sim = Sim::new();
        let clock = Rc::new(sim.clock());
        let b = TokenBucket::new(clock.clone(), 60, 5);
        b.record_admissions();
        let t0 = clock.now_ms();
        sim.block_on(async {
            b.acquire().await;
            b.penalize(Some(10_000));
            b.acquire().await; // blocked 10 s, then needs 2 tokens: 2 s more
            b.acquire().await; // 2 tokens at 1/s
        });
        let rel: Vec<u64> = b.admissions().iter().map(|t| t - t0).collect();
        assert_eq!(rel, vec![0, 12_000, 14_000]);
    }

    /// New API / Veloera / DoneHub answer their own limit with a bare 429 (empty body, no
    /// `Retry-After`): the site bucket then waits out the server's whole window, instead of
    /// retrying into it. A 429 with a body, or from a site type without a known limit, only
    /// gets the usual slow-down.
    #[test]
    fn a_bare_429_pauses_the_site_for_the_servers_window() {
        use crate::gateway::testing::{test_ctx, text, FakeTransport};
        use crate::http::Method;
        use crate::model::SiteKind;
        for (kind, body, want_pause) in [
            (SiteKind::NewApi, "", true),
            (SiteKind::Veloera, "", true),
            (SiteKind::DoneHub, " ", true),
            (SiteKind::NewApi, "{\"error\":\"upstream busy\"}", false),
            (SiteKind::Octopus, "", false),
        ] {
            let mut sim = Sim::new();
            let clock: Rc<dyn Clock> = Rc::new(sim.clock());
            let mut first = true;
            let t = FakeTransport::new(move |_| {
                let r = if first {
                    text(429, body)
                } else {
                    text(200, "{}")
                };
                first = false;
                Ok(r)
            });
            let mut ctx = test_ctx(kind, t);
            ctx.clock = clock.clone();
            let limits = Limits::recording(clock.clone(), &RateSettings::default());
            let ctx = limits.wrap_ctx(ctx);
            let t0 = clock.now_ms();
            sim.block_on(async {
                let a = ctx
                    .transport
                    .send(Request::new(Method::Get, "http://x/api/channel/"));
                assert_eq!(a.await.unwrap().status, 429);
                let b = ctx
                    .transport
                    .send(Request::new(Method::Get, "http://x/api/channel/"));
                assert_eq!(b.await.unwrap().status, 200);
            });
            let second = limits.site_bucket().admissions()[1] - t0;
            if want_pause {
                assert!(second >= 180_000, "{kind}: {second}");
            } else {
                assert!(second < 60_000, "{kind} {body:?}: {second}");
            }
        }
    }

    #[test]
    fn a_cancelled_waiter_gives_its_place_up() {
        let mut sim = Sim::new();
        let clock = Rc::new(sim.clock());
        let b = TokenBucket::new(clock.clone(), 60, 1);
        b.record_admissions();
        sim.block_on(async {
            b.acquire().await;
            {
                let waiting = std::pin::pin!(b.acquire());
                let give_up = std::pin::pin!(clock.sleep_ms(10));
                futures::future::select(waiting, give_up).await;
            }
            b.acquire().await;
        });
        assert_eq!(b.admissions().len(), 2);
        assert_eq!(b.admissions()[1] - b.admissions()[0], 1000);
    }

    #[test]
    fn window_counter() {
        assert_eq!(max_in_window(&[0, 0, 60_000, 60_001], 60_000), 3);
        assert_eq!(max_in_window(&[], 60_000), 0);
    }
}

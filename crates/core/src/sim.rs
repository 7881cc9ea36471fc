//! Virtual time: a [`SimClock`] and a deterministic single-threaded executor ([`Sim`]).
//!
//! The executor polls until nothing can make progress, then moves the clock to the earliest
//! pending sleep and wakes it. A rate-limited run that would take minutes of wall time finishes in
//! milliseconds, and the same seed always gives the same schedule.
//!
//! ```
//! use msync_core::clock::Clock;
//! use msync_core::sim::Sim;
//! let mut sim = Sim::new();
//! let clock = sim.clock();
//! let t0 = clock.now_ms();
//! sim.block_on(async { clock.sleep_ms(90_000).await });
//! assert_eq!(clock.now_ms() - t0, 90_000);
//! ```

use crate::clock::Clock;
use async_trait::async_trait;
use futures::executor::LocalPool;
use futures::task::{waker, ArcWake, LocalSpawnExt};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Where virtual time starts: 2026-01-01T00:00:00Z, so timestamps look real in records.
pub const SIM_EPOCH_MS: u64 = 1_767_225_600_000;

#[derive(Default)]
struct ClockState {
    now: Cell<u64>,
    /// Wall time minus virtual time (moved by [`SimClock::jump_wall`]).
    wall_offset: Cell<i64>,
    next_id: Cell<u64>,
    sleepers: RefCell<BTreeMap<(u64, u64), Waker>>,
}

/// A clock whose time moves only when [`Sim`] (or a test) advances it. Cheap to clone; clones
/// share the same time.
#[derive(Clone)]
pub struct SimClock {
    state: Rc<ClockState>,
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new(SIM_EPOCH_MS)
    }
}

impl SimClock {
    pub fn new(start_ms: u64) -> SimClock {
        let state = ClockState::default();
        state.now.set(start_ms);
        SimClock {
            state: Rc::new(state),
        }
    }

    /// The deadline of the earliest pending sleep.
    pub fn next_deadline(&self) -> Option<u64> {
        self.state.sleepers.borrow().keys().next().map(|k| k.0)
    }

    /// Set the time to `t` (never backwards) and wake every sleep due by then.
    pub fn advance_to(&self, t: u64) {
        if t > self.state.now.get() {
            self.state.now.set(t);
        }
        let now = self.state.now.get();
        let due: Vec<Waker> = {
            let mut sleepers = self.state.sleepers.borrow_mut();
            let later = sleepers.split_off(&(now + 1, 0));
            let due = std::mem::replace(&mut *sleepers, later);
            due.into_values().collect()
        };
        for w in due {
            w.wake();
        }
    }

    /// Jump to the earliest pending sleep; false when nothing sleeps.
    pub fn advance_to_next(&self) -> bool {
        match self.next_deadline() {
            Some(t) => {
                self.advance_to(t);
                true
            }
            None => false,
        }
    }

    /// Set the wall clock forwards (positive) or backwards (negative) by `delta_ms`, as a user
    /// or NTP setting the system clock does. Virtual time, sleeps and [`Clock::monotonic_ms`]
    /// are not moved; [`Clock::now_ms`] is.
    pub fn jump_wall(&self, delta_ms: i64) {
        self.state
            .wall_offset
            .set(self.state.wall_offset.get().saturating_add(delta_ms));
    }

    /// Pending sleeps (for deadlock diagnostics).
    pub fn sleepers(&self) -> usize {
        self.state.sleepers.borrow().len()
    }

    fn sleep_until(&self, deadline: u64) -> Sleep {
        let id = self.state.next_id.get();
        self.state.next_id.set(id + 1);
        Sleep {
            state: self.state.clone(),
            key: (deadline, id),
        }
    }
}

struct Sleep {
    state: Rc<ClockState>,
    key: (u64, u64),
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.now.get() >= self.key.0 {
            self.state.sleepers.borrow_mut().remove(&self.key);
            Poll::Ready(())
        } else {
            self.state
                .sleepers
                .borrow_mut()
                .insert(self.key, cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        // A cancelled sleep (a lost timeout race) must not pull virtual time forward.
        self.state.sleepers.borrow_mut().remove(&self.key);
    }
}

#[async_trait(?Send)]
impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.state
            .now
            .get()
            .saturating_add_signed(self.state.wall_offset.get())
    }
    fn monotonic_ms(&self) -> u64 {
        self.state.now.get()
    }
    async fn sleep_ms(&self, ms: u64) {
        let deadline = self.state.now.get().saturating_add(ms);
        self.sleep_until(deadline).await
    }
}

struct Flag(AtomicBool);

impl ArcWake for Flag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.store(true, Ordering::SeqCst);
    }
}

/// A deterministic executor over a [`SimClock`].
pub struct Sim {
    clock: SimClock,
    pool: LocalPool,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    pub fn new() -> Sim {
        Sim {
            clock: SimClock::default(),
            pool: LocalPool::new(),
        }
    }

    /// The virtual clock, as an `Rc<dyn Clock>`-able handle.
    pub fn clock(&self) -> SimClock {
        self.clock.clone()
    }

    /// Spawn a background task (it runs while `block_on`/`run_until` drive the pool).
    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        // Spawning on a live LocalPool cannot fail.
        let _ = self.pool.spawner().spawn_local(fut);
    }

    /// Drive `fut` to completion in virtual time.
    ///
    /// Panics on a deadlock (nothing runnable and nothing sleeping): in a test that is a bug.
    pub fn block_on<T>(&mut self, fut: impl Future<Output = T>) -> T {
        match self.run_until(fut, |_| false) {
            Some(v) => v,
            None => panic!("simulation stopped without a result"),
        }
    }

    /// Drive `fut` until it completes, or until `stop(now)` says so at a moment when everything
    /// waits on the clock; then the future is dropped (an interrupted run) and `None` returned.
    /// `stop` is asked before each time step with the time the clock would move to.
    pub fn run_until<T>(
        &mut self,
        fut: impl Future<Output = T>,
        mut stop: impl FnMut(u64) -> bool,
    ) -> Option<T> {
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let w = waker(flag.clone());
        let mut cx = Context::from_waker(&w);
        let mut fut = pin!(fut);
        loop {
            if flag.0.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                    return Some(v);
                }
            }
            self.pool.run_until_stalled();
            if flag.0.load(Ordering::SeqCst) {
                continue;
            }
            let Some(next) = self.clock.next_deadline() else {
                panic!("simulation deadlock: nothing runnable and no sleeper");
            };
            if stop(next) {
                return None;
            }
            self.clock.advance_to(next);
        }
    }

    /// Run `fut` but drop it before virtual time passes `deadline_ms`.
    pub fn run_until_time<T>(
        &mut self,
        fut: impl Future<Output = T>,
        deadline_ms: u64,
    ) -> Option<T> {
        self.run_until(fut, |next| next > deadline_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::{join, select, Either};

    #[test]
    fn sleeps_finish_in_virtual_order() {
        let mut sim = Sim::new();
        let clock = sim.clock();
        let t0 = clock.now_ms();
        let log = RefCell::new(Vec::new());
        sim.block_on(join(
            async {
                clock.sleep_ms(300).await;
                log.borrow_mut().push((1, clock.now_ms() - t0));
            },
            async {
                clock.sleep_ms(100).await;
                log.borrow_mut().push((2, clock.now_ms() - t0));
                clock.sleep_ms(100).await;
                log.borrow_mut().push((3, clock.now_ms() - t0));
            },
        ));
        assert_eq!(*log.borrow(), vec![(2, 100), (3, 200), (1, 300)]);
    }

    #[test]
    fn a_lost_timeout_does_not_move_time() {
        let mut sim = Sim::new();
        let clock = sim.clock();
        let t0 = clock.now_ms();
        sim.block_on(async {
            let work = pin!(clock.sleep_ms(10));
            let limit = pin!(clock.sleep_ms(120_000));
            assert!(matches!(select(work, limit).await, Either::Left(_)));
        });
        assert_eq!(clock.now_ms() - t0, 10);
        assert_eq!(clock.sleepers(), 0);
    }

    #[test]
    fn run_until_time_drops_the_future() {
        let mut sim = Sim::new();
        let clock = sim.clock();
        let t0 = clock.now_ms();
        let steps = Cell::new(0);
        let out = sim.run_until_time(
            async {
                for _ in 0..10 {
                    clock.sleep_ms(1000).await;
                    steps.set(steps.get() + 1);
                }
            },
            t0 + 3500,
        );
        assert!(out.is_none());
        assert_eq!(steps.get(), 3);
    }

    #[test]
    fn a_wall_clock_jump_moves_now_but_not_sleeps_or_monotonic_time() {
        let mut sim = Sim::new();
        let clock = sim.clock();
        let (t0, m0) = (clock.now_ms(), clock.monotonic_ms());
        clock.jump_wall(-3_600_000);
        assert_eq!(clock.now_ms(), t0 - 3_600_000);
        assert_eq!(clock.monotonic_ms(), m0);
        sim.block_on(clock.sleep_ms(1_000));
        assert_eq!(clock.monotonic_ms(), m0 + 1_000);
        clock.jump_wall(7_200_000);
        assert_eq!(clock.now_ms(), t0 + 3_601_000);
    }

    #[test]
    fn spawned_tasks_run_too() {
        let mut sim = Sim::new();
        let clock = sim.clock();
        let hit = Rc::new(Cell::new(0u64));
        let (c2, h2) = (clock.clone(), hit.clone());
        sim.spawn(async move {
            c2.sleep_ms(50).await;
            h2.set(c2.now_ms());
        });
        sim.block_on(clock.sleep_ms(100));
        assert_eq!(hit.get(), SIM_EPOCH_MS + 50);
    }
}

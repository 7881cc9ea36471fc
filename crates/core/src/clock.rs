//! Time, injected: real timers in the worker and CLI, virtual time in tests.

use async_trait::async_trait;

#[async_trait(?Send)]
pub trait Clock {
    /// Milliseconds since the Unix epoch (virtual in tests). Wall time: it jumps when the
    /// system clock is set, so it stamps records but never measures a wait.
    fn now_ms(&self) -> u64;
    /// Milliseconds from an arbitrary origin that never go backwards and do not follow changes
    /// of the system clock (`performance.now()` in the worker, `Instant` in the CLI). Deadlines,
    /// time limits and rate limits use it. The default is the wall clock, for clocks that have
    /// nothing better.
    fn monotonic_ms(&self) -> u64 {
        self.now_ms()
    }
    /// Resolve after `ms` milliseconds of this clock's time.
    async fn sleep_ms(&self, ms: u64);
}

//! Time, injected: real timers in the worker and CLI, virtual time in tests.

use async_trait::async_trait;

#[async_trait(?Send)]
pub trait Clock {
    /// Milliseconds since the Unix epoch (virtual in tests).
    fn now_ms(&self) -> u64;
    /// Resolve after `ms` milliseconds of this clock's time.
    async fn sleep_ms(&self, ms: u64);
}

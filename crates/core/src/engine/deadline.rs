//! The per-channel time limit and the retry policy around one call to the site.

use super::*;
use futures::future::{select, Either};
use std::future::Future;
use std::pin::pin;

/// The per-channel time limit ran out.
pub(super) struct Deadline;

impl Engine {
    /// Run `fut`, giving up at `deadline` (on the clock's monotonic time, see [`Self::deadline`]),
    /// moved later by the time the server had the site paused (see [`Self::effective_deadline`]).
    pub(super) async fn within<T>(
        &self,
        deadline: Option<u64>,
        fut: impl Future<Output = T>,
    ) -> Result<T, Deadline> {
        let Some(deadline) = deadline else {
            return Ok(fut.await);
        };
        let mut fut = pin!(fut);
        loop {
            let now = self.clock.monotonic_ms();
            let end = self.effective_deadline(deadline);
            if now >= end {
                return Err(Deadline);
            }
            match select(fut.as_mut(), self.clock.sleep_ms(end - now)).await {
                Either::Left((v, _)) => return Ok(v),
                // A pause may have begun meanwhile: look again.
                Either::Right(_) => {}
            }
        }
    }

    /// An item's deadline (`start + limit`, from [`Self::deadline`]) plus the time the
    /// server had the site bucket paused since the item started: waiting out a gateway's rate
    /// window (a bare 429 pauses the site for the whole window) or its `Retry-After` is not the
    /// channel being slow, and must not fail every channel in flight.
    fn effective_deadline(&self, deadline: u64) -> u64 {
        let limit = u64::from(self.settings.channel_timeout_secs) * 1000;
        let start = deadline.saturating_sub(limit);
        let site = self.limits.site_bucket();
        let mut end = deadline;
        // Each extension may take in more of a pause; pauses are few and bounded.
        for _ in 0..16 {
            let next = deadline.saturating_add(site.paused_between(start, end));
            if next == end {
                break;
            }
            end = next;
        }
        end
    }

    pub(super) fn deadline_error(&self) -> Error {
        Error::found(
            ErrorClass::Timeout,
            RunError::ChannelTimeout {
                secs: self.settings.channel_timeout_secs,
            },
        )
        .not_retryable()
    }

    /// The per-channel time limit from now, on the monotonic clock: setting the system clock
    /// forwards or backwards mid-run neither times a channel out at once nor lets it run on.
    pub(super) fn deadline(&self) -> Option<u64> {
        (self.settings.channel_timeout_secs > 0).then(|| {
            self.clock
                .monotonic_ms()
                .saturating_add(u64::from(self.settings.channel_timeout_secs) * 1000)
        })
    }

    /// What to do after failed attempt number `attempts`. A wait that would end past the
    /// deadline is not started: the item fails now, with its real error and a note why.
    pub(super) fn retry_after(
        &self,
        err: &mut Error,
        attempts: u32,
        deadline: Option<u64>,
    ) -> RetryDecision {
        let decision = {
            let mut rng = self.rng.borrow_mut();
            retry::decide(&self.settings.retry, err, attempts, &mut **rng)
        };
        match (decision, deadline.map(|d| self.effective_deadline(d))) {
            (RetryDecision::After(ms), Some(d))
                if self.clock.monotonic_ms().saturating_add(ms) >= d =>
            {
                err.gave_up = Some(GaveUp::NoTimeLeft {
                    secs: self.settings.channel_timeout_secs,
                });
                RetryDecision::GiveUp
            }
            (RetryDecision::GiveUp, _)
                if err.retryable && err.retry_after_ms.unwrap_or(0) > retry::MAX_RETRY_AFTER_MS =>
            {
                err.gave_up = Some(GaveUp::WaitTooLong {
                    secs: err.retry_after_ms.unwrap_or(0) / 1000,
                });
                RetryDecision::GiveUp
            }
            (d, _) => d,
        }
    }

    /// Call `op` until it succeeds, fails for good, or the deadline passes.
    pub(super) async fn retrying<T>(
        &self,
        deadline: Option<u64>,
        attempts: &mut u32,
        mut op: impl AsyncFnMut() -> Result<T>,
    ) -> Result<T> {
        loop {
            *attempts += 1;
            let mut err = match self.within(deadline, op()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(Deadline) => return Err(self.deadline_error()),
            };
            match self.retry_after(&mut err, *attempts, deadline) {
                RetryDecision::GiveUp => return Err(err),
                RetryDecision::After(ms) => self.clock.sleep_ms(ms).await,
            }
        }
    }
}

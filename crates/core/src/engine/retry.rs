//! Retry policy: which failures are retried and how long to wait (exponential backoff with full
//! jitter, capped; `Retry-After` honoured).

use crate::error::Error;
use crate::settings::RetrySettings;

/// A `Retry-After` longer than this is not waited for: the item fails with the server's request
/// in its message instead of holding the run for hours.
pub const MAX_RETRY_AFTER_MS: u64 = 300_000;

/// Randomness, injected so tests and simulations are deterministic.
pub trait RandomSource {
    fn next_u64(&mut self) -> u64;
}

/// SplitMix64: tiny, fast, good enough for jitter and property-test loops.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl RandomSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl SplitMix64 {
    /// A value in `0..n` (0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// The backoff ceiling before retry number `retry` (1 = first retry): `min(cap, base·2^(retry−1))`.
pub fn backoff_ceiling_ms(policy: &RetrySettings, retry: u32) -> u64 {
    let shift = retry.saturating_sub(1).min(40);
    policy
        .base_ms
        .saturating_mul(1u64 << shift)
        .min(policy.cap_ms)
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    After(u64),
    /// Give up: not retryable, retries used up, or the server asked for too long a wait.
    GiveUp,
}

/// Decide about retry number `retry` (1-based) after `err`: full jitter in `[0, ceiling]`, but
/// never sooner than the server's `Retry-After`.
pub fn decide(
    policy: &RetrySettings,
    err: &Error,
    retry: u32,
    rng: &mut dyn RandomSource,
) -> RetryDecision {
    if !err.retryable || retry > policy.max_retries {
        return RetryDecision::GiveUp;
    }
    let server = err.retry_after_ms.unwrap_or(0);
    if server > MAX_RETRY_AFTER_MS {
        return RetryDecision::GiveUp;
    }
    let ceiling = backoff_ceiling_ms(policy, retry);
    let jitter = rng.next_u64() % (ceiling + 1);
    RetryDecision::After(jitter.max(server))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    #[test]
    fn ceilings_double_and_cap() {
        let p = RetrySettings {
            max_retries: 10,
            base_ms: 1000,
            cap_ms: 60_000,
        };
        let got: Vec<u64> = (1..=8).map(|r| backoff_ceiling_ms(&p, r)).collect();
        assert_eq!(
            got,
            vec![1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]
        );
        assert_eq!(backoff_ceiling_ms(&p, 200), 60_000);
    }

    #[test]
    fn only_retryable_errors_within_budget_are_retried() {
        let p = RetrySettings::default();
        let mut rng = SplitMix64(1);
        let rows = [
            (Error::new(ErrorClass::Network, "x"), 1, true),
            (Error::new(ErrorClass::Timeout, "x"), 3, true),
            (Error::new(ErrorClass::Timeout, "x"), 4, false),
            (
                Error::new(ErrorClass::Server, "x").with_status(503),
                1,
                true,
            ),
            (
                Error::new(ErrorClass::RateLimited, "x").with_status(429),
                1,
                true,
            ),
            (
                Error::new(ErrorClass::Validation, "x").with_status(408),
                1,
                true,
            ),
            (Error::new(ErrorClass::Auth, "x").with_status(401), 1, false),
            (
                Error::new(ErrorClass::Permission, "x").with_status(403),
                1,
                false,
            ),
            (
                Error::new(ErrorClass::NotFound, "x").with_status(404),
                1,
                false,
            ),
            (
                Error::new(ErrorClass::Validation, "x").with_status(400),
                1,
                false,
            ),
            (Error::new(ErrorClass::InvalidResponse, "x"), 1, false),
        ];
        for (err, retry, want) in rows {
            let got = matches!(decide(&p, &err, retry, &mut rng), RetryDecision::After(_));
            assert_eq!(got, want, "{err:?} retry {retry}");
        }
    }

    #[test]
    fn jitter_stays_in_range_and_retry_after_wins() {
        let p = RetrySettings {
            max_retries: 10,
            base_ms: 1000,
            cap_ms: 8000,
        };
        let mut rng = SplitMix64(42);
        let err = Error::new(ErrorClass::Network, "x");
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..2000 {
            for retry in 1..=6 {
                let RetryDecision::After(ms) = decide(&p, &err, retry, &mut rng) else {
                    panic!()
                };
                let ceiling = backoff_ceiling_ms(&p, retry);
                assert!(ms <= ceiling);
                seen_low |= retry == 6 && ms < 1000;
                seen_high |= retry == 6 && ms > 7000;
            }
        }
        assert!(seen_low && seen_high, "full jitter covers [0, ceiling]");
        let slow = Error::new(ErrorClass::RateLimited, "x").with_retry_after(Some(30_000));
        for _ in 0..100 {
            assert!(
                matches!(decide(&p, &slow, 1, &mut rng), RetryDecision::After(ms) if ms >= 30_000)
            );
        }
        let too_slow = slow.with_retry_after(Some(MAX_RETRY_AFTER_MS + 1));
        assert_eq!(decide(&p, &too_slow, 1, &mut rng), RetryDecision::GiveUp);
    }
}

//! Adapter tests against the scripted in-memory transport.

mod axon_hub;
mod done_hub;
mod new_api;
mod octopus;

use super::testing::{TEST_PASSWORD, TEST_TOKEN};
use crate::error::Error;

/// No secret of the test sites (nor a session token) may appear in any error message.
pub fn assert_clean(e: &Error, extra: &[&str]) {
    let all = format!("{e} {e:?}");
    for s in [TEST_TOKEN, TEST_PASSWORD].iter().chain(extra) {
        assert!(!all.contains(s), "secret {s:?} leaked in {all}");
    }
}

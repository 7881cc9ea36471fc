//! msync-core: every decision msync makes, with no I/O of its own.
//!
//! The world reaches this crate only through three small traits: [`http::Transport`],
//! [`clock::Clock`] and [`store::KvStore`]. The browser worker implements them with
//! `fetch`/timers/`chrome.storage`, the CLI with reqwest/tokio/files, and tests with
//! in-memory fakes and virtual time. Nothing in here may depend on web-sys, js-sys,
//! wasm-bindgen, tokio or reqwest (`cargo xtask test` checks it).
//!
//! The shared vocabulary (model, settings, records, plan values, protocol…) lives in
//! `msync-types` and is re-exported here at its old paths. The in-memory fakes and virtual-time
//! harness ([`sim`], [`testing`], `gateway::testing`, [`crash`]) are compiled for tests and with
//! the `test-util` feature only, never into the extension or the CLI.

pub use msync_types::base_url;
pub mod clock;
#[cfg(any(test, feature = "test-util"))]
pub mod crash;
pub mod engine;
pub use msync_types::error;
pub mod filter;
pub mod gateway;
pub mod history;
pub mod http;
pub mod import;
pub use msync_types::model;
pub mod notify;
pub mod pricing;
pub mod probe;
pub use msync_types::protocol;
pub mod ratio;
pub use msync_types::reason;
pub mod redact;
pub mod redirect;
pub mod settings;
#[cfg(any(test, feature = "test-util"))]
pub mod sim;
pub mod store;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use error::{Error, ErrorClass, Result};

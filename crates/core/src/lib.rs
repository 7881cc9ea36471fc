//! msync-core: every decision msync makes, with no I/O of its own.
//!
//! The world reaches this crate only through three small traits: [`http::Transport`],
//! [`clock::Clock`] and [`store::KvStore`]. The browser worker implements them with
//! `fetch`/timers/`chrome.storage`, the CLI with reqwest/tokio/files, and tests with
//! in-memory fakes and virtual time. Nothing in here may depend on web-sys, js-sys,
//! wasm-bindgen, tokio or reqwest.

pub mod base_url;
pub mod clock;
pub mod crash;
pub mod engine;
pub mod error;
pub mod filter;
pub mod gateway;
pub mod history;
pub mod http;
pub mod import;
pub mod model;
pub mod notify;
pub mod pricing;
pub mod protocol;
pub mod ratio;
pub mod redact;
pub mod redirect;
pub mod settings;
pub mod sim;
pub mod store;
pub mod testing;

pub use error::{Error, ErrorClass, Result};

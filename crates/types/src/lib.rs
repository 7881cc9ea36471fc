//! msync-types: the shared vocabulary of msync — what pages render and send, what the worker and
//! the CLI store, and the messages between them.
//!
//! Sites and channels ([`model`]), settings ([`settings`], [`filter`] rules, [`redirect`]
//! settings), a run's plan ([`plan`]), records and history ([`record`], [`run`]), ratio values
//! ([`ratio`]), why things happened ([`reason`]: skip and review reasons, run notes, msync's
//! own errors, rendered per language at the edges), import previews ([`import`]), price check
//! and watch values ([`pricing`]), notification events, sinks and deliveries ([`notify`]), what
//! a site can do ([`gateway`]), errors
//! ([`error`]) and the page↔worker [`protocol`].
//!
//! Types and the rules that belong to them only: no engine, no adapters, no I/O. `msync-core`
//! (the engine) re-exports these modules at its old paths; the options page and popup
//! (`msync-ui`) depend on this crate alone. `cargo xtask test` checks both.

pub mod base_url;
pub mod error;
pub mod filter;
pub mod gateway;
pub mod hold;
pub mod import;
pub mod model;
pub mod notify;
pub mod plan;
pub mod pricing;
pub mod probe;
pub mod protocol;
pub mod ratio;
pub mod reason;
pub mod record;
pub mod redirect;
pub mod run;
pub mod settings;
pub mod stored;

pub use error::{Error, ErrorClass, Result};

//! The native side of msync: the pieces the `msync` binary (and its tests) are built from.
//!
//! * [`clock`] — core's clock on the system time and tokio timers;
//! * [`config`] — `msync.toml`: sites, credentials, sync settings, located errors;
//! * [`store`] — [`store::FileStore`], core's key-value store as files in the state directory;
//! * [`transport`] — [`transport::ReqwestTransport`], core's HTTP transport over reqwest;
//! * [`json`] — the `--json` documents (`docs/cli-json.md`);
//! * [`output`] — tables for people;
//! * [`app`] — the commands (clap).

pub mod app;
pub mod clock;
pub mod config;
pub mod json;
pub mod output;
pub mod store;
pub mod transport;

//! msync's options page and popup: thin Leptos views over state the worker owns.
//! The UI never decides anything about a sync; it renders replies and sends commands.

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod views;

#[cfg(target_arch = "wasm32")]
pub use views::{mount_options, mount_popup};

//! msync's options page and popup: thin Leptos views over state the worker owns.
//! The UI never decides anything about a sync; it renders replies and sends commands.

mod aah;
mod api;
mod common;
pub mod format;
mod history;
pub mod i18n;
mod notify;
mod options;
mod popup;
mod probe; // issue 21
mod ratios;
mod reasons;
mod redirect;
mod settings;
mod sites;
mod sync;
mod transfer;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn mount_options() {
    panic_to_console();
    leptos::mount::mount_to_body(options::Options);
}

#[wasm_bindgen]
pub fn mount_popup() {
    panic_to_console();
    leptos::mount::mount_to_body(popup::Popup);
}

/// Panics go to the console instead of vanishing (no extra crate needed).
fn panic_to_console() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
}

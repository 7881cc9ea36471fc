//! Talking to the service worker: one typed `Command` out, one `Reply` back.

use js_sys::Promise;
use msync_core::protocol::{Command, Reply};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = sendMessage)]
    fn send_message(message: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = openOptionsPage)]
    fn open_options_page_js() -> Promise;
}

/// Send a command to the worker. Transport problems come back as `Reply::Error`.
pub async fn call(cmd: &Command) -> Reply {
    let fail = |message: String| Reply::Error {
        class: "internal".into(),
        message,
    };
    let msg = match cmd.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) {
        Ok(m) => m,
        Err(e) => return fail(e.to_string()),
    };
    match JsFuture::from(send_message(&msg)).await {
        Ok(v) => serde_wasm_bindgen::from_value(v)
            .unwrap_or_else(|e| fail(format!("unreadable reply from the worker: {e}"))),
        Err(e) => fail(format!("the background worker did not answer: {e:?}")),
    }
}

use serde::Serialize;

pub fn open_options_page() {
    let _ = open_options_page_js();
}

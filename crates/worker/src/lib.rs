//! msync's MV3 background service worker: core's traits implemented on the browser
//! (`fetch`, timers, `chrome.storage.local`), the message protocol, and alarms.
//!
//! `extension/background.js` registers the event listeners synchronously on the first turn (an
//! MV3 requirement) and forwards into the functions exported here once the wasm is ready.

pub mod service;

#[cfg(target_arch = "wasm32")]
mod chrome;
#[cfg(target_arch = "wasm32")]
pub mod platform;

#[cfg(target_arch = "wasm32")]
mod exports {
    use crate::chrome;
    use crate::platform::{ChromeStore, FetchTransport, JsClock};
    use crate::service::{parse_command, Env};
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;

    /// Name of the housekeeping alarm: wakes the worker to resume interrupted runs and
    /// release stale run locks.
    pub const HOUSEKEEPING_ALARM: &str = "msync:housekeeping";

    fn env() -> Env {
        Env {
            store: Rc::new(ChromeStore),
            transport: Rc::new(FetchTransport),
            clock: Rc::new(JsClock),
            version: chrome::extension_version(),
        }
    }

    fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsValue> {
        v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| JsValue::from_str(&e.to_string()))
    }

    /// Called on every worker start (install, browser start, wake-up).
    #[wasm_bindgen]
    pub async fn on_startup() -> Result<JsValue, JsValue> {
        let env = env();
        let meta = env
            .record_start()
            .await
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
        chrome::ensure_periodic_alarm(HOUSEKEEPING_ALARM, 60.0)
            .await
            .map_err(|e| JsValue::from_str(&e))?;
        to_js(&meta)
    }

    #[wasm_bindgen]
    pub async fn on_alarm(name: String) -> Result<JsValue, JsValue> {
        // Housekeeping and scheduled syncs arrive here; the sync engine hooks in by alarm name.
        Ok(JsValue::from_str(&name))
    }

    /// One request from a page: a `Command` in, a `Reply` out. Never throws for bad input.
    #[wasm_bindgen]
    pub async fn on_message(message: JsValue) -> Result<JsValue, JsValue> {
        let value: serde_json::Value = match serde_wasm_bindgen::from_value(message) {
            Ok(v) => v,
            Err(e) => {
                return to_js(&msync_core::protocol::Reply::Error {
                    class: "validation".into(),
                    message: format!("invalid message: {e}"),
                })
            }
        };
        let reply = match parse_command(value) {
            Ok(cmd) => env().handle(cmd).await,
            Err(e) => msync_core::protocol::Reply::error(&e),
        };
        to_js(&reply)
    }
}

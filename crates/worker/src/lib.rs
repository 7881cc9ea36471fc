//! msync's MV3 background service worker: core's traits implemented on the browser
//! (`fetch`, timers, `chrome.storage.local`), the message protocol, alarms, runs, resume.
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
    use crate::platform::{ChromeBrowser, ChromeStore, FetchTransport, JsClock};
    use crate::service::{parse_message, Env, HttpConnector};
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;

    thread_local! {
        /// One service per worker instance: it holds the runs working in it.
        static ENV: Rc<Env> = {
            crate::platform::use_browser_idna();
            let clock: Rc<dyn msync_core::clock::Clock> = Rc::new(JsClock);
            Env::new(
                Rc::new(ChromeStore),
                clock.clone(),
                Rc::new(ChromeBrowser),
                Rc::new(HttpConnector { transport: Rc::new(FetchTransport), clock }),
                chrome::extension_version(),
            )
        };
    }

    fn env() -> Rc<Env> {
        ENV.with(Rc::clone)
    }

    fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsValue> {
        crate::platform::to_js(v).map_err(|e| JsValue::from_str(&e))
    }

    /// Called on every worker start (install, browser start, wake-up): migrate storage, re-arm
    /// alarms, resume interrupted runs.
    #[wasm_bindgen]
    pub async fn on_startup() -> Result<JsValue, JsValue> {
        let meta = env()
            .start()
            .await
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
        to_js(&meta)
    }

    #[wasm_bindgen]
    pub async fn on_alarm(name: String) -> Result<JsValue, JsValue> {
        env()
            .on_alarm(&name)
            .await
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
        Ok(JsValue::from_str(&name))
    }

    /// One request from a page: a `Command` in, a `Reply` out. Never throws for bad input.
    #[wasm_bindgen]
    pub async fn on_message(message: JsValue) -> Result<JsValue, JsValue> {
        let parsed = crate::platform::json_text(&message)
            .map_err(|e| msync_core::Error::validation(format!("invalid message: {e}")))
            .and_then(|text| parse_message(&text));
        let reply = match parsed {
            Ok(Some(cmd)) => env().handle(cmd).await,
            Ok(None) => return Ok(JsValue::UNDEFINED),
            Err(e) => msync_core::protocol::Reply::error(&e),
        };
        to_js(&reply)
    }
}

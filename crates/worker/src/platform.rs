//! core's I/O traits implemented on the browser: `fetch`, timers and `chrome.storage.local`.

use crate::chrome;
use async_trait::async_trait;
use js_sys::{Function, Promise, Reflect};
use msync_core::clock::Clock;
use msync_core::http::{Request, Response, Transport, TransportError};
use msync_core::store::{KvStore, StoreError};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// Milliseconds since the worker started, monotonic (windows and service workers alike).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// The longest delay `setTimeout` takes (a larger one fires at once).
const MAX_TIMEOUT_MS: u64 = i32::MAX as u64;

/// Resolve after `ms` milliseconds (gloo-timers binds the global `setTimeout`, so it works in
/// windows and service workers alike; dropping the future clears the timer).
pub async fn sleep_ms(ms: u64) {
    gloo_timers::future::TimeoutFuture::new(ms.min(MAX_TIMEOUT_MS) as u32).await;
}

pub struct JsClock;

#[async_trait(?Send)]
impl Clock for JsClock {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
    fn monotonic_ms(&self) -> u64 {
        performance_now().max(0.0) as u64
    }
    async fn sleep_ms(&self, ms: u64) {
        sleep_ms(ms).await
    }
}

/// The largest response body read (as the CLI's `DEFAULT_MAX_BODY`): a larger one is an I/O
/// error, not a truncated success, and a hostile server cannot make the worker buffer without
/// bound.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// HTTP through the global `fetch`, with an AbortController for the time limit.
pub struct FetchTransport;

/// Read a body chunk by chunk, refusing more than [`MAX_BODY`] bytes.
async fn read_capped(resp: &web_sys::Response) -> Result<String, TransportError> {
    let too_big = || TransportError::Io(format!("response body exceeds the {MAX_BODY} byte limit"));
    if let Some(len) = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        if len > MAX_BODY as u64 {
            return Err(too_big());
        }
    }
    let Some(stream) = resp.body() else {
        return Ok(String::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| TransportError::Io(chrome::js_err(e)))?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&chunk, &"value".into())
            .map_err(|e| TransportError::Io(chrome::js_err(e)))?;
        let part = js_sys::Uint8Array::new(&value);
        let n = part.length() as usize;
        if bytes.len() + n > MAX_BODY {
            let _ = reader.cancel();
            return Err(too_big());
        }
        let start = bytes.len();
        bytes.resize(start + n, 0);
        part.copy_to(&mut bytes[start..]);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[async_trait(?Send)]
impl Transport for FetchTransport {
    async fn send(&self, req: Request) -> Result<Response, TransportError> {
        let init = web_sys::RequestInit::new();
        init.set_method(req.method.as_str());
        let headers = web_sys::Headers::new().map_err(|e| TransportError::Io(chrome::js_err(e)))?;
        for (k, v) in &req.headers {
            headers
                .append(k, v)
                .map_err(|e| TransportError::Io(chrome::js_err(e)))?;
        }
        init.set_headers(&headers);
        if let Some(body) = &req.body {
            init.set_body(&JsValue::from_str(body));
        }
        // Credentials are ours to send in headers: the browser attaches no cookies, except for
        // a cookie session (Octopus v0.10+) that only the browser's cookie jar can carry.
        init.set_credentials(if req.with_cookies {
            web_sys::RequestCredentials::Include
        } else {
            web_sys::RequestCredentials::Omit
        });
        // Never follow a redirect (it would carry the credentials elsewhere): the browser then
        // answers an opaque redirect, refused below.
        init.set_redirect(web_sys::RequestRedirect::Manual);
        // Fresh reads before a write must come from the server, never the HTTP cache.
        init.set_cache(web_sys::RequestCache::NoStore);
        let controller = web_sys::AbortController::new().ok();
        if let Some(c) = &controller {
            init.set_signal(Some(&c.signal()));
        }
        let timer = match (&controller, req.timeout_ms) {
            (Some(c), ms) if ms > 0 => {
                let c = c.clone();
                // Cleared when dropped: after the response, or with this future.
                Some(gloo_timers::callback::Timeout::new(
                    ms.min(MAX_TIMEOUT_MS) as u32,
                    move || c.abort(),
                ))
            }
            _ => None,
        };
        let request = web_sys::Request::new_with_str_and_init(&req.url, &init)
            .map_err(|e| TransportError::Connect(chrome::js_err(e)))?;
        let global = js_sys::global();
        let fetch: Function = Reflect::get(&global, &"fetch".into())
            .map_err(|e| TransportError::Io(chrome::js_err(e)))?
            .dyn_into()
            .map_err(|_| TransportError::Io("fetch is not available".into()))?;
        let aborted = || {
            controller
                .as_ref()
                .map(|c| c.signal().aborted())
                .unwrap_or(false)
        };
        let result = async {
            let promise: Promise = fetch
                .call1(&global, &request)
                .map_err(|e| TransportError::Connect(chrome::js_err(e)))?
                .dyn_into()
                .map_err(|_| TransportError::Io("fetch did not return a promise".into()))?;
            let resp: web_sys::Response = JsFuture::from(promise)
                .await
                .map_err(|e| {
                    if aborted() {
                        TransportError::Timeout
                    } else {
                        // fetch gives no detail (refused, DNS, CORS, no host permission).
                        TransportError::Connect(chrome::js_err(e))
                    }
                })?
                .dyn_into()
                .map_err(|_| TransportError::Io("not a Response".into()))?;
            if resp.type_() == web_sys::ResponseType::Opaqueredirect {
                // The browser hides the status and the target of a manual redirect.
                return Err(TransportError::Redirect {
                    status: None,
                    location: None,
                });
            }
            let mut headers = Vec::new();
            if let Ok(Some(iter)) = js_sys::try_iter(&resp.headers()) {
                for entry in iter.flatten() {
                    let pair: js_sys::Array = entry.unchecked_into();
                    if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                        headers.push((k, v));
                    }
                }
            }
            let body = read_capped(&resp).await.map_err(|e| {
                if aborted() {
                    TransportError::Timeout
                } else {
                    e
                }
            })?;
            Ok(Response {
                status: resp.status(),
                headers,
                body,
            })
        }
        .await;
        drop(timer);
        result
    }

    /// The browser keeps cookies in its own jar and never shows `Set-Cookie` to `fetch`.
    fn manages_cookies(&self) -> bool {
        true
    }
}

/// `chrome.storage.local`, values kept as JSON text under flat keys.
pub struct ChromeStore;

#[async_trait(?Send)]
impl KvStore for ChromeStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let all = chrome::storage_get(&key.into()).await.map_err(StoreError)?;
        let v = Reflect::get(&all, &key.into()).map_err(|e| StoreError(chrome::js_err(e)))?;
        Ok(v.as_string())
    }
    async fn set(&self, key: &str, value: String) -> Result<(), StoreError> {
        chrome::storage_set(key, &JsValue::from_str(&value))
            .await
            .map_err(StoreError)
    }
    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        chrome::storage_remove(key).await.map_err(StoreError)
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let all = chrome::storage_get(&JsValue::NULL)
            .await
            .map_err(StoreError)?;
        let mut keys: Vec<String> = js_sys::Object::keys(all.unchecked_ref::<js_sys::Object>())
            .iter()
            .filter_map(|k| k.as_string())
            .filter(|k| k.starts_with(prefix))
            .collect();
        keys.sort();
        Ok(keys)
    }
}

/// The browser side of [`crate::service::Browser`]: `chrome.permissions`, `chrome.alarms`,
/// `chrome.action`, `chrome.notifications`, `chrome.runtime.sendMessage`, `spawn_local`.
pub struct ChromeBrowser;

#[async_trait(?Send)]
impl crate::service::Browser for ChromeBrowser {
    async fn has_host_permission(&self, pattern: &str) -> Result<bool, String> {
        chrome::has_origin_permission(pattern).await
    }
    async fn get_alarm(&self, name: &str) -> Result<Option<crate::service::AlarmInfo>, String> {
        chrome::alarm_get(name).await
    }
    async fn all_alarms(&self) -> Result<Vec<crate::service::AlarmInfo>, String> {
        chrome::alarm_get_all().await
    }
    async fn create_alarm(
        &self,
        name: &str,
        delay_minutes: f64,
        period_minutes: Option<f64>,
    ) -> Result<(), String> {
        chrome::alarm_create(name, delay_minutes, period_minutes).await
    }
    async fn clear_alarm(&self, name: &str) -> Result<(), String> {
        chrome::alarm_clear(name).await
    }
    fn broadcast(&self, event: &msync_core::protocol::Event) {
        if let Ok(v) = to_js(&msync_core::protocol::EventMessage { event }) {
            chrome::broadcast(&v);
        }
    }
    fn set_badge(&self, text: &str) {
        chrome::set_badge(text);
    }
    fn notify(&self, id: &str, title: &str, message: &str) {
        chrome::notify(id, title, message);
    }
    fn spawn(&self, fut: futures::future::LocalBoxFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(fut);
    }
}

/// The browser's URL parser as msync's IDNA: the wasm modules' `url` crate has no Unicode data
/// (`msync_types::base_url::set_idna`), so a URL with a non-ASCII host (`https://例子.中国`)
/// is read by the browser, whose `href` holds the host in its ASCII form
/// (`https://xn--fsqu00a.xn--fiqs8s/`), the form the `url` crate parses. Set once, before the
/// worker reads any URL.
pub fn use_browser_idna() {
    msync_core::base_url::set_idna(|text| web_sys::Url::new(text).ok().map(|u| u.href()));
}

/// A value for JS, through JSON text: serde_json (linked anyway for storage) and the engine's
/// `JSON.parse`, so no second serializer is compiled for every protocol type. Messages between
/// extension pages are JSON-serialized by the browser in any case.
pub fn to_js<T: Serialize>(v: &T) -> Result<JsValue, String> {
    let text = serde_json::to_string(v).map_err(|e| e.to_string())?;
    js_sys::JSON::parse(&text).map_err(chrome::js_err)
}

/// A value from JS as JSON text (`JSON.stringify`), for serde_json.
pub fn json_text(v: &JsValue) -> Result<String, String> {
    js_sys::JSON::stringify(v)
        .map_err(chrome::js_err)?
        .as_string()
        .ok_or_else(|| "not a JSON value".to_string())
}

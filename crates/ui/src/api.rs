//! The browser edge of the pages: one typed `Command` out, one `Reply` back; worker `Event`s in;
//! host permissions, downloads, clocks and the browser language. Nothing here decides anything.

use js_sys::{Array, Object, Promise, Reflect};
use msync_types::error::ErrorClass;
use msync_types::protocol::{Command, Event, EventMessage, Reply};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = sendMessage)]
    fn send_message(message: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = openOptionsPage)]
    fn open_options_page_js() -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getURL)]
    fn get_url(path: &str) -> String;
    #[wasm_bindgen(js_namespace = ["chrome", "tabs"], js_name = create)]
    fn tabs_create(props: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime", "onMessage"], js_name = addListener)]
    fn add_message_listener(f: &Closure<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>);
    #[wasm_bindgen(js_namespace = ["chrome", "permissions"], js_name = request)]
    fn permissions_request(p: &JsValue) -> Promise;
}

/// Send a command to the worker. Transport problems come back as `Reply::Error`.
pub async fn call(cmd: &Command) -> Reply {
    let fail = |message: String| Reply::Error {
        class: ErrorClass::Internal,
        message,
        reason: None,
        gave_up: None,
    };
    let msg = match to_js(cmd) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    match JsFuture::from(send_message(&msg)).await {
        Ok(v) if v.is_undefined() || v.is_null() => {
            fail("the background worker gave no answer".into())
        }
        Ok(v) => {
            from_js(&v).unwrap_or_else(|e| fail(format!("unreadable reply from the worker: {e}")))
        }
        Err(e) => fail(format!(
            "the background worker did not answer: {}",
            js_error_text(&e)
        )),
    }
}

/// Messages travel as JSON text through serde_json (the one serializer the pages link) and the
/// engine's `JSON.parse` / `JSON.stringify`; the browser JSON-serializes extension messages anyway.
fn to_js<T: Serialize>(v: &T) -> Result<JsValue, String> {
    let text = serde_json::to_string(v).map_err(|e| e.to_string())?;
    js_sys::JSON::parse(&text).map_err(|e| js_error_text(&e))
}

fn from_js<T: serde::de::DeserializeOwned>(v: &JsValue) -> Result<T, String> {
    let text = js_sys::JSON::stringify(v)
        .map_err(|e| js_error_text(&e))?
        .as_string()
        .ok_or("not a JSON value")?;
    // Through a `Value`: the stored enums are read from a `Value` anyway
    // (`crates/types/src/stored.rs`), so every type gets one reader, not a text reader too.
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn js_error_text(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// Listen for worker events for the life of the page. Other messages (commands other pages send)
/// are ignored; the listener never answers, so it never steals a reply.
pub fn on_event(mut f: impl FnMut(Event) + 'static) {
    let cb = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>::new(
        move |msg: JsValue, _sender: JsValue, _respond: JsValue| {
            if Reflect::has(&msg, &"event".into()).unwrap_or(false) {
                if let Ok(m) = from_js::<EventMessage>(&msg) {
                    f(m.event);
                }
            }
            JsValue::FALSE
        },
    );
    add_message_listener(&cb);
    cb.forget();
}

/// The host permission a site's URL needs, if it parses: `http://host/*`, every port of the
/// host — the pattern the worker checks (`crates/worker/src/service/sites.rs` `origin_pattern`).
/// Not `http://host:port/*`: Firefox grants and lists such a pattern but does not match requests
/// against it (the worker's fetch stays under CORS), nor does it count it as holding the
/// worker's port-less pattern (tests/e2e/firefox.test.mjs saw both).
pub fn host_pattern_of(url: &str) -> Option<String> {
    let (scheme, host) = base_url(url)?;
    // `BaseUrl::host_pattern` writes an IPv6 host with std's `Ipv6Addr` Display; so do we,
    // so that the page asks for the very pattern the worker checks.
    let host = match host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<std::net::Ipv6Addr>().ok())
    {
        Some(ip) => format!("[{ip}]"),
        None => host,
    };
    Some(format!("{scheme}://{host}/*"))
}

/// Whether a typed base URL parses and is plain http to a non-local host: the rule of
/// `msync_types::base_url::is_insecure`, on the browser's parse.
pub fn is_insecure(url: &str) -> bool {
    base_url(url).is_some_and(|(scheme, host)| {
        scheme == "http" && !msync_types::base_url::is_local_hostname(&host)
    })
}

/// Whether the browser's URL parser reads `url` as an absolute URL.
pub fn parses_as_url(url: &str) -> bool {
    web_sys::Url::new(url).is_ok()
}

/// A base URL read by the browser's URL parser (WHATWG, the standard the `url` crate
/// implements; the pages link no `url` crate, issue 18) and checked the way
/// `msync_types::base_url::BaseUrl::parse` checks it: `http`/`https`, a host, no credentials, no
/// query or fragment. Scheme and `hostname` (`[…]` around an IPv6 address) when it passes.
fn base_url(raw: &str) -> Option<(String, String)> {
    let text = raw.trim().trim_end_matches('/');
    if text.is_empty() {
        return None;
    }
    let u = web_sys::Url::new(text).ok()?;
    let scheme = u.protocol().strip_suffix(':')?.to_string();
    let host = u.hostname();
    // A `?` or `#` anywhere in a URL that parses starts its query or fragment (even an empty
    // one, which `URL.search` / `URL.hash` would not show).
    let plain = matches!(scheme.as_str(), "http" | "https")
        && !host.is_empty()
        && u.username().is_empty()
        && u.password().is_empty()
        && !text.contains(['?', '#']);
    plain.then_some((scheme, host))
}

/// Ask for the host permission `pattern` (from [`host_pattern_of`]). Must be called
/// synchronously from a click handler (a user gesture); the returned future resolves to whether
/// it was granted.
pub fn request_host_permission(pattern: &str) -> impl std::future::Future<Output = bool> {
    let p = Object::new();
    let origins = Array::of1(&JsValue::from_str(pattern));
    let _ = Reflect::set(&p, &"origins".into(), &origins);
    let promise = permissions_request(&p);
    async move {
        JsFuture::from(promise)
            .await
            .map(|v| v.as_bool().unwrap_or(false))
            .unwrap_or(false)
    }
}

/// Ask for the host permissions of several origins at once (one prompt). Call it synchronously
/// from a click handler; resolves to whether they were granted (true when there is none to ask).
pub fn request_host_permissions(origins: &[String]) -> impl std::future::Future<Output = bool> {
    let promise = (!origins.is_empty()).then(|| {
        let p = Object::new();
        let list = Array::new();
        for o in origins {
            list.push(&JsValue::from_str(&format!("{o}/*")));
        }
        let _ = Reflect::set(&p, &"origins".into(), &list);
        permissions_request(&p)
    });
    async move {
        match promise {
            Some(p) => JsFuture::from(p)
                .await
                .map(|v| v.as_bool().unwrap_or(false))
                .unwrap_or(false),
            None => true,
        }
    }
}

pub fn open_options_page() {
    let _ = open_options_page_js();
}

/// Open the options page at a section (`#sites/new`).
pub fn open_options_at(hash: &str) {
    let p = Object::new();
    let _ = Reflect::set(
        &p,
        &"url".into(),
        &get_url(&format!("options.html{hash}")).into(),
    );
    let _ = tabs_create(&p);
}

/// Offer a file to the user (Blob URL + a temporary link).
pub fn download(filename: &str, mime: &str, content: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = Array::of1(&JsValue::from_str(content));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = doc.create_element("a") {
        let _ = a.set_attribute("href", &url);
        let _ = a.set_attribute("download", filename);
        if let Some(body) = doc.body() {
            let _ = body.append_child(&a);
            if let Some(el) = a.dyn_ref::<web_sys::HtmlElement>() {
                el.click();
            }
            let _ = body.remove_child(&a);
        }
    }
    // Revoke later: the download needs the URL for a moment.
    let revoke = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(w) = web_sys::window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
    }
}

/// The file picked in an `<input type="file">` whose `change` event this is, if any. The input
/// is cleared, so picking the same file again fires `change` again.
pub fn picked_file(ev: &web_sys::Event) -> Option<web_sys::File> {
    let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let file = input.files()?.get(0)?;
    input.set_value("");
    Some(file)
}

/// Read a picked file as text.
pub async fn read_file(file: web_sys::File) -> Result<String, String> {
    JsFuture::from(file.text())
        .await
        .map_err(|e| js_error_text(&e))?
        .as_string()
        .ok_or_else(|| "the file is not text".into())
}

pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Local date and time, `2025-10-29 18:07:53`.
pub fn local_time(ms: u64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

/// Local time of day, `18:07:53`.
pub fn local_clock(ms: u64) -> String {
    local_time(ms)
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

pub fn browser_language() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_default()
}

const LANG_KEY: &str = "msync.lang";

/// The language the user picked on this device (page-local preference, not a setting).
/// gloo-storage keeps values as JSON (`"zh"`); a bare `zh` from before is read as well.
pub fn saved_language() -> Option<String> {
    use gloo_storage::{LocalStorage, Storage};
    LocalStorage::get::<String>(LANG_KEY).ok().or_else(|| {
        LocalStorage::raw()
            .get_item(LANG_KEY)
            .ok()
            .flatten()
            .filter(|v| !v.is_empty())
    })
}

pub fn save_language(code: &str) {
    use gloo_storage::{LocalStorage, Storage};
    let _ = LocalStorage::set(LANG_KEY, code);
}

pub fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

pub fn set_location_hash(hash: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(hash);
    }
}

pub fn set_document_lang(code: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("lang", code);
    }
}

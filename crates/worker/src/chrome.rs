//! Thin bindings to the `chrome.*` extension APIs the worker uses.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = get)]
    fn storage_local_get(keys: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = set)]
    fn storage_local_set(items: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = remove)]
    fn storage_local_remove(keys: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "alarms"], js_name = create)]
    fn alarms_create(name: &str, info: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "alarms"], js_name = get)]
    fn alarms_get(name: &str) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getManifest)]
    fn runtime_get_manifest() -> JsValue;
}

pub fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// All items (`keys = null`) or the named ones.
pub async fn storage_get(keys: &JsValue) -> Result<JsValue, String> {
    JsFuture::from(storage_local_get(keys))
        .await
        .map_err(js_err)
}

pub async fn storage_set(key: &str, value: &JsValue) -> Result<(), String> {
    let items = Object::new();
    Reflect::set(&items, &key.into(), value).map_err(js_err)?;
    JsFuture::from(storage_local_set(&items))
        .await
        .map(|_| ())
        .map_err(js_err)
}

pub async fn storage_remove(key: &str) -> Result<(), String> {
    JsFuture::from(storage_local_remove(&key.into()))
        .await
        .map(|_| ())
        .map_err(js_err)
}

/// Create a periodic alarm unless one with this name already exists (re-creating would reset
/// its schedule on every worker start and make it drift).
pub async fn ensure_periodic_alarm(name: &str, period_minutes: f64) -> Result<bool, String> {
    let existing = JsFuture::from(alarms_get(name)).await.map_err(js_err)?;
    if !existing.is_undefined() && !existing.is_null() {
        return Ok(false);
    }
    let info = Object::new();
    Reflect::set(&info, &"periodInMinutes".into(), &period_minutes.into()).map_err(js_err)?;
    JsFuture::from(alarms_create(name, &info))
        .await
        .map_err(js_err)?;
    Ok(true)
}

pub fn extension_version() -> String {
    Reflect::get(&runtime_get_manifest(), &"version".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

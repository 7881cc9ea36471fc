//! Thin bindings to the `chrome.*` extension APIs the worker uses.

use crate::service::AlarmInfo;
use js_sys::{Array, Object, Promise, Reflect};
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
    #[wasm_bindgen(js_namespace = ["chrome", "alarms"], js_name = getAll)]
    fn alarms_get_all() -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "alarms"], js_name = clear)]
    fn alarms_clear(name: &str) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "permissions"], js_name = contains)]
    fn permissions_contains(p: &JsValue) -> Promise;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getManifest)]
    fn runtime_get_manifest() -> JsValue;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = sendMessage)]
    fn runtime_send_message(message: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setBadgeText)]
    fn action_set_badge_text(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setBadgeBackgroundColor)]
    fn action_set_badge_color(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "notifications"], js_name = create)]
    fn notifications_create(id: &str, options: &JsValue) -> Result<Promise, JsValue>;
}

/// Await a promise in the background and ignore its outcome.
fn swallow(p: Promise) {
    wasm_bindgen_futures::spawn_local(async move {
        let _ = JsFuture::from(p).await;
    });
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

fn obj(pairs: &[(&str, JsValue)]) -> Result<Object, String> {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).map_err(js_err)?;
    }
    Ok(o)
}

/// All items (`keys = null`) or the named ones.
pub async fn storage_get(keys: &JsValue) -> Result<JsValue, String> {
    JsFuture::from(storage_local_get(keys))
        .await
        .map_err(js_err)
}

pub async fn storage_set(key: &str, value: &JsValue) -> Result<(), String> {
    let items = obj(&[(key, value.clone())])?;
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

fn alarm_info(v: &JsValue) -> Option<AlarmInfo> {
    if v.is_undefined() || v.is_null() {
        return None;
    }
    Some(AlarmInfo {
        name: Reflect::get(v, &"name".into()).ok()?.as_string()?,
        scheduled_ms: Reflect::get(v, &"scheduledTime".into())
            .ok()
            .and_then(|t| t.as_f64())
            .unwrap_or(0.0),
        period_minutes: Reflect::get(v, &"periodInMinutes".into())
            .ok()
            .and_then(|p| p.as_f64()),
    })
}

pub async fn alarm_get(name: &str) -> Result<Option<AlarmInfo>, String> {
    let v = JsFuture::from(alarms_get(name)).await.map_err(js_err)?;
    Ok(alarm_info(&v))
}

pub async fn alarm_get_all() -> Result<Vec<AlarmInfo>, String> {
    let v = JsFuture::from(alarms_get_all()).await.map_err(js_err)?;
    Ok(Array::from(&v)
        .iter()
        .filter_map(|a| alarm_info(&a))
        .collect())
}

pub async fn alarm_create(
    name: &str,
    delay_minutes: f64,
    period: Option<f64>,
) -> Result<(), String> {
    let mut pairs = vec![("delayInMinutes", JsValue::from_f64(delay_minutes))];
    if let Some(p) = period {
        pairs.push(("periodInMinutes", JsValue::from_f64(p)));
    }
    let info = obj(&pairs)?;
    JsFuture::from(alarms_create(name, &info))
        .await
        .map(|_| ())
        .map_err(js_err)
}

pub async fn alarm_clear(name: &str) -> Result<(), String> {
    JsFuture::from(alarms_clear(name))
        .await
        .map(|_| ())
        .map_err(js_err)
}

pub async fn has_origin_permission(pattern: &str) -> Result<bool, String> {
    let origins = Array::of1(&pattern.into());
    let p = obj(&[("origins", origins.into())])?;
    let v = JsFuture::from(permissions_contains(&p))
        .await
        .map_err(js_err)?;
    Ok(v.as_bool().unwrap_or(false))
}

/// Send to every open extension page. "Receiving end does not exist" (no page open) is normal.
pub fn broadcast(message: &JsValue) {
    if let Ok(p) = runtime_send_message(message) {
        swallow(p);
    }
}

pub fn set_badge(text: &str) {
    if let Ok(d) = obj(&[("text", text.into())]) {
        if let Ok(p) = action_set_badge_text(&d) {
            swallow(p);
        }
    }
    if let Ok(d) = obj(&[("color", "#d93025".into())]) {
        if let Ok(p) = action_set_badge_color(&d) {
            swallow(p);
        }
    }
}

pub fn notify(id: &str, title: &str, message: &str) {
    let Ok(o) = obj(&[
        ("type", "basic".into()),
        ("iconUrl", "icons/icon-128.png".into()),
        ("title", title.into()),
        ("message", message.into()),
    ]) else {
        return;
    };
    if let Ok(p) = notifications_create(id, &o) {
        swallow(p);
    }
}

pub fn extension_version() -> String {
    Reflect::get(&runtime_get_manifest(), &"version".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

//! Runs in headless Chromium through wasm-bindgen-test-runner (`cargo xtask test`).
//!
//! A plain test page has no `chrome.storage`, so a stub with the same promise API (backed by a
//! JS object) is installed; the ChromeStore adapter, the migrations through it and the browser
//! clock run for real.
#![cfg(target_arch = "wasm32")]

use msync_core::base_url::{BaseUrl, BaseUrlError};
use msync_core::store::KvStore;
use msync_worker::platform::{ChromeStore, JsClock};
use msync_worker::service::{storage, Env, KEY_META, KEY_SITES, SCHEMA_VERSION};
use std::rc::Rc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const STUB: &str = r#"
(() => {
  const data = {};
  const pick = (keys) => {
    if (keys === null || keys === undefined) return { ...data };
    const list = Array.isArray(keys) ? keys : [keys];
    const out = {};
    for (const k of list) if (k in data) out[k] = data[k];
    return out;
  };
  globalThis.chrome = globalThis.chrome || {};
  globalThis.chrome.storage = { local: {
    get: async (keys) => structuredClone(pick(keys)),
    set: async (items) => { Object.assign(data, structuredClone(items)); },
    remove: async (keys) => { for (const k of (Array.isArray(keys) ? keys : [keys])) delete data[k]; },
    clear: async () => { for (const k of Object.keys(data)) delete data[k]; },
  } };
  return true;
})()
"#;

async fn fresh_store() -> ChromeStore {
    js_sys::eval(STUB).unwrap();
    ChromeStore
}

struct NoNet;
#[async_trait::async_trait(?Send)]
impl msync_core::http::Transport for NoNet {
    async fn send(
        &self,
        _req: msync_core::http::Request,
    ) -> Result<msync_core::http::Response, msync_core::http::TransportError> {
        Err(msync_core::http::TransportError::Connect(
            "no network in this test".into(),
        ))
    }
}

struct NoBrowser;
#[async_trait::async_trait(?Send)]
impl msync_worker::service::Browser for NoBrowser {
    async fn has_host_permission(&self, _: &str) -> Result<bool, String> {
        Ok(false)
    }
    async fn get_alarm(&self, _: &str) -> Result<Option<msync_worker::service::AlarmInfo>, String> {
        Ok(None)
    }
    async fn all_alarms(&self) -> Result<Vec<msync_worker::service::AlarmInfo>, String> {
        Ok(Vec::new())
    }
    async fn create_alarm(&self, _: &str, _: f64, _: Option<f64>) -> Result<(), String> {
        Ok(())
    }
    async fn clear_alarm(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn broadcast(&self, _: &msync_core::protocol::Event) {}
    fn set_badge(&self, _: &str) {}
    fn notify(&self, _: &str, _: &str, _: &str) {}
    fn spawn(&self, fut: futures::future::LocalBoxFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(fut);
    }
}

fn env(store: Rc<dyn KvStore>) -> Rc<Env> {
    let clock: Rc<dyn msync_core::clock::Clock> = Rc::new(JsClock);
    Env::new(
        store,
        clock.clone(),
        Rc::new(NoBrowser),
        Rc::new(msync_worker::service::HttpConnector {
            transport: Rc::new(NoNet),
            clock,
        }),
        "9.9.9".into(),
    )
}

#[wasm_bindgen_test]
async fn browser_clock_sleeps_for_real() {
    use msync_core::clock::Clock;
    let clock = JsClock;
    let t0 = clock.now_ms();
    clock.sleep_ms(50).await;
    let waited = clock.now_ms() - t0;
    assert!(waited >= 45, "slept only {waited} ms");
}

#[wasm_bindgen_test]
async fn chrome_store_gets_sets_removes_and_lists_by_prefix() {
    let s = fresh_store().await;
    assert_eq!(s.get("a").await.unwrap(), None);
    s.set("sync/x/run/1/head", "{\"n\":1}".into())
        .await
        .unwrap();
    s.set("sync/x/lock", "{}".into()).await.unwrap();
    s.set("sync/y/lock", "{}".into()).await.unwrap();
    s.set("settings/x", "模型 \"quoted\"".into()).await.unwrap();
    assert_eq!(
        s.get("settings/x").await.unwrap().as_deref(),
        Some("模型 \"quoted\"")
    );
    assert_eq!(
        s.keys("sync/x/").await.unwrap(),
        vec!["sync/x/lock", "sync/x/run/1/head"]
    );
    s.remove("sync/x/lock").await.unwrap();
    assert_eq!(s.keys("sync/x/").await.unwrap(), vec!["sync/x/run/1/head"]);
    assert_eq!(s.keys("").await.unwrap().len(), 3);
}

#[wasm_bindgen_test]
async fn start_is_recorded_and_counted_in_chrome_storage() {
    let store: Rc<dyn KvStore> = Rc::new(fresh_store().await);
    let e = env(store.clone());
    let first = e.record_start().await.unwrap();
    assert_eq!(first.schema, SCHEMA_VERSION);
    assert_eq!(first.starts, 1);
    let second = e.record_start().await.unwrap();
    assert_eq!(second.starts, 2);
    assert_eq!(second.installed_at, first.installed_at);
    assert!(store
        .get(KEY_META)
        .await
        .unwrap()
        .unwrap()
        .contains(&format!("\"schema\":{SCHEMA_VERSION}")));
}

#[wasm_bindgen_test]
async fn schema_1_storage_is_migrated_in_chrome_storage() {
    let store: Rc<dyn KvStore> = Rc::new(fresh_store().await);
    store
        .set(
            KEY_META,
            r#"{"schema":1,"version":"0.1.0","installed_at":1,"last_start":1,"starts":1}"#.into(),
        )
        .await
        .unwrap();
    store
        .set(
            KEY_SITES,
            r#"[{"id":"a","name":"A","kind":"done-hub","base_url":"https://gw.example.com/ ","credentials":{"token":"t"}}]"#
                .into(),
        )
        .await
        .unwrap();
    let meta = env(store.clone()).record_start().await.unwrap();
    assert_eq!(meta.schema, SCHEMA_VERSION);
    let sites = storage::load_sites(&*store).await.unwrap();
    assert_eq!(sites[0].base_url, "https://gw.example.com");
    assert!(store.get("settings/a").await.unwrap().is_some());
}

#[wasm_bindgen_test]
async fn storage_from_a_newer_version_is_refused() {
    let store: Rc<dyn KvStore> = Rc::new(fresh_store().await);
    store
        .set(
            "meta",
            r#"{"schema":99,"version":"9","installed_at":1,"last_start":1,"starts":1}"#.into(),
        )
        .await
        .unwrap();
    let err = env(store).record_start().await.unwrap_err();
    assert!(err.message.contains("newer msync"), "{}", err.message);
}

/// The wasm modules are built with `idna_adapter` 1.0, which has no Unicode data (issue 18,
/// `wasm_lockfile` in `xtask/src/proc.rs`): the `url` crate alone refuses a non-ASCII host, and
/// the worker reads such an address through the browser's URL parser instead.
#[wasm_bindgen_test]
fn a_non_ascii_host_is_read_through_the_browsers_idna() {
    // xtask sets the lockfile for the Debian toolchain (a rustup toolchain keeps Cargo.lock)
    if option_env!("CARGO_RESOLVER_LOCKFILE_PATH").is_some() {
        assert!(
            url::Url::parse("https://例子.中国").is_err(),
            "this wasm was built with IDNA data"
        );
    }
    msync_worker::platform::use_browser_idna();
    let b = BaseUrl::parse(" https://例子.中国/api/ ").unwrap();
    assert_eq!(b.url().host_str(), Some("xn--fsqu00a.xn--fiqs8s"));
    assert_eq!(b.url().path(), "/api");
    assert_eq!(b.origin(), "https://xn--fsqu00a.xn--fiqs8s");
    assert_eq!(b.host_pattern(), "https://xn--fsqu00a.xn--fiqs8s/*");
    // UTS 46 mapping: upper case and an ideographic full stop, as a user may type them
    assert_eq!(
        BaseUrl::parse("https://BÜCHER。example")
            .unwrap()
            .url()
            .host_str(),
        Some("xn--bcher-kva.example")
    );
    // plain http to a non-local IDN host is still refused before any request
    assert!(msync_core::base_url::is_insecure("http://例子.中国"));
    assert!(!msync_core::base_url::is_insecure("https://例子.中国"));
    // not a URL to the browser either: refused with the `url` crate's reason
    assert!(matches!(
        BaseUrl::parse("https://例子 中国"),
        Err(BaseUrlError::Invalid(_))
    ));
}

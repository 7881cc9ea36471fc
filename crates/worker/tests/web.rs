//! Runs in headless Chromium through wasm-bindgen-test-runner (`cargo xtask test`).
#![cfg(target_arch = "wasm32")]

use msync_core::store::MemoryStore;
use msync_worker::service::{Env, SCHEMA_VERSION};
use std::rc::Rc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

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

fn env(store: Rc<MemoryStore>) -> Env {
    Env {
        store,
        transport: Rc::new(NoNet),
        clock: Rc::new(msync_worker::platform::JsClock),
        version: "9.9.9".into(),
    }
}

#[wasm_bindgen_test]
async fn browser_clock_sleeps_for_real() {
    use msync_core::clock::Clock;
    let clock = msync_worker::platform::JsClock;
    let t0 = clock.now_ms();
    clock.sleep_ms(50).await;
    let waited = clock.now_ms() - t0;
    assert!(waited >= 45, "slept only {waited} ms");
}

#[wasm_bindgen_test]
async fn start_is_recorded_and_counted() {
    let store = Rc::new(MemoryStore::new());
    let e = env(store.clone());
    let first = e.record_start().await.unwrap();
    assert_eq!(first.schema, SCHEMA_VERSION);
    assert_eq!(first.starts, 1);
    let second = e.record_start().await.unwrap();
    assert_eq!(second.starts, 2);
    assert_eq!(second.installed_at, first.installed_at);
}

#[wasm_bindgen_test]
async fn storage_from_a_newer_version_is_refused() {
    use msync_core::store::KvStore;
    let store = Rc::new(MemoryStore::new());
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

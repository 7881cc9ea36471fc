//! `msync-mockgw`: a faithful mock of the admin HTTP APIs of New API, Veloera, DoneHub, Octopus
//! and AxonHub, with fault injection. Every answer follows `docs/admin-apis.md`
//! (cited by section in each flavour module), not what a client happens to send.
//!
//! Code map:
//! * `config` — flavour, era, credentials, options ([`MockConfig`]).
//! * `seed` — deterministic channels and upstream model lists from `--seed`.
//! * `state` — the shared state behind one mutex; request/reply types.
//! * `fault` — fault rules ([`FaultRule`], [`FaultKind`], [`Op`]).
//! * `log` — the request log ([`RecordedRequest`]).
//! * `probe` — the gateways' channel tests, scripted per model, with a probe log (issue 21).
//! * `server` — accept loop, central handler (log → rate limit → faults → flavour).
//! * `control` — `/__mock/*` routes (the library API over HTTP).
//! * `flavors/*` — one module per gateway.
//!
//! ```no_run
//! use msync_mockgw::{MockConfig, MockGateway, Flavor};
//! let mock = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(30)).unwrap();
//! println!("{}", mock.base_url());
//! ```

pub mod config;
pub mod control;
pub mod fault;
pub mod flavors;
pub mod log;
pub mod probe;
pub mod ratio;
pub mod receiver;
pub mod seed;
pub mod server;
pub mod state;

pub use config::{Era, Flavor, MockConfig, RateLimit, Role};
pub use fault::{FaultKind, FaultRule, Op};
pub use log::RecordedRequest;

use serde_json::Value;
use server::Shared;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Starts mock servers.
pub struct MockGateway;

impl MockGateway {
    /// Binds 127.0.0.1 (port 0 = a free one) and serves on a thread of its own with its own tokio
    /// runtime, so callers need no runtime. The server stops when the handle is dropped.
    pub fn start(config: MockConfig) -> std::io::Result<MockHandle> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let server_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("mockgw-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            server::serve(listener, server_shared, async {
                                let _ = rx.await;
                            })
                            .await
                        }
                        Err(e) => eprintln!("mockgw: cannot use the listener: {e}"),
                    }
                });
                // Hanging handlers are simply dropped.
                runtime.shutdown_timeout(std::time::Duration::from_millis(100));
            })?;
        Ok(MockHandle {
            addr,
            shared,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// Serves on the current thread until `shutdown` completes (for the binary).
    pub async fn serve(
        listener: tokio::net::TcpListener,
        config: MockConfig,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        server::serve(listener, Arc::new(Shared::new(config)), shutdown).await
    }
}

/// A running mock. Dropping it stops the server.
pub struct MockHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The live configuration (the New API token changes after `GET /api/user/token`).
    pub fn config(&self) -> MockConfig {
        self.shared.lock().config.clone()
    }

    /// The admin token currently accepted.
    pub fn token(&self) -> String {
        self.shared.lock().config.token.clone()
    }

    /// Every request received so far (control routes excluded), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// One channel as the server stores it: the flavour's full JSON, key included.
    pub fn channel(&self, id: u64) -> Option<Value> {
        self.shared
            .lock()
            .channels
            .get(&id)
            .cloned()
            .map(Value::Object)
    }

    /// All channels, by id.
    pub fn channels(&self) -> Vec<Value> {
        self.shared
            .lock()
            .channels
            .values()
            .cloned()
            .map(Value::Object)
            .collect()
    }

    /// Removes a channel for real (later requests find it missing).
    pub fn delete_channel(&self, id: u64) -> bool {
        self.shared.lock().channels.remove(&id).is_some()
    }

    /// Octopus groups (§4.5); empty for the other flavours.
    pub fn groups(&self) -> Vec<Value> {
        self.shared.lock().groups.clone()
    }

    pub fn set_fault(&self, rule: FaultRule) {
        self.shared.lock().faults.add(rule);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// The rules still active (consumed `times` rules disappear).
    pub fn faults(&self) -> Vec<FaultRule> {
        self.shared.lock().faults.rules().to_vec()
    }

    /// What channel `id`'s upstream serves from now on.
    pub fn set_upstream_models(&self, id: u64, models: Vec<String>) {
        self.shared.lock().upstream.insert(id, models);
    }

    pub fn upstream_models(&self, id: u64) -> Vec<String> {
        self.shared
            .lock()
            .upstream
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    /// Successful channel writes to `id`.
    pub fn writes(&self, id: u64) -> u64 {
        self.shared.lock().writes.get(&id).copied().unwrap_or(0)
    }

    /// Successful channel writes per channel id.
    pub fn write_counts(&self) -> BTreeMap<u64, u64> {
        self.shared.lock().writes.clone()
    }

    /// The whole state as `GET /__mock/state` shows it.
    pub fn state(&self) -> Value {
        control::state_json(&self.shared)
    }

    /// Every option as stored (`GET /api/option/` hides secrets; this does not).
    pub fn options(&self) -> BTreeMap<String, String> {
        self.shared.lock().ratio.options.clone()
    }

    pub fn option(&self, key: &str) -> Option<String> {
        self.shared.lock().ratio.options.get(key).cloned()
    }

    /// Sets an option directly (e.g. `ExposeRatioEnabled` = `"true"`, or a `ModelRatio` map).
    pub fn set_option(&self, key: &str, value: &str) {
        self.shared
            .lock()
            .ratio
            .options
            .insert(key.to_string(), value.to_string());
    }

    /// A ratio option parsed as a JSON object (empty when absent or not an object).
    pub fn option_map(&self, key: &str) -> serde_json::Map<String, Value> {
        ratio::option_map(&self.shared.lock(), key)
    }

    /// Successful `PUT /api/option/` writes so far: (key, stored value).
    pub fn option_writes(&self) -> Vec<(String, String)> {
        self.shared.lock().ratio.writes.clone()
    }

    /// What a ratio sync upstream URL answers from now on (instead of a real fetch).
    /// Notifications the fake receiver got (`receiver.rs`).
    pub fn notifications(&self) -> Vec<receiver::Received> {
        self.shared.lock().inbox.received.clone()
    }

    /// Make every receiver route answer `status` (`None`: answer normally again).
    pub fn set_notify_fail(&self, status: Option<u16>) {
        self.shared.lock().inbox.fail = status;
    }

    /// The only Telegram bot token the receiver accepts.
    pub fn set_notify_bot_token(&self, token: &str) {
        self.shared.lock().inbox.bot_token = Some(token.to_string());
    }

    pub fn set_ratio_source(&self, url: &str, source: ratio::CannedSource) {
        self.shared
            .lock()
            .ratio
            .sources
            .insert(url.to_string(), source);
    }

    /// Merges fields into a stored channel (e.g. a `base_url` pointing at another mock).
    pub fn patch_channel(&self, id: u64, fields: Value) -> bool {
        let mut st = self.shared.lock();
        match (st.channels.get_mut(&id), fields) {
            (Some(ch), Value::Object(f)) => {
                ch.extend(f);
                true
            }
            _ => false,
        }
    }

    /// Issue 21: what the channel test answers for `model` on every channel from now on.
    pub fn script_probe(&self, model: &str, script: probe::ProbeScript) {
        self.shared
            .lock()
            .probe
            .scripts
            .insert(model.to_string(), script);
    }

    /// Like [`Self::script_probe`], for one channel only.
    pub fn script_channel_probe(&self, channel: u64, model: &str, script: probe::ProbeScript) {
        self.shared
            .lock()
            .probe
            .channel_scripts
            .insert((channel, model.to_string()), script);
    }

    /// Every channel test received, in order.
    pub fn probe_log(&self) -> Vec<probe::ProbeCall> {
        self.shared.lock().probe.log.clone()
    }

    /// Back to the seeded state (channels, upstreams, counters, faults, log, sessions).
    pub fn reset(&self) {
        self.shared.reset();
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

//! Records real mock-gateway responses as seed inputs for the gateway fuzz targets.
//!
//! Runs every adapter operation against each mockgw flavour over 127.0.0.1 with the CLI's
//! reqwest transport, records the responses the adapter received, and writes them in the
//! fuzz script format (see `src/lib.rs`) to `fuzz/seeds/<target>/`.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example record_seeds` (no fuzzing toolchain
//! needed; `cargo xtask fuzz --record-seeds` does this).

use async_trait::async_trait;
use msync_cli::transport::ReqwestTransport;
use msync_core::clock::Clock;
use msync_core::gateway::{connect, Ctx};
use msync_core::http::{Request, Response, Transport, TransportError};
use msync_core::model::{ChannelUpdate, Credentials, Secret, Site, SiteId, SiteKind};
use msync_core::ratio::{DiffFilter, FetchRequest, RatioSelection, RatioSync, RatioUpstream};
use msync_core::store::MemoryStore;
use msync_mockgw::{Era, Flavor, MockConfig, MockGateway, MockHandle};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

struct SystemClock;

#[async_trait(?Send)]
impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
    async fn sleep_ms(&self, ms: u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await
    }
}

/// The real transport, remembering every response.
struct Recorder {
    inner: ReqwestTransport,
    log: RefCell<Vec<Response>>,
}

#[async_trait(?Send)]
impl Transport for Recorder {
    async fn send(&self, req: Request) -> Result<Response, TransportError> {
        let resp = self.inner.send(req).await?;
        self.log.borrow_mut().push(resp.clone());
        Ok(resp)
    }
}

impl Recorder {
    /// The responses so far in the script format, and forget them.
    fn take_script(&self) -> String {
        let log = std::mem::take(&mut *self.log.borrow_mut());
        let parts: Vec<String> = log
            .iter()
            .map(|r| {
                let retry = r
                    .header("retry-after")
                    .map(|v| format!("\nRetry-After: {v}"))
                    .unwrap_or_default();
                if r.status == 200 && retry.is_empty() && !r.body.starts_with("HTTP ") {
                    r.body.clone()
                } else {
                    format!("HTTP {}{retry}\n\n{}", r.status, r.body)
                }
            })
            .collect();
        parts.join("\0")
    }
}

fn kind_of(f: Flavor) -> SiteKind {
    match f {
        Flavor::NewApi => SiteKind::NewApi,
        Flavor::Veloera => SiteKind::Veloera,
        Flavor::DoneHub => SiteKind::DoneHub,
        Flavor::Octopus => SiteKind::Octopus,
        Flavor::Axonhub => SiteKind::AxonHub,
    }
}

fn site_for(mock: &MockHandle) -> Site {
    let cfg = mock.config();
    let credentials = match cfg.flavor {
        Flavor::NewApi | Flavor::Veloera => Credentials::TokenAndUserId {
            token: Secret(mock.token()),
            user_id: Some(cfg.user_id),
        },
        Flavor::DoneHub => Credentials::Token {
            token: Secret(mock.token()),
        },
        Flavor::Octopus => Credentials::Login {
            login: cfg.username.clone(),
            password: Secret(cfg.password.clone()),
        },
        Flavor::Axonhub => Credentials::Login {
            login: cfg.email.clone(),
            password: Secret(cfg.password.clone()),
        },
    };
    Site {
        id: SiteId("seed".into()),
        name: "seed".into(),
        kind: kind_of(cfg.flavor),
        base_url: mock.base_url(),
        credentials,
        allow_insecure: false,
    }
}

fn write_seed(dir: &Path, name: &str, op: u8, script: &str) {
    std::fs::create_dir_all(dir).expect("seed dir");
    let mut bytes = vec![op];
    bytes.extend_from_slice(script.as_bytes());
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn target_of(f: Flavor) -> &'static str {
    match f {
        Flavor::NewApi => "gw_new_api",
        Flavor::Veloera => "gw_veloera",
        Flavor::DoneHub => "gw_done_hub",
        Flavor::Octopus => "gw_octopus",
        Flavor::Axonhub => "gw_axon_hub",
    }
}

async fn record_flavour(seeds: &Path, label: &str, cfg: MockConfig) {
    let flavor = cfg.flavor;
    let mock = MockGateway::start(cfg).expect("mock gateway");
    let rec = Rc::new(Recorder {
        inner: ReqwestTransport::new().expect("transport"),
        log: RefCell::new(Vec::new()),
    });
    let ctx = Ctx::new(site_for(&mock), rec.clone(), Rc::new(SystemClock));
    let gw = connect(ctx);
    let dir = seeds.join(target_of(flavor));
    let _ = gw.test_connection().await;
    write_seed(&dir, &format!("{label}-test"), b'T', &rec.take_script());
    let channels = gw.list_channels().await.unwrap_or_default();
    write_seed(&dir, &format!("{label}-list"), b'L', &rec.take_script());
    let Some(ch) = channels.first().cloned() else {
        return;
    };
    let _ = gw.get_channel(&ch.id).await;
    write_seed(&dir, &format!("{label}-get"), b'G', &rec.take_script());
    let _ = gw.fetch_upstream_models(&ch).await;
    write_seed(&dir, &format!("{label}-fetch"), b'F', &rec.take_script());
    let mut models = ch.models.clone();
    models.push("gpt-4.1".into());
    let update = ChannelUpdate {
        models: Some(models),
        mapping: (flavor != Flavor::Octopus).then(|| {
            vec![(
                "gpt-4.1".to_string(),
                ch.models.first().cloned().unwrap_or_default(),
            )]
        }),
    };
    let _ = gw.update_channel(&ch, &update).await;
    write_seed(&dir, &format!("{label}-update"), b'B', &rec.take_script());
}

async fn record_ratio(seeds: &Path) {
    let main = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(3)).expect("mock");
    let up = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0).seed(2)).expect("mock");
    up.set_option(
        "ModelRatio",
        r#"{"gpt-4o":2.5,"gpt-4o-mini":0.075,"new-model":3,"mystery":37.5}"#,
    );
    up.set_option("CompletionRatio", r#"{"gpt-4o":4,"new-model":1}"#);
    let rec = Rc::new(Recorder {
        inner: ReqwestTransport::new().expect("transport"),
        log: RefCell::new(Vec::new()),
    });
    let ctx = Ctx::new(site_for(&main), rec.clone(), Rc::new(SystemClock));
    let sync = RatioSync::new(ctx, Rc::new(MemoryStore::new())).expect("ratio sync");
    let dir = seeds.join("ratio");
    let _ = sync.sources().await;
    write_seed(&dir, "sources", b'S', &rec.take_script());
    let req = FetchRequest::new(vec![RatioUpstream::custom(
        "up-a",
        &up.base_url(),
        None,
        "/api/pricing",
    )
    .expect("upstream")]);
    let diff = sync.fetch(&req).await.expect("fetch");
    write_seed(&dir, "fetch", b'R', &rec.take_script());
    let _ = sync.current().await;
    write_seed(&dir, "options", b'O', &rec.take_script());
    let mut sel = RatioSelection::new();
    for u in &diff.upstreams {
        sel = sel.column(u, DiffFilter::default());
    }
    let choices = sel.resolve(&diff).choices;
    let _ = sync.fetch(&req).await;
    let _ = sync.preview(&choices).await;
    write_seed(&dir, "preview", b'P', &rec.take_script());
    let _ = sync.fetch(&req).await;
    let _ = sync.apply(&choices, None).await;
    write_seed(&dir, "apply", b'A', &rec.take_script());
}

fn main() {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let flavours = [
            (
                "era-b",
                MockConfig::new(Flavor::NewApi).channels(3).era(Era::B),
            ),
            (
                "era-a",
                MockConfig::new(Flavor::NewApi).channels(3).era(Era::A),
            ),
            (
                "legacy",
                MockConfig::new(Flavor::NewApi).channels(3).legacy(true),
            ),
            ("current", MockConfig::new(Flavor::Veloera).channels(3)),
            ("current", MockConfig::new(Flavor::DoneHub).channels(3)),
            ("current", MockConfig::new(Flavor::Octopus).channels(3)),
            (
                "legacy",
                MockConfig::new(Flavor::Octopus).channels(3).legacy(true),
            ),
            ("current", MockConfig::new(Flavor::Axonhub).channels(3)),
            (
                "legacy",
                MockConfig::new(Flavor::Axonhub).channels(3).legacy(true),
            ),
        ];
        for (label, cfg) in flavours {
            record_flavour(&seeds, label, cfg).await;
        }
        record_ratio(&seeds).await;
    });
    eprintln!("seeds written to {}", seeds.display());
}

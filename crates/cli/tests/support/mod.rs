//! Shared helpers for the `cli_*` tests: a mock gateway, a config file and the real binary.
#![allow(dead_code)]

use msync_cli::clock::SystemClock;
use msync_cli::transport::ReqwestTransport;
use msync_core::gateway::{capabilities, connect, CredentialField, Ctx, Gateway};
use msync_core::model::{CredentialFields, Secret, Site, SiteId, SiteKind};
use msync_mockgw::{Flavor, MockConfig, MockGateway, MockHandle};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;

/// Run a future of the adapters (single-threaded, like the CLI).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The site type a mock flavour stands for (they share their names).
pub fn kind_of(flavor: Flavor) -> SiteKind {
    SiteKind::parse(flavor.as_str()).expect("every mock flavour is a site type")
}

/// The site record for a mock, with the credentials its type takes (`password_ok: false`: the
/// token or password is wrong). The base URL ends in `/`: a trailing slash must not matter.
pub fn site_of(mock: &MockHandle, password_ok: bool) -> Site {
    let cfg = mock.config();
    let kind = kind_of(cfg.flavor);
    let bad = |s: String| if password_ok { s } else { format!("{s}-wrong") };
    let need = capabilities(kind).credentials;
    let credentials = need.shape(CredentialFields {
        token: Secret(bad(mock.token())),
        user_id: Some(cfg.user_id),
        username: Some(if need.login_field() == Some(CredentialField::Email) {
            cfg.email.clone()
        } else {
            cfg.username.clone()
        }),
        password: Secret(bad(cfg.password.clone())),
    });
    Site {
        id: SiteId("it".into()),
        name: "it".into(),
        kind,
        base_url: format!("{}/", mock.base_url()),
        credentials,
        allow_insecure: false,
    }
}

/// The real adapter for a mock over the real reqwest transport.
pub fn gateway_of(mock: &MockHandle, password_ok: bool, timeout_ms: u64) -> Box<dyn Gateway> {
    let mut ctx = Ctx::new(
        site_of(mock, password_ok),
        Rc::new(ReqwestTransport::new().unwrap()),
        Rc::new(SystemClock),
    );
    ctx.timeout_ms = timeout_ms;
    connect(ctx)
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub mock: MockHandle,
    pub config: PathBuf,
    pub state: PathBuf,
    /// The secret the config points at (token or password).
    pub secret: String,
}

/// Fast settings for tests.
pub const FAST: &str = "requests_per_minute = 600\nburst = 50\nsite_requests_per_minute = 6000\nsite_burst = 100\nconcurrency = 4\nmax_retries = 1\nbackoff_base_ms = 100\nbackoff_cap_ms = 200\n";

pub fn site_toml(mock: &MockHandle, name: &str, secret_file: &str) -> String {
    let cfg = mock.config();
    let creds = match cfg.flavor {
        Flavor::NewApi | Flavor::Veloera => {
            format!(
                "user_id = {}\ntoken_file = \"{secret_file}\"\n",
                cfg.user_id
            )
        }
        Flavor::DoneHub => format!("token_file = \"{secret_file}\"\n"),
        Flavor::Octopus => format!(
            "username = \"{}\"\npassword_file = \"{secret_file}\"\n",
            cfg.username
        ),
        Flavor::Axonhub => format!(
            "email = \"{}\"\npassword_file = \"{secret_file}\"\n",
            cfg.email
        ),
    };
    format!(
        "[[sites]]\nname = \"{name}\"\ntype = \"{}\"\nbase_url = \"{}/\"\nrequest_timeout_secs = 2\n{creds}",
        cfg.flavor.as_str(),
        mock.base_url()
    )
}

pub fn secret_of(mock: &MockHandle) -> String {
    let cfg = mock.config();
    match cfg.flavor {
        Flavor::NewApi | Flavor::Veloera | Flavor::DoneHub => mock.token(),
        Flavor::Octopus | Flavor::Axonhub => cfg.password.clone(),
    }
}

impl Env {
    pub fn new(cfg: MockConfig) -> Env {
        Env::with_sync(cfg, FAST)
    }

    /// A mock, a secret file (0600) and a config with this `[sync]` body.
    pub fn with_sync(cfg: MockConfig, sync: &str) -> Env {
        let mock = MockGateway::start(cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let secret = secret_of(&mock);
        let secret_path = dir.path().join("secret");
        write_private(&secret_path, &format!("{secret}\n"));
        let config = dir.path().join("msync.toml");
        let text = format!("{}\n[sync]\n{sync}", site_toml(&mock, "it", "secret"));
        std::fs::write(&config, text).unwrap();
        let state = dir.path().join("state");
        Env {
            dir,
            mock,
            config,
            state,
            secret,
        }
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> Out {
        let mut all = vec![
            "--config".to_string(),
            self.config.display().to_string(),
            "--state-dir".to_string(),
            self.state.display().to_string(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        run_msync(&all, &[])
    }
}

pub fn run_msync(args: &[String], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_msync"));
    cmd.args(args)
        .env_remove("MSYNC_CONFIG")
        .env_remove("MSYNC_STATE_DIR")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn write_private(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// The numeric id of a channel id (`12`, `gid://axonhub/channel/12`).
pub fn num(id: &str) -> u64 {
    id.rsplit('/').next().unwrap().parse().unwrap()
}

pub fn items(doc: &Value) -> Vec<Value> {
    doc["items"].as_array().unwrap().clone()
}

pub fn with_status<'a>(items: &'a [Value], status: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["status"] == status).collect()
}

pub fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Every file under `dir`, concatenated (to look for leaked secrets).
pub fn all_text(dir: &std::path::Path) -> String {
    let mut out = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push_str(&all_text(&p));
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                out.push_str(&t);
            }
        }
    }
    out
}

/// The kind of an enum value in serde's default form (`"sent"` or `{"suppressed": {…}}`), as
/// `--json` prints typed data (`docs/cli-json.md`).
#[allow(dead_code)]
pub fn kind(v: &Value) -> &str {
    match v {
        Value::String(kind) => kind,
        Value::Object(one) if one.len() == 1 => one.keys().next().map_or("", String::as_str),
        other => panic!("not an enum value: {other}"),
    }
}

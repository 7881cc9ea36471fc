//! `msync-mockgw`: run a mock gateway on 127.0.0.1.

use clap::Parser;
use msync_mockgw::config::{
    DEFAULT_AXONHUB_EMAIL, DEFAULT_AXONHUB_PASSWORD, DEFAULT_OCTOPUS_PASSWORD,
    DEFAULT_OCTOPUS_USER, DEFAULT_TOKEN,
};
use msync_mockgw::{Era, Flavor, MockConfig, MockGateway, RateLimit, Role};
use std::io::Write;

const AFTER_HELP: &str = "\
Default credentials:
  new-api / veloera / done-hub   Authorization: Bearer mock-admin-token, user id 1
                                 (New API era a also needs New-Api-User: 1; Veloera: Veloera-User: 1)
  octopus                        POST /api/v1/user/login {\"username\":\"admin\",\"password\":\"admin\"}
                                 -> cookie auth=<JWT> (--legacy = v0.9: Bearer token in the body);
                                 --token is also accepted as a pre-issued JWT
  axonhub                        POST /admin/auth/signin {\"email\":\"owner@example.com\",\"password\":\"password\"}
                                 -> Bearer JWT; --token is also accepted as a pre-issued JWT

Control routes (no auth): GET /__mock/requests, GET /__mock/state, POST /__mock/faults,
DELETE /__mock/faults, POST /__mock/upstream/:id, POST /__mock/reset, GET /__mock/config.
Fault rule example: {\"kind\":\"status\",\"status\":429,\"retry_after\":3,\"op\":\"list_channels\",\"times\":1}";

/// A faithful mock of the five gateways' admin APIs, with fault injection.
#[derive(Parser, Debug)]
#[command(name = "msync-mockgw", version, after_help = AFTER_HELP)]
struct Args {
    /// Port on 127.0.0.1 (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// new-api | veloera | done-hub | octopus | axonhub
    #[arg(long, default_value = "new-api")]
    flavor: Flavor,
    /// Number of seeded channels.
    #[arg(long, default_value_t = 20)]
    channels: usize,
    /// Seed for the channels and upstream model lists.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Admin access token (New API family) or pre-issued session token (Octopus, AxonHub).
    #[arg(long, default_value = DEFAULT_TOKEN)]
    token: String,
    /// The admin's user id (New-Api-User / Veloera-User).
    #[arg(long, default_value_t = 1)]
    user_id: i64,
    /// root | admin | common
    #[arg(long, default_value = "root")]
    role: Role,
    /// New API auth era: a (New-Api-User required) or b (2026-07-20+, ignored; 401/403 + code).
    #[arg(long, default_value = "b")]
    era: Era,
    /// Older API generation: New API 2025 (bare-array list, 0-based p), Octopus v0.9 (Bearer),
    /// AxonHub v0.1.1 (no fetchModels).
    #[arg(long)]
    legacy: bool,
    /// Extra latency on every request, in ms.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Rate limit: "default" (the real server's), "off", or N requests per --rate-window-s.
    #[arg(long, default_value = "default")]
    rate_limit: String,
    /// Rate-limit window in seconds.
    #[arg(long, default_value_t = 180)]
    rate_window_s: u64,
    /// Version string answered by GET /api/status.
    #[arg(long)]
    version_string: Option<String>,
    #[arg(long, default_value = DEFAULT_OCTOPUS_USER)]
    username: String,
    /// Octopus/AxonHub password (default: admin for Octopus, password for AxonHub).
    #[arg(long)]
    password: Option<String>,
    #[arg(long, default_value = DEFAULT_AXONHUB_EMAIL)]
    email: String,
}

fn main() {
    let args = Args::parse();
    let mut cfg = MockConfig::new(args.flavor);
    cfg.port = args.port;
    cfg.channels = args.channels;
    cfg.seed = args.seed;
    cfg.token = args.token;
    cfg.user_id = args.user_id;
    cfg.role = args.role;
    cfg.era = args.era;
    cfg.legacy = args.legacy;
    cfg.latency_ms = args.latency_ms;
    cfg.version = args.version_string;
    cfg.username = args.username;
    cfg.email = args.email;
    cfg.password = args.password.unwrap_or_else(|| match args.flavor {
        Flavor::Axonhub => DEFAULT_AXONHUB_PASSWORD.to_string(),
        _ => DEFAULT_OCTOPUS_PASSWORD.to_string(),
    });
    cfg.rate_limit = match args.rate_limit.as_str() {
        "off" | "none" => None,
        "default" => MockConfig::default_rate_limit(args.flavor, args.legacy),
        n => match n.parse::<u32>() {
            Ok(max) => Some(RateLimit {
                max,
                window_ms: args.rate_window_s.saturating_mul(1000),
            }),
            Err(_) => {
                eprintln!("--rate-limit must be off, default or a number");
                std::process::exit(2);
            }
        },
    };
    let (flavor, channels) = (cfg.flavor, cfg.channels);
    let handle = match MockGateway::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("mockgw: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "mockgw listening on {} flavor={flavor} channels={channels}",
        handle.base_url()
    );
    let _ = out.flush();
    // Serve until killed.
    loop {
        std::thread::park();
    }
}

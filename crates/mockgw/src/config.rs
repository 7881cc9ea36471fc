//! What a mock server pretends to be.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which gateway the mock speaks (`docs/admin-apis.md` §1–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    NewApi,
    Veloera,
    DoneHub,
    Octopus,
    Axonhub,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::NewApi => "new-api",
            Flavor::Veloera => "veloera",
            Flavor::DoneHub => "done-hub",
            Flavor::Octopus => "octopus",
            Flavor::Axonhub => "axonhub",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "new-api" | "newapi" => Ok(Flavor::NewApi),
            "veloera" => Ok(Flavor::Veloera),
            "done-hub" | "donehub" => Ok(Flavor::DoneHub),
            "octopus" => Ok(Flavor::Octopus),
            "axonhub" | "axon-hub" => Ok(Flavor::Axonhub),
            other => Err(format!(
                "unknown flavor {other:?} (new-api, veloera, done-hub, octopus, axonhub)"
            )),
        }
    }
}

/// New API auth era (§1.2). A: `New-Api-User` required, 401 without it, 200 for a bad token.
/// B (2026-07-20+): the header is ignored; 401/403 with a `code` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Era {
    A,
    B,
}

impl FromStr for Era {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "a" => Ok(Era::A),
            "b" => Ok(Era::B),
            other => Err(format!("unknown era {other:?} (a or b)")),
        }
    }
}

/// The admin's role (§1.1: 1 common, 10 admin, 100 root).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Common,
    Admin,
    Root,
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "common" | "user" => Ok(Role::Common),
            "admin" => Ok(Role::Admin),
            "root" => Ok(Role::Root),
            other => Err(format!("unknown role {other:?} (root, admin, common)")),
        }
    }
}

/// A sliding-window request limit per client IP (§1.8, §2, §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub max: u32,
    pub window_ms: u64,
}

pub const DEFAULT_TOKEN: &str = "mock-admin-token";
pub const DEFAULT_OCTOPUS_USER: &str = "admin";
pub const DEFAULT_OCTOPUS_PASSWORD: &str = "admin";
pub const DEFAULT_AXONHUB_EMAIL: &str = "owner@example.com";
pub const DEFAULT_AXONHUB_PASSWORD: &str = "password";

/// Everything a mock server needs to start. `MockConfig::new(flavor)` gives the documented
/// defaults; the fields are public so tests can tweak them. `Debug` hides the token and password.
#[derive(Clone, Serialize, Deserialize)]
pub struct MockConfig {
    pub flavor: Flavor,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub channels: usize,
    pub seed: u64,
    /// New API family: the admin's access token. Octopus/AxonHub: a pre-issued session token that
    /// is accepted without logging in (logging in issues fresh ones too).
    pub token: String,
    pub user_id: i64,
    pub role: Role,
    /// New API only: auth era (§1.2). Ignored when `legacy` is set (legacy implies era A).
    pub era: Era,
    /// The older API generation of the flavour: New API ≤2025-06 (bare-array list, 0-based `p`),
    /// Octopus ≤v0.9.28 (Bearer auth), AxonHub v0.1.1 (no `fetchModels`).
    pub legacy: bool,
    /// Extra latency added to every non-control request.
    pub latency_ms: u64,
    /// The admin API rate limit; `None` = off. [`MockConfig::new`] starts with the real server's
    /// default ([`MockConfig::default_rate_limit`]): New API, Veloera and DoneHub have one.
    pub rate_limit: Option<RateLimit>,
    /// Octopus login.
    pub username: String,
    /// Octopus and AxonHub password.
    pub password: String,
    /// AxonHub sign-in e-mail.
    pub email: String,
    /// Overrides the version string of `GET /api/status`.
    pub version: Option<String>,
}

impl fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockConfig")
            .field("flavor", &self.flavor)
            .field("port", &self.port)
            .field("channels", &self.channels)
            .field("seed", &self.seed)
            .field("token", &"[REDACTED]")
            .field("user_id", &self.user_id)
            .field("role", &self.role)
            .field("era", &self.era)
            .field("legacy", &self.legacy)
            .field("latency_ms", &self.latency_ms)
            .field("rate_limit", &self.rate_limit)
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("email", &self.email)
            .field("version", &self.version)
            .finish()
    }
}

impl MockConfig {
    pub fn new(flavor: Flavor) -> Self {
        MockConfig {
            flavor,
            port: 0,
            channels: 20,
            seed: 1,
            token: DEFAULT_TOKEN.to_string(),
            user_id: 1,
            role: Role::Root,
            era: Era::B,
            legacy: false,
            latency_ms: 0,
            rate_limit: MockConfig::default_rate_limit(flavor, false),
            username: DEFAULT_OCTOPUS_USER.to_string(),
            password: match flavor {
                Flavor::Axonhub => DEFAULT_AXONHUB_PASSWORD.to_string(),
                _ => DEFAULT_OCTOPUS_PASSWORD.to_string(),
            },
            email: DEFAULT_AXONHUB_EMAIL.to_string(),
            version: None,
        }
    }

    pub fn channels(mut self, n: usize) -> Self {
        self.channels = n;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn era(mut self, era: Era) -> Self {
        self.era = era;
        self
    }

    pub fn legacy(mut self, legacy: bool) -> Self {
        // A rate limit still at the old generation's default follows the new one.
        if self.rate_limit == MockConfig::default_rate_limit(self.flavor, self.legacy) {
            self.rate_limit = MockConfig::default_rate_limit(self.flavor, legacy);
        }
        self.legacy = legacy;
        self
    }

    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    pub fn rate_limit(mut self, max: u32, window_ms: u64) -> Self {
        self.rate_limit = Some(RateLimit { max, window_ms });
        self
    }

    /// No rate limit (tests that send more than a real server allows in 3 minutes).
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// The auth era in force (legacy New API builds are era A).
    pub fn effective_era(&self) -> Era {
        if self.legacy {
            Era::A
        } else {
            self.era
        }
    }

    /// The rate limit the real server applies by default, per client IP, over 180 s: New API
    /// 360 (180 before 2026-06-10; `common/init.go` `GlobalApiRateLimitNum`), Veloera 180
    /// (`common/init.go`), DoneHub 300 (`middleware/rate-limit.go`, `global.api_rate_limit`; the
    /// real one exempts loopback clients, the mock does not, since msync meets it from afar).
    /// Octopus and AxonHub have none. Over it: 429 with an empty body.
    pub fn default_rate_limit(flavor: Flavor, legacy: bool) -> Option<RateLimit> {
        let window_ms = 180_000;
        match flavor {
            Flavor::NewApi if legacy => Some(RateLimit {
                max: 180,
                window_ms,
            }),
            Flavor::NewApi => Some(RateLimit {
                max: 360,
                window_ms,
            }),
            Flavor::Veloera => Some(RateLimit {
                max: 180,
                window_ms,
            }),
            Flavor::DoneHub => Some(RateLimit {
                max: 300,
                window_ms,
            }),
            Flavor::Octopus | Flavor::Axonhub => None,
        }
    }
}

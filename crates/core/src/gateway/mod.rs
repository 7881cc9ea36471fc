//! The `Gateway` trait and one module per site. The engine never asks which site it talks to;
//! envelopes, auth, full-object writes and other hazards stay inside the adapters.

use crate::clock::Clock;
use crate::error::{Error, ErrorClass, Result};
use crate::http::{Request, Response, Transport};
use crate::model::{Channel, ChannelId, ChannelUpdate, Site, SiteKind};
use crate::redact::redact;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::rc::Rc;

pub mod axon_hub;
pub mod done_hub;
pub mod new_api;
pub mod new_api_ratio;
pub mod octopus;
pub mod testing;

#[cfg(test)]
mod tests;

/// What a site can do; the UI says so instead of pretending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Per-channel model mapping (Octopus has none: it uses groups).
    pub model_mapping: bool,
    /// New API ratio sync endpoints.
    pub ratio_sync: bool,
    /// A mapping's request-side names must also be listed in the channel's models for the
    /// gateway to route them (New API, Veloera, DoneHub). AxonHub exposes mapping `from` names
    /// by itself and its models list holds upstream ids only.
    pub aliases_must_be_listed: bool,
    /// How the site stores a channel's model list: which names it can hold at all.
    #[serde(default)]
    pub model_list: ModelListFormat,
}

/// How a site stores a channel's model list, and so which names survive a write and a read.
///
/// * New API (`model/channel.go` `GetModels`: `strings.Split(strings.Trim(channel.Models, ","),
///   ",")`), Veloera (the same code) and DoneHub (`model/balancer.go` `Load`: split on `,`, each
///   name trimmed for routing) keep one comma-joined text and split it on commas only: a name
///   with a comma comes back as two names, spaces stay part of a name.
/// * Octopus (`internal/op/channel.go` `ChannelUpdate`) also joins with commas, and trims,
///   drops empty and duplicate names when it stores them.
/// * AxonHub stores a JSON list.
///
/// The adapters read and write through these functions only, so a revert writes back exactly
/// the names read into its snapshot, and for every format
/// `split(join(clean(names))) == clean(names)` holds once no name is [`Self::unstorable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelListFormat {
    /// One comma-joined text, names kept as they are (New API, Veloera, DoneHub).
    #[default]
    CommaJoined,
    /// One comma-joined text whose names the server trims and de-duplicates (Octopus).
    CommaJoinedTrimmed,
    /// A list of strings (AxonHub).
    List,
}

impl ModelListFormat {
    /// What the site would store for `names`: blank names and repeats dropped; for Octopus and
    /// AxonHub also trimmed. New API and DoneHub names are otherwise kept as they are (spaces
    /// included: the server does not trim them, so `" a"` and `"a"` are two names there).
    pub fn clean<S: AsRef<str>>(self, names: &[S]) -> Vec<String> {
        match self {
            ModelListFormat::CommaJoined => {
                let mut seen = std::collections::HashSet::new();
                names
                    .iter()
                    .map(AsRef::as_ref)
                    .filter(|n| !n.trim().is_empty() && seen.insert(*n))
                    .map(str::to_string)
                    .collect()
            }
            ModelListFormat::CommaJoinedTrimmed | ModelListFormat::List => clean_models(names),
        }
    }

    /// The names of `names` that this format cannot store: with a comma, the server would split
    /// them into other names (`"gpt-4o,o1-pro"` becomes `gpt-4o` and `o1-pro`).
    pub fn unstorable<S: AsRef<str>>(self, names: &[S]) -> Vec<&str> {
        match self {
            ModelListFormat::CommaJoined | ModelListFormat::CommaJoinedTrimmed => names
                .iter()
                .map(AsRef::as_ref)
                .filter(|n| n.contains(','))
                .collect(),
            ModelListFormat::List => Vec::new(),
        }
    }

    /// The stored text for `names` (comma formats), or why nothing may be written.
    pub fn join<S: AsRef<str>>(self, names: &[S]) -> Result<String> {
        let bad = self.unstorable(names);
        if !bad.is_empty() {
            return Err(Error::validation(unstorable_text(&bad)));
        }
        Ok(self.clean(names).join(","))
    }

    /// Split a stored text the way the server does (on commas only), then [`Self::clean`].
    pub fn split(self, text: &str) -> Vec<String> {
        let parts: Vec<&str> = text.trim_matches(',').split(',').collect();
        self.clean(&parts)
    }
}

/// Why names were refused (the engine's per-channel reason and the adapters' write check).
pub fn unstorable_text(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut list: Vec<String> = names.iter().take(SHOWN).map(|n| format!("{n:?}")).collect();
    if names.len() > SHOWN {
        list.push(format!("… {} more", names.len() - SHOWN));
    }
    format!(
        "the site cannot store model names with a comma (it keeps a channel's models as one comma-separated text and would split them): {}; nothing was written (exclude them with a rule to sync the other models)",
        list.join(", ")
    )
}

/// A limit a gateway puts on its own admin API, per client IP: at most `max` requests in any
/// `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRateLimit {
    pub max: u32,
    pub window_ms: u64,
}

/// The admin API limit a site type enforces by default (`docs/gateways.md`); `None` when the
/// server has none (Octopus, AxonHub).
pub fn api_rate_limit(kind: SiteKind) -> Option<ApiRateLimit> {
    match kind {
        SiteKind::NewApi => Some(new_api::API_RATE_LIMIT),
        SiteKind::Veloera => Some(new_api::VELOERA_API_RATE_LIMIT),
        SiteKind::DoneHub => Some(done_hub::API_RATE_LIMIT),
        SiteKind::Octopus | SiteKind::AxonHub => None,
    }
}

/// The result of "Test connection".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub reachable: bool,
    pub authenticated: bool,
    pub admin: bool,
    /// `None` when the site cannot tell.
    pub root: Option<bool>,
    pub version: Option<String>,
    /// Which flavour/era the answers looked like (e.g. "new-api ≥ 2025-06 envelope").
    pub flavour_hint: Option<String>,
    pub channel_count: Option<usize>,
    pub round_trip_ms: u64,
}

#[async_trait(?Send)]
pub trait Gateway {
    fn site(&self) -> &Site;
    fn capabilities(&self) -> Capabilities;
    async fn test_connection(&self) -> Result<ConnectionReport>;
    /// Every channel, all pages, tag folding expanded.
    async fn list_channels(&self) -> Result<Vec<Channel>>;
    /// One channel, read fresh.
    async fn get_channel(&self, id: &ChannelId) -> Result<Channel>;
    /// Ask the gateway to fetch the channel's upstream model list. Never changes the channel.
    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>>;
    /// Write models and/or mapping, safely for this site; returns the channel as stored.
    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel>;
    /// The names the site has a ratio or price for (price check after sync, `crate::pricing`).
    /// `Ok(None)`: this site type has no price API msync reads (`docs/pricing-check.md` says
    /// which gateways have one and why msync does not read it).
    async fn read_prices(&self) -> Result<Option<crate::pricing::PriceBook>> {
        Ok(None)
    }
    /// The ratio apply path for filling prices in (`crate::ratio::RatioSync`), where the site
    /// has one; `None` otherwise.
    fn ratio_sync(
        &self,
        _store: Rc<dyn crate::store::KvStore>,
    ) -> Option<Result<crate::ratio::RatioSync>> {
        None
    }
}

/// Why nothing was sent to a plain-http, non-local site (see [`Site::allow_insecure`]).
pub const INSECURE_REFUSED: &str = "refusing to send the credentials over plain http to a non-local host; use https, or allow insecure http for this site explicitly";

/// Everything an adapter needs from the outside world.
#[derive(Clone)]
pub struct Ctx {
    pub site: Site,
    pub transport: Rc<dyn Transport>,
    pub clock: Rc<dyn Clock>,
    /// Per-request time limit for admin API calls.
    pub timeout_ms: u64,
}

impl Ctx {
    pub fn new(site: Site, transport: Rc<dyn Transport>, clock: Rc<dyn Clock>) -> Self {
        Ctx {
            site,
            transport,
            clock,
            timeout_ms: 30_000,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.site.api_base(), path)
    }

    /// Redact this site's secrets (and token shapes) from a message.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.site.credentials.secrets())
    }

    /// Like [`Ctx::redact`], plus secrets learnt at run time (a session token, a channel key
    /// read back from the gateway).
    pub fn redact_with(&self, text: &str, extra: &[String]) -> String {
        let mut secrets = self.site.credentials.secrets();
        secrets.extend(extra.iter().filter(|s| !s.is_empty()).cloned());
        redact(text, &secrets)
    }

    /// Send a request; transport failures become classified errors. Nothing is sent to a
    /// plain-http, non-local address unless the user allowed it for this site.
    pub async fn send(&self, req: Request) -> Result<Response> {
        if !self.site.allow_insecure && crate::base_url::is_insecure(&self.site.base_url) {
            return Err(Error::validation(INSECURE_REFUSED));
        }
        let req = if req.timeout_ms == 0 || req.timeout_ms > self.timeout_ms {
            req.timeout_ms(self.timeout_ms)
        } else {
            req
        };
        self.transport.send(req).await.map_err(|e| {
            let e: Error = e.into();
            Error {
                message: self.redact(&e.message),
                ..e
            }
        })
    }

    /// Parse a response body as JSON, classifying HTML pages, empty and truncated bodies.
    pub fn parse_json(&self, resp: &Response) -> Result<serde_json::Value> {
        let body = resp.body.trim_start();
        if body.is_empty() {
            return Err(self.status_error(resp, "empty response body"));
        }
        if body.starts_with('<') {
            let hint = if body.to_ascii_lowercase().contains("cloudflare") {
                "an HTML page (Cloudflare?) instead of JSON"
            } else if body.to_ascii_lowercase().contains("login") {
                "an HTML page (a login page?) instead of JSON"
            } else {
                "an HTML page instead of JSON"
            };
            return Err(self.status_error(resp, hint));
        }
        serde_json::from_str(body).map_err(|e| {
            let what = if e.is_eof() {
                "truncated JSON"
            } else {
                "malformed JSON"
            };
            self.status_error(resp, &format!("{what}: {e}"))
        })
    }

    /// An error for a response that was not usable, classified by its HTTP status.
    pub fn status_error(&self, resp: &Response, detail: &str) -> Error {
        let class = class_for_status(resp.status).unwrap_or(ErrorClass::InvalidResponse);
        let mut e = Error::new(
            class,
            self.redact(&format!("HTTP {}: {detail}", resp.status)),
        );
        if resp.status != 200 {
            e = e.with_status(resp.status);
        }
        e.with_retry_after(resp.retry_after_ms())
    }
}

/// The error class an HTTP status implies on its own, if any.
pub fn class_for_status(status: u16) -> Option<ErrorClass> {
    Some(match status {
        401 => ErrorClass::Auth,
        403 => ErrorClass::Permission,
        404 | 410 => ErrorClass::NotFound,
        408 => ErrorClass::Timeout,
        429 => ErrorClass::RateLimited,
        400 | 409 | 415 | 422 => ErrorClass::Validation,
        500..=599 => ErrorClass::Server,
        _ => return None,
    })
}

/// Find a wrapped upstream HTTP status in a gateway message (`status code: 401`,
/// `failed to fetch models: 401`).
pub fn wrapped_status(message: &str) -> Option<u16> {
    let lower = message.to_ascii_lowercase();
    for marker in [
        "status code: ",
        "status code ",
        "status: ",
        "failed to fetch models: ",
    ] {
        if let Some(pos) = lower.find(marker) {
            let digits: String = lower[pos + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(code) = digits.parse::<u16>() {
                if (100..600).contains(&code) {
                    return Some(code);
                }
            }
        }
    }
    None
}

/// Build the adapter for a site. Adding a gateway = one module + one line here.
pub fn connect(ctx: Ctx) -> Box<dyn Gateway> {
    match ctx.site.kind {
        SiteKind::NewApi | SiteKind::Veloera => Box::new(new_api::NewApi::new(ctx)),
        SiteKind::DoneHub => Box::new(done_hub::DoneHub::new(ctx)),
        SiteKind::Octopus => Box::new(octopus::Octopus::new(ctx)),
        SiteKind::AxonHub => Box::new(axon_hub::AxonHub::new(ctx)),
    }
}

/// Percent-encode one URL path segment (a DoneHub tag, say): everything but unreserved bytes.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Normalise a model list read from a site: trimmed, no empty names, first occurrence kept.
pub fn clean_models<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for n in names {
        let n = n.as_ref().trim();
        if !n.is_empty() && seen.insert(n.to_string()) {
            out.push(n.to_string());
        }
    }
    out
}

#[cfg(test)]
mod helper_tests {
    use super::*;

    /// A small deterministic generator (xorshift64*), so the property runs the same everywhere.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
        /// A model name from an alphabet heavy in the characters that matter here.
        fn name(&mut self) -> String {
            const CHARS: &[&str] = &[
                "a", "b", "o", "1", "-", "/", ".", ",", ",", " ", "\t", "模", "é", ":",
            ];
            let len = self.below(6);
            (0..len)
                .map(|_| CHARS[self.below(CHARS.len() as u64)])
                .collect()
        }
    }

    #[test]
    fn every_storable_list_round_trips_through_each_sites_encoding() {
        let formats = [
            ModelListFormat::CommaJoined,
            ModelListFormat::CommaJoinedTrimmed,
        ];
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let (mut refused, mut checked) = (0, 0);
        for _ in 0..20_000 {
            let n = g.below(7);
            let names: Vec<String> = (0..n).map(|_| g.name()).collect();
            for f in formats {
                let clean = f.clean(&names);
                match f.join(&clean) {
                    Ok(text) => {
                        checked += 1;
                        assert_eq!(f.split(&text), clean, "{f:?}: {names:?} -> {text:?}");
                    }
                    Err(e) => {
                        refused += 1;
                        assert!(clean.iter().any(|n| n.contains(',')), "{f:?}: {names:?}");
                        assert_eq!(e.class, ErrorClass::Validation);
                    }
                }
                // Reading is stable: what a read returns is written back unchanged.
                let text = names.join(",");
                let read = f.split(&text);
                assert_eq!(f.split(&f.join(&read).unwrap()), read, "{f:?}: {text:?}");
            }
        }
        assert!(
            refused > 1_000 && checked > 1_000,
            "{refused} refused, {checked} checked"
        );
    }

    #[test]
    fn plain_http_to_a_public_host_is_refused_unless_allowed() {
        use crate::gateway::testing::{block_on, test_site, text, FakeTransport, VirtualClock};
        use crate::http::{Method, Request};
        let rows = [
            ("http://gw.example.com", false, true),
            ("http://gw.example.com", true, false),
            ("https://gw.example.com", false, false),
            ("http://192.168.1.9:3000", false, false),
        ];
        for (url, allowed, refused) in rows {
            let t = FakeTransport::new(|_| Ok(text(200, "{}")));
            let mut site = test_site(SiteKind::NewApi, url);
            site.allow_insecure = allowed;
            let ctx = Ctx::new(site, t.clone(), VirtualClock::new(0));
            let got = block_on(ctx.send(Request::new(Method::Get, ctx.url("/api/status"))));
            if refused {
                let e = got.unwrap_err();
                assert_eq!(e.class, ErrorClass::Validation, "{url}");
                assert_eq!(e.message, INSECURE_REFUSED);
                assert!(t.requests().is_empty(), "{url}: nothing sent");
            } else {
                assert!(got.is_ok(), "{url} allowed={allowed}");
                assert_eq!(t.requests().len(), 1);
            }
        }
    }

    #[test]
    fn a_redirect_is_an_error_naming_its_target_without_the_query() {
        let e: Error = crate::http::TransportError::Redirect {
            status: Some(307),
            location: Some("http://other.example:81/api/v1/user/login?token=abc".into()),
        }
        .into();
        assert_eq!(e.class, ErrorClass::InvalidResponse);
        assert_eq!(e.http_status, Some(307));
        assert!(!e.retryable);
        assert!(
            e.message.starts_with(
                "the server answered HTTP 307 with a redirect to http://other.example:81/api/v1/user/login; msync does not follow redirects"
            ),
            "{}",
            e.message
        );
        assert!(!e.message.contains("abc"));
        let e: Error = crate::http::TransportError::Redirect {
            status: None,
            location: None,
        }
        .into();
        assert!(e
            .message
            .starts_with("the server answered with a redirect; "));
        assert!(!e.retryable);
    }

    #[test]
    fn comma_sites_refuse_names_that_would_split() {
        let names = vec!["gpt-4o".to_string(), "x,o1-pro".to_string()];
        for f in [
            ModelListFormat::CommaJoined,
            ModelListFormat::CommaJoinedTrimmed,
        ] {
            assert_eq!(f.unstorable(&names), vec!["x,o1-pro"]);
            let e = f.join(&names).unwrap_err();
            assert!(e.message.contains("\"x,o1-pro\""), "{}", e.message);
        }
        assert!(ModelListFormat::List.unstorable(&names).is_empty());
        // New API keeps spaces (its split does not trim); Octopus trims like its server.
        assert_eq!(
            ModelListFormat::CommaJoined.split(",a, b,,c,"),
            vec!["a", " b", "c"]
        );
        assert_eq!(
            ModelListFormat::CommaJoinedTrimmed.split(",a, b,,c,a"),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn wrapped_statuses_are_found() {
        let rows = [
            ("获取模型列表失败: status code: 401", Some(401)),
            ("status code: 503", Some(503)),
            ("failed to fetch models: 429", Some(429)),
            ("record not found", None),
            ("status code: 99999", None),
        ];
        for (msg, want) in rows {
            assert_eq!(wrapped_status(msg), want, "{msg}");
        }
    }
}

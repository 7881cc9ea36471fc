//! The `Gateway` trait and one module per site. The engine never asks which site it talks to;
//! envelopes, auth, full-object writes and other hazards stay inside the adapters.

use crate::clock::Clock;
use crate::error::{Error, ErrorClass, Result};
use crate::http::{Request, Response, Transport};
use crate::model::{Channel, ChannelId, ChannelUpdate, Site, SiteKind};
use crate::reason::RunError;
use crate::redact::redact;
use async_trait::async_trait;
pub use msync_types::gateway::{
    api_rate_limit, capabilities, unstorable_error, ApiRateLimit, Capabilities, ConnectionReport,
    CredentialField, CredentialKind, MappingRules, ModelListFormat,
};
use std::rc::Rc;

pub mod axon_hub;
pub mod done_hub;
pub mod new_api;
pub mod new_api_ratio;
pub mod octopus;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

#[cfg(test)]
mod tests;

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
    /// Ask the gateway to test `channel` with `model` through its own channel test (the
    /// gateway sends a tiny request with the channel's key; `docs/probe.md`). `Ok` carries the
    /// gateway's verdict; `Err` means the test request itself failed. Only called when
    /// [`Capabilities::channel_test`] is supported.
    async fn test_channel(
        &self,
        channel: &Channel,
        model: &str,
        timeout_ms: u64,
    ) -> Result<crate::probe::TestReply> {
        let _ = (channel, model, timeout_ms);
        Err(Error::new(
            ErrorClass::NotFound,
            "this site type has no channel test",
        ))
    }
    /// Create again the route items (Octopus group items) a write deleted from `channel`,
    /// once its models are back: only those still missing, each group's active item where the
    /// write reset it, then read back. Sites without routes never record any (`Ok` for none).
    async fn restore_routes(
        &self,
        channel: &ChannelId,
        items: &[crate::model::RouteItem],
    ) -> Result<()> {
        let _ = channel;
        if items.is_empty() {
            Ok(())
        } else {
            Err(Error::validation("this site type has no routes to restore"))
        }
    }
}

/// Everything an adapter needs from the outside world.
#[derive(Clone)]
pub struct Ctx {
    pub site: Site,
    pub transport: Rc<dyn Transport>,
    pub clock: Rc<dyn Clock>,
    /// Per-request time limit for admin API calls.
    pub timeout_ms: u64,
}

/// Whether a request to `base_url` would carry credentials over plain http to a host not shown
/// local. Fails closed: an `http://` address the `url` crate cannot read counts as insecure
/// (the browser's fetch may still read it, e.g. a non-ASCII host in the wasm build when
/// `base_url::set_idna` was not called).
fn insecure_to_send(base_url: &str) -> bool {
    match crate::base_url::BaseUrl::parse(base_url) {
        Ok(b) => b.is_insecure(),
        Err(_) => base_url
            .trim_start()
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://")),
    }
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
        if !self.site.allow_insecure && insecure_to_send(&self.site.base_url) {
            // why: see [`Site::allow_insecure`]
            return Err(Error::found(
                ErrorClass::Validation,
                RunError::InsecureRefused,
            ));
        }
        let req = if req.timeout_ms == 0 || req.timeout_ms > self.timeout_ms {
            req.timeout_ms(self.timeout_ms)
        } else {
            req
        };
        self.transport.send(req).await.map_err(|e| {
            let e: Error = e.into();
            let reason = match e.reason {
                Some(RunError::Redirected { status, location }) => Some(RunError::Redirected {
                    status,
                    location: location.map(|l: String| self.redact(&l)),
                }),
                other => other,
            };
            Error {
                message: self.redact(&e.message),
                reason,
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

/// Every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`).
pub const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one URL path segment (a DoneHub tag, say): everything but unreserved bytes.
pub fn encode_path_segment(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, NOT_UNRESERVED).to_string()
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
            // an address the check cannot read fails closed over plain http
            ("http://gw example.com", false, true),
            ("HTTP://gw example.com", false, true),
            ("http://gw example.com", true, false),
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
                assert_eq!(e.reason, Some(RunError::InsecureRefused));
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

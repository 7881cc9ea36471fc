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

    /// Send a request; transport failures become classified errors.
    pub async fn send(&self, req: Request) -> Result<Response> {
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

//! Where notifications go, and the exact HTTP request each sink gets.
//!
//! * **Webhook**: `POST url`, JSON `{"event", "site", "title", "text", "data", "sent_at_ms"}`.
//!   With a secret, header `X-Msync-Signature: sha256=<hex HMAC-SHA256(secret, body)>` (the
//!   scheme GitHub webhooks use); the receiver recomputes it over the raw body.
//! * **ntfy**: `POST <server>/` with ntfy's JSON publishing body
//!   `{"topic", "title", "message", "tags", "priority"}` (docs.ntfy.sh/publish/, "Publish as
//!   JSON"); an access token goes as `Authorization: Bearer`. The server answers the stored
//!   message as JSON (HTTP 200).
//! * **Telegram**: `POST <api_base>/bot<token>/sendMessage` with `{"chat_id", "text",
//!   "disable_web_page_preview": true}` (core.telegram.org/bots/api, "Making requests",
//!   "sendMessage"). The answer is `{"ok": true, "result": …}` or `{"ok": false, "error_code",
//!   "description"}`. `api_base` defaults to `https://api.telegram.org` and can point at a local
//!   Bot API server (or a test receiver).

use super::events::{EventKind, NotifyEvent};
use crate::error::{Error, ErrorClass, Result};
use crate::http::{Method, Request, Response};
use crate::model::Secret;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "X-Msync-Signature";
pub const TELEGRAM_API: &str = "https://api.telegram.org";
pub const NTFY_SERVER: &str = "https://ntfy.sh";
/// Notifications are short; a sink that takes longer is reported as failed.
const SEND_TIMEOUT_MS: u64 = 10_000;

/// One destination, with its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Sink {
    Webhook {
        url: String,
        /// HMAC-SHA256 key for the signature header (empty = unsigned).
        #[serde(default, skip_serializing_if = "Secret::is_empty")]
        secret: Secret,
    },
    Ntfy {
        #[serde(default = "ntfy_server")]
        server: String,
        topic: String,
        /// Access token for a protected topic (empty = none).
        #[serde(default, skip_serializing_if = "Secret::is_empty")]
        token: Secret,
    },
    Telegram {
        #[serde(default = "telegram_api")]
        api_base: String,
        bot_token: Secret,
        chat_id: String,
    },
}

fn ntfy_server() -> String {
    NTFY_SERVER.into()
}

fn telegram_api() -> String {
    TELEGRAM_API.into()
}

impl Sink {
    pub fn type_name(&self) -> &'static str {
        match self {
            Sink::Webhook { .. } => "webhook",
            Sink::Ntfy { .. } => "ntfy",
            Sink::Telegram { .. } => "telegram",
        }
    }

    /// Every secret value, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        let s = match self {
            Sink::Webhook { secret, .. } => secret,
            Sink::Ntfy { token, .. } => token,
            Sink::Telegram { bot_token, .. } => bot_token,
        };
        if s.is_empty() {
            Vec::new()
        } else {
            vec![s.expose().to_string()]
        }
    }

    /// The same sink with its secrets blanked (for pages and exports; the stored record keeps
    /// them). `has_secret` tells a page whether one is set.
    pub fn redacted(&self) -> Sink {
        let mut s = self.clone();
        match &mut s {
            Sink::Webhook { secret, .. } => *secret = Secret::default(),
            Sink::Ntfy { token, .. } => *token = Secret::default(),
            Sink::Telegram { bot_token, .. } => *bot_token = Secret::default(),
        }
        s
    }

    pub fn has_secret(&self) -> bool {
        !self.secrets().is_empty()
    }

    /// Keep `old`'s secret where this one has none (a page saves a redacted sink back).
    pub fn keep_secret_from(&mut self, old: &Sink) {
        match (self, old) {
            (Sink::Webhook { secret, .. }, Sink::Webhook { secret: o, .. })
            | (Sink::Ntfy { token: secret, .. }, Sink::Ntfy { token: o, .. })
            | (
                Sink::Telegram {
                    bot_token: secret, ..
                },
                Sink::Telegram { bot_token: o, .. },
            ) if secret.is_empty() => *secret = o.clone(),
            _ => {}
        }
    }

    /// Why this sink cannot be used (`None` when it can).
    pub fn problem(&self) -> Option<String> {
        let http = |what: &str, u: &str| {
            let ok = url::Url::parse(u.trim())
                .ok()
                .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            (!ok).then(|| format!("{what} must be an http(s) URL"))
        };
        match self {
            Sink::Webhook { url, .. } => http("the webhook URL", url),
            Sink::Ntfy { server, topic, .. } => http("the ntfy server", server).or_else(|| {
                let bad = topic.is_empty()
                    || topic.len() > 64
                    || !topic
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                // ntfy topics: `[-_A-Za-z0-9]{1,64}` (ntfy server/server.go `topicRegex`).
                bad.then(|| "the ntfy topic must be 1–64 of A–Z, a–z, 0–9, - and _".to_string())
            }),
            Sink::Telegram {
                api_base,
                bot_token,
                chat_id,
            } => http("the Telegram API base", api_base).or_else(|| {
                if bot_token.is_empty() {
                    Some("a Telegram sink needs the bot token".into())
                } else if chat_id.trim().is_empty() {
                    Some("a Telegram sink needs the chat id".into())
                } else {
                    None
                }
            }),
        }
    }

    /// Whether the sink's answer means the message was accepted.
    pub fn check(&self, resp: &Response) -> Result<()> {
        let ok_status = (200..300).contains(&resp.status);
        let detail = || {
            let body: String = resp.body.chars().take(200).collect();
            format!(
                "{} answered HTTP {}: {}",
                self.type_name(),
                resp.status,
                body.trim()
            )
        };
        if let Sink::Telegram { .. } = self {
            let v: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
            if ok_status && v.get("ok") == Some(&Value::Bool(true)) {
                return Ok(());
            }
            let desc = v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("no description");
            let class = match resp.status {
                401 | 404 => ErrorClass::Auth,
                403 => ErrorClass::Permission,
                429 => ErrorClass::RateLimited,
                400 => ErrorClass::Validation,
                _ => ErrorClass::Server,
            };
            return Err(Error::new(
                class,
                format!(
                    "Telegram refused the message (HTTP {}): {desc}",
                    resp.status
                ),
            )
            .with_status(resp.status));
        }
        if ok_status {
            return Ok(());
        }
        let class = match resp.status {
            401 => ErrorClass::Auth,
            403 => ErrorClass::Permission,
            404 => ErrorClass::NotFound,
            429 => ErrorClass::RateLimited,
            400..=499 => ErrorClass::Validation,
            _ => ErrorClass::Server,
        };
        Err(Error::new(class, detail()).with_status(resp.status))
    }
}

/// A sink with its name and choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkConfig {
    /// Unique among the sinks ("ops-telegram").
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The event kinds it receives (empty = all).
    #[serde(default)]
    pub events: Vec<EventKind>,
    /// The sites it receives events about, by name or id (empty = all).
    #[serde(default)]
    pub sites: Vec<String>,
    pub sink: Sink,
}

fn yes() -> bool {
    true
}

impl SinkConfig {
    pub fn wants(&self, event: &NotifyEvent) -> bool {
        self.enabled
            && (self.events.is_empty() || self.events.contains(&event.kind()))
            && match event.site() {
                None => true,
                Some(site) => self.sites.is_empty() || self.sites.iter().any(|s| s == site),
            }
    }
}

/// Notification settings (one set for the whole extension or `msync.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifySettings {
    pub sinks: Vec<SinkConfig>,
    /// Repeats of the same condition within this many seconds are not sent again (default
    /// 24 h; 0 = never suppress).
    pub suppress_secs: u64,
    /// Price watch: alert when an upstream price moves by more than this (per cent).
    pub price_threshold_pct: u32,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            sinks: Vec::new(),
            suppress_secs: 24 * 3600,
            price_threshold_pct: 20,
        }
    }
}

impl NotifySettings {
    /// `(field, message)` for every problem.
    pub fn issues(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, s) in self.sinks.iter().enumerate() {
            if s.name.trim().is_empty() {
                out.push((format!("sinks[{i}].name"), "a sink needs a name".into()));
            } else if self.sinks[..i].iter().any(|o| o.name == s.name) {
                out.push((
                    format!("sinks[{i}].name"),
                    format!("two sinks are named {:?}", s.name),
                ));
            }
            if s.events.contains(&EventKind::Test) {
                out.push((
                    format!("sinks[{i}].events"),
                    "test is not an event to choose (every sink can be tested)".into(),
                ));
            }
            if let Some(p) = s.sink.problem() {
                out.push((format!("sinks[{i}].sink"), p));
            }
        }
        out
    }

    /// The settings with every secret blanked.
    pub fn redacted(&self) -> NotifySettings {
        let mut s = self.clone();
        for c in &mut s.sinks {
            c.sink = c.sink.redacted();
        }
        s
    }

    /// Every secret of every sink.
    pub fn secrets(&self) -> Vec<String> {
        self.sinks.iter().flat_map(|s| s.sink.secrets()).collect()
    }
}

/// `sha256=<hex>` of HMAC-SHA256(`key`, `body`).
pub fn sign(key: &str, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The request `sink` gets for `event`.
pub fn request_for(sink: &Sink, event: &NotifyEvent, now_ms: u64) -> Result<Request> {
    if let Some(p) = sink.problem() {
        return Err(Error::validation(p));
    }
    let title = event.title();
    let text = event.to_string();
    let req = match sink {
        Sink::Webhook { url, secret } => {
            let body = json!({
                "event": event.kind(),
                "site": event.site(),
                "title": title,
                "text": text,
                "data": event,
                "sent_at_ms": now_ms,
            });
            let mut req = Request::new(Method::Post, url.trim()).json(&body);
            if !secret.is_empty() {
                let signature = sign(secret.expose(), req.body.as_deref().unwrap_or(""));
                req = req.header(SIGNATURE_HEADER, signature);
            }
            req
        }
        Sink::Ntfy {
            server,
            topic,
            token,
        } => {
            let body = json!({
                "topic": topic,
                "title": title,
                "message": text,
                "tags": [event.kind().as_str()],
                // ntfy priorities 1–5; 4 = high.
                "priority": if event.urgent() { 4 } else { 3 },
            });
            let url = format!("{}/", server.trim().trim_end_matches('/'));
            let mut req = Request::new(Method::Post, url).json(&body);
            if !token.is_empty() {
                req = req.header("Authorization", format!("Bearer {}", token.expose()));
            }
            req
        }
        Sink::Telegram {
            api_base,
            bot_token,
            chat_id,
        } => {
            let body = json!({
                "chat_id": chat_id.trim(),
                "text": format!("{title}\n\n{text}"),
                "disable_web_page_preview": true,
            });
            let url = format!(
                "{}/bot{}/sendMessage",
                api_base.trim().trim_end_matches('/'),
                bot_token.expose()
            );
            Request::new(Method::Post, url).json(&body)
        }
    };
    Ok(req.timeout_ms(SEND_TIMEOUT_MS))
}

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

use super::events::NotifyEvent;
use crate::error::{Error, ErrorClass, Result};
use crate::http::{Method, Request, Response};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub use msync_types::notify::{
    NotifySettings, Sink, SinkConfig, NTFY_SERVER, SIGNATURE_HEADER, TELEGRAM_API,
};

/// Notifications are short; a sink that takes longer is reported as failed.
const SEND_TIMEOUT_MS: u64 = 10_000;

/// Whether the sink's answer means the message was accepted.
pub fn check_answer(sink: &Sink, resp: &Response) -> Result<()> {
    let ok_status = (200..300).contains(&resp.status);
    let detail = || {
        let body: String = resp.body.chars().take(200).collect();
        format!(
            "{} answered HTTP {}: {}",
            sink.type_name(),
            resp.status,
            body.trim()
        )
    };
    if let Sink::Telegram { .. } = sink {
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
        return Err(Error::validation(p.to_string()));
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

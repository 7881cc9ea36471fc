//! A fake notification receiver on the mock's own port (127.0.0.1), for msync's notification
//! tests and the extension's "send test" e2e: the three sink shapes msync sends
//! (`crates/core/src/notify/sink.rs`), answered the way the real services answer.
//!
//! | Route | Answers like |
//! |---|---|
//! | `POST /__notify/webhook/<anything>` | a generic webhook receiver: `200 ok` |
//! | `POST /__notify/ntfy/` (JSON body with `topic`) | ntfy's JSON publishing (docs.ntfy.sh/publish/, "Publish as JSON"): `200` with the stored message `{"id","time","event":"message","topic","title","message"}`; a topic outside `[-_A-Za-z0-9]{1,64}` gets ntfy's `400 {"code":40009,"http":400,"error":"invalid request: topic invalid"}` |
//! | `POST /__notify/telegram/bot<token>/sendMessage` | the Bot API (core.telegram.org/bots/api, "Making requests"): `{"ok":true,"result":{message_id,date,chat:{id},text}}`; a token other than the expected one (when set) gets `401 {"ok":false,"error_code":401,"description":"Unauthorized"}`, an empty `chat_id` `400 … "Bad Request: chat not found"` |
//!
//! Control: `GET /__mock/notifications` (everything received, headers lower-cased),
//! `DELETE /__mock/notifications`, `POST /__mock/notify_fail {"status": 500}` (every receiver
//! route answers that status until `{"status": null}`), `POST /__mock/notify_bot_token
//! {"token": "…"}` (the only bot token accepted).

use crate::state::{Reply, Req};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One notification as received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Received {
    /// `webhook`, `ntfy` or `telegram`.
    pub kind: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The raw body (a webhook signature is checked over it).
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The receiver's state, inside the mock's state.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    pub received: Vec<Received>,
    /// Answer every receiver route with this status.
    pub fail: Option<u16>,
    /// The only Telegram bot token accepted (`None` = any).
    pub bot_token: Option<String>,
    next_id: u64,
}

fn topic_ok(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 64
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Handle a `/__notify/*` request.
pub fn handle(inbox: &mut Inbox, req: &Req) -> Reply {
    let seg = req.segments();
    let kind = match seg.get(1).copied() {
        Some("webhook") => "webhook",
        Some("ntfy") => "ntfy",
        Some("telegram") => "telegram",
        _ => return Reply::text(404, "text/plain", "404 page not found"),
    };
    if req.method != "POST" {
        return Reply::text(405, "text/plain", "405 method not allowed");
    }
    if let Some(status) = inbox.fail {
        return Reply::json(
            status,
            &json!({"ok": false, "error": "the receiver is failing on purpose"}),
        );
    }
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    inbox.next_id += 1;
    let id = inbox.next_id;
    let reply = match kind {
        "webhook" => Reply::text(200, "text/plain", "ok"),
        "ntfy" => {
            let topic = parsed.get("topic").and_then(Value::as_str).unwrap_or("");
            if !topic_ok(topic) {
                return Reply::json(
                    400,
                    &json!({"code": 40009, "http": 400, "error": "invalid request: topic invalid"}),
                );
            }
            Reply::json(
                200,
                &json!({"id": format!("mock{id:08}"), "time": 1_700_000_000u64 + id, "event": "message",
                        "topic": topic, "title": parsed.get("title"), "message": parsed.get("message")}),
            )
        }
        _ => {
            // `bot<token>` then the method.
            let token = seg.get(2).and_then(|s| s.strip_prefix("bot")).unwrap_or("");
            if seg.get(3).copied() != Some("sendMessage") {
                return Reply::json(
                    404,
                    &json!({"ok": false, "error_code": 404, "description": "Not Found"}),
                );
            }
            if inbox.bot_token.as_deref().is_some_and(|t| t != token) || token.is_empty() {
                return Reply::json(
                    401,
                    &json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
                );
            }
            let chat = parsed.get("chat_id").cloned().unwrap_or(Value::Null);
            if chat.is_null() || chat == json!("") {
                return Reply::json(
                    400,
                    &json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}),
                );
            }
            Reply::json(
                200,
                &json!({"ok": true, "result": {"message_id": id, "date": 1_700_000_000u64 + id,
                        "chat": {"id": chat}, "text": parsed.get("text")}}),
            )
        }
    };
    inbox.received.push(Received {
        kind: kind.into(),
        path: req.path.clone(),
        headers: req.headers.clone(),
        body,
    });
    reply
}

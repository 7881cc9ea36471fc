//! New API (QuantumNous/new-api, all eras) and Veloera (a 2025 fork): `gateway-apis.md` §1–2.
//!
//! Hazards handled here: both list envelopes (bare array with 0-based pages, and
//! `{items,total}` with 1-based pages), HTTP 200 + `success:false` business errors, the 2026-07
//! auth change (401/403 with `code`), wrapped upstream statuses, `"status"` rejected in PUT bodies
//! (we send a minimal body: id, models, model_mapping), and `"models":""` being ignored.

use super::{class_for_status, wrapped_status, Capabilities, ConnectionReport, Ctx, Gateway};
use crate::error::{Error, ErrorClass, Result};
use crate::http::{Method, Request, Response};
use crate::model::{Channel, ChannelId, ChannelUpdate, Mapping, Site, SiteKind};
use async_trait::async_trait;
use serde_json::{json, Value};

const PAGE_SIZE: usize = 100;
/// A hard stop for paging loops against a misbehaving server.
const MAX_PAGES: usize = 1_000;

pub struct NewApi {
    ctx: Ctx,
}

impl NewApi {
    pub fn new(ctx: Ctx) -> Self {
        NewApi { ctx }
    }

    fn user_header(&self) -> &'static str {
        match self.ctx.site.kind {
            SiteKind::Veloera => "Veloera-User",
            _ => "New-Api-User",
        }
    }

    fn request(&self, method: Method, path: &str) -> Request {
        let creds = &self.ctx.site.credentials;
        let mut req = Request::new(method, self.ctx.url(path))
            .header("Authorization", format!("Bearer {}", creds.token.expose()))
            .header("Accept", "application/json");
        if let Some(uid) = creds.user_id {
            req = req.header(self.user_header(), uid.to_string());
        }
        req
    }

    /// Send and unwrap the `{success, message, data}` envelope.
    async fn call(&self, req: Request) -> Result<Value> {
        let resp = self.ctx.send(req).await?;
        self.unwrap_envelope(&resp)
    }

    fn unwrap_envelope(&self, resp: &Response) -> Result<Value> {
        let parsed = self.ctx.parse_json(resp);
        if !(200..300).contains(&resp.status) {
            let message = parsed
                .as_ref()
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            let code = parsed
                .as_ref()
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_string));
            let class = class_for_status(resp.status).unwrap_or(ErrorClass::Server);
            let detail = match (code, message.is_empty()) {
                (Some(code), false) => format!("{code}: {message}"),
                (Some(code), true) => code,
                (None, false) => message,
                (None, true) => "no message".into(),
            };
            return Err(Error::new(
                class,
                self.ctx.redact(&format!("HTTP {}: {detail}", resp.status)),
            )
            .with_status(resp.status)
            .with_retry_after(resp.retry_after_ms()));
        }
        let v = parsed?;
        let Some(obj) = v.as_object() else {
            return Err(Error::invalid_response("response is not a JSON object"));
        };
        match obj.get("success").and_then(Value::as_bool) {
            Some(true) => Ok(obj.get("data").cloned().unwrap_or(Value::Null)),
            Some(false) => {
                let message = obj
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message");
                Err(classify_business_error(&self.ctx.redact(message)))
            }
            None => Err(Error::invalid_response(
                "response has no \"success\" field (is this a New API site?)",
            )),
        }
    }

    fn parse_channel(&self, v: &Value) -> Result<Channel> {
        let id = match v.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => return Err(Error::invalid_response("channel without an id")),
        };
        let str_field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let models = str_field("models").unwrap_or_default();
        Ok(Channel {
            id: ChannelId(id),
            name: str_field("name").unwrap_or_default(),
            enabled: v.get("status").and_then(Value::as_i64) == Some(1),
            channel_type: v.get("type").map(|t| t.to_string()).unwrap_or_default(),
            upstream_base_url: str_field("base_url").filter(|s| !s.trim().is_empty()),
            models: split_models(&models),
            mapping: Mapping::from_json_text(v.get("model_mapping").and_then(Value::as_str)),
            tag: str_field("tag").filter(|s| !s.is_empty()),
        })
    }

    fn parse_channels(&self, items: &[Value]) -> Result<Vec<Channel>> {
        items.iter().map(|v| self.parse_channel(v)).collect()
    }
}

/// Split the comma-separated `models` field the way the server does (`GetModels`).
pub fn split_models(text: &str) -> Vec<String> {
    text.trim_matches(',')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Classify a `success:false` message. Never relies on one language: the server answers in
/// Chinese before 2026-04 and English (or Chinese by request) after.
pub fn classify_business_error(message: &str) -> Error {
    let lower = message.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&["权限不足", "insufficient privileges", "permission"]) {
        return Error::new(ErrorClass::Permission, message).not_retryable();
    }
    if has(&[
        "access token",
        "未登录",
        "new-api-user",
        "veloera-user",
        "unauthorized",
        "无权进行此操作",
        "封禁",
        "banned",
    ]) {
        return Error::new(ErrorClass::Auth, message).not_retryable();
    }
    if has(&["record not found", "not found"]) {
        return Error::new(ErrorClass::NotFound, message).not_retryable();
    }
    if has(&[
        "获取模型列表失败",
        "解析响应失败",
        "status code",
        "failed to fetch models",
    ]) {
        let mut e = Error::new(ErrorClass::Upstream, message);
        if let Some(status) = wrapped_status(message) {
            e = e.with_status(status);
        }
        return e;
    }
    if has(&[
        "invalid parameters",
        "无效的参数",
        "invalid request",
        "strconv",
    ]) {
        return Error::new(ErrorClass::Validation, message).not_retryable();
    }
    Error::new(ErrorClass::Server, message).not_retryable()
}

#[async_trait(?Send)]
impl Gateway for NewApi {
    fn site(&self) -> &Site {
        &self.ctx.site
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            model_mapping: true,
            ratio_sync: self.ctx.site.kind == SiteKind::NewApi,
            aliases_must_be_listed: true,
        }
    }

    async fn test_connection(&self) -> Result<ConnectionReport> {
        let started = self.ctx.clock.now_ms();
        let mut report = ConnectionReport::default();
        // /api/status needs no auth: it tells reachability and the version.
        let status = self
            .ctx
            .send(Request::new(Method::Get, self.ctx.url("/api/status")))
            .await?;
        report.reachable = true;
        if let Ok(v) = self.unwrap_envelope(&status) {
            report.version = v.get("version").and_then(Value::as_str).map(str::to_string);
        }
        let channels = self.list_channels().await?;
        report.authenticated = true;
        report.admin = true;
        report.channel_count = Some(channels.len());
        report.round_trip_ms = self.ctx.clock.now_ms().saturating_sub(started);
        // Root is needed for ratio sync; /api/option/ answers only to root.
        if self.ctx.site.kind == SiteKind::NewApi {
            report.root = Some(
                self.call(self.request(Method::Get, "/api/option/"))
                    .await
                    .is_ok(),
            );
        }
        Ok(report)
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        let mut out: Vec<Channel> = Vec::new();
        // Try the current 1-based envelope first; a bare array means the old 0-based format.
        let mut page = 1usize;
        let mut zero_based = false;
        for _ in 0..MAX_PAGES {
            let p = if zero_based { page - 1 } else { page };
            let path =
                format!("/api/channel/?p={p}&page_size={PAGE_SIZE}&id_sort=true&tag_mode=false");
            let data = self.call(self.request(Method::Get, &path)).await?;
            match data {
                Value::Object(obj) => {
                    let items = obj
                        .get("items")
                        .and_then(Value::as_array)
                        .ok_or_else(|| Error::invalid_response("channel list without items"))?;
                    let total = obj.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
                    out.extend(self.parse_channels(items)?);
                    if items.is_empty() || out.len() >= total {
                        return Ok(dedup_channels(out));
                    }
                }
                Value::Array(items) => {
                    if page == 1 && !zero_based {
                        // Old servers read p as 0-based: our p=1 skipped the first page.
                        zero_based = true;
                        continue;
                    }
                    let n = items.len();
                    out.extend(self.parse_channels(&items)?);
                    if n < PAGE_SIZE {
                        return Ok(dedup_channels(out));
                    }
                }
                Value::Null => return Ok(dedup_channels(out)),
                _ => {
                    return Err(Error::invalid_response(
                        "channel list has an unexpected shape",
                    ))
                }
            }
            page += 1;
        }
        Err(Error::invalid_response(
            "channel list did not end after 1000 pages",
        ))
    }

    async fn get_channel(&self, id: &ChannelId) -> Result<Channel> {
        let data = self
            .call(self.request(Method::Get, &format!("/api/channel/{}", id.0)))
            .await?;
        self.parse_channel(&data)
    }

    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>> {
        let path = format!("/api/channel/fetch_models/{}", channel.id.0);
        let data = self.call(self.request(Method::Get, &path)).await?;
        match data {
            // 2025 builds answer `null` for an empty upstream list.
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    Value::Object(o) => o
                        .get("id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| Error::invalid_response("model entry without id")),
                    other => Err(Error::invalid_response(format!(
                        "model list entry is not a string: {other}"
                    ))),
                })
                .collect(),
            _ => Err(Error::invalid_response("model list is not an array")),
        }
    }

    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel> {
        let id: i64 =
            channel.id.0.parse().map_err(|_| {
                Error::validation(format!("channel id {} is not a number", channel.id))
            })?;
        // Minimal body: never echo the GET object (`status` is rejected since 2026-06-27 and
        // stale read-only fields were written back by 2025 builds).
        let mut body = json!({ "id": id });
        if let Some(models) = &update.models {
            if models.is_empty() {
                // `"models":""` is silently ignored by the server: refuse instead of lying.
                return Err(Error::validation(
                    "New API cannot store an empty model list (the server ignores it)",
                ));
            }
            body["models"] = Value::String(models.join(","));
        }
        if let Some(pairs) = &update.mapping {
            body["model_mapping"] = Value::String(Mapping::to_json_text(pairs));
        }
        let data = self
            .call(self.request(Method::Put, "/api/channel/").json(&body))
            .await?;
        if data.is_object() {
            self.parse_channel(&data)
        } else {
            self.get_channel(&channel.id).await
        }
    }
}

/// Unstable ordering on the server can repeat a channel across pages; keep the first.
fn dedup_channels(channels: Vec<Channel>) -> Vec<Channel> {
    let mut seen = std::collections::HashSet::new();
    channels
        .into_iter()
        .filter(|c| seen.insert(c.id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_errors_are_classified_in_both_languages() {
        let rows = [
            ("无权进行此操作，access token 无效", ErrorClass::Auth),
            ("Unauthorized, invalid access token", ErrorClass::Auth),
            ("无权进行此操作，权限不足", ErrorClass::Permission),
            (
                "Unauthorized, insufficient privileges",
                ErrorClass::Permission,
            ),
            ("record not found", ErrorClass::NotFound),
            ("获取模型列表失败: status code: 401", ErrorClass::Upstream),
            ("Invalid parameters", ErrorClass::Validation),
            ("数据库错误", ErrorClass::Server),
        ];
        for (msg, class) in rows {
            assert_eq!(classify_business_error(msg).class, class, "{msg}");
        }
        let e = classify_business_error("获取模型列表失败: status code: 401");
        assert_eq!(e.http_status, Some(401));
        assert!(!e.retryable, "an upstream 401 will not heal by retrying");
        assert!(classify_business_error("status code: 502").retryable);
    }

    #[test]
    fn models_split_like_the_server() {
        assert_eq!(split_models(",a, b,,c,"), vec!["a", "b", "c"]);
        assert!(split_models("").is_empty());
    }
}

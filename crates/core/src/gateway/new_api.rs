//! New API (QuantumNous/new-api, all eras) and Veloera (a 2025 fork): `docs/admin-apis.md` §1–2.
//!
//! Hazards handled here: both list envelopes (bare array with 0-based pages, and
//! `{items,total}` with 1-based pages), HTTP 200 + `success:false` business errors, the 2026-07
//! auth change (401/403 with `code`), wrapped upstream statuses, `"status"` rejected in PUT bodies
//! (we send a minimal body: id, models, model_mapping), and `"models":""` being ignored.

use super::{
    class_for_status, wrapped_status, Capabilities, ConnectionReport, Ctx, Gateway, ModelListFormat,
};
use crate::error::{Error, ErrorClass, Result};
use crate::filter::normalize;
use crate::http::{Method, Request, Response};
use crate::model::{
    AutoSync, Channel, ChannelId, ChannelUpdate, GatewayRules, Mapping, ModelPattern, Secret, Site,
    SiteKind,
};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::cell::Cell;

const PAGE_SIZE: usize = 100;
/// A hard stop for paging loops against a misbehaving server (100 000 channels).
pub(super) const MAX_PAGES: usize = 1_000;

/// Which list envelope the server answered with (told apart by `data` being an array or object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListFormat {
    /// 2025-06-12 and later: `{items,total,page,page_size}`, `p` 1-based.
    Paged,
    /// Before 2025-06-12 and Veloera: a bare array, `p` 0-based.
    BareArray,
}

pub struct NewApi {
    ctx: Ctx,
    format: Cell<Option<ListFormat>>,
}

impl NewApi {
    pub fn new(ctx: Ctx) -> Self {
        NewApi {
            ctx,
            format: Cell::new(None),
        }
    }

    fn request(&self, method: Method, path: &str) -> Request {
        admin_request(&self.ctx, method, path)
    }

    /// Send and unwrap the `{success, message, data}` envelope.
    async fn call(&self, req: Request) -> Result<Value> {
        let resp = self.ctx.send(req).await?;
        unwrap_envelope(&self.ctx, &resp)
    }

    fn parse_channels(&self, items: &[Value]) -> Result<Vec<Channel>> {
        items.iter().map(parse_channel).collect()
    }

    async fn list_page(&self, p: usize) -> Result<Value> {
        let path = format!("/api/channel/?p={p}&page_size={PAGE_SIZE}&id_sort=true&tag_mode=false");
        self.call(self.request(Method::Get, &path)).await
    }
}

/// An authenticated admin request. Both headers on every call: `Authorization` works in every
/// era; the user-id header is required from 2024-07 to 2026-07 and ignored after (era B), so it
/// never hurts. (Shared with the ratio sync calls in `new_api_ratio`.)
pub(super) fn admin_request(ctx: &Ctx, method: Method, path: &str) -> Request {
    let creds = &ctx.site.credentials;
    let token = creds.token().map(Secret::expose).unwrap_or_default();
    let mut req = Request::new(method, ctx.url(path))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json");
    if let Some(uid) = creds.user_id() {
        let name = match ctx.site.kind {
            SiteKind::Veloera => "Veloera-User",
            _ => "New-Api-User",
        };
        req = req.header(name, uid.to_string());
    }
    req
}

/// Unwrap a New API family envelope (`{success, message, data}`; also used by DoneHub).
///
/// Non-2xx answers are classified by status and, since New API 2026-07, by their `code`
/// (`AUTH_*`); a wrapped upstream status in the message becomes `http_status`. HTTP 200 with
/// `success:false` is a business error classified by [`classify_business_error`].
/// `GET /api/status` needs no auth: answering proves the site is reachable, and it tells the
/// version (when the envelope is readable).
pub(super) async fn status_version(ctx: &Ctx) -> Result<Option<String>> {
    let status = ctx
        .send(Request::new(Method::Get, ctx.url("/api/status")))
        .await?;
    Ok(unwrap_envelope(ctx, &status).ok().and_then(|v| {
        v.get("version")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }))
}

/// Reading `/api/option/` is allowed to root only: the probe's outcome says whether the
/// token is root (`None` when the probe failed for another reason).
pub(super) fn root_from<T>(probe: Result<T>) -> Option<bool> {
    match probe {
        Ok(_) => Some(true),
        Err(e) if matches!(e.class, ErrorClass::Permission | ErrorClass::Auth) => Some(false),
        Err(_) => None,
    }
}

pub(super) fn unwrap_envelope(ctx: &Ctx, resp: &Response) -> Result<Value> {
    let parsed = ctx.parse_json(resp);
    if !(200..300).contains(&resp.status) {
        let field = |k: &str| {
            parsed
                .as_ref()
                .ok()
                .and_then(|v| v.get(k).and_then(Value::as_str).map(str::to_string))
        };
        let message = ctx.redact(&field("message").unwrap_or_default());
        let code = field("code");
        let detail = match (&code, message.is_empty()) {
            (Some(code), false) => format!("{code}: {message}"),
            (Some(code), true) => code.clone(),
            (None, false) => message.clone(),
            (None, true) if parsed.is_err() && !resp.body.trim().is_empty() => {
                // Not JSON at all (an HTML error page): say so, without echoing the page.
                return Err(ctx.status_error(resp, "not a JSON answer"));
            }
            (None, true) => "no message".into(),
        };
        let mut class = class_for_status(resp.status).unwrap_or(ErrorClass::Server);
        let mut status = resp.status;
        match code.as_deref() {
            Some("AUTH_INSUFFICIENT_PRIVILEGE") => class = ErrorClass::Permission,
            Some("AUTH_INTERNAL_ERROR") => class = ErrorClass::Server,
            Some(c) if c.starts_with("AUTH_") => class = ErrorClass::Auth,
            Some("channel_not_found") => class = ErrorClass::NotFound,
            Some("fetch_models_failed") => class = ErrorClass::Upstream,
            _ => {}
        }
        if matches!(class, ErrorClass::Server | ErrorClass::Upstream) {
            let business = classify_business_error(&message);
            if business.class == ErrorClass::Upstream {
                class = ErrorClass::Upstream;
                status = business.http_status.unwrap_or(status);
            }
        }
        let e = Error::new(
            class,
            ctx.redact(&format!("HTTP {}: {detail}", resp.status)),
        )
        .with_status(status)
        .with_retry_after(resp.retry_after_ms());
        return Err(e);
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
                .filter(|m| !m.trim().is_empty())
                .unwrap_or("no message");
            Err(classify_business_error(&ctx.redact(message)))
        }
        None => Err(Error::invalid_response(
            "response has no \"success\" field (is this the right site type?)",
        )),
    }
}

/// A New API / Veloera / DoneHub channel object → a core [`Channel`].
pub(super) fn parse_channel(v: &Value) -> Result<Channel> {
    let id = match v.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(Error::invalid_response("channel without an id")),
    };
    let str_field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let models = str_field("models").unwrap_or_default();
    let mapping = match v.get("model_mapping") {
        None | Some(Value::Null) => Mapping::Empty,
        Some(Value::String(s)) => Mapping::from_json_text(Some(s)),
        // Never seen on the wire, but an object is readable; anything else is kept as invalid.
        Some(Value::Object(_)) => Mapping::from_json_text(Some(&v["model_mapping"].to_string())),
        Some(other) => Mapping::Invalid {
            raw: other.to_string(),
            error: "model_mapping is neither a string nor an object".into(),
        },
    };
    Ok(Channel {
        id: ChannelId(id),
        name: str_field("name").unwrap_or_default(),
        enabled: v.get("status").and_then(Value::as_i64) == Some(1),
        channel_type: v.get("type").map(|t| t.to_string()).unwrap_or_default(),
        upstream_base_url: str_field("base_url").filter(|s| !s.trim().is_empty()),
        models: split_models(&models),
        mapping,
        tag: str_field("tag").filter(|s| !s.is_empty()),
        rules: upstream_update_rules(v.get("settings")),
    })
}

/// New API's own upstream model update detection, from the channel's `settings` JSON
/// (`dto/channel_settings.go` `ChannelOtherSettings`; `controller/channel_upstream_update.go`):
/// with `upstream_model_update_check_enabled` and `upstream_model_update_auto_sync_enabled` the
/// gateway adds new upstream models by itself every 30 minutes; names in
/// `upstream_model_update_ignored_models` (plain names, or `regex:` + a Go regular expression
/// matched anywhere in the name) are never added by it, and msync does not add them either.
fn upstream_update_rules(settings: Option<&Value>) -> GatewayRules {
    let parsed = match settings {
        Some(Value::String(s)) if !s.trim().is_empty() => serde_json::from_str(s).ok(),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let Some(Value::Object(o)) = parsed else {
        return GatewayRules::default();
    };
    let on = |k: &str| o.get(k).and_then(Value::as_bool) == Some(true);
    let ignored = o
        .get("upstream_model_update_ignored_models")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| match s.strip_prefix("regex:") {
                    Some(r) => ModelPattern::Regex(format!(".*(?:{}).*", r.trim())),
                    None => ModelPattern::Exact(s.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    GatewayRules {
        ignored,
        auto_sync: (on("upstream_model_update_check_enabled")
            && on("upstream_model_update_auto_sync_enabled"))
        .then_some(AutoSync::NewApi),
        ..GatewayRules::default()
    }
}

/// A model list from `fetch_models`: `null` (2025 builds, empty) or an array of ids.
pub(super) fn parse_model_list(data: Value) -> Result<Vec<String>> {
    match data {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for v in items {
                match v {
                    Value::String(s) => out.push(s),
                    Value::Object(o) => out.push(
                        o.get("id")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .ok_or_else(|| Error::invalid_response("model entry without id"))?,
                    ),
                    Value::Null => {}
                    other => {
                        return Err(Error::invalid_response(format!(
                            "model list entry is not a string: {}",
                            truncate(&other.to_string(), 80)
                        )))
                    }
                }
            }
            Ok(normalize(out))
        }
        _ => Err(Error::invalid_response("model list is not an array")),
    }
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Split the comma-separated `models` field the way the server does (`GetModels`: outer commas
/// trimmed, split on `,`, names kept as they are); empty names are dropped.
pub fn split_models(text: &str) -> Vec<String> {
    ModelListFormat::CommaJoined.split(text)
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
        "会话无效",
        "用户校验失败",
        "用户信息无效",
        "invalid user",
        "not logged in",
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
        "failed to parse models",
        "upstream",
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

/// A business error (HTTP 200, `success:false`) from a fetch-models endpoint. These endpoints
/// pass the upstream's own error text through (New API `controller/channel.go` `FetchModels`,
/// DoneHub `provider_models_list`), and an upstream's "Unauthorized", "insufficient
/// permissions" or "User not found." is about the channel's key, not the admin's token. Only
/// the gateway's own phrases (its auth middleware, its record lookup, its argument checks) keep
/// their class; everything else is the upstream's.
pub(super) fn classify_fetch_business_error(e: Error) -> Error {
    if e.http_status.is_some()
        || !matches!(
            e.class,
            ErrorClass::Auth | ErrorClass::Permission | ErrorClass::NotFound
        )
    {
        return e;
    }
    let lower = e.message.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let gateway_own = match e.class {
        // `middleware/auth.go`: every refusal names the token, the user header or the session,
        // and its English texts (i18n) all read "Unauthorized, …".
        ErrorClass::Auth | ErrorClass::Permission => {
            lower.starts_with("unauthorized, ")
                || has(&[
                    "access token",
                    "new-api-user",
                    "veloera-user",
                    "无权进行此操作",
                    "未登录",
                    "权限不足",
                    "用户信息无效",
                    "用户校验失败",
                    "会话无效",
                    "封禁",
                ])
        }
        // gorm's "record not found" for the channel id.
        _ => lower.contains("record not found"),
    };
    if gateway_own {
        return e;
    }
    let mut out = Error::new(ErrorClass::Upstream, e.message);
    out.retry_after_ms = e.retry_after_ms;
    out
}

#[async_trait(?Send)]
impl Gateway for NewApi {
    fn site(&self) -> &Site {
        &self.ctx.site
    }

    fn capabilities(&self) -> Capabilities {
        super::capabilities(self.ctx.site.kind)
    }

    async fn test_connection(&self) -> Result<ConnectionReport> {
        let started = self.ctx.clock.now_ms();
        let mut report = ConnectionReport {
            version: status_version(&self.ctx).await?,
            reachable: true,
            ..Default::default()
        };
        // Listing channels needs admin rights: success proves both.
        let channels = self.list_channels().await?;
        report.authenticated = true;
        report.admin = true;
        report.channel_count = Some(channels.len());
        report.root = root_from(self.call(self.request(Method::Get, "/api/option/")).await);
        let era = match self.format.get() {
            Some(ListFormat::Paged) => "paged list envelope (2025-06 or later)",
            Some(ListFormat::BareArray) => "bare-array list envelope (before 2025-06)",
            None => "list envelope unknown",
        };
        report.flavour_hint = Some(format!("{}: {era}", self.ctx.site.kind.label()));
        report.round_trip_ms = self.ctx.clock.now_ms().saturating_sub(started);
        Ok(report)
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        let mut out: Vec<Channel> = Vec::new();
        // New API: try the current 1-based envelope; a bare array means the old 0-based format
        // (and our p=1 skipped its first page, so start again at 0). Veloera is always old.
        let mut format = match self.ctx.site.kind {
            SiteKind::Veloera => Some(ListFormat::BareArray),
            _ => self.format.get(),
        };
        let mut page = 0usize; // pages read so far
        let mut seen_raw = 0usize;
        for _ in 0..MAX_PAGES + 1 {
            let p = match format {
                Some(ListFormat::BareArray) => page,
                _ => page + 1,
            };
            let data = self.list_page(p).await?;
            match data {
                Value::Object(obj) => {
                    self.format.set(Some(ListFormat::Paged));
                    format = Some(ListFormat::Paged);
                    let items = match obj.get("items") {
                        Some(Value::Array(items)) => items.as_slice(),
                        None | Some(Value::Null) => &[],
                        Some(_) => {
                            return Err(Error::invalid_response("channel list items is not a list"))
                        }
                    };
                    let total = obj.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
                    seen_raw += items.len();
                    out.extend(self.parse_channels(items)?);
                    if items.is_empty() || seen_raw >= total {
                        return Ok(dedup_channels(out));
                    }
                }
                Value::Array(items) => {
                    if format != Some(ListFormat::BareArray) {
                        format = Some(ListFormat::BareArray);
                        self.format.set(format);
                        if page == 0 {
                            continue; // re-read from p=0
                        }
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
            if page >= MAX_PAGES {
                break;
            }
        }
        Err(Error::invalid_response(format!(
            "channel list did not end after {MAX_PAGES} pages"
        )))
    }

    async fn get_channel(&self, id: &ChannelId) -> Result<Channel> {
        let id = numeric_id(id)?;
        let data = self
            .call(self.request(Method::Get, &format!("/api/channel/{id}")))
            .await?;
        if data.is_null() {
            return Err(Error::new(
                ErrorClass::NotFound,
                format!("channel {id} not found"),
            ));
        }
        parse_channel(&data)
    }

    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>> {
        let id = numeric_id(&channel.id)?;
        let path = format!("/api/channel/fetch_models/{id}");
        let data = self
            .call(self.request(Method::Get, &path))
            .await
            .map_err(classify_fetch_business_error)?;
        // An entry is quoted into the error: it came from the server, so it is redacted.
        parse_model_list(data).map_err(|e| Error {
            message: self.ctx.redact(&e.message),
            ..e
        })
    }

    /// New API and Veloera price a model in the `ModelRatio` or `ModelPrice` option
    /// (QuantumNous/new-api `setting/ratio_setting/model_ratio.go`, Veloera
    /// `setting/model_ratio.go`; a model in neither is refused at relay time unless self-use mode
    /// is on: new-api `relay/helper/price.go` `ModelPriceHelper`). Read with `GET /api/option/`
    /// (root).
    async fn read_prices(&self) -> Result<Option<crate::pricing::PriceBook>> {
        let items = super::new_api_ratio::read_options(&self.ctx).await?;
        crate::pricing::PriceBook::from_options(&items).map(Some)
    }

    /// Only New API has `/api/ratio_sync` (Veloera forked before it came).
    fn ratio_sync(
        &self,
        store: std::rc::Rc<dyn crate::store::KvStore>,
    ) -> Option<Result<crate::ratio::RatioSync>> {
        (self.ctx.site.kind == SiteKind::NewApi)
            .then(|| crate::ratio::RatioSync::new(self.ctx.clone(), store))
    }

    async fn test_channel(
        &self,
        channel: &Channel,
        model: &str,
        timeout_ms: u64,
    ) -> Result<crate::probe::TestReply> {
        let req = self
            .request(Method::Get, &channel_test_path(channel, model)?)
            .timeout_ms(timeout_ms);
        channel_test(&self.ctx, req, None).await
    }

    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel> {
        let id = numeric_id(&channel.id)?;
        if update.is_empty() {
            return self.get_channel(&channel.id).await;
        }
        // Minimal body: never echo the GET object (`status` is rejected since 2026-06-27 and
        // stale read-only fields were written back by 2025 builds).
        let mut body = json!({ "id": id });
        if let Some(models) = &update.models {
            // Names are written as given (a revert writes back what it read); a name with a
            // comma is refused before anything is sent.
            let models = ModelListFormat::CommaJoined.join(models)?;
            if models.is_empty() {
                // `"models":""` is silently ignored by the server: refuse instead of lying.
                return Err(Error::validation(format!(
                    "{} cannot store an empty model list (the server ignores it)",
                    self.ctx.site.kind.label()
                )));
            }
            body["models"] = Value::String(models);
        }
        if let Some(pairs) = &update.mapping {
            // A pointer field: `""` clears the mapping, present values are always written.
            body["model_mapping"] = Value::String(Mapping::to_json_text(pairs));
        }
        let data = self
            .call(self.request(Method::Put, "/api/channel/").json(&body))
            .await?;
        if data.is_object() {
            parse_channel(&data)
        } else {
            self.get_channel(&channel.id).await
        }
    }
}

/// The channel test's path in the New API family (New API, Veloera, DoneHub).
pub(super) fn channel_test_path(channel: &Channel, model: &str) -> Result<String> {
    let id = numeric_id(&channel.id)?;
    Ok(format!(
        "/api/channel/test/{id}?model={}",
        super::encode_path_segment(model)
    ))
}

/// Ask a New API family gateway (New API, Veloera, DoneHub) to test one model on a channel.
pub(super) async fn channel_test(
    ctx: &Ctx,
    req: Request,
    disabled_marker: Option<&str>,
) -> Result<crate::probe::TestReply> {
    let resp = ctx.send(req).await?;
    read_channel_test(ctx, &resp, disabled_marker)
}

/// Read a channel test answer. Every verdict is HTTP 200 with `success` and `time` (seconds);
/// New API adds `error_code` on failure. An answer without `time` is not a verdict but a failed
/// request (bad id, `record not found`, auth middleware): an error like any other call's.
/// `disabled_marker` is DoneHub's "the channel was disabled" wording.
pub(super) fn read_channel_test(
    ctx: &Ctx,
    resp: &Response,
    disabled_marker: Option<&str>,
) -> Result<crate::probe::TestReply> {
    if resp.status == 404 && !resp.body.trim_start().starts_with('{') {
        // gin's NoRoute: this build has no test route.
        return Err(
            Error::new(ErrorClass::NotFound, "no channel test route (HTTP 404)").with_status(404),
        );
    }
    let v = ctx.parse_json(resp);
    let time = v.as_ref().ok().and_then(|v| v.get("time")).cloned();
    if !(200..300).contains(&resp.status) || time.is_none() {
        // Not a verdict: the same errors as any admin call.
        unwrap_envelope(ctx, resp)?;
        return Err(Error::invalid_response(
            "channel test answered without \"time\" (is this the right site type?)",
        ));
    }
    let v = v?;
    let Some(passed) = v.get("success").and_then(Value::as_bool) else {
        return Err(Error::invalid_response(
            "channel test answered without \"success\"",
        ));
    };
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .map(|m| ctx.redact(&truncate(m, 500)));
    let response_ms = time
        .as_ref()
        .and_then(Value::as_f64)
        .filter(|t| *t > 0.0 && t.is_finite())
        .map(|t| (t * 1000.0).round() as u64);
    let channel_disabled = !passed
        && disabled_marker.is_some_and(|mk| message.as_deref().is_some_and(|m| m.contains(mk)));
    Ok(crate::probe::TestReply {
        passed,
        answer: crate::probe::ProbeAnswer {
            http_status: resp.status,
            message,
            response_ms,
            error_code: v
                .get("error_code")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            channel_disabled,
        },
    })
}

/// New API family ids are integers; refuse anything else before building a URL with it.
pub(super) fn numeric_id(id: &ChannelId) -> Result<i64> {
    id.0.trim()
        .parse()
        .map_err(|_| Error::validation(format!("channel id {:?} is not a number", id.0)))
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
        // `GetModels` trims outer commas and splits on `,` only: spaces belong to the name.
        assert_eq!(split_models(",a, b,,c,"), vec!["a", " b", "c"]);
        assert!(split_models("").is_empty());
    }
}

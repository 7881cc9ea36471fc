//! DoneHub (deanxv/done-hub, a one-hub fork): `docs/admin-apis.md` §3.
//!
//! Hazards handled here:
//! * **Full-object PUT.** A PUT whose `models` is non-empty writes *every* column, zero values
//!   included, so a partial body would wipe the key, name, base URL… We always read the channel
//!   fresh (`GET /api/channel/:id`, the whole row, key included), change only `models` /
//!   `model_mapping`, and PUT the whole object back. A mapping-only change is sent as
//!   `{id, model_mapping}` (that path skips zero values and touches nothing else).
//! * **Tag folding.** The list shows one representative per tag; members are expanded through
//!   `/api/channel_tag/:tag/list`. Gin routes on the decoded path, so a tag with `/` cannot be
//!   expanded (404): its representative is kept and the other members are not listed.
//! * Mapping values may start with `+` (DoneHub's "append" marker); they are kept verbatim.

use super::new_api::{
    channel_test, channel_test_path, classify_fetch_business_error, numeric_id, parse_channel,
    parse_model_list, root_from, status_version, unwrap_envelope, MAX_PAGES,
};
use super::{encode_path_segment, Capabilities, ConnectionReport, Ctx, Gateway, ModelListFormat};
use crate::error::{Error, ErrorClass, Result};
use crate::http::{Method, Request};
use crate::model::{Channel, ChannelId, ChannelUpdate, Mapping, Secret, Site};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// DoneHub refuses `size` above 100.
const PAGE_SIZE: usize = 100;
pub struct DoneHub {
    ctx: Ctx,
    /// Channels as [`Gateway::get_channel`] last read them (keys included; memory only). The
    /// engine compare-reads a channel right before writing it; the full-object PUT takes that
    /// read instead of reading the channel a second time. Each is taken once (a retried write
    /// reads again); a new listing clears them.
    just_read: RefCell<HashMap<i64, Value>>,
}

impl DoneHub {
    pub fn new(ctx: Ctx) -> Self {
        DoneHub {
            ctx,
            just_read: RefCell::new(HashMap::new()),
        }
    }

    fn request(&self, method: Method, path: &str) -> Request {
        Request::new(method, self.ctx.url(path))
            .header(
                "Authorization",
                format!(
                    "Bearer {}",
                    (self.ctx.site.credentials.token())
                        .map(Secret::expose)
                        .unwrap_or_default()
                ),
            )
            .header("Accept", "application/json")
    }

    async fn call(&self, req: Request) -> Result<Value> {
        let resp = self.ctx.send(req).await?;
        unwrap_envelope(&self.ctx, &resp)
    }

    /// Like [`DoneHub::call`], but a channel key read back from the server is also redacted
    /// from any error (the GET/PUT answers carry it in plaintext).
    async fn call_with_key(&self, req: Request, key: &str) -> Result<Value> {
        let extra = [key.to_string()];
        self.call(req).await.map_err(|e| Error {
            message: self.ctx.redact_with(&e.message, &extra),
            ..e
        })
    }

    /// Every row of a paged `DataResult` listing (`data.data`, `data.total_count`).
    async fn list_pages(&self, base_path: &str) -> Result<Vec<Value>> {
        let mut rows = Vec::new();
        for page in 1..=MAX_PAGES {
            let sep = if base_path.contains('?') { '&' } else { '?' };
            let path = format!("{base_path}{sep}page={page}&size={PAGE_SIZE}");
            let data = self.call(self.request(Method::Get, &path)).await?;
            let (items, total) = match &data {
                Value::Object(obj) => {
                    let items = match obj.get("data") {
                        Some(Value::Array(a)) => a.clone(),
                        None | Some(Value::Null) => Vec::new(),
                        Some(_) => {
                            return Err(Error::invalid_response("channel list data is not a list"))
                        }
                    };
                    let total = obj
                        .get("total_count")
                        .and_then(Value::as_u64)
                        .map(|t| t as usize);
                    (items, total)
                }
                Value::Array(a) => (a.clone(), None),
                Value::Null => (Vec::new(), Some(0)),
                _ => {
                    return Err(Error::invalid_response(
                        "channel list has an unexpected shape",
                    ))
                }
            };
            let n = items.len();
            rows.extend(items);
            let done = match total {
                Some(total) => n == 0 || rows.len() >= total,
                None => n < PAGE_SIZE,
            };
            if done {
                return Ok(rows);
            }
        }
        Err(Error::invalid_response(format!(
            "channel list did not end after {MAX_PAGES} pages"
        )))
    }

    /// The stored channel, whole, as the server sent it (key included).
    async fn get_raw(&self, id: i64) -> Result<Value> {
        let data = self
            .call(self.request(Method::Get, &format!("/api/channel/{id}")))
            .await?;
        match data {
            Value::Object(_) => Ok(data),
            Value::Null => Err(Error::new(
                ErrorClass::NotFound,
                format!("channel {id} not found"),
            )),
            _ => Err(Error::invalid_response("channel is not a JSON object")),
        }
    }
}

/// The start of DoneHub's message when the test disabled the channel.
const DISABLED_MARKER: &str = "已被禁用";

#[async_trait(?Send)]
impl Gateway for DoneHub {
    fn site(&self) -> &Site {
        &self.ctx.site
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::DONE_HUB
    }

    async fn test_connection(&self) -> Result<ConnectionReport> {
        let started = self.ctx.clock.now_ms();
        let mut report = ConnectionReport {
            version: status_version(&self.ctx).await?,
            reachable: true,
            ..Default::default()
        };
        let channels = self.list_channels().await?;
        report.authenticated = true;
        report.admin = true;
        report.channel_count = Some(channels.len());
        report.root = root_from(self.call(self.request(Method::Get, "/api/option/")).await);
        report.flavour_hint = Some("DoneHub (one-hub family)".into());
        report.round_trip_ms = self.ctx.clock.now_ms().saturating_sub(started);
        Ok(report)
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        self.just_read.borrow_mut().clear();
        let rows = self.list_pages("/api/channel/").await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut seen: HashSet<ChannelId> = HashSet::new();
        let mut expanded_tags: HashSet<String> = HashSet::new();
        for row in &rows {
            let ch = parse_channel(row)?;
            match ch.tag.clone() {
                // A tag representative: list every member of the tag instead (once per tag).
                Some(tag) => {
                    if !expanded_tags.insert(tag.clone()) {
                        continue;
                    }
                    let path = format!("/api/channel_tag/{}/list", encode_path_segment(&tag));
                    // Gin routes on the decoded path: a tag holding `/` (or one the route
                    // cannot carry) answers 404. The representative row is a real channel of
                    // the tag; the listing goes on with it rather than failing as a whole.
                    let members = match self.list_pages(&path).await {
                        Ok(m) => m,
                        Err(e) if e.class == ErrorClass::NotFound => Vec::new(),
                        Err(e) => return Err(e),
                    };
                    let mut any = false;
                    for m in &members {
                        let mc = parse_channel(m)?;
                        any = true;
                        if seen.insert(mc.id.clone()) {
                            out.push(mc);
                        }
                    }
                    if !any && seen.insert(ch.id.clone()) {
                        out.push(ch);
                    }
                }
                None => {
                    if seen.insert(ch.id.clone()) {
                        out.push(ch);
                    }
                }
            }
        }
        Ok(out)
    }

    async fn get_channel(&self, id: &ChannelId) -> Result<Channel> {
        let id = numeric_id(id)?;
        let raw = self.get_raw(id).await?;
        let channel = parse_channel(&raw)?;
        self.just_read.borrow_mut().insert(id, raw);
        Ok(channel)
    }

    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>> {
        let id = numeric_id(&channel.id)?;
        // `{"id":N}` with no key: the server loads the stored channel (and its key).
        let req = self
            .request(Method::Post, "/api/channel/provider_models_list")
            .json(&json!({ "id": id }));
        match self.call(req).await {
            Ok(data) => parse_model_list(data).map_err(|e| Error {
                message: self.ctx.redact(&e.message),
                ..e
            }),
            Err(e) => Err(classify_fetch_error(classify_fetch_business_error(e))),
        }
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
        channel_test(&self.ctx, req, Some(DISABLED_MARKER)).await
    }

    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel> {
        let id = numeric_id(&channel.id)?;
        // The engine's compare-read (made right before this write) when there is one; taken
        // whatever this write does, so no later write can use it.
        let just_read = self.just_read.borrow_mut().remove(&id);
        if update.is_empty() {
            return self.get_channel(&channel.id).await;
        }
        let models = match &update.models {
            Some(models) => {
                // As given (a revert writes back what it read); a comma is refused unsent.
                let models = ModelListFormat::CommaJoined.join(models)?;
                if models.is_empty() {
                    return Err(Error::validation(
                        "DoneHub cannot store an empty model list (an empty `models` is ignored)",
                    ));
                }
                Some(models)
            }
            None => None,
        };
        let mapping_text = update.mapping.as_deref().map(Mapping::to_json_text);

        // Mapping-only change to a non-empty mapping: `{id, model_mapping}` goes through the
        // zero-value-skipping path and changes nothing else.
        if let (None, Some(text)) = (&models, &mapping_text) {
            if !text.is_empty() {
                let body = json!({ "id": id, "model_mapping": text });
                let data = self
                    .call(self.request(Method::Put, "/api/channel/").json(&body))
                    .await?;
                return match data {
                    Value::Object(_) => parse_channel(&data),
                    _ => self.get_channel(&channel.id).await,
                };
            }
        }

        // Everything else is a full-object write: read fresh, change our fields, send it all.
        // The PUT also writes back `status` (and balance, test times…) as read here, so the read
        // is the last thing before the write; a status that changed since the channel was
        // listed (auto-disabled, say) means the decision was made on a stale channel: refuse,
        // and let the item be retried from a fresh read (`docs/gateways.md`).
        let mut raw = match just_read {
            Some(raw) => raw,
            None => self.get_raw(id).await?,
        };
        let fresh_enabled = raw.get("status").and_then(Value::as_i64) == Some(1);
        if fresh_enabled != channel.enabled {
            let word = |on: bool| if on { "enabled" } else { "disabled" };
            return Err(Error::new(
                ErrorClass::Server,
                format!(
                    "the channel was {} when listed and is {} now; nothing was written (a full write would store the status it read), retry from a fresh read",
                    word(channel.enabled),
                    word(fresh_enabled)
                ),
            ));
        }
        let key = raw
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(obj) = raw.as_object_mut() else {
            return Err(Error::invalid_response("channel is not a JSON object"));
        };
        let final_models = match &models {
            Some(m) => m.clone(),
            None => obj
                .get("models")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        };
        if ModelListFormat::CommaJoined.split(&final_models).is_empty() {
            // Clearing the mapping of a channel without models: the server would skip the
            // empty mapping and report success. Say so instead.
            return Err(Error::validation(
                "DoneHub cannot clear the mapping of a channel that has no models",
            ));
        }
        if key.is_empty() {
            // Without the key a full write would wipe it (the list omits keys; GET /:id has it).
            return Err(Error::invalid_response(
                "DoneHub returned the channel without its key; refusing a full-object write that would erase it",
            ));
        }
        obj.insert("id".into(), json!(id));
        obj.insert("models".into(), Value::String(final_models));
        if let Some(text) = mapping_text {
            obj.insert("model_mapping".into(), Value::String(text));
        }
        let data = self
            .call_with_key(self.request(Method::Put, "/api/channel/").json(&raw), &key)
            .await?;
        match data {
            Value::Object(_) => parse_channel(&data),
            _ => self.get_channel(&channel.id).await,
        }
    }
}

/// Errors of `provider_models_list`: anything that is not auth/permission/not-found is about
/// the upstream (or the channel type's support for model lists).
fn classify_fetch_error(e: Error) -> Error {
    match e.class {
        ErrorClass::Auth
        | ErrorClass::Permission
        | ErrorClass::NotFound
        | ErrorClass::RateLimited
        | ErrorClass::Network
        | ErrorClass::Timeout
        | ErrorClass::InvalidResponse
        | ErrorClass::Validation
        | ErrorClass::Upstream => e,
        _ => {
            let lower = e.message.to_lowercase();
            if lower.contains("not implemented")
                || lower.contains("provider not found")
                || lower.contains("key is required")
            {
                Error {
                    class: ErrorClass::Validation,
                    retryable: false,
                    ..e
                }
            } else {
                let status = super::wrapped_status(&e.message);
                let mut out = Error::new(ErrorClass::Upstream, e.message);
                out.retry_after_ms = e.retry_after_ms;
                match status.or(e.http_status) {
                    Some(s) => out.with_status(s),
                    None => out,
                }
            }
        }
    }
}

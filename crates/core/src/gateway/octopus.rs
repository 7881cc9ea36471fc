//! Octopus (bestruirui/octopus): `docs/admin-apis.md` §4.
//!
//! Hazards handled here:
//! * **Login, two eras.** `POST /api/v1/user/login`; v0.10+ answers with `Set-Cookie: auth=<JWT>`
//!   and reads only the cookie, ≤ v0.9 answers `data.token` and reads `Authorization: Bearer`.
//!   The era is told from the login answer and remembered with the session; a 401 later (the
//!   session expired) triggers one fresh login and one retry.
//! * **In a browser** `Set-Cookie` is never shown to `fetch` and a `Cookie` header is dropped:
//!   there ([`crate::http::Transport::manages_cookies`]) every request asks the browser to keep
//!   and send the origin's cookies ([`Request::with_cookies`]), and a v0.10+ login that answers
//!   success without a visible cookie or token means the browser holds the session.
//! * Every request carries `Content-Type: application/json` (POST/PUT without it get 415).
//! * Models live in `model` (auto-synced) and `custom_model` (added by hand); the channel serves
//!   their union. msync reads and writes only `model`: hand-added `custom_model` names are never
//!   shown as removable and never touched, so a second sync finds the channel unchanged.
//! * No per-channel mapping (Octopus uses groups): [`Capabilities::model_mapping`] is false and a
//!   mapping write is refused with a validation error before anything is sent.
//! * **Group routes.** `channel/update` deletes every group item that points at this channel
//!   with a model no longer in `model ∪ custom_model`, and resets a group's `active_item_id`
//!   that pointed at one (`internal/op/channel.go`, `internal/op/group.go`): adding the model
//!   back does not bring the route back. Channels are listed with the models their group items
//!   route to ([`GatewayRules::routed`]), so a plan that removes one is held for review with
//!   the groups named. Channels with `auto_sync` are synced by Octopus itself and left alone.
//! * `fetch-model` ignores the upstream HTTP status (a 401 upstream comes back as an empty list)
//!   and needs the channel object with its key, which we take from a fresh list read.

use super::{
    class_for_status, unstorable_error, Capabilities, ConnectionReport, Ctx, Gateway,
    ModelListFormat,
};
use crate::error::{Error, ErrorClass, Result};
use crate::filter::normalize;
use crate::http::{Method, Request, Response};
use crate::model::{
    AutoSync, Channel, ChannelId, ChannelUpdate, GatewayRules, Mapping, RoutedModel, Site,
};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::HashMap;

/// `model` and `custom_model` are comma-joined; the server trims and de-duplicates them.
const FORMAT: ModelListFormat = ModelListFormat::CommaJoinedTrimmed;

/// A logged-in session. Not `Debug`: it holds a JWT.
#[derive(Clone)]
enum Session {
    /// v0.10 and later: `Cookie: auth=<JWT>`.
    Cookie(String),
    /// v0.9 and earlier: `Authorization: Bearer <JWT>`.
    Bearer(String),
    /// v0.10 and later in a browser: the `auth` cookie lives in the browser's jar, unseen.
    Browser,
}

impl Session {
    fn token(&self) -> &str {
        match self {
            Session::Cookie(t) | Session::Bearer(t) => t,
            Session::Browser => "",
        }
    }
}

pub struct Octopus {
    ctx: Ctx,
    session: RefCell<Option<Session>>,
    /// The channel objects of the last listing (keys included; memory only, for this adapter's
    /// life). Octopus has no single-channel read: a fetch takes its channel from here instead
    /// of listing every channel again.
    listed: RefCell<HashMap<String, Value>>,
    /// Channels as [`Gateway::get_channel`] last read them. The engine compare-reads a channel
    /// right before writing it; the write takes `custom_model` from that read instead of listing
    /// every channel (with every key) a second time. Each is taken once; a new listing clears them.
    just_read: RefCell<HashMap<String, Value>>,
}

impl Octopus {
    pub fn new(ctx: Ctx) -> Self {
        Octopus {
            ctx,
            session: RefCell::new(None),
            listed: RefCell::new(HashMap::new()),
            just_read: RefCell::new(HashMap::new()),
        }
    }

    /// The platform keeps cookies and hides them (a browser).
    fn browser(&self) -> bool {
        self.ctx.transport.manages_cookies()
    }

    fn secrets(&self) -> Vec<String> {
        self.session
            .borrow()
            .as_ref()
            .map(|s| vec![s.token().to_string()])
            .unwrap_or_default()
    }

    fn redact(&self, text: &str) -> String {
        self.ctx.redact_with(text, &self.secrets())
    }

    fn scrub(&self, e: Error) -> Error {
        Error {
            message: self.redact(&e.message),
            ..e
        }
    }

    async fn login(&self) -> Result<Session> {
        let (username, password) = (self.ctx.site.credentials.login())
            .ok_or_else(|| Error::validation("Octopus needs a username and password"))?;
        // expire 0 = the server's short default (15 min); a later 401 logs in again.
        let body = json!({ "username": username, "password": password.expose(), "expire": 0 });
        let req = Request::new(Method::Post, self.ctx.url("/api/v1/user/login"))
            .header("Accept", "application/json")
            .with_cookies(self.browser())
            .json(&body);
        let resp = self.ctx.send(req).await?;
        if resp.status == 401 {
            return Err(Error::new(
                ErrorClass::Auth,
                "Octopus login failed: wrong username or password",
            )
            .with_status(401));
        }
        let data = self.unwrap(&resp)?;
        let session = if let Some(cookie) = auth_cookie(&resp) {
            Session::Cookie(cookie)
        } else if let Some(token) = data
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            Session::Bearer(token.to_string())
        } else if self.browser() {
            // v0.10+ answered success and set the cookie the browser will not show us.
            Session::Browser
        } else {
            return Err(Error::invalid_response(
                "Octopus login succeeded but returned neither an auth cookie nor a token",
            ));
        };
        *self.session.borrow_mut() = Some(session.clone());
        Ok(session)
    }

    async fn session(&self) -> Result<Session> {
        let current = self.session.borrow().clone();
        match current {
            Some(s) => Ok(s),
            None => self.login().await,
        }
    }

    fn build(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Request {
        let mut req = Request::new(method, self.ctx.url(path))
            .header("Accept", "application/json")
            .with_cookies(self.browser());
        req = match session {
            Session::Cookie(t) => req.header("Cookie", format!("auth={t}")),
            Session::Bearer(t) => req.header("Authorization", format!("Bearer {t}")),
            Session::Browser => req,
        };
        match body {
            Some(b) => req.json(b),
            None => req.header("Content-Type", "application/json"),
        }
    }

    /// Send with the session; on 401, log in once more and retry once.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let session = self.session().await?;
        let resp = self
            .ctx
            .send(self.build(&session, method, path, body))
            .await?;
        let resp = if resp.status == 401 {
            *self.session.borrow_mut() = None;
            let session = self.login().await?;
            self.ctx
                .send(self.build(&session, method, path, body))
                .await?
        } else {
            resp
        };
        self.unwrap(&resp)
    }

    /// Unwrap `{"code":200,"message":"success","data":…}`; errors carry `code` = HTTP status.
    fn unwrap(&self, resp: &Response) -> Result<Value> {
        let parsed = self.ctx.parse_json(resp);
        let code = parsed
            .as_ref()
            .ok()
            .and_then(|v| v.get("code"))
            .and_then(Value::as_u64)
            .map(|c| c as u16);
        let status = if (200..300).contains(&resp.status) {
            code.filter(|c| *c >= 400).unwrap_or(resp.status)
        } else {
            resp.status
        };
        if (200..300).contains(&status) {
            let v = parsed.map_err(|e| self.scrub(e))?;
            return match v {
                Value::Object(mut obj) if obj.contains_key("code") => {
                    Ok(obj.remove("data").unwrap_or(Value::Null))
                }
                _ => Err(Error::invalid_response(
                    "response is not an Octopus envelope (is this the right site type?)",
                )),
            };
        }
        let message = parsed
            .as_ref()
            .ok()
            .and_then(|v| v.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if message.is_empty() && parsed.is_err() && !resp.body.trim().is_empty() {
            return Err(self.scrub(self.ctx.status_error(resp, "not a JSON answer")));
        }
        let lower = message.to_lowercase();
        let class = if lower.contains("not found") {
            ErrorClass::NotFound
        } else {
            class_for_status(status).unwrap_or(ErrorClass::Server)
        };
        let detail = if message.is_empty() {
            "no message"
        } else {
            &message
        };
        Err(
            Error::new(class, self.redact(&format!("HTTP {status}: {detail}")))
                .with_status(status)
                .with_retry_after(resp.retry_after_ms()),
        )
    }

    /// Every channel object as the server sent it (keys included: never put them in messages).
    /// A server with the v0.12/v0.13 channel format is refused here, before anything is written.
    async fn list_raw(&self) -> Result<Vec<Value>> {
        let items = match self.call(Method::Get, "/api/v1/channel/list", None).await {
            Ok(Value::Array(items)) => items,
            Ok(Value::Null) => Vec::new(),
            Ok(_) => return Err(Error::invalid_response("channel list is not a list")),
            // v0.13 lists channels as stats (`/api/v1/channel/stats`) and reads one at a time
            // (`/api/v1/channel/detail/:id`).
            Err(e) if e.class == ErrorClass::NotFound => {
                return match self.call(Method::Get, "/api/v1/channel/stats", None).await {
                    Ok(_) => Err(new_format_error()),
                    Err(_) => Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        if items.iter().any(is_new_format) {
            return Err(new_format_error());
        }
        Ok(items)
    }

    /// Which models of which channel the groups route to: channel id → model → group names.
    async fn routes(&self) -> Result<HashMap<String, BTreeMap<String, Vec<String>>>> {
        let groups = match self.call(Method::Get, "/api/v1/group/list", None).await? {
            Value::Array(g) => g,
            Value::Null => Vec::new(),
            _ => return Err(Error::invalid_response("group list is not a list")),
        };
        let mut out: HashMap<String, BTreeMap<String, Vec<String>>> = HashMap::new();
        for g in &groups {
            let name = g
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            for item in g
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(channel), Some(model)) = (
                    item.get("channel_id").map(|c| match c {
                        Value::String(s) => s.trim().to_string(),
                        other => other.to_string(),
                    }),
                    item.get("model_name").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let names = out
                    .entry(channel)
                    .or_default()
                    .entry(model.trim().to_string())
                    .or_default();
                if !names.contains(&name) {
                    names.push(name.clone());
                }
            }
        }
        Ok(out)
    }

    /// Channels parsed, with the group routes that point at them.
    fn with_routes(
        raw: &[Value],
        routes: &HashMap<String, BTreeMap<String, Vec<String>>>,
    ) -> Result<Vec<Channel>> {
        raw.iter()
            .map(|v| {
                let mut ch = parse_channel(v)?;
                if let Some(models) = routes.get(&ch.id.0) {
                    ch.rules.routed = models
                        .iter()
                        .map(|(model, groups)| RoutedModel {
                            model: model.clone(),
                            routes: groups.clone(),
                        })
                        .collect();
                }
                Ok(ch)
            })
            .collect()
    }

    async fn get_raw(&self, id: &ChannelId) -> Result<Value> {
        let want = id.0.trim();
        self.list_raw()
            .await?
            .into_iter()
            .find(|v| id_text(v).as_deref() == Some(want))
            .ok_or_else(|| Error::new(ErrorClass::NotFound, format!("channel {want} not found")))
    }

    fn era(&self) -> Option<&'static str> {
        match self.session.borrow().as_ref() {
            Some(Session::Cookie(_)) => Some("Octopus v0.10 or later (cookie session)"),
            Some(Session::Bearer(_)) => Some("Octopus v0.9 or earlier (Bearer token)"),
            Some(Session::Browser) => {
                Some("Octopus v0.10 or later (cookie session kept by the browser)")
            }
            None => None,
        }
    }
}

/// A channel in the v0.12/v0.13 format: several named keys and endpoints per channel, a
/// `models` list and per-model `grants` (protocols), instead of `model`/`custom_model` strings
/// (bestruirui/octopus issues #383, #397, #404; qixing-jk/all-api-hub
/// `src/services/apiService/octopus/v013.ts`).
fn is_new_format(v: &Value) -> bool {
    v.get("grants").is_some()
        || v.get("dialect").is_some()
        || v.get("endpoints").is_some()
        || (v.get("models").is_some_and(Value::is_array) && v.get("model").is_none())
}

fn new_format_error() -> Error {
    Error::validation(
        "this Octopus (v0.12 or later) stores channels in a new format (several endpoints and keys per channel, protocols per model) that msync does not support yet; nothing was read or written. msync supports Octopus v0.9 to v0.11",
    )
}

/// The `auth` cookie from `Set-Cookie` headers, if one with a value was set.
fn auth_cookie(resp: &Response) -> Option<String> {
    resp.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| {
            let first = v.split(';').next()?.trim();
            let value = first.strip_prefix("auth=")?;
            (!value.is_empty()).then(|| value.to_string())
        })
}

fn id_text(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_string()),
        _ => None,
    }
}

fn csv(v: &Value, key: &str) -> Vec<String> {
    FORMAT.split(v.get(key).and_then(Value::as_str).unwrap_or_default())
}

/// Every key a raw channel holds (v0.10 `key`, v0.9 `keys[].channel_key`), for redaction.
fn channel_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .get("key")
        .and_then(Value::as_str)
        .map(|k| {
            k.split([',', '\n'])
                .map(str::trim)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if let Some(list) = v.get("keys").and_then(Value::as_array) {
        keys.extend(
            list.iter()
                .filter_map(|k| k.get("channel_key").and_then(Value::as_str))
                .map(str::to_string),
        );
    }
    keys.retain(|k| !k.is_empty());
    keys
}

fn parse_channel(v: &Value) -> Result<Channel> {
    let id = id_text(v)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid_response("channel without an id"))?;
    // Only `model` is synced; `custom_model` belongs to the admin and stays out of sync
    // decisions (otherwise every sync would "remove" names it can never remove).
    let models = csv(v, "model");
    let base_url = v
        .get("base_url")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            v.get("base_urls")?
                .as_array()?
                .first()?
                .get("url")?
                .as_str()
                .map(str::to_string)
        })
        .filter(|s| !s.trim().is_empty());
    let channel_type = match v.get("type") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Ok(Channel {
        id: ChannelId(id),
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        enabled: v.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        channel_type,
        upstream_base_url: base_url,
        models: normalize(models),
        mapping: Mapping::Unsupported,
        tag: None,
        rules: GatewayRules {
            auto_sync: (v.get("auto_sync").and_then(Value::as_bool) == Some(true))
                .then_some(AutoSync::Octopus),
            ..GatewayRules::default()
        },
    })
}

#[async_trait(?Send)]
impl Gateway for Octopus {
    fn site(&self) -> &Site {
        &self.ctx.site
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::OCTOPUS
    }

    async fn test_connection(&self) -> Result<ConnectionReport> {
        let started = self.ctx.clock.now_ms();
        let mut report = ConnectionReport::default();
        *self.session.borrow_mut() = None;
        match self.login().await {
            Ok(_) => {}
            Err(e) => return Err(e),
        }
        report.reachable = true;
        report.authenticated = true;
        let channels = self.list_channels().await?;
        // Octopus has one user, the admin: it can do everything.
        report.admin = true;
        report.root = Some(true);
        report.channel_count = Some(channels.len());
        report.flavour_hint = self.era().map(str::to_string);
        report.round_trip_ms = self.ctx.clock.now_ms().saturating_sub(started);
        Ok(report)
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        let raw = self.list_raw().await?;
        self.just_read.borrow_mut().clear();
        *self.listed.borrow_mut() = raw
            .iter()
            .filter_map(|v| Some((id_text(v)?, v.clone())))
            .collect();
        Self::with_routes(&raw, &self.routes().await?)
    }

    async fn get_channel(&self, id: &ChannelId) -> Result<Channel> {
        let raw = self.get_raw(id).await?;
        self.just_read
            .borrow_mut()
            .insert(id.0.trim().to_string(), raw.clone());
        let mut out = Self::with_routes(std::slice::from_ref(&raw), &self.routes().await?)?;
        out.pop()
            .ok_or_else(|| Error::invalid_response("channel could not be read"))
    }

    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>> {
        // The fetch needs the channel's key and base URL: from this run's listing when it has
        // the channel, else read fresh.
        let listed = self.listed.borrow().get(channel.id.0.trim()).cloned();
        let mut raw = match listed {
            Some(v) => v,
            None => self.get_raw(&channel.id).await?,
        };
        let keys = channel_keys(&raw);
        if let Some(obj) = raw.as_object_mut() {
            obj.remove("stats");
        }
        let data = self
            .call(Method::Post, "/api/v1/channel/fetch-model", Some(&raw))
            .await
            .map_err(|e| {
                let e = Error {
                    message: self.ctx.redact_with(&e.message, &keys),
                    ..e
                };
                // A 500 here is the upstream call failing (network error, non-JSON answer).
                if e.class == ErrorClass::Server {
                    Error {
                        class: ErrorClass::Upstream,
                        ..e
                    }
                } else {
                    e
                }
            })?;
        match data {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => Ok(normalize(
                items.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
            )),
            _ => Err(Error::invalid_response("model list is not a list")),
        }
    }

    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel> {
        if update.mapping.as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(Error::validation(
                "Octopus has no per-channel model mapping (it routes model names with groups); nothing was written",
            ));
        }
        let Some(models) = &update.models else {
            return self.get_channel(&channel.id).await;
        };
        let wanted = FORMAT.clean(models);
        let bad = FORMAT.unstorable(&wanted);
        if !bad.is_empty() {
            return Err(unstorable_error(&bad));
        }
        if wanted.is_empty() {
            return Err(Error::validation(
                "refusing to store an empty model list on Octopus (it would delete every group route of the channel)",
            ));
        }
        let just_read = self.just_read.borrow_mut().remove(channel.id.0.trim());
        let raw = match just_read {
            Some(raw) => raw,
            None => self.get_raw(&channel.id).await?,
        };
        let custom = csv(&raw, "custom_model");
        // Hand-added names stay in custom_model; the rest goes to model.
        let auto: Vec<String> = wanted.into_iter().filter(|m| !custom.contains(m)).collect();
        let id = raw.get("id").cloned().unwrap_or(Value::Null);
        let body = json!({ "id": id, "model": auto.join(",") });
        let data = self
            .call(Method::Post, "/api/v1/channel/update", Some(&body))
            .await?;
        match data {
            Value::Object(_) => {
                if let Some(id) = id_text(&data) {
                    self.listed.borrow_mut().insert(id, data.clone());
                }
                parse_channel(&data)
            }
            _ => self.get_channel(&channel.id).await,
        }
    }
}

//! AxonHub (looplj/axonhub): `docs/admin-apis.md` §5. A GraphQL admin API behind a JWT.
//!
//! Hazards handled here:
//! * Sign in with `POST /admin/auth/signin` (email + password) and send `Authorization: Bearer
//!   <JWT>` to `POST /admin/graphql`; a 401/403 later signs in once more and retries once.
//! * GraphQL errors come back as HTTP 200 `{"errors":[…]}`; `fetchModels` reports upstream
//!   failures *inside* its payload (`error`), with the upstream status wrapped in the text.
//! * Ids are `gid://axonhub/channel/N`; relay cursor paging (`first`/`after`, `pageInfo`).
//! * **`settings` is replaced wholesale** by `updateChannel`: we read it fresh, with every field
//!   the server's schema has (found by introspection, so fields we do not know about survive),
//!   change only `modelMappings`, and send it all back. `credentials` is never read nor sent.
//!   When introspection fails (a proxy or WAF may block `__type`) the documented selection is
//!   only good for reading: a mapping write is refused, since it would erase the settings the
//!   selection does not know (`headerOverrideOperations`, `bodyOverrideOperations`, …).
//! * `manualModels` (added by hand in AxonHub's UI) are never removed and only upstream ids
//!   matching `autoSyncModelPattern` are taken, as AxonHub's own sync does
//!   (`internal/server/biz/channel_model_sync.go`); a channel with `autoSyncSupportedModels`
//!   is synced by AxonHub itself and left alone.
//! * Mapping direction: core pairs are "requested → actual"; AxonHub stores
//!   `modelMappings[{from: requested, to: actual}]` and uses a mapping only if `to` is in
//!   `supportedModels`, so a mapping whose target is not among the stored models is refused.

use super::{class_for_status, wrapped_status, Capabilities, ConnectionReport, Ctx, Gateway};
use crate::error::{Error, ErrorClass, Result};
use crate::filter::normalize;
use crate::http::{Method, Request, Response};
use crate::model::{
    AutoSync, Channel, ChannelId, ChannelUpdate, GatewayRules, Mapping, ModelPattern, Site,
};
use async_trait::async_trait;
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

const PAGE_SIZE: usize = 100;
const MAX_PAGES: usize = 1_000;
/// How deep nested settings objects are followed when building the selection from the schema.
const MAX_DEPTH: usize = 5;
/// Channel fields AxonHub added after v0.1 (`ent.graphql`): hand-added models and its own sync.
const SYNC_FIELDS: &str = "manualModels autoSyncSupportedModels autoSyncModelPattern";
/// `selection_source` when the settings selection came from the schema.
const FROM_SCHEMA: &str = "schema introspection";

/// Settings fields as documented for 2026-04 (used when the schema cannot be introspected).
const STATIC_SETTINGS: &str = "extraModelPrefix modelMappings { from to } autoTrimedModelPrefixes \
    hideOriginalModels hideMappedModels proxy { type url username password } \
    transformOptions { forceArrayInstructions forceArrayInputs replaceDeveloperRoleWithSystem } \
    passThroughUserAgent";
/// v0.1.x settings had only the mappings.
const LEGACY_SETTINGS: &str = "modelMappings { from to }";

const INTROSPECT_TYPE: &str = "query IntrospectType($name: String!) { __type(name: $name) { name kind \
    fields { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } \
    inputFields { name } } }";

pub struct AxonHub {
    ctx: Ctx,
    jwt: RefCell<Option<String>>,
    owner: Cell<Option<bool>>,
    /// The `settings { … }` selection, once known.
    settings_selection: RefCell<Option<String>>,
    /// Top-level fields of `ChannelSettingsInput`, when introspection told us.
    settings_input_fields: RefCell<Option<HashSet<String>>>,
    /// How the settings selection was found, for "Test connection".
    selection_source: Cell<&'static str>,
    /// The server has no `queryChannels` (v0.1.x).
    legacy_list: Cell<bool>,
    /// The server's `Channel` has [`SYNC_FIELDS`] (not v0.1.x).
    sync_fields: Cell<bool>,
    /// Channels as [`Gateway::get_channel`] last read them. The engine compare-reads a channel
    /// right before writing it; the update takes its stored settings from that read instead of
    /// reading the channel a second time. Each is taken once; a new listing clears them.
    just_read: RefCell<HashMap<String, Value>>,
}

impl AxonHub {
    pub fn new(ctx: Ctx) -> Self {
        AxonHub {
            ctx,
            jwt: RefCell::new(None),
            owner: Cell::new(None),
            settings_selection: RefCell::new(None),
            settings_input_fields: RefCell::new(None),
            selection_source: Cell::new("unknown"),
            legacy_list: Cell::new(false),
            sync_fields: Cell::new(true),
            just_read: RefCell::new(HashMap::new()),
        }
    }

    fn redact(&self, text: &str) -> String {
        let extra: Vec<String> = self.jwt.borrow().iter().cloned().collect();
        self.ctx.redact_with(text, &extra)
    }

    /// `{"error":{"type","message"}}` from the REST middleware, classified by status.
    fn rest_error(&self, resp: &Response, what: &str) -> Error {
        let parsed = self.ctx.parse_json(resp).ok();
        let message = parsed
            .as_ref()
            .and_then(|v| v.pointer("/error/message").and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        if message.is_empty() && parsed.is_none() && !resp.body.trim().is_empty() {
            let e = self.ctx.status_error(resp, "not a JSON answer");
            return Error {
                message: self.redact(&e.message),
                ..e
            };
        }
        let class = class_for_status(resp.status).unwrap_or(ErrorClass::Server);
        let detail = if message.is_empty() {
            "no message".to_string()
        } else {
            message
        };
        Error::new(
            class,
            self.redact(&format!("{what}: HTTP {}: {detail}", resp.status)),
        )
        .with_status(resp.status)
        .with_retry_after(resp.retry_after_ms())
    }

    async fn sign_in(&self) -> Result<String> {
        let (email, password) = (self.ctx.site.credentials.login())
            .ok_or_else(|| Error::validation("AxonHub needs an email and password"))?;
        let req = Request::new(Method::Post, self.ctx.url("/admin/auth/signin"))
            .header("Accept", "application/json")
            .json(&json!({ "email": email, "password": password.expose() }));
        let resp = self.ctx.send(req).await?;
        if !(200..300).contains(&resp.status) {
            return Err(self.rest_error(&resp, "AxonHub sign-in failed"));
        }
        let v = self.ctx.parse_json(&resp)?;
        let token = v
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::invalid_response("AxonHub sign-in answered without a token"))?
            .to_string();
        self.owner
            .set(v.pointer("/user/isOwner").and_then(Value::as_bool));
        *self.jwt.borrow_mut() = Some(token.clone());
        Ok(token)
    }

    async fn token(&self) -> Result<String> {
        let current = self.jwt.borrow().clone();
        match current {
            Some(t) => Ok(t),
            None => self.sign_in().await,
        }
    }

    fn gql_request(&self, token: &str, body: &Value) -> Request {
        Request::new(Method::Post, self.ctx.url("/admin/graphql"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Accept", "application/json")
            .json(body)
    }

    /// Run one GraphQL operation and return its `data`.
    async fn gql(&self, operation: &str, query: &str, variables: Value) -> Result<Value> {
        let body = json!({ "query": query, "variables": variables, "operationName": operation });
        let token = self.token().await?;
        let mut resp = self.ctx.send(self.gql_request(&token, &body)).await?;
        if resp.status == 401 || resp.status == 403 {
            // The JWT expired or was revoked: sign in again, once.
            *self.jwt.borrow_mut() = None;
            let token = self.sign_in().await?;
            resp = self.ctx.send(self.gql_request(&token, &body)).await?;
        }
        if !(200..300).contains(&resp.status) {
            // gqlgen answers parse and validation failures with 422 and a GraphQL `errors` body.
            let gql_errors = self.ctx.parse_json(&resp).ok().and_then(|v| {
                v.get("errors")?
                    .as_array()?
                    .first()?
                    .get("message")?
                    .as_str()
                    .map(str::to_string)
            });
            return Err(match gql_errors {
                Some(m) if resp.status < 500 => {
                    classify_graphql_error(&self.redact(&m)).with_status(resp.status)
                }
                _ => self.rest_error(&resp, "AxonHub GraphQL"),
            });
        }
        let v = self.ctx.parse_json(&resp).map_err(|e| Error {
            message: self.redact(&e.message),
            ..e
        })?;
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            if let Some(first) = errors.first() {
                let message = first
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("GraphQL error without a message");
                return Err(classify_graphql_error(&self.redact(message)));
            }
        }
        match v.get("data") {
            Some(Value::Object(d)) => Ok(Value::Object(d.clone())),
            _ => Err(Error::invalid_response(
                "GraphQL answer without data (is this an AxonHub site?)",
            )),
        }
    }

    /// One type's fields from the schema.
    async fn introspect(&self, name: &str) -> Result<Value> {
        let data = self
            .gql("IntrospectType", INTROSPECT_TYPE, json!({ "name": name }))
            .await?;
        match data.get("__type") {
            Some(t @ Value::Object(_)) if t.get("name").and_then(Value::as_str) == Some(name) => {
                Ok(t.clone())
            }
            _ => Err(Error::invalid_response(format!(
                "no type {name} in the schema"
            ))),
        }
    }

    /// Build a selection set for an object type, following nested objects.
    async fn selection_for(
        &self,
        name: &str,
        depth: usize,
        cache: &mut HashMap<String, Value>,
    ) -> Result<String> {
        if !cache.contains_key(name) {
            let t = self.introspect(name).await?;
            cache.insert(name.to_string(), t);
        }
        let fields: Vec<(String, String, String)> = cache[name]
            .get("fields")
            .and_then(Value::as_array)
            .map(|fs| {
                fs.iter()
                    .filter_map(|f| {
                        let fname = f.get("name")?.as_str()?.to_string();
                        let (kind, tname) = named_type(f.get("type")?)?;
                        Some((fname, kind, tname))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut parts = Vec::new();
        for (fname, kind, tname) in fields {
            match kind.as_str() {
                "SCALAR" | "ENUM" => parts.push(fname),
                "OBJECT" if depth < MAX_DEPTH => {
                    // Boxed: async recursion.
                    let inner = Box::pin(self.selection_for(&tname, depth + 1, cache)).await?;
                    if !inner.is_empty() {
                        parts.push(format!("{fname} {{ {inner} }}"));
                    }
                }
                _ => {}
            }
        }
        Ok(parts.join(" "))
    }

    /// The `settings` selection: from the schema if it can be introspected, else documented.
    async fn settings_selection(&self) -> Result<String> {
        if let Some(s) = self.settings_selection.borrow().clone() {
            return Ok(s);
        }
        let mut cache = HashMap::new();
        let found = match self.selection_for("ChannelSettings", 0, &mut cache).await {
            Ok(sel) if sel.contains("modelMappings") => {
                if let Ok(input) = self.introspect("ChannelSettingsInput").await {
                    let names: HashSet<String> = input
                        .get("inputFields")
                        .and_then(Value::as_array)
                        .map(|fs| {
                            fs.iter()
                                .filter_map(|f| f.get("name")?.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    if !names.is_empty() {
                        *self.settings_input_fields.borrow_mut() = Some(names);
                    }
                }
                self.selection_source.set(FROM_SCHEMA);
                sel
            }
            // Sign-in, network and rate-limit failures are real failures, not "no schema".
            Err(e)
                if !matches!(
                    e.class,
                    ErrorClass::Validation
                        | ErrorClass::Server
                        | ErrorClass::InvalidResponse
                        | ErrorClass::NotFound
                        | ErrorClass::Permission
                ) =>
            {
                return Err(e)
            }
            _ => {
                self.selection_source.set("documented fields");
                STATIC_SETTINGS.to_string()
            }
        };
        *self.settings_selection.borrow_mut() = Some(found.clone());
        Ok(found)
    }

    fn channel_fields(settings: &str, sync_fields: bool) -> String {
        let extra = if sync_fields { SYNC_FIELDS } else { "" };
        format!("id type baseURL name status supportedModels {extra} settings {{ {settings} }}")
    }

    /// Whether the settings selection is known to hold every field the server has, so that a
    /// wholesale settings write keeps them all.
    fn settings_complete(&self) -> bool {
        self.selection_source.get() == FROM_SCHEMA
    }

    /// Run a channel query with the full selection; an old server that does not know some
    /// field is asked again without the post-v0.1 channel fields (and, when the settings
    /// selection was not read from the schema, with the v0.1.x settings).
    async fn channel_query(
        &self,
        operation: &str,
        build: impl Fn(&str) -> String,
        variables: Value,
    ) -> Result<Value> {
        let settings = self.settings_selection().await?;
        let sync_fields = self.sync_fields.get();
        match self
            .gql(
                operation,
                &build(&Self::channel_fields(&settings, sync_fields)),
                variables.clone(),
            )
            .await
        {
            Err(e)
                if is_unknown_field(&e)
                    && (sync_fields
                        || (settings != LEGACY_SETTINGS && !self.settings_complete())) =>
            {
                let settings = if self.settings_complete() {
                    settings
                } else {
                    LEGACY_SETTINGS.to_string()
                };
                let v = self
                    .gql(
                        operation,
                        &build(&Self::channel_fields(&settings, false)),
                        variables,
                    )
                    .await?;
                self.sync_fields.set(false);
                if !self.settings_complete() {
                    *self.settings_selection.borrow_mut() = Some(settings);
                    self.selection_source.set("v0.1 fields");
                }
                Ok(v)
            }
            other => other,
        }
    }

    async fn list_raw(&self) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        let mut seen_cursors = HashSet::new();
        for _ in 0..MAX_PAGES {
            let data = if self.legacy_list.get() {
                self.legacy_page(after.clone()).await?
            } else {
                let vars = json!({ "input": {
                    "first": PAGE_SIZE,
                    "after": after,
                    "where": { "statusIn": ["enabled", "disabled"] },
                }});
                let modern = self
                    .channel_query(
                        "QueryChannels",
                        |fields| {
                            format!(
                                "query QueryChannels($input: QueryChannelInput!) {{ queryChannels(input: $input) \
                                 {{ edges {{ node {{ {fields} }} cursor }} pageInfo {{ hasNextPage endCursor }} totalCount }} }}"
                            )
                        },
                        vars,
                    )
                    .await;
                match modern {
                    Ok(d) => d,
                    // v0.1.x has no queryChannels: the ent `channels` connection instead.
                    Err(e) if is_unknown_field(&e) && e.message.contains("queryChannels") => {
                        self.legacy_list.set(true);
                        self.legacy_page(after.clone()).await?
                    }
                    Err(e) => return Err(e),
                }
            };
            let conn = data
                .get("queryChannels")
                .or_else(|| data.get("channels"))
                .filter(|c| c.is_object())
                .ok_or_else(|| Error::invalid_response("the channel query answered nothing"))?;
            if let Some(edges) = conn.get("edges").and_then(Value::as_array) {
                for e in edges {
                    if let Some(node) = e.get("node").filter(|n| n.is_object()) {
                        out.push(node.clone());
                    }
                }
            }
            let has_next = conn
                .pointer("/pageInfo/hasNextPage")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let end = conn
                .pointer("/pageInfo/endCursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            match (has_next, end) {
                (true, Some(cursor)) if seen_cursors.insert(cursor.clone()) => after = Some(cursor),
                (true, _) => {
                    return Err(Error::invalid_response(
                        "channel paging did not advance (repeated or missing cursor)",
                    ))
                }
                (false, _) => return Ok(out),
            }
        }
        Err(Error::invalid_response(format!(
            "channel list did not end after {MAX_PAGES} pages"
        )))
    }

    /// One page of the ent `channels` connection (every AxonHub version has it).
    async fn legacy_page(&self, after: Option<String>) -> Result<Value> {
        self.channel_query(
            "Channels",
            |fields| {
                format!(
                    "query Channels($first: Int, $after: Cursor) {{ channels(first: $first, after: $after) \
                     {{ edges {{ node {{ {fields} }} cursor }} pageInfo {{ hasNextPage endCursor }} totalCount }} }}"
                )
            },
            json!({ "first": PAGE_SIZE, "after": after }),
        )
        .await
    }

    async fn get_raw(&self, id: &ChannelId) -> Result<Value> {
        let gid = to_gid(id);
        let by_node = self
            .channel_query(
                "GetChannel",
                |fields| {
                    format!(
                        "query GetChannel($id: ID!) {{ node(id: $id) {{ ... on Channel {{ {fields} }} }} }}"
                    )
                },
                json!({ "id": gid }),
            )
            .await;
        match by_node {
            Ok(data) => match data.get("node") {
                Some(node) if node.get("id").is_some() => Ok(node.clone()),
                _ => Err(Error::new(
                    ErrorClass::NotFound,
                    format!("channel {gid} not found"),
                )),
            },
            // A server without `node`: find it in the list.
            Err(e) if is_unknown_field(&e) => self
                .list_raw()
                .await?
                .into_iter()
                .find(|n| n.get("id").and_then(Value::as_str) == Some(gid.as_str()))
                .ok_or_else(|| {
                    Error::new(ErrorClass::NotFound, format!("channel {gid} not found"))
                }),
            Err(e) => Err(e),
        }
    }
}

/// `gid://axonhub/channel/N`; a bare number is accepted too.
fn to_gid(id: &ChannelId) -> String {
    let t = id.0.trim();
    if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() {
        format!("gid://axonhub/channel/{t}")
    } else {
        t.to_string()
    }
}

/// Unwrap NON_NULL/LIST wrappers to the named type.
fn named_type(t: &Value) -> Option<(String, String)> {
    let mut cur = t;
    for _ in 0..6 {
        let kind = cur.get("kind")?.as_str()?;
        if kind == "NON_NULL" || kind == "LIST" {
            cur = cur.get("ofType")?;
            continue;
        }
        return Some((kind.to_string(), cur.get("name")?.as_str()?.to_string()));
    }
    None
}

fn is_unknown_field(e: &Error) -> bool {
    let m = e.message.to_lowercase();
    e.class == ErrorClass::Validation
        && (m.contains("cannot query field")
            || m.contains("unknown field")
            || m.contains("unknown type"))
}

/// Classify a GraphQL error message (HTTP 200).
pub fn classify_graphql_error(message: &str) -> Error {
    let lower = message.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let class = if has(&["not found", "not exist"]) {
        ErrorClass::NotFound
    } else if has(&["permission", "forbidden", "access denied", "not allowed"]) {
        ErrorClass::Permission
    } else if has(&["unauthorized", "invalid token", "unauthenticated"]) {
        ErrorClass::Auth
    } else if has(&[
        "cannot query field",
        "unknown field",
        "unknown type",
        "invalid",
        "already exists",
        "required",
        "must be",
        "validation",
    ]) {
        ErrorClass::Validation
    } else {
        ErrorClass::Server
    };
    Error::new(class, message).not_retryable()
}

/// Classify `fetchModels.error` (reported inside the payload).
fn classify_fetch_error(message: &str) -> Error {
    let lower = message.to_lowercase();
    if lower.contains("failed to get channel") {
        return Error::new(ErrorClass::NotFound, message).not_retryable();
    }
    if lower.contains("api key is required") || lower.contains("invalid channel type") {
        return Error::new(ErrorClass::Validation, message).not_retryable();
    }
    let e = Error::new(ErrorClass::Upstream, message);
    match wrapped_status(message) {
        Some(s) => e.with_status(s),
        None => e,
    }
}

fn parse_mapping(node: &Value) -> Mapping {
    match node.pointer("/settings/modelMappings") {
        None | Some(Value::Null) => Mapping::Empty,
        Some(Value::Array(items)) => {
            let mut pairs = Vec::with_capacity(items.len());
            for it in items {
                match (
                    it.get("from").and_then(Value::as_str),
                    it.get("to").and_then(Value::as_str),
                ) {
                    (Some(f), Some(t)) => pairs.push((f.to_string(), t.to_string())),
                    _ => {
                        return Mapping::Invalid {
                            raw: Value::Array(items.clone()).to_string(),
                            error: "a model mapping lacks from or to".into(),
                        }
                    }
                }
            }
            if pairs.is_empty() {
                Mapping::Empty
            } else {
                Mapping::Valid { pairs }
            }
        }
        Some(other) => Mapping::Invalid {
            raw: other.to_string(),
            error: "modelMappings is not a list".into(),
        },
    }
}

/// `autoSyncModelPattern` as AxonHub reads it (`internal/pkg/xregexp/match.go`): empty or `*`
/// takes everything, a pattern without regex characters is one exact name, anything else is a
/// regex matched against the whole id.
fn sync_pattern(pattern: &str) -> Option<ModelPattern> {
    let p = pattern.trim();
    if p.is_empty() || p == "*" {
        return None;
    }
    if p.contains(|c| "*?+[]{}()^$.|\\".contains(c)) {
        Some(ModelPattern::Regex(p.to_string()))
    } else {
        Some(ModelPattern::Exact(p.to_string()))
    }
}

fn parse_channel(node: &Value) -> Result<Channel> {
    let id = node
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid_response("channel without an id"))?;
    let s = |k: &str| node.get(k).and_then(Value::as_str).map(str::to_string);
    let models = node
        .get("supportedModels")
        .and_then(Value::as_array)
        .map(|a| normalize(a.iter().filter_map(Value::as_str).collect::<Vec<_>>()))
        .unwrap_or_default();
    let manual = node
        .get("manualModels")
        .and_then(Value::as_array)
        .map(|a| normalize(a.iter().filter_map(Value::as_str).collect::<Vec<_>>()))
        .unwrap_or_default();
    let rules = GatewayRules {
        manual,
        only: s("autoSyncModelPattern").and_then(|p| sync_pattern(&p)),
        auto_sync: (node.get("autoSyncSupportedModels").and_then(Value::as_bool) == Some(true))
            .then_some(AutoSync::AxonHub),
        ..GatewayRules::default()
    };
    Ok(Channel {
        id: ChannelId(id.to_string()),
        name: s("name").unwrap_or_default(),
        enabled: s("status").as_deref() == Some("enabled"),
        channel_type: s("type").unwrap_or_default(),
        upstream_base_url: s("baseURL").filter(|b| !b.trim().is_empty()),
        models,
        mapping: parse_mapping(node),
        tag: None,
        rules,
    })
}

#[async_trait(?Send)]
impl Gateway for AxonHub {
    fn site(&self) -> &Site {
        &self.ctx.site
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::AXON_HUB
    }

    async fn test_connection(&self) -> Result<ConnectionReport> {
        let started = self.ctx.clock.now_ms();
        let mut report = ConnectionReport::default();
        *self.jwt.borrow_mut() = None;
        self.sign_in().await?;
        report.reachable = true;
        report.authenticated = true;
        let channels = self.list_channels().await?;
        report.admin = true;
        report.root = self.owner.get();
        report.channel_count = Some(channels.len());
        report.flavour_hint = Some(format!(
            "AxonHub GraphQL; channel settings from {}{}",
            self.selection_source.get(),
            if self.settings_complete() {
                ""
            } else {
                " (mapping writes are refused: the schema could not be read)"
            }
        ));
        report.round_trip_ms = self.ctx.clock.now_ms().saturating_sub(started);
        Ok(report)
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        self.just_read.borrow_mut().clear();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for node in self.list_raw().await? {
            // `archived` channels are out of service; they are not offered for sync.
            if node.get("status").and_then(Value::as_str) == Some("archived") {
                continue;
            }
            let ch = parse_channel(&node)?;
            if seen.insert(ch.id.clone()) {
                out.push(ch);
            }
        }
        Ok(out)
    }

    async fn get_channel(&self, id: &ChannelId) -> Result<Channel> {
        let raw = self.get_raw(id).await?;
        let channel = parse_channel(&raw)?;
        self.just_read.borrow_mut().insert(to_gid(id), raw);
        Ok(channel)
    }

    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>> {
        // With channelID and no apiKey the server uses the stored key; baseURL comes from input.
        let input = json!({
            "channelType": channel.channel_type,
            "baseURL": channel.upstream_base_url.clone().unwrap_or_default(),
            "channelID": to_gid(&channel.id),
        });
        let query = "query FetchModels($input: FetchModelsInput!) { fetchModels(input: $input) { models { id } error } }";
        let data = match self.gql("FetchModels", query, json!({ "input": input })).await {
            Ok(d) => d,
            Err(e) if is_unknown_field(&e) => {
                return Err(Error::validation(
                    "this AxonHub version has no fetchModels query (added after v0.1); upgrade the server",
                ))
            }
            Err(e) => return Err(e),
        };
        let payload = data
            .get("fetchModels")
            .filter(|p| p.is_object())
            .ok_or_else(|| Error::invalid_response("fetchModels answered nothing"))?;
        if let Some(err) = payload
            .get("error")
            .and_then(Value::as_str)
            .filter(|e| !e.trim().is_empty())
        {
            return Err(classify_fetch_error(&self.redact(err)));
        }
        match payload.get("models") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(normalize(
                items
                    .iter()
                    .filter_map(|m| m.get("id").and_then(Value::as_str))
                    .collect::<Vec<_>>(),
            )),
            Some(_) => Err(Error::invalid_response("fetchModels.models is not a list")),
        }
    }

    async fn test_channel(
        &self,
        channel: &Channel,
        model: &str,
        _timeout_ms: u64,
    ) -> Result<crate::probe::TestReply> {
        let input = json!({ "channelID": to_gid(&channel.id), "modelID": model });
        let query = "mutation TestChannel($input: TestChannelInput!) { testChannel(input: $input) { latency success error } }";
        let started = self.ctx.clock.monotonic_ms();
        let data = self
            .gql("TestChannel", query, json!({ "input": input }))
            .await?;
        let p = data
            .get("testChannel")
            .filter(|p| p.is_object())
            .ok_or_else(|| Error::invalid_response("testChannel answered nothing"))?;
        let passed = p
            .get("success")
            .and_then(Value::as_bool)
            .ok_or_else(|| Error::invalid_response("testChannel answered without success"))?;
        let latency = p
            .get("latency")
            .and_then(Value::as_f64)
            .filter(|t| *t > 0.0 && t.is_finite())
            .map(|t| (t * 1000.0).round() as u64)
            .or_else(|| Some(self.ctx.clock.monotonic_ms().saturating_sub(started)));
        let message = p
            .get("error")
            .and_then(Value::as_str)
            .filter(|m| !m.trim().is_empty())
            .map(|m| self.redact(&super::new_api::truncate(m, 500)));
        Ok(crate::probe::TestReply {
            passed,
            answer: crate::probe::ProbeAnswer {
                http_status: 200,
                message,
                response_ms: latency,
                error_code: None,
                channel_disabled: false,
            },
        })
    }

    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel> {
        // The engine's compare-read (made right before this write) when there is one; taken
        // whatever this write does, so no later write can use it.
        let just_read = self.just_read.borrow_mut().remove(&to_gid(&channel.id));
        if update.is_empty() {
            return self.get_channel(&channel.id).await;
        }
        let new_models = match &update.models {
            Some(m) => {
                let m = normalize(m);
                if m.is_empty() {
                    return Err(Error::validation(
                        "refusing to store an empty model list on AxonHub",
                    ));
                }
                Some(m)
            }
            None => None,
        };
        // Read fresh (or the read the engine made right before): the settings we send back
        // must be the stored ones.
        let fresh = match just_read {
            Some(raw) => raw,
            None => self.get_raw(&channel.id).await?,
        };
        if update.mapping.is_some() && !self.settings_complete() {
            return Err(Error::validation(
                "AxonHub's schema could not be read (a proxy or firewall may block introspection), so msync cannot know every channel setting; a mapping write replaces them all, so nothing was written (model lists still sync)",
            ));
        }
        let mut input = Map::new();
        if let Some(pairs) = &update.mapping {
            let stored_models: Vec<String> = match &new_models {
                Some(m) => m.clone(),
                None => parse_channel(&fresh)?.models,
            };
            let missing: Vec<&str> = pairs
                .iter()
                .filter(|(_, to)| !stored_models.iter().any(|m| m == to))
                .map(|(_, to)| to.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(Error::validation(format!(
                    "AxonHub only uses a mapping whose target is a supported model; not in the channel's models: {}",
                    missing.join(", ")
                )));
            }
            if let Some((from, _)) = pairs
                .iter()
                .find(|(f, t)| f.trim().is_empty() || t.trim().is_empty())
            {
                return Err(Error::validation(format!(
                    "a model mapping has an empty name ({from:?})"
                )));
            }
            let mut settings = match fresh.get("settings") {
                Some(Value::Object(s)) => s.clone(),
                _ => Map::new(),
            };
            if let Some(allowed) = self.settings_input_fields.borrow().as_ref() {
                settings.retain(|k, _| allowed.contains(k));
            }
            let mappings: Vec<Value> = pairs
                .iter()
                .map(|(from, to)| json!({ "from": from, "to": to }))
                .collect();
            settings.insert("modelMappings".into(), Value::Array(mappings));
            input.insert("settings".into(), Value::Object(settings));
        }
        if let Some(m) = new_models {
            input.insert("supportedModels".into(), json!(m));
        }
        let gid = fresh
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| to_gid(&channel.id));
        let data = self
            .channel_query(
                "UpdateChannel",
                |fields| {
                    format!(
                        "mutation UpdateChannel($id: ID!, $input: UpdateChannelInput!) {{ updateChannel(id: $id, input: $input) {{ {fields} }} }}"
                    )
                },
                json!({ "id": gid, "input": Value::Object(input) }),
            )
            .await?;
        match data.get("updateChannel") {
            Some(node) if node.get("id").is_some() => parse_channel(node),
            _ => self.get_channel(&channel.id).await,
        }
    }
}

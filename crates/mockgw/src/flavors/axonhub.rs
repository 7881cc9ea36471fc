//! AxonHub (looplj/axonhub @ d0290b63; `--legacy` = v0.1.1) — `docs/admin-apis.md` §5.
//!
//! REST sign-in (`POST /admin/auth/signin`) gives a JWT; the admin API is GraphQL at
//! `POST /admin/graphql` with `Authorization: Bearer <JWT>` (§5.1). There is no GraphQL parser:
//! the operation is recognised by its **root field** in the query text (`queryChannels`,
//! `channels`, `node`, `fetchModels`, `updateChannel`, `updateChannelStatus`) and its arguments are
//! read from `variables` (or simple literals). Answers carry whole objects rather than the
//! selection set. Errors follow gqlgen: HTTP 200 `{"errors":[…],"data":null}`, 422 for
//! validation failures. `updateChannel` replaces `settings` wholesale (§5.4).
//!
//! Two places honour the query text, because msync's safety depends on them: a channel's
//! `settings` answer holds only the fields the query selected (gqlgen resolves the selection
//! set, nothing more), and `__type(name:)` answers schema introspection for the settings types
//! (`internal/server/gql/axonhub.graphql` `ChannelSettings` / `ChannelSettingsInput`, with the
//! `headerOverrideOperations` / `bodyOverrideOperations` lists). A proxy that blocks
//! introspection is a fault rule on [`Op::Other`].

use super::{fake_jwt, faulted_names, is_json_content, FlavorApi};
use crate::fault::{FaultKind, Op};
use crate::seed::{SeedChannel, Vendor};
use crate::state::{now_unix, Reply, Req, State};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

pub struct AxonHub {
    /// v0.1.1: no `fetchModels`; no manualModels/tags/policies/remark; settings = modelMappings.
    pub legacy: bool,
}

/// Channel types AxonHub accepts (§5.2).
const TYPES: &[&str] = &[
    "openai",
    "openai_responses",
    "codex",
    "vercel",
    "anthropic",
    "anthropic_aws",
    "anthropic_gcp",
    "gemini_openai",
    "gemini",
    "gemini_vertex",
    "deepseek",
    "deepseek_anthropic",
    "deepinfra",
    "fireworks",
    "doubao",
    "doubao_anthropic",
    "moonshot",
    "moonshot_anthropic",
    "zhipu",
    "zai",
    "zhipu_anthropic",
    "zai_anthropic",
    "anthropic_fake",
    "openai_fake",
    "openrouter",
    "xiaomi",
    "xai",
    "ppio",
    "siliconflow",
    "volcengine",
    "longcat",
    "longcat_anthropic",
    "minimax",
    "minimax_anthropic",
    "aihubmix",
    "burncloud",
    "modelscope",
    "bailian",
    "jina",
    "github",
    "github_copilot",
    "claudecode",
    "cerebras",
    "antigravity",
    "nanogpt",
];

/// `UpdateChannelInput` fields (§5.4, `ent.graphql` @ d0290b63).
const UPDATE_INPUT: &[&str] = &[
    "type",
    "baseURL",
    "clearBaseURL",
    "name",
    "status",
    "credentials",
    "supportedModels",
    "appendSupportedModels",
    "manualModels",
    "appendManualModels",
    "clearManualModels",
    "autoSyncSupportedModels",
    "autoSyncModelPattern",
    "clearAutoSyncModelPattern",
    "tags",
    "appendTags",
    "clearTags",
    "defaultTestModel",
    "policies",
    "clearPolicies",
    "settings",
    "clearSettings",
    "orderingWeight",
    "errorMessage",
    "clearErrorMessage",
    "remark",
    "clearRemark",
    "updatedAt",
];
/// v0.1.1 `UpdateChannelInput` (§5.2).
const UPDATE_INPUT_V011: &[&str] = &[
    "updatedAt",
    "baseURL",
    "clearBaseURL",
    "name",
    "status",
    "credentials",
    "supportedModels",
    "appendSupportedModels",
    "defaultTestModel",
    "settings",
    "clearSettings",
    "orderingWeight",
];
const SETTINGS_KEYS: &[&str] = &[
    "extraModelPrefix",
    "modelMappings",
    "autoTrimedModelPrefixes",
    "hideOriginalModels",
    "hideMappedModels",
    "proxy",
    "transformOptions",
    "passThroughUserAgent",
    "headerOverrideOperations",
    "bodyOverrideOperations",
];

/// The schema of the settings types for `__type(name:)`: (type, [(field, kind, type name, list)]).
/// Input types list only their field names. v0.1.1 had `modelMappings` alone.
fn introspect(name: &str, legacy: bool) -> Value {
    let field = |n: &str, kind: &str, t: &str, list: bool| {
        let named = json!({"kind": kind, "name": t, "ofType": null});
        let ty = if list {
            json!({"kind": "NON_NULL", "name": null, "ofType": {"kind": "LIST", "name": null,
                   "ofType": {"kind": "NON_NULL", "name": null, "ofType": named}}})
        } else {
            named
        };
        json!({"name": n, "type": ty})
    };
    let object = |fields: Vec<Value>| json!({"__type": {"name": name, "kind": "OBJECT", "fields": fields, "inputFields": null}});
    match (name, legacy) {
        ("ChannelSettings", true) => {
            object(vec![field("modelMappings", "OBJECT", "ModelMapping", true)])
        }
        ("ChannelSettings", false) => object(vec![
            field("extraModelPrefix", "SCALAR", "String", false),
            field("modelMappings", "OBJECT", "ModelMapping", true),
            field("autoTrimedModelPrefixes", "SCALAR", "String", true),
            field("hideOriginalModels", "SCALAR", "Boolean", false),
            field("hideMappedModels", "SCALAR", "Boolean", false),
            field("proxy", "OBJECT", "ProxyConfig", false),
            field("transformOptions", "OBJECT", "TransformOptions", false),
            field("passThroughUserAgent", "SCALAR", "Boolean", false),
            field(
                "headerOverrideOperations",
                "OBJECT",
                "OverrideOperation",
                true,
            ),
            field(
                "bodyOverrideOperations",
                "OBJECT",
                "OverrideOperation",
                true,
            ),
        ]),
        ("ModelMapping", _) => object(vec![
            field("from", "SCALAR", "String", false),
            field("to", "SCALAR", "String", false),
        ]),
        ("ProxyConfig", false) => object(vec![
            field("type", "ENUM", "ProxyType", false),
            field("url", "SCALAR", "String", false),
            field("username", "SCALAR", "String", false),
            field("password", "SCALAR", "String", false),
        ]),
        ("TransformOptions", false) => object(vec![
            field("forceArrayInstructions", "SCALAR", "Boolean", false),
            field("forceArrayInputs", "SCALAR", "Boolean", false),
            field("replaceDeveloperRoleWithSystem", "SCALAR", "Boolean", false),
        ]),
        ("OverrideOperation", false) => object(
            ["op", "path", "from", "to", "value", "condition"]
                .iter()
                .map(|n| field(n, "SCALAR", "String", false))
                .collect(),
        ),
        ("ChannelSettingsInput", _) => {
            let keys: &[&str] = if legacy {
                &["modelMappings"]
            } else {
                SETTINGS_KEYS
            };
            let fields: Vec<Value> = keys.iter().map(|k| json!({"name": k})).collect();
            json!({"__type": {"name": name, "kind": "INPUT_OBJECT", "fields": null, "inputFields": fields}})
        }
        _ => json!({"__type": null}),
    }
}

/// A selection set as a tree of field names (aliases, arguments and fragments are not used on
/// the settings object by any client we serve).
#[derive(Debug, PartialEq)]
struct Selection(Vec<(String, Option<Selection>)>);

/// The selection under `settings { … }` in a query, if the query has one.
fn settings_selection(query: &str) -> Option<Selection> {
    let at = query.find("settings")?;
    let rest = query[at + "settings".len()..].trim_start();
    let rest = rest.strip_prefix('{')?;
    let mut tokens = tokenize(rest).into_iter();
    Some(parse_selection(&mut tokens))
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if c == '{' || c == '}' {
            out.push(c.to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses up to the closing `}` of the current level.
fn parse_selection(tokens: &mut impl Iterator<Item = String>) -> Selection {
    let mut fields: Vec<(String, Option<Selection>)> = Vec::new();
    while let Some(t) = tokens.next() {
        match t.as_str() {
            "}" => break,
            "{" => {
                let inner = parse_selection(tokens);
                if let Some(last) = fields.last_mut() {
                    last.1 = Some(inner);
                }
            }
            name => fields.push((name.to_string(), None)),
        }
    }
    Selection(fields)
}

/// `value` as gqlgen would answer it for `sel`: only the selected fields.
fn select(value: &Value, sel: &Selection) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| select(v, sel)).collect()),
        Value::Object(obj) => {
            let mut out = Map::new();
            for (name, sub) in &sel.0 {
                let v = obj.get(name).cloned().unwrap_or(Value::Null);
                let v = match sub {
                    Some(sub) => select(&v, sub),
                    None => v,
                };
                out.insert(name.clone(), v);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn gid(id: u64) -> String {
    format!("gid://axonhub/channel/{id}")
}

fn parse_gid(v: Option<&Value>) -> Option<u64> {
    let s = v?.as_str()?;
    s.strip_prefix("gid://axonhub/channel/")?.parse().ok()
}

fn rest_error(status: u16, kind: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"type": kind, "message": message}}),
    )
}

fn gql_error(field: &str, message: &str) -> Reply {
    Reply::ok(&json!({"errors": [{"message": message, "path": [field]}], "data": null}))
}

fn gql_validation(message: &str, path: Option<Vec<String>>) -> Reply {
    let mut e = json!({"message": message, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}});
    if let Some(p) = path {
        e["path"] = json!(p);
    }
    Reply::json(422, &json!({"errors": [e], "data": null}))
}

fn data(field: &str, value: Value) -> Reply {
    let mut d = Map::new();
    d.insert(field.to_string(), value);
    Reply::ok(&json!({ "data": d }))
}

/// Settings after a wholesale replace: Go zero values for everything not given.
fn default_settings(legacy: bool) -> Map<String, Value> {
    let v = if legacy {
        json!({"modelMappings": []})
    } else {
        json!({
            "extraModelPrefix": "", "modelMappings": [], "autoTrimedModelPrefixes": [],
            "hideOriginalModels": false, "hideMappedModels": false, "proxy": null,
            "transformOptions": {"forceArrayInstructions": false, "forceArrayInputs": false,
                                 "replaceDeveloperRoleWithSystem": false},
            "passThroughUserAgent": false,
            "headerOverrideOperations": [], "bodyOverrideOperations": [],
        })
    };
    v.as_object().cloned().unwrap_or_default()
}

/// The operation type, root field name and argument text of a GraphQL document.
#[derive(Debug, PartialEq)]
pub struct RootField {
    pub mutation: bool,
    pub field: String,
    pub args: String,
}

fn ident_at(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// Finds the first root field (aliases skipped), without a full parser.
pub fn root_field(query: &str) -> Option<RootField> {
    let cleaned: String = query
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let open = cleaned.find('{')?;
    let head = cleaned[..open].trim_start();
    let mutation = head.starts_with("mutation");
    if head.starts_with("subscription") || head.starts_with("fragment") {
        return None;
    }
    let rest = cleaned[open + 1..].trim_start();
    let (mut name, mut after) = ident_at(rest);
    if after.trim_start().starts_with(':') {
        let (n, a) = ident_at(after.trim_start()[1..].trim_start());
        name = n;
        after = a;
    }
    if name.is_empty() {
        return None;
    }
    let after = after.trim_start();
    let args = if let Some(inner) = after.strip_prefix('(') {
        let mut depth = 1;
        let mut in_str = false;
        let mut end = inner.len();
        for (i, c) in inner.char_indices() {
            match c {
                '"' => in_str = !in_str,
                '(' if !in_str => depth += 1,
                ')' if !in_str => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        inner[..end].to_string()
    } else {
        String::new()
    };
    Some(RootField {
        mutation,
        field: name.to_string(),
        args,
    })
}

/// An argument of the root field: `$var` from `variables`, or a literal string/number/bool.
pub fn arg(args: &str, name: &str, variables: &Map<String, Value>) -> Option<Value> {
    static LIT: OnceLock<Regex> = OnceLock::new();
    let re = LIT.get_or_init(|| {
        Regex::new(r#"(\w+)\s*:\s*(\$\w+|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)"#)
            .unwrap_or_else(|_| unreachable!("static regex"))
    });
    re.captures_iter(args).find_map(|c| {
        if &c[1] != name {
            return None;
        }
        let raw = &c[2];
        if let Some(var) = raw.strip_prefix('$') {
            return variables.get(var).cloned();
        }
        serde_json::from_str(raw).ok()
    })
}

impl AxonHub {
    fn channel_json(&self, sd: &SeedChannel) -> Map<String, Value> {
        // supportedModels are upstream ids: the channel's plain models plus mapping targets;
        // mapping aliases live in settings.modelMappings (the reverse of New API, §5.2).
        let aliases: Vec<&String> = sd.mapping.iter().map(|(a, _)| a).collect();
        let mut supported: Vec<String> = sd
            .models
            .iter()
            .filter(|m| !aliases.contains(m))
            .cloned()
            .collect();
        for (_, t) in &sd.mapping {
            if !supported.contains(t) {
                supported.push(t.clone());
            }
        }
        // A model added by hand in AxonHub's UI: it is both in supportedModels and manualModels
        // (`internal/server/biz/channel_model_sync.go` keeps manualModels on every sync).
        let manual: Vec<String> = if !self.legacy && sd.id.is_multiple_of(7) {
            vec![format!("{}-manual", sd.name)]
        } else {
            Vec::new()
        };
        supported.extend(manual.iter().cloned());
        let mappings: Vec<Value> = sd
            .mapping
            .iter()
            .map(|(a, t)| json!({"from": a, "to": t}))
            .collect();
        let mut settings = default_settings(self.legacy);
        settings.insert("modelMappings".into(), json!(mappings));
        if !self.legacy {
            if sd.vendor == Vendor::OpenRouter {
                settings.insert(
                    "autoTrimedModelPrefixes".into(),
                    json!(["openai/", "anthropic/"]),
                );
            }
            if sd.id.is_multiple_of(3) {
                settings.insert("extraModelPrefix".into(), json!(sd.name));
                settings.insert("hideOriginalModels".into(), json!(sd.id.is_multiple_of(2)));
            }
            if sd.id.is_multiple_of(4) {
                settings.insert(
                    "proxy".into(),
                    json!({"type": "URL", "url": "http://10.0.0.2:3128", "username": "", "password": ""}),
                );
                settings.insert("passThroughUserAgent".into(), json!(true));
            }
            if sd.id.is_multiple_of(5) {
                // Request overrides set in AxonHub's channel settings dialog.
                settings.insert(
                    "headerOverrideOperations".into(),
                    json!([{"op": "set", "path": "X-Title", "value": "msync-mock"}]),
                );
                settings.insert(
                    "bodyOverrideOperations".into(),
                    json!([{"op": "delete", "path": "metadata"}]),
                );
            }
            if sd.vendor == Vendor::Relay {
                settings.insert(
                    "transformOptions".into(),
                    json!({"forceArrayInstructions": true, "forceArrayInputs": false,
                           "replaceDeveloperRoleWithSystem": true}),
                );
            }
        }
        let created = super::super::state::now_unix() - 86_400 * (100 - (sd.id as i64 % 90));
        let mut v = json!({
            "id": gid(sd.id), "createdAt": rfc(created), "updatedAt": rfc(created),
            "type": sd.vendor.axonhub_type(), "baseURL": sd.base_url, "name": sd.name,
            "status": if sd.status == 1 { "enabled" } else { "disabled" },
            "credentials": {"apiKey": sd.key, "apiKeys": []},
            "supportedModels": supported, "defaultTestModel": sd.test_model.clone().unwrap_or_default(),
            "orderingWeight": sd.priority, "settings": settings, "errorMessage": null,
        });
        if !self.legacy {
            let obj = v.as_object_mut();
            if let Some(obj) = obj {
                obj.insert("manualModels".into(), json!(manual));
                obj.insert("tags".into(), json!(sd.tag.iter().collect::<Vec<_>>()));
                obj.insert("autoSyncSupportedModels".into(), json!(false));
                obj.insert("autoSyncModelPattern".into(), json!(""));
                obj.insert("remark".into(), Value::Null);
                obj.insert("policies".into(), json!({"stream": "unlimited"}));
            }
        }
        v.as_object().cloned().unwrap_or_default()
    }

    /// The channel as a query sees it: credentials only when selected, settings as selected.
    fn view(c: &Map<String, Value>, query: &str) -> Value {
        let mut c = c.clone();
        if !query.contains("credentials") {
            c.insert("credentials".into(), Value::Null);
        }
        if let (Some(sel), Some(settings)) = (settings_selection(query), c.get("settings")) {
            let selected = select(settings, &sel);
            c.insert("settings".into(), selected);
        }
        c.insert("__typename".into(), json!("Channel"));
        Value::Object(c)
    }

    fn signin(&self, st: &mut State, req: &Req) -> Reply {
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            _ => return rest_error(400, "Bad Request", "Invalid request format"),
        };
        let email = body.get("email").and_then(Value::as_str).unwrap_or("");
        let password = body.get("password").and_then(Value::as_str).unwrap_or("");
        let valid_email = email
            .split_once('@')
            .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.ends_with('.'));
        if !valid_email || password.is_empty() {
            return rest_error(400, "Bad Request", "Invalid request format");
        }
        if email != st.config.email || password != st.config.password {
            return rest_error(401, "Unauthorized", "Invalid email or password");
        }
        st.logins += 1;
        let token = fake_jwt(
            &json!({"user_id": st.config.user_id, "exp": now_unix() + 7 * 86_400}),
            &format!("axonhub-{}-{}", st.config.seed, st.logins),
        );
        st.sessions.insert(token.clone());
        Reply::ok(&json!({
            "user": {"id": format!("gid://axonhub/user/{}", st.config.user_id), "email": email,
                     "firstName": "Owner", "lastName": "Mock", "isOwner": true,
                     "preferLanguage": "en", "scopes": ["read_channels", "write_channels"],
                     "roles": [], "projects": []},
            "token": token,
        }))
    }

    /// `WithJWTAuth` (§5.1).
    fn authenticate(&self, st: &State, req: &Req) -> Result<(), Reply> {
        let Some(raw) = req.header("authorization").filter(|v| !v.is_empty()) else {
            return Err(rest_error(401, "Unauthorized", "API key is required"));
        };
        let Some(token) = raw.strip_prefix("Bearer ") else {
            return Err(rest_error(
                401,
                "Unauthorized",
                "invalid token: Authorization header must start with 'Bearer '",
            ));
        };
        let token = token.trim();
        if token.is_empty() || (token != st.config.token && !st.sessions.contains(token)) {
            return Err(rest_error(401, "Unauthorized", "Invalid token"));
        }
        if let Some(p) = req.header("x-project-id") {
            let valid = p
                .strip_prefix("gid://axonhub/project/")
                .is_some_and(|n| n.parse::<u64>().is_ok());
            if !valid {
                return Err(rest_error(400, "Bad Request", "Invalid project ID"));
            }
        }
        Ok(())
    }

    /// Parses a GraphQL POST body (gqlgen's POST transport).
    fn gql_request(req: &Req) -> Result<(String, Map<String, Value>), Reply> {
        if !is_json_content(req) {
            return Err(Reply::json(
                400,
                &json!({"errors": [{"message": "transport not supported"}], "data": null}),
            ));
        }
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            Ok(_) => {
                return Err(Reply::json(
                    400,
                    &json!({"errors": [{"message": "json request body could not be decoded: body is not an object"}], "data": null}),
                ))
            }
            Err(e) => {
                return Err(Reply::json(
                    400,
                    &json!({"errors": [{"message": format!("json request body could not be decoded: {e}")}], "data": null}),
                ))
            }
        };
        let query = body
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let variables = body
            .get("variables")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Ok((query, variables))
    }

    fn query_channels(
        &self,
        st: &State,
        query: &str,
        field: &str,
        input: &Map<String, Value>,
        fault: Option<&FaultKind>,
    ) -> Reply {
        let mut chans: Vec<&Map<String, Value>> = st.channels.values().collect();
        let where_ = input.get("where").and_then(Value::as_object);
        let str_of = |c: &Map<String, Value>, k: &str| {
            c.get(k).and_then(Value::as_str).unwrap_or("").to_string()
        };
        if let Some(w) = where_ {
            if let Some(list) = w.get("statusIn").and_then(Value::as_array) {
                chans.retain(|c| {
                    list.iter()
                        .any(|s| s.as_str() == Some(&str_of(c, "status")))
                });
            }
            if let Some(s) = w.get("status").and_then(Value::as_str) {
                chans.retain(|c| str_of(c, "status") == s);
            }
            if let Some(list) = w.get("typeIn").and_then(Value::as_array) {
                chans.retain(|c| list.iter().any(|s| s.as_str() == Some(&str_of(c, "type"))));
            }
            if let Some(s) = w
                .get("nameContainsFold")
                .or_else(|| w.get("nameContains"))
                .and_then(Value::as_str)
            {
                let s = s.to_lowercase();
                chans.retain(|c| str_of(c, "name").to_lowercase().contains(&s));
            }
        } else {
            // The UI never shows archived channels unless asked.
            chans.retain(|c| str_of(c, "status") != "archived");
        }
        if let Some(tag) = input.get("hasTag").and_then(Value::as_str) {
            chans.retain(|c| {
                c.get("tags")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|x| x.as_str() == Some(tag)))
            });
        }
        if let Some(model) = input.get("model").and_then(Value::as_str) {
            chans.retain(|c| {
                c.get("supportedModels")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|x| x.as_str() == Some(model)))
            });
        }
        let order = input.get("orderBy").and_then(Value::as_object);
        let ofield = order
            .and_then(|o| o.get("field"))
            .and_then(Value::as_str)
            .unwrap_or("ID");
        let desc = order
            .and_then(|o| o.get("direction"))
            .and_then(Value::as_str)
            == Some("DESC");
        let id_of = |c: &Map<String, Value>| parse_gid(c.get("id")).unwrap_or(0);
        chans.sort_by(|a, b| {
            let o = match ofield {
                "ORDERING_WEIGHT" => {
                    let w = |c: &Map<String, Value>| {
                        c.get("orderingWeight").and_then(Value::as_i64).unwrap_or(0)
                    };
                    w(a).cmp(&w(b))
                }
                "NAME" => str_of(a, "name").cmp(&str_of(b, "name")),
                "CREATED_AT" => str_of(a, "createdAt").cmp(&str_of(b, "createdAt")),
                "UPDATED_AT" => str_of(a, "updatedAt").cmp(&str_of(b, "updatedAt")),
                _ => std::cmp::Ordering::Equal,
            }
            .then(id_of(a).cmp(&id_of(b)));
            if desc {
                o.reverse()
            } else {
                o
            }
        });
        let total = chans.len();
        let cursor =
            |c: &Map<String, Value>| super::base64url(format!("[{}]", id_of(c)).as_bytes());
        let mut start = 0usize;
        let mut end = chans.len();
        if let Some(after) = input.get("after").and_then(Value::as_str) {
            match chans.iter().position(|c| cursor(c) == after) {
                Some(p) => start = p + 1,
                None => return gql_error(field, "invalid cursor"),
            }
        }
        if let Some(before) = input.get("before").and_then(Value::as_str) {
            match chans.iter().position(|c| cursor(c) == before) {
                Some(p) => end = p,
                None => return gql_error(field, "invalid cursor"),
            }
        }
        let end = end.max(start);
        let mut window: Vec<&Map<String, Value>> = chans[start..end].to_vec();
        let mut has_next = false;
        let mut has_prev = start > 0;
        if let Some(first) = input.get("first").and_then(Value::as_u64) {
            has_next = window.len() as u64 > first;
            window.truncate(first as usize);
        }
        if let Some(last) = input.get("last").and_then(Value::as_u64) {
            if window.len() as u64 > last {
                has_prev = true;
                window = window.split_off(window.len() - last as usize);
            }
        }
        let edges: Vec<Value> = window
            .iter()
            .map(|c| json!({"node": Self::view(c, query), "cursor": cursor(c)}))
            .collect();
        let page_info = json!({
            "hasNextPage": has_next, "hasPreviousPage": has_prev,
            "startCursor": window.first().map(|c| cursor(c)),
            "endCursor": window.last().map(|c| cursor(c)),
        });
        if matches!(fault, Some(FaultKind::NullList)) {
            return data(
                field,
                json!({"edges": null, "pageInfo": page_info, "totalCount": total}),
            );
        }
        data(
            field,
            json!({"edges": edges, "pageInfo": page_info, "totalCount": total}),
        )
    }

    fn fetch_models(
        &self,
        st: &State,
        input: &Map<String, Value>,
        fault: Option<&FaultKind>,
    ) -> Reply {
        let payload = |models: Value, error: Option<String>| {
            data("fetchModels", json!({"models": models, "error": error}))
        };
        let fail = |e: String| payload(json!([]), Some(e));
        let ty = input
            .get("channelType")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !TYPES.contains(&ty) {
            return fail(format!("invalid channel type: {ty}"));
        }
        let api_key = input
            .get("apiKey")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty());
        let source = match (api_key, input.get("channelID").filter(|v| !v.is_null())) {
            (Some(key), _) => find_by_key(st, key),
            (None, Some(id)) => match parse_gid(Some(id)) {
                Some(id)
                    if st.channels.contains_key(&id)
                        && !matches!(fault, Some(FaultKind::ChannelDeleted)) =>
                {
                    Some(id)
                }
                _ => return fail("failed to get channel: ent: channel not found".into()),
            },
            (None, None) => return fail("API key is required".into()),
        };
        match fault {
            Some(FaultKind::UpstreamStatus { status }) => {
                return fail(format!("failed to fetch models: {status}"))
            }
            Some(FaultKind::UpstreamNonJson) => {
                return fail(
                    "failed to parse models response: invalid character '<' looking for beginning of value"
                        .into(),
                )
            }
            _ => {}
        }
        let Some(id) = source else {
            return fail("failed to fetch models: 401".into());
        };
        if ty == "volcengine" {
            return payload(json!([]), None);
        }
        let mut names: Vec<String> = Vec::new();
        for m in st.upstream.get(&id).cloned().unwrap_or_default() {
            if !names.contains(&m) {
                names.push(m);
            }
        }
        let names = faulted_names(fault, &names).unwrap_or(names);
        if matches!(fault, Some(FaultKind::NullList)) {
            return payload(Value::Null, None);
        }
        let models: Vec<Value> = names.into_iter().map(|n| json!({"id": n})).collect();
        payload(json!(models), None)
    }

    fn update_channel(
        &self,
        st: &mut State,
        query: &str,
        args: &str,
        variables: &Map<String, Value>,
        fault: Option<&FaultKind>,
    ) -> Reply {
        const F: &str = "updateChannel";
        let Some(id) = parse_gid(arg(args, "id", variables).as_ref()) else {
            return gql_error(F, "invalid channel id");
        };
        let input = match arg(args, "input", variables) {
            Some(Value::Object(o)) => o,
            _ => {
                return gql_validation(
                    "input: must be defined",
                    Some(vec!["variable".into(), "input".into()]),
                )
            }
        };
        let allowed = if self.legacy {
            UPDATE_INPUT_V011
        } else {
            UPDATE_INPUT
        };
        if let Some(unknown) = input.keys().find(|k| !allowed.contains(&k.as_str())) {
            return gql_validation(
                "unknown field",
                Some(vec!["variable".into(), "input".into(), unknown.clone()]),
            );
        }
        for list in ["supportedModels", "manualModels", "tags"] {
            if let Some(v) = input.get(list).filter(|v| !v.is_null()) {
                let ok = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
                if !ok {
                    return gql_validation(
                        "cannot use value as [String!]",
                        Some(vec!["variable".into(), "input".into(), list.into()]),
                    );
                }
            }
        }
        let Some(mut ch) = st.channels.get(&id).cloned() else {
            return gql_error(F, "ent: channel not found");
        };
        if matches!(fault, Some(FaultKind::ChannelDeleted)) {
            return gql_error(F, "ent: channel not found");
        }
        if let Some(name) = input.get("name").and_then(Value::as_str) {
            let clash = st.channels.iter().any(|(other, c)| {
                *other != id && c.get("name").and_then(Value::as_str) == Some(name)
            });
            if clash {
                return gql_error(F, &format!("channel with name '{name}' already exists"));
            }
        }
        if let Some(settings) = input.get("settings").filter(|v| !v.is_null()) {
            let Some(given) = settings.as_object() else {
                return gql_validation(
                    "settings: must be an object",
                    Some(vec!["variable".into(), "input".into(), "settings".into()]),
                );
            };
            let keys: &[&str] = if self.legacy {
                &["modelMappings"]
            } else {
                SETTINGS_KEYS
            };
            if let Some(unknown) = given.keys().find(|k| !keys.contains(&k.as_str())) {
                return gql_validation(
                    "unknown field",
                    Some(vec![
                        "variable".into(),
                        "input".into(),
                        "settings".into(),
                        unknown.clone(),
                    ]),
                );
            }
            if let Some(m) = given.get("modelMappings").filter(|v| !v.is_null()) {
                let ok = m.as_array().is_some_and(|a| {
                    a.iter().all(|x| {
                        x.get("from").is_some_and(Value::is_string)
                            && x.get("to").is_some_and(Value::is_string)
                    })
                });
                if !ok {
                    return gql_validation(
                        "modelMappings: from and to must be strings",
                        Some(vec![
                            "variable".into(),
                            "input".into(),
                            "settings".into(),
                            "modelMappings".into(),
                        ]),
                    );
                }
            }
            // mut.SetSettings(input.Settings): the whole JSON is replaced (§5.4).
            let mut replaced = default_settings(self.legacy);
            for (k, v) in given {
                if !v.is_null() {
                    replaced.insert(k.clone(), v.clone());
                }
            }
            ch.insert("settings".into(), Value::Object(replaced));
        }
        // Plain setters; the append*/clear{ManualModels,Tags,Settings,Policies}/status inputs are
        // accepted by the schema and ignored by the service (§5.4).
        for k in [
            "type",
            "baseURL",
            "name",
            "credentials",
            "supportedModels",
            "manualModels",
            "autoSyncSupportedModels",
            "autoSyncModelPattern",
            "tags",
            "defaultTestModel",
            "policies",
            "orderingWeight",
            "errorMessage",
            "remark",
        ] {
            if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
                ch.insert(k.to_string(), v.clone());
            }
        }
        let flag = |k: &str| input.get(k).and_then(Value::as_bool) == Some(true);
        if flag("clearBaseURL") {
            ch.insert("baseURL".into(), Value::Null);
        }
        if flag("clearAutoSyncModelPattern") {
            ch.insert("autoSyncModelPattern".into(), json!(""));
        }
        if flag("clearErrorMessage") {
            ch.insert("errorMessage".into(), Value::Null);
        }
        if flag("clearRemark") {
            ch.insert("remark".into(), Value::Null);
        }
        ch.insert("updatedAt".into(), json!(rfc(now_unix())));
        st.channels.insert(id, ch.clone());
        st.count_write(id);
        data(F, Self::view(&ch, query))
    }

    fn graphql(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let (query, variables) = match Self::gql_request(req) {
            Ok(q) => q,
            Err(r) => return r,
        };
        if query.trim().is_empty() {
            return gql_validation("no operation provided", None);
        }
        let Some(root) = root_field(&query) else {
            return gql_validation("could not parse the operation", None);
        };
        let on = if root.mutation { "Mutation" } else { "Query" };
        let unknown = || {
            gql_validation(
                &format!("Cannot query field \"{}\" on type \"{on}\".", root.field),
                None,
            )
        };
        let input = || match arg(&root.args, "input", &variables) {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
        match (root.mutation, root.field.as_str()) {
            (false, "queryChannels") => {
                self.query_channels(st, &query, "queryChannels", &input(), fault)
            }
            (false, "channels") => {
                let mut args = Map::new();
                for k in ["after", "first", "before", "last", "orderBy", "where"] {
                    if let Some(v) = arg(&root.args, k, &variables) {
                        args.insert(k.into(), v);
                    }
                }
                self.query_channels(st, &query, "channels", &args, fault)
            }
            (false, "node") => {
                let id = parse_gid(arg(&root.args, "id", &variables).as_ref());
                match id.and_then(|id| st.channels.get(&id)) {
                    Some(_) if matches!(fault, Some(FaultKind::ChannelDeleted)) => Reply::ok(
                        &json!({"errors": [{"message": "ent: channel not found", "path": ["node"]}], "data": {"node": null}}),
                    ),
                    Some(c) => {
                        let mut v = Self::view(c, &query);
                        // Prices are out of scope for now (ratio task): an empty set.
                        v["channelModelPrices"] = json!([]);
                        data("node", v)
                    }
                    None => Reply::ok(
                        &json!({"errors": [{"message": "ent: channel not found", "path": ["node"]}], "data": {"node": null}}),
                    ),
                }
            }
            (false, "fetchModels") if !self.legacy => self.fetch_models(st, &input(), fault),
            (true, "testChannel") => {
                let input = input();
                let model = input.get("modelID").and_then(Value::as_str).unwrap_or("");
                match crate::probe::graphql_test(st, parse_gid(input.get("channelID")), model) {
                    Ok(v) => data("testChannel", v),
                    Err(m) => gql_error("testChannel", &m),
                }
            }
            (true, "updateChannel") => {
                self.update_channel(st, &query, &root.args, &variables, fault)
            }
            // Schema introspection (gqlgen answers it unless disabled).
            (false, "__type") => {
                let name = arg(&root.args, "name", &variables);
                let name = name.as_ref().and_then(Value::as_str).unwrap_or("");
                Reply::ok(&json!({ "data": introspect(name, self.legacy) }))
            }
            (true, "updateChannelStatus") => {
                let id = parse_gid(arg(&root.args, "id", &variables).as_ref());
                let status = arg(&root.args, "status", &variables);
                let status = status.as_ref().and_then(Value::as_str).unwrap_or("");
                if !["enabled", "disabled", "archived"].contains(&status) {
                    return gql_validation("status: invalid enum value", None);
                }
                match id.and_then(|id| st.channels.get_mut(&id).map(|c| (id, c))) {
                    Some((id, c)) => {
                        c.insert("status".into(), json!(status));
                        let v = Self::view(c, &query);
                        st.count_write(id);
                        data("updateChannelStatus", v)
                    }
                    None => gql_error("updateChannelStatus", "ent: channel not found"),
                }
            }
            _ => unknown(),
        }
    }
}

fn find_by_key(st: &State, key: &str) -> Option<u64> {
    st.channels
        .iter()
        .find(|(_, c)| {
            let cred = c.get("credentials");
            cred.and_then(|c| c.get("apiKey")).and_then(Value::as_str) == Some(key)
                || cred
                    .and_then(|c| c.get("apiKeys"))
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|k| k.as_str() == Some(key)))
        })
        .map(|(id, _)| *id)
}

fn rfc(secs: i64) -> String {
    super::octopus::rfc3339(secs)
}

impl FlavorApi for AxonHub {
    fn seed(&self, st: &mut State, seeds: &[SeedChannel]) {
        for sd in seeds {
            st.channels.insert(sd.id, self.channel_json(sd));
            st.upstream.insert(sd.id, sd.upstream.clone());
        }
    }

    fn classify(&self, st: &State, req: &Req) -> (Op, Option<u64>) {
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/admin/auth/signin") => (Op::Login, None),
            ("POST", "/admin/graphql") => {
                let Ok((query, variables)) = Self::gql_request(req) else {
                    return (Op::Other, None);
                };
                let Some(root) = root_field(&query) else {
                    return (Op::Other, None);
                };
                let input = || arg(&root.args, "input", &variables);
                match root.field.as_str() {
                    "queryChannels" | "channels" => (Op::ListChannels, None),
                    "node" => (
                        Op::GetChannel,
                        parse_gid(arg(&root.args, "id", &variables).as_ref()),
                    ),
                    "fetchModels" => {
                        let input = input();
                        let by_id = input.as_ref().and_then(|i| parse_gid(i.get("channelID")));
                        let by_key = input
                            .as_ref()
                            .and_then(|i| i.get("apiKey"))
                            .and_then(Value::as_str)
                            .and_then(|k| find_by_key(st, k));
                        (Op::FetchModels, by_key.or(by_id))
                    }
                    "testChannel" => (
                        Op::TestChannel,
                        input().as_ref().and_then(|i| parse_gid(i.get("channelID"))),
                    ),
                    "updateChannel" | "updateChannelStatus" => (
                        Op::UpdateChannel,
                        parse_gid(arg(&root.args, "id", &variables).as_ref()),
                    ),
                    _ => (Op::Other, None),
                }
            }
            _ => (Op::Other, None),
        }
    }

    fn handle(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/admin/auth/signin") => self.signin(st, req),
            ("POST", "/admin/graphql") => match self.authenticate(st, req) {
                Ok(()) => self.graphql(st, req, fault),
                Err(r) => r,
            },
            // Normal API keys or no auth on /openapi: keys never reach channels (§5.1).
            ("POST", "/openapi/v1/graphql") => rest_error(401, "Unauthorized", "Invalid API key"),
            _ => Reply::text(404, "text/plain", "404 page not found"),
        }
    }

    fn business_error(&self, _st: &State, req: &Req, message: &str) -> Reply {
        let field = Self::gql_request(req)
            .ok()
            .and_then(|(q, _)| root_field(&q))
            .map(|r| r.field)
            .unwrap_or_else(|| "query".into());
        gql_error(&field, message)
    }

    fn status_error(&self, _st: &State, _req: &Req, status: u16) -> Reply {
        match status {
            401 => rest_error(401, "Unauthorized", "Invalid token"),
            403 => rest_error(403, "Forbidden", "permission denied"),
            400 => rest_error(400, "Bad Request", "Invalid request format"),
            s => rest_error(s, "Internal Server Error", "Internal server error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_fields_are_found() {
        let q = "# list\nquery QueryChannels($input: QueryChannelInput!) {\n  queryChannels(input: $input) { edges { node { id } } } }";
        let r = root_field(q).unwrap();
        assert_eq!(
            (r.mutation, r.field.as_str(), r.args.as_str()),
            (false, "queryChannels", "input: $input")
        );
        let r = root_field(
            "mutation { u: updateChannel(id: \"gid://axonhub/channel/5\", input: $in) { id } }",
        )
        .unwrap();
        assert!(r.mutation);
        assert_eq!(r.field, "updateChannel");
        let vars = json!({"in": {"name": "x"}}).as_object().cloned().unwrap();
        assert_eq!(
            arg(&r.args, "id", &vars),
            Some(json!("gid://axonhub/channel/5"))
        );
        assert_eq!(arg(&r.args, "input", &vars), Some(json!({"name": "x"})));
        assert_eq!(arg(&r.args, "other", &vars), None);
        let r = root_field("{ node(id: \"gid://axonhub/channel/2\") { id } }").unwrap();
        assert_eq!(r.field, "node");
        assert!(root_field("subscription { x }").is_none());
    }
}

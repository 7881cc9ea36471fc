//! New API ratio sync and options — `docs/admin-apis.md` §1.6–1.7, `docs/ratios.md`.
//!
//! * `GET /api/ratio_sync/channels` (root): channels with a base URL, then the presets −100/−101.
//! * `POST /api/ratio_sync/fetch` (root): fetches every upstream **for real** when it is another
//!   server on 127.0.0.1 (another mock), or from a canned source registered by URL (the official
//!   preset and models.dev are registered by default). Any other host fails like a DNS error; the
//!   mock never leaves the machine. 8 at once, 3 tries on transport errors (back-off 200/400 ms),
//!   `timeout` seconds per try, 10 MB limit, non-200 = `resp.Status` (`"403 Forbidden"`).
//!   Differences are built like `buildDifferences`, with `"same"`/`null` markers and confidence.
//! * `GET /api/ratio_config` (public): 403 `倍率配置接口未启用` unless `ExposeRatioEnabled` is
//!   `"true"`. `GET /api/pricing` (public): type2 rows; models without a price get 37.5 / 1.
//! * `GET /api/option/` (root): every option but secrets; `PUT /api/option/` replaces one option
//!   whole, with the current handler's value coercions and validation order.

use crate::state::{Reply, Req, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const OFFICIAL_PRESET_URL: &str =
    "https://basellm.github.io/llm-metadata/api/newapi/ratio_config-v1-base.json";
pub const MODELS_DEV_URL: &str = "https://models.dev/api.json";
const OFFICIAL_NAME: &str = "官方倍率预设";
const MODELS_DEV_NAME: &str = "models.dev 价格预设";

/// The ten compared fields (since 2026-04-26) with their option keys.
pub const FIELDS: [(&str, &str); 10] = [
    ("model_ratio", "ModelRatio"),
    ("completion_ratio", "CompletionRatio"),
    ("cache_ratio", "CacheRatio"),
    ("create_cache_ratio", "CreateCacheRatio"),
    ("image_ratio", "ImageRatio"),
    ("audio_ratio", "AudioRatio"),
    ("audio_completion_ratio", "AudioCompletionRatio"),
    ("model_price", "ModelPrice"),
    ("billing_mode", "billing_setting.billing_mode"),
    ("billing_expr", "billing_setting.billing_expr"),
];
/// Before 2026-04-26 (era A builds) only these were compared.
const OLD_FIELDS: [&str; 4] = [
    "model_ratio",
    "completion_ratio",
    "cache_ratio",
    "model_price",
];

/// What a canned upstream URL answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CannedSource {
    /// HTTP 200 with this JSON body.
    Json { body: Value },
    /// Any status and raw body (malformed data, HTML, a 403).
    Text { status: u16, body: String },
    /// Never answers (the fetch times out).
    Hang,
}

/// Options and canned sources, inside the server state.
#[derive(Debug, Clone)]
pub struct RatioState {
    /// Every option as stored (`common.OptionMap`): key → string.
    pub options: BTreeMap<String, String>,
    /// Canned upstream answers by full URL.
    pub sources: BTreeMap<String, CannedSource>,
    /// Successful `PUT /api/option/` calls, in order: (key, stored value).
    pub writes: Vec<(String, String)>,
}

impl Default for RatioState {
    fn default() -> Self {
        let options = [
            (
                "ModelRatio",
                r#"{"gpt-4o":1.25,"gpt-4o-mini":0.075,"deepseek-chat":0.07,"claude-sonnet-4":1.5}"#,
            ),
            (
                "CompletionRatio",
                r#"{"gpt-4o":4,"gpt-4o-mini":4,"deepseek-chat":2,"claude-sonnet-4":5}"#,
            ),
            ("CacheRatio", r#"{"gpt-4o":0.5,"deepseek-chat":0.1}"#),
            ("CreateCacheRatio", r#"{"claude-sonnet-4":1.25}"#),
            ("ImageRatio", r#"{"gpt-image-1":2}"#),
            ("AudioRatio", r#"{"gpt-4o-audio-preview":16}"#),
            ("AudioCompletionRatio", r#"{"gpt-4o-audio-preview":2}"#),
            ("ModelPrice", r#"{"dall-e-3":0.04}"#),
            ("billing_setting.billing_mode", "{}"),
            ("billing_setting.billing_expr", "{}"),
            ("GroupRatio", r#"{"default":1,"vip":1}"#),
            ("ExposeRatioEnabled", "false"),
            ("SystemName", "New API"),
            ("GitHubClientSecret", "mock-github-secret"),
            ("SMTPToken", "mock-smtp-token"),
        ];
        let mut sources = BTreeMap::new();
        sources.insert(
            OFFICIAL_PRESET_URL.to_string(),
            CannedSource::Json {
                body: json!({"data":{
                    "billing_expr":{"gpt-5.4":"len <= 272000 ? tier(\"0_272k\", p * 2.5 + c * 15 + cr * 0.25) : tier(\"272k+\", p * 5 + c * 22.5 + cr * 0.5)"},
                    "billing_mode":{"gpt-5.4":"tiered_expr"},
                    "cache_ratio":{"deepseek-chat":0.019999999999999997,"gpt-4o":0.5},
                    "completion_ratio":{"deepseek-chat":2,"gpt-4o":4,"gpt-5.4":8},
                    "model_price":{},
                    "model_ratio":{"deepseek-chat":0.07,"gpt-4o":1.25,"gpt-5.4":1.25,"qwen-max":0.8}},
                    "message":"","success":true}),
            },
        );
        sources.insert(
            MODELS_DEV_URL.to_string(),
            CannedSource::Json {
                body: json!({
                    "openai":{"id":"openai","models":{
                        "gpt-4o":{"id":"gpt-4o","cost":{"input":2.5,"output":10,"cache_read":1.25}},
                        "gpt-4o-mini":{"id":"gpt-4o-mini","cost":{"input":0.15,"output":0.6}}}},
                    "azure":{"id":"azure","models":{
                        "gpt-4o":{"id":"gpt-4o","cost":{"input":2.75,"output":11}}}},
                    "deepseek":{"id":"deepseek","models":{
                        "deepseek-chat":{"id":"deepseek-chat","cost":{"input":0.28,"output":0.42,"cache_read":0.028}}}}
                }),
            },
        );
        RatioState {
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sources,
            writes: Vec::new(),
        }
    }
}

/// A JSON object option parsed leniently (anything else = empty, like the reset in-memory map).
pub fn option_map(st: &State, key: &str) -> Map<String, Value> {
    st.ratio
        .options
        .get(key)
        .and_then(|v| serde_json::from_str::<Value>(v).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

/// The local data for a diff: field → model → value.
fn local_data(st: &State) -> BTreeMap<String, Map<String, Value>> {
    FIELDS
        .iter()
        .map(|(f, key)| (f.to_string(), option_map(st, key)))
        .collect()
}

fn ok(data: Value) -> Reply {
    Reply::ok(&json!({"success": true, "message": "", "data": data}))
}

fn fail(message: &str) -> Reply {
    Reply::ok(&json!({"success": false, "message": message}))
}

/// `GET /api/ratio_sync/channels` (§1.6).
pub fn channels(st: &State) -> Reply {
    let mut out: Vec<Value> = st
        .channels
        .values()
        .filter(|c| {
            c.get("base_url")
                .and_then(Value::as_str)
                .is_some_and(|b| !b.is_empty())
        })
        .map(|c| {
            json!({"id": c.get("id"), "name": c.get("name"), "base_url": c.get("base_url"),
                   "status": c.get("status"), "type": c.get("type")})
        })
        .collect();
    out.push(json!({"id": -100, "name": OFFICIAL_NAME, "base_url": "https://basellm.github.io", "status": 1, "type": 0}));
    out.push(json!({"id": -101, "name": MODELS_DEV_NAME, "base_url": "https://models.dev", "status": 1, "type": 0}));
    ok(Value::Array(out))
}

/// `GET /api/option/` (root): secrets hidden; era B adds `CompletionRatioMeta`.
pub fn get_options(st: &State, era_b: bool) -> Reply {
    let hidden = |k: &str| {
        ["Token", "Secret", "Key", "secret", "api_key"]
            .iter()
            .any(|s| k.ends_with(s))
    };
    let mut data: Vec<Value> = st
        .ratio
        .options
        .iter()
        .filter(|(k, _)| !hidden(k))
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    if era_b {
        // `controller/option.go` `buildCompletionRatioMetaValue`: every model named in these
        // option maps, with `GetCompletionRatioInfo` (the enforced ratio and `locked` for a
        // built-in one, else the configured one).
        let keys = [
            "ModelPrice",
            "ModelRatio",
            "CompletionRatio",
            "CacheRatio",
            "CreateCacheRatio",
            "ImageRatio",
            "AudioRatio",
            "AudioCompletionRatio",
        ];
        let configured = option_map(st, "CompletionRatio");
        let mut names = std::collections::BTreeSet::new();
        for k in keys {
            names.extend(option_map(st, k).into_iter().map(|(m, _)| m));
        }
        let meta: Map<String, Value> = names
            .into_iter()
            .map(|m| {
                let set = configured.get(&m).cloned();
                let info = match (m.contains('/') && set.is_some(), locked_completion(&m)) {
                    (false, Some(r)) => json!({"ratio": r, "locked": true}),
                    _ => json!({"ratio": set.unwrap_or(json!(1)), "locked": false}),
                };
                (m, info)
            })
            .collect();
        data.push(json!({"key": "CompletionRatioMeta", "value": Value::Object(meta).to_string()}));
    }
    ok(Value::Array(data))
}

/// The completion ratio New API enforces for a built-in model, whatever `CompletionRatio` says
/// (QuantumNous/new-api `setting/ratio_setting/model_ratio.go` `getHardcodedCompletionModelRatio`,
/// its `locked` branches; names ending `-all` or `-gizmo-*` are never locked). Unlocked fallbacks
/// (gpt-4o 4, gemini-2.5 …) are not modelled: msync only reads `locked`.
pub fn locked_completion(name: &str) -> Option<f64> {
    if name.ends_with("-all") || name.ends_with("-gizmo-*") {
        return None;
    }
    let has = |p: &str| name.starts_with(p);
    if has("gpt-") {
        if has("gpt-4o") {
            return (name == "gpt-4o-2024-05-13").then_some(3.0);
        }
        if has("gpt-5") {
            return if !name.contains('.') {
                Some(8.0)
            } else if has("gpt-5.4-nano") {
                Some(6.25)
            } else if has("gpt-5.4") {
                Some(6.0)
            } else {
                None
            };
        }
        if has("gpt-4.5-preview") {
            return Some(2.0);
        }
        if has("gpt-4-turbo") || name.ends_with("gpt-4-1106") || name.ends_with("gpt-4-1105") {
            return Some(3.0);
        }
        if !has("gpt-3.5") {
            return None;
        }
    }
    if has("o1") || has("o3") {
        return Some(4.0);
    }
    if name == "chatgpt-4o-latest" {
        return Some(3.0);
    }
    if [
        "claude-3",
        "claude-sonnet-4",
        "claude-opus-4",
        "claude-haiku-4",
    ]
    .iter()
    .any(|c| name.contains(c))
    {
        return Some(5.0);
    }
    if has("gpt-3.5") {
        return Some(if name == "gpt-3.5-turbo" || name.ends_with("0125") {
            3.0
        } else if name.ends_with("1106") {
            2.0
        } else {
            4.0 / 3.0
        });
    }
    if has("mistral-") {
        return Some(3.0);
    }
    if has("gemini-1.5") || has("gemini-2.0") {
        return Some(4.0);
    }
    match name {
        "command-r" => return Some(3.0),
        "command-r-plus" => return Some(5.0),
        "command-r-08-2024" | "command-r-plus-08-2024" => return Some(4.0),
        "llama2-70b-4096" => return Some(0.8 / 0.64),
        "llama3-8b-8192" => return Some(2.0),
        "llama3-70b-8192" => return Some(0.79 / 0.59),
        _ => {}
    }
    [
        "ERNIE-Speed-",
        "ERNIE-Lite-",
        "ERNIE-Character",
        "ERNIE-Functions",
    ]
    .iter()
    .any(|p| has(p))
    .then_some(2.0)
}

/// Go's `fmt.Sprintf("%v")` for a decoded JSON value, roughly.
fn go_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_v).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => format!(
            "map[{}]",
            o.iter()
                .map(|(k, v)| format!("{k}:{}", go_v(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// `PUT /api/option/` (§1.7). `strict` = the old handler (value must be a string).
pub fn put_option(st: &mut State, req: &Req, strict: bool) -> Reply {
    let bad = || Reply::json(400, &json!({"success": false, "message": "无效的参数"}));
    let Ok(Value::Object(body)) = req.json() else {
        return bad();
    };
    let Some(key) = body.get("key").and_then(Value::as_str).map(str::to_string) else {
        return bad();
    };
    let value = match body.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(_) | None if strict => return bad(),
        Some(v @ (Value::Bool(_) | Value::Number(_))) => v.to_string(),
        Some(v) => go_v(v),
        None => String::new(),
    };
    let validated_first = [
        "ImageRatio",
        "AudioRatio",
        "AudioCompletionRatio",
        "CreateCacheRatio",
        "GroupRatio",
    ];
    let saved_then_parsed = ["ModelRatio", "CompletionRatio", "CacheRatio", "ModelPrice"];
    let parse_err = |v: &str| -> Option<String> {
        match serde_json::from_str::<Value>(v) {
            Ok(Value::Object(m)) => m.iter().find(|(_, x)| !x.is_number()).map(|(k, x)| {
                format!(
                    "json: cannot unmarshal {} into Go value of type float64 ({k})",
                    crate::flavors::new_api::json_kind(x)
                )
            }),
            Ok(other) => Some(format!(
                "json: cannot unmarshal {} into Go value of type map[string]float64",
                crate::flavors::new_api::json_kind(&other)
            )),
            Err(e) => Some(format!("invalid character in JSON: {e}")),
        }
    };
    if validated_first.contains(&key.as_str()) {
        if let Some(e) = parse_err(&value) {
            return fail(&e);
        }
    }
    st.ratio.options.insert(key.clone(), value.clone());
    st.ratio.writes.push((key.clone(), value.clone()));
    if saved_then_parsed.contains(&key.as_str()) {
        if let Some(e) = parse_err(&value) {
            // Saved to the DB; the in-memory map is now empty/partial.
            return fail(&e);
        }
    }
    Reply::ok(&json!({"success": true, "message": ""}))
}

/// `GET /api/ratio_config` (public, §1.6).
pub fn ratio_config(st: &State) -> Reply {
    if st
        .ratio
        .options
        .get("ExposeRatioEnabled")
        .map(String::as_str)
        != Some("true")
    {
        return Reply::json(
            403,
            &json!({"success": false, "message": "倍率配置接口未启用"}),
        );
    }
    let m = |k: &str| Value::Object(option_map(st, k));
    ok(json!({
        "model_ratio": m("ModelRatio"), "completion_ratio": m("CompletionRatio"),
        "cache_ratio": m("CacheRatio"), "create_cache_ratio": m("CreateCacheRatio"),
        "model_price": m("ModelPrice"),
    }))
}

/// `GET /api/pricing` (public, type2 rows, §1.6).
pub fn pricing(st: &State, era_b: bool) -> Reply {
    let ratio = option_map(st, "ModelRatio");
    let completion = option_map(st, "CompletionRatio");
    let price = option_map(st, "ModelPrice");
    let mut models: BTreeSet<String> = ratio.keys().chain(price.keys()).cloned().collect();
    for c in st.channels.values() {
        if c.get("status").and_then(Value::as_i64) == Some(1) {
            if let Some(list) = c.get("models").and_then(Value::as_str) {
                models.extend(crate::state::split_csv(list));
            }
        }
    }
    let extras = [
        ("cache_ratio", option_map(st, "CacheRatio")),
        ("create_cache_ratio", option_map(st, "CreateCacheRatio")),
        ("image_ratio", option_map(st, "ImageRatio")),
        ("audio_ratio", option_map(st, "AudioRatio")),
        (
            "audio_completion_ratio",
            option_map(st, "AudioCompletionRatio"),
        ),
    ];
    let modes = option_map(st, "billing_setting.billing_mode");
    let exprs = option_map(st, "billing_setting.billing_expr");
    let rows: Vec<Value> = models
        .iter()
        .map(|m| {
            let mut row = if let Some(p) = price.get(m) {
                json!({"model_name": m, "quota_type": 1, "model_ratio": 0, "model_price": p,
                       "completion_ratio": 0, "owner_by": "", "enable_groups": ["default"]})
            } else {
                // An unpriced model shows New API's defaults: 37.5 and 1.
                json!({"model_name": m, "quota_type": 0,
                       "model_ratio": ratio.get(m).cloned().unwrap_or(json!(37.5)),
                       "model_price": 0,
                       "completion_ratio": completion.get(m).cloned().unwrap_or(json!(1)),
                       "owner_by": "", "enable_groups": ["default"]})
            };
            if era_b {
                let obj = row.as_object_mut().expect("literal object");
                for (name, map) in &extras {
                    if let Some(v) = map.get(m) {
                        obj.insert(name.to_string(), v.clone());
                    }
                }
                if let (Some(mode), Some(expr)) = (modes.get(m), exprs.get(m)) {
                    obj.insert("billing_mode".into(), mode.clone());
                    obj.insert("billing_expr".into(), expr.clone());
                }
            }
            row
        })
        .collect();
    Reply::ok(
        &json!({"success": true, "data": rows, "group_ratio": Value::Object(option_map(st, "GroupRatio")),
                      "usable_group": {"default": "default group"}, "supported_endpoint": {},
                      "vendors": [], "auto_groups": [], "pricing_version": "mock"}),
    )
}

/// One upstream to fetch, resolved under the lock.
#[derive(Debug, Clone)]
pub struct PlannedUpstream {
    /// `name(id)` or `name`.
    pub display: String,
    pub url: Result<String, String>,
    pub canned: Option<CannedSource>,
}

/// Everything `POST /api/ratio_sync/fetch` needs after the lock is released.
#[derive(Debug, Clone)]
pub struct FetchPlan {
    pub upstreams: Vec<PlannedUpstream>,
    pub timeout_s: u64,
    pub local: BTreeMap<String, Map<String, Value>>,
    pub fields: Vec<&'static str>,
}

/// Parses the fetch body and resolves upstreams (§1.6). `Err` = the answer to send right away.
pub fn plan_fetch(st: &State, req: &Req, era_b: bool) -> Result<FetchPlan, Reply> {
    let bad = || {
        Reply::json(
            400,
            &json!({"success": false, "message": "请求参数格式错误"}),
        )
    };
    let Ok(Value::Object(body)) = req.json() else {
        return Err(bad());
    };
    let default_endpoint = if era_b {
        "/api/pricing"
    } else {
        "/api/ratio_config"
    };
    let timeout_s = match body.get("timeout") {
        None | Some(Value::Null) => 10,
        Some(v) => match v.as_u64() {
            Some(0) => 10,
            Some(t) => t,
            None => return Err(bad()),
        },
    };
    let mut items: Vec<(i64, String, String, String)> = Vec::new();
    match body.get("upstreams") {
        Some(Value::Array(ups)) if !ups.is_empty() => {
            for u in ups {
                let Some(o) = u.as_object() else {
                    return Err(bad());
                };
                let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let id = o.get("id").and_then(Value::as_i64).unwrap_or(0);
                items.push((id, s("name"), s("base_url"), s("endpoint")));
            }
        }
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            if let Some(Value::Array(ids)) = body.get("channel_ids") {
                for id in ids.iter().filter_map(Value::as_u64) {
                    if let Some(c) = st.channels.get(&id) {
                        let s =
                            |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                        items.push((id as i64, s("name"), s("base_url"), String::new()));
                    }
                }
            }
        }
        Some(_) => return Err(bad()),
    }
    let mut upstreams = Vec::new();
    for (id, name, base, endpoint) in items {
        if !base.starts_with("http") {
            continue;
        }
        let base = base.trim_end_matches('/').to_string();
        let display = if id != 0 {
            format!("{name}({id})")
        } else {
            name.clone()
        };
        let endpoint = if endpoint.is_empty() {
            default_endpoint.to_string()
        } else {
            endpoint
        };
        let url = if endpoint == "openrouter" {
            Err("openrouter endpoint: the mock has no OpenRouter".to_string())
        } else if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
            Ok(endpoint)
        } else if endpoint.starts_with('/') {
            Ok(format!("{base}{endpoint}"))
        } else {
            Ok(format!("{base}/{endpoint}"))
        };
        let canned = url
            .as_ref()
            .ok()
            .and_then(|u| st.ratio.sources.get(u).cloned());
        upstreams.push(PlannedUpstream {
            display,
            url,
            canned,
        });
    }
    if upstreams.is_empty() {
        return Err(fail("无有效上游渠道"));
    }
    let fields: Vec<&'static str> = if era_b {
        FIELDS.iter().map(|(f, _)| *f).collect()
    } else {
        OLD_FIELDS.to_vec()
    };
    Ok(FetchPlan {
        upstreams,
        timeout_s,
        local: local_data(st),
        fields,
    })
}

type Data = BTreeMap<String, Map<String, Value>>;

fn is_loopback(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host_port = rest.split(['/', '?']).next().unwrap_or("");
    let host = host_port
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host_port);
    Some(host.to_string())
}

/// One try over HTTP; `Err((transport, message))`.
async fn get_once(
    client: &reqwest::Client,
    url: &str,
    timeout_s: u64,
) -> Result<(u16, String, Vec<u8>), (bool, String)> {
    let resp = client
        .get(url)
        .timeout(Duration::from_secs(timeout_s))
        .send()
        .await
        .map_err(|e| {
            let what = if e.is_timeout() {
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                    .to_string()
            } else {
                "connect: connection refused".to_string()
            };
            (true, format!("Get \"{url}\": {what}"))
        })?;
    let status = resp.status();
    let text = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim()
    .to_string();
    let body = resp
        .bytes()
        .await
        .map_err(|e| (true, format!("read body: {e}")))?;
    Ok((status.as_u16(), text, body.to_vec()))
}

async fn fetch_one(
    client: &reqwest::Client,
    up: &PlannedUpstream,
    timeout_s: u64,
) -> Result<Data, String> {
    let url = up.url.clone()?;
    let (status, status_text, body) = match &up.canned {
        Some(CannedSource::Json { body }) => {
            (200, "200 OK".to_string(), body.to_string().into_bytes())
        }
        Some(CannedSource::Text { status, body }) => (
            *status,
            format!(
                "{status} {}",
                axum::http::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
            )
            .trim()
            .to_string(),
            body.clone().into_bytes(),
        ),
        Some(CannedSource::Hang) => {
            // Three tries, each running into the timeout.
            for backoff in [200u64, 400, 0] {
                tokio::time::sleep(Duration::from_secs(timeout_s) + Duration::from_millis(backoff))
                    .await;
            }
            return Err(format!(
                "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            ));
        }
        None => {
            let host = is_loopback(&url).unwrap_or_default();
            if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
                return Err(format!(
                    "Get \"{url}\": dial tcp: lookup {host}: no such host"
                ));
            }
            let mut last = String::new();
            let mut got = None;
            for (i, backoff) in [200u64, 400, 0].into_iter().enumerate() {
                match get_once(client, &url, timeout_s).await {
                    Ok(r) => {
                        got = Some(r);
                        break;
                    }
                    Err((_, msg)) => {
                        last = msg;
                        if i < 2 {
                            tokio::time::sleep(Duration::from_millis(backoff)).await;
                        }
                    }
                }
            }
            match got {
                Some(r) => r,
                None => return Err(last),
            }
        }
    };
    if status != 200 {
        return Err(status_text);
    }
    if body.len() > 10 * 1024 * 1024 {
        return Err("response body exceeds 10 MB".into());
    }
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| format!("invalid character in JSON: {e}"))?;
    if url.contains("models.dev/api.json") {
        return parse_models_dev(&v);
    }
    parse_ratio_body(&v)
}

/// type1 / type2 bodies (§1.6).
pub fn parse_ratio_body(v: &Value) -> Result<Data, String> {
    let obj = v.as_object().ok_or("unexpected response format")?;
    if obj.get("success").and_then(Value::as_bool) == Some(false) {
        return Err(obj
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("upstream returned success=false")
            .to_string());
    }
    let mut out: Data = BTreeMap::new();
    match obj.get("data") {
        Some(Value::Object(d)) if FIELDS.iter().any(|(f, _)| d.contains_key(*f)) => {
            for (f, _) in FIELDS {
                if let Some(m) = d.get(f) {
                    let Value::Object(m) = m else {
                        return Err(format!("json: cannot unmarshal {f} into map"));
                    };
                    out.insert(f.to_string(), m.clone());
                }
            }
        }
        Some(Value::Array(rows)) => {
            for row in rows {
                let Some(name) = row.get("model_name").and_then(Value::as_str) else {
                    return Err("json: cannot unmarshal pricing item".into());
                };
                let mut put = |f: &str, val: Option<&Value>| {
                    if let Some(val) = val.filter(|x| !x.is_null()) {
                        out.entry(f.to_string())
                            .or_default()
                            .insert(name.to_string(), val.clone());
                    }
                };
                for f in ["model_ratio", "model_price", "completion_ratio"] {
                    if let Some(x) = row.get(f) {
                        if !x.is_number() {
                            return Err(format!("json: cannot unmarshal {} into Go struct field Pricing.{f} of type float64",
                                crate::flavors::new_api::json_kind(x)));
                        }
                    }
                }
                if row.get("quota_type").and_then(Value::as_i64) == Some(1) {
                    put("model_price", row.get("model_price"));
                } else {
                    put("model_ratio", row.get("model_ratio"));
                    put("completion_ratio", row.get("completion_ratio"));
                }
                for f in [
                    "cache_ratio",
                    "create_cache_ratio",
                    "image_ratio",
                    "audio_ratio",
                    "audio_completion_ratio",
                ] {
                    put(f, row.get(f).filter(|x| x.is_number()));
                }
                let expr = row
                    .get("billing_expr")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if row.get("billing_mode").and_then(Value::as_str) == Some("tiered_expr")
                    && !expr.is_empty()
                {
                    put("billing_mode", row.get("billing_mode"));
                    put("billing_expr", row.get("billing_expr"));
                }
            }
        }
        _ => return Err("unexpected response format".into()),
    }
    Ok(out)
}

/// models.dev (USD per 1M): ratio = input/2, completion = output/input, cache = cache_read/input;
/// the cheapest non-zero input wins across providers (ties by provider name).
pub fn parse_models_dev(v: &Value) -> Result<Data, String> {
    let providers = v.as_object().ok_or("unexpected models.dev format")?;
    let mut best: BTreeMap<String, (f64, String, f64, Option<f64>)> = BTreeMap::new();
    for (pname, p) in providers {
        let Some(models) = p.get("models").and_then(Value::as_object) else {
            continue;
        };
        for (mid, m) in models {
            let cost = m.get("cost");
            let num = |k: &str| cost.and_then(|c| c.get(k)).and_then(Value::as_f64);
            let Some(input) = num("input") else { continue };
            let output = num("output").unwrap_or(0.0);
            let better = match best.get(mid) {
                None => true,
                Some((bi, bp, _, _)) => {
                    (input > 0.0 && (*bi == 0.0 || input < *bi)) || (input == *bi && pname < bp)
                }
            };
            if better {
                best.insert(
                    mid.clone(),
                    (input, pname.clone(), output, num("cache_read")),
                );
            }
        }
    }
    let round = |x: f64| (x * 1e6).round() / 1e6;
    let mut out: Data = BTreeMap::new();
    for (m, (input, _, output, cache)) in best {
        let entry = |out: &mut Data, f: &str, x: f64| {
            out.entry(f.to_string())
                .or_default()
                .insert(m.clone(), json!(x));
        };
        entry(&mut out, "model_ratio", round(input / 2.0));
        if input > 0.0 {
            entry(&mut out, "completion_ratio", round(output / input));
            if let Some(c) = cache {
                entry(&mut out, "cache_ratio", round(c / input));
            }
        }
    }
    Ok(out)
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9,
        _ => a == b,
    }
}

/// `buildDifferences` (§1.6) over the successful upstreams.
pub fn build_differences(
    local: &BTreeMap<String, Map<String, Value>>,
    ups: &[(String, Data)],
    fields: &[&str],
) -> Value {
    let empty = Map::new();
    let mut models: BTreeSet<String> = BTreeSet::new();
    for f in fields {
        models.extend(local.get(*f).unwrap_or(&empty).keys().cloned());
        for (_, d) in ups {
            models.extend(d.get(*f).unwrap_or(&empty).keys().cloned());
        }
    }
    // Confidence per upstream and model.
    let confidence = |d: &Data, model: &str| -> bool {
        let mr = d.get("model_ratio");
        let cr = d.get("completion_ratio");
        match (mr, cr) {
            (Some(mr), Some(cr)) if !mr.is_empty() && !cr.is_empty() => {
                let r = mr.get(model).and_then(Value::as_f64);
                let c = cr.get(model).and_then(Value::as_f64);
                !(r == Some(37.5) && c == Some(1.0))
            }
            _ => true,
        }
    };
    // model → field → (current, upstream → value|"same"|null)
    type Item = (Value, BTreeMap<String, Value>);
    let mut items: BTreeMap<String, BTreeMap<String, Item>> = BTreeMap::new();
    let mut real_diff: BTreeSet<String> = BTreeSet::new();
    for m in &models {
        for f in fields {
            let lv = local.get(*f).and_then(|x| x.get(m));
            let mut vals = BTreeMap::new();
            let mut has_diff = false;
            for (name, d) in ups {
                let uv = d.get(*f).and_then(|x| x.get(m));
                let cell = match (lv, uv) {
                    (None, None) => json!("same"),
                    (Some(_), None) => Value::Null,
                    (Some(l), Some(u)) if same(l, u) => json!("same"),
                    (_, Some(u)) => {
                        has_diff = true;
                        u.clone()
                    }
                };
                vals.insert(name.clone(), cell);
            }
            if has_diff {
                for (name, v) in &vals {
                    if !v.is_null() && v != &json!("same") {
                        real_diff.insert(name.clone());
                    }
                }
                items
                    .entry(m.clone())
                    .or_default()
                    .insert(f.to_string(), (lv.cloned().unwrap_or(Value::Null), vals));
            }
        }
    }
    let mut out = Map::new();
    for (m, fs) in items {
        let mut fout = Map::new();
        for (f, (current, vals)) in fs {
            let kept: Map<String, Value> = vals
                .into_iter()
                .filter(|(n, _)| real_diff.contains(n))
                .collect();
            if kept.values().all(|v| v.is_null() || v == &json!("same")) {
                continue;
            }
            let conf: Map<String, Value> = kept
                .keys()
                .map(|n| {
                    let d = ups.iter().find(|(x, _)| x == n).map(|(_, d)| d);
                    (n.clone(), json!(d.is_none_or(|d| confidence(d, &m))))
                })
                .collect();
            fout.insert(
                f,
                json!({"current": current, "upstreams": kept, "confidence": conf}),
            );
        }
        if !fout.is_empty() {
            out.insert(m, Value::Object(fout));
        }
    }
    Value::Object(out)
}

/// Runs a planned fetch without the lock held.
pub async fn run_fetch(plan: FetchPlan) -> Reply {
    let client = match reqwest::Client::builder().no_proxy().build() {
        Ok(c) => c,
        Err(_) => return Reply::json(500, &json!({"success": false, "message": "http client"})),
    };
    use futures::StreamExt;
    let timeout_s = plan.timeout_s;
    let futs = plan.upstreams.clone().into_iter().map(move |u| {
        let client = client.clone();
        async move {
            let r = fetch_one(&client, &u, timeout_s).await;
            (u.display, r)
        }
    });
    let results: Vec<(String, Result<Data, String>)> =
        futures::stream::iter(futs).buffered(8).collect().await;
    let mut tests = Vec::new();
    let mut ok_data = Vec::new();
    for (name, r) in results {
        match r {
            Ok(d) => {
                tests.push(json!({"name": name, "status": "success"}));
                ok_data.push((name, d));
            }
            Err(e) => tests.push(json!({"name": name, "status": "error", "error": e})),
        }
    }
    let differences = build_differences(&plan.local, &ok_data, &plan.fields);
    Reply::ok(
        &json!({"success": true, "data": {"differences": differences, "test_results": tests}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str, f64)]) -> Data {
        let mut d: Data = BTreeMap::new();
        for (f, m, v) in pairs {
            d.entry(f.to_string())
                .or_default()
                .insert(m.to_string(), json!(v));
        }
        d
    }

    #[test]
    fn differences_markers_and_confidence() {
        let local = data(&[
            ("model_ratio", "a", 1.0),
            ("model_ratio", "b", 2.0),
            ("completion_ratio", "a", 4.0),
        ]);
        let ups = vec![
            (
                "X(1)".to_string(),
                data(&[
                    ("model_ratio", "a", 1.5),
                    ("model_ratio", "b", 2.0),
                    ("completion_ratio", "a", 4.0),
                    ("model_ratio", "n", 37.5),
                    ("completion_ratio", "n", 1.0),
                ]),
            ),
            ("Y(2)".to_string(), data(&[("model_ratio", "a", 1.0)])),
        ];
        let d = build_differences(&local, &ups, &["model_ratio", "completion_ratio"]);
        // Y has no real difference anywhere: dropped.
        assert_eq!(
            d["a"]["model_ratio"],
            json!({"current":1.0,"upstreams":{"X(1)":1.5},"confidence":{"X(1)":true}})
        );
        assert!(d.get("b").is_none(), "all same");
        assert_eq!(d["n"]["model_ratio"]["current"], Value::Null);
        assert_eq!(d["n"]["model_ratio"]["confidence"]["X(1)"], json!(false));
        assert!(d["a"].get("completion_ratio").is_none());
    }

    #[test]
    fn type2_and_models_dev_parse() {
        let v = json!({"success":true,"data":[
            {"model_name":"p","quota_type":1,"model_price":0.04,"model_ratio":0,"completion_ratio":0},
            {"model_name":"r","quota_type":0,"model_price":0,"model_ratio":2,"completion_ratio":0,"cache_ratio":0.1,
             "billing_mode":"tiered_expr","billing_expr":"p*2"}]});
        let d = parse_ratio_body(&v).unwrap();
        assert_eq!(d["model_price"]["p"], json!(0.04));
        assert_eq!(d["completion_ratio"]["r"], json!(0), "0 is kept");
        assert_eq!(d["billing_expr"]["r"], json!("p*2"));
        assert!(d["model_ratio"].get("p").is_none());
        assert!(parse_ratio_body(&json!({"success":false,"message":"nope"})).is_err());
        assert!(parse_ratio_body(&json!({"success":true,"data":{"foo":{}}})).is_err());
        let md = parse_models_dev(&json!({
            "b":{"models":{"m":{"cost":{"input":3.0,"output":6.0}}}},
            "a":{"models":{"m":{"cost":{"input":2.0,"output":8.0,"cache_read":0.5}}}}}))
        .unwrap();
        assert_eq!(md["model_ratio"]["m"], json!(1.0));
        assert_eq!(md["completion_ratio"]["m"], json!(4.0));
        assert_eq!(md["cache_ratio"]["m"], json!(0.25));
    }
}

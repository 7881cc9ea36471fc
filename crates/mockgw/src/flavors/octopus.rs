//! Octopus (bestruirui/octopus v0.11.0; `--legacy` = v0.9.28) — `docs/admin-apis.md` §4.
//!
//! Envelope `{code,message,data}` with the HTTP status repeated in `code` (§4). POST/PUT under
//! `/api/v1/*` need a JSON `Content-Type` (415 otherwise). v0.10+ authenticates with the `auth`
//! cookie set by `POST /api/v1/user/login`; v0.9 with `Authorization: Bearer` (§4.1). Keys are
//! listed in plaintext (§4.2). `fetch-model` ignores the upstream status (§4.3). `update` changes
//! only the fields present and deletes group items whose model left the channel (§4.4, §4.5).

use super::{fake_jwt, faulted_names, is_json_content, FlavorApi};
use crate::fault::{FaultKind, Op};
use crate::seed::SeedChannel;
use crate::state::{normalize_names, now_unix, split_csv, Reply, Req, State};
use serde_json::{json, Map, Value};

pub struct Octopus {
    /// v0.9.28 behaviour: Bearer auth, token in the login body, integer `type`, `base_urls`/`keys`.
    pub v09: bool,
    /// v0.12/v0.13 channel format (version string `v0.12…`/`v0.13…`): channels have named keys,
    /// endpoint paths, a `models` list and per-model `grants`; the list is
    /// `GET /api/v1/channel/stats` (no URLs, no keys) and one channel is
    /// `GET /api/v1/channel/detail/:id`; `GET /api/v1/channel/list` is gone (bestruirui/octopus
    /// issues #383, #397, #404; as followed by qixing-jk/all-api-hub
    /// `src/services/apiService/octopus/v013.ts`). Only reading is modelled.
    pub v013: bool,
}

fn ok(data: Value) -> Reply {
    if data.is_null() {
        Reply::ok(&json!({"code": 200, "message": "success"}))
    } else {
        Reply::ok(&json!({"code": 200, "message": "success", "data": data}))
    }
}

fn err(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({"code": status, "message": message}))
}

/// Fields of `ChannelUpdateRequest` (v0.10+) and their JSON kinds.
const UPDATE_FIELDS: &[(&str, &str)] = &[
    ("name", "string"),
    ("type", "string"),
    ("enabled", "bool"),
    ("base_url", "string"),
    ("key", "string"),
    ("model", "string"),
    ("custom_model", "string"),
    ("proxy", "bool"),
    ("auto_sync", "bool"),
    ("custom_header", "array"),
    ("channel_proxy", "any"),
    ("param_override", "any"),
    ("match_regex", "any"),
];

fn kind_ok(kind: &str, v: &Value) -> bool {
    match kind {
        "string" => v.is_string(),
        "bool" => v.is_boolean(),
        "array" => v.is_array(),
        _ => true,
    }
}

impl Octopus {
    fn channel_json(sd: &SeedChannel) -> Map<String, Value> {
        // model = the names synced from upstream; custom_model = names added by hand. Aliases of
        // the New API mapping become groups instead (§4.5).
        let aliases: Vec<&String> = sd.mapping.iter().map(|(a, _)| a).collect();
        let mut model: Vec<String> = sd
            .models
            .iter()
            .filter(|m| !aliases.contains(m))
            .cloned()
            .collect();
        for (_, target) in &sd.mapping {
            if !model.contains(target) {
                model.push(target.clone());
            }
        }
        let custom = if sd.id.is_multiple_of(4) {
            format!("{}-custom", sd.name)
        } else {
            String::new()
        };
        let v = json!({
            "id": sd.id, "name": sd.name, "type": sd.vendor.octopus_type(),
            "enabled": sd.status == 1, "base_url": sd.base_url, "key": sd.key,
            "model": model.join(","), "custom_model": custom, "proxy": false,
            "auto_sync": sd.id.is_multiple_of(3),
            "custom_header": if sd.id.is_multiple_of(5) { json!([{"header_key":"X-Title","header_value":"msync"}]) } else { json!([]) },
            "param_override": null, "channel_proxy": null, "match_regex": null,
        });
        v.as_object().cloned().unwrap_or_default()
    }

    /// A channel in the v0.13 detail shape.
    fn v013_detail(c: &Map<String, Value>) -> Value {
        let models = normalize_names(&split_csv(
            &[c.get("model"), c.get("custom_model")]
                .iter()
                .filter_map(|v| v.and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(","),
        ));
        let grants: Vec<Value> = models
            .iter()
            .map(|m| json!({"model_name": m, "key_name": "default", "protocols": 2}))
            .collect();
        json!({
            "id": c.get("id"), "name": c.get("name"), "dialect": "generic",
            "enabled": c.get("enabled"), "base_url": c.get("base_url"),
            "openai_chat_completion_path": "/v1/chat/completions",
            "openai_response_path": "/v1/responses", "anthropic_message_path": "/v1/messages",
            "keys": [{"name": "default", "key": c.get("key"), "enabled": true}],
            "models": models, "grants": grants, "proxy": false, "custom_header": [],
            "param_override": "", "channel_proxy": "", "match_regex": "",
        })
    }

    /// A channel in the v0.13 stats-list shape: no URL, no key.
    fn v013_stats(c: &Map<String, Value>) -> Value {
        let id = c.get("id").and_then(Value::as_u64).unwrap_or(0);
        let mut s = Self::stats(id);
        let detail = Self::v013_detail(c);
        let models: Vec<Value> = detail["models"]
            .as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .map(|(i, m)| json!({"model_id": i + 1, "model_name": m}))
                    .collect()
            })
            .unwrap_or_default();
        s["channel_name"] = c.get("name").cloned().unwrap_or(Value::Null);
        s["enabled"] = c.get("enabled").cloned().unwrap_or(json!(true));
        s["models"] = json!(models);
        s
    }

    /// Stats are derived, not stored (§4.2 "each with its stats").
    fn stats(id: u64) -> Value {
        json!({
            "channel_id": id, "input_token": id * 1_234, "output_token": id * 321,
            "input_cost": (id as f64) * 0.0123, "output_cost": (id as f64) * 0.0456,
            "wait_time": 350 + id * 7, "request_success": 40 + id, "request_failed": id % 3,
        })
    }

    /// The channel as the API shows it (with stats; v0.9 shape when legacy).
    fn view(&self, c: &Map<String, Value>) -> Value {
        let id = c.get("id").and_then(Value::as_u64).unwrap_or(0);
        let mut out = c.clone();
        if self.v09 {
            // v0.9 integer types: 0 OpenAIChat, 1 OpenAIResponse, 2 Anthropic, 3 Gemini, 4 Volcengine.
            let v09_type = match out.get("type").and_then(Value::as_str).unwrap_or("") {
                "openai_responses" => 1,
                "anthropic" => 2,
                "gemini" => 3,
                "volcengine" => 4,
                _ => 0,
            };
            let base = out.remove("base_url").unwrap_or(json!(""));
            let key = out.remove("key").unwrap_or(json!(""));
            out.insert("type".into(), json!(v09_type));
            out.insert(
                "base_urls".into(),
                json!([{"url": format!("{}/v1", base.as_str().unwrap_or("")), "delay": 0}]),
            );
            out.insert(
                "keys".into(),
                json!([{"id": id, "channel_id": id, "enabled": true, "channel_key": key,
                        "status_code": 0, "last_use_time_stamp": 0, "total_cost": 0, "remark": ""}]),
            );
            out.insert("auto_group".into(), json!(0));
        }
        out.insert("stats".into(), Self::stats(id));
        Value::Object(out)
    }

    fn seed_groups(st: &mut State, seeds: &[SeedChannel]) {
        let mut groups: Vec<(String, Vec<(u64, String)>)> = Vec::new();
        for sd in seeds {
            for (alias, target) in &sd.mapping {
                match groups.iter_mut().find(|(n, _)| n == alias) {
                    Some((_, items)) => items.push((sd.id, target.clone())),
                    None => groups.push((alias.clone(), vec![(sd.id, target.clone())])),
                }
            }
        }
        let mut item_id = 0u64;
        st.groups = groups
            .into_iter()
            .enumerate()
            .map(|(gi, (name, items))| {
                let gid = gi as u64 + 1;
                let items: Vec<Value> = items
                    .into_iter()
                    .enumerate()
                    .map(|(p, (cid, model))| {
                        item_id += 1;
                        json!({"id": item_id, "group_id": gid, "channel_id": cid,
                               "model_name": model, "priority": p + 1})
                    })
                    .collect();
                let active = items
                    .first()
                    .and_then(|i| i.get("id"))
                    .cloned()
                    .unwrap_or(json!(0));
                json!({"id": gid, "name": name, "mode": "failover", "active_item_id": active,
                       "relay_config": {"max_retries": 2, "timeout_seconds": 60}, "items": items})
            })
            .collect();
    }

    /// Auth (§4.1). v0.10+: cookie only. v0.9: Bearer; missing → 400.
    fn authenticate(&self, st: &State, req: &Req) -> Result<(), Reply> {
        let valid = |t: &str| !t.is_empty() && (t == st.config.token || st.sessions.contains(t));
        if self.v09 {
            let Some(raw) = req.header("authorization").filter(|v| !v.trim().is_empty()) else {
                return Err(err(400, "Invalid request parameters"));
            };
            let token = raw.trim().strip_prefix("Bearer ").unwrap_or("");
            if !valid(token.trim()) {
                return Err(err(401, "Authentication failed"));
            }
            return Ok(());
        }
        match req.cookie("auth") {
            Some(t) if valid(t) => Ok(()),
            Some(t) if !t.is_empty() => Err(err(401, "Authentication failed")
                .with_header("Set-Cookie", "auth=; Path=/; Max-Age=0")),
            _ => Err(err(401, "Authentication failed")),
        }
    }

    fn login(&self, st: &mut State, req: &Req) -> Reply {
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            _ => return err(400, "Invalid JSON format"),
        };
        let user = body.get("username").and_then(Value::as_str).unwrap_or("");
        let pass = body.get("password").and_then(Value::as_str).unwrap_or("");
        if user != st.config.username || pass != st.config.password {
            return err(401, "Authentication failed");
        }
        let expire = body.get("expire").and_then(Value::as_i64).unwrap_or(0);
        // v0.10+: seconds (0 → 15 min, −1 → 30 days); v0.9: minutes.
        let secs = match expire {
            0 => 15 * 60,
            e if e < 0 => 30 * 86_400,
            e if self.v09 => e * 60,
            e => e,
        };
        st.logins += 1;
        let now = now_unix();
        let token = fake_jwt(
            &json!({"iat": now, "nbf": now, "iss": "octopus", "exp": now + secs}),
            &format!("octopus-{}-{}", st.config.seed, st.logins),
        );
        st.sessions.insert(token.clone());
        if self.v09 {
            let expire_at = rfc3339(now + secs);
            return ok(json!({"token": token, "expire_at": expire_at}));
        }
        ok(json!("login successfully")).with_header(
            "Set-Cookie",
            format!("auth={token}; Path=/; Max-Age={secs}"),
        )
    }

    /// `POST /api/v1/channel/fetch-model` (§4.3): credentials from the body, not looked up by
    /// id; the upstream status is not checked.
    fn fetch_models(&self, st: &State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            _ => return err(400, "Invalid JSON format"),
        };
        let key = request_key(&body);
        if matches!(fault, Some(FaultKind::UpstreamNonJson)) {
            return err(500, "invalid character '<' looking for beginning of value");
        }
        // A 401 (or any status) with a JSON error body decodes to no models: success, [].
        let upstream_failed = matches!(fault, Some(FaultKind::UpstreamStatus { .. }));
        let names = match super::new_api::find_by_key(st, &key) {
            Some(id) if !upstream_failed => st.upstream.get(&id).cloned().unwrap_or_default(),
            _ => Vec::new(),
        };
        let names = match body
            .get("match_regex")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            Some(re) => match regex::Regex::new(re) {
                Ok(re) => names.into_iter().filter(|n| re.is_match(n)).collect(),
                Err(e) => return err(500, &format!("invalid match_regex: {e}")),
            },
            None => names,
        };
        let names = faulted_names(fault, &names).unwrap_or(names);
        if matches!(fault, Some(FaultKind::NullList)) {
            return Reply::ok(&json!({"code": 200, "message": "success", "data": null}));
        }
        ok(json!(names))
    }

    /// `POST /api/v1/channel/update` (§4.4).
    fn update(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            _ => return err(400, "Invalid JSON format"),
        };
        let Some(id) = body.get("id").and_then(Value::as_u64) else {
            return err(400, "Invalid JSON format");
        };
        for (name, kind) in UPDATE_FIELDS {
            if let Some(v) = body.get(*name).filter(|v| !v.is_null()) {
                if !kind_ok(kind, v) {
                    return err(400, "Invalid JSON format");
                }
            }
        }
        let Some(mut ch) = st.channels.get(&id).cloned() else {
            return err(500, "channel not found");
        };
        if matches!(fault, Some(FaultKind::ChannelDeleted)) {
            return err(500, "channel not found");
        }
        for (name, _) in UPDATE_FIELDS {
            if let Some(v) = body.get(*name).filter(|v| !v.is_null()) {
                ch.insert(name.to_string(), v.clone());
            }
        }
        if self.v09 {
            // v0.9 sends base_urls; keep the first one as the base.
            if let Some(url) = body
                .get("base_urls")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|u| u.get("url"))
                .and_then(Value::as_str)
            {
                ch.insert(
                    "base_url".into(),
                    json!(url.trim_end_matches('/').trim_end_matches("/v1")),
                );
            }
        }
        // Normalise both lists; names in custom_model leave model.
        let get = |c: &Map<String, Value>, k: &str| {
            normalize_names(&split_csv(c.get(k).and_then(Value::as_str).unwrap_or("")))
        };
        let custom = get(&ch, "custom_model");
        let model: Vec<String> = get(&ch, "model")
            .into_iter()
            .filter(|m| !custom.contains(m))
            .collect();
        ch.insert("model".into(), json!(model.join(",")));
        ch.insert("custom_model".into(), json!(custom.join(",")));
        // Group items pointing at this channel with a model no longer served are deleted.
        let served: Vec<&String> = model.iter().chain(custom.iter()).collect();
        for g in st.groups.iter_mut() {
            let Some(items) = g.get_mut("items").and_then(Value::as_array_mut) else {
                continue;
            };
            let mut removed = Vec::new();
            items.retain(|it| {
                let on_channel = it.get("channel_id").and_then(Value::as_u64) == Some(id);
                let name = it.get("model_name").and_then(Value::as_str).unwrap_or("");
                let keep = !on_channel || served.iter().any(|m| m.as_str() == name);
                if !keep {
                    removed.push(it.get("id").cloned().unwrap_or(Value::Null));
                }
                keep
            });
            if g.get("active_item_id").is_some_and(|a| removed.contains(a)) {
                g["active_item_id"] = json!(0);
            }
        }
        st.channels.insert(id, ch.clone());
        st.count_write(id);
        ok(self.view(&ch))
    }
}

/// The first key of a fetch-model body (v0.10 `key`, v0.9 `keys[0].channel_key`).
fn request_key(body: &Map<String, Value>) -> String {
    body.get("key")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            body.get("keys")
                .and_then(Value::as_array)
                .and_then(|k| k.first())
                .and_then(|k| k.get("channel_key"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, no chrono).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

impl FlavorApi for Octopus {
    fn seed(&self, st: &mut State, seeds: &[SeedChannel]) {
        for sd in seeds {
            st.channels.insert(sd.id, Self::channel_json(sd));
            st.upstream.insert(sd.id, sd.upstream.clone());
        }
        Self::seed_groups(st, seeds);
    }

    fn classify(&self, st: &State, req: &Req) -> (Op, Option<u64>) {
        let seg = req.segments();
        let body = || req.json().ok().and_then(|b| b.as_object().cloned());
        match (req.method.as_str(), seg.as_slice()) {
            (_, ["api", "v1", "user", "login"]) => (Op::Login, None),
            (_, ["api", "v1", "user", "status"]) => (Op::Status, None),
            ("GET", ["api", "v1", "channel", "list"]) => (Op::ListChannels, None),
            ("POST", ["api", "v1", "channel", "fetch-model"]) => (
                Op::FetchModels,
                body().and_then(|b| super::new_api::find_by_key(st, &request_key(&b))),
            ),
            ("POST", ["api", "v1", "channel", "update"]) => (
                Op::UpdateChannel,
                body().and_then(|b| b.get("id").and_then(Value::as_u64)),
            ),
            (_, ["api", "v1", "group", ..]) => (Op::Groups, None),
            _ => (Op::Other, None),
        }
    }

    fn handle(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let seg = req.segments();
        let route = (req.method.as_str(), seg.as_slice());
        let under_api = matches!(seg.as_slice(), ["api", "v1", ..]);
        if !under_api {
            return Reply::text(404, "text/plain", "404 page not found");
        }
        // RequireJSON on every /api/v1 group (§4).
        let needs_json = matches!(req.method.as_str(), "POST" | "PUT")
            && !matches!(route, ("POST", ["api", "v1", "channel", "sync"]));
        if let ("POST", ["api", "v1", "user", "login"]) = route {
            if !is_json_content(req) {
                return err(415, "Invalid JSON format");
            }
            return self.login(st, req);
        }
        if let Err(r) = self.authenticate(st, req) {
            return r;
        }
        if needs_json && !is_json_content(req) {
            return err(415, "Invalid JSON format");
        }
        if self.v013 {
            match route {
                ("GET", ["api", "v1", "channel", "stats"]) => {
                    let list: Vec<Value> = st.channels.values().map(Self::v013_stats).collect();
                    return ok(json!(list));
                }
                ("GET", ["api", "v1", "channel", "detail", id]) => {
                    return match id.parse::<u64>().ok().and_then(|id| st.channels.get(&id)) {
                        Some(c) => ok(Self::v013_detail(c)),
                        None => err(500, "channel not found"),
                    };
                }
                ("GET", ["api", "v1", "channel", "list"]) => return err(404, "Resource not found"),
                _ => {}
            }
        }
        match route {
            ("GET", ["api", "v1", "user", "status"]) => ok(json!("ok")),
            ("GET", ["api", "v1", "channel", "list"]) => {
                if matches!(fault, Some(FaultKind::NullList)) {
                    return Reply::ok(&json!({"code": 200, "message": "success", "data": null}));
                }
                let list: Vec<Value> = st.channels.values().map(|c| self.view(c)).collect();
                ok(json!(list))
            }
            ("POST", ["api", "v1", "channel", "fetch-model"]) => self.fetch_models(st, req, fault),
            ("POST", ["api", "v1", "channel", "update"]) => self.update(st, req, fault),
            ("POST", ["api", "v1", "channel", "enable"]) => {
                let body = req.json().unwrap_or(Value::Null);
                let id = body.get("id").and_then(Value::as_u64).unwrap_or(0);
                let Some(enabled) = body.get("enabled").and_then(Value::as_bool) else {
                    return err(400, "Invalid JSON format");
                };
                match st.channels.get_mut(&id) {
                    Some(c) => {
                        c.insert("enabled".into(), json!(enabled));
                        st.count_write(id);
                        ok(Value::Null)
                    }
                    None => err(500, "channel not found"),
                }
            }
            ("GET", ["api", "v1", "group", "list"]) => ok(json!(st.groups)),
            _ => err(404, "Resource not found"),
        }
    }

    fn business_error(&self, _st: &State, _req: &Req, message: &str) -> Reply {
        err(500, message)
    }

    fn status_error(&self, _st: &State, _req: &Req, status: u16) -> Reply {
        let message = match status {
            401 | 403 => "Authentication failed",
            400 => "Invalid request parameters",
            _ => "Database operation failed",
        };
        err(status, message)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
    }
}

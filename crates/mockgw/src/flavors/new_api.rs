//! New API (QuantumNous/new-api) — `docs/admin-apis.md` §1. Also the engine for Veloera (§2), which
//! differs only in the points [`Dialect`] names (see `veloera.rs`).
//!
//! Generations: *current* (≥2025-06-12: `{items,total,page,page_size}` list with 1-based `p`
//! capped at 100, `status` rejected in PUT since 2026-06-27, read-only fields ignored, key blanked
//! in the PUT answer) and *legacy* (2025-04, Calcium-Ion HEAD: bare-array list with 0-based `p`,
//! `data:null` for an empty fetch, key in the PUT answer). Auth eras A/B (§1.2) are separate.

use super::{f, faulted_names, go_type_error, gorm_updates, FlavorApi, Kind};
use crate::config::{Era, MockConfig, Role};
use crate::fault::{FaultKind, Op};
use crate::seed::{mapping_json, SeedChannel, Vendor};
use crate::state::{normalize_names, Reply, Req, State};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What varies inside the New API family.
#[derive(Debug, Clone)]
pub struct Dialect {
    pub veloera: bool,
    /// 2025 list/fetch/update formats (always true for Veloera).
    pub legacy: bool,
    pub era: Era,
    /// `New-Api-User` or `Veloera-User` (§2).
    pub user_header: &'static str,
    pub system_name: &'static str,
    pub default_version: &'static str,
}

pub struct NewApiFamily {
    pub d: Dialect,
}

/// `Auth-Version` header set on authenticated answers by 2025–2026 builds (§1.2).
const AUTH_VERSION: &str = "864b7076dbcd0a3c01b5520316720ebf";
const READ_ONLY: &[&str] = &[
    "created_time",
    "test_time",
    "response_time",
    "balance",
    "balance_updated_time",
    "used_quota",
];
/// Fields whose change needs `channel.sensitive_write` (root) since 2026-06 (§1.5 step 6).
const SENSITIVE: &[&str] = &[
    "type",
    "key",
    "base_url",
    "openai_organization",
    "header_override",
    "param_override",
    "setting",
    "other",
    "settings",
    "key_mode",
];

/// Fields a `channel.write` admin may change without `channel.sensitive_write`, and fields the
/// edit endpoint ignores or leaves to other endpoints (QuantumNous/new-api
/// `controller/channel_authz.go`). Anything else in a PUT body is treated as sensitive
/// ("fail closed"): a field the server does not know is refused to a non-root admin.
const NON_SENSITIVE: &[&str] = &[
    "id",
    "test_model",
    "name",
    "weight",
    "models",
    "group",
    "model_mapping",
    "status_code_mapping",
    "priority",
    "auto_ban",
    "other_info",
    "tag",
    "remark",
    "channel_info",
    "multi_key_mode",
    "status",
];

/// `model.Channel` columns (§1.3) as `encoding/json` + GORM see them.
fn channel_fields(d: &Dialect) -> Vec<super::Field> {
    let mut v = vec![
        f("id", Kind::Int, false),
        f("type", Kind::Int, false),
        f("key", Kind::Str, false),
        f("openai_organization", Kind::Str, true),
        f("test_model", Kind::Str, true),
        f("status", Kind::Int, false),
        f("name", Kind::Str, false),
        f("weight", Kind::Int, true),
        f("created_time", Kind::Int, false),
        f("test_time", Kind::Int, false),
        f("response_time", Kind::Int, false),
        f("base_url", Kind::Str, true),
        f("other", Kind::Str, false),
        f("balance", Kind::Float, false),
        f("balance_updated_time", Kind::Int, false),
        f("models", Kind::Str, false),
        f("group", Kind::Str, false),
        f("used_quota", Kind::Int, false),
        f("model_mapping", Kind::Str, true),
        f("status_code_mapping", Kind::Str, true),
        f("priority", Kind::Int, true),
        f("auto_ban", Kind::Int, true),
        f("other_info", Kind::Str, false),
        f("tag", Kind::Str, true),
        f("setting", Kind::Str, true),
        f("param_override", Kind::Str, true),
    ];
    if d.veloera {
        v.push(f("model_prefix", Kind::Str, true));
    } else if !d.legacy {
        v.push(f("header_override", Kind::Str, true));
        v.push(f("remark", Kind::Str, true));
        v.push(f("settings", Kind::Str, false));
        v.push(f("channel_info", Kind::Any, false));
        v.push(f("multi_key_mode", Kind::Str, false));
        v.push(f("key_mode", Kind::Str, false));
    }
    v
}

impl NewApiFamily {
    pub fn new_api(cfg: &MockConfig) -> Self {
        NewApiFamily {
            d: Dialect {
                veloera: false,
                legacy: cfg.legacy,
                era: cfg.effective_era(),
                user_header: "new-api-user",
                system_name: "New API",
                default_version: if cfg.legacy {
                    "v0.6.6.2"
                } else if cfg.effective_era() == Era::A {
                    "v0.9.9"
                } else {
                    "v0.10.4"
                },
            },
        }
    }

    fn zh(&self, req: &Req) -> bool {
        self.d.legacy || req.wants_zh()
    }

    /// The full stored channel object for a seed (§1.3 example; Veloera §2).
    pub fn channel_json(&self, s: &SeedChannel) -> Map<String, Value> {
        let mapping = if s.mapping.is_empty() {
            if s.id.is_multiple_of(5) {
                Value::String(String::new())
            } else {
                Value::Null
            }
        } else {
            Value::String(mapping_json(&s.mapping))
        };
        let mut v = json!({
            "id": s.id, "type": s.vendor.new_api_type(), "key": s.key,
            "openai_organization": null, "test_model": s.test_model, "status": s.status,
            "name": s.name, "weight": s.weight, "created_time": s.created_time,
            "test_time": s.created_time + 3600, "response_time": 300 + (s.id as i64 * 37) % 900,
            "base_url": s.base_url, "other": "", "balance": s.balance,
            "balance_updated_time": 0, "models": s.models.join(","), "group": s.group,
            "used_quota": s.used_quota, "model_mapping": mapping, "status_code_mapping": "",
            "priority": s.priority, "auto_ban": 1, "other_info": "", "tag": s.tag,
            "setting": null, "param_override": null,
        });
        let obj = v.as_object_mut().expect("literal object");
        if s.vendor == Vendor::Gemini {
            obj.insert("other".into(), json!("v1beta"));
        }
        if self.d.veloera {
            obj.insert("model_prefix".into(), Value::Null);
        } else if !self.d.legacy {
            obj.insert("header_override".into(), Value::Null);
            obj.insert(
                "remark".into(),
                if s.id.is_multiple_of(4) {
                    json!("primary account")
                } else {
                    Value::Null
                },
            );
            obj.insert(
                "channel_info".into(),
                json!({"is_multi_key":false,"multi_key_size":0,"multi_key_status_list":null,
                       "multi_key_polling_index":0,"multi_key_mode":""}),
            );
            obj.insert("settings".into(), json!(""));
        }
        obj.clone()
    }

    fn ok(&self, data: Value) -> Reply {
        Reply::ok(&json!({"success": true, "message": "", "data": data}))
    }

    fn fail(&self, message: &str) -> Reply {
        Reply::ok(&json!({"success": false, "message": message}))
    }

    /// Era-dependent auth failure: `code` and real statuses in era B, else the classic shape.
    fn auth_fail(&self, status: u16, code: &str, message: &str) -> Reply {
        if self.d.era == Era::B {
            Reply::json(
                status,
                &json!({"success": false, "code": code, "message": message}),
            )
        } else {
            Reply::json(status, &json!({"success": false, "message": message}))
        }
    }

    /// `authHelper` (§1.2 era A / era B; Veloera §2). `Ok(())` when the caller may go on.
    fn authenticate(&self, st: &State, req: &Req, min: Role) -> Result<(), Reply> {
        let zh = self.zh(req);
        let t = |zh_text: &str, en: &str| {
            if zh {
                zh_text.to_string()
            } else {
                en.to_string()
            }
        };
        let raw = req.header("authorization").unwrap_or("").trim();
        if self.d.era == Era::B {
            // authorizationToken(): one field, or two where the first is "Bearer" (any case).
            let fields: Vec<&str> = raw.split_whitespace().collect();
            let token = match fields.as_slice() {
                [one] => Some(*one),
                [b, tok] if b.eq_ignore_ascii_case("bearer") => Some(*tok),
                _ => None,
            };
            if token != Some(st.config.token.as_str()) {
                return Err(self.auth_fail(
                    401,
                    "AUTH_UNAUTHORIZED",
                    &t(
                        "无权进行此操作，access token 无效",
                        "Unauthorized, invalid access token",
                    ),
                ));
            }
        } else {
            if raw.is_empty() {
                return Err(self.auth_fail(
                    401,
                    "",
                    &t(
                        "无权进行此操作，未登录且未提供 access token",
                        "Unauthorized, not logged in and no access token provided",
                    ),
                ));
            }
            // ValidateAccessToken strips the first "Bearer ".
            let token = raw.strip_prefix("Bearer ").unwrap_or(raw).trim();
            if token != st.config.token {
                return Err(self.auth_fail(
                    200,
                    "",
                    &t(
                        "无权进行此操作，access token 无效",
                        "Unauthorized, invalid access token",
                    ),
                ));
            }
            let name = if self.d.veloera {
                "Veloera-User"
            } else {
                "New-Api-User"
            };
            match req.header(self.d.user_header).map(str::trim) {
                None | Some("") => {
                    return Err(self.auth_fail(
                        401,
                        "",
                        &t(
                            &format!("无权进行此操作，未提供 {name}"),
                            &format!("Unauthorized, {name} header not provided"),
                        ),
                    ))
                }
                Some(v) => match v.parse::<i64>() {
                    Err(_) => {
                        return Err(self.auth_fail(
                            401,
                            "",
                            &t(
                                &format!("无权进行此操作，{name} 格式错误"),
                                &format!("Unauthorized, {name} header format error"),
                            ),
                        ))
                    }
                    Ok(id) if id != st.config.user_id => {
                        return Err(self.auth_fail(
                            401,
                            "",
                            &t(
                                &format!("无权进行此操作，{name} 与登录用户不匹配"),
                                &format!("Unauthorized, {name} does not match logged in user"),
                            ),
                        ))
                    }
                    Ok(_) => {}
                },
            }
        }
        if st.config.role < min {
            let status = if self.d.era == Era::B { 403 } else { 200 };
            return Err(self.auth_fail(
                status,
                "AUTH_INSUFFICIENT_PRIVILEGE",
                &t(
                    "无权进行此操作，权限不足",
                    "Unauthorized, insufficient privileges",
                ),
            ));
        }
        Ok(())
    }

    /// The channel as list/GET show it: the key omitted (`.Omit("key")`, §1.3).
    fn without_key(ch: &Map<String, Value>) -> Value {
        let mut c = ch.clone();
        c.insert("key".into(), json!(""));
        Value::Object(c)
    }

    /// `GET /api/channel/` (§1.3; legacy and Veloera: bare array, 0-based `p`).
    fn list(&self, st: &State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let mut chans: Vec<&Map<String, Value>> = st.channels.values().collect();
        let get_i64 = |c: &Map<String, Value>, k: &str| c.get(k).and_then(Value::as_i64);
        let id_sort = req.param("id_sort") == Some("true");
        let sort = |chans: &mut Vec<&Map<String, Value>>| {
            let id = |c: &Map<String, Value>| get_i64(c, "id").unwrap_or(0);
            if id_sort {
                chans.sort_by_key(|c| std::cmp::Reverse(id(c)));
            } else if let (false, Some(field)) = (self.d.legacy, req.param("sort_by")) {
                let asc = req.param("sort_order") == Some("asc");
                let key =
                    |c: &Map<String, Value>| c.get(field).and_then(Value::as_f64).unwrap_or(0.0);
                chans.sort_by(|a, b| {
                    let o = if field == "name" {
                        let n = |c: &Map<String, Value>| {
                            c.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string()
                        };
                        n(a).cmp(&n(b))
                    } else {
                        key(a).total_cmp(&key(b))
                    };
                    if asc {
                        o
                    } else {
                        o.reverse()
                    }
                });
            } else {
                // priority DESC: unstable across pages on a real DB; ties by id here.
                chans.sort_by_key(|c| {
                    (
                        std::cmp::Reverse(get_i64(c, "priority").unwrap_or(0)),
                        id(c),
                    )
                });
            }
        };

        if self.d.legacy {
            sort(&mut chans);
            let p = req
                .param("p")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(0)
                .max(0) as usize;
            // No default for page_size: a missing one means LIMIT 0 (§1.3 "send it every time").
            let size = req
                .param("page_size")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(0)
                .max(0) as usize;
            let items: Vec<Value> = super::page_slice(&chans, p * size, size)
                .into_iter()
                .map(Self::without_key)
                .collect();
            if matches!(fault, Some(FaultKind::NullList)) {
                return self.ok(Value::Null);
            }
            return self.ok(Value::Array(items));
        }

        // Filters (2025-06-18+): status, type, group.
        match req.param("status") {
            Some("enabled") | Some("1") => chans.retain(|c| get_i64(c, "status") == Some(1)),
            Some("disabled") | Some("0") => chans.retain(|c| get_i64(c, "status") != Some(1)),
            _ => {}
        }
        if let Some(group) = req.param("group").filter(|g| !g.is_empty()) {
            chans.retain(|c| {
                c.get("group")
                    .and_then(Value::as_str)
                    .is_some_and(|g| g.split(',').any(|x| x.trim() == group))
            });
        }
        let mut type_counts: BTreeMap<String, u64> = BTreeMap::new();
        for c in &chans {
            *type_counts
                .entry(get_i64(c, "type").unwrap_or(0).to_string())
                .or_insert(0) += 1;
        }
        if let Some(ty) = req.param("type").and_then(|t| t.parse::<i64>().ok()) {
            chans.retain(|c| get_i64(c, "type") == Some(ty));
        }
        sort(&mut chans);

        let page = req
            .param("p")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .max(1) as usize;
        let size = ["page_size", "ps", "size"]
            .iter()
            .find_map(|k| req.param(k).and_then(|v| v.parse::<i64>().ok()))
            .filter(|s| *s > 0)
            .unwrap_or(10)
            .min(100) as usize;

        let (items, total) = if req.param("tag_mode") == Some("true") {
            // Paginate over tags; every channel of each tag on the page is returned.
            let mut tags: Vec<String> = Vec::new();
            for c in &chans {
                if let Some(t) = c
                    .get("tag")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    if !tags.iter().any(|x| x == t) {
                        tags.push(t.to_string());
                    }
                }
            }
            let page_tags = super::page_slice(&tags, (page - 1) * size, size);
            let items: Vec<Value> = chans
                .iter()
                .filter(|c| {
                    c.get("tag")
                        .and_then(Value::as_str)
                        .is_some_and(|t| page_tags.iter().any(|x| x == t))
                })
                .map(|c| Self::without_key(c))
                .collect();
            (items, tags.len())
        } else {
            let items = super::page_slice(&chans, (page - 1) * size, size)
                .into_iter()
                .map(Self::without_key)
                .collect();
            (items, chans.len())
        };
        let items = if matches!(fault, Some(FaultKind::NullList)) {
            Value::Null
        } else {
            Value::Array(items)
        };
        self.ok(json!({
            "items": items, "total": total, "page": page, "page_size": size,
            "type_counts": type_counts,
        }))
    }

    /// `:id` the way `strconv.Atoi` reads it.
    fn parse_id(&self, raw: &str) -> Result<u64, Reply> {
        raw.parse::<u64>()
            .map_err(|_| self.fail(&format!("strconv.Atoi: parsing \"{raw}\": invalid syntax")))
    }

    fn get_one(&self, st: &State, raw: &str, fault: Option<&FaultKind>) -> Reply {
        let id = match self.parse_id(raw) {
            Ok(id) => id,
            Err(r) => return r,
        };
        match st.channels.get(&id) {
            Some(_) if matches!(fault, Some(FaultKind::ChannelDeleted)) => {
                self.fail("record not found")
            }
            // Veloera answers the full key here (§2); New API omits it (§1.3).
            Some(ch) if self.d.veloera => self.ok(Value::Object(ch.clone())),
            Some(ch) => self.ok(Self::without_key(ch)),
            None => self.fail("record not found"),
        }
    }

    /// The model ids the upstream gives, or the gateway's error for an upstream failure (§1.4).
    fn upstream_result(
        &self,
        st: &State,
        id: u64,
        fault: Option<&FaultKind>,
    ) -> Result<Vec<String>, String> {
        let prefix = if self.d.legacy {
            ""
        } else {
            "获取模型列表失败: "
        };
        match fault {
            Some(FaultKind::UpstreamStatus { status }) => {
                return Err(format!("{prefix}status code: {status}"))
            }
            Some(FaultKind::UpstreamNonJson) => {
                let inner = "invalid character '<' looking for beginning of value";
                return Err(if self.d.legacy {
                    format!("解析响应失败: {inner}")
                } else {
                    format!("{prefix}{inner}")
                });
            }
            _ => {}
        }
        let raw = st.upstream.get(&id).cloned().unwrap_or_default();
        let is_gemini = st
            .channels
            .get(&id)
            .and_then(|c| c.get("type"))
            .and_then(Value::as_i64)
            == Some(Vendor::Gemini.new_api_type());
        if self.d.legacy {
            return Ok(raw);
        }
        // normalizeModelNames + the Gemini `models/` prefix strip.
        let stripped: Vec<String> = raw
            .iter()
            .map(|m| {
                if is_gemini {
                    m.strip_prefix("models/").unwrap_or(m).to_string()
                } else {
                    m.clone()
                }
            })
            .collect();
        Ok(normalize_names(&stripped))
    }

    fn models_reply(&self, names: Vec<String>, fault: Option<&FaultKind>, message: bool) -> Reply {
        let names = faulted_names(fault, &names).unwrap_or(names);
        let data =
            if matches!(fault, Some(FaultKind::NullList)) || (names.is_empty() && self.d.legacy) {
                // 2025 code built `var ids []string`: an empty list is `null` (§1.4, §2).
                Value::Null
            } else {
                json!(names)
            };
        if message {
            self.ok(data)
        } else {
            Reply::ok(&json!({"success": true, "data": data}))
        }
    }

    /// `GET /api/channel/fetch_models/:id` (§1.4; Veloera §2).
    fn fetch_models(&self, st: &State, raw: &str, fault: Option<&FaultKind>) -> Reply {
        let id = match self.parse_id(raw) {
            Ok(id) => id,
            Err(r) => return r,
        };
        if !st.channels.contains_key(&id) || matches!(fault, Some(FaultKind::ChannelDeleted)) {
            return self.fail("record not found");
        }
        match self.upstream_result(st, id, fault) {
            Ok(names) => self.models_reply(names, fault, true),
            Err(message) => self.fail(&message),
        }
    }

    /// `POST /api/channel/fetch_models` — preview with credentials in the body (§1.4). The mock
    /// finds the upstream by the key (first line), else by base URL; unknown ⇒ upstream 401.
    fn fetch_models_preview(&self, st: &State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            _ => {
                return Reply::json(
                    400,
                    &json!({"success": false, "message": "Invalid request"}),
                )
            }
        };
        let key = body
            .get("key")
            .and_then(Value::as_str)
            .and_then(|k| k.lines().next())
            .unwrap_or("")
            .trim()
            .to_string();
        let base = body.get("base_url").and_then(Value::as_str).unwrap_or("");
        let found = find_by_key(st, &key).or_else(|| {
            st.channels
                .iter()
                .find(|(_, c)| {
                    !base.is_empty() && c.get("base_url").and_then(Value::as_str) == Some(base)
                })
                .map(|(id, _)| *id)
                .filter(|_| !key.is_empty())
        });
        let result = match found {
            Some(id) => self.upstream_result(st, id, fault),
            None => self.upstream_result(st, 0, Some(&FaultKind::UpstreamStatus { status: 401 })),
        };
        match result {
            Ok(names) => self.models_reply(names, fault, !self.d.legacy),
            // Old handler: HTTP 500 "Failed to fetch models" (Calcium-Ion, Veloera).
            Err(_) if self.d.legacy => Reply::json(
                500,
                &json!({"success": false, "message": "Failed to fetch models"}),
            ),
            Err(message) => self.fail(&message),
        }
    }

    /// `PUT /api/channel/` (§1.5; Veloera §2).
    fn update(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let zh = self.zh(req);
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            Ok(other) => {
                return self.fail(&format!(
                    "json: cannot unmarshal {} into Go value of type model.Channel",
                    json_kind(&other)
                ))
            }
            Err(e) => return self.fail(&format!("invalid character in JSON body: {e}")),
        };
        if !self.d.legacy && body.contains_key("status") {
            return self.fail(if zh {
                "无效的参数"
            } else {
                "Invalid parameters"
            });
        }
        let fields = channel_fields(&self.d);
        let struct_name = if self.d.legacy {
            "Channel"
        } else {
            "PatchChannel"
        };
        for field in &fields {
            if let Some(v) = body.get(field.name) {
                if let Some(err) = go_type_error(struct_name, field, v) {
                    return self.fail(&err);
                }
            }
        }
        let id = body.get("id").and_then(Value::as_u64).unwrap_or(0);
        let Some(stored) = st.channels.get(&id).cloned() else {
            return self.fail("record not found");
        };
        if matches!(fault, Some(FaultKind::ChannelDeleted)) {
            return self.fail("record not found");
        }
        if !self.d.legacy && st.config.role < Role::Root {
            // channel.sensitive_write: present AND different from the stored value.
            let changed = SENSITIVE.iter().any(|k| match body.get(*k) {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) if *k == "key" && s.is_empty() => false,
                Some(v) => stored.get(*k) != Some(v),
            }) || body.keys().any(|k| {
                let k = k.as_str();
                !SENSITIVE.contains(&k) && !NON_SENSITIVE.contains(&k) && !READ_ONLY.contains(&k)
            });
            if changed {
                return self.fail(if zh {
                    "无权进行此操作，权限不足"
                } else {
                    "Unauthorized, insufficient privileges"
                });
            }
        }
        let mut skip: Vec<&str> = vec!["id", "channel_info", "multi_key_mode", "key_mode"];
        if !self.d.legacy {
            // clearChannelReadOnlyFields (2026-06-27).
            skip.extend_from_slice(READ_ONLY);
        }
        let mut updated = stored;
        gorm_updates(&mut updated, &body, &fields, &skip);
        st.channels.insert(id, updated.clone());
        st.count_write(id);
        if self.d.legacy {
            // The reload with `First` brings every column back, key included (§1.5, §2).
            self.ok(Value::Object(updated))
        } else {
            self.ok(Self::without_key(&updated))
        }
    }

    fn status(&self, st: &State) -> Reply {
        let version = st
            .config
            .version
            .clone()
            .unwrap_or_else(|| self.d.default_version.to_string());
        self.ok(json!({
            "version": version, "system_name": self.d.system_name, "start_time": 1_760_000_000,
            "email_verification": false, "github_oauth": false, "turnstile_check": false,
            "quota_per_unit": 500000, "display_in_currency": true, "setup": true,
        }))
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The channel whose stored key (any comma/newline-separated part) equals `key`.
pub(crate) fn find_by_key(st: &State, key: &str) -> Option<u64> {
    if key.is_empty() {
        return None;
    }
    st.channels
        .iter()
        .find(|(_, c)| {
            c.get("key")
                .and_then(Value::as_str)
                .is_some_and(|k| k.split([',', '\n']).any(|p| p.trim() == key))
        })
        .map(|(id, _)| *id)
}

impl FlavorApi for NewApiFamily {
    fn seed(&self, st: &mut State, seeds: &[SeedChannel]) {
        for s in seeds {
            st.channels.insert(s.id, self.channel_json(s));
            st.upstream.insert(s.id, s.upstream.clone());
        }
    }

    fn classify(&self, st: &State, req: &Req) -> (Op, Option<u64>) {
        let seg = req.segments();
        let num = |s: &str| s.parse::<u64>().ok();
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["api", "status"]) => (Op::Status, None),
            ("GET", ["api", "channel"]) => (Op::ListChannels, None),
            ("GET", ["api", "channel", "fetch_models", id]) => (Op::FetchModels, num(id)),
            ("GET", ["api", "channel", "test", id]) => (Op::TestChannel, num(id)),
            ("POST", ["api", "channel", "fetch_models"]) => {
                let key = req
                    .json()
                    .ok()
                    .and_then(|b| b.get("key").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                (
                    Op::FetchModels,
                    find_by_key(st, key.lines().next().unwrap_or("")),
                )
            }
            ("GET", ["api", "channel", id]) => (Op::GetChannel, num(id)),
            ("PUT", ["api", "channel"]) => (
                Op::UpdateChannel,
                req.json()
                    .ok()
                    .and_then(|b| b.get("id").and_then(Value::as_u64)),
            ),
            (_, ["api", "option"]) => (Op::Options, None),
            (_, ["api", "user", "login"]) | (_, ["api", "user", "token"]) => (Op::Login, None),
            _ => (Op::Other, None),
        }
    }

    fn handle(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let seg = req.segments();
        let route = (req.method.as_str(), seg.as_slice());
        if let ("GET", ["api", "status"]) = route {
            return self.status(st);
        }
        let ratio_sync = !self.d.legacy && !self.d.veloera;
        let era_b = !self.d.legacy && self.d.era == Era::B;
        // Public ratio routes (§1.6): no auth.
        match route {
            ("GET", ["api", "ratio_config"]) if ratio_sync => {
                return crate::ratio::ratio_config(st)
            }
            ("GET", ["api", "pricing"]) => return crate::ratio::pricing(st, era_b),
            _ => {}
        }
        let min = match route {
            (_, ["api", "option"]) | (_, ["api", "ratio_sync", ..]) => Role::Root,
            ("GET", ["api", "user", "token"]) => Role::Common,
            _ => Role::Admin,
        };
        let known = matches!(
            route,
            ("GET", ["api", "channel"])
                | ("GET", ["api", "channel", _])
                | ("GET", ["api", "channel", "fetch_models", _])
                | ("GET", ["api", "channel", "test", _])
                | ("POST", ["api", "channel", "fetch_models"])
                | ("PUT", ["api", "channel"])
                | ("GET", ["api", "option"])
                | ("PUT", ["api", "option"])
                | ("GET", ["api", "user", "token"])
        ) || (ratio_sync
            && route == ("GET", ["api", "ratio_sync", "channels"].as_slice()));
        if !known {
            // gin's NoRoute for /api/*.
            return Reply::text(404, "text/plain", "404 page not found");
        }
        if let Err(reply) = self.authenticate(st, req, min) {
            return reply;
        }
        if let ("POST", ["api", "channel", "fetch_models"]) = route {
            // Root-only since 2026-03-31; since 2026-06 the `channel.sensitive_write` permission
            // check denies with a plain 403 and no `code` (§1.2, §1.4).
            if !self.d.legacy && st.config.role < Role::Root {
                return Reply::json(
                    403,
                    &json!({"success": false, "message": "Unauthorized, insufficient privileges"}),
                );
            }
        }
        let reply = match route {
            ("GET", ["api", "channel"]) => self.list(st, req, fault),
            ("GET", ["api", "channel", "fetch_models", id]) => self.fetch_models(st, id, fault),
            ("GET", ["api", "channel", "test", id]) => {
                let flavor = if self.d.veloera {
                    crate::probe::TestFlavor::Veloera
                } else {
                    crate::probe::TestFlavor::NewApi
                };
                let model = req.param("model").unwrap_or("").to_string();
                crate::probe::rest_test(st, flavor, id, &model)
            }
            ("GET", ["api", "channel", id]) => self.get_one(st, id, fault),
            ("POST", ["api", "channel", "fetch_models"]) => {
                self.fetch_models_preview(st, req, fault)
            }
            ("PUT", ["api", "channel"]) => self.update(st, req, fault),
            ("GET", ["api", "option"]) => crate::ratio::get_options(st, era_b),
            // The old handler (2025 builds, Veloera) wants a string value.
            ("PUT", ["api", "option"]) => crate::ratio::put_option(st, req, self.d.legacy),
            ("GET", ["api", "ratio_sync", "channels"]) => crate::ratio::channels(st),
            ("GET", ["api", "user", "token"]) => {
                // GenerateAccessToken: a fresh token replaces the old one.
                st.logins += 1;
                let token = format!("mock-{:032x}", st.config.seed.wrapping_mul(31) + st.logins);
                st.config.token = token.clone();
                self.ok(json!(token))
            }
            _ => Reply::text(404, "text/plain", "404 page not found"),
        };
        if self.d.legacy {
            reply
        } else {
            reply.with_header("Auth-Version", AUTH_VERSION)
        }
    }

    fn business_error(&self, _st: &State, _req: &Req, message: &str) -> Reply {
        self.fail(message)
    }

    /// `POST /api/ratio_sync/fetch` (root; New API ≥2025-06-19 only) fetches other servers.
    fn deferred(
        &self,
        st: &mut State,
        req: &Req,
    ) -> Option<Result<crate::ratio::FetchPlan, Reply>> {
        if req.method != "POST"
            || req.segments() != ["api", "ratio_sync", "fetch"]
            || self.d.legacy
            || self.d.veloera
        {
            return None;
        }
        if let Err(reply) = self.authenticate(st, req, Role::Root) {
            return Some(Err(reply));
        }
        Some(crate::ratio::plan_fetch(st, req, self.d.era == Era::B))
    }

    fn status_error(&self, _st: &State, req: &Req, status: u16) -> Reply {
        let zh = self.zh(req);
        match status {
            401 => self.auth_fail(
                401,
                "AUTH_UNAUTHORIZED",
                if zh {
                    "无权进行此操作，access token 无效"
                } else {
                    "Unauthorized, invalid access token"
                },
            ),
            403 => self.auth_fail(
                403,
                "AUTH_INSUFFICIENT_PRIVILEGE",
                if zh {
                    "无权进行此操作，权限不足"
                } else {
                    "Unauthorized, insufficient privileges"
                },
            ),
            s => Reply::json(
                s,
                &json!({"success": false, "message": "internal server error"}),
            ),
        }
    }
}

//! DoneHub (deanxv/done-hub @ 42841b35) — `docs/admin-apis.md` §3.
//!
//! The hazards reproduced here: the list folds tagged channels into one representative row
//! (§3.2), `GET /api/channel/:id` and the tag list carry the plaintext key, and **a PUT with a
//! non-empty `models` writes every column** (`Select("*")`, §3.4): a partial body really wipes
//! the other fields of the stored channel.

use super::{f, faulted_names, go_type_error, gorm_updates, zero_of, FlavorApi, Kind};
use crate::config::Role;
use crate::fault::{FaultKind, Op};
use crate::seed::{mapping_json, SeedChannel};
use crate::state::{Reply, Req, State};
use serde_json::{json, Map, Value};

pub struct DoneHub;

/// `model.Channel` columns (§3.2 example). Pointers are nullable and written when present.
const FIELDS: &[super::Field] = &[
    f("id", Kind::Int, false),
    f("type", Kind::Int, false),
    f("key", Kind::Str, false),
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
    f("tag", Kind::Str, false),
    f("used_quota", Kind::Int, false),
    f("model_mapping", Kind::Str, true),
    f("model_headers", Kind::Str, true),
    f("header_override", Kind::Any, true),
    f("custom_parameter", Kind::Str, true),
    f("priority", Kind::Int, true),
    f("proxy", Kind::Str, true),
    f("test_model", Kind::Str, false),
    f("only_chat", Kind::Bool, false),
    f("pre_cost", Kind::Int, false),
    f("compatible_response", Kind::Bool, false),
    f("allow_extra_body", Kind::Bool, false),
    f("pass_through_body", Kind::Bool, false),
    // `*float64` and `*datatypes.JSONSlice[string]` (`disabled_stream,omitempty`): nullable,
    // so a full write without them stores NULL (deanxv/done-hub `model/channel.go`).
    f("cost_ratio", Kind::Float, true),
    f("disabled_stream", Kind::Any, true),
    f("plugin", Kind::Any, true),
];

/// Sortable fields for `order` (§3.2).
const SORTABLE: &[&str] = &[
    "id",
    "name",
    "group",
    "type",
    "status",
    "response_time",
    "balance",
    "used_quota",
    "priority",
    "weight",
    "cost_ratio",
];

/// The path gin routes on: `URL.Path`, already percent-decoded (gin's `UseRawPath` is off), so
/// `/api/channel_tag/a%2Fb/list` is routed as `/api/channel_tag/a/b/list` and answers 404.
fn gin_path(req: &Req) -> String {
    let bytes = req.path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

fn ok(data: Value) -> Reply {
    Reply::ok(&json!({"success": true, "message": "", "data": data}))
}

fn fail(message: &str) -> Reply {
    Reply::ok(&json!({"success": false, "message": message}))
}

fn without_key(c: &Map<String, Value>) -> Value {
    let mut c = c.clone();
    c.insert("key".into(), json!(""));
    Value::Object(c)
}

fn s<'a>(c: &'a Map<String, Value>, k: &str) -> &'a str {
    c.get(k).and_then(Value::as_str).unwrap_or("")
}

fn i(c: &Map<String, Value>, k: &str) -> i64 {
    c.get(k).and_then(Value::as_i64).unwrap_or(0)
}

impl DoneHub {
    fn channel_json(sd: &SeedChannel) -> Map<String, Value> {
        let mut v = json!({
            "id": sd.id, "type": sd.vendor.new_api_type(), "key": sd.key, "status": sd.status,
            "name": sd.name, "weight": sd.weight.max(1), "created_time": sd.created_time,
            "test_time": 0, "response_time": 0, "base_url": sd.base_url, "other": "",
            "balance": sd.balance, "balance_updated_time": 0, "models": sd.models.join(","),
            "group": sd.group, "tag": sd.tag.clone().unwrap_or_default(),
            "used_quota": sd.used_quota,
            "model_mapping": if sd.mapping.is_empty() { String::new() } else { mapping_json(&sd.mapping) },
            "model_headers": "", "header_override": null, "custom_parameter": "",
            "priority": sd.priority, "proxy": if sd.id.is_multiple_of(6) { "socks5://10.0.0.2:1080" } else { "" },
            "test_model": sd.test_model.clone().unwrap_or_default(), "only_chat": false,
            "pre_cost": 1, "compatible_response": false, "allow_extra_body": false,
            "pass_through_body": false, "cost_ratio": 0, "plugin": null,
        });
        if let Some(obj) = v.as_object_mut() {
            if sd.id.is_multiple_of(5) {
                // Per-channel settings an admin set in DoneHub's edit dialog.
                obj.insert("cost_ratio".into(), json!(0.8));
                obj.insert("disabled_stream".into(), json!(["o1", "o1-mini"]));
            }
        }
        v.as_object().cloned().unwrap_or_default()
    }

    /// `authHelper` (§3.1): no user-id header; Chinese messages.
    fn authenticate(&self, st: &State, req: &Req, min: Role) -> Result<(), Reply> {
        let raw = req.header("authorization").unwrap_or("").trim();
        if raw.is_empty() {
            return Err(Reply::json(
                401,
                &json!({"success": false, "message": "无权进行此操作，未登录且未提供 access token"}),
            ));
        }
        let token = raw.strip_prefix("Bearer ").unwrap_or(raw).trim();
        if token != st.config.token {
            return Err(fail("无权进行此操作，access token 无效"));
        }
        if st.config.role < min {
            return Err(fail("无权进行此操作，权限不足"));
        }
        Ok(())
    }

    /// `page`/`size` as `SearchChannelsParams` binds them.
    fn paging(req: &Req) -> Result<(usize, usize), Reply> {
        let page = req
            .param("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .max(1) as usize;
        let size = req
            .param("size")
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(10);
        if size > 100 {
            return Err(fail("size 参数不能超过 100"));
        }
        Ok((page, size as usize))
    }

    /// `order=-id,name` (default `-id`); unknown fields are an error (§3.2).
    fn sort(req: &Req, chans: &mut [&Map<String, Value>]) -> Result<(), Reply> {
        let order = req
            .param("order")
            .filter(|o| !o.is_empty())
            .unwrap_or("-id");
        let mut keys: Vec<(String, bool)> = Vec::new();
        for part in order.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (desc, name) = match part.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, part),
            };
            if !SORTABLE.contains(&name) {
                return Err(fail(&format!("不允许对字段 '{name}' 进行排序")));
            }
            keys.push((name.to_string(), desc));
        }
        chans.sort_by(|a, b| {
            for (k, desc) in &keys {
                let o = match (a.get(k), b.get(k)) {
                    (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
                    (x, y) => {
                        let n = |v: Option<&Value>| v.and_then(Value::as_f64).unwrap_or(0.0);
                        n(x).total_cmp(&n(y))
                    }
                };
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        Ok(())
    }

    fn data_result(items: Vec<Value>, page: usize, size: usize, total: usize) -> Reply {
        ok(json!({"data": items, "page": page, "size": size, "total_count": total}))
    }

    /// `GET /api/channel/` with tag folding (§3.2).
    fn list(&self, st: &State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let (page, size) = match Self::paging(req) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let mut chans: Vec<&Map<String, Value>> = st.channels.values().collect();
        let filter_eq = |chans: &mut Vec<&Map<String, Value>>, k: &str| {
            if let Some(v) = req.param(k).filter(|v| !v.is_empty()) {
                chans.retain(|c| match c.get(k) {
                    Some(Value::String(s)) => s == v,
                    Some(Value::Number(n)) => n.to_string() == v,
                    _ => false,
                });
            }
        };
        for k in [
            "type",
            "status",
            "key",
            "test_model",
            "base_url",
            "tag",
            "other",
        ] {
            filter_eq(&mut chans, k);
        }
        if let Some(name) = req.param("name").filter(|v| !v.is_empty()) {
            chans.retain(|c| s(c, "name").contains(name) || s(c, "tag").contains(name));
        }
        if let Some(m) = req.param("models").filter(|v| !v.is_empty()) {
            chans.retain(|c| s(c, "models").contains(m));
        }
        if let Some(g) = req.param("group").filter(|v| !v.is_empty()) {
            chans.retain(|c| s(c, "group").contains(g));
        }
        // `tag = '' OR id IN (tagDB)`, tagDB = `Select("Max(id) as id").Where("tag != ''")
        // .Group("tag")` under the same filters: a tag's representative is its member with the
        // highest id among those the filters keep (deanxv/done-hub `model/channel.go`
        // `GetChannelsList`); filter_tag 1 = untagged only, 2 = representatives only.
        let filtered = chans.clone();
        let is_rep = |c: &Map<String, Value>| {
            let tag = s(c, "tag");
            !tag.is_empty()
                && filtered
                    .iter()
                    .filter(|o| s(o, "tag") == tag)
                    .map(|o| i(o, "id"))
                    .max()
                    == Some(i(c, "id"))
        };
        match req.param("filter_tag") {
            Some("1") => chans.retain(|c| s(c, "tag").is_empty()),
            Some("2") => chans.retain(|c| is_rep(c)),
            _ => chans.retain(|c| s(c, "tag").is_empty() || is_rep(c)),
        }
        if let Err(r) = Self::sort(req, &mut chans) {
            return r;
        }
        if matches!(fault, Some(FaultKind::NullList)) {
            return ok(json!({"data": null, "page": page, "size": size, "total_count": 0}));
        }
        let total = chans.len();
        let items = super::page_slice(&chans, (page - 1) * size, size)
            .into_iter()
            .map(without_key)
            .collect();
        Self::data_result(items, page, size, total)
    }

    /// `GET /api/channel_tag/:tag/list` — every member, keys included (§3.2).
    fn tag_list(&self, st: &State, req: &Req, tag: &str) -> Reply {
        let (page, size) = match Self::paging(req) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let mut chans: Vec<&Map<String, Value>> = st
            .channels
            .values()
            .filter(|c| s(c, "tag") == tag)
            .collect();
        if let Err(r) = Self::sort(req, &mut chans) {
            return r;
        }
        let total = chans.len();
        let items = super::page_slice(&chans, (page - 1) * size, size)
            .into_iter()
            .map(|c| Value::Object(c.clone()))
            .collect();
        Self::data_result(items, page, size, total)
    }

    /// `POST /api/channel/provider_models_list` (§3.3).
    fn fetch_models(&self, st: &State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            Ok(_) | Err(_) => return fail("invalid character in request body"),
        };
        let key = body
            .get("key")
            .and_then(Value::as_str)
            .and_then(|k| k.lines().next())
            .unwrap_or("")
            .trim()
            .to_string();
        let id = body.get("id").and_then(Value::as_u64).unwrap_or(0);
        let source = if key.is_empty() {
            if id == 0 {
                return fail("key is required");
            }
            if !st.channels.contains_key(&id) || matches!(fault, Some(FaultKind::ChannelDeleted)) {
                return fail("record not found");
            }
            Some(id)
        } else {
            super::new_api::find_by_key(st, &key)
        };
        let upstream_error = |status: u16| {
            fail(&format!(
                "status code: {status}, message: Incorrect API key provided"
            ))
        };
        match fault {
            Some(FaultKind::UpstreamStatus { status }) => return upstream_error(*status),
            Some(FaultKind::UpstreamNonJson) => {
                return fail("invalid character '<' looking for beginning of value")
            }
            _ => {}
        }
        let Some(id) = source else {
            // Unknown credentials: the upstream refuses them.
            return upstream_error(401);
        };
        // Duplicates removed, order kept; empty gives [].
        let mut names: Vec<String> = Vec::new();
        for m in st.upstream.get(&id).cloned().unwrap_or_default() {
            if !names.contains(&m) {
                names.push(m);
            }
        }
        let names = faulted_names(fault, &names).unwrap_or(names);
        if matches!(fault, Some(FaultKind::NullList)) {
            return ok(Value::Null);
        }
        ok(json!(names))
    }

    /// `PUT /api/channel/` (§3.4): the full-object hazard.
    fn update(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let body = match req.json() {
            Ok(Value::Object(b)) => b,
            Ok(_) | Err(_) => return fail("invalid character in request body"),
        };
        for field in FIELDS {
            if let Some(v) = body.get(field.name) {
                if let Some(err) = go_type_error("Channel", field, v) {
                    return fail(&err);
                }
            }
        }
        let id = body.get("id").and_then(Value::as_u64).unwrap_or(0);
        let Some(stored) = st.channels.get(&id).cloned() else {
            return fail("record not found");
        };
        if matches!(fault, Some(FaultKind::ChannelDeleted)) {
            return fail("record not found");
        }
        let models_non_empty = body
            .get("models")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty());
        let mut updated = stored.clone();
        if models_non_empty {
            // Update(true): Select("*").Omit("UsedQuota") — every column, zero values included
            // (deanxv/done-hub `model/channel.go` `UpdateRaw`). That includes `status`,
            // `balance`, `test_time` and `response_time` as the client sent them: a client that
            // read an enabled channel before it was auto-disabled (status 3) re-enables it.
            for field in FIELDS {
                if matches!(field.name, "id" | "used_quota") {
                    continue;
                }
                let v = body
                    .get(field.name)
                    .filter(|v| !v.is_null())
                    .cloned()
                    .unwrap_or_else(|| zero_of(field));
                updated.insert(field.name.to_string(), v);
            }
        } else {
            // Update(false): Omit("UsedQuota").Updates(ch) — zero values skipped.
            gorm_updates(&mut updated, &body, FIELDS, &["id", "used_quota"]);
        }
        // Tag consistency: all channels under a tag share one type.
        let (old_tag, new_tag) = (s(&stored, "tag"), s(&updated, "tag"));
        if !new_tag.is_empty() && (old_tag != new_tag || i(&stored, "type") != i(&updated, "type"))
        {
            let ty = i(&updated, "type");
            let clash = st
                .channels
                .values()
                .any(|c| i(c, "id") != id as i64 && s(c, "tag") == new_tag && i(c, "type") != ty);
            if clash {
                return fail("标签下的渠道类型必须一致");
            }
        }
        st.channels.insert(id, updated.clone());
        st.count_write(id);
        ok(Value::Object(updated))
    }
}

impl FlavorApi for DoneHub {
    fn seed(&self, st: &mut State, seeds: &[SeedChannel]) {
        for sd in seeds {
            st.channels.insert(sd.id, Self::channel_json(sd));
            st.upstream.insert(sd.id, sd.upstream.clone());
        }
    }

    fn classify(&self, st: &State, req: &Req) -> (Op, Option<u64>) {
        let path = gin_path(req);
        let seg = segments(&path);
        let body_id = || {
            req.json()
                .ok()
                .and_then(|b| b.get("id").and_then(Value::as_u64))
        };
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["api", "status"]) => (Op::Status, None),
            ("GET", ["api", "channel"]) => (Op::ListChannels, None),
            ("GET", ["api", "channel_tag", _, "list"]) => (Op::TagList, None),
            ("POST", ["api", "channel", "provider_models_list"]) => {
                let key = req
                    .json()
                    .ok()
                    .and_then(|b| b.get("key").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                let by_key = super::new_api::find_by_key(st, key.lines().next().unwrap_or(""));
                (
                    Op::FetchModels,
                    by_key.or_else(body_id).filter(|id| *id != 0),
                )
            }
            ("GET", ["api", "channel", "test", id]) => (Op::TestChannel, id.parse().ok()),
            ("GET", ["api", "channel", id]) => (Op::GetChannel, id.parse().ok()),
            ("PUT", ["api", "channel"]) => (Op::UpdateChannel, body_id()),
            (_, ["api", "user", ..]) => (Op::Login, None),
            _ => (Op::Other, None),
        }
    }

    fn handle(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply {
        let path = gin_path(req);
        let seg = segments(&path);
        let route = (req.method.as_str(), seg.as_slice());
        if let ("GET", ["api", "status"]) = route {
            let version = st.config.version.clone().unwrap_or_else(|| "v1.4.7".into());
            return ok(
                json!({"version": version, "system_name": "Done Hub", "start_time": 1_760_000_000}),
            );
        }
        let known = matches!(
            route,
            ("GET", ["api", "channel"])
                | ("GET", ["api", "channel", _])
                | ("GET", ["api", "channel", "test", _])
                | ("GET", ["api", "channel_tag", _, "list"])
                | ("POST", ["api", "channel", "provider_models_list"])
                | ("PUT", ["api", "channel"])
        );
        if !known {
            return Reply::text(404, "text/plain", "404 page not found");
        }
        if let Err(r) = self.authenticate(st, req, Role::Admin) {
            return r;
        }
        match route {
            ("GET", ["api", "channel"]) => self.list(st, req, fault),
            ("GET", ["api", "channel_tag", tag, "list"]) => self.tag_list(st, req, tag),
            ("GET", ["api", "channel", "test", id]) => {
                let model = req.param("model").unwrap_or("").to_string();
                if model.is_empty() {
                    // No `test_model` on the mock's channels: DoneHub refuses.
                    return fail("请填写测速模型后再试");
                }
                crate::probe::rest_test(st, crate::probe::TestFlavor::DoneHub, id, &model)
            }
            ("POST", ["api", "channel", "provider_models_list"]) => {
                self.fetch_models(st, req, fault)
            }
            ("GET", ["api", "channel", id]) => match id.parse::<u64>() {
                // GetChannelById does DB.First: the full row, key included.
                Ok(id) => match st.channels.get(&id) {
                    Some(_) if matches!(fault, Some(FaultKind::ChannelDeleted)) => {
                        fail("record not found")
                    }
                    Some(c) => ok(Value::Object(c.clone())),
                    None => fail("record not found"),
                },
                Err(_) => fail(&format!("strconv.Atoi: parsing \"{id}\": invalid syntax")),
            },
            ("PUT", ["api", "channel"]) => self.update(st, req, fault),
            _ => Reply::text(404, "text/plain", "404 page not found"),
        }
    }

    fn business_error(&self, _st: &State, _req: &Req, message: &str) -> Reply {
        fail(message)
    }

    fn status_error(&self, _st: &State, _req: &Req, status: u16) -> Reply {
        let message = match status {
            401 => "无权进行此操作，未登录且未提供 access token",
            403 => "无权进行此操作，权限不足",
            _ => "服务器内部错误",
        };
        Reply::json(status, &json!({"success": false, "message": message}))
    }
}

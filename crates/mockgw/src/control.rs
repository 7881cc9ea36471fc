//! `/__mock/*` control routes: the library API over HTTP, for the Node e2e tests and the demo.
//! They need no auth, are never logged and never faulted.
//!
//! | Route | Effect |
//! |---|---|
//! | `GET /__mock/config` | flavour, credentials, options |
//! | `GET /__mock/requests[?since=N]` | the request log (entries with `seq > N`) |
//! | `DELETE /__mock/requests` | clears the log |
//! | `GET /__mock/state` | channels (full stored JSON), upstream lists, write counters, faults |
//! | `GET /__mock/channels/:id` / `DELETE …` | one channel / delete it |
//! | `POST /__mock/faults` | add a rule or an array of rules (see `fault.rs`) |
//! | `DELETE /__mock/faults` (or `POST /__mock/faults/clear`) | remove all rules |
//! | `POST /__mock/upstream/:id` | `{"models":[…]}` or `[…]`: what the upstream serves |
//! | `POST /__mock/reset` | back to the seeded state |
//! | `GET /__mock/options` | every New API option as stored (secrets too) and the PUT log |
//! | `POST /__mock/options` | `{"Key": "value", …}`: set options (e.g. `ExposeRatioEnabled`) |
//! | `POST /__mock/ratio_source` | `{"url": U, "kind": "json", "body": …}` / `{"url": U, "kind": "text", "status": S, "body": "…"}` / `{"url": U, "kind": "hang"}`: what a ratio sync upstream URL answers |

use crate::fault::FaultRule;
use crate::server::Shared;
use crate::state::{Reply, Req};
use serde_json::{json, Value};

fn bad(message: &str) -> Reply {
    Reply::json(400, &json!({"ok": false, "error": message}))
}

fn ok(value: Value) -> Reply {
    Reply::ok(&value)
}

pub fn state_json(shared: &Shared) -> Value {
    let st = shared.lock();
    json!({
        "flavor": st.config.flavor,
        "channels": st.channels.values().cloned().map(Value::Object).collect::<Vec<_>>(),
        "upstream": st.upstream.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "writes": st.writes.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "faults": st.faults.rules(),
        "groups": st.groups,
        "requests": st.log.len(),
    })
}

pub fn handle(shared: &Shared, req: &Req) -> Reply {
    let seg = req.segments();
    let method = req.method.as_str();
    match (method, &seg[1..]) {
        ("GET", ["config"]) => {
            let st = shared.lock();
            ok(serde_json::to_value(&st.config).unwrap_or(Value::Null))
        }
        ("GET", ["requests"]) => {
            let since = req
                .param("since")
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            let st = shared.lock();
            let items: Vec<_> = st.log.iter().filter(|r| r.seq > since).collect();
            ok(json!({ "requests": items }))
        }
        ("DELETE", ["requests"]) | ("POST", ["requests", "clear"]) => {
            shared.lock().log.clear();
            ok(json!({"ok": true}))
        }
        ("GET", ["state"]) => ok(state_json(shared)),
        // The fake notification receiver (`receiver.rs`).
        ("GET", ["notifications"]) => ok(json!({ "received": shared.lock().inbox.received })),
        ("DELETE", ["notifications"]) => {
            shared.lock().inbox.received.clear();
            ok(json!({"ok": true}))
        }
        ("POST", ["notify_fail"]) => {
            let status = req
                .json()
                .ok()
                .and_then(|v| v.get("status").and_then(Value::as_u64))
                .map(|s| s as u16);
            shared.lock().inbox.fail = status;
            ok(json!({"ok": true}))
        }
        ("POST", ["notify_bot_token"]) => {
            let token = req
                .json()
                .ok()
                .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_string));
            shared.lock().inbox.bot_token = token;
            ok(json!({"ok": true}))
        }
        ("GET", ["channels", id]) => {
            let Ok(id) = id.parse::<u64>() else {
                return bad("channel id must be a number");
            };
            match shared.lock().channels.get(&id) {
                Some(c) => ok(Value::Object(c.clone())),
                None => Reply::json(404, &json!({"ok": false, "error": "no such channel"})),
            }
        }
        ("DELETE", ["channels", id]) => {
            let Ok(id) = id.parse::<u64>() else {
                return bad("channel id must be a number");
            };
            let removed = shared.lock().channels.remove(&id).is_some();
            ok(json!({ "ok": removed }))
        }
        ("POST", ["faults"]) => {
            let parsed: Result<Vec<FaultRule>, _> = match req.json() {
                Ok(Value::Array(items)) => items.into_iter().map(serde_json::from_value).collect(),
                Ok(one) => serde_json::from_value(one).map(|r| vec![r]),
                Err(e) => return bad(&format!("body is not JSON: {e}")),
            };
            match parsed {
                Ok(rules) => {
                    let mut st = shared.lock();
                    for r in rules {
                        st.faults.add(r);
                    }
                    ok(json!({"ok": true, "faults": st.faults.rules().len()}))
                }
                Err(e) => bad(&format!("bad fault rule: {e}")),
            }
        }
        ("DELETE", ["faults"]) | ("POST", ["faults", "clear"]) => {
            shared.lock().faults.clear();
            ok(json!({"ok": true}))
        }
        ("GET", ["faults"]) => ok(json!(shared.lock().faults.rules())),
        ("POST", ["upstream", id]) => {
            let Ok(id) = id.parse::<u64>() else {
                return bad("channel id must be a number");
            };
            let models = match req.json() {
                Ok(Value::Array(a)) => a,
                Ok(Value::Object(o)) => match o.get("models") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => return bad("expected {\"models\": [..]}"),
                },
                _ => return bad("expected {\"models\": [..]}"),
            };
            let names: Option<Vec<String>> = models
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect();
            match names {
                Some(names) => {
                    shared.lock().upstream.insert(id, names);
                    ok(json!({"ok": true}))
                }
                None => bad("models must be strings"),
            }
        }
        ("GET", ["options"]) => {
            let st = shared.lock();
            ok(json!({"options": st.ratio.options, "writes": st.ratio.writes}))
        }
        ("POST", ["options"]) => match req.json() {
            Ok(Value::Object(o)) => {
                let mut st = shared.lock();
                for (k, v) in o {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    st.ratio.options.insert(k, v);
                }
                ok(json!({"ok": true}))
            }
            _ => bad("expected {\"Key\": \"value\", …}"),
        },
        ("POST", ["ratio_source"]) => {
            let Ok(Value::Object(mut o)) = req.json() else {
                return bad("expected {\"url\": …, \"kind\": …}");
            };
            let Some(Value::String(url)) = o.remove("url") else {
                return bad("url is required");
            };
            match serde_json::from_value::<crate::ratio::CannedSource>(Value::Object(o)) {
                Ok(src) => {
                    shared.lock().ratio.sources.insert(url, src);
                    ok(json!({"ok": true}))
                }
                Err(e) => bad(&format!("bad source: {e}")),
            }
        }
        // Issue 21: channel test scripts and log (`probe.rs`).
        ("GET", ["probe"]) => ok(json!({ "probes": shared.lock().probe.log })),
        ("POST", ["probe"]) => {
            // {"model": "m", "channel": 3?, "answer": "fail", "message": "…"}
            let Ok(Value::Object(mut o)) = req.json() else {
                return bad("expected {\"model\": …, \"answer\": \"pass\"|\"fail\"|\"timeout\"}");
            };
            let Some(Value::String(model)) = o.remove("model") else {
                return bad("model is required");
            };
            let channel = o.remove("channel").and_then(|c| c.as_u64());
            match serde_json::from_value::<crate::probe::ProbeScript>(Value::Object(o)) {
                Ok(script) => {
                    let mut st = shared.lock();
                    match channel {
                        Some(c) => {
                            st.probe.channel_scripts.insert((c, model), script);
                        }
                        None => {
                            st.probe.scripts.insert(model, script);
                        }
                    }
                    ok(json!({"ok": true}))
                }
                Err(e) => bad(&format!("bad probe script: {e}")),
            }
        }
        ("POST", ["reset"]) => {
            shared.reset();
            ok(json!({"ok": true}))
        }
        _ => Reply::json(404, &json!({"ok": false, "error": "unknown control route"})),
    }
}

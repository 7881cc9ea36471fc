use super::assert_clean;
use crate::error::ErrorClass;
use crate::gateway::done_hub::DoneHub;
use crate::gateway::testing::*;
use crate::gateway::Gateway;
use crate::http::{Method, Response};
use crate::model::{Channel, ChannelId, ChannelUpdate, Mapping, SiteKind};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;

const CHANNEL_KEY: &str = "sk-upstream-KEY-abcdef123456";

fn ok(data: Value) -> Response {
    json(200, json!({"success": true, "message": "", "data": data}))
}

fn full_channel(id: u64, tag: &str) -> Value {
    json!({"id": id, "type": 1, "key": CHANNEL_KEY, "status": 1, "name": format!("oai{id}"),
           "weight": 1, "created_time": 1719800000, "test_time": 0, "response_time": 0,
           "base_url": "https://api.example.com", "other": "", "balance": 0,
           "balance_updated_time": 0, "models": "gpt-4o,gpt-4o-mini", "group": "default",
           "tag": tag, "used_quota": 0, "model_mapping": "{\"gpt-4o\":\"+gpt-4o-2024-08-06\"}",
           "model_headers": "", "header_override": null, "custom_parameter": "", "priority": 3,
           "proxy": "socks5://p", "test_model": "gpt-4o-mini", "only_chat": false, "pre_cost": 1,
           "compatible_response": false, "allow_extra_body": false, "pass_through_body": false,
           "cost_ratio": 0, "plugin": null})
}

fn listed(id: u64, tag: &str) -> Value {
    let mut v = full_channel(id, tag);
    v["key"] = json!("");
    v
}

fn adapter(t: &Rc<FakeTransport>) -> DoneHub {
    DoneHub::new(test_ctx(SiteKind::DoneHub, t.clone()))
}

fn channel(id: &str) -> Channel {
    Channel {
        id: ChannelId(id.into()),
        name: String::new(),
        enabled: true,
        channel_type: "1".into(),
        upstream_base_url: None,
        models: vec![],
        mapping: Mapping::Empty,
        tag: None,
        rules: Default::default(),
    }
}

#[test]
fn list_pages_and_expands_folded_tags() {
    let t = FakeTransport::new(|req| {
        let page: usize = query_param(&req.url, "page").unwrap().parse().unwrap();
        assert_eq!(query_param(&req.url, "size"), Some("100"));
        let p = path_of(&req.url);
        Ok(if p.starts_with("/api/channel_tag/team%20a%2Fb/list") {
            let rows: Vec<Value> = if page == 1 {
                vec![
                    listed(2, "team a/b"),
                    listed(3, "team a/b"),
                    listed(4, "team a/b"),
                ]
            } else {
                vec![]
            };
            ok(json!({"data": rows, "page": page, "size": 100, "total_count": 3}))
        } else if p.starts_with("/api/channel/") {
            // 101 rows: 100 on page 1 (ids 200..=299 then the tag representative on page 2).
            let rows: Vec<Value> = match page {
                1 => (200..300).map(|i| listed(i, "")).collect(),
                2 => vec![listed(2, "team a/b")],
                _ => vec![],
            };
            ok(json!({"data": rows, "page": page, "size": 100, "total_count": 101}))
        } else {
            json(404, json!({}))
        })
    });
    let gw = adapter(&t);
    let chans = block_on(gw.list_channels()).unwrap();
    assert_eq!(chans.len(), 103);
    let tagged: Vec<&str> = chans
        .iter()
        .filter(|c| c.tag.is_some())
        .map(|c| c.id.0.as_str())
        .collect();
    assert_eq!(tagged, vec!["2", "3", "4"]);
    assert_eq!(
        t.calls(),
        vec![
            "GET /api/channel/?page=1&size=100",
            "GET /api/channel/?page=2&size=100",
            "GET /api/channel_tag/team%20a%2Fb/list?page=1&size=100",
        ]
    );
    assert_eq!(
        header_of(&t.requests()[0], "Authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );
}

#[test]
fn plus_mapping_values_are_read_verbatim() {
    let t = FakeTransport::scripted(vec![Ok(ok(full_channel(5, "")))]);
    let ch = block_on(adapter(&t).get_channel(&ChannelId("5".into()))).unwrap();
    assert_eq!(
        ch.mapping.pairs(),
        &[("gpt-4o".to_string(), "+gpt-4o-2024-08-06".to_string())]
    );
}

/// A server that stores one channel and applies DoneHub's two PUT paths faithfully.
fn store_server(store: Rc<RefCell<Value>>) -> Rc<FakeTransport> {
    FakeTransport::new(move |req| {
        if is(req, Method::Get, "/api/channel/5") {
            return Ok(ok(store.borrow().clone()));
        }
        if is(req, Method::Put, "/api/channel/") {
            let body = body_json(req);
            let models = body.get("models").and_then(Value::as_str).unwrap_or("");
            let mut s = store.borrow_mut();
            if models.is_empty() {
                // Update(false): zero values skipped.
                for (k, v) in body.as_object().unwrap() {
                    let zero =
                        v.is_null() || v == &json!("") || v == &json!(0) || v == &json!(false);
                    if !zero {
                        s[k] = v.clone();
                    }
                }
            } else {
                // Update(true): every column written (used_quota spared).
                let quota = s["used_quota"].clone();
                let mut fresh = json!({});
                for k in s.as_object().unwrap().keys() {
                    fresh[k] = body.get(k).cloned().unwrap_or(Value::Null);
                }
                fresh["used_quota"] = quota;
                *s = fresh;
            }
            return Ok(ok(s.clone()));
        }
        Ok(json(404, json!({"success": false, "message": "no route"})))
    })
}

#[test]
fn model_write_is_a_full_object_put_and_no_other_field_changes() {
    let original = full_channel(5, "");
    let store = Rc::new(RefCell::new(original.clone()));
    let t = store_server(store.clone());
    let gw = adapter(&t);
    let up = ChannelUpdate {
        models: Some(vec!["a".into(), "b".into()]),
        mapping: Some(vec![("std".into(), "+a".into())]),
    };
    let stored = block_on(gw.update_channel(&channel("5"), &up)).unwrap();
    assert_eq!(t.calls(), vec!["GET /api/channel/5", "PUT /api/channel/"]);
    let sent = body_json(&t.requests()[1]);
    let mut expected = original.clone();
    expected["models"] = json!("a,b");
    expected["model_mapping"] = json!("{\"std\":\"+a\"}");
    assert_eq!(
        sent, expected,
        "every original field is sent back unchanged"
    );
    let after = store.borrow().clone();
    assert_eq!(after, expected, "no other column changed");
    assert_eq!(stored.models, vec!["a", "b"]);
    assert_eq!(
        stored.mapping.pairs(),
        &[("std".to_string(), "+a".to_string())]
    );
}

#[test]
fn mapping_only_write_sends_id_and_mapping() {
    let store = Rc::new(RefCell::new(full_channel(5, "")));
    let t = store_server(store.clone());
    let gw = adapter(&t);
    let up = ChannelUpdate {
        models: None,
        mapping: Some(vec![("x".into(), "gpt-4o".into())]),
    };
    block_on(gw.update_channel(&channel("5"), &up)).unwrap();
    assert_eq!(t.calls(), vec!["PUT /api/channel/"]);
    assert_eq!(
        body_json(&t.requests()[0]),
        json!({"id": 5, "model_mapping": "{\"x\":\"gpt-4o\"}"})
    );
    assert_eq!(store.borrow()["key"], json!(CHANNEL_KEY));

    // Clearing the mapping cannot go the zero-skipping way: full object with the stored models.
    let t = store_server(store.clone());
    let gw = adapter(&t);
    let clear = ChannelUpdate {
        models: None,
        mapping: Some(vec![]),
    };
    block_on(gw.update_channel(&channel("5"), &clear)).unwrap();
    assert_eq!(t.calls(), vec!["GET /api/channel/5", "PUT /api/channel/"]);
    let s = store.borrow();
    assert_eq!(s["model_mapping"], json!(""));
    assert_eq!(s["models"], json!("gpt-4o,gpt-4o-mini"));
    assert_eq!(s["key"], json!(CHANNEL_KEY));
    assert_eq!(s["priority"], json!(3));
}

#[test]
fn unsafe_writes_are_refused_before_anything_is_sent() {
    // Empty model list.
    let t = FakeTransport::scripted(vec![]);
    let up = ChannelUpdate {
        models: Some(vec![]),
        mapping: None,
    };
    let e = block_on(adapter(&t).update_channel(&channel("5"), &up)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation);
    assert!(t.requests().is_empty());
    // A fresh read without the key would make the full PUT wipe it.
    let mut keyless = full_channel(5, "");
    keyless["key"] = json!("");
    let t = FakeTransport::scripted(vec![Ok(ok(keyless))]);
    let up = ChannelUpdate {
        models: Some(vec!["a".into()]),
        mapping: None,
    };
    let e = block_on(adapter(&t).update_channel(&channel("5"), &up)).unwrap_err();
    assert_eq!(e.class, ErrorClass::InvalidResponse);
    assert_eq!(t.calls(), vec!["GET /api/channel/5"]);
}

#[test]
fn put_errors_never_show_the_channel_key() {
    let t = FakeTransport::scripted(vec![
        Ok(ok(full_channel(5, ""))),
        Ok(json(
            200,
            json!({"success": false, "message": format!("duplicate key {CHANNEL_KEY}")}),
        )),
    ]);
    let up = ChannelUpdate {
        models: Some(vec!["a".into()]),
        mapping: None,
    };
    let e = block_on(adapter(&t).update_channel(&channel("5"), &up)).unwrap_err();
    assert_clean(&e, &[CHANNEL_KEY]);
}

#[test]
fn fetch_models_posts_the_id_and_classifies_failures() {
    let rows: Vec<(Response, Result<Vec<&str>, ErrorClass>)> = vec![
        (
            ok(json!(["gpt-4o", "gpt-4o", "o1"])),
            Ok(vec!["gpt-4o", "o1"]),
        ),
        (ok(json!([])), Ok(vec![])),
        (
            json(
                200,
                json!({"success": false, "message": "channel not implemented"}),
            ),
            Err(ErrorClass::Validation),
        ),
        (
            json(
                200,
                json!({"success": false, "message": "record not found"}),
            ),
            Err(ErrorClass::NotFound),
        ),
        (
            json(
                200,
                json!({"success": false, "message": "Incorrect API key provided: sk-abcdefghijkl"}),
            ),
            Err(ErrorClass::Upstream),
        ),
        (
            json(
                200,
                json!({"success": false, "message": "无权进行此操作，access token 无效"}),
            ),
            Err(ErrorClass::Auth),
        ),
        (
            json(
                401,
                json!({"success": false, "message": "无权进行此操作，未登录且未提供 access token"}),
            ),
            Err(ErrorClass::Auth),
        ),
    ];
    for (resp, want) in rows {
        let t = FakeTransport::scripted(vec![Ok(resp)]);
        let got = block_on(adapter(&t).fetch_upstream_models(&channel("5")));
        let req = &t.requests()[0];
        assert!(is(req, Method::Post, "/api/channel/provider_models_list"));
        assert_eq!(body_json(req), json!({"id": 5}));
        assert_eq!(header_of(req, "Content-Type"), Some("application/json"));
        match (got, want) {
            (Ok(m), Ok(w)) => assert_eq!(m, w),
            (Err(e), Err(c)) => {
                assert_eq!(e.class, c, "{e}");
                assert!(!e.message.contains("sk-abcdefghijkl"), "{e}");
            }
            (g, w) => panic!("got {g:?} want {w:?}"),
        }
    }
}

#[test]
fn size_limit_and_capabilities() {
    let t = FakeTransport::scripted(vec![Ok(json(
        200,
        json!({"success": false, "message": "size 参数不能超过 100"}),
    ))]);
    let gw = adapter(&t);
    let e = block_on(gw.list_channels()).unwrap_err();
    assert_eq!(e.class, ErrorClass::Server);
    let caps = gw.capabilities();
    assert!(caps.model_mapping && caps.aliases_must_be_listed && !caps.ratio_sync);
}

/// Issue 21: DoneHub says when its channel test disabled the channel
/// (`controller/channel-test.go` `TestChannel` → `DisableChannel`).
#[test]
fn channel_test_reports_that_the_gateway_disabled_the_channel() {
    let t = FakeTransport::scripted(vec![
        Ok(json(
            200,
            json!({"success": true, "message": "测速成功", "time": 0.5}),
        )),
        Ok(json(
            200,
            json!({"success": false, "message": "测速失败，已被禁用，原因：invalid_api_key", "time": 0.3}),
        )),
        Ok(json(
            200,
            json!({"success": false, "message": "测速失败，原因：model not found", "time": 0.3}),
        )),
    ]);
    let gw = adapter(&t);
    let ch = channel("5");
    assert!(block_on(gw.test_channel(&ch, "m", 30_000)).unwrap().passed);
    let off = block_on(gw.test_channel(&ch, "m", 30_000)).unwrap();
    assert!(!off.passed && off.answer.channel_disabled);
    let plain = block_on(gw.test_channel(&ch, "m", 30_000)).unwrap();
    assert!(!plain.passed && !plain.answer.channel_disabled);
    assert!(path_of(&t.requests()[0].url).starts_with("/api/channel/test/5?model=m"));
    assert!(gw.capabilities().channel_test.is_supported());
}

use super::assert_clean;
use crate::error::ErrorClass;
use crate::gateway::new_api::NewApi;
use crate::gateway::testing::*;
use crate::gateway::Gateway;
use crate::http::{Method, Response, TransportError};
use crate::model::{Channel, ChannelId, ChannelUpdate, Mapping, SiteKind};
use serde_json::{json, Value};
use std::rc::Rc;

fn adapter(kind: SiteKind, t: &Rc<FakeTransport>) -> NewApi {
    NewApi::new(test_ctx(kind, t.clone()))
}

fn channel_json(id: u64) -> Value {
    json!({"id": id, "type": 1, "key": "", "status": 1, "name": format!("ch{id}"),
           "base_url": "https://up.example.com", "models": "gpt-4o,gpt-4o-mini",
           "model_mapping": "", "tag": null, "used_quota": 5})
}

fn ok(data: Value) -> Response {
    json(200, json!({"success": true, "message": "", "data": data}))
}

fn channel(id: &str) -> Channel {
    Channel {
        id: ChannelId(id.into()),
        name: "c".into(),
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
fn new_envelope_is_paged_one_based_until_total() {
    let t = FakeTransport::new(|req| {
        let p: usize = query_param(&req.url, "p").unwrap().parse().unwrap();
        let ids: Vec<u64> = match p {
            1 => (1..=100).collect(),
            2 => (101..=150).collect(),
            _ => vec![],
        };
        let items: Vec<Value> = ids.into_iter().map(channel_json).collect();
        Ok(ok(
            json!({"items": items, "total": 150, "page": p, "page_size": 100}),
        ))
    });
    let gw = adapter(SiteKind::NewApi, &t);
    let chans = block_on(gw.list_channels()).unwrap();
    assert_eq!(chans.len(), 150);
    assert_eq!(chans[0].models, vec!["gpt-4o", "gpt-4o-mini"]);
    let reqs = t.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].url.contains("p=1&page_size=100&id_sort=true"));
    assert!(reqs[1].url.contains("p=2&"));
    assert_eq!(
        header_of(&reqs[0], "Authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );
    assert_eq!(header_of(&reqs[0], "New-Api-User"), Some("1"));
}

/// Old servers (and Veloera) answer a bare array and read `p` 0-based.
fn old_server(req: &crate::http::Request) -> Result<Response, TransportError> {
    let p: usize = query_param(&req.url, "p").unwrap().parse().unwrap();
    let start = p * 100 + 1;
    let end = (start + 99).min(130);
    let items: Vec<Value> = (start..=end).map(|i| channel_json(i as u64)).collect();
    Ok(ok(Value::Array(items)))
}

#[test]
fn bare_array_envelope_is_detected_and_read_zero_based() {
    let t = FakeTransport::new(old_server);
    let gw = adapter(SiteKind::NewApi, &t);
    let chans = block_on(gw.list_channels()).unwrap();
    let ids: Vec<String> = chans.iter().map(|c| c.id.0.clone()).collect();
    assert_eq!(ids.len(), 130, "no page skipped, none twice");
    assert_eq!(ids[0], "1");
    // p=1 (probe), then p=0 and p=1 for real.
    let ps: Vec<_> = t
        .requests()
        .iter()
        .map(|r| query_param(&r.url, "p").unwrap().to_string())
        .collect();
    assert_eq!(ps, vec!["1", "0", "1"]);
    // Remembered: the next listing starts at 0 straight away.
    block_on(gw.list_channels()).unwrap();
    assert_eq!(t.requests().len(), 5);
}

#[test]
fn veloera_uses_its_header_and_starts_at_page_zero() {
    let t = FakeTransport::new(old_server);
    let gw = adapter(SiteKind::Veloera, &t);
    assert_eq!(block_on(gw.list_channels()).unwrap().len(), 130);
    let reqs = t.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(query_param(&reqs[0].url, "p"), Some("0"));
    assert_eq!(header_of(&reqs[0], "Veloera-User"), Some("1"));
    assert_eq!(header_of(&reqs[0], "New-Api-User"), None);
    assert!(!gw.capabilities().ratio_sync);
}

#[test]
fn error_rows_are_classified_and_redacted() {
    let e200 = |msg: &str| Ok(json(200, json!({"success": false, "message": msg})));
    type Row = (
        &'static str,
        Result<Response, TransportError>,
        ErrorClass,
        Option<u16>,
        bool,
    );
    let rows: Vec<Row> = vec![
        (
            "era A invalid token (200)",
            e200("无权进行此操作，access token 无效"),
            ErrorClass::Auth,
            None,
            false,
        ),
        (
            "era A missing user header (401)",
            Ok(json(
                401,
                json!({"success": false, "message": "无权进行此操作，未提供 New-Api-User"}),
            )),
            ErrorClass::Auth,
            Some(401),
            false,
        ),
        (
            "era A role too low (200)",
            e200("无权进行此操作，权限不足"),
            ErrorClass::Permission,
            None,
            false,
        ),
        (
            "era B unauthorized",
            Ok(json(
                401,
                json!({"success": false, "code": "AUTH_UNAUTHORIZED", "message": "Unauthorized, invalid access token"}),
            )),
            ErrorClass::Auth,
            Some(401),
            false,
        ),
        (
            "era B expired",
            Ok(json(
                401,
                json!({"success": false, "code": "AUTH_TOKEN_EXPIRED", "message": "x"}),
            )),
            ErrorClass::Auth,
            Some(401),
            false,
        ),
        (
            "era B privilege",
            Ok(json(
                403,
                json!({"success": false, "code": "AUTH_INSUFFICIENT_PRIVILEGE", "message": "Unauthorized, insufficient privileges"}),
            )),
            ErrorClass::Permission,
            Some(403),
            false,
        ),
        (
            "era B authz without code",
            Ok(json(
                403,
                json!({"success": false, "message": "Unauthorized, insufficient privileges"}),
            )),
            ErrorClass::Permission,
            Some(403),
            false,
        ),
        (
            "era B internal",
            Ok(json(
                500,
                json!({"success": false, "code": "AUTH_INTERNAL_ERROR", "message": "db"}),
            )),
            ErrorClass::Server,
            Some(500),
            true,
        ),
        (
            "deleted mid-run (200)",
            e200("record not found"),
            ErrorClass::NotFound,
            None,
            false,
        ),
        (
            "deleted mid-run (404 fork)",
            Ok(json(
                404,
                json!({"success": false, "code": "channel_not_found", "message": "channel not found"}),
            )),
            ErrorClass::NotFound,
            Some(404),
            false,
        ),
        (
            "429 with Retry-After",
            Ok(Response {
                status: 429,
                headers: vec![("Retry-After".into(), "7".into())],
                body: String::new(),
            }),
            ErrorClass::RateLimited,
            Some(429),
            true,
        ),
        (
            "429 without",
            Ok(text(429, "")),
            ErrorClass::RateLimited,
            Some(429),
            true,
        ),
        (
            "500",
            Ok(text(500, "")),
            ErrorClass::Server,
            Some(500),
            true,
        ),
        (
            "502 html",
            Ok(text(502, "<html>Bad gateway</html>")),
            ErrorClass::Server,
            Some(502),
            true,
        ),
        (
            "503",
            Ok(json(503, json!({"success": false, "message": "busy"}))),
            ErrorClass::Server,
            Some(503),
            true,
        ),
        (
            "cloudflare page",
            Ok(text(
                200,
                "<!DOCTYPE html><title>Just a moment...</title> cloudflare",
            )),
            ErrorClass::InvalidResponse,
            None,
            false,
        ),
        (
            "login page after redirect",
            Ok(text(200, "<html><form action=/login>")),
            ErrorClass::InvalidResponse,
            None,
            false,
        ),
        (
            "truncated json",
            Ok(text(200, "{\"success\":true,\"data\":[")),
            ErrorClass::InvalidResponse,
            None,
            false,
        ),
        (
            "malformed json",
            Ok(text(200, "{success:true}")),
            ErrorClass::InvalidResponse,
            None,
            false,
        ),
        (
            "empty body",
            Ok(text(200, "")),
            ErrorClass::InvalidResponse,
            None,
            false,
        ),
        (
            "not an envelope",
            Ok(json(200, json!({"code": 200, "data": []}))),
            ErrorClass::InvalidResponse,
            None,
            false,
        ),
        (
            "timeout",
            Err(TransportError::Timeout),
            ErrorClass::Timeout,
            None,
            true,
        ),
        (
            "refused",
            Err(TransportError::Connect("connection refused".into())),
            ErrorClass::Network,
            None,
            true,
        ),
        (
            "dns",
            Err(TransportError::Dns("gw.test".into())),
            ErrorClass::Network,
            None,
            true,
        ),
        (
            "echoed secret",
            e200(&format!("token {TEST_TOKEN} rejected, Bearer {TEST_TOKEN}")),
            ErrorClass::Server,
            None,
            false,
        ),
    ];
    for (name, answer, class, status, retryable) in rows {
        let t = FakeTransport::scripted(vec![answer]);
        let gw = adapter(SiteKind::NewApi, &t);
        let e = block_on(gw.get_channel(&ChannelId("12".into()))).unwrap_err();
        assert_eq!(e.class, class, "{name}: {e}");
        assert_eq!(e.http_status, status, "{name}: {e}");
        assert_eq!(e.retryable, retryable, "{name}: {e}");
        assert_clean(&e, &[]);
        if name == "429 with Retry-After" {
            assert_eq!(e.retry_after_ms, Some(7000));
        }
    }
}

#[test]
fn fetch_models_reads_null_arrays_and_wrapped_upstream_statuses() {
    type Want = Result<Vec<&'static str>, (ErrorClass, Option<u16>, bool)>;
    let rows: Vec<(Response, Want)> = vec![
        (ok(Value::Null), Ok(vec![])),
        (ok(json!([])), Ok(vec![])),
        (
            ok(json!([" gpt-4o", "gpt-4o", "", "模型-中文"])),
            Ok(vec!["gpt-4o", "模型-中文"]),
        ),
        (
            json(
                200,
                json!({"success": false, "message": "获取模型列表失败: status code: 401"}),
            ),
            Err((ErrorClass::Upstream, Some(401), false)),
        ),
        (
            json(
                200,
                json!({"success": false, "message": "status code: 503"}),
            ),
            Err((ErrorClass::Upstream, Some(503), true)),
        ),
        (
            json(
                200,
                json!({"success": false, "message": "解析响应失败: invalid character"}),
            ),
            Err((ErrorClass::Upstream, None, true)),
        ),
        (
            json(
                502,
                json!({"success": false, "code": "fetch_models_failed", "message": "获取模型列表失败: status code: 429"}),
            ),
            Err((ErrorClass::Upstream, Some(429), true)),
        ),
        (
            ok(json!({"x": 1})),
            Err((ErrorClass::InvalidResponse, None, false)),
        ),
    ];
    for (resp, want) in rows {
        let t = FakeTransport::scripted(vec![Ok(resp)]);
        let gw = adapter(SiteKind::NewApi, &t);
        let got = block_on(gw.fetch_upstream_models(&channel("7")));
        assert_eq!(t.calls(), vec!["GET /api/channel/fetch_models/7"]);
        match (got, want) {
            (Ok(m), Ok(w)) => assert_eq!(m, w),
            (Err(e), Err((class, status, retry))) => {
                assert_eq!(
                    (e.class, e.http_status, e.retryable),
                    (class, status, retry),
                    "{e}"
                )
            }
            (g, w) => panic!("got {g:?}, want {w:?}"),
        }
    }
}

#[test]
fn a_hundred_thousand_models_are_handled() {
    let many: Vec<String> = (0..100_000).map(|i| format!("model-{i}")).collect();
    let t = FakeTransport::scripted(vec![Ok(ok(json!(many)))]);
    let gw = adapter(SiteKind::NewApi, &t);
    let got = block_on(gw.fetch_upstream_models(&channel("1"))).unwrap();
    assert_eq!(got.len(), 100_000);
}

#[test]
fn update_sends_a_minimal_body_without_status() {
    let t = FakeTransport::new(|req| {
        let mut ch = channel_json(12);
        let body = body_json(req);
        ch["models"] = body["models"].clone();
        ch["model_mapping"] = body.get("model_mapping").cloned().unwrap_or(json!(""));
        Ok(ok(ch))
    });
    let gw = adapter(SiteKind::NewApi, &t);
    let update = ChannelUpdate {
        models: Some(vec!["gpt-4o".into(), " my-alias ".into(), "gpt-4o".into()]),
        mapping: Some(vec![("my-alias".into(), "gpt-4o-2024-08-06".into())]),
    };
    let stored = block_on(gw.update_channel(&channel("12"), &update)).unwrap();
    let reqs = t.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, Method::Put);
    assert_eq!(path_of(&reqs[0].url), "/api/channel/");
    // Repeats dropped; spaces kept (the server does not trim: a revert writes back what it read).
    assert_eq!(
        body_json(&reqs[0]),
        json!({"id": 12, "models": "gpt-4o, my-alias ", "model_mapping": "{\"my-alias\":\"gpt-4o-2024-08-06\"}"})
    );
    assert_eq!(stored.models, vec!["gpt-4o", " my-alias "]);
    assert_eq!(
        stored.mapping.pairs(),
        &[("my-alias".to_string(), "gpt-4o-2024-08-06".to_string())]
    );

    // Mapping only, and clearing it: `model_mapping: ""`, nothing else.
    let t = FakeTransport::scripted(vec![Ok(ok(channel_json(12)))]);
    let gw = adapter(SiteKind::NewApi, &t);
    let clear = ChannelUpdate {
        models: None,
        mapping: Some(vec![]),
    };
    block_on(gw.update_channel(&channel("12"), &clear)).unwrap();
    assert_eq!(
        body_json(&t.requests()[0]),
        json!({"id": 12, "model_mapping": ""})
    );
}

#[test]
fn update_refuses_empty_models_and_bad_ids_without_sending() {
    let t = FakeTransport::scripted(vec![]);
    let gw = adapter(SiteKind::NewApi, &t);
    let empty = ChannelUpdate {
        models: Some(vec![" ".into()]),
        mapping: None,
    };
    let e = block_on(gw.update_channel(&channel("12"), &empty)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation);
    let e = block_on(gw.get_channel(&ChannelId("gid://x/1".into()))).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation);
    assert!(t.requests().is_empty());
}

#[test]
fn success_false_on_put_is_an_error_not_a_write() {
    let t = FakeTransport::scripted(vec![Ok(json(
        200,
        json!({"success": false, "message": "Invalid parameters"}),
    ))]);
    let gw = adapter(SiteKind::NewApi, &t);
    let up = ChannelUpdate {
        models: Some(vec!["a".into()]),
        mapping: None,
    };
    let e = block_on(gw.update_channel(&channel("12"), &up)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation);
    assert!(!e.retryable);
}

#[test]
fn invalid_mapping_text_is_kept_as_invalid() {
    let mut ch = channel_json(3);
    ch["model_mapping"] = json!("{not json");
    let t = FakeTransport::scripted(vec![Ok(ok(ch))]);
    let gw = adapter(SiteKind::NewApi, &t);
    let got = block_on(gw.get_channel(&ChannelId("3".into()))).unwrap();
    assert!(matches!(got.mapping, Mapping::Invalid { ref raw, .. } if raw == "{not json"));
}

#[test]
fn test_connection_reports_version_root_and_envelope() {
    let run = |option_answer: Response| {
        let option_answer = std::cell::RefCell::new(Some(option_answer));
        let t = FakeTransport::new(move |req| {
            let p = path_of(&req.url);
            Ok(if p.starts_with("/api/status") {
                ok(json!({"version": "v0.9.1"}))
            } else if p.starts_with("/api/option/") {
                option_answer.borrow_mut().take().unwrap()
            } else {
                ok(json!({"items": [channel_json(1)], "total": 1}))
            })
        });
        let gw = adapter(SiteKind::NewApi, &t);
        block_on(gw.test_connection()).unwrap()
    };
    let r = run(ok(json!([])));
    assert!(r.reachable && r.authenticated && r.admin);
    assert_eq!(r.version.as_deref(), Some("v0.9.1"));
    assert_eq!(r.root, Some(true));
    assert_eq!(r.channel_count, Some(1));
    assert!(r.flavour_hint.unwrap().contains("2025-06 or later"));
    let r = run(json(
        403,
        json!({"success": false, "code": "AUTH_INSUFFICIENT_PRIVILEGE", "message": "x"}),
    ));
    assert_eq!(r.root, Some(false));
    let r = run(json(
        200,
        json!({"success": false, "message": "无权进行此操作，权限不足"}),
    ));
    assert_eq!(r.root, Some(false));
}

// ----- issue 21: the channel test (`controller/channel-test.go` `TestChannel`) ---------------

#[test]
fn channel_test_reads_verdicts_and_tells_them_from_failed_requests() {
    let t = FakeTransport::scripted(vec![
        Ok(json(
            200,
            json!({"success": true, "message": "", "time": 1.234}),
        )),
        Ok(json(
            200,
            json!({"success": false, "message": "model gpt-x ratio not set", "time": 0.0,
                   "error_code": "model_price_error"}),
        )),
        // `common.ApiError`: no `time` — the request failed, it is no verdict.
        Ok(json(
            200,
            json!({"success": false, "message": "record not found"}),
        )),
        // An older build without the route: gin's NoRoute.
        Ok(text(404, "404 page not found")),
    ]);
    let gw = adapter(SiteKind::NewApi, &t);
    let ch = channel("7");
    let pass = block_on(gw.test_channel(&ch, "gpt-4o mini/x", 20_000)).unwrap();
    assert!(pass.passed);
    assert_eq!(pass.answer.response_ms, Some(1234));
    let fail = block_on(gw.test_channel(&ch, "gpt-x", 20_000)).unwrap();
    assert!(!fail.passed);
    assert_eq!(fail.answer.error_code.as_deref(), Some("model_price_error"));
    assert_eq!(fail.answer.response_ms, None, "time 0 is no measure");
    assert_eq!(
        crate::probe::ProbeFailure::classify(&fail.answer),
        crate::probe::ProbeFailure::PriceMissing
    );
    let e = block_on(gw.test_channel(&ch, "gpt-x", 20_000)).unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound, "{e:?}");
    let e = block_on(gw.test_channel(&ch, "gpt-x", 20_000)).unwrap_err();
    assert_eq!((e.class, e.http_status), (ErrorClass::NotFound, Some(404)));
    let reqs = t.requests();
    assert!(path_of(&reqs[0].url).starts_with("/api/channel/test/7?"));
    assert_eq!(
        query_param(&reqs[0].url, "model"),
        Some("gpt-4o%20mini%2Fx")
    );
    assert_eq!(reqs[0].timeout_ms, 20_000);
    assert!(header_of(&reqs[0], "Authorization").is_some());
}

use super::assert_clean;
use crate::error::ErrorClass;
use crate::gateway::octopus::Octopus;
use crate::gateway::testing::*;
use crate::gateway::Gateway;
use crate::http::{Method, Request, Response};
use crate::model::{Channel, ChannelId, ChannelUpdate, Mapping, SiteKind};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJvY3RvcHVzIn0.c2lnbmF0dXJl";
const JWT2: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJvY3RvcHVzMiJ9.c2lnbmF0dXJlMg";
const CHANNEL_KEY: &str = "sk-octo-upstream-KEY-0001";

fn ok(data: Value) -> Response {
    json(
        200,
        json!({"code": 200, "message": "success", "data": data}),
    )
}

fn raw_channel() -> Value {
    json!({"id": 1, "name": "oai", "type": "openai", "enabled": true,
           "base_url": "https://api.openai.com", "key": CHANNEL_KEY,
           "model": "gpt-4o,gpt-4o-mini", "custom_model": "my-model", "proxy": false,
           "auto_sync": true, "custom_header": [], "param_override": null,
           "channel_proxy": null, "match_regex": null, "stats": {"requests": 3}})
}

fn login_v10(token: &str) -> Response {
    Response {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (
                "Set-Cookie".into(),
                format!("auth={token}; Path=/; Max-Age=900"),
            ),
        ],
        body: json!({"code": 200, "message": "success", "data": "login successfully"}).to_string(),
    }
}

fn authed_v10(req: &Request) -> Option<&str> {
    header_of(req, "Cookie").and_then(|c| c.strip_prefix("auth="))
}

fn adapter(t: &Rc<FakeTransport>) -> Octopus {
    Octopus::new(test_ctx(SiteKind::Octopus, t.clone()))
}

fn channel(id: &str) -> Channel {
    Channel {
        id: ChannelId(id.into()),
        name: String::new(),
        enabled: true,
        channel_type: "openai".into(),
        upstream_base_url: None,
        models: vec![],
        mapping: Mapping::Unsupported,
        tag: None,
        rules: Default::default(),
    }
}

#[test]
fn v10_logs_in_with_a_cookie_and_sends_json_content_type() {
    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/api/v1/user/login") {
            let b = body_json(req);
            assert_eq!(b["username"], "admin");
            assert_eq!(b["password"], TEST_PASSWORD);
            login_v10(JWT)
        } else if authed_v10(req) == Some(JWT) {
            ok(json!([raw_channel()]))
        } else {
            json(
                401,
                json!({"code": 401, "message": "Authentication failed"}),
            )
        })
    });
    let gw = adapter(&t);
    let chans = block_on(gw.list_channels()).unwrap();
    assert_eq!(chans.len(), 1);
    assert_eq!(
        chans[0].models,
        vec!["gpt-4o", "gpt-4o-mini"],
        "only `model` is synced; custom_model is the admin's"
    );
    assert_eq!(chans[0].mapping, Mapping::Unsupported);
    assert_eq!(chans[0].upstream_host().as_deref(), Some("api.openai.com"));
    let reqs = t.requests();
    assert_eq!(header_of(&reqs[1], "Authorization"), None);
    assert_eq!(
        header_of(&reqs[1], "Content-Type"),
        Some("application/json")
    );
    assert_eq!(
        header_of(&reqs[0], "Content-Type"),
        Some("application/json")
    );
    // The session is remembered.
    block_on(gw.list_channels()).unwrap();
    assert_eq!(t.calls().iter().filter(|c| c.contains("login")).count(), 1);
    let report = block_on(gw.test_connection()).unwrap();
    assert!(report.flavour_hint.unwrap().contains("v0.10"));
    assert_eq!(report.channel_count, Some(1));
}

#[test]
fn v09_logs_in_with_a_bearer_token() {
    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/api/v1/user/login") {
            ok(json!({"token": JWT, "expire_at": "2026-01-01T00:00:00Z"}))
        } else if header_of(req, "Authorization") == Some(&format!("Bearer {JWT}")) {
            let mut ch = raw_channel();
            ch.as_object_mut().unwrap().remove("base_url");
            ch["type"] = json!(0);
            ch["base_urls"] = json!([{"url": "https://old.example.com/v1", "delay": 0}]);
            ok(json!([ch]))
        } else {
            json(
                400,
                json!({"code": 400, "message": "Invalid request parameters"}),
            )
        })
    });
    let gw = adapter(&t);
    let r = block_on(gw.test_connection()).unwrap();
    assert!(r.flavour_hint.unwrap().contains("v0.9"));
    let chans = block_on(gw.list_channels()).unwrap();
    assert_eq!(chans[0].channel_type, "0");
    assert_eq!(
        chans[0].upstream_base_url.as_deref(),
        Some("https://old.example.com/v1")
    );
}

#[test]
fn an_expired_session_logs_in_once_more_and_no_more() {
    let logins = Rc::new(Cell::new(0));
    let l = logins.clone();
    let t = FakeTransport::new(move |req| {
        Ok(if is(req, Method::Post, "/api/v1/user/login") {
            l.set(l.get() + 1);
            login_v10(if l.get() == 1 { JWT } else { JWT2 })
        } else if authed_v10(req) == Some(JWT2) {
            ok(json!([raw_channel()]))
        } else {
            json(
                401,
                json!({"code": 401, "message": "Authentication failed"}),
            )
        })
    });
    let gw = adapter(&t);
    assert_eq!(block_on(gw.list_channels()).unwrap().len(), 1);
    assert_eq!(logins.get(), 2);

    // A server that keeps refusing: exactly one retry, then a clean auth error.
    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/api/v1/user/login") {
            login_v10(JWT)
        } else {
            json(
                401,
                json!({"code": 401, "message": format!("Authentication failed for auth={JWT}")}),
            )
        })
    });
    let e = block_on(adapter(&t).list_channels()).unwrap_err();
    assert_eq!(e.class, ErrorClass::Auth);
    assert_eq!(t.requests().len(), 4);
    assert_clean(&e, &[JWT]);
}

#[test]
fn wrong_password_is_an_auth_error_without_the_password() {
    let t = FakeTransport::scripted(vec![Ok(json(
        401,
        json!({"code": 401, "message": "Authentication failed"}),
    ))]);
    let e = block_on(adapter(&t).list_channels()).unwrap_err();
    assert_eq!(
        (e.class, e.http_status, e.retryable),
        (ErrorClass::Auth, Some(401), false)
    );
    assert_clean(&e, &[]);
}

fn store_server(store: Rc<RefCell<Value>>) -> Rc<FakeTransport> {
    FakeTransport::new(move |req| {
        if is(req, Method::Post, "/api/v1/user/login") {
            return Ok(login_v10(JWT));
        }
        if header_of(req, "Content-Type") != Some("application/json") {
            return Ok(json(
                415,
                json!({"code": 415, "message": "Invalid JSON format"}),
            ));
        }
        if is(req, Method::Get, "/api/v1/channel/list") {
            return Ok(ok(json!([store.borrow().clone()])));
        }
        if is(req, Method::Post, "/api/v1/channel/update") {
            let body = body_json(req);
            let mut s = store.borrow_mut();
            for (k, v) in body.as_object().unwrap() {
                s[k] = v.clone();
            }
            return Ok(ok(s.clone()));
        }
        if is(req, Method::Post, "/api/v1/channel/fetch-model") {
            return Ok(json(
                500,
                json!({"code": 500, "message": format!("Get \"https://api.openai.com/v1/models\" key {CHANNEL_KEY}: dial tcp: connection refused")}),
            ));
        }
        Ok(json(
            404,
            json!({"code": 404, "message": "Resource not found"}),
        ))
    })
}

#[test]
fn model_write_touches_model_only_and_keeps_custom_models() {
    let store = Rc::new(RefCell::new(raw_channel()));
    let t = store_server(store.clone());
    let gw = adapter(&t);
    let up = ChannelUpdate {
        models: Some(vec!["gpt-4o".into(), "my-model".into(), "o3".into()]),
        mapping: None,
    };
    let got = block_on(gw.update_channel(&channel("1"), &up)).unwrap();
    let put = t
        .requests()
        .into_iter()
        .find(|r| is(r, Method::Post, "/api/v1/channel/update"))
        .unwrap();
    assert_eq!(body_json(&put), json!({"id": 1, "model": "gpt-4o,o3"}));
    assert_eq!(store.borrow()["custom_model"], json!("my-model"));
    assert_eq!(got.models, vec!["gpt-4o", "o3"]);
}

#[test]
fn mapping_writes_and_empty_lists_are_refused_before_sending() {
    let t = FakeTransport::scripted(vec![]);
    let gw = adapter(&t);
    assert!(!gw.capabilities().model_mapping);
    let up = ChannelUpdate {
        models: Some(vec!["a".into()]),
        mapping: Some(vec![("x".into(), "a".into())]),
    };
    let e = block_on(gw.update_channel(&channel("1"), &up)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation);
    assert!(e.message.contains("mapping"));
    let up = ChannelUpdate {
        models: Some(vec![]),
        mapping: None,
    };
    assert_eq!(
        block_on(gw.update_channel(&channel("1"), &up))
            .unwrap_err()
            .class,
        ErrorClass::Validation
    );
    assert!(t.requests().is_empty());
}

#[test]
fn fetch_model_sends_the_channel_object_and_hides_its_key_in_errors() {
    let store = Rc::new(RefCell::new(raw_channel()));
    let t = store_server(store);
    let e = block_on(adapter(&t).fetch_upstream_models(&channel("1"))).unwrap_err();
    assert_eq!((e.class, e.retryable), (ErrorClass::Upstream, true));
    assert_clean(&e, &[CHANNEL_KEY, JWT]);
    let fetch = t
        .requests()
        .into_iter()
        .find(|r| is(r, Method::Post, "/api/v1/channel/fetch-model"))
        .unwrap();
    let body = body_json(&fetch);
    assert_eq!(
        body["key"],
        json!(CHANNEL_KEY),
        "the server needs the key: it does not look the channel up"
    );
    assert!(body.get("stats").is_none());

    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/api/v1/user/login") {
            login_v10(JWT)
        } else if is(req, Method::Get, "/api/v1/channel/list") {
            ok(json!([raw_channel()]))
        } else {
            ok(json!(["gpt-4o", " gpt-4o ", "o1"]))
        })
    });
    assert_eq!(
        block_on(adapter(&t).fetch_upstream_models(&channel("1"))).unwrap(),
        vec!["gpt-4o", "o1"]
    );
    let e = block_on(adapter(&t).get_channel(&ChannelId("99".into()))).unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound);
}

#[test]
fn unknown_channel_on_update_is_not_found() {
    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/api/v1/user/login") {
            login_v10(JWT)
        } else {
            json(500, json!({"code": 500, "message": "channel not found"}))
        })
    });
    let e = block_on(adapter(&t).list_channels()).unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound);
}

/// A browser-like transport: it keeps cookies itself, so it hides `Set-Cookie` and drops a
/// script-set `Cookie` header; the session rides on `with_cookies` requests.
struct BrowserJar {
    inner: Rc<FakeTransport>,
    jar: RefCell<Option<String>>,
}

#[async_trait::async_trait(?Send)]
impl crate::http::Transport for BrowserJar {
    async fn send(&self, mut req: Request) -> Result<Response, crate::http::TransportError> {
        req.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
        if req.with_cookies {
            if let Some(c) = self.jar.borrow().clone() {
                req.headers.push(("Cookie".into(), c));
            }
        }
        let mut resp = self.inner.send(req.clone()).await?;
        if req.with_cookies {
            if let Some(set) = resp.header("set-cookie") {
                *self.jar.borrow_mut() = set.split(';').next().map(str::to_string);
            }
        }
        resp.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("set-cookie"));
        Ok(resp)
    }
    fn manages_cookies(&self) -> bool {
        true
    }
}

#[test]
fn v10_in_a_browser_lets_the_cookie_jar_carry_the_session() {
    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/api/v1/user/login") {
            login_v10(JWT)
        } else if authed_v10(req) == Some(JWT) {
            ok(json!([raw_channel()]))
        } else {
            json(
                401,
                json!({"code": 401, "message": "Authentication failed"}),
            )
        })
    });
    let jar = Rc::new(BrowserJar {
        inner: t.clone(),
        jar: RefCell::new(None),
    });
    let ctx = crate::gateway::Ctx::new(
        test_site(SiteKind::Octopus, "http://gw.test/"),
        jar,
        VirtualClock::new(1_000_000),
    );
    let o = Octopus::new(ctx);
    let report = block_on(o.test_connection()).expect("logs in through the browser's jar");
    assert_eq!(report.channel_count, Some(1));
    assert_eq!(
        report.flavour_hint.as_deref(),
        Some("Octopus v0.10 or later (cookie session kept by the browser)")
    );
    let reqs = t.requests();
    assert!(reqs.len() >= 2);
    for r in &reqs {
        assert!(r.with_cookies, "{} asks the browser for cookies", r.url);
    }
    // A second call reuses the session (no second login).
    let logins = |reqs: &[Request]| {
        reqs.iter()
            .filter(|r| r.url.ends_with("/api/v1/user/login"))
            .count()
    };
    block_on(o.list_channels()).unwrap();
    assert_eq!(logins(&t.requests()), 1);
}

#[test]
fn outside_a_browser_no_request_asks_for_cookies() {
    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/api/v1/user/login") {
            login_v10(JWT)
        } else {
            ok(json!([raw_channel()]))
        })
    });
    block_on(adapter(&t).list_channels()).unwrap();
    assert!(t.requests().iter().all(|r| !r.with_cookies));
}

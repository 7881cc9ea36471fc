use super::assert_clean;
use crate::error::ErrorClass;
use crate::gateway::axon_hub::AxonHub;
use crate::gateway::testing::*;
use crate::gateway::Gateway;
use crate::http::{Method, Request, Response};
use crate::model::{Channel, ChannelId, ChannelUpdate, Mapping, SiteKind};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2ln";

fn adapter(t: &Rc<FakeTransport>) -> AxonHub {
    AxonHub::new(test_ctx(SiteKind::AxonHub, t.clone()))
}

fn node(n: u64) -> Value {
    json!({"id": format!("gid://axonhub/channel/{n}"), "type": "openai", "baseURL": "https://api.openai.com/v1",
           "name": format!("c{n}"), "status": "enabled", "supportedModels": ["gpt-4o", "gpt-4o-2024-08-06"],
           "settings": {"extraModelPrefix": "oa", "modelMappings": [{"from": "my-4o", "to": "gpt-4o-2024-08-06"}],
                        "autoTrimedModelPrefixes": ["openai/"], "hideOriginalModels": true, "hideMappedModels": false,
                        "proxy": {"type": "url", "url": "http://proxy", "username": "u", "password": "proxy-pw"},
                        "transformOptions": {"forceArrayInstructions": true, "forceArrayInputs": false, "replaceDeveloperRoleWithSystem": true},
                        "passThroughUserAgent": true,
                        "headerOverrideOperations": [{"op": "set", "key": "X-A", "value": "1"}]}})
}

fn signin_ok(req: &Request) -> Response {
    let b = body_json(req);
    assert_eq!(b["email"], "owner@example.com");
    assert_eq!(b["password"], TEST_PASSWORD);
    json(
        200,
        json!({"user": {"id": "gid://axonhub/user/1", "isOwner": true}, "token": JWT}),
    )
}

/// Schema introspection answers, including a settings field msync does not know about.
fn introspect(name: &str) -> Value {
    let scalar =
        |n: &str| json!({"name": n, "type": {"kind": "SCALAR", "name": "String", "ofType": null}});
    let object = |n: &str, t: &str| json!({"name": n, "type": {"kind": "OBJECT", "name": t, "ofType": null}});
    let list_of = |n: &str, kind: &str, t: &str| json!({"name": n, "type": {"kind": "LIST", "name": null, "ofType": {"kind": "NON_NULL", "name": null, "ofType": {"kind": kind, "name": t, "ofType": null}}}});
    let fields = match name {
        "ChannelSettings" => json!([
            scalar("extraModelPrefix"),
            list_of("modelMappings", "OBJECT", "ModelMapping"),
            list_of("autoTrimedModelPrefixes", "SCALAR", "String"),
            scalar("hideOriginalModels"),
            scalar("hideMappedModels"),
            object("proxy", "ProxyConfig"),
            object("transformOptions", "TransformOptions"),
            scalar("passThroughUserAgent"),
            list_of("headerOverrideOperations", "OBJECT", "OverrideOperation")
        ]),
        "ModelMapping" => json!([scalar("from"), scalar("to")]),
        "ProxyConfig" => json!([
            scalar("type"),
            scalar("url"),
            scalar("username"),
            scalar("password")
        ]),
        "TransformOptions" => json!([
            scalar("forceArrayInstructions"),
            scalar("forceArrayInputs"),
            scalar("replaceDeveloperRoleWithSystem")
        ]),
        "OverrideOperation" => json!([scalar("op"), scalar("key"), scalar("value")]),
        "ChannelSettingsInput" => {
            return json!({"__type": {"name": name, "kind": "INPUT_OBJECT", "fields": null, "inputFields": [
                {"name": "extraModelPrefix"}, {"name": "modelMappings"}, {"name": "autoTrimedModelPrefixes"},
                {"name": "hideOriginalModels"}, {"name": "hideMappedModels"}, {"name": "proxy"},
                {"name": "transformOptions"}, {"name": "passThroughUserAgent"}, {"name": "headerOverrideOperations"}]}})
        }
        _ => return json!({"__type": null}),
    };
    json!({"__type": {"name": name, "kind": "OBJECT", "fields": fields, "inputFields": null}})
}

struct Server {
    store: RefCell<Vec<Value>>,
    introspection: bool,
    fetch_answer: RefCell<Value>,
}

fn server(s: Rc<Server>) -> Rc<FakeTransport> {
    FakeTransport::new(handler(s))
}

fn handler(s: Rc<Server>) -> impl FnMut(&Request) -> Result<Response, crate::http::TransportError> {
    move |req| {
        if is(req, Method::Post, "/admin/auth/signin") {
            return Ok(signin_ok(req));
        }
        assert!(is(req, Method::Post, "/admin/graphql"));
        if header_of(req, "Authorization") != Some(&format!("Bearer {JWT}")) {
            return Ok(json(
                401,
                json!({"error": {"type": "Unauthorized", "message": "Invalid token"}}),
            ));
        }
        let body = body_json(req);
        let vars = &body["variables"];
        let data = match body["operationName"].as_str().unwrap() {
            "IntrospectType" if s.introspection => introspect(vars["name"].as_str().unwrap()),
            "IntrospectType" => {
                return Ok(json(
                    200,
                    json!({"errors": [{"message": "introspection disabled"}], "data": null}),
                ))
            }
            "QueryChannels" => {
                let store = s.store.borrow();
                let start = match vars["input"]["after"].as_str() {
                    Some(c) => c.trim_start_matches("cur").parse::<usize>().unwrap() + 1,
                    None => 0,
                };
                let first = vars["input"]["first"].as_u64().unwrap() as usize;
                let page: Vec<Value> = store
                    .iter()
                    .enumerate()
                    .skip(start)
                    .take(first)
                    .map(|(i, n)| json!({"node": n, "cursor": format!("cur{i}")}))
                    .collect();
                let end = (start + page.len()).saturating_sub(1);
                json!({"queryChannels": {"edges": page, "pageInfo": {"hasNextPage": start + first < store.len(), "endCursor": format!("cur{end}")}, "totalCount": store.len()}})
            }
            "GetChannel" => {
                let id = vars["id"].as_str().unwrap();
                let found = s.store.borrow().iter().find(|n| n["id"] == id).cloned();
                json!({"node": found})
            }
            "UpdateChannel" => {
                let id = vars["id"].as_str().unwrap();
                let input = &vars["input"];
                let mut store = s.store.borrow_mut();
                let n = store.iter_mut().find(|n| n["id"] == id).unwrap();
                if let Some(m) = input.get("supportedModels") {
                    n["supportedModels"] = m.clone();
                }
                if let Some(st) = input.get("settings") {
                    n["settings"] = st.clone(); // replaced wholesale, like the server
                }
                json!({"updateChannel": n.clone()})
            }
            "FetchModels" => json!({"fetchModels": s.fetch_answer.borrow().clone()}),
            other => panic!("unexpected operation {other}"),
        };
        Ok(json(200, json!({"data": data})))
    }
}

fn new_server(n: u64, introspection: bool) -> Rc<Server> {
    Rc::new(Server {
        store: RefCell::new((1..=n).map(node).collect()),
        introspection,
        fetch_answer: RefCell::new(json!({"models": [{"id": "gpt-4o"}], "error": null})),
    })
}

fn channel(n: u64) -> Channel {
    Channel {
        id: ChannelId(format!("gid://axonhub/channel/{n}")),
        name: String::new(),
        enabled: true,
        channel_type: "openai".into(),
        upstream_base_url: Some("https://api.openai.com/v1".into()),
        models: vec![],
        mapping: Mapping::Empty,
        tag: None,
        rules: Default::default(),
    }
}

#[test]
fn signs_in_and_pages_with_cursors() {
    let s = new_server(230, true);
    let t = server(s.clone());
    let gw = adapter(&t);
    let chans = block_on(gw.list_channels()).unwrap();
    assert_eq!(chans.len(), 230);
    assert_eq!(chans[0].id.0, "gid://axonhub/channel/1");
    assert_eq!(
        chans[0].mapping.pairs(),
        &[("my-4o".to_string(), "gpt-4o-2024-08-06".to_string())]
    );
    let ops: Vec<String> = t
        .requests()
        .iter()
        .skip(1)
        .map(|r| body_json(r)["operationName"].as_str().unwrap().to_string())
        .filter(|o| o == "QueryChannels")
        .collect();
    assert_eq!(ops.len(), 3);
    assert_eq!(t.calls()[0], "POST /admin/auth/signin");
    assert!(!gw.capabilities().aliases_must_be_listed);
    let r = block_on(gw.test_connection()).unwrap();
    assert_eq!(r.root, Some(true));
    assert!(r.flavour_hint.unwrap().contains("introspection"));
}

fn last_update_input(t: &FakeTransport) -> Value {
    let r = t
        .requests()
        .into_iter()
        .rev()
        .find(|r| body_json(r)["operationName"] == "UpdateChannel")
        .unwrap();
    body_json(&r)["variables"]["input"].clone()
}

#[test]
fn mapping_write_keeps_every_other_setting_and_never_sends_credentials() {
    for introspection in [true, false] {
        let s = new_server(2, introspection);
        let t = server(s.clone());
        let gw = adapter(&t);
        let before = s.store.borrow()[1]["settings"].clone();
        let up = ChannelUpdate {
            models: Some(vec!["gpt-4o".into(), "gpt-4o-mini".into()]),
            mapping: Some(vec![("standard-4o".into(), "gpt-4o".into())]),
        };
        if !introspection {
            // The documented selection lacks `headerOverrideOperations`; the wholesale
            // settings write would erase it. Refused, nothing sent.
            let e = block_on(gw.update_channel(&channel(2), &up)).unwrap_err();
            assert_eq!(e.class, ErrorClass::Validation, "{e}");
            assert!(t
                .requests()
                .iter()
                .all(|r| body_json(r)["operationName"] != "UpdateChannel"));
            assert_eq!(s.store.borrow()[1]["settings"], before);
            continue;
        }
        let got = block_on(gw.update_channel(&channel(2), &up)).unwrap();
        let input = last_update_input(&t);
        assert!(input.get("credentials").is_none());
        assert_eq!(input["supportedModels"], json!(["gpt-4o", "gpt-4o-mini"]));
        assert_eq!(
            input["settings"]["modelMappings"],
            json!([{"from": "standard-4o", "to": "gpt-4o"}])
        );
        let after = s.store.borrow()[1]["settings"].clone();
        for (k, v) in before.as_object().unwrap() {
            if k == "modelMappings" || (!introspection && k == "headerOverrideOperations") {
                continue;
            }
            assert_eq!(
                &after[k], v,
                "setting {k} survived (introspection {introspection})"
            );
        }
        assert_eq!(
            got.mapping.pairs(),
            &[("standard-4o".to_string(), "gpt-4o".to_string())]
        );
        if introspection {
            // The field msync does not know by name survives because the schema told us about it.
            assert_eq!(
                after["headerOverrideOperations"],
                before["headerOverrideOperations"]
            );
        }
    }
}

#[test]
fn models_only_write_leaves_settings_out() {
    let s = new_server(1, true);
    let t = server(s.clone());
    let up = ChannelUpdate {
        models: Some(vec!["gpt-4o".into()]),
        mapping: None,
    };
    block_on(adapter(&t).update_channel(&channel(1), &up)).unwrap();
    let input = last_update_input(&t);
    assert!(input.get("settings").is_none());
    assert_eq!(s.store.borrow()[0]["settings"]["extraModelPrefix"], "oa");
}

#[test]
fn a_mapping_to_an_unlisted_model_is_refused_before_writing() {
    let s = new_server(1, true);
    let t = server(s.clone());
    let gw = adapter(&t);
    // Target not among the models being stored.
    let up = ChannelUpdate {
        models: Some(vec!["gpt-4o".into()]),
        mapping: Some(vec![("std".into(), "claude-x".into())]),
    };
    let e = block_on(gw.update_channel(&channel(1), &up)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation);
    assert!(e.message.contains("claude-x"), "{e}");
    // Mapping only: checked against the stored supportedModels.
    let up = ChannelUpdate {
        models: None,
        mapping: Some(vec![("std".into(), "gpt-4o-mini".into())]),
    };
    assert_eq!(
        block_on(gw.update_channel(&channel(1), &up))
            .unwrap_err()
            .class,
        ErrorClass::Validation
    );
    let up = ChannelUpdate {
        models: None,
        mapping: Some(vec![("std".into(), "gpt-4o".into())]),
    };
    block_on(gw.update_channel(&channel(1), &up)).unwrap();
    assert_eq!(
        t.requests()
            .iter()
            .filter(|r| body_json(r)["operationName"] == "UpdateChannel")
            .count(),
        1
    );
}

#[test]
fn fetch_models_errors_inside_the_payload_are_classified() {
    let rows = [
        (
            json!({"models": [{"id": "a"}, {"id": "a"}, {"id": "b"}], "error": null}),
            Ok(vec!["a", "b"]),
        ),
        (
            json!({"models": [], "error": "failed to fetch models: 401"}),
            Err((ErrorClass::Upstream, Some(401), false)),
        ),
        (
            json!({"models": [], "error": "failed to fetch models: 503"}),
            Err((ErrorClass::Upstream, Some(503), true)),
        ),
        (
            json!({"models": [], "error": "failed to fetch models: dial tcp: i/o timeout"}),
            Err((ErrorClass::Upstream, None, true)),
        ),
        (
            json!({"models": [], "error": "API key is required"}),
            Err((ErrorClass::Validation, None, false)),
        ),
        (json!({"models": null, "error": ""}), Ok(vec![])),
    ];
    for (answer, want) in rows {
        let s = new_server(1, true);
        *s.fetch_answer.borrow_mut() = answer;
        let t = server(s);
        let got = block_on(adapter(&t).fetch_upstream_models(&channel(1)));
        let req = t
            .requests()
            .into_iter()
            .find(|r| body_json(r)["operationName"] == "FetchModels")
            .unwrap();
        assert_eq!(
            body_json(&req)["variables"]["input"],
            json!({"channelType": "openai", "baseURL": "https://api.openai.com/v1", "channelID": "gid://axonhub/channel/1"})
        );
        match (got, want) {
            (Ok(m), Ok(w)) => assert_eq!(m, w),
            (Err(e), Err((c, st, r))) => {
                assert_eq!((e.class, e.http_status, e.retryable), (c, st, r), "{e}")
            }
            (g, w) => panic!("got {g:?} want {w:?}"),
        }
    }
}

#[test]
fn graphql_and_auth_errors() {
    // 200 + errors.
    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/admin/auth/signin") {
            signin_ok(req)
        } else {
            json(
                200,
                json!({"errors": [{"message": "permission denied: requires write_channels", "path": ["queryChannels"]}], "data": null}),
            )
        })
    });
    let e = block_on(adapter(&t).list_channels()).unwrap_err();
    assert_eq!(e.class, ErrorClass::Permission);

    // Wrong password.
    let t = FakeTransport::scripted(vec![Ok(json(
        401,
        json!({"error": {"type": "Unauthorized", "message": "Invalid email or password"}}),
    ))]);
    let e = block_on(adapter(&t).list_channels()).unwrap_err();
    assert_eq!((e.class, e.http_status), (ErrorClass::Auth, Some(401)));
    assert_clean(&e, &[]);

    // An expired JWT: one fresh sign-in, then success; a JWT never refused forever.
    let signins = Rc::new(Cell::new(0));
    let n = signins.clone();
    let s = new_server(1, true);
    let mut inner = handler(s);
    let t = FakeTransport::new(move |req| {
        if is(req, Method::Post, "/admin/auth/signin") {
            n.set(n.get() + 1);
        }
        if n.get() == 1 && is(req, Method::Post, "/admin/graphql") {
            return Ok(json(
                401,
                json!({"error": {"type": "Unauthorized", "message": format!("Invalid token {JWT}")}}),
            ));
        }
        inner(req)
    });
    assert_eq!(block_on(adapter(&t).list_channels()).unwrap().len(), 1);
    assert_eq!(signins.get(), 2);

    // HTML instead of JSON from the GraphQL endpoint.
    let t = FakeTransport::new(|req| {
        Ok(if is(req, Method::Post, "/admin/auth/signin") {
            signin_ok(req)
        } else {
            text(200, "<html>cloudflare</html>")
        })
    });
    let e = block_on(adapter(&t).list_channels()).unwrap_err();
    assert_eq!(e.class, ErrorClass::InvalidResponse);
    assert_clean(&e, &[JWT]);
}

#[test]
fn a_deleted_channel_is_not_found() {
    let s = new_server(1, true);
    let t = server(s);
    let e = block_on(adapter(&t).get_channel(&ChannelId("gid://axonhub/channel/9".into())))
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound);
    // A bare number is accepted as an id.
    assert_eq!(
        block_on(adapter(&t).get_channel(&ChannelId("1".into())))
            .unwrap()
            .id
            .0,
        "gid://axonhub/channel/1"
    );
}

//! Octopus (`docs/admin-apis.md` §4) and AxonHub (§5) over real HTTP on 127.0.0.1.

mod common;
use common::*;
use msync_mockgw::{FaultKind, FaultRule, Flavor, MockHandle, Op};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn octopus_login(mock: &MockHandle) -> Api {
    let r = Api::new(mock)
        .post(
            "/api/v1/user/login",
            json!({"username": "admin", "password": "admin", "expire": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"code": 200, "message": "success", "data": "login successfully"})
    );
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.contains("Max-Age=900"), "{cookie}");
    let token = cookie.split(';').next().unwrap().to_string();
    Api::new(mock).with("Cookie", &token)
}

#[tokio::test]
async fn octopus_cookie_login_and_auth_failures() {
    let mock = start(cfg(Flavor::Octopus).channels(6));
    let r = Api::new(&mock)
        .post(
            "/api/v1/user/login",
            json!({"username": "admin", "password": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json(),
        json!({"code": 401, "message": "Authentication failed"})
    );
    // The Bearer header is not read in v0.10+.
    let r = Api::new(&mock)
        .with("Authorization", &format!("Bearer {TOKEN}"))
        .get("/api/v1/channel/list")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = Api::new(&mock)
        .with("Cookie", "auth=forged")
        .get("/api/v1/channel/list")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let api = octopus_login(&mock).await;
    assert_eq!(api.get("/api/v1/user/status").await.json()["data"], "ok");
    let v = api.get("/api/v1/channel/list").await.json();
    assert_eq!(v["code"], 200);
    let list = v["data"].as_array().unwrap();
    assert_eq!(list.len(), 6);
    assert!(
        list.iter().all(|c| c["key"].as_str().unwrap().len() > 10),
        "keys in plaintext"
    );
    assert!(list.iter().all(|c| c["stats"].is_object()));
    assert!(list.iter().all(|c| c["type"].is_string()));
}

#[tokio::test]
async fn octopus_requires_json_content_type() {
    let mock = start(cfg(Flavor::Octopus).channels(2));
    let api = octopus_login(&mock).await;
    let cookie = api.headers[0].1.clone();
    let r = client()
        .post(format!("{}/api/v1/channel/update", mock.base_url()))
        .header("Cookie", cookie)
        .body("{\"id\":1,\"custom_model\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, json!({"code": 415, "message": "Invalid JSON format"}));
    assert_eq!(mock.writes(1), 0);
}

#[tokio::test]
async fn octopus_update_is_partial_normalises_and_prunes_groups() {
    let mock = start(cfg(Flavor::Octopus).channels(20).seed(3));
    let api = octopus_login(&mock).await;
    let before = mock.channel(1).unwrap();
    let r = api
        .post(
            "/api/v1/channel/update",
            json!({"id": 1, "custom_model": "my-model, other ,my-model,"}),
        )
        .await
        .json();
    assert_eq!(r["code"], 200);
    let after = mock.channel(1).unwrap();
    assert_eq!(after["custom_model"], "my-model,other");
    assert_eq!(after["model"], before["model"], "model left alone");
    assert_eq!(after["key"], before["key"]);
    assert_eq!(mock.writes(1), 1);

    // A name in custom_model leaves model.
    let first = before["model"]
        .as_str()
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    api.post(
        "/api/v1/channel/update",
        json!({"id": 1, "custom_model": first}),
    )
    .await;
    let after = mock.channel(1).unwrap();
    assert!(!after["model"]
        .as_str()
        .unwrap()
        .split(',')
        .any(|m| m == first));

    // Group items whose model leaves the channel are deleted.
    let group = mock
        .groups()
        .into_iter()
        .find(|g| !g["items"].as_array().unwrap().is_empty())
        .expect("the seed has groups");
    let item = group["items"][0].clone();
    let cid = item["channel_id"].as_u64().unwrap();
    let r = api
        .post(
            "/api/v1/channel/update",
            json!({"id": cid, "model": "unrelated-model", "custom_model": ""}),
        )
        .await
        .json();
    assert_eq!(r["code"], 200);
    let g = mock
        .groups()
        .into_iter()
        .find(|g| g["id"] == group["id"])
        .unwrap();
    assert!(!g["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == item["id"]));

    let r = api
        .post("/api/v1/channel/update", json!({"id": 999, "model": "a"}))
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.json(),
        json!({"code": 500, "message": "channel not found"})
    );
    let r = api
        .post("/api/v1/channel/update", json!({"model": "a"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn octopus_fetch_model_ignores_the_upstream_status() {
    let mock = start(cfg(Flavor::Octopus).channels(4));
    let api = octopus_login(&mock).await;
    let ch = mock.channel(2).unwrap();
    let body = json!({"type": ch["type"], "base_url": ch["base_url"], "key": ch["key"]});
    let v = api
        .post("/api/v1/channel/fetch-model", body.clone())
        .await
        .json();
    assert_eq!(v["data"], json!(mock.upstream_models(2)));
    let mut filtered = body.clone();
    filtered["match_regex"] = json!("^claude-3");
    let v = api
        .post("/api/v1/channel/fetch-model", filtered)
        .await
        .json();
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m.as_str().unwrap().starts_with("claude-3")));
    mock.set_fault(
        FaultRule::new(FaultKind::UpstreamStatus { status: 401 })
            .channel(2)
            .times(1),
    );
    let v = api
        .post("/api/v1/channel/fetch-model", body.clone())
        .await
        .json();
    assert_eq!(v, json!({"code": 200, "message": "success", "data": []}));
    mock.set_fault(
        FaultRule::new(FaultKind::UpstreamNonJson)
            .op(Op::FetchModels)
            .times(1),
    );
    let r = api.post("/api/v1/channel/fetch-model", body).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.json()["message"],
        "invalid character '<' looking for beginning of value"
    );
}

#[tokio::test]
async fn octopus_v09_uses_bearer_tokens() {
    let mock = start(cfg(Flavor::Octopus).channels(3).legacy(true));
    let r = Api::new(&mock)
        .post(
            "/api/v1/user/login",
            json!({"username": "admin", "password": "admin", "expire": 60}),
        )
        .await
        .json();
    let token = r["data"]["token"].as_str().unwrap().to_string();
    assert!(r["data"]["expire_at"].as_str().unwrap().ends_with('Z'));
    let r = Api::new(&mock).get("/api/v1/channel/list").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["message"], "Invalid request parameters");
    let v = Api::new(&mock)
        .with("Authorization", &format!("Bearer {token}"))
        .get("/api/v1/channel/list")
        .await
        .json();
    let first = &v["data"][0];
    assert!(first["type"].is_i64());
    assert!(first["base_urls"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/v1"));
    assert!(first["keys"][0]["channel_key"].is_string());
}

async fn axon_signin(mock: &MockHandle) -> Api {
    let r = Api::new(mock)
        .post(
            "/admin/auth/signin",
            json!({"email": "owner@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["user"]["isOwner"], true);
    let token = v["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    Api::new(mock).with("Authorization", &format!("Bearer {token}"))
}

async fn gql(api: &Api, query: &str, variables: Value) -> (StatusCode, Value) {
    let r = api
        .post(
            "/admin/graphql",
            json!({"query": query, "variables": variables}),
        )
        .await;
    (r.status, r.json())
}

const LIST: &str = "query QueryChannels($input: QueryChannelInput!) { queryChannels(input: $input) { edges { node { id name supportedModels settings { modelMappings { from to } } } cursor } pageInfo { hasNextPage endCursor } totalCount } }";
const UPDATE: &str = "mutation UpdateChannel($id: ID!, $input: UpdateChannelInput!) { updateChannel(id: $id, input: $input) { id supportedModels settings { modelMappings { from to } } } }";

#[tokio::test]
async fn axonhub_signin_and_auth_errors() {
    let mock = start(cfg(Flavor::Axonhub).channels(3));
    let r = Api::new(&mock)
        .post(
            "/admin/auth/signin",
            json!({"email": "nope", "password": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"error": {"type": "Bad Request", "message": "Invalid request format"}})
    );
    let r = Api::new(&mock)
        .post(
            "/admin/auth/signin",
            json!({"email": "owner@example.com", "password": "wrong"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["message"], "Invalid email or password");
    let cases = [
        (None, "API key is required"),
        (
            Some(TOKEN.to_string()),
            "invalid token: Authorization header must start with 'Bearer '",
        ),
        (Some("Bearer forged".to_string()), "Invalid token"),
    ];
    for (auth, message) in cases {
        let mut api = Api::new(&mock);
        if let Some(a) = &auth {
            api = api.with("Authorization", a);
        }
        let (status, v) = gql(&api, LIST, json!({"input": {"first": 5}})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(
            v,
            json!({"error": {"type": "Unauthorized", "message": message}})
        );
    }
    // The pre-issued token works too.
    let api = Api::new(&mock).with("Authorization", &format!("Bearer {TOKEN}"));
    let (status, _) = gql(&api, LIST, json!({"input": {"first": 5}})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn axonhub_query_channels_pages_with_cursors() {
    let mock = start(cfg(Flavor::Axonhub).channels(12));
    let api = axon_signin(&mock).await;
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let (status, v) = gql(&api, LIST, json!({"input": {"first": 5, "after": after, "orderBy": {"field": "ORDERING_WEIGHT", "direction": "DESC"}}})).await;
        assert_eq!(status, StatusCode::OK);
        let conn = &v["data"]["queryChannels"];
        assert_eq!(conn["totalCount"], 12);
        for e in conn["edges"].as_array().unwrap() {
            let id = e["node"]["id"].as_str().unwrap().to_string();
            assert!(id.starts_with("gid://axonhub/channel/"));
            assert_eq!(e["node"]["credentials"], Value::Null, "not asked for");
            seen.push(id);
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 12);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12);
    let (_, v) = gql(
        &api,
        "query { queryChannels(input: $input) { edges { node { credentials { apiKey } } } } }",
        json!({"input": {"first": 1}}),
    )
    .await;
    assert!(v["data"]["queryChannels"]["edges"][0]["node"]["credentials"]["apiKey"].is_string());
}

#[tokio::test]
async fn axonhub_update_replaces_settings_wholesale_and_supported_models() {
    let mock = start(cfg(Flavor::Axonhub).channels(12));
    let api = axon_signin(&mock).await;
    // Channel 12 has a proxy and passThroughUserAgent; channel 12 % 3 == 0 has a prefix too.
    let before = mock.channel(12).unwrap();
    assert_ne!(before["settings"]["proxy"], Value::Null);
    assert_ne!(before["settings"]["extraModelPrefix"], "");
    let (status, v) = gql(
        &api,
        UPDATE,
        json!({"id": "gid://axonhub/channel/12", "input": {
            "supportedModels": ["m1", "m2"],
            "appendSupportedModels": ["ignored"],
            "status": "disabled",
            "settings": {"modelMappings": [{"from": "alias", "to": "m1"}]}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["data"]["updateChannel"]["supportedModels"],
        json!(["m1", "m2"])
    );
    let after = mock.channel(12).unwrap();
    assert_eq!(
        after["supportedModels"],
        json!(["m1", "m2"]),
        "replaced, append ignored"
    );
    assert_eq!(
        after["status"], before["status"],
        "status ignored by updateChannel"
    );
    assert_eq!(
        after["settings"]["modelMappings"],
        json!([{"from": "alias", "to": "m1"}])
    );
    assert_eq!(after["settings"]["proxy"], Value::Null, "proxy reset");
    assert_eq!(after["settings"]["extraModelPrefix"], "", "prefix reset");
    assert_eq!(after["settings"]["passThroughUserAgent"], false);
    assert_eq!(
        after["credentials"], before["credentials"],
        "credentials untouched"
    );
    assert_eq!(after["name"], before["name"]);
    assert_eq!(mock.writes(12), 1);

    // Full settings sent back: nothing lost.
    let full = mock.channel(9).unwrap()["settings"].clone();
    let mut new_settings = full.clone();
    new_settings["modelMappings"] = json!([]);
    gql(
        &api,
        UPDATE,
        json!({"id": "gid://axonhub/channel/9", "input": {"settings": new_settings}}),
    )
    .await;
    let s = &mock.channel(9).unwrap()["settings"];
    assert_eq!(s["extraModelPrefix"], full["extraModelPrefix"]);
    assert_eq!(s["modelMappings"], json!([]));
}

#[tokio::test]
async fn axonhub_graphql_errors_follow_gqlgen() {
    let mock = start(cfg(Flavor::Axonhub).channels(4));
    let api = axon_signin(&mock).await;
    let (status, v) = gql(
        &api,
        UPDATE,
        json!({"id": "gid://axonhub/channel/77", "input": {"name": "x"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["data"], Value::Null);
    assert_eq!(v["errors"][0]["path"], json!(["updateChannel"]));
    let other = mock.channel(2).unwrap()["name"].clone();
    let (_, v) = gql(
        &api,
        UPDATE,
        json!({"id": "gid://axonhub/channel/1", "input": {"name": other}}),
    )
    .await;
    assert_eq!(
        v["errors"][0]["message"],
        format!(
            "channel with name '{}' already exists",
            other.as_str().unwrap()
        )
    );
    let (status, v) = gql(
        &api,
        UPDATE,
        json!({"id": "gid://axonhub/channel/1", "input": {"modelz": []}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["data"], Value::Null);
    let (status, v) = gql(&api, "query { nope { id } }", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Cannot query field \"nope\""));
    assert_eq!(mock.writes(1), 0);
}

#[tokio::test]
async fn axonhub_fetch_models_reports_problems_inside_the_payload() {
    let mock = start(cfg(Flavor::Axonhub).channels(4));
    let api = axon_signin(&mock).await;
    const FETCH: &str = "query FetchModels($input: FetchModelsInput!) { fetchModels(input: $input) { models { id } error } }";
    let ch = mock.channel(2).unwrap();
    let input = json!({"channelType": ch["type"], "baseURL": ch["baseURL"], "channelID": "gid://axonhub/channel/2"});
    let (status, v) = gql(&api, FETCH, json!({"input": input})).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<String> = v["data"]["fetchModels"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, mock.upstream_models(2));
    assert_eq!(v["data"]["fetchModels"]["error"], Value::Null);
    let (_, v) = gql(
        &api,
        FETCH,
        json!({"input": {"channelType": "openai", "baseURL": "https://x"}}),
    )
    .await;
    assert_eq!(
        v["data"]["fetchModels"],
        json!({"models": [], "error": "API key is required"})
    );
    mock.set_fault(
        FaultRule::new(FaultKind::UpstreamStatus { status: 401 })
            .channel(2)
            .times(1),
    );
    let (_, v) = gql(&api, FETCH, json!({"input": input})).await;
    assert_eq!(
        v["data"]["fetchModels"]["error"],
        "failed to fetch models: 401"
    );
    let (_, v) = gql(&api, FETCH, json!({"input": {"channelType": "nope", "baseURL": "x", "channelID": "gid://axonhub/channel/2"}})).await;
    assert_eq!(
        v["data"]["fetchModels"]["error"],
        "invalid channel type: nope"
    );

    let old = start(cfg(Flavor::Axonhub).channels(2).legacy(true));
    let api = Api::new(&old).with("Authorization", &format!("Bearer {TOKEN}"));
    let (status, _) = gql(&api, FETCH, json!({"input": input})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "v0.1.1 has no fetchModels"
    );
}

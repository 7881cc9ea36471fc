//! New API (`docs/admin-apis.md` §1) over real HTTP on 127.0.0.1.

mod common;
use common::*;
use msync_mockgw::{Era, Flavor, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn ids(items: &Value) -> Vec<u64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn status_needs_no_auth_and_reports_a_version() {
    let mock = start(cfg(Flavor::NewApi));
    let r = Api::new(&mock).get("/api/status").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["success"], true);
    assert!(v["data"]["version"].as_str().unwrap().starts_with('v'));
}

#[tokio::test]
async fn era_b_auth_uses_codes_and_ignores_new_api_user() {
    let mock = start(cfg(Flavor::NewApi).era(Era::B));
    let none = Api::new(&mock).get("/api/channel/?p=1").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.json()["code"], "AUTH_UNAUTHORIZED");
    let bad = Api::new(&mock)
        .with("Authorization", "Bearer nope")
        .get("/api/channel/?p=1")
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    // Raw token, lower-case bearer, and no New-Api-User header at all: all fine in era B.
    for auth in [TOKEN.to_string(), format!("bearer {TOKEN}")] {
        let ok = Api::new(&mock)
            .with("Authorization", &auth)
            .get("/api/channel/?p=1")
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{auth}");
        assert_eq!(ok.json()["success"], true);
        assert!(ok.header("auth-version").is_some());
    }
    // A plain admin is not root: options answer 403 with a code.
    let admin = start(cfg(Flavor::NewApi).era(Era::B).role(Role::Admin));
    let r = Api::admin(&admin).get("/api/option/").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["code"], "AUTH_INSUFFICIENT_PRIVILEGE");
}

#[tokio::test]
async fn era_a_auth_requires_new_api_user_and_answers_200_for_bad_tokens() {
    let mock = start(cfg(Flavor::NewApi).era(Era::A));
    let api = Api::new(&mock).with("Authorization", &format!("Bearer {TOKEN}"));
    let r = api.get("/api/channel/?p=1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json(),
        json!({"success": false, "message": "Unauthorized, New-Api-User header not provided"})
    );
    let r = Api::new(&mock)
        .with("Authorization", TOKEN)
        .with("New-Api-User", "2")
        .get("/api/channel/?p=1")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("does not match"));
    let r = Api::new(&mock)
        .with("Authorization", "Bearer wrong")
        .with("New-Api-User", "1")
        .get("/api/channel/?p=1")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["success"], false);
    // Chinese when asked for.
    let r = Api::new(&mock)
        .with("Authorization", "Bearer wrong")
        .with("New-Api-User", "1")
        .with("Accept-Language", "zh-CN")
        .get("/api/channel/?p=1")
        .await;
    assert_eq!(r.json()["message"], "无权进行此操作，access token 无效");
    let r = Api::admin(&mock).get("/api/channel/?p=1").await;
    assert_eq!(r.json()["success"], true);
}

#[tokio::test]
async fn current_list_is_one_based_capped_and_sorted_by_id() {
    let mock = start(cfg(Flavor::NewApi).channels(60));
    let api = Api::admin(&mock);
    let v = api
        .get("/api/channel/?p=1&page_size=25&id_sort=true")
        .await
        .json();
    let data = &v["data"];
    assert_eq!(data["total"], 60);
    assert_eq!(data["page"], 1);
    assert_eq!(data["page_size"], 25);
    assert_eq!(ids(&data["items"]), (36..=60).rev().collect::<Vec<_>>());
    assert!(data["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["key"] == ""));
    let counts: u64 = data["type_counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(counts, 60);
    let last = api
        .get("/api/channel/?p=3&page_size=25&id_sort=true")
        .await
        .json();
    assert_eq!(
        ids(&last["data"]["items"]),
        (1..=10).rev().collect::<Vec<_>>()
    );
    // page_size is capped at 100; p<1 counts as 1; the default size is 10.
    let capped = api
        .get("/api/channel/?p=0&page_size=500&id_sort=true")
        .await
        .json();
    assert_eq!(capped["data"]["page_size"], 100);
    assert_eq!(capped["data"]["page"], 1);
    assert_eq!(capped["data"]["items"].as_array().unwrap().len(), 60);
    let default = api.get("/api/channel/?id_sort=true").await.json();
    assert_eq!(default["data"]["items"].as_array().unwrap().len(), 10);
    // Filters.
    let enabled = api
        .get("/api/channel/?p=1&page_size=100&status=enabled")
        .await
        .json();
    let disabled = api
        .get("/api/channel/?p=1&page_size=100&status=disabled")
        .await
        .json();
    let (e, d) = (
        enabled["data"]["total"].as_u64().unwrap(),
        disabled["data"]["total"].as_u64().unwrap(),
    );
    assert_eq!(e + d, 60);
    assert!(d > 0, "the seed has disabled channels");
    let anthropic = api
        .get("/api/channel/?p=1&page_size=100&type=14")
        .await
        .json();
    assert!(anthropic["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["type"] == 14));
}

#[tokio::test]
async fn legacy_list_is_a_bare_array_with_zero_based_pages() {
    let mock = start(cfg(Flavor::NewApi).channels(30).legacy(true));
    let api = Api::admin(&mock);
    let first = api
        .get("/api/channel/?p=0&page_size=20&id_sort=true")
        .await
        .json();
    assert_eq!(ids(&first["data"]), (11..=30).rev().collect::<Vec<_>>());
    let second = api
        .get("/api/channel/?p=1&page_size=20&id_sort=true")
        .await
        .json();
    assert_eq!(ids(&second["data"]), (1..=10).rev().collect::<Vec<_>>());
    // No default page size: send it every time.
    let none = api.get("/api/channel/?p=0").await.json();
    assert_eq!(none["data"], json!([]));
    // Legacy is era A: New-Api-User is required.
    let r = Api::new(&mock)
        .with("Authorization", TOKEN)
        .get("/api/channel/?p=0&page_size=5")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn get_one_omits_the_key_and_reports_missing_ids_with_200() {
    let mock = start(cfg(Flavor::NewApi).channels(5));
    let api = Api::admin(&mock);
    let v = api.get("/api/channel/2").await.json();
    assert_eq!(v["data"]["id"], 2);
    assert_eq!(v["data"]["key"], "");
    assert_ne!(
        mock.channel(2).unwrap()["key"],
        "",
        "the server still has the key"
    );
    let r = api.get("/api/channel/99").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"success": false, "message": "record not found"})
    );
    let r = api.get("/api/channel/abc").await.json();
    assert_eq!(
        r["message"],
        "strconv.Atoi: parsing \"abc\": invalid syntax"
    );
}

#[tokio::test]
async fn update_is_partial_skips_zero_values_and_rejects_status() {
    let mock = start(cfg(Flavor::NewApi).channels(5));
    let api = Api::admin(&mock);
    let before = mock.channel(1).unwrap();

    let r = api
        .put("/api/channel/", json!({"id": 1, "status": 2}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"success": false, "message": "Invalid parameters"})
    );
    assert_eq!(mock.writes(1), 0);

    // "models":"" is ignored; model_mapping "" clears; read-only fields are ignored.
    let r = api
        .put(
            "/api/channel/",
            json!({"id": 1, "models": "", "model_mapping": "", "used_quota": 0, "balance": 999.0,
                   "name": ""}),
        )
        .await
        .json();
    assert_eq!(r["success"], true);
    assert_eq!(r["data"]["key"], "", "the answer blanks the key");
    let after = mock.channel(1).unwrap();
    assert_eq!(after["models"], before["models"]);
    assert_eq!(after["name"], before["name"]);
    assert_eq!(after["model_mapping"], "");
    assert_eq!(after["balance"], before["balance"]);
    assert_eq!(after["used_quota"], before["used_quota"]);
    assert_eq!(after["key"], before["key"]);
    assert_eq!(mock.writes(1), 1);

    let r = api
        .put(
            "/api/channel/",
            json!({"id": 1, "models": "a,b", "model_mapping": "{\"a\":\"b\"}"}),
        )
        .await
        .json();
    assert_eq!(r["data"]["models"], "a,b");
    assert_eq!(mock.channel(1).unwrap()["model_mapping"], "{\"a\":\"b\"}");
    assert_eq!(mock.writes(1), 2);

    // encoding/json errors come back as 200 success:false.
    let r = api
        .put("/api/channel/", json!({"id": 1, "models": ["a"]}))
        .await
        .json();
    assert_eq!(r["success"], false);
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("cannot unmarshal array"));
    let r = api
        .put("/api/channel/", json!({"id": 77, "models": "a"}))
        .await
        .json();
    assert_eq!(r["message"], "record not found");
}

#[tokio::test]
async fn plain_admins_cannot_change_sensitive_fields() {
    let mock = start(cfg(Flavor::NewApi).channels(3).role(Role::Admin));
    let api = Api::admin(&mock);
    let base = mock.channel(1).unwrap()["base_url"].clone();
    let r = api
        .put(
            "/api/channel/",
            json!({"id": 1, "base_url": "https://evil.example"}),
        )
        .await
        .json();
    assert_eq!(r["message"], "Unauthorized, insufficient privileges");
    // Sending the same value is not a change.
    let r = api
        .put(
            "/api/channel/",
            json!({"id": 1, "base_url": base, "models": "x"}),
        )
        .await
        .json();
    assert_eq!(r["success"], true);
}

#[tokio::test]
async fn legacy_update_accepts_status_writes_read_only_fields_and_returns_the_key() {
    let mock = start(cfg(Flavor::NewApi).channels(3).legacy(true));
    let api = Api::admin(&mock);
    let r = api
        .put(
            "/api/channel/",
            json!({"id": 2, "status": 2, "used_quota": 5}),
        )
        .await
        .json();
    assert_eq!(r["success"], true);
    assert_eq!(r["data"]["status"], 2);
    assert_eq!(r["data"]["used_quota"], 5);
    assert_eq!(r["data"]["key"], mock.channel(2).unwrap()["key"]);
    assert_ne!(r["data"]["key"], "");
}

#[tokio::test]
async fn fetch_models_normalises_now_and_answered_null_in_2025() {
    let mock = start(cfg(Flavor::NewApi).channels(3));
    let api = Api::admin(&mock);
    let v = api.get("/api/channel/fetch_models/1").await.json();
    assert_eq!(v["data"], json!(mock.upstream_models(1)));
    mock.set_upstream_models(
        1,
        vec![" gpt-4o".into(), "gpt-4o".into(), "".into(), "o3 ".into()],
    );
    let v = api.get("/api/channel/fetch_models/1").await.json();
    assert_eq!(v["data"], json!(["gpt-4o", "o3"]));
    mock.set_upstream_models(1, vec![]);
    let v = api.get("/api/channel/fetch_models/1").await.json();
    assert_eq!(v["data"], json!([]));
    let before = mock.channel(1).unwrap();
    assert_eq!(mock.writes(1), 0, "fetching never writes");
    assert_eq!(mock.channel(1).unwrap(), before);
    assert_eq!(
        api.get("/api/channel/fetch_models/9").await.json()["message"],
        "record not found"
    );

    let legacy = start(cfg(Flavor::NewApi).channels(3).legacy(true));
    legacy.set_upstream_models(1, vec![]);
    let v = Api::admin(&legacy)
        .get("/api/channel/fetch_models/1")
        .await
        .json();
    assert_eq!(v, json!({"success": true, "message": "", "data": null}));
}

#[tokio::test]
async fn preview_fetch_is_root_only_and_finds_the_upstream_by_key() {
    let mock = start(cfg(Flavor::NewApi).channels(4));
    let key = mock.channel(3).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let api = Api::admin(&mock);
    let v = api
        .post(
            "/api/channel/fetch_models",
            json!({"base_url": "", "type": 14, "key": format!("{key}\nsecond")}),
        )
        .await
        .json();
    assert_eq!(v["data"], json!(mock.upstream_models(3)));
    let v = api
        .post(
            "/api/channel/fetch_models",
            json!({"base_url": "", "type": 1, "key": "sk-unknown"}),
        )
        .await
        .json();
    assert_eq!(v["message"], "获取模型列表失败: status code: 401");
    let r = api
        .send(reqwest::Method::POST, "/api/channel/fetch_models", None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let admin = start(cfg(Flavor::NewApi).channels(2).role(Role::Admin));
    let r = Api::admin(&admin)
        .post("/api/channel/fetch_models", json!({"key": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.json(),
        json!({"success": false, "message": "Unauthorized, insufficient privileges"}),
        "the permission check has no code"
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_an_empty_body() {
    let mock = start(cfg(Flavor::NewApi).channels(2).rate_limit(3, 60_000));
    let api = Api::admin(&mock);
    for _ in 0..3 {
        assert_eq!(api.get("/api/status").await.status, StatusCode::OK);
    }
    let r = api.get("/api/channel/?p=1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.text, "");
    assert_eq!(
        r.header("retry-after").as_deref(),
        Some("60"),
        "era B sends Retry-After"
    );

    let era_a = start(
        cfg(Flavor::NewApi)
            .channels(2)
            .era(Era::A)
            .rate_limit(1, 60_000),
    );
    let api = Api::admin(&era_a);
    api.get("/api/status").await;
    let r = api.get("/api/status").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), None);
}

#[tokio::test]
async fn get_user_token_rotates_the_token() {
    let mock = start(cfg(Flavor::NewApi).channels(1));
    let v = Api::admin(&mock).get("/api/user/token").await.json();
    let fresh = v["data"].as_str().unwrap().to_string();
    assert_ne!(fresh, TOKEN);
    assert_eq!(mock.token(), fresh);
    let old = Api::admin(&mock).get("/api/channel/?p=1").await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = Api::new(&mock)
        .with("Authorization", &format!("Bearer {fresh}"))
        .get("/api/channel/?p=1")
        .await;
    assert_eq!(new.json()["success"], true);
}

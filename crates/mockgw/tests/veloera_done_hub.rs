//! Veloera (`docs/admin-apis.md` §2) and DoneHub (§3) over real HTTP on 127.0.0.1.

mod common;
use common::*;
use msync_mockgw::Flavor;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn veloera_api(mock: &msync_mockgw::MockHandle) -> Api {
    Api::new(mock)
        .with("Authorization", &format!("Bearer {TOKEN}"))
        .with("Veloera-User", "1")
}

#[tokio::test]
async fn veloera_needs_its_own_user_header() {
    let mock = start(cfg(Flavor::Veloera).channels(5));
    let r = Api::admin(&mock).get("/api/channel/?p=0&page_size=5").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["message"], "无权进行此操作，未提供 Veloera-User");
    let r = veloera_api(&mock)
        .get("/api/channel/?p=0&page_size=5")
        .await
        .json();
    assert!(r["data"].is_array(), "bare array");
    assert_eq!(r["data"].as_array().unwrap().len(), 5);
    assert!(r["data"][0].get("model_prefix").is_some());
    assert!(r["data"][0].get("channel_info").is_none());
}

#[tokio::test]
async fn veloera_get_one_and_update_answer_the_full_key() {
    let mock = start(cfg(Flavor::Veloera).channels(3));
    let api = veloera_api(&mock);
    let key = mock.channel(2).unwrap()["key"].clone();
    assert_eq!(api.get("/api/channel/2").await.json()["data"]["key"], key);
    let r = api
        .put("/api/channel/", json!({"id": 2, "status": 2}))
        .await
        .json();
    assert_eq!(r["success"], true, "status is allowed in Veloera");
    assert_eq!(r["data"]["key"], key);
    assert_eq!(mock.channel(2).unwrap()["status"], 2);
}

#[tokio::test]
async fn veloera_fetch_errors_use_the_2025_texts() {
    let mock = start(cfg(Flavor::Veloera).channels(3));
    let api = veloera_api(&mock);
    mock.set_fault(
        msync_mockgw::FaultRule::new(msync_mockgw::FaultKind::UpstreamStatus { status: 401 })
            .op(msync_mockgw::Op::FetchModels)
            .times(1),
    );
    let r = api.get("/api/channel/fetch_models/1").await.json();
    assert_eq!(r, json!({"success": false, "message": "status code: 401"}));
    let r = api.get("/api/channel/fetch_models/1").await.json();
    assert_eq!(r["success"], true, "the fault was for one request only");
    let r = api
        .post(
            "/api/channel/fetch_models",
            json!({"base_url": "https://x", "type": 1, "key": "sk-bad"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.json(),
        json!({"success": false, "message": "Failed to fetch models"})
    );
}

fn dh(mock: &msync_mockgw::MockHandle) -> Api {
    Api::new(mock).with("Authorization", TOKEN)
}

#[tokio::test]
async fn done_hub_auth_has_no_user_header_and_200_for_bad_tokens() {
    let mock = start(cfg(Flavor::DoneHub).channels(3));
    let r = Api::new(&mock).get("/api/channel/").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = Api::new(&mock)
        .with("Authorization", "Bearer nope")
        .get("/api/channel/")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["message"], "无权进行此操作，access token 无效");
    assert_eq!(dh(&mock).get("/api/channel/").await.json()["success"], true);
}

#[tokio::test]
async fn done_hub_list_folds_tags_and_checks_size_and_order() {
    let mock = start(cfg(Flavor::DoneHub).channels(40));
    let api = dh(&mock);
    let all = mock.channels();
    let untagged = all.iter().filter(|c| c["tag"] == "").count();
    let mut tags: Vec<&str> = all
        .iter()
        .filter_map(|c| c["tag"].as_str())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    assert!(!tags.is_empty());
    let v = api.get("/api/channel/?page=1&size=100").await.json();
    let data = &v["data"];
    assert_eq!(
        data["total_count"].as_u64().unwrap() as usize,
        untagged + tags.len()
    );
    assert_eq!(data["page"], 1);
    assert_eq!(data["size"], 100);
    let items = data["data"].as_array().unwrap();
    assert!(items.iter().all(|c| c["key"] == ""));
    // Default order is id DESC, and each tag shows once: its highest id (deanxv/done-hub
    // `model/channel.go` `GetChannelsList`, `Select("Max(id) as id")…Group("tag")`).
    let ids: Vec<u64> = items.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    for tag in &tags {
        let reps: Vec<&Value> = items.iter().filter(|c| c["tag"] == *tag).collect();
        let max = all
            .iter()
            .filter(|c| c["tag"] == *tag)
            .map(|c| c["id"].as_u64().unwrap())
            .max();
        assert_eq!(reps.len(), 1, "{tag}");
        assert_eq!(reps[0]["id"].as_u64(), max);
    }
    let r = api.get("/api/channel/?page=1&size=101").await.json();
    assert_eq!(
        r,
        json!({"success": false, "message": "size 参数不能超过 100"})
    );
    let r = api.get("/api/channel/?order=bogus").await.json();
    assert_eq!(r["message"], "不允许对字段 'bogus' 进行排序");
    let r = api
        .get("/api/channel/?order=name&size=100&filter_tag=1")
        .await
        .json();
    let names: Vec<&str> = r["data"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), untagged);

    // The tag list has every member, keys included.
    let tag = tags[0];
    let members = all.iter().filter(|c| c["tag"] == tag).count();
    let v = api
        .get(&format!("/api/channel_tag/{tag}/list?page=1&size=100"))
        .await
        .json();
    let list = v["data"]["data"].as_array().unwrap();
    assert_eq!(list.len(), members);
    assert!(list.len() > 1);
    assert!(list
        .iter()
        .all(|c| c["key"].as_str().unwrap().starts_with("sk-")));
}

#[tokio::test]
async fn done_hub_put_with_models_wipes_every_other_column() {
    let mock = start(cfg(Flavor::DoneHub).channels(5));
    let api = dh(&mock);
    let before = mock.channel(1).unwrap();
    assert_ne!(before["key"], "");
    let r = api
        .put("/api/channel/", json!({"id": 1, "models": "a,b"}))
        .await
        .json();
    assert_eq!(r["success"], true);
    let after = mock.channel(1).unwrap();
    assert_eq!(after["models"], "a,b");
    assert_eq!(after["key"], "", "key wiped");
    assert_eq!(after["name"], "", "name wiped");
    assert_eq!(after["type"], 0, "type wiped");
    assert_eq!(after["base_url"], Value::Null, "base_url wiped");
    assert_eq!(after["group"], "", "group wiped");
    assert_eq!(
        after["used_quota"], before["used_quota"],
        "only used_quota is spared"
    );
}

#[tokio::test]
async fn done_hub_safe_recipe_and_partial_without_models() {
    let mock = start(cfg(Flavor::DoneHub).channels(5));
    let api = dh(&mock);
    // Without models: zero values skipped, so a partial body is safe.
    let before = mock.channel(2).unwrap();
    let r = api
        .put(
            "/api/channel/",
            json!({"id": 2, "model_mapping": "{\"x\":\"y\"}", "name": ""}),
        )
        .await
        .json();
    assert_eq!(r["success"], true);
    let after = mock.channel(2).unwrap();
    assert_eq!(after["model_mapping"], "{\"x\":\"y\"}");
    assert_eq!(after["name"], before["name"]);
    assert_eq!(after["key"], before["key"]);
    // GET /:id gives the full object (key included); PUT it back whole with new models.
    let mut full = api.get("/api/channel/3").await.json()["data"].clone();
    assert_eq!(full["key"], mock.channel(3).unwrap()["key"]);
    full["models"] = json!("m1,m2");
    let r = api.put("/api/channel/", full.clone()).await.json();
    assert_eq!(r["success"], true);
    assert_eq!(r["data"]["key"], full["key"], "the answer holds the key");
    let stored = mock.channel(3).unwrap();
    for k in [
        "key",
        "name",
        "type",
        "base_url",
        "group",
        "model_mapping",
        "tag",
    ] {
        assert_eq!(stored[k], full[k], "{k}");
    }
    assert_eq!(stored["models"], "m1,m2");
    assert_eq!(mock.writes(2), 1);
    assert_eq!(mock.writes(3), 1);
}

#[tokio::test]
async fn done_hub_tag_type_consistency() {
    let mock = start(cfg(Flavor::DoneHub).channels(20));
    let tagged = mock
        .channels()
        .into_iter()
        .find(|c| c["tag"] == "openai-pool")
        .unwrap();
    let other = mock
        .channels()
        .into_iter()
        .find(|c| c["type"] == 14)
        .unwrap();
    let r = dh(&mock)
        .put(
            "/api/channel/",
            json!({"id": other["id"], "tag": "openai-pool"}),
        )
        .await
        .json();
    assert_eq!(
        r["success"], false,
        "an Anthropic channel cannot join an OpenAI tag"
    );
    let r = dh(&mock)
        .put("/api/channel/", json!({"id": tagged["id"], "priority": 5}))
        .await
        .json();
    assert_eq!(r["success"], true);
}

#[tokio::test]
async fn done_hub_provider_models_list() {
    let mock = start(cfg(Flavor::DoneHub).channels(4));
    let api = dh(&mock);
    let v = api
        .post("/api/channel/provider_models_list", json!({"id": 2}))
        .await
        .json();
    assert_eq!(v["data"], json!(mock.upstream_models(2)));
    let v = api
        .post("/api/channel/provider_models_list", json!({"type": 1}))
        .await
        .json();
    assert_eq!(v, json!({"success": false, "message": "key is required"}));
    let v = api
        .post("/api/channel/provider_models_list", json!({"id": 99}))
        .await
        .json();
    assert_eq!(v["message"], "record not found");
    mock.set_upstream_models(4, vec!["a".into(), "b".into(), "a".into()]);
    let key = mock.channel(4).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let v = api
        .post(
            "/api/channel/provider_models_list",
            json!({"type": 1, "key": key, "base_url": ""}),
        )
        .await
        .json();
    assert_eq!(v["data"], json!(["a", "b"]));
    mock.set_upstream_models(4, vec![]);
    let v = api
        .post("/api/channel/provider_models_list", json!({"id": 4}))
        .await
        .json();
    assert_eq!(v["data"], json!([]));
}

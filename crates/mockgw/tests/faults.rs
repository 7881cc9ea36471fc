//! Fault injection, the control routes, the request log and the binary, over 127.0.0.1.

mod common;
use common::*;
use msync_mockgw::{FaultKind, FaultRule, Flavor, Op};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn status(status: u16, retry_after: Option<u64>) -> FaultKind {
    FaultKind::Status {
        status,
        retry_after,
        body: None,
    }
}

#[tokio::test]
async fn transport_faults_look_like_the_real_thing() {
    let mock = start(cfg(Flavor::NewApi).channels(3));
    let api = Api::admin(&mock);
    let list = "/api/channel/?p=1&page_size=10";

    mock.set_fault(FaultRule::new(FaultKind::Html { status: None }).times(1));
    let r = api.get(list).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text.contains("Just a moment"));

    mock.set_fault(FaultRule::new(FaultKind::TruncatedJson).times(1));
    let r = api.get(list).await;
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    assert!(r.text.starts_with("{\""));

    mock.set_fault(FaultRule::new(FaultKind::MalformedJson).times(1));
    let r = api.get(list).await;
    assert!(serde_json::from_str::<Value>(&r.text).is_err());

    mock.set_fault(
        FaultRule::new(FaultKind::BusinessError {
            message: "获取渠道列表失败，请稍后重试".into(),
        })
        .times(1),
    );
    let r = api.get(list).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"success": false, "message": "获取渠道列表失败，请稍后重试"})
    );

    let cases: &[(u16, Option<u64>, &str)] = &[
        (401, None, "AUTH_UNAUTHORIZED"),
        (403, None, "AUTH_INSUFFICIENT_PRIVILEGE"),
        (404, None, "404 page not found"),
        (429, Some(7), ""),
        (429, None, ""),
        (500, None, "internal server error"),
        (502, None, "502 Bad Gateway"),
        (503, Some(30), "503 Service Temporarily Unavailable"),
    ];
    for (code, retry, needle) in cases {
        mock.set_fault(
            FaultRule::new(status(*code, *retry))
                .op(Op::ListChannels)
                .times(1),
        );
        let r = api.get(list).await;
        assert_eq!(r.status.as_u16(), *code);
        assert_eq!(
            r.header("retry-after"),
            retry.map(|s| s.to_string()),
            "{code}"
        );
        if needle.is_empty() {
            assert_eq!(r.text, "", "{code} has an empty body");
        } else {
            assert!(r.text.contains(needle), "{code}: {}", r.text);
        }
    }

    mock.set_fault(FaultRule::new(FaultKind::RedirectLogin).times(1));
    let r = api.get(list).await;
    assert_eq!(r.status, StatusCode::FOUND);
    let location = r.header("location").unwrap();
    assert!(location.starts_with("/login"));
    let login = api.get(&location).await;
    assert!(login.text.contains("<form"));

    // All rules were single-use: back to normal.
    assert!(mock.faults().is_empty());
    assert_eq!(api.get(list).await.json()["success"], true);
}

#[tokio::test]
async fn times_lets_a_retry_succeed_and_channel_scoping_is_exact() {
    let mock = start(cfg(Flavor::NewApi).channels(3));
    let api = Api::admin(&mock);
    mock.set_fault(
        FaultRule::new(status(503, None))
            .op(Op::FetchModels)
            .channel(2)
            .times(2),
    );
    assert_eq!(
        api.get("/api/channel/fetch_models/1").await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/api/channel/fetch_models/2").await.status.as_u16(),
        503
    );
    assert_eq!(
        api.get("/api/channel/fetch_models/2").await.status.as_u16(),
        503
    );
    let r = api.get("/api/channel/fetch_models/2").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["success"], true);
    // Path + method scoping.
    mock.set_fault(
        FaultRule::new(status(500, None))
            .path("/api/channel/")
            .method("PUT"),
    );
    assert_eq!(api.get("/api/channel/1").await.status, StatusCode::OK);
    assert_eq!(
        api.put("/api/channel/", json!({"id": 1, "models": "a"}))
            .await
            .status
            .as_u16(),
        500
    );
    assert_eq!(mock.writes(1), 0, "a faulted write never reaches the state");
    mock.clear_faults();
    assert_eq!(
        api.put("/api/channel/", json!({"id": 1, "models": "a"}))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn delay_hang_and_dropped_connections() {
    let mock = start(cfg(Flavor::NewApi).channels(2));
    let api = Api::admin(&mock);
    mock.set_fault(FaultRule::new(FaultKind::Delay { ms: 150 }).times(1));
    let t = Instant::now();
    assert_eq!(api.get("/api/status").await.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(150));

    mock.set_fault(FaultRule::new(FaultKind::Hang).times(1));
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .no_proxy()
        .build()
        .unwrap();
    let err = quick
        .get(format!("{}/api/status", mock.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    mock.set_fault(FaultRule::new(FaultKind::DropConnection).times(1));
    let err = client()
        .get(format!("{}/api/status", mock.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "closed, not timed out: {err}");

    mock.set_fault(FaultRule::new(FaultKind::DropMidBody).times(1));
    let resp = client()
        .get(format!("{}/api/channel/?p=1", mock.base_url()))
        .header("Authorization", TOKEN)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.is_err(), "the body breaks off");

    assert_eq!(
        api.get("/api/status").await.status,
        StatusCode::OK,
        "server still fine"
    );
    let log = mock.requests();
    let dropped = log
        .iter()
        .find(|r| r.fault.as_deref() == Some("drop_connection"))
        .unwrap();
    assert_eq!(dropped.status, 0);
}

#[tokio::test]
async fn model_list_faults() {
    let mock = start(cfg(Flavor::NewApi).channels(2));
    let api = Api::admin(&mock);
    let url = "/api/channel/fetch_models/1";
    mock.set_fault(
        FaultRule::new(FaultKind::HugeList { count: None })
            .op(Op::FetchModels)
            .times(1),
    );
    let v = api.get(url).await.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 100_000);

    mock.set_fault(
        FaultRule::new(FaultKind::NullList)
            .op(Op::FetchModels)
            .times(1),
    );
    assert_eq!(api.get(url).await.json()["data"], Value::Null);

    mock.set_fault(
        FaultRule::new(FaultKind::MessyNames)
            .op(Op::FetchModels)
            .times(1),
    );
    let v = api.get(url).await.json();
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.trim().is_empty()));
    let first = names[0];
    assert!(
        names.iter().filter(|n| **n == first).count() >= 2,
        "duplicates"
    );

    mock.set_fault(
        FaultRule::new(FaultKind::NonAsciiNames)
            .op(Op::FetchModels)
            .times(1),
    );
    let v = api.get(url).await.json();
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| !n.as_str().unwrap().is_ascii()));

    mock.set_fault(
        FaultRule::new(FaultKind::UpstreamNonJson)
            .op(Op::FetchModels)
            .times(1),
    );
    assert!(api.get(url).await.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("获取模型列表失败: invalid character"));

    mock.set_fault(
        FaultRule::new(FaultKind::ChannelDeleted)
            .channel(1)
            .times(2),
    );
    assert_eq!(api.get(url).await.json()["message"], "record not found");
    assert_eq!(
        api.get("/api/channel/1").await.json()["message"],
        "record not found"
    );
    assert_eq!(api.get(url).await.json()["success"], true);

    mock.set_fault(
        FaultRule::new(FaultKind::NullList)
            .op(Op::ListChannels)
            .times(1),
    );
    assert_eq!(
        api.get("/api/channel/?p=1").await.json()["data"]["items"],
        Value::Null
    );
}

#[tokio::test]
async fn faults_render_in_each_flavours_envelope() {
    let octo = start(cfg(Flavor::Octopus).channels(2));
    octo.set_fault(FaultRule::new(FaultKind::BusinessError {
        message: "Database operation failed".into(),
    }));
    let r = Api::new(&octo).get("/api/v1/channel/list").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.json(),
        json!({"code": 500, "message": "Database operation failed"})
    );

    let axon = start(cfg(Flavor::Axonhub).channels(2));
    axon.set_fault(FaultRule::new(FaultKind::BusinessError {
        message: "permission denied".into(),
    }));
    let r = Api::new(&axon)
        .post("/admin/graphql", json!({"query": "query { queryChannels(input: $input) { totalCount } }", "variables": {"input": {}}}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"errors": [{"message": "permission denied", "path": ["queryChannels"]}], "data": null})
    );
    axon.clear_faults();
    axon.set_fault(FaultRule::new(status(401, None)));
    let r = Api::new(&axon).post("/admin/graphql", json!({})).await;
    assert_eq!(r.json()["error"]["type"], "Unauthorized");

    let dh = start(cfg(Flavor::DoneHub).channels(2));
    dh.set_fault(FaultRule::new(FaultKind::UpstreamStatus { status: 403 }));
    let r = Api::new(&dh)
        .with("Authorization", TOKEN)
        .post("/api/channel/provider_models_list", json!({"id": 1}))
        .await
        .json();
    assert_eq!(r["success"], false);
    assert!(r["message"].as_str().unwrap().contains("403"));
}

#[tokio::test]
async fn control_routes_and_request_log() {
    let mock = start(cfg(Flavor::NewApi).channels(4));
    let ctl = Api::new(&mock);
    let api = Api::admin(&mock);

    let r = ctl
        .post("/__mock/faults", json!([{"kind": "status", "status": 429, "retry_after": 2, "op": "list_channels", "times": 1}]))
        .await;
    assert_eq!(r.json()["faults"], 1);
    let r = api.get("/api/channel/?p=1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    assert_eq!(
        ctl.post("/__mock/faults", json!({"kind": "nonsense"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    ctl.post("/__mock/upstream/2", json!({"models": ["x-1", "x-2"]}))
        .await;
    assert_eq!(
        api.get("/api/channel/fetch_models/2").await.json()["data"],
        json!(["x-1", "x-2"])
    );

    api.put("/api/channel/", json!({"id": 3, "models": "a,b"}))
        .await;
    let state = ctl.get("/__mock/state").await.json();
    assert_eq!(state["flavor"], "new-api");
    assert_eq!(state["writes"]["3"], 1);
    assert_eq!(state["upstream"]["2"], json!(["x-1", "x-2"]));
    assert_eq!(state["channels"].as_array().unwrap().len(), 4);
    assert_eq!(ctl.get("/__mock/channels/3").await.json()["models"], "a,b");

    let log = ctl.get("/__mock/requests").await.json();
    let reqs = log["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 3, "control routes are not logged");
    let put = &reqs[2];
    assert_eq!(put["method"], "PUT");
    assert_eq!(put["op"], "update_channel");
    assert_eq!(put["channel"], 3);
    assert_eq!(put["status"], 200);
    assert_eq!(
        serde_json::from_str::<Value>(put["body"].as_str().unwrap()).unwrap(),
        json!({"id": 3, "models": "a,b"})
    );
    let since = ctl.get("/__mock/requests?since=2").await.json();
    assert_eq!(since["requests"].as_array().unwrap().len(), 1);
    // The library view agrees.
    let lib = mock.requests();
    assert_eq!(lib[0].fault.as_deref(), Some("status"));
    assert_eq!(lib[0].status, 429);
    assert_eq!(lib[2].header("new-api-user"), Some("1"));
    assert_eq!(lib[2].json().unwrap()["id"], 3);

    ctl.post("/__mock/reset", json!({})).await;
    assert_eq!(mock.writes(3), 0);
    assert!(mock.requests().is_empty());
    assert_ne!(mock.channel(3).unwrap()["models"], "a,b");
    assert_ne!(
        mock.upstream_models(2),
        vec!["x-1".to_string(), "x-2".to_string()]
    );
}

#[tokio::test]
async fn seeding_is_deterministic_per_seed() {
    let a = start(cfg(Flavor::NewApi).channels(30).seed(42));
    let b = start(cfg(Flavor::NewApi).channels(30).seed(42));
    let c = start(cfg(Flavor::NewApi).channels(30).seed(43));
    assert_eq!(a.channels(), b.channels());
    assert_ne!(a.channels(), c.channels());
    assert_eq!(a.upstream_models(7), b.upstream_models(7));
    let names: Vec<String> = a
        .channels()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    for expected in [
        "openai-main",
        "openrouter-free",
        "anthropic-direct",
        "deepseek",
        "gemini",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}");
    }
    let all: Vec<String> = (1..=30).flat_map(|i| a.upstream_models(i)).collect();
    assert!(all.iter().any(|m| m.ends_with(":free")));
    assert!(all.iter().any(|m| m == "claude-sonnet-4-5-20250929"));
    assert!(all.iter().any(|m| m == "gpt-4o-2024-08-06"));
}

#[test]
fn the_binary_prints_its_port_and_serves() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_msync-mockgw"))
        .args([
            "--port",
            "0",
            "--flavor",
            "done-hub",
            "--channels",
            "7",
            "--seed",
            "9",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let result = (|| {
        let rest = line.strip_prefix("mockgw listening on http://127.0.0.1:")?;
        let (port, tail) = rest.split_once(' ')?;
        assert_eq!(tail.trim(), "flavor=done-hub channels=7");
        port.parse::<u16>().ok()
    })();
    let port = result.unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let v: Value = rt.block_on(async {
        client()
            .get(format!("http://127.0.0.1:{port}/api/channel/?size=100"))
            .header("Authorization", TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(v["success"], true);
    assert!(v["data"]["total_count"].as_u64().unwrap() <= 7);
}

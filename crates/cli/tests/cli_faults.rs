//! Each fault class the mock can inject, through the real binary: the channel's item carries the
//! classified error, retries happen only when retryable, and nothing is written on failure.

mod support;

use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, Op};
use support::*;

fn status(s: u16) -> FaultKind {
    FaultKind::Status {
        status: s,
        retry_after: None,
        body: None,
    }
}

#[test]
fn every_fault_class_is_classified_on_its_channel() {
    // (fault on channel 1's model fetch, expected class, expected HTTP status, retried?)
    let rows: Vec<(FaultKind, &str, Option<u16>, bool)> = vec![
        (
            FaultKind::Html { status: None },
            "invalid_response",
            None,
            false,
        ),
        (FaultKind::TruncatedJson, "invalid_response", None, false),
        (FaultKind::MalformedJson, "invalid_response", None, false),
        (
            FaultKind::RedirectLogin,
            "invalid_response",
            Some(302),
            false,
        ),
        // With `Retry-After` (New API since 2026-07-21). A bare 429 pauses the whole site for
        // the server's 180 s window instead (`engine::limit` and `engine` tests, virtual time).
        (
            FaultKind::Status {
                status: 429,
                retry_after: Some(1),
                body: None,
            },
            "rate_limited",
            Some(429),
            true,
        ),
        (status(500), "server", Some(500), true),
        (status(502), "server", Some(502), true),
        (status(503), "server", Some(503), true),
        (status(401), "auth", Some(401), false),
        (status(403), "permission", Some(403), false),
        (status(404), "not_found", Some(404), false),
        (
            FaultKind::UpstreamStatus { status: 401 },
            "upstream",
            Some(401),
            false,
        ),
        (
            FaultKind::UpstreamStatus { status: 500 },
            "upstream",
            Some(500),
            true,
        ),
        (FaultKind::UpstreamNonJson, "upstream", None, true),
        (FaultKind::DropConnection, "network", None, true),
        (FaultKind::DropMidBody, "network", None, true),
        (FaultKind::Hang, "timeout", None, true),
        (FaultKind::ChannelDeleted, "not_found", None, false),
        (
            FaultKind::BusinessError {
                message: "upstream said no".into(),
            },
            // A business error from the fetch-models endpoint is the gateway reporting its
            // upstream call.
            "upstream",
            None,
            true,
        ),
    ];
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let mut problems = Vec::new();
    for (kind, class, http, retried) in rows {
        env.mock.reset();
        let label = format!("{kind:?}");
        env.mock
            .set_fault(FaultRule::new(kind).op(Op::FetchModels).channel(1));
        let out = env.run(&["--json", "sync", "--channels", "1,2"]);
        let doc = out.json();
        let its = items(&doc);
        let one = its.iter().find(|i| i["channel_id"] == "1").unwrap();
        let two = its.iter().find(|i| i["channel_id"] == "2").unwrap();
        let got = (
            one["status"].as_str().unwrap().to_string(),
            one["error_class"].as_str().unwrap_or("").to_string(),
            one["http_status"].as_u64().map(|s| s as u16),
            one["attempts"].as_u64().unwrap(),
        );
        let want = (
            "failed".to_string(),
            class.to_string(),
            http,
            if retried { 2 } else { 1 },
        );
        if got != want {
            problems.push(format!(
                "{label}: got {got:?}, want {want:?}: {}",
                one["message"]
            ));
        }
        assert_eq!(out.code, 1, "{label}: {}", out.stderr);
        assert_eq!(env.mock.writes(1), 0, "{label}: nothing written on failure");
        assert_ne!(two["status"], "failed", "{label}: other channels go on");
        let msg = one["message"].as_str().unwrap_or("");
        assert!(!msg.contains(&env.secret), "{label}: {msg}");
        assert!(!msg.is_empty(), "{label}: a failure says why");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn transient_faults_are_retried_to_success() {
    let env = Env::new(MockConfig::new(Flavor::Veloera).channels(3));
    env.mock.set_fault(
        FaultRule::new(FaultKind::Status {
            status: 429,
            retry_after: Some(1),
            body: None,
        })
        .op(Op::FetchModels)
        .channel(1)
        .times(1),
    );
    let started = std::time::Instant::now();
    let out = env.run(&["--json", "sync", "--channels", "1"]);
    assert!(out.code <= 1, "{}", out.stderr);
    let doc = out.json();
    let one = &items(&doc)[0];
    assert_ne!(one["status"], "failed", "{one}");
    assert_eq!(one["attempts"], 2);
    // Retry-After: 1 was honoured.
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}

#[test]
fn a_site_that_cannot_list_fails_the_run_with_nothing_written() {
    for (kind, class, code) in [
        (status(500), "server", 1),
        (FaultKind::Html { status: Some(200) }, "invalid_response", 1),
        (FaultKind::DropConnection, "network", 3),
    ] {
        let env = Env::new(MockConfig::new(Flavor::DoneHub).channels(3));
        env.mock
            .set_fault(FaultRule::new(kind).op(Op::ListChannels));
        let out = env.run(&["--json", "sync"]);
        assert_eq!(out.code, code, "{class}: {}\n{}", out.stdout, out.stderr);
        let doc = out.json();
        assert_eq!(doc["run"]["state"], "failed");
        assert_eq!(doc["run"]["error"]["class"], class, "{}", out.stdout);
        assert!(env.mock.write_counts().values().all(|w| *w == 0));
    }
    // Nobody listening at all.
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let port = env.mock.port();
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace(&format!(":{port}/"), ":9/");
    env.write_config(&text);
    let out = env.run(&["--json", "sites", "test"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert_eq!(out.json()["sites"][0]["error"]["class"], "network");
}

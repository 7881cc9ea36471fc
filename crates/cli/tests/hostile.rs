//! Hostile and odd input against the real binary and the mock gateway: model names with commas,
//! names with spaces through a revert, redirects that would carry secrets elsewhere, and plain
//! http to a public host (with a proxy in the environment).

mod support;

use msync_mockgw::{Flavor, MockConfig};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use support::*;

/// Settings that would let any change through: every channel synced, no removal guard, and one
/// exclude rule for `o1-pro`.
const OPEN: &str = "skip_disabled = false\nremoval_threshold_pct = 100\n[[sync.rules]]\nkind = \"regex\"\npattern = \"^o1-pro$\"\naction = \"exclude\"\n";

fn models_text(env: &Env, id: u64) -> String {
    let ch = env.mock.channel(id).unwrap();
    let key = if env.mock.config().flavor == Flavor::Octopus {
        "model"
    } else {
        "models"
    };
    ch[key].as_str().unwrap().to_string()
}

#[test]
fn a_model_name_with_a_comma_holds_the_channel_and_the_next_run_changes_nothing() {
    for flavor in [
        Flavor::NewApi,
        Flavor::Veloera,
        Flavor::DoneHub,
        Flavor::Octopus,
    ] {
        let env = Env::with_sync(
            MockConfig::new(flavor).channels(3),
            &format!("{FAST}{OPEN}"),
        );
        env.mock
            .set_upstream_models(1, vec!["gpt-4o,o1-pro".into(), "gpt-4o".into()]);
        let before = models_text(&env, 1);
        for round in 1..=2 {
            let out = env.run(&["--json", "sync", "--channels", "1"]);
            let doc = out.json();
            let its = items(&doc);
            assert_eq!(its.len(), 1, "{flavor}: {}", out.stdout);
            let item = &its[0];
            assert_eq!(item["status"], "failed", "{flavor} round {round}: {item}");
            assert_eq!(item["error_class"], "validation", "{flavor}: {item}");
            let msg = item["message"].as_str().unwrap_or_default();
            assert!(
                msg.contains("\"gpt-4o,o1-pro\"") && msg.contains("comma"),
                "{flavor}: {msg}"
            );
            assert_eq!(out.code, 1, "{flavor}: a failed channel exits 1");
            assert_eq!(
                env.mock.writes(1),
                0,
                "{flavor} round {round}: never written"
            );
            assert_eq!(models_text(&env, 1), before, "{flavor}: unchanged");
        }
    }
}

#[test]
fn a_revert_writes_back_exactly_the_names_it_read() {
    for flavor in [Flavor::NewApi, Flavor::DoneHub] {
        let env = Env::with_sync(
            MockConfig::new(flavor).channels(3),
            &format!("{FAST}{OPEN}"),
        );
        // The servers split on commas only: " spaced " is a name of its own there.
        let stored = "gpt-4o, spaced ,o1-mini";
        assert!(env
            .mock
            .patch_channel(1, serde_json::json!({ "models": stored })));
        env.mock
            .set_upstream_models(1, vec!["gpt-4o".into(), "gpt-4.1".into()]);
        let out = env.run(&["--json", "sync", "--channels", "1"]);
        let doc = out.json();
        assert_eq!(
            items(&doc)[0]["status"],
            "success",
            "{flavor}: {}",
            out.stdout
        );
        assert_eq!(env.mock.writes(1), 1);
        let run = doc["run"]["id"].as_str().unwrap().to_string();

        let out = env.run(&["--json", "revert", &run]);
        let rdoc = out.json();
        assert_eq!(
            items(&rdoc)[0]["status"],
            "success",
            "{flavor}: {}",
            out.stdout
        );
        assert_eq!(models_text(&env, 1), stored, "{flavor}: restored verbatim");
    }
}

/// A server that answers every request with a 307 to `target` (same path), recording what
/// reached it.
fn redirector(target: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = vec![0u8; 65536];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            log.lock().unwrap().push(head);
            let _ = write!(
                s,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

#[test]
fn a_redirect_to_another_origin_is_never_followed() {
    for flavor in [Flavor::NewApi, Flavor::Octopus] {
        let env = Env::new(MockConfig::new(flavor).channels(3));
        let (front, seen) = redirector(env.mock.base_url());
        let text = std::fs::read_to_string(&env.config)
            .unwrap()
            .replace(&env.mock.base_url(), &front);
        env.write_config(&text);
        env.mock.clear_requests();

        for args in [&["sites", "test"][..], &["--json", "sync"][..]] {
            let out = env.run(args);
            assert_ne!(out.code, 0, "{flavor} {args:?}: {}", out.stdout);
            let all = format!("{}{}", out.stdout, out.stderr);
            assert!(
                all.contains("redirect") && all.contains(&env.mock.base_url()),
                "{flavor} {args:?}: the error names the redirect: {all}"
            );
            assert!(!all.contains(&env.secret), "{flavor}: secret in output");
        }
        assert!(
            !seen.lock().unwrap().is_empty(),
            "{flavor}: the first server was asked"
        );
        assert!(
            env.mock.requests().is_empty(),
            "{flavor}: the redirect target received nothing: {:?}",
            env.mock.requests()
        );
    }
}

/// A listener that records every connection's first bytes and closes it (a would-be proxy).
fn recorder() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = vec![0u8; 65536];
            let n = s.read(&mut buf).unwrap_or(0);
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    });
    (url, seen)
}

#[test]
fn plain_http_to_a_public_host_needs_allow_insecure_and_never_goes_through_a_proxy() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    // `.invalid` never resolves (RFC 6761): nothing leaves the machine but a failed lookup.
    let public = "http://msync-hostile-test.invalid";
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace(&format!("{}/", env.mock.base_url()), public);
    env.write_config(&text);
    let out = env.run(&["sites", "test"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("sites[0].base_url") && out.stderr.contains("allow_insecure = true"),
        "{}",
        out.stderr
    );

    // Allowed explicitly: the request goes direct, never through the proxy in the environment.
    env.write_config(&text.replace(
        "request_timeout_secs = 2\n",
        "request_timeout_secs = 2\nallow_insecure = true\n",
    ));
    let (proxy, seen) = recorder();
    let mut args = vec![
        "--config".to_string(),
        env.config.display().to_string(),
        "--state-dir".to_string(),
        env.state.display().to_string(),
    ];
    args.extend(["sites", "test"].map(String::from));
    let out = run_msync(
        &args,
        &[
            ("HTTP_PROXY", &proxy),
            ("http_proxy", &proxy),
            ("ALL_PROXY", &proxy),
            ("all_proxy", &proxy),
        ],
    );
    assert!(
        out.stderr.contains("plain http") || out.stderr.contains("warning"),
        "the consent is still warned about: {}",
        out.stderr
    );
    assert_eq!(out.code, 3, "unreachable: {}\n{}", out.stdout, out.stderr);
    assert!(
        seen.lock().unwrap().is_empty(),
        "the proxy saw the request: {:?}",
        seen.lock().unwrap()
    );
}

#[test]
fn names_and_server_errors_reach_the_terminal_without_control_characters() {
    let env = Env::with_sync(MockConfig::new(Flavor::NewApi).channels(3), FAST);
    let hostile = "evil\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}1Aname";
    assert!(env
        .mock
        .patch_channel(1, serde_json::json!({ "name": hostile })));
    let out = env.run(&["channels"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("evil]0;owned[2J1Aname"),
        "{}",
        out.stdout
    );
    for c in out.stdout.chars().chain(out.stderr.chars()) {
        assert!(
            !c.is_control() || c == '\n' || c == '\t',
            "{c:?} in {:?}",
            out.stdout
        );
    }
    // Scripts get the name as the site holds it.
    let out = env.run(&["--json", "channels"]);
    let doc = out.json();
    let names: Vec<&str> = doc["sites"][0]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&hostile), "{names:?}");
}

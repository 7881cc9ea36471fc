//! Issue 21, probe before adding: the real `msync` binary against the mock gateway's channel
//! tests over loopback (`docs/probe.md`).

mod support;

use msync_mockgw::probe::ProbeScript;
use msync_mockgw::{Flavor, MockConfig};
use serde_json::Value;
use support::*;

/// The first enabled channel: (id, its models).
fn enabled_channel(env: &Env) -> (String, Vec<String>) {
    let out = env.run(&["--json", "channels"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let ch = doc["sites"][0]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["enabled"] == true)
        .cloned()
        .expect("an enabled channel");
    (ch["id"].as_str().unwrap().to_string(), strs(&ch["models"]))
}

/// Let the channel's upstream serve its models plus `extra`.
fn upstream_adds(env: &Env, id: &str, models: &[String], extra: &[&str]) {
    let mut up = models.to_vec();
    up.extend(extra.iter().map(|s| s.to_string()));
    env.mock.set_upstream_models(num(id), up);
}

fn probe_of<'a>(item: &'a Value, model: &str) -> &'a Value {
    item["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["model"] == model)
        .unwrap_or_else(|| panic!("no probe of {model}: {item}"))
}

fn fail(message: &str, status: u16) -> ProbeScript {
    ProbeScript::Fail {
        message: message.into(),
        status,
    }
}

#[test]
fn a_run_adds_only_the_models_that_passed_and_shows_the_gateways_reason() {
    for flavor in [
        Flavor::NewApi,
        Flavor::Veloera,
        Flavor::DoneHub,
        Flavor::Axonhub,
    ] {
        let env = Env::new(MockConfig::new(flavor).channels(4));
        let (id, models) = enabled_channel(&env);
        upstream_adds(&env, &id, &models, &["probe-good", "probe-bad"]);
        env.mock.script_probe(
            "probe-bad",
            fail(
                "The model `probe-bad` does not exist or you do not have access to it.",
                404,
            ),
        );
        let out = env.run(&["--json", "sync", "--probe", "--channels", &id]);
        let doc = out.json();
        let item = &items(&doc)[0];
        assert_eq!(item["status"], "success", "{flavor}: {}", out.stdout);
        let added = strs(&item["added"]);
        assert!(added.contains(&"probe-good".to_string()), "{flavor}");
        assert!(!added.contains(&"probe-bad".to_string()), "{flavor}");
        assert!(!strs(&item["new_models"]).contains(&"probe-bad".to_string()));
        let bad = probe_of(item, "probe-bad");
        let failed = &bad["outcome"]["failed"];
        assert_eq!(failed["failure"], "model_not_found", "{flavor}: {bad}");
        assert_eq!(bad["held_back"], true);
        assert_eq!(failed["answer"]["http_status"], 200);
        assert!(failed["answer"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"));
        let good = probe_of(item, "probe-good");
        assert!(
            good["outcome"]["passed"]["answer"]["response_ms"]
                .as_u64()
                .unwrap()
                > 0,
            "{flavor}"
        );
        // Only the two new models were tested, each once, on that channel.
        let log = env.mock.probe_log();
        let tested: Vec<&str> = log.iter().map(|p| p.model.as_str()).collect();
        assert_eq!(tested.len(), 2, "{flavor}: {tested:?}");
        assert!(tested.contains(&"probe-good") && tested.contains(&"probe-bad"));
        assert!(log.iter().all(|p| p.channel == num(&id)));
        // The history keeps the held-back model with its reason.
        let run = doc["run"]["id"].as_str().unwrap();
        let exported = env.run(&["history", "--run", run, "--export", "json"]);
        assert!(
            exported.stdout.contains("probe-bad") && exported.stdout.contains("model_not_found"),
            "{flavor}"
        );
        // The human output names it too.
        let text = env.run(&["history", "--run", run]);
        assert_eq!(text.code, 0, "{}", text.stderr);
    }
}

#[test]
fn the_cache_prevents_a_second_probe_within_the_ttl() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let (id, models) = enabled_channel(&env);
    upstream_adds(&env, &id, &models, &["cached-bad"]);
    env.mock
        .script_probe("cached-bad", fail("insufficient_quota", 429));
    let first = env.run(&["--json", "sync", "--probe", "--channels", &id]);
    assert_eq!(env.mock.probe_log().len(), 1, "{}", first.stdout);
    let second = env.run(&["--json", "sync", "--probe", "--channels", &id]);
    let doc = second.json();
    let its = items(&doc);
    let p = probe_of(&its[0], "cached-bad");
    assert_eq!(
        env.mock.probe_log().len(),
        1,
        "no second test within the TTL"
    );
    assert_eq!(p["outcome"]["failed"]["failure"], "quota", "{p}");
    assert!(p["cached_from_ms"].as_u64().is_some());
    assert_eq!(items(&doc)[0]["status"], "unchanged");
    // An explicit probe bypasses the cache (and refreshes it).
    env.mock.script_probe("cached-bad", ProbeScript::default());
    let out = env.run(&["--json", "probe", "--channel", &id, "--model", "cached-bad"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["probes"][0]["outcome"]["passed"].is_object());
    assert_eq!(env.mock.probe_log().len(), 2);
    let third = env.run(&["--json", "sync", "--probe", "--channels", &id]);
    let doc = third.json();
    assert!(strs(&items(&doc)[0]["added"]).contains(&"cached-bad".to_string()));
    assert_eq!(
        env.mock.probe_log().len(),
        2,
        "the fresh pass came from the cache"
    );
}

#[test]
fn the_budget_caps_probes_and_a_dry_run_states_the_estimate() {
    let sync = format!("{FAST}\n[sync.probe]\nmax_per_channel = 2\nmax_per_run = 5\n");
    let env = Env::with_sync(MockConfig::new(Flavor::NewApi).channels(3), &sync);
    let (id, models) = enabled_channel(&env);
    upstream_adds(&env, &id, &models, &["b-1", "b-2", "b-3"]);
    // A dry run sends nothing and says how many probes the run would send.
    let plan = env.run(&["sync", "--dry-run", "--probe", "--channels", &id]);
    assert!(
        plan.stdout.contains("this run would send 2 probes"),
        "{}",
        plan.stdout
    );
    assert!(env.mock.probe_log().is_empty());
    let out = env.run(&["--json", "sync", "--probe", "--channels", &id]);
    let doc = out.json();
    assert_eq!(env.mock.probe_log().len(), 2);
    let its = items(&doc);
    let third = probe_of(&its[0], "b-3");
    assert_eq!(
        third["outcome"]["cannot_probe"]["why"], "channel_budget",
        "{third}"
    );
    // "Could not probe" does not block by default.
    assert_eq!(third["held_back"], false);
    assert!(strs(&items(&doc)[0]["added"]).contains(&"b-3".to_string()));
}

#[test]
fn could_not_probe_holds_back_when_the_setting_says_so() {
    let sync = format!(
        "{FAST}\n[sync.probe]\nenabled = true\nmax_per_channel = 1\non_cannot_probe = \"hold_back\"\n"
    );
    let env = Env::with_sync(MockConfig::new(Flavor::NewApi).channels(3), &sync);
    let (id, models) = enabled_channel(&env);
    upstream_adds(&env, &id, &models, &["h-1", "h-2"]);
    let out = env.run(&["--json", "sync", "--channels", &id]);
    let doc = out.json();
    let added = strs(&items(&doc)[0]["added"]);
    assert_eq!(added, ["h-1"], "{}", out.stdout);
    assert_eq!(probe_of(&items(&doc)[0], "h-2")["held_back"], true);
}

#[test]
fn a_gateway_without_the_endpoint_gives_a_clear_cannot_probe() {
    let env = Env::new(MockConfig::new(Flavor::Octopus).channels(3));
    let (id, models) = enabled_channel(&env);
    upstream_adds(&env, &id, &models, &["octo-new"]);
    let out = env.run(&["--json", "sync", "--probe", "--channels", &id]);
    let doc = out.json();
    let its = items(&doc);
    let p = probe_of(&its[0], "octo-new");
    assert_eq!(p["outcome"]["cannot_probe"]["why"], "no_endpoint", "{p}");
    assert_eq!(p["held_back"], false);
    assert!(strs(&items(&doc)[0]["added"]).contains(&"octo-new".to_string()));
    // Nothing was sent for it.
    assert!(env.mock.probe_log().is_empty());
    assert!(env.mock.requests().iter().all(|r| !r.path.contains("test")));
    // The human outputs say so in words.
    let text = env.run(&["sync", "--probe", "--channels", &id]);
    assert!(
        text.stderr.contains("has no channel test"),
        "{}",
        text.stderr
    );
    let probe = env.run(&["probe", "--channel", &id, "--model", "octo-new"]);
    assert_eq!(probe.code, 1);
    assert!(
        probe
            .stdout
            .contains("could not probe: this gateway has no channel test"),
        "{}",
        probe.stdout
    );
}

#[test]
fn done_hub_disabling_the_channel_on_a_failed_test_is_reported() {
    let env = Env::new(MockConfig::new(Flavor::DoneHub).channels(3));
    let (id, models) = enabled_channel(&env);
    upstream_adds(&env, &id, &models, &["dh-a", "dh-b"]);
    env.mock.script_probe(
        "dh-a",
        fail("permission_error: this key may not use dh-a", 403),
    );
    let out = env.run(&["--json", "sync", "--probe", "--channels", &id]);
    let doc = out.json();
    let item = &items(&doc)[0];
    let a = probe_of(item, "dh-a");
    let answer = &a["outcome"]["failed"]["answer"];
    assert_eq!(a["held_back"], true, "{item}");
    assert_eq!(answer["channel_disabled"], true, "{a}");
    assert!(!strs(&item["added"]).contains(&"dh-a".to_string()));
    assert!(answer["message"].as_str().unwrap().contains("已被禁用"));
    // The gateway disabled the channel: the next model is not tested on it.
    let b = probe_of(item, "dh-b");
    assert_eq!(
        b["outcome"]["cannot_probe"]["why"], "channel_disabled",
        "{b}"
    );
    assert_eq!(env.mock.probe_log().len(), 1);
    assert_eq!(env.mock.channel(num(&id)).unwrap()["status"], 3);
}

#[test]
fn msync_probe_tests_one_model_and_re_verify_all_states_the_cost_first() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let (id, models) = enabled_channel(&env);
    env.mock.script_probe(
        &models[0],
        fail("model is not available in your region", 400),
    );
    let out = env.run(&["probe", "--channel", &id, "--model", &models[0]]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("the key may not use the model"),
        "{}",
        out.stdout
    );
    assert_eq!(env.mock.probe_log().len(), 1);
    // --all without --yes sends nothing and says what it would cost.
    let all = env.run(&["probe", "--channel", &id, "--all"]);
    assert_eq!(env.mock.probe_log().len(), 1, "{}", all.stdout);
    assert!(
        all.stdout
            .contains(&format!("would send {} channel test", models.len())),
        "{}",
        all.stdout
    );
    let sent = env.run(&["--json", "probe", "--channel", &id, "--all", "--yes"]);
    assert_eq!(
        env.mock.probe_log().len(),
        1 + models.len(),
        "{}",
        sent.stderr
    );
}

#[test]
fn channels_show_the_last_good_sync_and_failures_in_a_row() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let (id, _) = enabled_channel(&env);
    env.mock.set_fault(
        msync_mockgw::FaultRule::new(msync_mockgw::FaultKind::UpstreamStatus { status: 401 })
            .op(msync_mockgw::Op::FetchModels)
            .channel(num(&id)),
    );
    for _ in 0..2 {
        env.run(&["--json", "sync", "--channels", &id]);
    }
    let out = env.run(&["--json", "channels", "--sort", "failures"]);
    let doc = out.json();
    let first = &doc["sites"][0]["channels"][0];
    assert_eq!(first["id"].as_str().unwrap(), id, "{doc}");
    assert_eq!(first["failures_in_row"], 2);
    assert!(first["last_good_sync_ms"].is_null());
    env.mock.clear_faults();
    env.run(&["--json", "sync", "--channels", &id]);
    let doc = env.run(&["--json", "channels"]).json();
    let ch = doc["sites"][0]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(ch["failures_in_row"], 0);
    assert!(ch["last_good_sync_ms"].as_u64().is_some());
}

//! The price check after sync (issue 19) through the real binary against mockgw over
//! 127.0.0.1: a sync whose upstream brings models the site has no ratio or price for flags them,
//! holds them back (and `apply` adds them), or fills their prices from a ratio upstream in the
//! same run (snapshot, read-back, revert). New API and Veloera; DoneHub says it checks nothing.

mod support;

use msync_mockgw::{Flavor, MockConfig, MockGateway, MockHandle};
use serde_json::Value;
use support::*;

/// Priced on the mock site by default (`ModelRatio` / `ModelPrice`, mockgw `ratio.rs`).
const PRICED: [&str; 2] = ["claude-sonnet-4", "dall-e-3"];
/// Not priced on the site; `qwen-max` is priced on the fill upstream.
const UNPRICED: [&str; 2] = ["brand-new-x", "qwen-max"];

fn env_with(flavor: Flavor, price_check: &str) -> Env {
    let env = Env::with_sync(
        MockConfig::new(flavor).channels(1),
        &format!("{FAST}\n[sync.price_check]\n{price_check}\n"),
    );
    // The upstream lists what the channel has, plus two priced and two unpriced models.
    let current = current_models(&env.mock);
    let mut up: Vec<String> = current
        .iter()
        .filter(|m| !PRICED.contains(&m.as_str()) && !UNPRICED.contains(&m.as_str()))
        .cloned()
        .collect();
    up.extend(PRICED.iter().chain(UNPRICED.iter()).map(|s| s.to_string()));
    env.mock.set_upstream_models(1, up);
    env
}

fn current_models(mock: &MockHandle) -> Vec<String> {
    let ch = mock.channel(1).unwrap();
    ch["models"]
        .as_str()
        .unwrap()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn names(v: &Value) -> Vec<String> {
    sorted(strs(v))
}

#[test]
fn flag_adds_and_marks_unpriced_in_plan_results_history_and_json() {
    let env = env_with(Flavor::NewApi, "mode = \"flag\"");
    // The plan (dry run) shows them.
    let out = env.run(&["--json", "plan"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let item = &items(&doc)[0];
    assert_eq!(
        names(&item["price"]["unpriced"]),
        sorted(UNPRICED.map(String::from).to_vec())
    );
    assert_eq!(doc["run"]["pricing"]["mode"], "flag");
    assert_eq!(
        names(&doc["run"]["pricing"]["unpriced"]),
        names(&item["price"]["unpriced"])
    );
    let out = env.run(&["plan"]);
    assert!(
        out.stdout.contains("unpriced: brand-new-x, qwen-max"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("unpriced: 2 added model(s) have no price"),
        "{}",
        out.stdout
    );
    assert_eq!(env.mock.write_counts().values().sum::<u64>(), 0);

    // The sync adds all four and flags two.
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let item = &items(&doc)[0];
    assert_eq!(item["status"], "success");
    let now = current_models(&env.mock);
    for m in PRICED.iter().chain(UNPRICED.iter()) {
        assert!(now.contains(&m.to_string()), "{m} added: {now:?}");
    }
    assert_eq!(
        names(&item["price"]["unpriced"]),
        sorted(UNPRICED.map(String::from).to_vec())
    );
    let run = doc["run"]["id"].as_str().unwrap().to_string();

    // History keeps it (run list and the run's items).
    let out = env.run(&["--json", "history", "--run", &run]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let h = out.json();
    assert_eq!(
        names(&h["run"]["pricing"]["unpriced"]),
        sorted(UNPRICED.map(String::from).to_vec()),
        "{h}"
    );
    assert_eq!(
        names(&items(&h)[0]["price"]["unpriced"]),
        sorted(UNPRICED.map(String::from).to_vec())
    );
    // No option was written: flagging changes no price.
    assert!(env.mock.option_writes().is_empty());
}

#[test]
fn hold_back_writes_the_priced_models_and_apply_adds_the_rest() {
    let env = env_with(Flavor::NewApi, "mode = \"hold-back\"");
    let before = current_models(&env.mock);
    let out = env.run(&["--json", "sync"]);
    // Held for review: exit 1, like every needs_review.
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let item = &items(&doc)[0];
    assert_eq!(item["status"], "needs_review");
    assert_eq!(
        names(&item["price"]["held"]),
        sorted(UNPRICED.map(String::from).to_vec())
    );
    assert!(item["reason"]
        .as_str()
        .unwrap()
        .contains("held back: no price for 2 model(s)"));
    let now = current_models(&env.mock);
    for m in PRICED {
        assert!(now.contains(&m.to_string()), "{m} written: {now:?}");
    }
    for m in UNPRICED {
        assert!(!now.contains(&m.to_string()), "{m} held back: {now:?}");
    }
    assert_eq!(
        names(&doc["run"]["pricing"]["held"]),
        sorted(UNPRICED.map(String::from).to_vec())
    );
    let out = env.run(&["history", "--run", doc["run"]["id"].as_str().unwrap()]);
    assert!(out.stdout.contains("held back"), "{}", out.stdout);

    // Applying the run confirms the held models.
    let run = doc["run"]["id"].as_str().unwrap();
    let out = env.run(&["--json", "apply", run]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let now = current_models(&env.mock);
    for m in UNPRICED {
        assert!(now.contains(&m.to_string()), "{m} added by apply: {now:?}");
    }
    // Both runs revert to the start.
    let applied = out.json()["run"]["id"].as_str().unwrap().to_string();
    assert_eq!(env.run(&["revert", &applied]).code, 0);
    assert_eq!(env.run(&["revert", run]).code, 0);
    assert_eq!(sorted(current_models(&env.mock)), sorted(before));
}

#[test]
fn hold_back_with_only_unpriced_additions_writes_nothing() {
    let env = env_with(Flavor::Veloera, "mode = \"hold-back\"");
    // Veloera prices the same way (options ModelRatio / ModelPrice); only unpriced models new.
    let mut up = current_models(&env.mock);
    up.retain(|m| !UNPRICED.contains(&m.as_str()));
    up.push("brand-new-x".into());
    env.mock.set_upstream_models(1, up);
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let item = &items(&out.json())[0];
    assert_eq!(item["status"], "needs_review");
    assert_eq!(strs(&item["price"]["held"]), vec!["brand-new-x"]);
    assert_eq!(
        env.mock.write_counts().values().sum::<u64>(),
        0,
        "nothing written"
    );
}

#[test]
fn fill_takes_prices_from_the_upstream_in_the_same_run_and_reverts() {
    let up = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0).seed(2)).unwrap();
    up.set_option("ModelRatio", r#"{"qwen-max":0.8,"gpt-4o":1.25}"#);
    up.set_option("CompletionRatio", r#"{"qwen-max":3,"gpt-4o":4}"#);
    let env = env_with(
        Flavor::NewApi,
        &format!(
            "mode = \"fill\"\nfill_from = {{ name = \"friend\", base_url = \"{}\", endpoint = \"/api/pricing\" }}",
            up.base_url()
        ),
    );
    let ratio_before = env.mock.option("ModelRatio").unwrap();
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let p = &doc["run"]["pricing"];
    assert_eq!(strs(&p["fill"]["filled"]), vec!["qwen-max"], "{p}");
    assert_eq!(strs(&p["fill"]["missing"]), vec!["brand-new-x"], "{p}");
    assert_eq!(
        strs(&p["unpriced"]),
        vec!["brand-new-x"],
        "still unpriced: {p}"
    );
    assert_eq!(p["fill"]["verified"], true);
    let ratio = env.mock.option_map("ModelRatio");
    assert_eq!(ratio["qwen-max"], 0.8);
    assert!(!ratio.contains_key("brand-new-x"));
    assert_eq!(env.mock.option_map("CompletionRatio")["qwen-max"], 3);
    // Only the added models were taken: gpt-4o keeps the site's value.
    assert_eq!(ratio["gpt-4o"], 1.25);
    let out = env.run(&["sync"]);
    assert!(
        out.stdout.contains("unchanged") || out.code == 0,
        "{}",
        out.stdout
    );

    // The fill is a ratio apply: its snapshot reverts it.
    let snap = p["fill"]["snapshot"].as_str().unwrap();
    let out = env.run(&["ratios", "revert", snap]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(env.mock.option("ModelRatio").unwrap(), ratio_before);
}

#[test]
fn a_failing_fill_is_recorded_and_does_not_fail_the_run() {
    let env = env_with(
        Flavor::NewApi,
        "mode = \"fill\"\nfill_from = { name = \"gone\", base_url = \"http://127.0.0.1:9\", endpoint = \"/api/pricing\" }",
    );
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let p = &doc["run"]["pricing"];
    assert!(p["fill"]["error"]["message"].as_str().is_some(), "{p}");
    assert_eq!(
        names(&p["unpriced"]),
        sorted(UNPRICED.map(String::from).to_vec())
    );
    assert!(env.mock.option_writes().is_empty());
    let out = env.run(&["history", "--run", doc["run"]["id"].as_str().unwrap()]);
    assert!(
        out.stdout.contains("fill from gone failed"),
        "{}",
        out.stdout
    );
}

#[test]
fn site_types_without_a_price_api_say_so() {
    let env = Env::with_sync(
        MockConfig::new(Flavor::DoneHub).channels(1),
        &format!("{FAST}\n[sync.price_check]\nmode = \"hold-back\"\n"),
    );
    let out = env.run(&["--json", "plan"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(
        doc["run"]["pricing"]["no_price_api"], true,
        "{}",
        doc["run"]
    );
    assert!(out
        .stdout
        .contains("msync reads no prices from this site type"));
}

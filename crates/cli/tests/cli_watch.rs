//! `msync ratios watch` (issue 19) through the real binary against two mocks on 127.0.0.1: the
//! site (New API, whose `/api/ratio_sync/fetch` fetches the upstream for real) and an upstream
//! New API serving `/api/pricing`. Alerts go to the site mock's fake receiver.

mod support;

use msync_mockgw::{Flavor, MockConfig, MockGateway, MockHandle};
use serde_json::Value;
use support::*;

const RATIO: &str =
    r#"{"gpt-4o":1.25,"gpt-4o-mini":0.075,"deepseek-chat":0.07,"claude-sonnet-4":1.5}"#;
const COMPLETION: &str = r#"{"gpt-4o":4,"gpt-4o-mini":4,"deepseek-chat":2,"claude-sonnet-4":5}"#;

struct W {
    env: Env,
    up: MockHandle,
}

fn setup(extra: &str) -> W {
    let up = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0).seed(7)).unwrap();
    up.set_option("ModelRatio", RATIO);
    up.set_option("CompletionRatio", COMPLETION);
    up.set_option("ModelPrice", r#"{"dall-e-3":0.04}"#);
    let sync = format!(
        "{FAST}\n[sync.price_watch]\nenabled = true\nupstream = {{ name = \"friend\", base_url = \"{}\", endpoint = \"/api/pricing\" }}\n{extra}",
        up.base_url()
    );
    let env = Env::with_sync(MockConfig::new(Flavor::NewApi).channels(1), &sync);
    env.mock.set_option("ModelRatio", RATIO);
    env.mock.set_option("CompletionRatio", COMPLETION);
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text.push_str(&format!(
        "\n[notify]\nprice_threshold_pct = 20\n[[notify.sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}/__notify/webhook/w\"\n",
        env.mock.base_url()
    ));
    env.write_config(&text);
    W { env, up }
}

fn price_alerts(env: &Env) -> Vec<Value> {
    env.mock
        .notifications()
        .iter()
        .map(|r| r.json())
        .filter(|v| v["event"] == "price_change")
        .collect()
}

#[test]
fn an_increase_alerts_once_and_not_again_within_the_window() {
    let w = setup("");
    let a = RATIO;
    let b = RATIO.replace("\"gpt-4o\":1.25", "\"gpt-4o\":1.875");
    let run = |state: &str| {
        w.up.set_option("ModelRatio", state);
        let out = w.env.run(&["--json", "ratios", "watch"]);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        out.json()
    };
    let first = run(a);
    assert_eq!(first["run"]["baseline"], true);
    assert!(price_alerts(&w.env).is_empty());

    let second = run(&b);
    let changes = second["run"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{second}");
    assert_eq!(changes[0]["model"], "gpt-4o");
    assert_eq!(changes[0]["old"], 1.25);
    assert_eq!(changes[0]["new"], 1.875);
    let alerts = price_alerts(&w.env);
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0]["text"]
            .as_str()
            .unwrap()
            .contains("gpt-4o model_ratio: 1.25 -> 1.875 (+50 %)"),
        "{}",
        alerts[0]
    );

    // Back down (a change of its own), then up to the same value again: that increase was
    // already sent within the window, so it is recorded but not sent again.
    run(a);
    let fourth = run(&b);
    assert_eq!(
        fourth["run"]["alert"].as_array().unwrap().len(),
        1,
        "recorded"
    );
    assert_eq!(
        kind(&fourth["notifications"][0]["outcome"]),
        "suppressed",
        "{fourth}"
    );
    let ups: Vec<Value> = price_alerts(&w.env)
        .into_iter()
        .filter(|v| v["data"]["moves"][0]["new"] == 1.875)
        .collect();
    assert_eq!(ups.len(), 1, "the increase alerted once");

    // Everything is in the watch log, and the site was never written (no apply asked).
    let log = w.env.run(&["--json", "ratios", "watch", "--log"]).json();
    assert_eq!(log["runs"].as_array().unwrap().len(), 4);
    assert!(w.env.mock.option_writes().is_empty());
    let out = w.env.run(&["ratios", "watch"]);
    assert!(out.stdout.contains("no changes upstream"), "{}", out.stdout);
}

#[test]
fn unattended_apply_refuses_raises_over_the_guardrail_and_billing_switches() {
    let w = setup("[sync.price_watch.apply]\nenabled = true\nmax_raise_pct = 20\n");
    assert_eq!(w.env.run(&["ratios", "watch"]).code, 0, "baseline");
    // gpt-4o +50 % (over 20 %), deepseek-chat down, claude-sonnet-4 +10 % (within),
    // gpt-4o-mini now billed per call upstream (a switch).
    w.up.set_option(
        "ModelRatio",
        r#"{"gpt-4o":1.875,"deepseek-chat":0.05,"claude-sonnet-4":1.65}"#,
    );
    w.up.set_option("ModelPrice", r#"{"dall-e-3":0.04,"gpt-4o-mini":0.01}"#);
    let out = w.env.run(&["--json", "ratios", "watch"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let run = &doc["run"];
    let applied: Vec<(String, String)> = run["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["model"].as_str().unwrap().into(),
                c["field"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        applied,
        [
            ("claude-sonnet-4".to_string(), "model_ratio".to_string()),
            ("deepseek-chat".to_string(), "model_ratio".to_string())
        ],
        "{run}"
    );
    let refused: Vec<(String, String)> = run["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["model"].as_str().unwrap().into(), kind(&r["why"]).into()))
        .collect();
    assert!(
        refused.contains(&("gpt-4o".into(), "raise_over_limit".into())),
        "{refused:?}"
    );
    assert!(
        refused.contains(&("gpt-4o-mini".into(), "switches_billing".into())),
        "{refused:?}"
    );
    let site = w.env.mock.option_map("ModelRatio");
    assert_eq!(
        site["gpt-4o"], 1.25,
        "the raise over the guardrail was not written"
    );
    assert_eq!(site["deepseek-chat"], 0.05);
    assert_eq!(site["claude-sonnet-4"], 1.65);
    assert_eq!(site["gpt-4o-mini"], 0.075, "no switch to per-call billing");
    assert!(!w
        .env
        .mock
        .option_map("ModelPrice")
        .contains_key("gpt-4o-mini"));
    // The apply took a snapshot: revert restores the site.
    let snap = run["snapshot"].as_str().unwrap();
    assert_eq!(w.env.run(&["ratios", "revert", snap]).code, 0);
    assert_eq!(w.env.mock.option_map("ModelRatio")["deepseek-chat"], 0.07);
    let out = w.env.run(&["ratios", "watch", "--log"]);
    assert!(
        out.stdout.contains(
            "not applied gpt-4o model_ratio = 1.875: a raise of 50 % (more than the 20 % allowed)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn by_default_no_raise_is_applied_unattended() {
    let w = setup("");
    assert_eq!(w.env.run(&["ratios", "watch"]).code, 0);
    w.up.set_option(
        "ModelRatio",
        &RATIO.replace("\"claude-sonnet-4\":1.5", "\"claude-sonnet-4\":1.51"),
    );
    let doc = w.env.run(&["--json", "ratios", "watch", "--apply"]).json();
    assert_eq!(
        doc["run"]["refused"][0]["why"]["raise_over_limit"]["limit"], 0,
        "{doc}"
    );
    assert!(w.env.mock.option_writes().is_empty());
}

//! Issue 20 item 6: revert restores what the snapshot holds, or says clearly why it cannot —
//! a channel that had no models (New API ignores `"models":""`: `controller/channel.go`
//! `UpdateChannel` saves with GORM `Updates`, which skips empty fields), and a mapping's key
//! order (the server keeps `model_mapping` as the text it was given).

mod support;

use msync_mockgw::{Flavor, MockConfig};
use serde_json::json;
use support::*;

#[test]
fn revert_of_a_channel_that_had_no_models_is_held_for_review_not_failed() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    assert!(env.mock.patch_channel(1, json!({ "models": "" })));
    env.mock
        .set_upstream_models(1, vec!["gpt-4o".into(), "o3".into()]);
    let out = env.run(&["--json", "sync", "--channels", "1"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["run"]["totals"]["success"], 1, "{}", out.stdout);
    let run_id = doc["run"]["id"].as_str().unwrap().to_string();
    let writes = env.mock.writes(1);

    let out = env.run(&["--json", "revert", &run_id]);
    let doc = out.json();
    let its = items(&doc);
    assert_eq!(its.len(), 1, "{}", out.stdout);
    assert_eq!(its[0]["status"], "needs_review", "{}", out.stdout);
    let reason = its[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("no models") && reason.contains("New API"),
        "{reason}"
    );
    assert_eq!(out.code, 1, "held for review: {}", out.stderr);
    assert_eq!(env.mock.writes(1), writes, "nothing written");
    // Force cannot make the site store an empty list either.
    let out = env.run(&["--json", "revert", &run_id, "--force"]);
    assert_eq!(
        items(&out.json())[0]["status"],
        "needs_review",
        "{}",
        out.stdout
    );
    assert_eq!(env.mock.writes(1), writes, "nothing written");
}

#[test]
fn snapshot_then_revert_keeps_the_mappings_key_order() {
    let env = Env::with_sync(
        MockConfig::new(Flavor::NewApi).channels(3),
        &format!("{FAST}[sync.redirect]\npresets = []\nstandard_models = [\"gpt-4o-mini\"]\n"),
    );
    // Keys in an order no sorted map would produce.
    let text = r#"{"zeta":"o3","alpha":"o3","mid":"o3"}"#;
    assert!(env.mock.patch_channel(
        1,
        json!({ "models": "gpt-4o-mini-2024-07-18,o3,zeta,alpha,mid", "model_mapping": text })
    ));
    let out = env.run(&["--json", "redirect", "apply", "--channels", "1"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let run_id = doc["runs"][0]["run"]["id"]
        .as_str()
        .or_else(|| doc["run"]["id"].as_str())
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .to_string();
    assert_ne!(
        env.mock.channel(1).unwrap()["model_mapping"],
        text,
        "{}",
        out.stdout
    );
    let out = env.run(&["--json", "revert", &run_id]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(env.mock.channel(1).unwrap()["model_mapping"], text);
}

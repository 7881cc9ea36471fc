//! `msync redirect plan|apply` against the mock: preview writes nothing, apply merges the
//! mappings (recorded by the mock), and the redirect run reverts like any other.

mod support;

use msync_mockgw::{Flavor, MockConfig};
use serde_json::Value;
use support::*;

fn mapping_of(ch: &Value) -> serde_json::Map<String, Value> {
    let text = ch["model_mapping"].as_str().unwrap_or("");
    if text.trim().is_empty() {
        return Default::default();
    }
    serde_json::from_str(text).unwrap()
}

#[test]
fn redirect_plan_then_apply_then_revert() {
    let env = Env::with_sync(
        MockConfig::new(Flavor::NewApi).channels(10),
        &format!("{FAST}[sync.redirect]\npresets = []\nstandard_models = [\"claude-sonnet-4-5\", \"gpt-4o-mini\", \"gemini-2.5-pro\"]\n"),
    );
    let before = env.mock.channels();
    let out = env.run(&["--json", "redirect", "plan"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let preview = &doc["previews"][0];
    let changes = preview["totals"]["change"].as_u64().unwrap();
    assert!(changes > 0, "{}", out.stdout);
    assert!(env.mock.write_counts().values().all(|w| *w == 0));
    let preview_id = preview["id"].as_str().unwrap().to_string();
    let changed: Vec<(String, Vec<Value>)> = preview["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"]["status"] == "change" || c["status"] == "change")
        .map(|c| {
            (
                c["channel_id"].as_str().unwrap().to_string(),
                c["changes"].as_array().unwrap().clone(),
            )
        })
        .collect();
    assert_eq!(changed.len() as u64, changes, "{}", preview["channels"]);

    let out = env.run(&[
        "--json",
        "redirect",
        "apply",
        "--site",
        "it",
        "--preview",
        &preview_id,
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let run = out.json();
    assert_eq!(run["run"]["mode"], "redirect", "{}", out.stdout);
    assert_eq!(run["run"]["totals"]["success"].as_u64().unwrap(), changes);
    for (id, ch_changes) in &changed {
        let n = num(id);
        assert_eq!(env.mock.writes(n), 1, "channel {id}");
        let stored = env.mock.channel(n).unwrap();
        let mapping = mapping_of(&stored);
        let models: Vec<&str> = stored["models"].as_str().unwrap().split(',').collect();
        for c in ch_changes {
            let key = c["key"].as_str().unwrap();
            assert_eq!(mapping.get(key), c.get("new"), "channel {id} key {key}");
            // The standard name is listed so the gateway routes it.
            assert!(
                models.contains(&key),
                "channel {id}: {key} not in {models:?}"
            );
        }
    }
    // A second apply finds nothing to do.
    let out = env.run(&["--json", "redirect", "apply"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["runs"], serde_json::json!([]));

    let run_id = run["run"]["id"].as_str().unwrap();
    let out = env.run(&["--json", "revert", run_id]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for (id, _) in &changed {
        let n = num(id);
        let was = before.iter().find(|c| c["id"] == n).unwrap();
        let now = env.mock.channel(n).unwrap();
        assert_eq!(mapping_of(&now), mapping_of(was), "channel {id}");
        assert_eq!(now["models"], was["models"], "channel {id}");
    }
}

#[test]
fn redirect_on_octopus_is_refused_clearly() {
    let env = Env::new(MockConfig::new(Flavor::Octopus).channels(3));
    let out = env.run(&["redirect", "plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no per-channel model mapping"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_redirect_settings_are_located() {
    let env = Env::with_sync(
        MockConfig::new(Flavor::NewApi).channels(3),
        "[sync.redirect]\npresets = [\"no-such-vendor\"]\n",
    );
    let out = env.run(&["redirect", "plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("sync.redirect.presets[0]"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("unknown preset"), "{}", out.stderr);
    let env = Env::with_sync(
        MockConfig::new(Flavor::NewApi).channels(3),
        "[sync.redirect]\nstandard = [\"x\"]\n",
    );
    let out = env.run(&["redirect", "plan"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("sync.redirect.standard: unknown field"),
        "{}",
        out.stderr
    );
}

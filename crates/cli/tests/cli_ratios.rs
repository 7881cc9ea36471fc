//! `msync ratios …` through the real binary against mockgw (New API) over 127.0.0.1. The
//! managed site is one mock; its upstreams are other mocks (fetched for real by the site mock)
//! and canned sources. Covers sources, the diff JSON shape and filters, the human table, apply
//! writing exactly the chosen keys, dry runs, snapshots and revert, non-root tokens, non-New API
//! sites and an upstream timing out while another answers.

mod support;

use msync_mockgw::ratio::CannedSource;
use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, MockGateway, MockHandle, Role};
use serde_json::{json, Value};
use support::*;

const PRESET: &str = "官方倍率预设(-100)";

fn site_env() -> Env {
    Env::new(MockConfig::new(Flavor::NewApi).channels(3))
}

/// Another New API whose `/api/pricing` gives other ratios, one new model, and one unpriced
/// model (37.5: not confident).
fn upstream_one() -> MockHandle {
    let up = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0).seed(2)).unwrap();
    up.set_option(
        "ModelRatio",
        r#"{"gpt-4o":2.5,"gpt-4o-mini":0.075,"deepseek-chat":0.07,"new-model":3,"mystery":37.5}"#,
    );
    up.set_option(
        "CompletionRatio",
        r#"{"gpt-4o":4,"gpt-4o-mini":4,"deepseek-chat":2,"new-model":1}"#,
    );
    up
}

fn custom(name: &str, mock: &MockHandle) -> String {
    format!("{name}={}", mock.base_url())
}

fn rows(doc: &Value) -> Vec<Value> {
    doc["rows"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Value], model: &str, field: &str) -> Option<&'a Value> {
    rows.iter()
        .find(|r| r["model"] == model && r["field"] == field)
}

fn map(mock: &MockHandle, key: &str) -> Value {
    Value::Object(mock.option_map(key))
}

#[test]
fn sources_list_channels_and_both_presets() {
    let env = site_env();
    let out = env.run(&["--json", "ratios", "sources"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["site"], "it");
    assert_eq!(doc["default_endpoint"], "/api/pricing");
    let ids: Vec<i64> = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2, 3, -100, -101]);
    let kinds: Vec<&str> = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[3..], ["official_preset", "models_dev"]);

    let out = env.run(&["ratios", "sources", "--site", "it"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("官方倍率预设"), "{}", out.stdout);
    assert!(
        out.stdout.contains("https://models.dev/api.json"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&env.secret));
}

#[test]
fn diff_json_shape_and_filters() {
    let env = site_env();
    let up = upstream_one();
    let base = [
        "--json",
        "ratios",
        "diff",
        "--upstream",
        "-100",
        "--custom",
        &custom("up-one", &up),
    ];
    let out = env.run(&base);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["site"], "it");
    assert_eq!(doc["upstreams"], json!([PRESET, "up-one"]));
    assert_eq!(
        doc["tests"],
        json!([{"name": PRESET, "ok": true, "error": null}, {"name": "up-one", "ok": true, "error": null}])
    );
    let all = rows(&doc);
    assert_eq!(doc["total_rows"].as_u64().unwrap() as usize, all.len());
    let gpt = row(&all, "gpt-4o", "model_ratio").unwrap();
    assert_eq!(gpt["current"], json!(1.25));
    assert_eq!(gpt["cells"]["up-one"], json!({"value": 2.5}));
    assert_eq!(gpt["cells"][PRESET], json!("same"));
    let mystery = row(&all, "mystery", "model_ratio").unwrap();
    assert_eq!(mystery["current"], Value::Null);
    assert_eq!(mystery["confidence"]["up-one"], json!(false));
    let mode = row(&all, "gpt-5.4", "billing_mode").unwrap();
    assert_eq!(mode["cells"][PRESET], json!({"value": "tiered_expr"}));
    // What the site was asked: the preset's file and our custom upstream with the default.
    let body: Value = env
        .mock
        .requests()
        .iter()
        .rev()
        .find(|r| r.path == "/api/ratio_sync/fetch")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .unwrap();
    assert_eq!(body["upstreams"][0]["id"], json!(-100));
    assert_eq!(body["upstreams"][1]["id"], json!(0));
    assert_eq!(body["upstreams"][1]["endpoint"], json!("/api/pricing"));
    assert_eq!(body["timeout"], json!(10));

    // Filters: each keeps a strict, non-empty subset.
    let filtered = |extra: &[&str]| -> Vec<Value> {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = env.run(&args);
        assert_eq!(out.code, 0, "{extra:?}: {}", out.stderr);
        rows(&out.json())
    };
    let confident = filtered(&["--only-confident"]);
    assert!(row(&confident, "gpt-4o", "model_ratio").is_some());
    assert!(row(&confident, "mystery", "model_ratio").is_none());
    assert!(confident.len() < all.len());
    let search = filtered(&["--model", "GPT-5"]);
    assert!(!search.is_empty() && search.iter().all(|r| r["model"] == "gpt-5.4"));
    let fields = filtered(&[
        "--field",
        "model_ratio,completion_ratio",
        "--only-differing",
    ]);
    assert!(!fields.is_empty() && fields.len() < all.len());
    assert!(fields
        .iter()
        .all(|r| r["field"] == "model_ratio" || r["field"] == "completion_ratio"));
    assert!(row(&fields, "new-model", "completion_ratio").is_some());
    assert!(env.mock.option_writes().is_empty(), "a diff writes nothing");
}

#[test]
fn diff_table_for_people_lists_failed_upstreams() {
    let env = site_env();
    let up = upstream_one();
    env.mock.set_ratio_source(
        "http://closed.invalid/api/pricing",
        CannedSource::Text {
            status: 403,
            body: "forbidden".into(),
        },
    );
    let out = env.run(&[
        "ratios",
        "diff",
        "--custom",
        &custom("up-one", &up),
        "--custom",
        "closed=http://closed.invalid",
        "--field",
        "model_ratio",
    ]);
    assert_eq!(out.code, 1, "a failed upstream: {}", out.stderr);
    let header = out.stdout.lines().next().unwrap();
    for col in ["model", "type", "current", "up-one"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        !header.contains("closed"),
        "no column for a failed upstream"
    );
    let line = |model: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{model} ")))
            .unwrap_or_else(|| panic!("no {model} line:\n{}", out.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(line("gpt-4o"), ["gpt-4o", "model_ratio", "1.25", "2.5"]);
    assert_eq!(line("new-model"), ["new-model", "model_ratio", "-", "3"]);
    assert_eq!(
        line("mystery"),
        ["mystery", "model_ratio", "-", "37.5", "?"]
    );
    assert!(out.stdout.contains("ok      up-one"), "{}", out.stdout);
    assert!(out.stdout.contains("FAILED  closed: 403"), "{}", out.stdout);
}

#[test]
fn apply_writes_exactly_the_chosen_keys_then_revert_restores() {
    let env = site_env();
    let up = upstream_one();
    let before = env.mock.options();
    let up_arg = custom("up-one", &up);
    let out = env.run(&[
        "--json",
        "ratios",
        "apply",
        "--from",
        "up-one",
        "--custom",
        &up_arg,
        "--confident-only",
        "--models",
        "gpt-4o,new-model,mystery",
        "--fields",
        "model_ratio",
        "--yes",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["from"], "up-one");
    assert_eq!(doc["preview"]["keys"], json!(["ModelRatio"]));
    let outcome = &doc["outcome"];
    assert_eq!(outcome["written"], json!(["ModelRatio"]));
    assert_eq!(outcome["verified"], json!(true));
    assert_eq!(outcome["error"], Value::Null);
    // mystery's 37.5 is not confident: skipped and said so.
    assert_eq!(
        doc["skipped"],
        json!(["mystery: up-one offers no new value"])
    );
    let writes = env.mock.option_writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].0, "ModelRatio");
    assert_eq!(
        map(&env.mock, "ModelRatio"),
        json!({"gpt-4o":2.5,"gpt-4o-mini":0.075,"deepseek-chat":0.07,"claude-sonnet-4":1.5,"new-model":3})
    );
    let now = env.mock.options();
    for (k, v) in &before {
        if k != "ModelRatio" {
            assert_eq!(now.get(k), Some(v), "{k} untouched");
        }
    }
    let snap = outcome["snapshot"].as_str().unwrap().to_string();

    let out = env.run(&["--json", "ratios", "snapshots"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list = out.json()["snapshots"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], json!(snap));
    assert_eq!(list[0]["site"], "it");
    assert_eq!(list[0]["keys"], json!(["ModelRatio"]));
    assert_eq!(list[0]["models"], json!(2));
    assert_eq!(list[0]["reverted_at"], Value::Null);

    let out = env.run(&["--json", "ratios", "revert", &snap]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.json()["outcome"]["written"], json!(["ModelRatio"]));
    assert_eq!(out.json()["outcome"]["verified"], json!(true));
    assert_eq!(env.mock.options(), before, "every option as it was");
    let out = env.run(&["ratios", "snapshots"]);
    assert!(out.stdout.contains(&snap), "{}", out.stdout);
    assert!(
        !out.stdout.lines().nth(1).unwrap().contains(" - "),
        "reverted time shown: {}",
        out.stdout
    );
}

#[test]
fn dry_run_previews_and_writes_nothing() {
    let env = site_env();
    let up = upstream_one();
    let up_arg = custom("up-one", &up);
    let args = [
        "ratios",
        "apply",
        "--from",
        "up-one",
        "--custom",
        &up_arg,
        "--dry-run",
    ];
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(&args);
    let out = env.run(&json_args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["dry_run"], json!(true));
    assert_eq!(doc["outcome"], Value::Null);
    assert_eq!(
        doc["preview"]["keys"],
        json!(["ModelRatio", "CompletionRatio"])
    );
    // A plain column pick takes the unconfident value too.
    assert!(doc["choices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["model"] == "mystery"));

    let out = env.run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gpt = out
        .stdout
        .lines()
        .skip_while(|l| l.trim() != "gpt-4o")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        gpt.contains("model_ratio") && gpt.contains("1.25 → 2.5") && gpt.contains("(up-one)"),
        "{gpt}"
    );
    assert!(
        out.stderr.contains("dry run: nothing written"),
        "{}",
        out.stderr
    );
    assert!(env.mock.option_writes().is_empty());
    let out = env.run(&["--json", "ratios", "snapshots"]);
    assert_eq!(out.json()["snapshots"], json!([]));
}

#[test]
fn revert_refuses_a_later_edit_unless_forced() {
    let env = site_env();
    let up = upstream_one();
    let up_arg = custom("up-one", &up);
    let out = env.run(&[
        "--json",
        "ratios",
        "apply",
        "--from",
        "up-one",
        "--custom",
        &up_arg,
        "--models",
        "gpt-4o",
        "--fields",
        "model_ratio",
        "--yes",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let snap = out.json()["outcome"]["snapshot"]
        .as_str()
        .unwrap()
        .to_string();
    env.mock.set_option("ModelRatio", r#"{"gpt-4o":9}"#);
    let writes = env.mock.option_writes().len();
    let out = env.run(&["ratios", "revert", &snap, "--site", "it"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("ModelRatio"), "{}", out.stderr);
    assert_eq!(env.mock.option_writes().len(), writes, "nothing written");
    let out = env.run(&["ratios", "revert", &snap, "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("verified"), "{}", out.stdout);
    assert_eq!(map(&env.mock, "ModelRatio")["gpt-4o"], json!(1.25));
    let out = env.run(&["ratios", "revert", "0000000000000-000"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no ratio snapshot"), "{}", out.stderr);
}

#[test]
fn non_root_tokens_are_refused_with_a_permission_error() {
    let env = Env::new(
        MockConfig::new(Flavor::NewApi)
            .channels(2)
            .role(Role::Admin),
    );
    let up = upstream_one();
    let up_arg = custom("up-one", &up);
    for args in [
        vec!["ratios", "sources"],
        vec!["ratios", "diff", "--custom", &up_arg],
        vec![
            "ratios", "apply", "--from", "up-one", "--custom", &up_arg, "--yes",
        ],
    ] {
        let out = env.run(&args);
        assert_eq!(out.code, 3, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("permission"), "{}", out.stderr);
        assert!(out.stderr.contains("root"), "{}", out.stderr);
        assert!(!out.stderr.contains(&env.secret));
    }
    let out = env.run(&["--json", "ratios", "sources"]);
    assert_eq!(out.json()["error"]["code"], json!(3));
    assert!(env.mock.option_writes().is_empty());
    assert!(up.requests().is_empty(), "the upstream was never asked");
}

#[test]
fn an_upstream_timing_out_is_reported_while_the_other_answers() {
    let env = site_env();
    let up = upstream_one();
    let slow = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0)).unwrap();
    slow.set_fault(FaultRule::new(FaultKind::Hang).path("/api/pricing"));
    let started = std::time::Instant::now();
    let out = env.run(&[
        "--json",
        "ratios",
        "diff",
        "--custom",
        &custom("up-one", &up),
        "--custom",
        &custom("slow", &slow),
        "--timeout",
        "1",
    ]);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    let tests = doc["tests"].as_array().unwrap();
    let of = |n: &str| tests.iter().find(|t| t["name"] == n).unwrap();
    assert_eq!(of("up-one")["ok"], json!(true));
    assert_eq!(of("slow")["ok"], json!(false));
    assert!(
        of("slow")["error"]
            .as_str()
            .unwrap()
            .contains("deadline exceeded"),
        "{}",
        of("slow")
    );
    let all = rows(&doc);
    assert_eq!(
        row(&all, "gpt-4o", "model_ratio").unwrap()["cells"]["up-one"]["value"],
        json!(2.5)
    );
    assert!(all.iter().all(|r| r["cells"].get("slow").is_none()));

    // Taking from the failed upstream stops before any write.
    let out = env.run(&[
        "ratios",
        "apply",
        "--from",
        "slow",
        "--custom",
        &custom("slow", &slow),
        "--timeout",
        "1",
        "--yes",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("nothing written"), "{}", out.stderr);
    assert!(env.mock.option_writes().is_empty());
}

#[test]
fn other_gateways_and_bad_arguments_are_usage_errors() {
    let velo = Env::new(MockConfig::new(Flavor::Veloera).channels(1));
    let out = velo.run(&["ratios", "sources"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("ratio sync works on New API sites, and"),
        "{}",
        out.stderr
    );
    let out = velo.run(&["ratios", "diff", "--site", "it", "--upstream", "-100"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("only available on New API sites; this is a Veloera site"),
        "{}",
        out.stderr
    );

    let env = site_env();
    for (args, needle) in [
        (vec!["ratios", "diff"], "name the upstreams"),
        (
            vec!["ratios", "diff", "--upstream", "nope"],
            "no ratio source \"nope\"",
        ),
        (vec!["ratios", "diff", "--custom", "x=ftp://h"], "http"),
        (
            vec![
                "ratios",
                "diff",
                "--upstream",
                "-100",
                "--field",
                "ModelRatio",
            ],
            "unknown ratio type",
        ),
        (
            vec!["ratios", "apply", "--from", "ghost", "--yes"],
            "no ratio source",
        ),
    ] {
        let out = env.run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
    assert!(env.mock.option_writes().is_empty());
}

/// Issue 23 item 9: New API enforces a built-in completion ratio for some models and ignores
/// the `CompletionRatio` option for them (`setting/ratio_setting/model_ratio.go`
/// `getHardcodedCompletionModelRatio`, reported as `locked` in `CompletionRatioMeta` by
/// `controller/option.go` `GetOptions`). The official preset offers gpt-5.4 a completion ratio
/// of 8 while the server enforces 6: msync shows it as locked and does not write it.
#[test]
fn locked_completion_ratios_are_shown_and_never_written() {
    let env = site_env();
    // The site prices gpt-5.4 (so the server's CompletionRatioMeta names it: the meta covers
    // the models in the site's ratio maps only).
    env.mock.set_option(
        "ModelRatio",
        r#"{"gpt-4o":1.25,"gpt-4o-mini":0.075,"deepseek-chat":0.07,"claude-sonnet-4":1.5,"gpt-5.4":1.25}"#,
    );
    let out = env.run(&["--json", "ratios", "diff", "--upstream", "official"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let rs = rows(&doc);
    let r = row(&rs, "gpt-5.4", "completion_ratio").expect("row");
    assert_eq!(r["locked"], json!(6.0), "{r}");
    // Only completion ratios are ever locked.
    assert!(rs
        .iter()
        .all(|r| r["field"] == "completion_ratio" || r.get("locked").is_none()));

    let out = env.run(&[
        "--json",
        "ratios",
        "apply",
        "--from",
        PRESET,
        "--fields",
        "completion_ratio",
        "--yes",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["preview"]["keys"], json!([]), "{}", out.stdout);
    assert_eq!(
        doc["locked"],
        json!([{"model": "gpt-5.4", "enforced": 6.0}]),
        "{}",
        out.stdout
    );
    assert!(env.mock.option_writes().is_empty());
    // The human output says so.
    let out = env.run(&[
        "ratios",
        "apply",
        "--from",
        PRESET,
        "--fields",
        "completion_ratio",
        "--yes",
    ]);
    assert!(
        out.stderr.contains("gpt-5.4") && out.stderr.contains("locked"),
        "{}",
        out.stderr
    );
}

/// Issue 23 item 9 (endpoint): a custom upstream given with `/api/ratio_config` on an upstream
/// that does not expose it (403, new-api `controller/ratio_config.go`) is read from the public
/// `/api/pricing` instead, and the table says so in English; `--json` carries the typed note.
#[test]
fn a_refused_ratio_config_is_read_from_pricing_and_said() {
    let env = site_env();
    let up = upstream_one();
    let arg = format!("up-one={},/api/ratio_config", up.base_url());
    let out = env.run(&["ratios", "diff", "--custom", &arg]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("ok      up-one"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("/api/ratio_config is not exposed on this upstream")
            && out.stdout.contains("/api/pricing instead"),
        "{}",
        out.stdout
    );
    let out = env.run(&["--json", "ratios", "diff", "--custom", &arg]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(
        doc["tests"][0]["note"], "pricing_instead_of_ratio_config",
        "{doc}"
    );
    assert!(row(&rows(&doc), "gpt-4o", "model_ratio").is_some());
}

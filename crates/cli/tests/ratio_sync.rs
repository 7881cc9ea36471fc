//! New API ratio sync against mockgw over 127.0.0.1: the managed site is one mock, its
//! upstreams are other mocks (fetched for real by the site mock) and canned sources (the official
//! preset). Covers fetch, filters, selection, apply with read-back, snapshots and revert,
//! non-root, an upstream timing out while others answer, malformed data, exposure off, and
//! "nothing written when a read fails".

mod support;

use msync_cli::clock::SystemClock;
use msync_cli::transport::ReqwestTransport;
use msync_core::gateway::Ctx;
use msync_core::model::{Credentials, Secret, Site, SiteId, SiteKind};
use msync_core::ratio::{
    Cell, DiffFilter, FetchRequest, RatioDiff, RatioField, RatioSelection, RatioSync,
    RatioUpstream, RatioValue, OFFICIAL_PRESET_ID,
};
use msync_core::store::{KvStore, MemoryStore};
use msync_core::ErrorClass;
use msync_mockgw::ratio::CannedSource;
use msync_mockgw::{Era, FaultKind, FaultRule, Flavor, MockConfig, MockGateway, MockHandle, Role};
use serde_json::{json, Value};
use std::rc::Rc;
use support::block_on;

fn site(mock: &MockHandle, kind: SiteKind) -> Site {
    Site {
        id: SiteId("main".into()),
        name: "main".into(),
        kind,
        base_url: format!("{}/", mock.base_url()),
        credentials: Credentials::TokenAndUserId {
            token: Secret(mock.token()),
            user_id: Some(mock.config().user_id),
        },
        allow_insecure: false,
    }
}

fn sync_with(mock: &MockHandle, store: Rc<MemoryStore>) -> RatioSync {
    let ctx = Ctx::new(
        site(mock, SiteKind::NewApi),
        Rc::new(ReqwestTransport::new().unwrap()),
        Rc::new(SystemClock),
    );
    RatioSync::new(ctx, store).unwrap()
}

/// The managed site: New API (current), root.
fn main_site() -> MockHandle {
    MockGateway::start(MockConfig::new(Flavor::NewApi).channels(3)).unwrap()
}

/// Another New API whose `/api/pricing` gives other ratios, one new model, and one unpriced
/// model (37.5 / 1: not confident).
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

fn custom(name: &str, mock: &MockHandle, endpoint: Option<&str>) -> RatioUpstream {
    RatioUpstream::custom(name, &mock.base_url(), endpoint, "/api/pricing").unwrap()
}

fn map(mock: &MockHandle, key: &str) -> Value {
    Value::Object(mock.option_map(key))
}

fn num(v: f64) -> RatioValue {
    RatioValue::Number(v)
}

fn test_of<'a>(diff: &'a RatioDiff, name: &str) -> &'a msync_core::ratio::UpstreamTest {
    diff.tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no test result for {name}: {:?}", diff.tests))
}

#[test]
fn sources_list_channels_and_presets_with_default_endpoints() {
    let site = main_site();
    site.patch_channel(2, json!({"type": 20}));
    block_on(async {
        let sync = sync_with(&site, Rc::new(MemoryStore::new()));
        let s = sync.sources().await.unwrap();
        assert_eq!(s.default_endpoint, "/api/pricing", "v0.10 build");
        let ids: Vec<i64> = s.sources.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![1, 2, 3, -100, -101]);
        let preset = s
            .sources
            .iter()
            .find(|s| s.id == OFFICIAL_PRESET_ID)
            .unwrap();
        assert_eq!(preset.upstream().display_name(), "官方倍率预设(-100)");
        assert_eq!(
            preset.default_endpoint,
            "/llm-metadata/api/newapi/ratio_config-v1-base.json"
        );
        let ep = |id: i64| {
            s.sources
                .iter()
                .find(|s| s.id == id)
                .unwrap()
                .default_endpoint
                .clone()
        };
        assert_eq!(ep(-101), "https://models.dev/api.json");
        assert_eq!(ep(2), "openrouter", "type 20");
        assert_eq!(ep(1), "/api/pricing");
    });
    // An era-A build (v0.9.x) defaults to /api/ratio_config.
    let old = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(1).era(Era::A)).unwrap();
    block_on(async {
        let sync = sync_with(&old, Rc::new(MemoryStore::new()));
        let s = sync.sources().await.unwrap();
        assert_eq!(s.default_endpoint, "/api/ratio_config");
        assert_eq!(s.sources[0].default_endpoint, "/api/ratio_config");
    });
}

#[test]
fn fetch_filter_select_apply_read_back_and_revert() {
    let site = main_site();
    let up = upstream_one();
    let before_model_ratio = site.option("ModelRatio").unwrap();
    let before_cache = site.option("CacheRatio").unwrap();
    let before_group = site.option("GroupRatio").unwrap();
    let store = Rc::new(MemoryStore::new());
    block_on(async {
        let sync = sync_with(&site, store.clone());
        let sources = sync.sources().await.unwrap();
        let preset = sources
            .sources
            .iter()
            .find(|s| s.id == OFFICIAL_PRESET_ID)
            .unwrap()
            .upstream();
        let req = FetchRequest::new(vec![custom("up-one", &up, None), preset]);
        let diff = sync.fetch(&req).await.unwrap();
        let p = "官方倍率预设(-100)";
        assert!(diff.tests.iter().all(|t| t.ok), "{:?}", diff.tests);
        assert_eq!(diff.upstreams, vec!["up-one", p]);

        // What the site mock sent on: our upstream list, the default timeout.
        let body: Value = site
            .requests()
            .iter()
            .rev()
            .find(|r| r.path == "/api/ratio_sync/fetch")
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .unwrap();
        assert_eq!(body["timeout"], json!(10));
        assert_eq!(body["upstreams"][0]["endpoint"], json!("/api/pricing"));
        assert_eq!(body["upstreams"][0]["id"], json!(0));

        let row = diff.row("gpt-4o", RatioField::ModelRatio).unwrap();
        assert_eq!(row.current, Some(num(1.25)));
        assert_eq!(row.value_from("up-one"), Some(&num(2.5)));
        assert_eq!(row.cells[p], Cell::Same);
        let row = diff.row("new-model", RatioField::ModelRatio).unwrap();
        assert_eq!(row.current, None);
        assert_eq!(row.value_from("up-one"), Some(&num(3.0)));
        let row = diff.row("mystery", RatioField::ModelRatio).unwrap();
        assert!(
            !row.confident("up-one"),
            "37.5 / 1 is New API's unset default"
        );
        // claude-sonnet-4 is only local: the upstream's null is no difference, so no row.
        assert!(diff
            .row("claude-sonnet-4", RatioField::ModelRatio)
            .is_none());
        let row = diff.row("gpt-5.4", RatioField::BillingMode).unwrap();
        assert_eq!(
            row.value_from(p),
            Some(&RatioValue::Text("tiered_expr".into()))
        );

        // Filters.
        let only = |f: DiffFilter| {
            diff.filtered(&f)
                .rows
                .iter()
                .map(|r| (r.model.clone(), r.field))
                .collect::<Vec<_>>()
        };
        let confident_up = only(DiffFilter {
            only_confident: true,
            upstream: Some("up-one".into()),
            ..Default::default()
        });
        assert!(confident_up.contains(&("gpt-4o".into(), RatioField::ModelRatio)));
        assert!(!confident_up.iter().any(|(m, _)| m == "mystery"));
        let search = only(DiffFilter {
            search: "GPT-5".into(),
            ..Default::default()
        });
        assert!(!search.is_empty() && search.iter().all(|(m, _)| m == "gpt-5.4"));

        // Selection: all confident from up-one, plus three cells from the preset.
        let sel = RatioSelection::new()
            .all_confident("up-one", DiffFilter::default())
            .cell("gpt-5.4", RatioField::BillingMode, p)
            .cell("gpt-5.4", RatioField::BillingExpr, p)
            .cell("deepseek-chat", RatioField::CacheRatio, p);
        let resolved = sel.resolve(&diff);
        assert!(resolved.skipped.is_empty(), "{:?}", resolved.skipped);
        assert!(!resolved.choices.iter().any(|c| c.model == "mystery"));

        let preview = sync.preview(&resolved.choices).await.unwrap();
        assert_eq!(
            preview.keys,
            vec![
                "ModelRatio",
                "CompletionRatio",
                "CacheRatio",
                "billing_setting.billing_mode",
                "billing_setting.billing_expr"
            ]
        );
        let gpt = preview.models.iter().find(|m| m.model == "gpt-4o").unwrap();
        assert_eq!(gpt.changes.len(), 1);
        assert_eq!(gpt.changes[0].old, Some(json!(1.25)));
        assert_eq!(gpt.changes[0].new, Some(json!(2.5)));
        assert!(site.option_writes().is_empty(), "a preview writes nothing");

        let outcome = sync
            .apply(&resolved.choices, Some(&preview.base))
            .await
            .unwrap();
        assert!(outcome.ok(), "{outcome:?}");
        assert!(outcome.verified);
        assert_eq!(outcome.written, preview.keys);
        let snap_id = outcome.snapshot.clone().unwrap();

        // What the site stored: whole maps, merged, others untouched.
        assert_eq!(
            map(&site, "ModelRatio"),
            json!({"gpt-4o":2.5,"gpt-4o-mini":0.075,"deepseek-chat":0.07,"claude-sonnet-4":1.5,"new-model":3})
        );
        assert_eq!(map(&site, "CompletionRatio")["new-model"], json!(1));
        assert_eq!(
            map(&site, "CacheRatio"),
            json!({"gpt-4o":0.5,"deepseek-chat":0.019999999999999997})
        );
        assert_eq!(
            map(&site, "billing_setting.billing_mode"),
            json!({"gpt-5.4":"tiered_expr"})
        );
        assert_eq!(site.option("GroupRatio").unwrap(), before_group);
        let writes = site.option_writes();
        assert_eq!(writes.len(), 5, "one PUT per changed key");
        for (_, value) in &writes {
            assert!(
                serde_json::from_str::<Value>(value).unwrap().is_object(),
                "each value is a whole-map JSON string"
            );
        }

        // A stale preview is refused, with nothing written.
        let e = sync
            .apply(&resolved.choices, Some(&preview.base))
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Validation);
        assert_eq!(site.option_writes().len(), 5);

        // The snapshot is in the store and listed; revert restores the exact strings.
        let keys = store.keys("ratio/snap/main/").await.unwrap();
        assert_eq!(keys.len(), 1);
        let heads = sync.snapshots().await.unwrap();
        assert_eq!(heads[0].id, snap_id);
        assert_eq!(heads[0].keys.len(), 5);
        let r = sync.revert(&snap_id, false).await.unwrap();
        assert!(r.ok() && r.verified, "{r:?}");
        assert_eq!(site.option("ModelRatio").unwrap(), before_model_ratio);
        assert_eq!(site.option("CacheRatio").unwrap(), before_cache);
        assert_eq!(
            map(&site, "billing_setting.billing_mode"),
            json!({}),
            "restored to the empty map"
        );
        assert!(sync.snapshots().await.unwrap()[0].reverted_ms.is_some());
    });
}

#[test]
fn revert_refuses_to_clobber_a_later_edit_unless_forced() {
    let site = main_site();
    let up = upstream_one();
    block_on(async {
        let sync = sync_with(&site, Rc::new(MemoryStore::new()));
        let diff = sync
            .fetch(&FetchRequest::new(vec![custom("up-one", &up, None)]))
            .await
            .unwrap();
        let choices = RatioSelection::new()
            .cell("gpt-4o", RatioField::ModelRatio, "up-one")
            .resolve(&diff)
            .choices;
        let out = sync.apply(&choices, None).await.unwrap();
        assert_eq!(out.written, vec!["ModelRatio"]);
        let id = out.snapshot.unwrap();
        // Someone edits ModelRatio in the dashboard afterwards.
        site.set_option("ModelRatio", r#"{"gpt-4o":9}"#);
        let writes = site.option_writes().len();
        let e = sync.revert(&id, false).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Validation);
        assert!(e.message.contains("ModelRatio"), "{}", e.message);
        assert_eq!(site.option_writes().len(), writes, "nothing written");
        let r = sync.revert(&id, true).await.unwrap();
        assert!(r.ok());
        assert_eq!(map(&site, "ModelRatio")["gpt-4o"], json!(1.25));
    });
}

#[test]
fn non_root_gets_a_clear_permission_error_and_nothing_is_written() {
    for era in [Era::A, Era::B] {
        let site = MockGateway::start(
            MockConfig::new(Flavor::NewApi)
                .channels(2)
                .era(era)
                .role(Role::Admin),
        )
        .unwrap();
        let up = upstream_one();
        block_on(async {
            let sync = sync_with(&site, Rc::new(MemoryStore::new()));
            let e = sync.sources().await.unwrap_err();
            assert_eq!(e.class, ErrorClass::Permission, "{era:?}: {e:?}");
            assert!(e.message.contains("root"), "{}", e.message);
            let e = sync
                .fetch(&FetchRequest::new(vec![custom("up-one", &up, None)]))
                .await
                .unwrap_err();
            assert_eq!(e.class, ErrorClass::Permission);
            let choice = msync_core::ratio::RatioChoice {
                model: "gpt-4o".into(),
                field: RatioField::ModelRatio,
                value: num(3.0),
                upstream: None,
            };
            let e = sync.apply(&[choice], None).await.unwrap_err();
            assert_eq!(e.class, ErrorClass::Permission);
            assert!(site.option_writes().is_empty());
        });
        // The upstream was never asked: the site refused before fetching.
        assert!(up.requests().is_empty());
    }
}

#[test]
fn an_upstream_timing_out_while_others_answer() {
    let site = main_site();
    let up = upstream_one();
    let slow = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0)).unwrap();
    slow.set_fault(FaultRule::new(FaultKind::Hang).path("/api/pricing"));
    block_on(async {
        let sync = sync_with(&site, Rc::new(MemoryStore::new()));
        let req = FetchRequest {
            upstreams: vec![custom("up-one", &up, None), custom("slow", &slow, None)],
            timeout_s: 1,
        };
        let started = std::time::Instant::now();
        let diff = sync.fetch(&req).await.unwrap();
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(10), "{took:?}");
        assert!(test_of(&diff, "up-one").ok);
        let t = test_of(&diff, "slow");
        assert!(!t.ok);
        assert!(
            t.error.as_deref().unwrap().contains("deadline exceeded"),
            "{t:?}"
        );
        // The answering upstream's values are all there; the slow one has no column.
        assert_eq!(
            diff.row("gpt-4o", RatioField::ModelRatio)
                .unwrap()
                .value_from("up-one"),
            Some(&num(2.5))
        );
        assert_eq!(diff.upstreams, vec!["up-one", "slow"]);
        assert!(diff.rows.iter().all(|r| !r.cells.contains_key("slow")));
    });
    // The site's mock really tried the slow upstream three times (transport retries).
    let tries = slow
        .requests()
        .iter()
        .filter(|r| r.path == "/api/pricing")
        .count();
    assert_eq!(tries, 3);
}

#[test]
fn malformed_data_and_exposure_off_are_per_upstream_errors() {
    let site = main_site();
    let up = upstream_one();
    // Exposure off (the default): /api/ratio_config answers 403.
    let closed = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0)).unwrap();
    // Exposure on: the same endpoint works.
    let open = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0)).unwrap();
    open.set_option("ExposeRatioEnabled", "true");
    open.set_option("ModelRatio", r#"{"gpt-4o":1.25,"qwen-max":0.8}"#);
    let broken = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(0)).unwrap();
    broken.set_fault(FaultRule::new(FaultKind::MalformedJson).path("/api/pricing"));
    // A canned source whose data has the wrong type.
    site.set_ratio_source(
        "http://canned.invalid/ratios.json",
        CannedSource::Json {
            body: json!({"success": true, "data": {"model_ratio": [1, 2]}}),
        },
    );
    block_on(async {
        let sync = sync_with(&site, Rc::new(MemoryStore::new()));
        let req = FetchRequest::new(vec![
            custom("up-one", &up, None),
            custom("closed", &closed, Some("/api/ratio_config")),
            custom("open", &open, Some("/api/ratio_config")),
            custom("broken", &broken, None),
            RatioUpstream::custom(
                "canned",
                "http://canned.invalid",
                Some("http://canned.invalid/ratios.json"),
                "/api/pricing",
            )
            .unwrap(),
        ]);
        let diff = sync.fetch(&req).await.unwrap();
        assert!(test_of(&diff, "up-one").ok);
        assert!(test_of(&diff, "open").ok);
        assert_eq!(
            test_of(&diff, "closed").error.as_deref(),
            Some("403 Forbidden")
        );
        let b = test_of(&diff, "broken");
        assert!(
            !b.ok && b.error.as_deref().unwrap().contains("JSON"),
            "{b:?}"
        );
        assert!(!test_of(&diff, "canned").ok);
        let qwen = diff.row("qwen-max", RatioField::ModelRatio).unwrap();
        assert_eq!(qwen.value_from("open"), Some(&num(0.8)));
        assert_eq!(
            diff.row("gpt-4o", RatioField::ModelRatio)
                .unwrap()
                .value_from("up-one"),
            Some(&num(2.5))
        );
    });
}

#[test]
fn nothing_is_written_when_a_read_fails() {
    let site = main_site();
    let up = upstream_one();
    block_on(async {
        let sync = sync_with(&site, Rc::new(MemoryStore::new()));
        let diff = sync
            .fetch(&FetchRequest::new(vec![custom("up-one", &up, None)]))
            .await
            .unwrap();
        let choices = RatioSelection::new()
            .column("up-one", DiffFilter::default())
            .resolve(&diff)
            .choices;
        assert!(!choices.is_empty());

        // The option read answers HTML.
        site.set_fault(
            FaultRule::new(FaultKind::Html { status: Some(200) })
                .path("/api/option")
                .method("GET")
                .times(1),
        );
        let e = sync.apply(&choices, None).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::InvalidResponse);
        assert!(site.option_writes().is_empty());

        // A stored map that is not JSON is never overwritten.
        site.set_option("CompletionRatio", "{not json");
        let e = sync.apply(&choices, None).await.unwrap_err();
        assert!(e.message.contains("CompletionRatio"), "{}", e.message);
        assert!(site.option_writes().is_empty());
        site.set_option("CompletionRatio", r#"{"gpt-4o":4}"#);

        // The first write fails: the outcome says so and the site keeps its maps.
        let before = site.options();
        site.set_fault(
            FaultRule::new(FaultKind::Status {
                status: 500,
                retry_after: None,
                body: None,
            })
            .path("/api/option")
            .method("PUT")
            .times(1),
        );
        let out = sync.apply(&choices, None).await.unwrap();
        assert!(!out.ok());
        assert!(out.written.is_empty());
        assert!(out.error.is_some());
        assert_eq!(site.options(), before);
    });
}

#[test]
fn sites_without_ratio_sync_say_so() {
    let velo = MockGateway::start(MockConfig::new(Flavor::Veloera).channels(1)).unwrap();
    let ctx = Ctx::new(
        site(&velo, SiteKind::Veloera),
        Rc::new(ReqwestTransport::new().unwrap()),
        Rc::new(SystemClock),
    );
    let e = RatioSync::new(ctx, Rc::new(MemoryStore::new()))
        .err()
        .unwrap();
    assert_eq!(e.class, ErrorClass::Validation);

    let legacy =
        MockGateway::start(MockConfig::new(Flavor::NewApi).channels(1).legacy(true)).unwrap();
    block_on(async {
        let sync = sync_with(&legacy, Rc::new(MemoryStore::new()));
        let e = sync.sources().await.unwrap_err();
        assert_eq!(e.class, ErrorClass::NotFound);
        assert!(e.message.contains("no ratio sync"), "{}", e.message);
    });
}

#[test]
fn mock_option_writes_and_control_routes_follow_the_doc() {
    let site = main_site();
    let legacy =
        MockGateway::start(MockConfig::new(Flavor::NewApi).channels(1).legacy(true)).unwrap();
    block_on(async {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let put = |mock: &MockHandle, body: Value| {
            http.put(format!("{}/api/option/", mock.base_url()))
                .header("Authorization", format!("Bearer {}", mock.token()))
                .header("New-Api-User", "1")
                .json(&body)
                .send()
        };
        // Whole-map replacement: the new map is all that remains.
        let r = put(&site, json!({"key":"ModelRatio","value":"{\"only\":1}"}))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(map(&site, "ModelRatio"), json!({"only":1}));
        // An object value is stored as Go's %v text by current builds...
        put(&site, json!({"key":"CacheRatio","value":{"a":1}}))
            .await
            .unwrap();
        assert_eq!(site.option("CacheRatio").unwrap(), "map[a:1]");
        // ...and refused with 400 by the old handler.
        let r = put(&legacy, json!({"key":"CacheRatio","value":{"a":1}}))
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        // Validated keys are not saved when the JSON is bad.
        let r: Value = put(&site, json!({"key":"ImageRatio","value":"{bad"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["success"], json!(false));
        assert_eq!(map(&site, "ImageRatio"), json!({"gpt-image-1":2}));

        // Control routes: exposure on, then /api/ratio_config answers.
        let url = format!("{}/api/ratio_config", site.base_url());
        assert_eq!(http.get(&url).send().await.unwrap().status(), 403);
        http.post(format!("{}/__mock/options", site.base_url()))
            .json(&json!({"ExposeRatioEnabled": "true"}))
            .send()
            .await
            .unwrap();
        let v: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        assert_eq!(v["data"]["model_ratio"], json!({"only":1}));
        let r = http
            .post(format!("{}/__mock/ratio_source", site.base_url()))
            .json(&json!({"url": "http://x.invalid/r", "kind": "text", "status": 502, "body": "<html>"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    });
}

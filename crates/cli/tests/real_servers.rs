//! Hazards of the real servers that lose data or fail (issue 23; `docs/gateways.md`), each
//! reproduced by the mock the way the server's source behaves, against the real adapters and
//! the real `msync` binary.

mod support;

use msync_cli::transport::ReqwestTransport;
use msync_core::gateway::Gateway;
use msync_core::http::{Method, Request, Transport};
use msync_core::model::ChannelUpdate;
use msync_core::ErrorClass;
use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, MockGateway, MockHandle, Op};
use serde_json::{json, Value};
use support::*;

fn gateway(mock: &MockHandle) -> Box<dyn Gateway> {
    gateway_of(mock, true, 30_000)
}

fn list_of(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Value::String(s) => s
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn item_of(doc: &Value, id: u64) -> &Value {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| num(i["channel_id"].as_str().unwrap()) == id)
        .unwrap_or_else(|| panic!("no item for channel {id}: {doc}"))
}

/// Item 1: AxonHub's hand-added `manualModels` stay, and upstream ids outside the channel's
/// `autoSyncModelPattern` are not added (`internal/server/biz/channel_model_sync.go`).
#[test]
fn axonhub_keeps_hand_added_models_and_obeys_the_sync_pattern() {
    let env = Env::new(MockConfig::new(Flavor::Axonhub).channels(7));
    let ch = env.mock.channel(7).unwrap();
    let manual = list_of(&ch["manualModels"]);
    assert_eq!(manual.len(), 1, "the mock seeds a hand-added model on 7");
    assert!(list_of(&ch["supportedModels"]).contains(&manual[0]));
    // Two models from the upstream plus the hand-added one; the upstream now also serves a
    // model the channel's pattern takes and one it does not.
    env.mock.patch_channel(
        7,
        json!({"supportedModels": ["gpt-4o", "gpt-4o-mini", manual[0]],
               "autoSyncModelPattern": "gpt-.*"}),
    );
    env.mock.set_upstream_models(
        7,
        ["gpt-4o", "gpt-4o-mini", "gpt-5", "claude-sonnet-4"]
            .map(String::from)
            .to_vec(),
    );
    let out = env.run(&["--json", "sync", "--channels", "gid://axonhub/channel/7"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(env.mock.writes(7), 1, "{}", out.stdout);
    let after = list_of(&env.mock.channel(7).unwrap()["supportedModels"]);
    assert!(
        after.contains(&manual[0]),
        "hand-added model removed: {after:?}"
    );
    assert!(after.contains(&"gpt-5".to_string()), "{after:?}");
    assert!(
        !after.contains(&"claude-sonnet-4".to_string()),
        "a model outside the channel's pattern was added: {after:?}"
    );
}

/// Item 8 (AxonHub part): a channel AxonHub syncs by itself is left alone, with the reason.
#[test]
fn axonhub_auto_synced_channels_are_skipped_with_the_reason() {
    let env = Env::new(MockConfig::new(Flavor::Axonhub).channels(3));
    env.mock
        .patch_channel(2, json!({"autoSyncSupportedModels": true}));
    env.mock.set_upstream_models(2, vec!["only-this".into()]);
    let out = env.run(&["--json", "sync"]);
    let doc = out.json();
    let it = item_of(&doc, 2);
    assert_eq!(it["status"], "skipped", "{it}");
    assert!(
        it["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("autoSyncSupportedModels"),
        "{it}"
    );
    assert_eq!(env.mock.writes(2), 0);
}

/// Item 3: with introspection blocked, the documented settings selection lacks the override
/// lists; `updateChannel` replaces the whole settings object, so a mapping write would wipe
/// them. It is refused, nothing is written; a models-only write still works.
#[test]
fn axonhub_mapping_write_without_introspection_is_refused() {
    let mock = MockGateway::start(MockConfig::new(Flavor::Axonhub).channels(5)).unwrap();
    let before = mock.channel(5).unwrap();
    assert!(
        !list_of(&before["settings"]["headerOverrideOperations"]).is_empty()
            || before["settings"]["headerOverrideOperations"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
        "the mock seeds header overrides on channel 5"
    );
    // A proxy in front of AxonHub refuses schema introspection.
    mock.set_fault(
        FaultRule::new(FaultKind::BusinessError {
            message: "introspection disabled".into(),
        })
        .op(Op::Other),
    );
    let gw = gateway(&mock);
    let chans = block_on(gw.list_channels()).unwrap();
    let ch = chans.iter().find(|c| num(&c.id.0) == 5).unwrap().clone();
    let target = ch.models[0].clone();
    let up = ChannelUpdate {
        models: None,
        mapping: Some(vec![("my-std".into(), target)]),
    };
    let e = block_on(gw.update_channel(&ch, &up)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation, "{e}");
    assert!(e.message.contains("introspection"), "{e}");
    assert_eq!(mock.writes(5), 0);
    assert_eq!(
        mock.channel(5).unwrap()["settings"],
        before["settings"],
        "settings changed"
    );
    // Models alone do not touch settings: still allowed.
    let up = ChannelUpdate {
        models: Some(ch.models.clone()),
        mapping: None,
    };
    block_on(gw.update_channel(&ch, &up)).unwrap();
    assert_eq!(mock.channel(5).unwrap()["settings"], before["settings"]);

    // With introspection the same mapping write keeps the override lists.
    mock.clear_faults();
    let gw = gateway(&mock);
    let up = ChannelUpdate {
        models: None,
        mapping: Some(vec![("my-std".into(), ch.models[0].clone())]),
    };
    block_on(gw.update_channel(&ch, &up)).unwrap();
    let after = mock.channel(5).unwrap();
    for k in [
        "headerOverrideOperations",
        "bodyOverrideOperations",
        "proxy",
    ] {
        // Fields the operation does not set come back as null and are sent back so.
        assert_eq!(
            without_nulls(&after["settings"][k]),
            without_nulls(&before["settings"][k]),
            "{k}"
        );
    }
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Item 4: DoneHub's full-object PUT writes back `status` as read. A channel disabled between
/// the listing and the write is not written (the plan saw an enabled channel); the error is
/// retryable so the item is re-read and planned again.
#[test]
fn donehub_status_change_between_listing_and_write_is_refused() {
    let mock = MockGateway::start(MockConfig::new(Flavor::DoneHub).channels(6)).unwrap();
    let gw = gateway(&mock);
    let chans = block_on(gw.list_channels()).unwrap();
    let ch = chans
        .iter()
        .find(|c| c.enabled && c.tag.is_none())
        .unwrap()
        .clone();
    let id = num(&ch.id.0);
    // Auto-disabled by DoneHub's channel test meanwhile (status 3).
    mock.patch_channel(id, json!({"status": 3, "test_time": 1_760_000_123}));
    let mut models = ch.models.clone();
    models.push("new-model".into());
    let up = ChannelUpdate {
        models: Some(models),
        mapping: None,
    };
    let e = block_on(gw.update_channel(&ch, &up)).unwrap_err();
    assert!(e.retryable, "{e}");
    assert!(e.message.contains("disabled"), "{e}");
    assert_eq!(mock.writes(id), 0);
    assert_eq!(mock.channel(id).unwrap()["status"], 3);

    // Read fresh, the write goes through and keeps the gateway's status.
    let fresh = block_on(gw.get_channel(&ch.id)).unwrap();
    block_on(gw.update_channel(&fresh, &up)).unwrap();
    assert_eq!(mock.channel(id).unwrap()["status"], 3);
    assert_eq!(mock.writes(id), 1);
}

/// Item 2: Octopus deletes group items whose model leaves the channel. A sync that would remove
/// a routed model is held for review with the groups named, and the routes stay.
#[test]
fn octopus_removing_a_routed_model_is_held_for_review() {
    let env = Env::new(MockConfig::new(Flavor::Octopus).channels(8));
    // A channel a group routes to, not synced by Octopus itself.
    let groups = env.mock.groups();
    let (cid, model, group) = groups
        .iter()
        .flat_map(|g| {
            let name = g["name"].as_str().unwrap().to_string();
            g["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |it| {
                    (
                        it["channel_id"].as_u64().unwrap(),
                        it["model_name"].as_str().unwrap().to_string(),
                        name.clone(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .next()
        .expect("a seeded group item");
    // Enabled, and not synced by Octopus itself (either would skip the channel).
    env.mock
        .patch_channel(cid, json!({"auto_sync": false, "enabled": true}));
    let stored = list_of(&env.mock.channel(cid).unwrap()["model"]);
    // The upstream keeps everything but the routed model.
    let upstream: Vec<String> = stored.iter().filter(|m| **m != model).cloned().collect();
    env.mock.set_upstream_models(cid, upstream);
    let items_before = env.mock.groups();

    let out = env.run(&["--json", "sync", "--channels", &cid.to_string()]);
    let doc = out.json();
    let it = item_of(&doc, cid);
    assert_eq!(it["status"], "needs_review", "{it}");
    let reason = it["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&model) && reason.contains(&group),
        "{reason}"
    );
    assert_eq!(env.mock.writes(cid), 0);
    assert_eq!(env.mock.groups(), items_before, "group routes changed");
}

/// Item 8 (New API part): the gateway's own upstream model update with auto sync skips the
/// channel; its ignore list (plain names and `regex:`) is never re-added by msync.
#[test]
fn new_api_upstream_update_settings_are_obeyed() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let settings = |auto: bool, ignored: &[&str]| {
        json!({
            "upstream_model_update_check_enabled": true,
            "upstream_model_update_auto_sync_enabled": auto,
            "upstream_model_update_ignored_models": ignored,
        })
        .to_string()
    };
    env.mock
        .patch_channel(1, json!({"settings": settings(true, &[])}));
    env.mock.patch_channel(
        2,
        json!({"settings": settings(false, &["gpt-ignored", "regex:^o1-"])}),
    );
    let mut up2 = list_of(&env.mock.channel(2).unwrap()["models"]);
    up2.extend(["gpt-ignored", "o1-mini", "fresh-model"].map(String::from));
    env.mock.set_upstream_models(2, up2);
    let out = env.run(&["--json", "sync"]);
    let doc = out.json();
    let one = item_of(&doc, 1);
    assert_eq!(one["status"], "skipped", "{one}");
    assert!(
        one["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("upstream_model_update_auto_sync_enabled"),
        "{one}"
    );
    assert_eq!(env.mock.writes(1), 0);
    let after = list_of(&env.mock.channel(2).unwrap()["models"]);
    assert!(after.contains(&"fresh-model".to_string()), "{after:?}");
    for ignored in ["gpt-ignored", "o1-mini"] {
        assert!(
            !after.contains(&ignored.to_string()),
            "{ignored} added: {after:?}"
        );
    }
}

/// Item 6: gin routes on the decoded path, so a DoneHub tag holding `/` cannot be expanded
/// (404); the listing goes on with the tag's representative instead of failing.
#[test]
fn donehub_a_tag_with_a_slash_does_not_fail_the_listing() {
    let mock = MockGateway::start(MockConfig::new(Flavor::DoneHub).channels(6)).unwrap();
    for id in [2, 3] {
        mock.patch_channel(id, json!({"tag": "team/a"}));
    }
    let gw = gateway(&mock);
    let chans = block_on(gw.list_channels()).unwrap();
    let ids: Vec<u64> = chans.iter().map(|c| num(&c.id.0)).collect();
    // The tag's representative row and every untagged channel. DoneHub picks the member with
    // the highest id (`model/channel.go` `GetChannelsList`: `Select("Max(id) as id")…Group("tag")`).
    assert_eq!(
        ids.iter()
            .filter(|id| [2, 3].contains(*id))
            .collect::<Vec<_>>(),
        [&3],
        "{ids:?}"
    );
    for id in [1, 4, 5, 6] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    // The mock routes like gin: the encoded slash is a path separator.
    let r = mock
        .requests()
        .into_iter()
        .find(|r| r.path.contains("channel_tag/team"))
        .unwrap();
    assert_eq!(r.status, 404, "{}", r.path);
}

/// Item 7: fetch endpoints pass the upstream's error text through; "Unauthorized" from the
/// upstream is about the channel's key, not the admin's token. The gateway's own auth refusal
/// keeps its class.
#[test]
fn upstream_error_texts_are_not_blamed_on_the_admins_credentials() {
    for flavor in [Flavor::NewApi, Flavor::Veloera, Flavor::DoneHub] {
        let mock = MockGateway::start(MockConfig::new(flavor).channels(2)).unwrap();
        let gw = gateway(&mock);
        let ch = block_on(gw.list_channels()).unwrap().remove(0);
        for text in [
            "Unauthorized",
            "insufficient permissions",
            "User not found.",
        ] {
            mock.set_fault(
                FaultRule::new(FaultKind::BusinessError {
                    message: text.into(),
                })
                .op(Op::FetchModels)
                .times(1),
            );
            let e = block_on(gw.fetch_upstream_models(&ch)).unwrap_err();
            assert_eq!(e.class, ErrorClass::Upstream, "{flavor} {text}: {e}");
        }
        mock.set_fault(
            FaultRule::new(FaultKind::BusinessError {
                message: "无权进行此操作，access token 无效".into(),
            })
            .op(Op::FetchModels)
            .times(1),
        );
        let e = block_on(gw.fetch_upstream_models(&ch)).unwrap_err();
        assert_eq!(e.class, ErrorClass::Auth, "{flavor}: {e}");
    }
}

/// Item 11: an Octopus with the v0.12/v0.13 channel format is recognised and refused before
/// anything is written.
#[test]
fn octopus_v013_is_refused_before_any_write() {
    let mut cfg = MockConfig::new(Flavor::Octopus).channels(4);
    cfg.version = Some("v0.13.4".into());
    let env = Env::new(cfg);
    let gw = gateway(&env.mock);
    let e = block_on(gw.list_channels()).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation, "{e}");
    assert!(e.message.contains("v0.12"), "{e}");
    let out = env.run(&["--json", "sync"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        env.mock.write_counts().values().all(|n| *n == 0),
        "something was written"
    );
    assert!(env
        .mock
        .requests()
        .iter()
        .all(|r| !r.path.contains("update")));
}

/// Item 5: the mock applies each flavour's own admin API limit unless told otherwise, and
/// answers it like the server: 429, empty body, no `Retry-After` (New API before 2026-07-21,
/// Veloera, DoneHub).
#[test]
fn the_mock_rate_limits_like_each_server_by_default() {
    let limits = [
        (MockConfig::new(Flavor::NewApi), Some(360)),
        (MockConfig::new(Flavor::NewApi).legacy(true), Some(180)),
        (MockConfig::new(Flavor::Veloera), Some(180)),
        (MockConfig::new(Flavor::DoneHub), Some(300)),
        (MockConfig::new(Flavor::Octopus), None),
        (MockConfig::new(Flavor::Axonhub), None),
    ];
    for (cfg, want) in limits {
        assert_eq!(
            cfg.rate_limit.map(|l| (l.max, l.window_ms)),
            want.map(|m| (m, 180_000)),
            "{}",
            cfg.flavor
        );
    }
    let mock = MockGateway::start(MockConfig::new(Flavor::Veloera).channels(1)).unwrap();
    let url = format!("{}/api/status", mock.base_url());
    let t = ReqwestTransport::new().unwrap();
    let last = block_on(async {
        let mut last = None;
        for _ in 0..181 {
            last = Some(
                t.send(Request::new(Method::Get, url.clone()))
                    .await
                    .unwrap(),
            );
        }
        last.unwrap()
    });
    assert_eq!(last.status, 429);
    assert_eq!(last.retry_after_ms(), None);
    assert_eq!(last.body, "");
}

/// Item 10: Octopus has no single-channel read, and its list carries every channel's key in
/// plaintext. A sync lists once; only a write re-reads (for the fresh `custom_model`).
#[test]
fn octopus_lists_once_per_run_and_rereads_only_for_writes() {
    let env = Env::new(MockConfig::new(Flavor::Octopus).channels(6));
    let out = env.run(&["--json", "sync"]);
    assert!(out.code <= 1, "{}\n{}", out.stdout, out.stderr);
    let writes: u64 = env.mock.write_counts().values().sum();
    let lists = env
        .mock
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/channel/list")
        .count() as u64;
    assert_eq!(lists, 1 + writes, "{} writes", writes);
}

/// Item 10 (mock leniency): New API's channel edit is fail-closed — a body field the server
/// does not classify counts as a sensitive change, refused to an admin without
/// `channel.sensitive_write` (`controller/channel_authz.go`). msync's minimal body passes.
#[test]
fn new_api_put_refuses_unknown_fields_to_a_non_root_admin() {
    use msync_mockgw::Role;
    let mock = MockGateway::start(
        MockConfig::new(Flavor::NewApi)
            .channels(2)
            .role(Role::Admin),
    )
    .unwrap();
    let t = ReqwestTransport::new().unwrap();
    let put = |body: Value| {
        let req = Request::new(Method::Put, format!("{}/api/channel/", mock.base_url()))
            .header("Authorization", format!("Bearer {}", mock.token()))
            .header("New-Api-User", "1")
            .json(&body);
        let resp = block_on(t.send(req)).unwrap();
        serde_json::from_str::<Value>(&resp.body).unwrap()
    };
    let refused = put(json!({"id": 1, "models": "a,b", "not_a_field": 1}));
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(mock.writes(1), 0);
    let ok = put(json!({"id": 1, "models": "a,b"}));
    assert_eq!(ok["success"], true, "{ok}");
    // And the adapter's own write goes through for that admin.
    let gw = gateway(&mock);
    let ch = block_on(gw.get_channel(&msync_core::model::ChannelId("2".into()))).unwrap();
    let up = ChannelUpdate {
        models: Some(vec!["x".into(), "y".into()]),
        mapping: Some(vec![("alias".into(), "x".into())]),
    };
    block_on(gw.update_channel(&ch, &up)).unwrap();
}

/// Benchmarks (issue 20 follow-up): the engine compare-reads a channel right before writing it;
/// DoneHub's full-object PUT and AxonHub's settings-preserving update take that read instead of
/// reading the channel a second time. One read per written channel (plus the listing), and the
/// write is still refused when the channel changed since the plan (tested in
/// `cli_faults.rs`/`engine/tests.rs`).
#[test]
fn a_write_reads_its_channel_once_on_done_hub_and_axon_hub() {
    for flavor in [Flavor::DoneHub, Flavor::Axonhub] {
        let env = Env::new(MockConfig::new(flavor).channels(6));
        let out = env.run(&["--json", "sync"]);
        assert!(out.code <= 1, "{}\n{}", out.stdout, out.stderr);
        let written: Vec<u64> = env
            .mock
            .write_counts()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(id, _)| id)
            .collect();
        assert!(!written.is_empty(), "{flavor:?}: {}", out.stdout);
        for id in written {
            let reads = env
                .mock
                .requests()
                .iter()
                .filter(|r| r.op == Op::GetChannel && r.channel == Some(id))
                .count();
            assert_eq!(reads, 1, "{flavor:?} channel {id}: reads per write");
        }
    }
}

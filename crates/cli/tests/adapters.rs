//! Every adapter against the mock gateway of its flavour, over 127.0.0.1 with the real
//! reqwest transport, on a current-thread tokio runtime.

mod support;

use msync_core::gateway::Gateway;
use msync_core::model::{ChannelId, ChannelUpdate, Mapping};
use msync_core::ErrorClass;
use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, MockGateway, MockHandle, Op};
use serde_json::Value;
use support::{block_on, gateway_of};

fn gateway(mock: &MockHandle) -> Box<dyn Gateway> {
    gateway_of(mock, true, 10_000)
}

fn gateway_with(mock: &MockHandle, password_ok: bool, timeout_ms: u64) -> Box<dyn Gateway> {
    gateway_of(mock, password_ok, timeout_ms)
}

fn num(id: &ChannelId) -> u64 {
    id.0.rsplit('/').next().unwrap().parse().unwrap()
}

fn clean(v: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && seen.insert(s.clone()))
        .collect()
}

fn configs() -> Vec<MockConfig> {
    use msync_mockgw::Era;
    vec![
        MockConfig::new(Flavor::NewApi).channels(130).era(Era::B),
        MockConfig::new(Flavor::NewApi).channels(130).era(Era::A),
        MockConfig::new(Flavor::NewApi).channels(130).legacy(true),
        MockConfig::new(Flavor::Veloera).channels(130),
        MockConfig::new(Flavor::DoneHub).channels(130),
        MockConfig::new(Flavor::Octopus).channels(12),
        MockConfig::new(Flavor::Octopus).channels(12).legacy(true),
        MockConfig::new(Flavor::Axonhub).channels(130),
        MockConfig::new(Flavor::Axonhub).channels(30).legacy(true),
    ]
}

#[test]
fn every_flavour_lists_fetches_and_writes() {
    for cfg in configs() {
        let label = format!("{} legacy={} era={:?}", cfg.flavor, cfg.legacy, cfg.era);
        let n = cfg.channels;
        let legacy = cfg.legacy;
        let flavor = cfg.flavor;
        let mock = MockGateway::start(cfg).unwrap();
        let gw = gateway(&mock);
        block_on(async {
            let report = gw
                .test_connection()
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(
                report.reachable && report.authenticated && report.admin,
                "{label}"
            );
            let chans = gw
                .list_channels()
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(
                chans.len() >= n.min(1) && chans.len() <= n,
                "{label}: {} channels",
                chans.len()
            );
            let ch = chans.iter().find(|c| !c.models.is_empty()).unwrap().clone();
            let id = num(&ch.id);

            // Fetch: what the upstream serves, normalised.
            if !(flavor == Flavor::Axonhub && legacy) {
                let got = gw
                    .fetch_upstream_models(&ch)
                    .await
                    .unwrap_or_else(|e| panic!("{label}: fetch {e}"));
                assert_eq!(got, clean(&mock.upstream_models(id)), "{label}");
            } else {
                let e = gw.fetch_upstream_models(&ch).await.unwrap_err();
                assert_eq!(e.class, ErrorClass::Validation, "{label}: {e}");
            }

            // Write models (+ a mapping where the site has one) and read it back fresh.
            let models = vec!["sync-a".to_string(), "sync-b".to_string()];
            let caps = gw.capabilities();
            let mapping = caps
                .model_mapping
                .then(|| vec![("std-name".to_string(), "sync-b".to_string())]);
            let mut want_models = models.clone();
            if caps.aliases_must_be_listed && mapping.is_some() {
                want_models.push("std-name".into());
            }
            let up = ChannelUpdate {
                models: Some(want_models.clone()),
                mapping: mapping.clone(),
            };
            let stored = gw
                .update_channel(&ch, &up)
                .await
                .unwrap_or_else(|e| panic!("{label}: write {e}"));
            let fresh = gw.get_channel(&ch.id).await.unwrap();
            for m in &want_models {
                assert!(
                    fresh.models.contains(m),
                    "{label}: {m} missing from {:?}",
                    fresh.models
                );
            }
            assert_eq!(stored.models, fresh.models, "{label}");
            match &mapping {
                Some(pairs) => assert_eq!(fresh.mapping.pairs(), pairs.as_slice(), "{label}"),
                None => assert_eq!(fresh.mapping, Mapping::Unsupported, "{label}"),
            }
            assert!(mock.writes(id) >= 1, "{label}");
        });
    }
}

#[test]
fn wrong_credentials_are_auth_errors_without_secrets() {
    for cfg in configs() {
        let label = format!("{} legacy={}", cfg.flavor, cfg.legacy);
        let mock = MockGateway::start(cfg).unwrap();
        let gw = gateway_with(&mock, false, 10_000);
        let e = block_on(gw.list_channels()).unwrap_err();
        assert!(matches!(e.class, ErrorClass::Auth), "{label}: {e}");
        assert!(!e.retryable, "{label}");
        let cfg = mock.config();
        for secret in [mock.token(), cfg.password.clone()] {
            if secret.len() >= 4 {
                assert!(
                    !e.message.contains(&format!("{secret}-wrong")),
                    "{label}: {e}"
                );
            }
        }
    }
}

fn one_channel(gw: &dyn Gateway) -> msync_core::model::Channel {
    block_on(gw.list_channels())
        .unwrap()
        .into_iter()
        .find(|c| !c.models.is_empty())
        .unwrap()
}

#[test]
fn fault_rows_are_classified() {
    for flavor in [
        Flavor::NewApi,
        Flavor::Veloera,
        Flavor::DoneHub,
        Flavor::Octopus,
        Flavor::Axonhub,
    ] {
        let mock = MockGateway::start(MockConfig::new(flavor).channels(5)).unwrap();
        let gw = gateway_with(&mock, true, 3_000);
        let ch = one_channel(gw.as_ref());
        let id = num(&ch.id);
        let rows: Vec<(FaultKind, Op, ErrorClass)> = vec![
            (
                FaultKind::Status {
                    status: 429,
                    retry_after: Some(3),
                    body: None,
                },
                Op::ListChannels,
                ErrorClass::RateLimited,
            ),
            (
                FaultKind::Status {
                    status: 503,
                    retry_after: None,
                    body: None,
                },
                Op::ListChannels,
                ErrorClass::Server,
            ),
            (
                FaultKind::Html { status: None },
                Op::ListChannels,
                ErrorClass::InvalidResponse,
            ),
            (
                FaultKind::TruncatedJson,
                Op::ListChannels,
                ErrorClass::InvalidResponse,
            ),
            (
                FaultKind::MalformedJson,
                Op::ListChannels,
                ErrorClass::InvalidResponse,
            ),
            (
                FaultKind::RedirectLogin,
                Op::ListChannels,
                ErrorClass::InvalidResponse,
            ),
            (FaultKind::Hang, Op::ListChannels, ErrorClass::Timeout),
            (
                FaultKind::DropConnection,
                Op::ListChannels,
                ErrorClass::Network,
            ),
            (
                FaultKind::UpstreamStatus { status: 500 },
                Op::FetchModels,
                ErrorClass::Upstream,
            ),
        ];
        for (kind, op, want) in rows {
            let label = format!("{flavor} {kind:?}");
            // Octopus ignores the upstream status (`docs/admin-apis.md` §4.3): a failing upstream reads as an empty list.
            if flavor == Flavor::Octopus && matches!(kind, FaultKind::UpstreamStatus { .. }) {
                mock.set_fault(FaultRule::new(kind).op(op).times(1));
                let got = block_on(gw.fetch_upstream_models(&ch)).unwrap();
                assert!(got.is_empty(), "{label}");
                continue;
            }
            mock.set_fault(FaultRule::new(kind.clone()).op(op).times(1));
            let res = match op {
                Op::FetchModels => block_on(gw.fetch_upstream_models(&ch)).map(|_| ()),
                _ => block_on(gw.list_channels()).map(|_| ()),
            };
            let e = res.expect_err(&label);
            assert_eq!(e.class, want, "{label}: {e}");
            if let FaultKind::Status { status: 429, .. } = kind {
                assert_eq!(e.http_status, Some(429), "{label}");
                assert!(e.retryable);
            }
            mock.clear_faults();
        }
        // Upstream 401 wrapped in the gateway's message: http_status extracted, not retryable.
        if flavor != Flavor::Octopus {
            mock.set_fault(
                FaultRule::new(FaultKind::UpstreamStatus { status: 401 })
                    .op(Op::FetchModels)
                    .times(1),
            );
            let e = block_on(gw.fetch_upstream_models(&ch)).unwrap_err();
            assert_eq!(
                (e.class, e.http_status, e.retryable),
                (ErrorClass::Upstream, Some(401), false),
                "{flavor}: {e}"
            );
        }
        // A huge list, and a null one.
        mock.set_fault(
            FaultRule::new(FaultKind::HugeList { count: None })
                .op(Op::FetchModels)
                .times(1),
        );
        assert_eq!(
            block_on(gw.fetch_upstream_models(&ch)).unwrap().len(),
            100_000,
            "{flavor}"
        );
        mock.set_fault(
            FaultRule::new(FaultKind::NullList)
                .op(Op::FetchModels)
                .times(1),
        );
        assert!(
            block_on(gw.fetch_upstream_models(&ch)).unwrap().is_empty(),
            "{flavor}"
        );
        // Deleted mid-run.
        mock.set_fault(
            FaultRule::new(FaultKind::ChannelDeleted)
                .channel(id)
                .times(1),
        );
        let e = if flavor == Flavor::Octopus {
            // Octopus has no single-channel read: a deleted channel shows on the write.
            let up = ChannelUpdate {
                models: Some(vec!["m".into()]),
                mapping: None,
            };
            block_on(gw.update_channel(&ch, &up)).unwrap_err()
        } else {
            block_on(gw.get_channel(&ch.id)).unwrap_err()
        };
        assert_eq!(e.class, ErrorClass::NotFound, "{flavor}: {e}");
        mock.clear_faults();
    }
}

#[test]
fn done_hub_model_write_changes_no_other_field() {
    let mock = MockGateway::start(MockConfig::new(Flavor::DoneHub).channels(8)).unwrap();
    let gw = gateway(&mock);
    let ch = one_channel(gw.as_ref());
    let id = num(&ch.id);
    let before = mock.channel(id).unwrap();
    let up = ChannelUpdate {
        models: Some(vec!["x-1".into(), "x-2".into()]),
        mapping: None,
    };
    block_on(gw.update_channel(&ch, &up)).unwrap();
    let after = mock.channel(id).unwrap();
    for (k, v) in before.as_object().unwrap() {
        if k == "models" {
            continue;
        }
        assert_eq!(&after[k], v, "field {k} changed");
    }
    assert_eq!(after["models"], Value::String("x-1,x-2".into()));
    // The request really was the whole object (the key included, so the mock kept it).
    let put = mock
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PUT")
        .unwrap();
    let body = put.json().unwrap();
    assert_eq!(
        body.as_object().unwrap().len(),
        before.as_object().unwrap().len()
            - usize::from(before.get("used_quota").is_some() && body.get("used_quota").is_none())
    );
}

#[test]
fn axonhub_other_settings_survive_a_mapping_write() {
    let mock = MockGateway::start(MockConfig::new(Flavor::Axonhub).channels(8)).unwrap();
    let gw = gateway(&mock);
    let ch = one_channel(gw.as_ref());
    let id = num(&ch.id);
    let before = mock.channel(id).unwrap();
    let target = ch.models[0].clone();
    let up = ChannelUpdate {
        models: None,
        mapping: Some(vec![("my-std".into(), target.clone())]),
    };
    block_on(gw.update_channel(&ch, &up)).unwrap();
    let after = mock.channel(id).unwrap();
    let (sb, sa) = (&before["settings"], &after["settings"]);
    for (k, v) in sb.as_object().unwrap() {
        if k != "modelMappings" {
            assert_eq!(&sa[k], v, "setting {k} lost");
        }
    }
    assert_eq!(
        sa["modelMappings"],
        serde_json::json!([{"from": "my-std", "to": target}])
    );
    assert_eq!(after["credentials"], before["credentials"]);
    for r in mock.requests() {
        if r.path == "/admin/graphql" && r.body.contains("updateChannel") {
            assert!(
                !r.body.contains("credentials"),
                "credentials sent: {}",
                r.body
            );
        }
    }
    // A mapping to a model the channel does not serve is refused before anything is sent.
    let writes = mock.writes(id);
    let bad = ChannelUpdate {
        models: None,
        mapping: Some(vec![("a".into(), "not-served".into())]),
    };
    let e = block_on(gw.update_channel(&ch, &bad)).unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation);
    assert_eq!(mock.writes(id), writes);
}

#[test]
fn octopus_refuses_mappings_and_keeps_custom_models() {
    let mock = MockGateway::start(MockConfig::new(Flavor::Octopus).channels(6)).unwrap();
    let gw = gateway(&mock);
    let chans = block_on(gw.list_channels()).unwrap();
    let (ch, custom) = chans
        .iter()
        .find_map(|c| {
            let raw = mock.channel(num(&c.id))?;
            let custom = raw["custom_model"].as_str()?.to_string();
            (!custom.is_empty()).then(|| (c.clone(), custom))
        })
        .expect("a seeded channel with custom models");
    let up = ChannelUpdate {
        models: Some(vec!["auto-1".into()]),
        mapping: None,
    };
    let stored = block_on(gw.update_channel(&ch, &up)).unwrap();
    let raw = mock.channel(num(&ch.id)).unwrap();
    assert_eq!(raw["custom_model"].as_str().unwrap(), custom);
    assert_eq!(raw["model"], Value::String("auto-1".into()));
    assert!(stored.models.contains(&"auto-1".to_string()));
    let bad = ChannelUpdate {
        models: None,
        mapping: Some(vec![("a".into(), "b".into())]),
    };
    assert_eq!(
        block_on(gw.update_channel(&ch, &bad)).unwrap_err().class,
        ErrorClass::Validation
    );
}

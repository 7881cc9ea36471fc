//! Model redirect through the engine against the mock gateway, over 127.0.0.1 with the real
//! reqwest transport: sync → redirect → sync again, prune, bulk clear, revert, unreadable
//! mappings, Octopus, and a channel whose sync failed.

mod support;

use msync_cli::clock::SystemClock;
use msync_cli::transport::ReqwestTransport;
use msync_core::engine::record::{ItemStatus, RunMode, RunRecord};
use msync_core::engine::redirect::{RedirectApplyOptions, RedirectOp};
use msync_core::engine::{Engine, RunRequest};
use msync_core::gateway::Ctx;
use msync_core::http::{Method, Request, Transport};
use msync_core::model::{ChannelId, Mapping};
use msync_core::redirect::{ClearScope, PlanStatus, RedirectSettings};
use msync_core::settings::SyncSettings;
use msync_core::store::MemoryStore;
use msync_core::ErrorClass;
use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, MockGateway, MockHandle, Op};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::rc::Rc;
use support::{block_on, site_of};

const STANDARDS: &[&str] = &[
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1-mini",
    "claude-sonnet-4-5",
    "claude-3-5-haiku",
];

fn redirect_settings() -> RedirectSettings {
    RedirectSettings {
        enabled: true,
        presets: Vec::new(),
        standard_models: STANDARDS.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// Fast limits (loopback), every channel processed, no removal guard.
fn settings() -> SyncSettings {
    let mut s = SyncSettings {
        concurrency: 4,
        channel_timeout_secs: 30,
        removal_threshold_pct: 100,
        skip_disabled: false,
        redirect: redirect_settings(),
        ..Default::default()
    };
    s.rate.rpm = 600;
    s.rate.burst = 50;
    s.rate.site_rpm = 6000;
    s.rate.site_burst = 100;
    s.retry.max_retries = 1;
    s.retry.base_ms = 100;
    s.retry.cap_ms = 200;
    s
}

fn engine(mock: &MockHandle, store: &Rc<MemoryStore>) -> Engine {
    let ctx = Ctx::new(
        site_of(mock, true),
        Rc::new(ReqwestTransport::new().unwrap()),
        Rc::new(SystemClock),
    );
    Engine::connect(ctx, store.clone(), settings(), 42).unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The mock's channel ids for channels 1 and 2 (AxonHub ids are global ids).
fn ids(e: &Engine) -> BTreeMap<u64, ChannelId> {
    block_on(e.gateway().list_channels())
        .unwrap()
        .into_iter()
        .map(|c| (c.id.0.rsplit('/').next().unwrap().parse().unwrap(), c.id))
        .collect()
}

/// Channel 1 serves OpenAI models under a vendor path, channel 2 Anthropic ones (one dated).
fn set_upstreams(mock: &MockHandle) {
    mock.set_upstream_models(
        1,
        s(&[
            "openai/gpt-4o",
            "openai/gpt-4o-mini",
            "gpt-4.1-mini",
            "text-embedding-3-small",
        ]),
    );
    mock.set_upstream_models(
        2,
        s(&[
            "anthropic/claude-sonnet-4-5:free",
            "claude-3-5-haiku-20241022",
        ]),
    );
}

fn expected_generated(ch: u64) -> Vec<(String, String)> {
    let p = |k: &str, v: &str| (k.to_string(), v.to_string());
    match ch {
        1 => vec![
            p("gpt-4o", "openai/gpt-4o"),
            p("gpt-4o-mini", "openai/gpt-4o-mini"),
        ],
        _ => vec![
            p("claude-sonnet-4-5", "anthropic/claude-sonnet-4-5:free"),
            p("claude-3-5-haiku", "claude-3-5-haiku-20241022"),
        ],
    }
}

fn sync(e: &Engine, chans: &[&ChannelId]) -> RunRecord {
    let sel = chans.iter().map(|c| (*c).clone()).collect();
    block_on(e.run(RunRequest::channels(sel), &())).unwrap()
}

fn statuses(r: &RunRecord) -> Vec<ItemStatus> {
    r.items.iter().map(|i| i.status).collect()
}

/// Top-level fields of two channel JSONs that differ. An empty `model_mapping` is the same
/// mapping whether stored as `null` or `""` (msync writes `""` for "no mapping").
fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let (Value::Object(a), Value::Object(b)) = (before, after) else {
        panic!("not objects");
    };
    let empty = |v: Option<&Value>| {
        matches!(v, None | Some(Value::Null)) || v.and_then(Value::as_str) == Some("")
    };
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .filter(|k| !(k.as_str() == "model_mapping" && empty(a.get(*k)) && empty(b.get(*k))))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

fn mapping_of(e: &Engine, id: &ChannelId) -> Mapping {
    block_on(e.gateway().get_channel(id)).unwrap().mapping
}

fn models_of(e: &Engine, id: &ChannelId) -> Vec<String> {
    block_on(e.gateway().get_channel(id)).unwrap().models
}

#[test]
fn sync_redirect_sync_keeps_redirected_names_routable_and_revert_restores_exactly() {
    for flavor in [Flavor::NewApi, Flavor::DoneHub, Flavor::Axonhub] {
        let mock = MockGateway::start(MockConfig::new(flavor).channels(4).seed(3)).unwrap();
        set_upstreams(&mock);
        let store = Rc::new(MemoryStore::new());
        let e = engine(&mock, &store);
        let ids = ids(&e);
        let (c1, c2) = (&ids[&1], &ids[&2]);
        // keep the targets of the seeded entries upstream, so no entry goes stale here (stale
        // entries: `prune_and_bulk_clear…` and the AxonHub unit tests)
        for (n, id) in [(1u64, c1), (2, c2)] {
            let mut up = mock.upstream_models(n);
            for (_, to) in mapping_of(&e, id).pairs() {
                if !up.contains(to) {
                    up.push(to.clone());
                }
            }
            mock.set_upstream_models(n, up);
        }
        let first = sync(&e, &[c1, c2]);
        assert_eq!(
            statuses(&first),
            vec![ItemStatus::Success; 2],
            "{flavor}: {:?}",
            first.items
        );
        let before_redirect = [mock.channel(1).unwrap(), mock.channel(2).unwrap()];
        let old_pairs = [mapping_of(&e, c1), mapping_of(&e, c2)];
        let others_before = [mock.channel(3).unwrap(), mock.channel(4).unwrap()];

        let r = block_on(e.redirect_after_sync(&first, &()))
            .unwrap()
            .unwrap_or_else(|| panic!("{flavor}: no redirect run"));
        assert_eq!(r.head.mode, RunMode::Redirect);
        assert_eq!(
            statuses(&r),
            vec![ItemStatus::Success; 2],
            "{flavor}: {:?}",
            r.items
        );
        let axon = flavor == Flavor::Axonhub;
        for (n, id) in [(1u64, c1), (2, c2)] {
            let m = mapping_of(&e, id);
            let models = models_of(&e, id);
            // the generated entries, merged after the ones already there
            let mut want: Vec<(String, String)> = old_pairs[n as usize - 1].pairs().to_vec();
            for (k, v) in expected_generated(n) {
                want.retain(|(ok, _)| ok != &k);
                want.push((k, v));
            }
            assert_eq!(sorted(m.pairs().to_vec()), sorted(want), "{flavor} ch{n}");
            for (k, v) in expected_generated(n) {
                if axon {
                    // AxonHub: `to` must be a supported model; the models are not extended
                    assert!(models.contains(&v), "{flavor} ch{n}: {v} in {models:?}");
                    assert!(
                        !models.contains(&k),
                        "{flavor} ch{n}: {k} added to {models:?}"
                    );
                } else {
                    assert!(models.contains(&k), "{flavor} ch{n}: {k} not in {models:?}");
                }
            }
        }
        // only the redirected channels' models and mapping changed
        for (n, before) in [(1u64, &before_redirect[0]), (2, &before_redirect[1])] {
            let after = mock.channel(n).unwrap();
            let changed = changed_fields(before, &after);
            let allowed: &[&str] = match flavor {
                Flavor::Axonhub => &["settings", "updatedAt"],
                _ => &["model_mapping", "models"],
            };
            assert!(
                changed.iter().all(|f| allowed.contains(&f.as_str())),
                "{flavor} ch{n}: {changed:?}"
            );
        }
        assert_eq!(mock.channel(3).unwrap(), others_before[0], "{flavor}");
        assert_eq!(mock.channel(4).unwrap(), others_before[1], "{flavor}");
        let mapping_after = mapping_of(&e, c1);
        let mut models_after = models_of(&e, c1);

        // sync again: the standard names stay listed, the mapping stays intact
        let second = sync(&e, &[c1, c2]);
        assert_eq!(
            statuses(&second),
            vec![ItemStatus::Unchanged; 2],
            "{flavor}: {:?}",
            second.items
        );
        assert_eq!(
            sorted(mapping_of(&e, c1).pairs().to_vec()),
            sorted(mapping_after.pairs().to_vec()),
            "{flavor}"
        );
        let mut models_again = models_of(&e, c1);
        models_again.sort();
        models_after.sort();
        assert_eq!(models_again, models_after, "{flavor}");
        assert!(
            block_on(e.redirect_after_sync(&second, &()))
                .unwrap()
                .is_none(),
            "{flavor}: nothing left to redirect"
        );

        // revert the redirect run: mapping and models exactly as before it
        let back = block_on(e.revert_run(&r.head.id, false, &())).unwrap();
        assert_eq!(
            statuses(&back),
            vec![ItemStatus::Success; 2],
            "{flavor}: {:?}",
            back.items
        );
        for (n, id) in [(1u64, c1), (2, c2)] {
            assert_eq!(
                sorted(mapping_of(&e, id).pairs().to_vec()),
                sorted(old_pairs[n as usize - 1].pairs().to_vec()),
                "{flavor} ch{n}"
            );
            let before = &before_redirect[n as usize - 1];
            let now = mock.channel(n).unwrap();
            let changed = changed_fields(before, &now);
            let allowed: &[&str] = match flavor {
                // AxonHub stamps the update time; an empty list vs no list is the same mapping
                Flavor::Axonhub => &["updatedAt", "settings"],
                _ => &[],
            };
            assert!(
                changed.iter().all(|f| allowed.contains(&f.as_str())),
                "{flavor} ch{n}: {changed:?}\n{before}\n{now}"
            );
        }
    }
}

#[test]
fn prune_and_bulk_clear_write_what_they_should_and_nothing_else() {
    let mock = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(4).seed(3)).unwrap();
    set_upstreams(&mock);
    let store = Rc::new(MemoryStore::new());
    let e = engine(&mock, &store);
    let ids = ids(&e);
    let (c1, c2) = (&ids[&1], &ids[&2]);
    let first = sync(&e, &[c1, c2]);
    block_on(e.redirect_after_sync(&first, &()))
        .unwrap()
        .unwrap();
    let hand_written = mapping_of(&e, c2).pairs().to_vec();

    // the upstream drops gpt-4o-mini; the sync keeps the routed name, prune drops the entry
    mock.set_upstream_models(
        1,
        s(&["openai/gpt-4o", "gpt-4.1-mini", "text-embedding-3-small"]),
    );
    let again = sync(&e, &[c1]);
    assert_eq!(statuses(&again), vec![ItemStatus::Success]);
    let all_before: Vec<Value> = (1..=4).map(|n| mock.channel(n).unwrap()).collect();
    let writes_before = mock.write_counts();
    let preview = block_on(e.preview_redirect(RedirectOp::Prune, None, false)).unwrap();
    assert_eq!(
        mock.write_counts(),
        writes_before,
        "a preview writes nothing"
    );
    let p1 = preview
        .channels
        .iter()
        .find(|p| &p.channel_id == c1)
        .unwrap();
    assert_eq!(p1.status, PlanStatus::Change);
    // exactly the entries whose target is gone (seeded entries may have lost theirs too)
    let models1 = models_of(&e, c1);
    let want: Vec<(String, String)> = mapping_of(&e, c1)
        .pairs()
        .iter()
        .filter(|(_, to)| !models1.contains(to) || to == "openai/gpt-4o-mini")
        .cloned()
        .collect();
    assert!(want.contains(&("gpt-4o-mini".to_string(), "openai/gpt-4o-mini".to_string())));
    assert_eq!(sorted(p1.pruned.clone()), sorted(want));
    let run = block_on(e.apply_stored_redirect(&preview.id, Default::default(), &())).unwrap();
    let written: Vec<&ChannelId> = run
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::Success)
        .map(|i| &i.channel_id)
        .collect();
    assert!(written.contains(&c1), "{:?}", run.items);
    for n in 1..=4u64 {
        let after = mock.channel(n).unwrap();
        let changed = changed_fields(&all_before[n as usize - 1], &after);
        let id = &ids[&n];
        if written.contains(&id) {
            assert_eq!(
                changed,
                vec!["model_mapping"],
                "ch{n}: prune touches the mapping only"
            );
        } else {
            assert!(changed.is_empty(), "ch{n}: {changed:?}");
        }
    }
    let m1 = mapping_of(&e, c1);
    assert!(m1.pairs().iter().all(|(k, _)| k != "gpt-4o-mini"));
    assert!(m1
        .pairs()
        .contains(&("gpt-4o".to_string(), "openai/gpt-4o".to_string())));

    // bulk clear, msync's entries only, with the names it added; channel 2 only
    let before2 = mock.channel(2).unwrap();
    let others: Vec<Value> = [1u64, 3, 4]
        .iter()
        .map(|n| mock.channel(*n).unwrap())
        .collect();
    let clear = RedirectOp::Clear {
        settings: redirect_settings(),
        scope: ClearScope::Generated,
        remove_added_names: true,
    };
    let preview =
        block_on(e.preview_redirect(clear, Some(std::slice::from_ref(c2)), false)).unwrap();
    assert_eq!(preview.channels.len(), 1);
    let e2 = block_on(e.apply_stored_redirect(&preview.id, Default::default(), &())).unwrap_err();
    assert!(e2.message.contains("second confirmation"), "{}", e2.message);
    let run = block_on(e.apply_stored_redirect(
        &preview.id,
        RedirectApplyOptions {
            confirm_clear: true,
            ..Default::default()
        },
        &(),
    ))
    .unwrap();
    assert_eq!(statuses(&run), vec![ItemStatus::Success], "{:?}", run.items);
    let after2 = mock.channel(2).unwrap();
    let mut changed = changed_fields(&before2, &after2);
    changed.sort();
    assert_eq!(changed, vec!["model_mapping", "models"]);
    // exactly the seeded (hand-written) entries are left, and the standard names are gone
    let left = mapping_of(&e, c2).pairs().to_vec();
    let generated = expected_generated(2);
    let want: Vec<(String, String)> = hand_written
        .iter()
        .filter(|p| !generated.contains(p))
        .cloned()
        .collect();
    assert_eq!(sorted(left), sorted(want));
    let models2 = models_of(&e, c2);
    assert!(!models2
        .iter()
        .any(|m| m == "claude-sonnet-4-5" || m == "claude-3-5-haiku"));
    assert!(models2.contains(&"anthropic/claude-sonnet-4-5:free".to_string()));
    for (i, n) in [1u64, 3, 4].iter().enumerate() {
        assert_eq!(
            mock.channel(*n).unwrap(),
            others[i],
            "ch{n} untouched by the clear"
        );
    }
    // and revert of the clear brings channel 2 back exactly
    block_on(e.revert_run(&run.head.id, false, &())).unwrap();
    assert_eq!(mock.channel(2).unwrap(), before2);
}

/// Store an unreadable `model_mapping` on a New API channel, as a hand edit would.
fn put_invalid_mapping(mock: &MockHandle, id: u64, text: &str) {
    let t = ReqwestTransport::new().unwrap();
    let req = Request::new(Method::Put, format!("{}/api/channel/", mock.base_url()))
        .header("Authorization", format!("Bearer {}", mock.token()))
        .header("New-Api-User", "1")
        .json(&json!({"id": id, "model_mapping": text}));
    let resp = block_on(t.send(req)).unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[test]
fn an_unreadable_mapping_is_never_overwritten_without_confirmation() {
    let mock = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(2).seed(3)).unwrap();
    set_upstreams(&mock);
    let store = Rc::new(MemoryStore::new());
    let e = engine(&mock, &store);
    let ids = ids(&e);
    let c1 = &ids[&1];
    let first = sync(&e, &[c1]);
    assert_eq!(statuses(&first), vec![ItemStatus::Success]);
    put_invalid_mapping(&mock, 1, "{\"gpt-4o\": \"openai/gpt-4o\",");
    assert!(matches!(mapping_of(&e, c1), Mapping::Invalid { .. }));
    let before = mock.channel(1).unwrap();
    let writes = mock.writes(1);

    // after a sync: held for review, untouched
    let r = block_on(e.redirect_after_sync(&first, &()))
        .unwrap()
        .unwrap();
    assert_eq!(statuses(&r), vec![ItemStatus::NeedsReview]);
    assert!(r.items[0]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains("cannot be read"));
    // on demand: blocked in the preview, held by apply without the confirmation
    let preview = block_on(e.preview_redirect(
        RedirectOp::Redirect {
            settings: redirect_settings(),
        },
        Some(std::slice::from_ref(c1)),
        false,
    ))
    .unwrap();
    assert!(matches!(
        preview.channels[0].status,
        PlanStatus::Blocked { .. }
    ));
    assert!(
        !preview.channels[0].outcomes.is_empty(),
        "explanations still shown"
    );
    let held = block_on(e.apply_stored_redirect(&preview.id, Default::default(), &())).unwrap();
    assert_eq!(statuses(&held), vec![ItemStatus::NeedsReview]);
    assert_eq!(mock.writes(1), writes, "no write without confirmation");
    assert_eq!(mock.channel(1).unwrap(), before);

    let done = block_on(e.apply_stored_redirect(
        &preview.id,
        RedirectApplyOptions {
            confirm_overwrite_invalid: true,
            ..Default::default()
        },
        &(),
    ))
    .unwrap();
    assert_eq!(
        statuses(&done),
        vec![ItemStatus::Success],
        "{:?}",
        done.items
    );
    assert_eq!(
        sorted(mapping_of(&e, c1).pairs().to_vec()),
        sorted(expected_generated(1))
    );
}

#[test]
fn octopus_is_refused_with_a_clear_message() {
    let mock = MockGateway::start(MockConfig::new(Flavor::Octopus).channels(3)).unwrap();
    let store = Rc::new(MemoryStore::new());
    let e = engine(&mock, &store);
    let err = block_on(e.preview_redirect(
        RedirectOp::Redirect {
            settings: redirect_settings(),
        },
        None,
        false,
    ))
    .unwrap_err();
    assert_eq!(err.class, ErrorClass::Validation);
    assert!(
        err.message
            .contains("Octopus has no per-channel model mapping"),
        "{}",
        err.message
    );
    let first = block_on(e.run(RunRequest::all(), &())).unwrap();
    let writes_after_sync = mock.write_counts();
    assert!(block_on(e.redirect_after_sync(&first, &()))
        .unwrap()
        .is_none());
    assert_eq!(mock.write_counts(), writes_after_sync);
}

#[test]
fn redirect_never_runs_on_a_channel_whose_sync_failed() {
    for flavor in [Flavor::NewApi, Flavor::DoneHub, Flavor::Axonhub] {
        let mock = MockGateway::start(MockConfig::new(flavor).channels(3).seed(3)).unwrap();
        set_upstreams(&mock);
        let store = Rc::new(MemoryStore::new());
        let e = engine(&mock, &store);
        let ids = ids(&e);
        let (c1, c2) = (&ids[&1], &ids[&2]);
        mock.set_fault(
            FaultRule::new(FaultKind::Status {
                status: 502,
                retry_after: None,
                body: None,
            })
            .op(Op::FetchModels)
            .channel(2),
        );
        let run = sync(&e, &[c1, c2]);
        assert_eq!(
            statuses(&run),
            vec![ItemStatus::Success, ItemStatus::Failed],
            "{flavor}: {:?}",
            run.items
        );
        let before2 = mock.channel(2).unwrap();
        let writes2 = mock.writes(2);
        let r = block_on(e.redirect_after_sync(&run, &())).unwrap().unwrap();
        let touched: Vec<&ChannelId> = r.items.iter().map(|i| &i.channel_id).collect();
        assert_eq!(touched, vec![c1], "{flavor}");
        assert_eq!(
            r.items[0].status,
            ItemStatus::Success,
            "{flavor}: {:?}",
            r.items
        );
        assert_eq!(mock.channel(2).unwrap(), before2, "{flavor}");
        assert_eq!(mock.writes(2), writes2, "{flavor}");
        // channel 2 would have had something to map: the upstream lists claude models
        mock.clear_faults();
        let fixed = sync(&e, &[c2]);
        assert_eq!(statuses(&fixed), vec![ItemStatus::Success], "{flavor}");
        let r2 = block_on(e.redirect_after_sync(&fixed, &()))
            .unwrap()
            .unwrap();
        assert_eq!(r2.items.len(), 1, "{flavor}");
        assert_eq!(&r2.items[0].channel_id, c2);
    }
}

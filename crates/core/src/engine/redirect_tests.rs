//! Redirect runs against the in-memory fake gateway, in virtual time.

use super::record::{ItemStatus, Job, RunMode, Trigger};
use super::redirect::{RedirectApplyOptions, RedirectOp};
use super::*;
use crate::error::{Error, ErrorClass};
use crate::gateway::Capabilities;
use crate::model::Mapping;
use crate::redirect::{ClearScope, PlanStatus, RedirectSettings};
use crate::settings::SyncSettings;
use crate::testing::{fake_channel, Latency};

use super::tests::World;

fn redirect_settings(std: &[&str]) -> RedirectSettings {
    RedirectSettings {
        enabled: true,
        presets: Vec::new(),
        standard_models: std.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn op(std: &[&str]) -> RedirectOp {
    RedirectOp::Redirect {
        settings: redirect_settings(std),
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Channel 1: a vendor-path model and a hand-written mapping entry; channel 2: nothing to map.
fn seed(w: &World) {
    let mut one = fake_channel(
        1,
        "one",
        &[
            "anthropic/claude-sonnet-4-5:free",
            "gpt-4o-2024-08-06",
            "mine",
        ],
        None,
    );
    one.mapping = Mapping::Valid {
        pairs: pairs(&[("mine", "gpt-4o-2024-08-06")]),
    };
    w.gw.add(
        one,
        &["anthropic/claude-sonnet-4-5:free", "gpt-4o-2024-08-06"],
    );
    w.gw.add(
        fake_channel(2, "two", &["llama-3-8b"], None),
        &["llama-3-8b"],
    );
}

#[test]
fn preview_then_apply_writes_with_a_snapshot_and_revert_restores_exactly() {
    let mut w = World::new();
    seed(&w);
    let before = w.gw.all_channels();
    let engine = w.engine(&SyncSettings::default());
    let preview = w
        .sim
        .block_on(engine.preview_redirect(op(&["claude-sonnet-4-5", "gpt-4o"]), None, false))
        .unwrap();
    assert!(w.gw.writes().is_empty(), "a preview writes nothing");
    assert_eq!(preview.channels.len(), 2);
    assert_eq!(preview.channels[0].status, PlanStatus::Change);
    assert_eq!(preview.channels[1].status, PlanStatus::Unchanged);
    assert_eq!((preview.totals.change, preview.totals.keys_set), (1, 2));
    // the explanations travel with the preview
    let why: Vec<String> = preview.channels[0]
        .outcomes
        .iter()
        .map(|o| format!("{}: {}", o.standard, o.outcome.describe()))
        .collect();
    assert!(why[1].contains("dated gpt-4o-2024-08-06"), "{why:?}");

    let run = w
        .sim
        .block_on(engine.apply_stored_redirect(&preview.id, Default::default(), &()))
        .unwrap();
    assert_eq!(run.head.mode, RunMode::Redirect);
    assert!(matches!(run.head.job, Job::Redirect { .. }));
    assert_eq!(run.items.len(), 1, "only changes are queued");
    let item = &run.items[0];
    assert_eq!(item.status, ItemStatus::Success, "{item:?}");
    assert!(item.snapshot);
    assert_eq!(item.added, strings(&["claude-sonnet-4-5", "gpt-4o"]));
    assert_eq!(item.mapping_changes.len(), 2);
    let now = w.gw.channel(1).unwrap();
    assert_eq!(
        now.mapping,
        Mapping::Valid {
            pairs: pairs(&[
                ("mine", "gpt-4o-2024-08-06"),
                ("claude-sonnet-4-5", "anthropic/claude-sonnet-4-5:free"),
                ("gpt-4o", "gpt-4o-2024-08-06"),
            ])
        }
    );
    assert_eq!(w.gw.channel(2).unwrap(), before[1], "channel 2 untouched");
    assert_eq!(w.gw.writes().len(), 1);

    let reverted = w
        .sim
        .block_on(engine.revert_run(&run.head.id, false, &()))
        .unwrap();
    assert_eq!(reverted.items[0].status, ItemStatus::Success);
    assert_eq!(
        w.gw.all_channels(),
        before,
        "models and mapping restored exactly"
    );
}

#[test]
fn a_channel_changed_since_the_preview_is_held_unless_forced_and_then_merged_on_its_new_state() {
    let mut w = World::new();
    seed(&w);
    let engine = w.engine(&SyncSettings::default());
    let preview = w
        .sim
        .block_on(engine.preview_redirect(op(&["claude-sonnet-4-5"]), None, false))
        .unwrap();
    // the admin adds an entry meanwhile
    w.gw.edit(1, |c| {
        c.mapping = Mapping::Valid {
            pairs: pairs(&[("mine", "gpt-4o-2024-08-06"), ("x", "mine")]),
        }
    });
    let run = w
        .sim
        .block_on(engine.apply_redirect(&preview, Default::default(), &()))
        .unwrap();
    assert_eq!(run.items[0].status, ItemStatus::NeedsReview);
    assert!(run.items[0]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains("changed since the preview"));
    assert!(w.gw.writes().is_empty());
    let forced = w
        .sim
        .block_on(engine.apply_redirect(
            &preview,
            RedirectApplyOptions {
                force: true,
                ..Default::default()
            },
            &(),
        ))
        .unwrap();
    assert_eq!(forced.items[0].status, ItemStatus::Success);
    assert_eq!(
        w.gw.channel(1).unwrap().mapping.pairs(),
        pairs(&[
            ("mine", "gpt-4o-2024-08-06"),
            ("x", "mine"),
            ("claude-sonnet-4-5", "anthropic/claude-sonnet-4-5:free"),
        ])
        .as_slice(),
        "the admin's new entry survives a forced apply"
    );
}

#[test]
fn an_unreadable_mapping_is_overwritten_only_when_confirmed_and_revert_says_it_cannot_restore_text()
{
    let mut w = World::new();
    let mut c = fake_channel(1, "bad", &["gpt-4o-mini"], None);
    c.mapping = Mapping::Invalid {
        raw: "{oops".into(),
        error: "not JSON".into(),
    };
    w.gw.add(c.clone(), &["gpt-4o-mini"]);
    w.gw.edit(1, |ch| ch.models = strings(&["openai/gpt-4o-mini"]));
    let engine = w.engine(&SyncSettings::default());
    let preview = w
        .sim
        .block_on(engine.preview_redirect(op(&["gpt-4o-mini"]), None, false))
        .unwrap();
    assert!(matches!(
        &preview.channels[0].status,
        PlanStatus::Blocked { why, .. } if why.to_string().contains("cannot be read")
    ));
    let held = w
        .sim
        .block_on(engine.apply_stored_redirect(&preview.id, Default::default(), &()))
        .unwrap();
    assert_eq!(held.items[0].status, ItemStatus::NeedsReview);
    assert!(
        w.gw.writes().is_empty(),
        "never overwritten without confirmation"
    );
    assert!(matches!(
        w.gw.channel(1).unwrap().mapping,
        Mapping::Invalid { .. }
    ));

    let confirmed = w
        .sim
        .block_on(engine.apply_stored_redirect(
            &preview.id,
            RedirectApplyOptions {
                confirm_overwrite_invalid: true,
                ..Default::default()
            },
            &(),
        ))
        .unwrap();
    assert_eq!(confirmed.items[0].status, ItemStatus::Success);
    assert_eq!(
        w.gw.channel(1).unwrap().mapping.pairs(),
        pairs(&[("gpt-4o-mini", "openai/gpt-4o-mini")]).as_slice()
    );
    let back = w
        .sim
        .block_on(engine.revert_run(&confirmed.head.id, false, &()))
        .unwrap();
    assert_eq!(back.items[0].status, ItemStatus::NeedsReview);
    assert!(back.items[0]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains("cannot write back"));
}

#[test]
fn bulk_clear_needs_the_second_confirmation() {
    let mut w = World::new();
    seed(&w);
    let engine = w.engine(&SyncSettings::default());
    let clear = RedirectOp::Clear {
        settings: redirect_settings(&[]),
        scope: ClearScope::All,
        remove_added_names: false,
    };
    let preview = w
        .sim
        .block_on(engine.preview_redirect(clear, Some(&[ChannelId::from(1)]), false))
        .unwrap();
    assert_eq!(preview.channels.len(), 1);
    let e = w
        .sim
        .block_on(engine.apply_redirect(&preview, Default::default(), &()))
        .unwrap_err();
    assert!(e.message.contains("second confirmation"), "{}", e.message);
    assert!(w.gw.writes().is_empty());
    let run = w
        .sim
        .block_on(engine.apply_redirect(
            &preview,
            RedirectApplyOptions {
                confirm_clear: true,
                ..Default::default()
            },
            &(),
        ))
        .unwrap();
    assert_eq!(run.items[0].status, ItemStatus::Success);
    assert_eq!(w.gw.channel(1).unwrap().mapping, Mapping::Empty);
}

#[test]
fn sites_without_mapping_are_refused_with_a_clear_message() {
    let mut w = World::new();
    seed(&w);
    w.gw.set_capabilities(Capabilities {
        model_mapping: false,
        aliases_must_be_listed: false,
        ..Capabilities::default()
    });
    let engine = w.engine(&SyncSettings::default());
    let e = w
        .sim
        .block_on(engine.preview_redirect(op(&["gpt-4o"]), None, false))
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Validation);
    assert!(
        e.message.contains("no per-channel model mapping"),
        "{}",
        e.message
    );
}

#[test]
fn a_stale_preview_id_is_refused() {
    let mut w = World::new();
    seed(&w);
    let engine = w.engine(&SyncSettings::default());
    let first = w
        .sim
        .block_on(engine.preview_redirect(op(&["gpt-4o"]), None, false))
        .unwrap();
    let second = w
        .sim
        .block_on(engine.preview_redirect(op(&["gpt-4o"]), None, false))
        .unwrap();
    assert_ne!(first.id, second.id);
    let e = w
        .sim
        .block_on(engine.apply_stored_redirect(&first.id, Default::default(), &()))
        .unwrap_err();
    assert!(e.message.contains("no longer current"), "{}", e.message);
    // the stored copy drops the explanations but keeps what apply needs
    let stored = w
        .sim
        .block_on(engine.stored_redirect_preview(&second.id))
        .unwrap();
    assert!(stored.channels.iter().all(|c| c.outcomes.is_empty()));
    assert_eq!(stored.channels[0].update, second.channels[0].update);
}

#[test]
fn redirect_after_sync_never_touches_a_channel_whose_sync_failed() {
    let mut w = World::new();
    for id in 1..=3 {
        w.gw.add(
            fake_channel(id, &format!("c{id}"), &["old"], None),
            &["openai/gpt-4o", "old"],
        );
    }
    w.gw.fail_fetch(
        2,
        vec![Error::new(ErrorClass::Auth, "upstream said 401").with_status(401)],
    );
    let settings = SyncSettings {
        redirect: redirect_settings(&["gpt-4o"]),
        ..Default::default()
    };
    let engine = w.engine(&settings);
    let sync = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let st: Vec<ItemStatus> = sync.items.iter().map(|i| i.status).collect();
    assert_eq!(
        st,
        vec![ItemStatus::Success, ItemStatus::Failed, ItemStatus::Success]
    );
    let writes_after_sync = w.gw.writes().len();
    let r = w
        .sim
        .block_on(engine.redirect_after_sync(&sync, &()))
        .unwrap()
        .unwrap();
    assert_eq!(r.head.mode, RunMode::Redirect);
    assert!(
        matches!(&r.head.job, Job::Redirect { after_sync: Some(id), .. } if *id == sync.head.id)
    );
    let ids: Vec<String> = r.items.iter().map(|i| i.channel_id.0.clone()).collect();
    assert_eq!(ids, vec!["1", "3"]);
    assert!(r.items.iter().all(|i| i.status == ItemStatus::Success));
    let redirect_writes: Vec<String> = w.gw.writes()[writes_after_sync..]
        .iter()
        .map(|x| x.channel.0.clone())
        .collect();
    assert_eq!(redirect_writes, vec!["1", "3"]);
    assert_eq!(w.gw.channel(2).unwrap().mapping, Mapping::Empty);
    assert_eq!(w.gw.channel(2).unwrap().models, strings(&["old"]));

    // a second sync keeps the standard names (routed aliases), and redirect has nothing to do
    let again = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert!(w
        .gw
        .channel(1)
        .unwrap()
        .models
        .contains(&"gpt-4o".to_string()));
    assert_eq!(again.items[0].status, ItemStatus::Unchanged);
    // channel 2 now syncs; redirect after it maps channel 2 only
    let r2 = w
        .sim
        .block_on(engine.redirect_after_sync(&again, &()))
        .unwrap()
        .unwrap();
    let ids: Vec<String> = r2.items.iter().map(|i| i.channel_id.0.clone()).collect();
    assert_eq!(ids, vec!["2"]);
    // "retry failed only" still looks at the sync run, not at the redirect run
    assert!(w
        .sim
        .block_on(engine.history().last_sync_run())
        .unwrap()
        .is_some_and(|l| l.head.id == again.head.id));

    // off: nothing
    let mut off = settings.clone();
    off.redirect.enabled = false;
    let quiet = w.engine(&off);
    assert!(w
        .sim
        .block_on(quiet.redirect_after_sync(&again, &()))
        .unwrap()
        .is_none());
}

#[test]
fn an_interrupted_redirect_run_resumes_without_writing_twice() {
    let mut w = World::new();
    for id in 1..=4 {
        w.gw.add(
            fake_channel(id, &format!("c{id}"), &["x/gpt-4o"], None),
            &["x/gpt-4o"],
        );
    }
    w.gw.set_latency(Latency {
        write_after_ms: 1_000,
        ..Default::default()
    });
    let settings = SyncSettings {
        concurrency: 1,
        ..Default::default()
    };
    let engine = w.engine(&settings);
    let preview = w
        .sim
        .block_on(engine.preview_redirect(op(&["gpt-4o"]), None, false))
        .unwrap();
    // stop while the second write has landed but its reply is on the way
    let stopped = w
        .sim
        .run_until(engine.apply_redirect(&preview, Default::default(), &()), {
            let gw = w.gw.clone();
            move |_| gw.writes().len() >= 2
        });
    assert!(stopped.is_none());
    drop(engine);
    let r = w
        .sim
        .block_on(w.engine(&settings).resume(&()))
        .unwrap()
        .unwrap();
    assert_eq!(r.head.trigger, Trigger::Resume);
    assert!(
        r.items.iter().all(|i| i.status == ItemStatus::Success),
        "{:?}",
        r.items
    );
    let counts = w.gw.write_counts();
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_eq!(counts.len(), 4);
    for id in 1..=4 {
        assert_eq!(
            w.gw.channel(id).unwrap().mapping.pairs(),
            pairs(&[("gpt-4o", "x/gpt-4o")]).as_slice()
        );
    }
}

//! Issue 21: the probe step in virtual time, against the fake gateway's scripted channel test.

use super::tests::World;
use super::*;
use crate::clock::Clock;
use crate::probe::{CannotProbe, ChannelTest, OnCannotProbe, ProbeFailure, ProbeOutcome};
use crate::settings::SyncSettings;
use crate::testing::{fake_channel, FakeProbe};

const NEW_API_TEST: ChannelTest = ChannelTest::Supported {
    may_disable_channel: false,
    updates_response_time: true,
    logged_as_usage: true,
};

fn world(upstream: &[&str]) -> World {
    let w = World::new();
    w.gw.set_channel_test(NEW_API_TEST);
    w.gw.add(fake_channel(1, "main", &["old-a"], None), upstream);
    w
}

fn probing() -> SyncSettings {
    let mut s = SyncSettings::default();
    s.probe.enabled = true;
    s
}

fn outcome_of<'a>(item: &'a ItemResult, model: &str) -> &'a crate::probe::ModelProbe {
    item.probes
        .iter()
        .find(|p| p.model == model)
        .unwrap_or_else(|| panic!("no probe of {model}: {:?}", item.probes))
}

#[test]
fn only_models_that_pass_are_added_and_failures_keep_the_gateways_answer() {
    let mut w = world(&["old-a", "good", "bad"]);
    w.gw.script_probe(
        "bad",
        FakeProbe::Fail("The model `bad` does not exist or you do not have access to it.".into()),
    );
    let engine = w.engine(&probing());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let item = &r.items[0];
    assert_eq!(item.status, ItemStatus::Success);
    assert_eq!(item.added, ["good"]);
    assert_eq!(w.gw.channel(1).unwrap().models, ["old-a", "good"]);
    let bad = outcome_of(item, "bad");
    assert!(bad.held_back);
    match &bad.outcome {
        ProbeOutcome::Failed { failure, answer } => {
            assert_eq!(*failure, ProbeFailure::ModelNotFound);
            assert_eq!(answer.http_status, 200);
            assert!(answer
                .message
                .as_deref()
                .unwrap()
                .contains("does not exist"));
        }
        o => panic!("{o:?}"),
    }
    assert!(!outcome_of(item, "good").held_back);
    // The model already on the channel was never probed.
    let sent: Vec<String> = w.gw.probes().into_iter().map(|(_, m)| m).collect();
    assert_eq!(sent, ["good", "bad"]);
    // History keeps the probes.
    let stored = w
        .sim
        .block_on(engine.history().item(&r.head.id, &ChannelId::from(1)))
        .unwrap()
        .unwrap();
    assert_eq!(stored.probes, item.probes);
}

#[test]
fn a_channel_whose_only_new_model_fails_is_unchanged() {
    let mut w = world(&["old-a", "bad"]);
    w.gw.script_probe("bad", FakeProbe::Fail("insufficient_quota".into()));
    let engine = w.engine(&probing());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.items[0].status, ItemStatus::Unchanged);
    assert!(w.gw.writes().is_empty());
    assert!(r.items[0].probes[0].held_back);
}

#[test]
fn the_cache_prevents_a_second_probe_within_the_ttl_and_expires_after_it() {
    let mut w = world(&["old-a", "bad"]);
    w.gw.script_probe("bad", FakeProbe::Fail("model not found".into()));
    let engine = w.engine(&probing());
    w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(w.gw.probes().len(), 1);
    // Six days later: cached, not sent again, still held back.
    w.clock.advance_to(w.clock.now_ms() + 6 * 86_400_000);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(w.gw.probes().len(), 1);
    let p = &r.items[0].probes[0];
    assert!(p.held_back && p.cached_from_ms.is_some());
    // Past seven days: probed again, and now it passes.
    w.clock.advance_to(w.clock.now_ms() + 2 * 86_400_000);
    w.gw.script_probe("bad", FakeProbe::Pass);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(w.gw.probes().len(), 2);
    assert_eq!(r.items[0].added, ["bad"]);
}

#[test]
fn the_budgets_cap_probes_per_channel_and_per_run() {
    let mut w = World::new();
    w.gw.set_channel_test(NEW_API_TEST);
    w.gw.add(fake_channel(1, "a", &[], None), &["a1", "a2", "a3"]);
    w.gw.add(fake_channel(2, "b", &[], None), &["b1", "b2"]);
    let mut s = probing();
    s.probe.max_per_channel = 2;
    s.probe.max_per_run = 3;
    s.concurrency = 1;
    let engine = w.engine(&s);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(w.gw.probes().len(), 3);
    let why = |item: &ItemResult, m: &str| match &outcome_of(item, m).outcome {
        ProbeOutcome::CannotProbe { why } => Some(why.clone()),
        _ => None,
    };
    assert_eq!(why(&r.items[0], "a3"), Some(CannotProbe::ChannelBudget));
    assert_eq!(why(&r.items[1], "b2"), Some(CannotProbe::RunBudget));
    // "Could not probe" adds by default…
    assert_eq!(r.items[0].added, ["a1", "a2", "a3"]);
    // …or holds back when the setting says so.
    let mut w = World::new();
    w.gw.set_channel_test(NEW_API_TEST);
    w.gw.add(fake_channel(1, "a", &[], None), &["a1", "a2", "a3"]);
    s.probe.on_cannot_probe = OnCannotProbe::HoldBack;
    let engine = w.engine(&s);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.items[0].added, ["a1", "a2"]);
}

#[test]
fn a_gateway_without_a_channel_test_says_it_cannot_probe_and_sends_nothing() {
    let mut w = World::new();
    w.gw.add(fake_channel(1, "a", &["x"], None), &["x", "y"]);
    let engine = w.engine(&probing());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert!(w.gw.probes().is_empty());
    let p = &r.items[0].probes[0];
    assert_eq!(
        p.outcome,
        ProbeOutcome::CannotProbe {
            why: CannotProbe::NoEndpoint
        }
    );
    assert!(!p.held_back);
    assert_eq!(r.items[0].added, ["y"]);
}

#[test]
fn a_probe_that_hangs_times_out_as_could_not_probe() {
    let mut w = world(&["old-a", "slow"]);
    w.gw.script_probe("slow", FakeProbe::Hang);
    let mut s = probing();
    s.probe.on_cannot_probe = OnCannotProbe::HoldBack;
    let engine = w.engine(&s);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(
        r.items[0].probes[0].outcome,
        ProbeOutcome::CannotProbe {
            why: CannotProbe::Timeout
        }
    );
    assert_eq!(r.items[0].status, ItemStatus::Unchanged);
}

#[test]
fn a_dry_run_sends_nothing_and_estimates_within_the_budget() {
    let mut w = world(&["old-a", "n1", "n2", "n3"]);
    let mut s = probing();
    s.probe.max_per_channel = 2;
    let engine = w.engine(&s);
    let r = w
        .sim
        .block_on(engine.run(RunRequest::all().dry_run(), &()))
        .unwrap();
    assert!(w.gw.probes().is_empty());
    let would = r.items[0]
        .probes
        .iter()
        .filter(|p| p.outcome == ProbeOutcome::WouldProbe)
        .count();
    assert_eq!(would, 2);
}

#[test]
fn probing_off_changes_nothing() {
    let mut w = world(&["old-a", "bad"]);
    w.gw.script_probe("bad", FakeProbe::Fail("nope".into()));
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert!(w.gw.probes().is_empty());
    assert!(r.items[0].probes.is_empty());
    assert_eq!(r.items[0].added, ["bad"]);
}

#[test]
fn failures_in_a_row_and_the_last_good_sync_are_kept_per_channel() {
    let mut w = world(&["old-a", "n"]);
    let engine = w.engine(&SyncSettings::default());
    let health = |w: &mut World| {
        let store = w.store.clone();
        w.sim
            .block_on(async move {
                crate::probe::HealthStore::new(&*store, crate::testing::fake_site().id)
                    .get(&ChannelId::from(1))
                    .await
            })
            .unwrap()
    };
    for _ in 0..3 {
        w.gw.fail_fetch(
            1,
            vec![crate::error::Error::new(crate::error::ErrorClass::Validation, "refused"); 1],
        );
        w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    }
    let h = health(&mut w);
    assert_eq!((h.failures_in_row, h.last_good_ms), (3, None));
    w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let h = health(&mut w);
    assert_eq!(h.failures_in_row, 0);
    assert!(h.last_good_ms.is_some());
}

/// Issue 19 with issue 21: the price check runs before the probe step, so a model the price
/// check holds back costs no probe; the entry that confirms it leaves out what the probe
/// refused, and applying it adds (and probes) the held model.
#[test]
fn the_price_check_holds_back_before_anything_is_probed() {
    use crate::pricing::{PriceBook, PriceCheckMode};
    use crate::reason::{ItemReason, ReviewReason};
    let mut w = world(&["old-a", "good", "bad", "unpriced"]);
    w.gw.set_prices(PriceBook::new(["old-a", "good", "bad"], Vec::<&str>::new()));
    w.gw.script_probe("bad", FakeProbe::Fail("model not found".into()));
    let mut s = probing();
    s.price_check.mode = PriceCheckMode::HoldBack;
    let engine = w.engine(&s);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let item = &r.items[0];
    let sent: Vec<String> = w.gw.probes().into_iter().map(|(_, m)| m).collect();
    assert_eq!(sent, ["good", "bad"], "the unpriced model was not probed");
    assert_eq!(item.status, ItemStatus::NeedsReview);
    assert_eq!(
        item.reason,
        Some(ItemReason::Review(ReviewReason::NoPrice {
            count: 1,
            unknown: false
        }))
    );
    assert_eq!(item.price.as_ref().unwrap().held, ["unpriced"]);
    assert_eq!(w.gw.channel(1).unwrap().models, ["old-a", "good"]);
    let plan = w
        .sim
        .block_on(engine.history().plan(&r.head.id))
        .unwrap()
        .unwrap();
    let entry = &plan.channels[0];
    assert_eq!(entry.before.models, ["old-a", "good"]);
    assert_eq!(entry.added, ["unpriced"], "the refused model stays out");
    assert!(!entry.new.contains(&"bad".to_string()));
    let applied = w
        .sim
        .block_on(engine.apply_plan(plan.clone(), ApplyOptions::default(), &()))
        .unwrap();
    assert_eq!(applied.items[0].status, ItemStatus::Success, "{applied:?}");
    assert_eq!(
        w.gw.channel(1).unwrap().models,
        ["old-a", "good", "unpriced"]
    );
    let sent: Vec<String> = w.gw.probes().into_iter().map(|(_, m)| m).collect();
    assert_eq!(
        sent,
        ["good", "bad", "unpriced"],
        "applying probes the held model"
    );
}

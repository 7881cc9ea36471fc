//! Engine behaviour in virtual time, against the in-memory fake gateway.

use super::limit::{max_in_window, Limits};
use super::record::{ItemStatus, RunMode, RunState, Trigger};
use super::retry::{backoff_ceiling_ms, SplitMix64};
use super::*;
use crate::error::{Error, ErrorClass};
use crate::history::{export_csv, export_json, ItemQuery, CSV_HEADER};
use crate::model::Mapping;
use crate::settings::{ChannelConfig, LimitScope, SiteDefaults, SyncSettings};
use crate::sim::{Sim, SimClock};
use crate::store::MemoryStore;
use crate::testing::{fake_channel, FakeGateway, Latency};
use proptest::prelude::*;
use std::cell::RefCell;

/// A fake gateway and store in virtual time; shared with `redirect_tests`.
pub(super) struct World {
    pub(super) sim: Sim,
    pub(super) clock: SimClock,
    pub(super) gw: Rc<FakeGateway>,
    pub(super) store: Rc<MemoryStore>,
}

impl World {
    pub(super) fn new() -> World {
        let sim = Sim::new();
        let clock = sim.clock();
        let gw = Rc::new(FakeGateway::new(Rc::new(clock.clone())));
        World {
            sim,
            clock,
            gw,
            store: Rc::new(MemoryStore::new()),
        }
    }

    /// A new engine over the same gateway and store (a restarted worker is a new engine).
    pub(super) fn engine(&self, settings: &SyncSettings) -> Engine {
        let limits = Limits::recording(Rc::new(self.clock.clone()), &settings.rate);
        self.gw.set_admin_bucket(limits.site_bucket());
        Engine::new(
            EngineDeps {
                gateway: self.gw.clone(),
                clock: Rc::new(self.clock.clone()),
                store: self.store.clone(),
                limits: Some(limits),
                rng: Box::new(SplitMix64(7)),
            },
            settings.clone(),
        )
        .unwrap()
    }

    fn now(&self) -> u64 {
        self.clock.now_ms()
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `n` channels on `hosts` upstream hosts (round robin), each gaining one model upstream.
fn populate(w: &World, n: usize, hosts: usize) {
    for i in 0..n {
        let host = format!("https://up{}.example", i % hosts.max(1));
        let old = names(&format!("m{i}"), 3);
        let mut new = old.clone();
        new.push(format!("m{i}-new"));
        w.gw.add(
            fake_channel(i as i64 + 1, &format!("ch{i}"), &refs(&old), Some(&host)),
            &refs(&new),
        );
    }
}

fn statuses(r: &RunRecord) -> Vec<ItemStatus> {
    r.items.iter().map(|i| i.status).collect()
}

#[test]
fn a_100_channel_run_at_rpm_20_takes_the_bound_and_no_window_exceeds_it() {
    let mut w = World::new();
    populate(&w, 100, 1);
    w.gw.set_latency(Latency {
        fetch_ms: 200,
        write_before_ms: 50,
        ..Default::default()
    });
    let settings = SyncSettings::default();
    let engine = w.engine(&settings);
    let t0 = w.now();
    let record = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let elapsed = w.now() - t0;
    assert!(statuses(&record).iter().all(|s| *s == ItemStatus::Success));
    assert_eq!(record.head.totals.success, 100);
    // 5 fetches at once, then one every 3 s: (100 − 5) × 3 s.
    let bound = 95 * 3_000;
    assert!(elapsed >= bound, "{elapsed} < {bound}");
    assert!(
        elapsed as f64 <= bound as f64 * 1.05,
        "{elapsed} > bound × 1.05"
    );
    for (key, bucket) in engine.limits().fetch_buckets() {
        let times = bucket.admissions();
        assert_eq!(times.len(), 100, "{key}");
        assert!(max_in_window(&times, 60_000) <= 25);
    }
    let site = engine.limits().site_bucket().admissions();
    assert_eq!(
        site.len(),
        1 + 100 + 100 + 100,
        "list + fetches + compare-reads + writes all take a site token"
    );
    assert!(max_in_window(&site, 60_000) <= 130);
}

#[test]
fn per_host_buckets_run_hosts_in_parallel_and_global_does_not() {
    let run = |scope: LimitScope| {
        let mut w = World::new();
        populate(&w, 40, 2);
        let mut settings = SyncSettings::default();
        settings.rate.scope = scope;
        // The fetch buckets under test, not the site-wide one.
        settings.rate.site_rpm = 600;
        let engine = w.engine(&settings);
        let t0 = w.now();
        let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
        assert_eq!(r.head.totals.success, 40);
        for (_, b) in engine.limits().fetch_buckets() {
            assert!(max_in_window(&b.admissions(), 60_000) <= 25);
        }
        (w.now() - t0, engine.limits().fetch_buckets().len())
    };
    let (per_host, buckets) = run(LimitScope::PerHost);
    assert_eq!(buckets, 2);
    assert!(per_host <= 15 * 3_000 + 3_000, "{per_host}");
    let (global, buckets) = run(LimitScope::Global);
    assert_eq!(buckets, 1);
    assert!(global >= 35 * 3_000, "{global}");
}

#[test]
fn concurrency_is_never_exceeded() {
    for conc in [1u32, 3, 8] {
        let mut w = World::new();
        populate(&w, 40, 40);
        w.gw.set_latency(Latency {
            fetch_ms: 1_000,
            ..Default::default()
        });
        let settings = SyncSettings {
            concurrency: conc,
            ..Default::default()
        };
        let engine = w.engine(&settings);
        let max_flight = Rc::new(Cell::new(0));
        struct Watch(Rc<Cell<usize>>);
        impl Observer for Watch {
            fn on_progress(&self, p: &Progress) {
                self.0.set(self.0.get().max(p.in_flight.len()));
            }
        }
        let r = w
            .sim
            .block_on(engine.run(RunRequest::all(), &Watch(max_flight.clone())))
            .unwrap();
        assert_eq!(r.head.totals.success, 40);
        assert_eq!(
            w.gw.max_concurrent_fetches(),
            conc as usize,
            "concurrency {conc}"
        );
        assert_eq!(max_flight.get(), conc as usize);
    }
}

#[test]
fn retry_after_is_honoured_and_a_429_slows_the_bucket() {
    let mut w = World::new();
    populate(&w, 1, 1);
    let e = Error::new(ErrorClass::RateLimited, "HTTP 429: slow down")
        .with_status(429)
        .with_retry_after(Some(30_000));
    w.gw.fail_fetch(1, vec![e]);
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.items[0].status, ItemStatus::Success);
    assert_eq!(r.items[0].attempts, 2);
    let f = w.gw.fetches();
    let gap = f[1].1 - f[0].1;
    // Retry-After 30 s, then the slowed bucket (2 tokens at 1 per 3 s, refilled after the block).
    assert_eq!(gap, 30_000 + 6_000, "{gap}");
}

#[test]
fn backoff_waits_stay_within_the_jittered_ceilings() {
    let mut w = World::new();
    populate(&w, 1, 1);
    let net = || Error::new(ErrorClass::Network, "connection refused");
    w.gw.fail_fetch(1, vec![net(), net(), net()]);
    let mut settings = SyncSettings::default();
    settings.rate.rpm = 600;
    settings.rate.burst = 50;
    settings.retry.base_ms = 4_000;
    let engine = w.engine(&settings);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.items[0].attempts, 4);
    assert_eq!(r.items[0].status, ItemStatus::Success);
    let f = w.gw.fetches();
    let mut total = 0;
    for k in 1..4 {
        let gap = f[k].1 - f[k - 1].1;
        assert!(
            gap <= backoff_ceiling_ms(&settings.retry, k as u32),
            "retry {k}: {gap}"
        );
        total += gap;
    }
    assert!(total > 0, "full jitter, not zero waits");
}

#[test]
fn only_retryable_failures_are_retried() {
    let rows = [
        (Error::new(ErrorClass::Auth, "HTTP 401").with_status(401), 1),
        (
            Error::new(ErrorClass::Permission, "HTTP 403").with_status(403),
            1,
        ),
        (
            Error::new(ErrorClass::NotFound, "HTTP 404").with_status(404),
            1,
        ),
        (
            Error::new(ErrorClass::Validation, "HTTP 400").with_status(400),
            1,
        ),
        (
            Error::invalid_response("an HTML page (Cloudflare?) instead of JSON"),
            1,
        ),
        (
            Error::new(ErrorClass::Server, "HTTP 503").with_status(503),
            4,
        ),
        (
            Error::new(ErrorClass::Upstream, "upstream status code: 502"),
            4,
        ),
        (Error::new(ErrorClass::Network, "connection refused"), 4),
        (Error::new(ErrorClass::Timeout, "timed out"), 4),
    ];
    for (err, want_attempts) in rows {
        let mut w = World::new();
        populate(&w, 1, 1);
        w.gw.fail_fetch(1, vec![err.clone(); 10]);
        let engine = w.engine(&SyncSettings::default());
        let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
        let item = &r.items[0];
        assert_eq!(item.status, ItemStatus::Failed, "{err:?}");
        assert_eq!(item.attempts, want_attempts, "{err:?}");
        assert_eq!(w.gw.fetches().len(), want_attempts as usize);
        assert_eq!(item.error_class, Some(err.class));
        assert_eq!(item.http_status, err.http_status);
        assert!(w.gw.writes().is_empty(), "nothing written on failure");
    }
}

#[test]
fn a_channel_over_its_time_limit_fails_alone() {
    let mut w = World::new();
    populate(&w, 3, 3);
    w.gw.hang_fetch(2);
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let item = r.item(&ChannelId::from(2)).unwrap();
    assert_eq!(item.status, ItemStatus::Failed);
    assert_eq!(item.error_class, Some(ErrorClass::Timeout));
    assert_eq!(item.duration_ms, 120_000);
    assert!(item.message.as_deref().unwrap().contains("120 s limit"));
    assert_eq!(r.head.totals.success, 2);
    // A time limit also bounds retries: a slow retryable failure stops at the limit.
    let mut w = World::new();
    populate(&w, 1, 1);
    let slow = Error::new(ErrorClass::RateLimited, "429")
        .with_status(429)
        .with_retry_after(Some(100_000));
    w.gw.fail_fetch(1, vec![slow.clone(), slow]);
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let item = &r.items[0];
    assert_eq!(
        item.error_class,
        Some(ErrorClass::RateLimited),
        "the real cause is reported"
    );
    assert!(
        item.error_text().unwrap().contains("no time left"),
        "{item:?}"
    );
    // Retry-After 100 s, then 2 slowed tokens (6 s); the second 100 s wait would pass the limit.
    assert_eq!(item.duration_ms, 106_000);
    assert_eq!(item.attempts, 2);
}

#[test]
fn guards_hold_empty_replies_and_mass_removals_and_a_plan_confirms() {
    let mut w = World::new();
    w.gw.add(fake_channel(1, "empty-reply", &["a", "b"], None), &[]);
    w.gw.add(
        fake_channel(2, "mass-removal", &["a", "b", "c", "d"], None),
        &["a"],
    );
    w.gw.add(fake_channel(3, "fine", &["a"], None), &["a", "b"]);
    w.gw.add(
        fake_channel(4, "same", &["b", "a"], None),
        &["a", " b", "a"],
    );
    let mut disabled = fake_channel(5, "disabled", &["a"], None);
    disabled.enabled = false;
    w.gw.add(disabled, &["x"]);
    w.gw.add(fake_channel(6, "excluded", &["a"], None), &["x"]);
    let mut settings = SyncSettings::default();
    settings.channels.insert(
        "6".into(),
        ChannelConfig {
            excluded: true,
            ..Default::default()
        },
    );
    let engine = w.engine(&settings);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    use ItemStatus::*;
    assert_eq!(
        statuses(&r),
        vec![Skipped, NeedsReview, Success, Unchanged, Skipped, Skipped]
    );
    assert!(r.items[0]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains("empty model list"));
    assert!(r.items[4]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains("disabled"));
    assert!(r.items[5]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains("excluded"));
    assert_eq!(w.gw.writes().len(), 1);
    assert_eq!(w.gw.channel(2).unwrap().models, vec!["a", "b", "c", "d"]);

    // Dry run: plan only, nothing written.
    let (plan_run, plan) = w.sim.block_on(engine.plan(Selection::All, &())).unwrap();
    assert_eq!(plan_run.head.mode, RunMode::DryRun);
    assert_eq!(w.gw.writes().len(), 1);
    let ids: Vec<&str> = plan.writes().map(|c| c.channel_id.0.as_str()).collect();
    assert_eq!(ids, vec!["2"]);
    let stored = w
        .sim
        .block_on(engine.history().plan(&plan_run.head.id))
        .unwrap()
        .unwrap();
    assert_eq!(stored, plan);

    // Applying the plan confirms the mass removal.
    let applied = w
        .sim
        .block_on(engine.apply_plan(plan, ApplyOptions::default(), &()))
        .unwrap();
    assert_eq!(statuses(&applied), vec![Success]);
    assert_eq!(w.gw.channel(2).unwrap().models, vec!["a"]);
}

#[test]
fn apply_refuses_a_channel_changed_since_the_plan_unless_forced() {
    let mut w = World::new();
    w.gw.add(fake_channel(1, "one", &["a", "b", "c"], None), &["x"]);
    let engine = w.engine(&SyncSettings::default());
    let (_, plan) = w.sim.block_on(engine.plan(Selection::All, &())).unwrap();
    w.gw.edit(1, |c| c.models.push("hand-added".into()));
    let r = w
        .sim
        .block_on(engine.apply_plan(plan.clone(), ApplyOptions::default(), &()))
        .unwrap();
    assert_eq!(r.items[0].status, ItemStatus::NeedsReview);
    assert!(r.items[0]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains("changed since the plan"));
    assert!(w.gw.writes().is_empty());
    let forced = ApplyOptions {
        force: true,
        channels: None,
    };
    let r = w
        .sim
        .block_on(engine.apply_plan(plan, forced, &()))
        .unwrap();
    assert_eq!(r.items[0].status, ItemStatus::Success);
    assert_eq!(w.gw.channel(1).unwrap().models, vec!["x"]);
    // The snapshot is of the channel as re-read, so a revert restores the hand edit too.
    let rv = w
        .sim
        .block_on(engine.revert_run(&r.head.id, false, &()))
        .unwrap();
    assert_eq!(rv.items[0].status, ItemStatus::Success);
    assert_eq!(
        w.gw.channel(1).unwrap().models,
        vec!["a", "b", "c", "hand-added"]
    );
}

#[test]
fn routed_aliases_survive_a_sync() {
    let mut w = World::new();
    let mut ch = fake_channel(1, "or", &["gpt-4o", "openai/gpt-4o:free"], None);
    ch.mapping = Mapping::Valid {
        pairs: vec![("gpt-4o".into(), "openai/gpt-4o:free".into())],
    };
    w.gw.add(ch, &["openai/gpt-4o:free", "openai/o1"]);
    let engine = w.engine(&SyncSettings::default());
    w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let after = w.gw.channel(1).unwrap();
    assert_eq!(
        after.models,
        vec!["openai/gpt-4o:free", "openai/o1", "gpt-4o"]
    );
    // A second sync changes nothing.
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.items[0].status, ItemStatus::Unchanged);
}

#[test]
fn revert_refuses_a_channel_changed_after_the_write_unless_forced() {
    let mut w = World::new();
    populate(&w, 2, 1);
    let before: Vec<_> = w.gw.all_channels();
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    w.gw.edit(2, |c| c.models.push("later-edit".into()));
    let rv = w
        .sim
        .block_on(engine.revert_run(&r.head.id, false, &()))
        .unwrap();
    assert_eq!(
        statuses(&rv),
        vec![ItemStatus::Success, ItemStatus::NeedsReview]
    );
    assert_eq!(rv.head.mode, RunMode::Revert);
    assert_eq!(w.gw.channel(1).unwrap(), before[0]);
    assert!(w
        .gw
        .channel(2)
        .unwrap()
        .models
        .contains(&"later-edit".to_string()));
    let rv = w
        .sim
        .block_on(engine.revert_channel(&r.head.id, &ChannelId::from(2), true, &()))
        .unwrap();
    assert_eq!(rv.items[0].status, ItemStatus::Success);
    assert_eq!(w.gw.channel(2).unwrap(), before[1]);
    // Reverting again: already as in the snapshot, nothing written.
    let writes = w.gw.writes().len();
    let rv = w
        .sim
        .block_on(engine.revert_run(&r.head.id, false, &()))
        .unwrap();
    assert_eq!(
        statuses(&rv),
        vec![ItemStatus::Unchanged, ItemStatus::Unchanged]
    );
    assert_eq!(w.gw.writes().len(), writes);
    let e = w
        .sim
        .block_on(engine.revert_channel(&r.head.id, &ChannelId::from(99), false, &()))
        .unwrap_err();
    assert!(e.message.contains("no snapshot"));
}

/// One generated channel: indexes into [`POOL`] for its models and its upstream's, which
/// mapping it holds (0 empty, 1 valid, 2 unreadable), and its faults.
#[derive(Debug, Clone)]
struct ChannelSpec {
    models: Vec<usize>,
    upstream: Vec<usize>,
    mapping: u8,
    enabled: bool,
    host: u8,
    fetch_fault: bool,
    write_fault: bool,
}

/// Messy model names: padding, non-ASCII, vendor paths, empty.
const POOL: [&str; 10] = [
    "a", "b", "c", "d", " e", "f ", "gpt-4o", "模型", "x/y:free", "",
];

fn channel_spec() -> impl Strategy<Value = ChannelSpec> {
    let names = || proptest::collection::vec(0..POOL.len(), 0..7);
    (
        names(),
        names(),
        0u8..3,
        proptest::bool::weighted(0.875),
        0u8..3,
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.17),
    )
        .prop_map(
            |(models, upstream, mapping, enabled, host, fetch_fault, write_fault)| ChannelSpec {
                models,
                upstream,
                mapping,
                enabled,
                host,
                fetch_fault,
                write_fault,
            },
        )
}

/// A world holding the generated channels.
fn world_of(specs: &[ChannelSpec], fetch_ms: u64) -> World {
    let w = World::new();
    for (i, spec) in specs.iter().enumerate() {
        let id = i as i64 + 1;
        let pick = |ix: &[usize]| -> Vec<&str> { ix.iter().map(|&k| POOL[k]).collect() };
        let mut ch = fake_channel(
            id,
            &format!("c{i}"),
            &pick(&spec.models),
            Some(&format!("https://h{}.x", spec.host)),
        );
        ch.mapping = match spec.mapping {
            0 => Mapping::Empty,
            1 => Mapping::Valid {
                pairs: vec![("gpt-4o".into(), "x/y:free".into())],
            },
            _ => Mapping::Invalid {
                raw: "{bad".into(),
                error: "not JSON".into(),
            },
        };
        ch.enabled = spec.enabled;
        w.gw.add(ch, &pick(&spec.upstream));
        if spec.fetch_fault {
            w.gw.fail_fetch(
                id,
                vec![Error::new(ErrorClass::Server, "HTTP 502").with_status(502)],
            );
        }
        if spec.write_fault {
            w.gw.fail_write(id, vec![Error::new(ErrorClass::Network, "reset")]);
        }
    }
    w.gw.set_latency(Latency {
        list_ms: 20,
        get_ms: 10,
        fetch_ms,
        write_before_ms: 30,
        write_after_ms: 30,
    });
    w
}

proptest! {
    // Cases that write nothing are rejected, not passed: a generator that stopped producing
    // changes would exhaust the reject budget and fail the test.
    #![proptest_config(ProptestConfig {
        cases: 48,
        max_global_rejects: 48,
        ..ProptestConfig::default()
    })]

    #[test]
    fn property_apply_then_revert_restores_every_channel_exactly(
        specs in proptest::collection::vec(channel_spec(), 3..13),
        fetch_ms in 100u64..600,
        allow_empty in proptest::bool::ANY,
        via_plan in proptest::bool::ANY,
    ) {
        let mut w = world_of(&specs, fetch_ms);
        let original = w.gw.all_channels();
        let settings = SyncSettings {
            allow_empty,
            ..Default::default()
        };
        let engine = w.engine(&settings);
        let run = if via_plan {
            let (_, plan) = w.sim.block_on(engine.plan(Selection::All, &())).unwrap();
            prop_assume!(plan.writes().next().is_some(), "the plan changes nothing");
            w.sim
                .block_on(engine.apply_plan(plan, ApplyOptions::default(), &()))
                .unwrap()
        } else {
            w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap()
        };
        let wrote = run.items.iter().filter(|i| i.snapshot).count();
        prop_assume!(wrote > 0, "the run wrote nothing");
        let rv = w
            .sim
            .block_on(engine.revert_run(&run.head.id, false, &()))
            .unwrap();
        prop_assert_eq!(rv.head.totals.failed, 0, "{:?}", rv);
        prop_assert!(rv.head.totals.success > 0, "the revert wrote nothing");
        prop_assert_eq!(w.gw.all_channels(), original);
    }
}

/// Final channel state and per-channel (status, old, new) of a run.
type Outcome = (
    Vec<Channel>,
    Vec<(ChannelId, ItemStatus, Vec<String>, Vec<String>)>,
);

fn outcome(w: &World, r: &RunRecord) -> Outcome {
    let items = r
        .items
        .iter()
        .map(|i| (i.channel_id.clone(), i.status, i.old.clone(), i.new.clone()))
        .collect();
    (w.gw.all_channels(), items)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 60,
        ..ProptestConfig::default()
    })]

    #[test]
    fn property_an_interrupted_run_resumes_to_the_same_result_without_double_writes(
        specs in proptest::collection::vec(channel_spec(), 3..13),
        fetch_ms in 100u64..600,
        concurrency in 1u32..4,
        // Where each interruption falls, as a fraction of the uninterrupted run's span; the
        // first always falls inside the run, so every case resumes at least once.
        first_cut in 0.0f64..0.95,
        cuts in proptest::collection::vec(0.0f64..1.0, 50),
    ) {
        let settings = SyncSettings {
            concurrency,
            ..Default::default()
        };
        // Uninterrupted reference.
        let mut a = world_of(&specs, fetch_ms);
        let t0 = a.now();
        let engine = a.engine(&settings);
        let reference = a.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
        let span = a.now() - t0;
        let want = outcome(&a, &reference);

        // Interrupted at the generated moments, resumed by fresh engines (restarted workers).
        let mut b = world_of(&specs, fetch_ms);
        let t0 = b.now();
        let engine = b.engine(&settings);
        let cut = t0 + (first_cut * span as f64) as u64;
        let mut finished = b
            .sim
            .run_until_time(engine.run(RunRequest::all(), &()), cut)
            .map(|r| r.unwrap());
        let mut resumes = 0u64;
        while finished.is_none() {
            let engine = b.engine(&settings);
            // Growing slices, so every run finishes eventually.
            let frac = cuts[resumes as usize % cuts.len()];
            resumes += 1;
            let cut = b.now() + (frac * (span + 1) as f64) as u64 + resumes * span / 4;
            // Interrupted before the run was recorded: nothing to resume, start again.
            let go = async {
                match engine.resume(&()).await.unwrap() {
                    Some(r) => r,
                    None => engine.run(RunRequest::all(), &()).await.unwrap(),
                }
            };
            finished = b.sim.run_until_time(go, cut);
            prop_assert!(resumes < 50, "never finished");
        }
        prop_assert!(resumes >= 1, "the case was never interrupted");
        let record = finished.unwrap();
        prop_assert_eq!(outcome(&b, &record), want, "after {} resumes", resumes);
        // Exactly the writes of the uninterrupted run: none twice, none lost.
        prop_assert_eq!(b.gw.write_counts(), a.gw.write_counts());
        prop_assert!(b.gw.write_counts().values().all(|n| *n == 1));
        // The stored record equals the returned one, and nothing is left to resume.
        let stored = b
            .sim
            .block_on(b.engine(&settings).history().run(&record.head.id))
            .unwrap()
            .unwrap();
        prop_assert_eq!(stored.items, record.items);
        prop_assert!(b
            .sim
            .block_on(b.engine(&settings).resume(&()))
            .unwrap()
            .is_none());
    }
}

#[test]
fn a_write_whose_reply_was_lost_is_not_written_again_on_resume() {
    let mut w = World::new();
    w.gw.add(fake_channel(1, "one", &["a"], None), &["a", "b"]);
    w.gw.set_latency(Latency {
        write_after_ms: 1_000,
        ..Default::default()
    });
    let settings = SyncSettings::default();
    let engine = w.engine(&settings);
    // Stop while the write has landed but its reply is still on the way.
    let stopped = w.sim.run_until(engine.run(RunRequest::all(), &()), {
        let gw = w.gw.clone();
        move |_| !gw.writes().is_empty()
    });
    assert!(stopped.is_none());
    assert_eq!(w.gw.writes().len(), 1);
    let r = w
        .sim
        .block_on(w.engine(&settings).resume(&()))
        .unwrap()
        .unwrap();
    assert_eq!(r.head.trigger, Trigger::Resume);
    assert_eq!(r.head.first_trigger, Trigger::Manual);
    assert_eq!(r.items[0].status, ItemStatus::Success);
    assert!(r.items[0].snapshot);
    assert_eq!(r.items[0].added, vec!["b"]);
    assert_eq!(w.gw.writes().len(), 1);
}

/// A channel whose model `b` an Octopus route (group item) points at, and a sync that removed
/// `b` (the gateway deleted the route with it): the run to revert, and the route.
fn synced_away_a_routed_model(w: &mut World) -> (RunId, crate::model::RouteItem) {
    let route = crate::model::RouteItem {
        group_id: "7".into(),
        group: "gpt-b".into(),
        model: "b".into(),
        priority: 1,
        weight: None,
        active: true,
    };
    let mut ch = fake_channel(1, "one", &["a", "b"], None);
    ch.rules.route_items = vec![route.clone()];
    w.gw.add(ch, &["a"]);
    let r = w
        .sim
        .block_on(
            w.engine(&SyncSettings::default())
                .run(RunRequest::all(), &()),
        )
        .unwrap();
    assert_eq!(r.items[0].removed, vec!["b"]);
    let ch = w.gw.channel(1).unwrap();
    assert!(
        ch.rules.route_items.is_empty(),
        "the write deleted the route"
    );
    (r.head.id, route)
}

/// [`synced_away_a_routed_model`], then a revert of that run stopped when its write has landed,
/// before its reply and the route restore. Returns the route.
fn a_revert_stopped_after_its_write(w: &mut World) -> crate::model::RouteItem {
    let (run, route) = synced_away_a_routed_model(w);
    w.gw.set_latency(Latency {
        write_after_ms: 1_000,
        ..Default::default()
    });
    let revert = w.engine(&SyncSettings::default());
    let stopped = w.sim.run_until(revert.revert_run(&run, false, &()), {
        let gw = w.gw.clone();
        move |_| gw.writes().len() == 2
    });
    assert!(stopped.is_none());
    assert_eq!(w.gw.channel(1).unwrap().models, vec!["a", "b"]);
    assert!(w.gw.route_restores().is_empty());
    route
}

#[test]
fn a_revert_resumed_after_its_write_still_restores_the_routes() {
    let mut w = World::new();
    let route = a_revert_stopped_after_its_write(&mut w);
    let settings = SyncSettings::default();
    let r = w
        .sim
        .block_on(w.engine(&settings).resume(&()))
        .unwrap()
        .unwrap();
    assert_eq!(r.head.mode, RunMode::Revert);
    assert_eq!(r.items[0].status, ItemStatus::Success, "{:?}", r.items[0]);
    assert_eq!(w.gw.writes().len(), 2, "the channel is not written again");
    assert_eq!(w.gw.channel(1).unwrap().rules.route_items, vec![route]);
}

#[test]
fn a_resumed_revert_whose_route_restore_fails_says_so() {
    let mut w = World::new();
    a_revert_stopped_after_its_write(&mut w);
    let settings = SyncSettings::default();
    w.gw.fail_route_restores(
        (0..10).map(|_| Error::new(ErrorClass::Validation, "group refused the item")),
    );
    let r = w
        .sim
        .block_on(w.engine(&settings).resume(&()))
        .unwrap()
        .unwrap();
    let item = &r.items[0];
    assert_eq!(item.status, ItemStatus::Failed, "{item:?}");
    assert!(
        matches!(
            &item.error_reason,
            Some(crate::reason::RunError::RoutesNotRestored { routes, .. })
                if routes.len() == 1 && routes[0].model == "b"
        ),
        "{item:?}"
    );
    assert!(w.gw.channel(1).unwrap().rules.route_items.is_empty());
}

#[test]
fn one_run_per_site_and_skipped_scheduled_runs_are_recorded() {
    let mut w = World::new();
    populate(&w, 10, 1);
    let settings = SyncSettings::default();
    let first = w.engine(&settings);
    let second = w.engine(&settings);
    let (a, b, c) = w.sim.block_on(futures::future::join3(
        first.run(RunRequest::all(), &()),
        async {
            w.clock.sleep_ms(1_000).await;
            second.run(RunRequest::scheduled(), &()).await
        },
        async {
            w.clock.sleep_ms(2_000).await;
            second.run(RunRequest::all(), &()).await
        },
    ));
    let a = a.unwrap();
    assert_eq!(a.head.state, RunState::Finished);
    let b = b.unwrap();
    assert_eq!(b.head.state, RunState::Skipped);
    assert!(b
        .head
        .note
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains(&a.head.id.0));
    let e = c.unwrap_err();
    assert!(e.message.contains("in progress"), "{}", e.message);
    let runs = w.sim.block_on(first.history().runs()).unwrap();
    assert_eq!(runs.len(), 2, "the run and the skipped scheduled run");
    // A lock left by a run that died long ago is taken over; the dead run is closed.
    let dead = w
        .sim
        .run_until_time(first.run(RunRequest::all(), &()), w.now() + 10);
    assert!(dead.is_none());
    w.sim.block_on(w.clock.sleep_ms(11 * 60_000));
    let r = w.sim.block_on(second.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.head.state, RunState::Finished);
    let runs = w.sim.block_on(first.history().runs()).unwrap();
    let dead = runs.iter().find(|h| h.state == RunState::Failed).unwrap();
    assert!(dead
        .note
        .as_ref()
        .map(ToString::to_string)
        .as_deref()
        .unwrap()
        .contains("superseded"));
}

#[test]
fn failed_only_retries_the_previous_failures() {
    let mut w = World::new();
    populate(&w, 4, 1);
    let engine = w.engine(&SyncSettings::default());
    let e = w
        .sim
        .block_on(engine.run(RunRequest::failed_only(), &()))
        .unwrap_err();
    assert!(e.message.contains("no previous run"));
    w.gw.fail_fetch(
        3,
        vec![Error::new(ErrorClass::Auth, "HTTP 401: bad token").with_status(401)],
    );
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.head.totals.failed, 1);
    let retry = w
        .sim
        .block_on(engine.run(RunRequest::failed_only(), &()))
        .unwrap();
    assert_eq!(retry.head.mode, RunMode::Failed);
    assert_eq!(retry.head.trigger, Trigger::Retry);
    assert_eq!(retry.items.len(), 1);
    assert_eq!(retry.items[0].channel_id, ChannelId::from(3));
    assert_eq!(retry.items[0].status, ItemStatus::Success);
    let e = w
        .sim
        .block_on(engine.run(RunRequest::failed_only(), &()))
        .unwrap_err();
    assert!(e.message.contains("no failed channels"));
    // One channel, and an unknown one.
    let r = w
        .sim
        .block_on(engine.run(
            RunRequest::channels(vec![ChannelId::from(2), ChannelId::from(77)]),
            &(),
        ))
        .unwrap();
    assert_eq!(
        statuses(&r),
        vec![ItemStatus::Unchanged, ItemStatus::Failed]
    );
    assert_eq!(r.items[1].error_class, Some(ErrorClass::NotFound));
}

#[test]
fn a_failed_channel_list_is_a_recorded_failed_run() {
    let mut w = World::new();
    populate(&w, 2, 1);
    w.gw.fail_list(vec![
        Error::new(ErrorClass::Auth, "HTTP 401: expired").with_status(401)
    ]);
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.head.state, RunState::Failed);
    assert_eq!(r.head.error.as_ref().unwrap().class, ErrorClass::Auth);
    // The lock was released: the next run works.
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.head.totals.success, 2);
}

#[test]
fn write_failures_are_retried_after_a_re_read() {
    let mut w = World::new();
    populate(&w, 1, 1);
    w.gw.fail_write(
        1,
        vec![Error::new(ErrorClass::Server, "HTTP 502").with_status(502)],
    );
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.items[0].status, ItemStatus::Success);
    assert_eq!(r.items[0].attempts, 2);
    assert!(w.gw.calls().iter().any(|(name, _)| *name == "get"));
    assert_eq!(w.gw.writes().len(), 1);
    let mut w = World::new();
    populate(&w, 1, 1);
    w.gw.fail_write(
        1,
        vec![Error::new(ErrorClass::Validation, "HTTP 400: bad").with_status(400)],
    );
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.items[0].status, ItemStatus::Failed);
    assert_eq!(r.items[0].attempts, 1);
    assert_eq!(w.gw.channel(1).unwrap().models.len(), 3, "nothing changed");
}

#[test]
fn progress_reports_done_total_rate_and_eta() {
    let mut w = World::new();
    populate(&w, 30, 1);
    let engine = w.engine(&SyncSettings::default());
    let seen: RefCell<Vec<Progress>> = RefCell::new(Vec::new());
    struct Rec<'a>(&'a RefCell<Vec<Progress>>);
    impl Observer for Rec<'_> {
        fn on_progress(&self, p: &Progress) {
            self.0.borrow_mut().push(p.clone());
        }
    }
    w.sim
        .block_on(engine.run(RunRequest::all(), &Rec(&seen)))
        .unwrap();
    let seen = seen.into_inner();
    assert!(seen.windows(2).all(|p| p[0].done <= p[1].done));
    let last = seen.last().unwrap();
    assert_eq!((last.done, last.total), (30, 30));
    assert_eq!(last.totals.success, 30);
    assert_eq!(last.eta_ms, Some(0));
    let mid = seen.iter().find(|p| p.done == 15).unwrap();
    // 5 at once, then one per 3 s: 15 done after 30 s.
    assert!(
        (mid.rate_per_min - 30.0).abs() < 1.0,
        "{}",
        mid.rate_per_min
    );
    assert_eq!(mid.eta_ms, Some(30_000));
}

#[test]
fn history_keeps_n_runs_filters_searches_and_exports() {
    let mut w = World::new();
    populate(&w, 3, 1);
    w.gw.fail_fetch(
        2,
        vec![Error::new(ErrorClass::Auth, "HTTP 401: token, \"expired\"").with_status(401)],
    );
    let mut settings = SyncSettings::default();
    settings.history.keep_runs = 5;
    let engine = w.engine(&settings);
    let first = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    let h = engine.history();
    let failed = w
        .sim
        .block_on(h.items(
            &first.head.id,
            &ItemQuery {
                statuses: vec![ItemStatus::Failed],
                text: None,
            },
        ))
        .unwrap();
    assert_eq!(failed.len(), 1);
    let hits = w
        .sim
        .block_on(h.search(&ItemQuery {
            statuses: vec![],
            text: Some("EXPIRED".into()),
        }))
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].1.channel_name, "ch1");
    let by_name = w
        .sim
        .block_on(h.items(
            &first.head.id,
            &ItemQuery {
                statuses: vec![],
                text: Some("ch2".into()),
            },
        ))
        .unwrap();
    assert_eq!(by_name.len(), 1);
    let csv = export_csv(&first);
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next(), Some(CSV_HEADER));
    assert!(
        csv.contains("\"HTTP 401: token, \"\"expired\"\"\""),
        "{csv}"
    );
    assert_eq!(csv.matches("\r\n").count(), 4);
    let json: serde_json::Value = serde_json::from_str(&export_json(&first)).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 3);
    for _ in 0..8 {
        w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    }
    let runs = w.sim.block_on(h.runs()).unwrap();
    assert_eq!(runs.len(), 5);
    assert!(runs.windows(2).all(|r| r[0].id > r[1].id), "newest first");
    assert!(w.sim.block_on(h.run(&first.head.id)).unwrap().is_none());
    assert!(
        w.store
            .snapshot()
            .keys()
            .all(|k| !k.contains(&first.head.id.0)),
        "snapshots go with their run"
    );
    // A tiny byte budget keeps only the newest run.
    let removed = w.sim.block_on(h.prune(5, 1, None)).unwrap();
    assert_eq!(removed.len(), 4);
}

#[test]
fn the_limiting_transport_counts_every_admin_call_and_obeys_429() {
    use crate::http::{Method, Request, Response, Transport, TransportError};
    use async_trait::async_trait;
    struct Script {
        clock: SimClock,
        hits: RefCell<Vec<u64>>,
    }
    #[async_trait(?Send)]
    impl Transport for Script {
        async fn send(&self, _req: Request) -> Result<Response, TransportError> {
            self.hits.borrow_mut().push(self.clock.now_ms());
            let n = self.hits.borrow().len();
            let (status, headers) = if n == 20 {
                (429, vec![("Retry-After".to_string(), "5".to_string())])
            } else {
                (200, vec![])
            };
            Ok(Response {
                status,
                headers,
                body: "{}".into(),
            })
        }
    }
    let mut sim = Sim::new();
    let clock = sim.clock();
    let inner = Rc::new(Script {
        clock: clock.clone(),
        hits: RefCell::new(Vec::new()),
    });
    let limits = Limits::recording(Rc::new(clock.clone()), &SyncSettings::default().rate);
    let t = limits.wrap_transport(inner.clone());
    sim.block_on(async {
        for _ in 0..300 {
            t.send(Request::new(Method::Get, "http://127.0.0.1:9/api/channel/"))
                .await
                .unwrap();
        }
    });
    let hits = inner.hits.borrow().clone();
    assert!(max_in_window(&hits, 60_000) <= 130);
    assert!(
        hits[20] - hits[19] >= 5_000,
        "Retry-After honoured by the site bucket"
    );
}

#[test]
fn an_abandoned_run_is_closed_released_and_not_resumed() {
    let mut w = World::new();
    populate(&w, 4, 1);
    w.gw.hang_fetch(3);
    let settings = SyncSettings {
        concurrency: 1,
        channel_timeout_secs: 0,
        ..Default::default()
    };
    let engine = w.engine(&settings);
    // Interrupted while channel 3 hangs: two channels are done.
    let t = w.now() + 60_000;
    assert!(w
        .sim
        .run_until_time(engine.run(RunRequest::all(), &()), t)
        .is_none());
    let engine = w.engine(&settings);
    let rec = w
        .sim
        .block_on(engine.abandon(crate::reason::RunNote::Cancelled))
        .unwrap()
        .unwrap();
    assert_eq!(rec.head.state, RunState::Cancelled);
    assert_eq!(
        rec.head.note.as_ref().map(ToString::to_string).as_deref(),
        Some("cancelled by the user")
    );
    // Stored as such, not only returned.
    let stored = w
        .sim
        .block_on(engine.history().head(&rec.head.id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, RunState::Cancelled);
    assert_eq!(rec.head.totals.success, 2);
    assert_eq!(rec.head.totals.queued, 2);
    assert!(w.sim.block_on(engine.resume(&())).unwrap().is_none());
    assert!(w
        .sim
        .block_on(engine.abandon(crate::reason::RunNote::Cancelled))
        .unwrap()
        .is_none());
    // The lock is free: a new run starts.
    w.gw.set_upstream(3, &["x"]);
    let w2 = w.engine(&settings);
    let next = w.sim.block_on(w2.run(RunRequest::all(), &()));
    assert!(next.is_ok());
}

#[test]
fn huge_channels_come_back_as_previews_while_the_store_keeps_every_name() {
    let mut w = World::new();
    let old = names("old", 1_500);
    let new = names("new", 2_500);
    for i in 0..3 {
        w.gw.add(
            fake_channel(i + 1, &format!("big{i}"), &refs(&old), None),
            &refs(&new),
        );
    }
    let settings = SyncSettings {
        removal_threshold_pct: 100,
        ..Default::default()
    };
    let engine = w.engine(&settings);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.head.totals.success, 3);
    for item in &r.items {
        let sizes = item.lists_cut.expect("lists over 1,000 names are cut");
        assert_eq!(
            (sizes.old, sizes.new, sizes.added, sizes.removed),
            (1_500, 2_500, 2_500, 1_500)
        );
        assert_eq!(item.new.len(), 1_000);
        assert_eq!(item.new[..], new[..1_000]);
        // Written whole, and stored whole.
        let stored = w
            .sim
            .block_on(engine.history().item(&r.head.id, &item.channel_id))
            .unwrap()
            .unwrap();
        assert_eq!(stored.new, new);
        assert_eq!(stored.removed, old);
        assert_eq!(stored.lists_cut, None);
    }
    for c in w.gw.all_channels() {
        assert_eq!(c.models, new);
    }
    // The display path cuts the same way; exports read everything.
    let shown = w
        .sim
        .block_on(engine.history().items(&r.head.id, &Default::default()))
        .unwrap();
    assert!(shown.iter().all(|i| i.new.len() == 1_000));
    let full = w
        .sim
        .block_on(engine.history().run(&r.head.id))
        .unwrap()
        .unwrap();
    assert!(full.items.iter().all(|i| i.new.len() == 2_500));
}

#[test]
fn a_listing_over_the_memory_budget_is_read_again_channel_by_channel() {
    let mut w = World::new();
    // 6 × 100,000 listed names is over the 500,000 the engine keeps for a run.
    let old = names("m", 100_000);
    let mut new = old.clone();
    new.truncate(99_990);
    new.push("fresh".into());
    for i in 0..6 {
        w.gw.add(
            fake_channel(i + 1, &format!("huge{i}"), &refs(&old), None),
            &refs(&new),
        );
    }
    // Between listing and its turn, channel 6 gains a model: the re-read sees it.
    w.gw.edit(6, |c| c.models.push("added-by-admin".into()));
    let settings = SyncSettings {
        removal_threshold_pct: 100,
        ..Default::default()
    };
    let engine = w.engine(&settings);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.head.totals.success, 6);
    let gets = w.gw.calls().iter().filter(|(n, _)| *n == "get").count();
    assert_eq!(
        gets,
        6 + 6,
        "each channel is read again at its turn, and once more right before its write"
    );
    for c in w.gw.all_channels() {
        assert_eq!(c.models, new);
    }
    let last = r.items.iter().find(|i| i.channel_id.0 == "6").unwrap();
    let sizes = last.sizes();
    assert_eq!(
        (sizes.old, sizes.removed),
        (100_001, 11),
        "the old list is the re-read one"
    );
    let snap = w
        .sim
        .block_on(engine.history().snapshot(&r.head.id, &last.channel_id))
        .unwrap()
        .unwrap();
    assert_eq!(
        snap.before.models.len(),
        100_001,
        "revert restores what was really there"
    );
}

#[test]
fn a_small_listing_is_used_as_listed() {
    let mut w = World::new();
    populate(&w, 20, 2);
    let engine = w.engine(&SyncSettings::default());
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.head.totals.success, 20);
    let gets = w.gw.calls().iter().filter(|(n, _)| *n == "get").count();
    assert_eq!(
        gets, 20,
        "no extra reads: only the compare-read before each write"
    );
}

#[test]
fn a_host_slowed_by_a_429_does_not_hold_the_slots_other_hosts_need() {
    let mut w = World::new();
    // Channels 1–6 fetch from one host, 7–8 from another; both slots start on the first host.
    for i in 0..8 {
        let host = if i < 6 {
            "https://busy.example"
        } else {
            "https://idle.example"
        };
        w.gw.add(
            fake_channel(i + 1, &format!("ch{i}"), &["a"], Some(host)),
            &["a", "b"],
        );
    }
    let slow = Error::new(ErrorClass::RateLimited, "HTTP 429")
        .with_status(429)
        .with_retry_after(Some(30_000));
    w.gw.fail_fetch(1, vec![slow]);
    let settings = SyncSettings {
        concurrency: 2,
        channel_timeout_secs: 0,
        ..Default::default()
    };
    let engine = w.engine(&settings);
    let r = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
    assert_eq!(r.head.totals.success, 8);
    let fetched = |id: i64| {
        w.gw.fetches()
            .into_iter()
            .filter(|(c, _)| *c == ChannelId::from(id))
            .map(|(_, t)| t)
            .max()
            .unwrap()
    };
    // The busy host is blocked for 30 s after its 429; the idle host's channels go meanwhile.
    let start = r.head.started_ms;
    for id in [7, 8] {
        assert!(
            fetched(id) - start < 30_000,
            "channel {id} waited for the busy host: fetched at +{} ms",
            fetched(id) - start
        );
    }
    assert!(
        fetched(2) - start >= 30_000,
        "the busy host honoured Retry-After"
    );
    // Results stay in queue order.
    let ids: Vec<String> = r.items.iter().map(|i| i.channel_id.0.clone()).collect();
    assert_eq!(ids, (1..=8).map(|i| i.to_string()).collect::<Vec<_>>());
}

// ----- two writers and clock jumps ---------------------------------------------------------

/// An engine over the world's gateway with its own store: another browser, or the CLI.
fn second_writer(w: &World, settings: &SyncSettings) -> Engine {
    Engine::new(
        EngineDeps {
            gateway: w.gw.clone(),
            clock: Rc::new(w.clock.clone()),
            store: Rc::new(MemoryStore::new()),
            limits: None,
            rng: Box::new(SplitMix64(9)),
        },
        settings.clone(),
    )
    .unwrap()
}

#[test]
fn a_second_writer_never_overwrites_the_first_blindly_and_reports_the_change() {
    let mut w = World::new();
    w.gw.add(
        fake_channel(1, "one", &["m-0", "m-1", "m-2"], Some("https://up.example")),
        &["m-0", "m-1", "m-2", "m-new"],
    );
    w.gw.set_latency(Latency {
        fetch_ms: 1_000,
        get_ms: 10,
        write_before_ms: 10,
        ..Default::default()
    });
    let first = w.engine(&SyncSettings::default());
    // The second writer keeps an allow-list, so it wants another list than the first.
    let narrow = SyncSettings {
        allow_list: vec!["m-0".into(), "m-1".into(), "m-new".into()],
        ..Default::default()
    };
    let second = second_writer(&w, &narrow);
    let clock = w.clock.clone();
    let (a, b) = w.sim.block_on(futures::future::join(
        first.run(RunRequest::all(), &()),
        async {
            // Lists after the first has listed, writes after the first has written.
            clock.sleep_ms(500).await;
            second.run(RunRequest::all(), &()).await
        },
    ));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.items[0].status, ItemStatus::Success);
    let lost = &b.items[0];
    assert_eq!(lost.status, ItemStatus::Failed, "{lost:?}");
    assert_eq!(lost.error_class, Some(ErrorClass::Conflict), "{lost:?}");
    assert!(
        lost.message
            .as_deref()
            .unwrap_or("")
            .contains("changed by someone else"),
        "{lost:?}"
    );
    assert_eq!(w.gw.writes().len(), 1, "only the first writer wrote");
    assert_eq!(
        w.gw.channel(1).unwrap().models,
        vec!["m-0", "m-1", "m-2", "m-new"]
    );
    // Run again: the second writer now works on the channel as it is.
    let again = w.sim.block_on(second.run(RunRequest::all(), &())).unwrap();
    assert_eq!(again.items[0].status, ItemStatus::Success);
    assert_eq!(w.gw.channel(1).unwrap().models, vec!["m-0", "m-1", "m-new"]);
}

#[test]
fn the_clock_set_back_or_forward_mid_channel_neither_panics_nor_times_out_at_once() {
    for jump in [-86_400_000i64, 86_400_000] {
        let mut w = World::new();
        populate(&w, 3, 1);
        w.gw.set_latency(Latency {
            fetch_ms: 5_000,
            ..Default::default()
        });
        let settings = SyncSettings {
            channel_timeout_secs: 60,
            ..Default::default()
        };
        let engine = w.engine(&settings);
        let clock = w.clock.clone();
        let record = w.sim.block_on(async {
            let run = engine.run(RunRequest::all(), &());
            let jumper = async {
                // Mid-fetch of the first channels.
                clock.sleep_ms(2_000).await;
                clock.jump_wall(jump);
            };
            futures::future::join(run, jumper).await.0
        });
        let record = record.unwrap();
        assert!(
            statuses(&record).iter().all(|s| *s == ItemStatus::Success),
            "jump {jump}: {:?}",
            record.items
        );
    }
}
/// New API (before 2026-06) and Veloera allow 180 admin requests per 180 s per IP, DoneHub 300,
/// and answer more with a bare 429 (`docs/gateways.md`). With each site type's default site
/// bucket, a 300-channel run (every channel fetched and written) never sends more than 90 % of
/// the server's limit in any window, so it meets no 429 and nothing fails.
#[test]
fn three_hundred_channels_stay_under_each_gateways_limit() {
    use crate::gateway::api_rate_limit;
    use crate::model::SiteKind;
    for kind in SiteKind::ALL {
        let mut w = World::new();
        populate(&w, 300, 20);
        w.gw.set_latency(Latency {
            fetch_ms: 300,
            write_before_ms: 60,
            ..Default::default()
        });
        let settings = SyncSettings::for_site(kind);
        let engine = w.engine(&settings);
        let record = w.sim.block_on(engine.run(RunRequest::all(), &())).unwrap();
        assert_eq!(record.head.totals.failed, 0, "{kind}");
        assert_eq!(record.head.totals.success, 300, "{kind}");
        let times = engine.limits().site_bucket().admissions();
        assert!(times.len() >= 600, "{kind}: {} admin requests", times.len());
        match api_rate_limit(kind) {
            Some(limit) => {
                let worst = max_in_window(&times, limit.window_ms);
                assert!(
                    worst as u64 * 10 <= u64::from(limit.max) * 9,
                    "{kind}: {worst} requests in one window, limit {}",
                    limit.max
                );
            }
            None => assert_eq!(
                settings.rate.site_rpm,
                SyncSettings::default().rate.site_rpm
            ),
        }
    }
}

/// A bare 429 from New API pauses the whole site for the server's 180 s window. The channels
/// in flight wait it out: time the server imposes does not count against their 120 s limit.
#[test]
fn a_site_pause_longer_than_the_time_limit_fails_no_channel() {
    let mut w = World::new();
    populate(&w, 6, 3);
    // Channel 1 is already right: it finishes during the pause and frees its slot, so channel 3
    // starts while the site is paused and waits for its first request.
    w.gw.set_upstream(1, &refs(&names("m0", 3)));
    w.gw.set_latency(Latency {
        fetch_ms: 300,
        write_before_ms: 60,
        ..Default::default()
    });
    let settings = SyncSettings::default();
    assert_eq!(settings.channel_timeout_secs, 120);
    let engine = w.engine(&settings);
    let clock = w.clock.clone();
    let t0 = w.now();
    let pause = async {
        clock.sleep_ms(100).await;
        engine.limits().site_bucket().penalize(Some(180_000));
    };
    let (record, ()) = w.sim.block_on(futures::future::join(
        engine.run(RunRequest::all(), &()),
        pause,
    ));
    let record = record.unwrap();
    assert_eq!(record.head.totals.failed, 0, "{:?}", record.items);
    assert_eq!(record.head.totals.success, 5);
    assert_eq!(record.head.totals.unchanged, 1);
    assert!(w.now() - t0 >= 180_000);
}

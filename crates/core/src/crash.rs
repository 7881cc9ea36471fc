//! Crash and full-storage matrices: prove, point by point, that nothing is lost.
//!
//! An operation (a sync, a plan apply, a redirect apply, a revert, a ratio apply) runs against
//! the in-memory store and fake gateway in virtual time ([`crate::sim`]) and is stopped at each
//! of its await points in turn: before every store write, before every request to the site is
//! sent (route restores included) and after it was answered (the request landed, its reply is
//! lost). From that point on the dead process does nothing at all. A fresh engine on the same
//! store then recovers the way the worker and the CLI do — resume the interrupted run, or, when
//! none was stored yet, run the command again — and every point is checked against an
//! uninterrupted run:
//!
//! * no channel was written twice with different content;
//! * every write to the site found its snapshot already stored, holding the route items
//!   (Octopus group items) the write deletes;
//! * the site ends exactly as after the uninterrupted run, routes included, and the snapshots
//!   hold the same routes (what a later revert creates again);
//! * the history holds one finished run of the operation with the same item statuses, no run
//!   left `running` and no run lock.
//!
//! The full-storage matrix refuses every store write from the k-th one on (as a full
//! `chrome.storage.local` or disk does; removals still work), checks that the operation stops
//! with a [`ErrorClass::Storage`] error and wrote nothing to the site without a stored
//! snapshot, then frees the store (the user prunes history) and checks that the next run
//! finishes the work as above.
//!
//! `cargo test` runs every point of small scenarios (`crash::tests`); `cargo xtask bench` runs
//! larger ones and reports the counts (`benches/reliability.rs`).

use crate::clock::Clock;
use crate::engine::limit::Limits;
use crate::engine::record::{ItemStatus, RunMode, RunRecord, RunState, Snapshot};
use crate::engine::redirect::RedirectOp;
use crate::engine::retry::SplitMix64;
use crate::engine::{Engine, EngineDeps, RunRequest, Selection};
use crate::error::{Error, ErrorClass, Result};
use crate::gateway::{Capabilities, ConnectionReport, Ctx, Gateway};
use crate::http::{Method, Request, Response, Transport, TransportError};
use crate::model::{Channel, ChannelId, ChannelUpdate, Mapping, RouteItem, Site};
use crate::ratio::{RatioChoice, RatioField, RatioSync, RatioValue};
use crate::redirect::RedirectSettings;
use crate::settings::SyncSettings;
use crate::sim::{Sim, SimClock};
use crate::store::{KvStore, MemoryStore, StoreError};
use crate::testing::{fake_channel, FakeGateway, Latency};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::rc::Rc;

/// The operations the matrices cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Sync,
    /// A dry run's plan applied as the admin confirmed it (`Engine::apply_plan`): the removal
    /// guards are lifted, so this is the write that deletes the routes `routed` names.
    PlanApply,
    RedirectApply,
    Revert,
    RatioApply,
}

impl Op {
    pub const ALL: [Op; 5] = [
        Op::Sync,
        Op::PlanApply,
        Op::RedirectApply,
        Op::Revert,
        Op::RatioApply,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Sync => "sync",
            Op::PlanApply => "plan apply",
            Op::RedirectApply => "redirect apply",
            Op::Revert => "revert",
            Op::RatioApply => "ratio apply",
        }
    }
}

/// What happens at the chosen point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The process dies: nothing after the point runs.
    Crash,
    /// The store refuses this write and every later one until freed.
    StoreFull,
    /// The system clock is set back an hour here; the run goes on.
    ClockBack,
    /// The system clock jumps a day ahead here (a laptop waking up); the run goes on.
    ClockForward,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::Crash,
        Fault::StoreFull,
        Fault::ClockBack,
        Fault::ClockForward,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Crash => "killed",
            Fault::StoreFull => "store full",
            Fault::ClockBack => "clock set back 1 h",
            Fault::ClockForward => "clock set forward 1 day",
        }
    }

    /// Whether the fault strikes at requests to the site too (a full store only refuses writes).
    fn at_requests(self) -> bool {
        self != Fault::StoreFull
    }
}

/// How big a scenario is: `channels` channels (one in four already up to date, one in three
/// with a first write that fails with a 503 and is retried), `concurrency` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub channels: usize,
    pub concurrency: u32,
}

impl Size {
    /// What `cargo test` runs at every point.
    pub const SMALL: Size = Size {
        channels: 4,
        concurrency: 2,
    };
    /// What `cargo xtask bench` runs at every point.
    pub const LARGE: Size = Size {
        channels: 16,
        concurrency: 4,
    };
}

/// Which site the fake gateway plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// New API's capabilities with a per-channel mapping (`FakeGateway`'s own).
    NewApi,
    /// Octopus's ([`Capabilities::OCTOPUS`]): no per-channel mapping (the channels hold none),
    /// a comma-joined trimmed model list, an empty list refused; the channels list the models
    /// their routes point at (`routed`) as the adapter reads them, so a plain sync holds a
    /// removal that would delete a route and only a confirmed plan apply deletes it (the revert
    /// scenario reverts such an apply). Redirects are refused there, so they do not run.
    Octopus,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Flavour::NewApi => "New API",
            Flavour::Octopus => "Octopus",
        }
    }

    /// Whether `op` runs on this site at all.
    pub fn runs(self, op: Op) -> bool {
        self == Flavour::NewApi || matches!(op, Op::Sync | Op::PlanApply | Op::Revert)
    }
}

/// The result of one matrix.
#[derive(Debug, Clone, Default)]
pub struct MatrixReport {
    pub points: usize,
    pub survived: usize,
    /// One line per point that did not survive: the point and what went wrong.
    pub failures: Vec<String>,
    /// Writes repeated with the same content after a lost reply (allowed: a write is idempotent).
    pub repeated_writes: usize,
}

// ----- the fuse: counts points, trips at one ------------------------------------------------

struct Fuse {
    clock: SimClock,
    fault: Fault,
    at: Option<usize>,
    passed: Cell<usize>,
    tripped: Cell<bool>,
    /// What each point was, in order (filled on the counting run).
    names: RefCell<Vec<String>>,
    /// Site writes that found no stored snapshot, and other broken promises seen live.
    violations: RefCell<Vec<String>>,
    /// The refusing store has been freed (the user pruned history).
    freed: Cell<bool>,
}

impl Fuse {
    fn new(clock: SimClock, fault: Fault, at: Option<usize>) -> Rc<Fuse> {
        Rc::new(Fuse {
            clock,
            fault,
            at,
            passed: Cell::new(0),
            tripped: Cell::new(false),
            names: RefCell::new(Vec::new()),
            violations: RefCell::new(Vec::new()),
            freed: Cell::new(false),
        })
    }

    fn dead(&self) -> bool {
        self.fault == Fault::Crash && self.tripped.get() && !self.freed.get()
    }

    /// Pass a point named `what`; true when the fault strikes here.
    fn point(&self, what: impl FnOnce() -> String) -> bool {
        if self.freed.get() {
            return false;
        }
        if self.tripped.get() {
            return true;
        }
        let i = self.passed.get();
        self.passed.set(i + 1);
        if self.at.is_none() {
            self.names.borrow_mut().push(what());
        }
        if self.at == Some(i) {
            match self.fault {
                Fault::ClockBack => self.clock.jump_wall(-3_600_000),
                Fault::ClockForward => self.clock.jump_wall(86_400_000),
                Fault::Crash | Fault::StoreFull => {
                    self.tripped.set(true);
                    return true;
                }
            }
        }
        false
    }

    /// The process is gone: never return. (The simulation drops the future at its next step.)
    async fn die<T>(&self) -> T {
        loop {
            self.clock.sleep_ms(u64::MAX / 4).await;
        }
    }
}

// ----- the store --------------------------------------------------------------------------

struct FaultStore {
    inner: Rc<MemoryStore>,
    fuse: Rc<Fuse>,
}

#[async_trait(?Send)]
impl KvStore for FaultStore {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        if self.fuse.dead() {
            return self.fuse.die().await;
        }
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: String) -> std::result::Result<(), StoreError> {
        if self.fuse.dead() || self.fuse.point(|| format!("before storing {key}")) {
            if self.fuse.fault != Fault::StoreFull {
                return self.fuse.die().await;
            }
            return Err(StoreError(
                "QUOTA_BYTES quota exceeded (the store is full)".into(),
            ));
        }
        self.inner.set(key, value).await
    }
    async fn remove(&self, key: &str) -> std::result::Result<(), StoreError> {
        if self.fuse.fault != Fault::StoreFull
            && (self.fuse.dead() || self.fuse.point(|| format!("before removing {key}")))
        {
            return self.fuse.die().await;
        }
        self.inner.remove(key).await
    }
    async fn keys(&self, prefix: &str) -> std::result::Result<Vec<String>, StoreError> {
        if self.fuse.dead() {
            return self.fuse.die().await;
        }
        self.inner.keys(prefix).await
    }
}

// ----- the gateway ------------------------------------------------------------------------

struct FaultGateway {
    inner: Rc<FakeGateway>,
    fuse: Rc<Fuse>,
    store: Rc<MemoryStore>,
}

impl FaultGateway {
    /// Run one request with a point before it is sent and one after it was answered.
    async fn call<T>(&self, what: &str, fut: impl Future<Output = T>) -> T {
        let crash = self.fuse.fault.at_requests();
        if self.fuse.dead() || (crash && self.fuse.point(|| format!("before {what}"))) {
            return self.fuse.die().await;
        }
        let out = fut.await;
        if crash && self.fuse.point(|| format!("after {what} was answered")) {
            return self.fuse.die().await;
        }
        out
    }

    /// Is a snapshot of `ch` whose `after` is what `update` writes already stored, holding every
    /// route item (Octopus group item) the write deletes, so that a revert can create it again?
    fn snapshot_stored(&self, ch: &ChannelId, update: &ChannelUpdate) -> bool {
        // What the write deletes, as `FakeGateway::update_channel` (and Octopus's
        // `ChannelUpdate`) does: the items routing a model the new list no longer holds.
        let current = self.inner.all_channels().into_iter().find(|c| &c.id == ch);
        let deleted: Vec<RouteItem> = match (&update.models, current) {
            (Some(m), Some(c)) => c
                .rules
                .route_items
                .into_iter()
                .filter(|r| !m.contains(&r.model))
                .collect(),
            _ => Vec::new(),
        };
        let suffix = format!("/snap/{ch}");
        self.store.snapshot().iter().any(|(k, v)| {
            if !k.ends_with(&suffix) {
                return false;
            }
            let Ok(s) = serde_json::from_str::<Snapshot>(v) else {
                return false;
            };
            let models_ok = update
                .models
                .as_ref()
                .is_none_or(|m| crate::engine::plan::same_set(m, &s.after.models));
            let mapping_ok = update
                .mapping
                .as_ref()
                .is_none_or(|p| match &s.after.mapping {
                    Mapping::Valid { pairs } => pairs == p,
                    Mapping::Empty => p.is_empty(),
                    _ => false,
                });
            let routes_ok = deleted.iter().all(|r| s.routes.contains(r));
            models_ok && mapping_ok && routes_ok
        })
    }
}

#[async_trait(?Send)]
impl Gateway for FaultGateway {
    fn site(&self) -> &Site {
        self.inner.site()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn test_connection(&self) -> Result<ConnectionReport> {
        self.call("the connection test", self.inner.test_connection())
            .await
    }
    async fn list_channels(&self) -> Result<Vec<Channel>> {
        self.call("listing the channels", self.inner.list_channels())
            .await
    }
    async fn get_channel(&self, id: &ChannelId) -> Result<Channel> {
        self.call(&format!("reading channel {id}"), self.inner.get_channel(id))
            .await
    }
    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>> {
        let what = format!("fetching channel {}'s upstream", channel.id);
        self.call(&what, self.inner.fetch_upstream_models(channel))
            .await
    }
    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel> {
        let what = format!("writing channel {}", channel.id);
        self.call(&what, async {
            if !self.snapshot_stored(&channel.id, update) {
                self.fuse.violations.borrow_mut().push(format!(
                    "channel {} written without a snapshot of that write (and of the \
                         routes it deletes) stored",
                    channel.id
                ));
            }
            self.inner.update_channel(channel, update).await
        })
        .await
    }
    /// Octopus adds the items one group at a time (a `group/update` each, `gateway/octopus.rs`
    /// `restore_routes`), so a process can die between two groups: each group's items pass the
    /// points on their own.
    async fn restore_routes(&self, channel: &ChannelId, items: &[RouteItem]) -> Result<()> {
        let mut groups: Vec<&str> = Vec::new();
        for r in items {
            if !groups.contains(&r.group_id.as_str()) {
                groups.push(&r.group_id);
            }
        }
        for g in groups {
            let part: Vec<RouteItem> = items.iter().filter(|r| r.group_id == g).cloned().collect();
            let what = format!("restoring channel {channel}'s routes in group {g}");
            self.call(&what, self.inner.restore_routes(channel, &part))
                .await?;
        }
        Ok(())
    }
}

// ----- the ratio server ---------------------------------------------------------------------

/// A New API `/api/option/` endpoint over a map, with the same points as [`FaultGateway`] and a
/// snapshot check on every PUT.
struct FaultOptions {
    options: Rc<RefCell<BTreeMap<String, String>>>,
    fuse: Rc<Fuse>,
    store: Rc<MemoryStore>,
    puts: RefCell<Vec<(String, String)>>,
}

impl FaultOptions {
    fn answer(&self, req: &Request) -> Response {
        let ok = |data: Value| Response {
            status: 200,
            headers: vec![],
            body: json!({"success": true, "message": "", "data": data}).to_string(),
        };
        let path = crate::gateway::testing::path_of(&req.url);
        match (req.method, path) {
            (Method::Get, "/api/option/") => ok(Value::Array(
                self.options
                    .borrow()
                    .iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect(),
            )),
            (Method::Put, "/api/option/") => {
                let b: Value = req
                    .body
                    .as_deref()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or_default();
                let key = b["key"].as_str().unwrap_or_default().to_string();
                let value = b["value"].as_str().unwrap_or_default().to_string();
                if !self.ratio_snapshot_stored(&key, &value) {
                    self.fuse.violations.borrow_mut().push(format!(
                        "option {key} written without a snapshot holding that write"
                    ));
                }
                self.puts.borrow_mut().push((key.clone(), value.clone()));
                self.options.borrow_mut().insert(key, value);
                ok(Value::Null)
            }
            _ => Response {
                status: 404,
                headers: vec![],
                body: "not found".into(),
            },
        }
    }

    fn ratio_snapshot_stored(&self, key: &str, value: &str) -> bool {
        self.store.snapshot().iter().any(|(k, v)| {
            k.starts_with(crate::ratio::SNAPSHOT_PREFIX)
                && serde_json::from_str::<crate::ratio::RatioSnapshot>(v)
                    .is_ok_and(|s| s.written.get(key).is_some_and(|w| w == value))
        })
    }
}

#[async_trait(?Send)]
impl Transport for FaultOptions {
    async fn send(&self, req: Request) -> std::result::Result<Response, TransportError> {
        let crash = self.fuse.fault.at_requests();
        let what = format!(
            "{} {}",
            req.method.as_str(),
            crate::gateway::testing::path_of(&req.url)
        );
        if self.fuse.dead() || (crash && self.fuse.point(|| format!("before {what}"))) {
            return self.fuse.die().await;
        }
        let resp = self.answer(&req);
        if crash && self.fuse.point(|| format!("after {what} was answered")) {
            return self.fuse.die().await;
        }
        Ok(resp)
    }
}

// ----- scenarios ----------------------------------------------------------------------------

/// The world of one point: a fresh simulation, site and store.
struct World {
    flavour: Flavour,
    sim: Sim,
    clock: SimClock,
    gw: Rc<FakeGateway>,
    store: Rc<MemoryStore>,
    settings: SyncSettings,
}

impl World {
    fn new(size: Size, flavour: Flavour) -> World {
        let sim = Sim::new();
        let clock = sim.clock();
        let gw = Rc::new(FakeGateway::new(Rc::new(clock.clone())));
        if flavour == Flavour::Octopus {
            gw.set_capabilities(Capabilities::OCTOPUS);
        }
        gw.set_latency(Latency {
            list_ms: 20,
            get_ms: 10,
            fetch_ms: 150,
            write_before_ms: 40,
            write_after_ms: 40,
        });
        let mut settings = SyncSettings {
            concurrency: size.concurrency,
            ..Default::default()
        };
        settings.retry.base_ms = 500;
        World {
            flavour,
            sim,
            clock,
            gw,
            store: Rc::new(MemoryStore::new()),
            settings,
        }
    }

    /// A new engine over the gateway and store, through the fuse when one is given.
    fn engine(&self, fuse: Option<&Rc<Fuse>>) -> Engine {
        let limits = Limits::new(Rc::new(self.clock.clone()), &self.settings.rate);
        let (gateway, store): (Rc<dyn Gateway>, Rc<dyn KvStore>) = match fuse {
            Some(f) => (
                Rc::new(FaultGateway {
                    inner: self.gw.clone(),
                    fuse: f.clone(),
                    store: self.store.clone(),
                }),
                Rc::new(FaultStore {
                    inner: self.store.clone(),
                    fuse: f.clone(),
                }),
            ),
            None => (self.gw.clone(), self.store.clone()),
        };
        let engine = Engine::new(
            EngineDeps {
                gateway,
                clock: Rc::new(self.clock.clone()),
                store,
                limits: Some(limits),
                rng: Box::new(SplitMix64(11)),
            },
            self.settings.clone(),
        );
        match engine {
            Ok(e) => e,
            Err(e) => panic!("scenario settings are invalid: {e}"),
        }
    }
}

fn models(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// An Octopus group item routing `model` on a channel to group `group_id` (`RouteItem`).
fn route(group_id: &str, model: &str, active: bool) -> RouteItem {
    RouteItem {
        group_id: group_id.into(),
        group: format!("group{group_id}"),
        model: model.into(),
        priority: 1,
        weight: Some(2),
        active,
    }
}

/// The models route items point at, with their groups' names, as the Octopus adapter lists
/// them (`gateway/octopus.rs` `with_routes`).
fn routed(items: &[RouteItem]) -> Vec<crate::model::RoutedModel> {
    let mut out: Vec<crate::model::RoutedModel> = Vec::new();
    for r in items {
        match out.iter_mut().find(|m| m.model == r.model) {
            Some(m) => m.routes.push(r.group.clone()),
            None => out.push(crate::model::RoutedModel {
                model: r.model.clone(),
                routes: vec![r.group.clone()],
            }),
        }
    }
    out
}

/// `size.channels` channels on three upstream hosts: most gain a model and lose one, every
/// fourth is up to date, every third's first write fails with a 503 (retried after a re-read).
///
/// Routes (Octopus group items, as `FakeGateway` models them: a write deletes the items of the
/// models it removes, `restore_routes` creates them again): every fourth channel from the first
/// has two on the model the sync removes (in two groups, the active item of one) and one on a
/// model it keeps; every fourth from the second one on the removed model; the up-to-date ones one on a
/// kept model. In the New API flavour only `route_items` are set, not `routed` (no such site
/// has routes; a plain sync then deletes them as a confirmed apply does); the Octopus flavour
/// sets both, as the adapter reads them, so a plain sync holds those removals for review
/// (`engine/plan.rs`, `RoutesLost`) and only the plan apply deletes the routes.
fn populate(w: &World, size: Size) {
    for i in 0..size.channels {
        let id = i as i64 + 1;
        let host = format!("https://up{}.example", i % 3);
        let old = models(&format!("m{id}"), 3);
        let upstream: Vec<String> = if i % 4 == 3 {
            old.clone()
        } else {
            let mut u = old[1..].to_vec();
            u.push(format!("m{id}-new"));
            u
        };
        let mut c = fake_channel(id, &format!("ch{id}"), &strs(&old), Some(&host));
        if w.flavour == Flavour::Octopus {
            c.mapping = Mapping::Unsupported;
        } else if i % 2 == 0 {
            c.mapping = Mapping::Valid {
                pairs: vec![(format!("alias{id}"), old[1].clone())],
            };
        }
        c.rules.route_items = match i % 4 {
            0 => vec![
                route("1", &old[0], true),
                route("2", &old[1], false),
                route("4", &old[0], false),
            ],
            1 => vec![route("1", &old[0], false)],
            3 => vec![route("2", &old[2], true)],
            _ => Vec::new(),
        };
        if w.flavour == Flavour::Octopus {
            c.rules.routed = routed(&c.rules.route_items);
        }
        w.gw.add(c, &strs(&upstream));
        if i % 3 == 1 {
            w.gw.fail_write(
                id,
                vec![Error::new(ErrorClass::Server, "HTTP 503").with_status(503)],
            );
        }
    }
}

fn redirect_op(size: Size) -> RedirectOp {
    RedirectOp::Redirect {
        settings: RedirectSettings {
            enabled: true,
            presets: Vec::new(),
            standard_models: (1..=size.channels).map(|id| format!("std{id}")).collect(),
            ..Default::default()
        },
    }
}

/// Channels whose lists hold a vendor-path model a standard name can map to. Every second one
/// has a route (group item) on its vendor-path model: a redirect only adds names to the list, so
/// the routes must come through untouched. (No real site has both a per-channel mapping and
/// routes; the engine does not ask, so the fake may.)
fn populate_redirect(w: &World, size: Size) {
    for i in 0..size.channels {
        let id = i as i64 + 1;
        let list = if i % 4 == 3 {
            vec![format!("other{id}")]
        } else {
            vec![format!("vendor/std{id}:free"), format!("other{id}")]
        };
        let mut c = fake_channel(id, &format!("ch{id}"), &strs(&list), None);
        if i % 2 == 0 {
            c.rules.route_items = vec![route("1", &list[0], true)];
        }
        w.gw.add(c, &strs(&list));
        if i % 3 == 1 {
            w.gw.fail_write(
                id,
                vec![Error::new(ErrorClass::Server, "HTTP 503").with_status(503)],
            );
        }
    }
}

/// What a finished operation left, to compare with the uninterrupted run.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// The channels, without their route items (those are in `routes`).
    channels: Vec<Channel>,
    /// Each channel's route items (Octopus group items), in (group, model) order: a group's
    /// items have no order of their own, only priorities.
    routes: BTreeMap<String, Vec<RouteItem>>,
    /// The routes each written channel's snapshot holds (what a later revert creates again).
    snapshot_routes: BTreeMap<String, Vec<RouteItem>>,
    statuses: BTreeMap<String, ItemStatus>,
}

/// Route items in (group, model) order.
fn sorted(mut items: Vec<RouteItem>) -> Vec<RouteItem> {
    items.sort_by(|a, b| (&a.group_id, &a.model).cmp(&(&b.group_id, &b.model)));
    items
}

/// The site's channels and, apart, their routes (see [`Outcome`]).
fn site_state(gw: &FakeGateway) -> (Vec<Channel>, BTreeMap<String, Vec<RouteItem>>) {
    let mut routes = BTreeMap::new();
    let channels = gw
        .all_channels()
        .into_iter()
        .map(|mut c| {
            let items = std::mem::take(&mut c.rules.route_items);
            routes.insert(c.id.0.clone(), sorted(items));
            c
        })
        .collect();
    (channels, routes)
}

/// An engine operation: set up (not interrupted), then the operation itself, then recovery.
struct EngineCase {
    op: Op,
    size: Size,
    flavour: Flavour,
}

/// The operation's own runs are those whose id is not in `setup`.
fn own_runs(w: &World, setup: &[String]) -> Vec<crate::engine::record::RunHead> {
    let e = w.engine(None);
    block(e.history().runs())
        .unwrap_or_default()
        .into_iter()
        .filter(|h| !setup.contains(&h.id.0))
        .collect()
}

impl EngineCase {
    fn mode(&self) -> RunMode {
        match self.op {
            Op::Sync => RunMode::All,
            Op::PlanApply => RunMode::Apply,
            Op::RedirectApply => RunMode::Redirect,
            Op::Revert => RunMode::Revert,
            Op::RatioApply => unreachable!("ratio apply is not an engine run"),
        }
    }

    /// Build the world and run the uninterrupted set-up; returns the set-up's run ids, the
    /// number of site writes so far, and what the operation needs (a preview id or a run id).
    fn setup(&self, w: &mut World) -> (Vec<String>, usize, String) {
        match self.op {
            Op::Sync => {
                populate(w, self.size);
                (vec![], 0, String::new())
            }
            Op::PlanApply => {
                populate(w, self.size);
                let e = w.engine(None);
                let p = w.sim.block_on(e.plan(Selection::All, &()));
                let id = p.map(|(r, _)| r.head.id.0).unwrap_or_default();
                (vec![id.clone()], 0, id)
            }
            Op::Revert => {
                populate(w, self.size);
                let e = w.engine(None);
                let mut setup = Vec::new();
                // On Octopus the routes go only with a confirmed plan: revert that apply.
                let r = if w.flavour == Flavour::Octopus {
                    let p = w.sim.block_on(e.plan(Selection::All, &()));
                    let p = p.map(|(r, plan)| {
                        setup.push(r.head.id.0);
                        plan
                    });
                    match p {
                        Ok(plan) => w.sim.block_on(e.apply_plan(plan, Default::default(), &())),
                        Err(e) => Err(e),
                    }
                } else {
                    w.sim.block_on(e.run(RunRequest::all(), &()))
                };
                let id = r.map(|r| r.head.id.0).unwrap_or_default();
                setup.push(id.clone());
                // Since the sync, an admin routed some of the models it added: the revert
                // removes them again, which deletes those routes (its snapshot keeps them).
                for i in (2..self.size.channels).step_by(4) {
                    let id = i as i64 + 1;
                    w.gw.edit(id, |c| {
                        c.rules
                            .route_items
                            .push(route("3", &format!("m{id}-new"), true))
                    });
                }
                (setup, w.gw.writes().len(), id)
            }
            Op::RedirectApply => {
                populate_redirect(w, self.size);
                let e = w.engine(None);
                let p = w
                    .sim
                    .block_on(e.preview_redirect(redirect_op(self.size), None, false));
                let id = p.map(|p| p.id).unwrap_or_default();
                (vec![], 0, id)
            }
            Op::RatioApply => unreachable!(),
        }
    }

    /// Start the operation (again).
    async fn start(&self, e: &Engine, arg: &str) -> Result<RunRecord> {
        match self.op {
            Op::Sync => e.run(RunRequest::all(), &()).await,
            Op::PlanApply => {
                let run = crate::engine::record::RunId(arg.into());
                let Some(plan) = e.history().plan(&run).await? else {
                    return Err(Error::validation("the dry run stored no plan"));
                };
                e.apply_plan(plan, Default::default(), &()).await
            }
            Op::Revert => {
                e.revert_run(&crate::engine::record::RunId(arg.into()), false, &())
                    .await
            }
            Op::RedirectApply => e.apply_stored_redirect(arg, Default::default(), &()).await,
            Op::RatioApply => unreachable!(),
        }
    }

    /// Recover after an interruption: resume the stored run, or start again when the
    /// operation left no run of its own that finished.
    fn recover(&self, w: &mut World, setup: &[String], arg: &str) -> Result<()> {
        let e = w.engine(None);
        let resumed = w.sim.block_on(e.resume(&()))?;
        if resumed.is_none() {
            let finished = own_runs(w, setup)
                .iter()
                .any(|h| h.state == RunState::Finished && h.mode == self.mode());
            if !finished {
                w.sim.block_on(self.start(&e, arg))?;
            }
        }
        Ok(())
    }

    fn outcome(&self, w: &World, setup: &[String]) -> Outcome {
        let e = w.engine(None);
        let mut statuses = BTreeMap::new();
        let mut snapshot_routes = BTreeMap::new();
        for h in own_runs(w, setup) {
            if let Ok(Some(r)) = block(e.history().run(&h.id)) {
                for i in r.items {
                    if i.snapshot {
                        if let Ok(Some(snap)) = block(e.history().snapshot(&h.id, &i.channel_id)) {
                            snapshot_routes.insert(i.channel_id.0.clone(), sorted(snap.routes));
                        }
                    }
                    statuses.insert(i.channel_id.0.clone(), i.status);
                }
            }
        }
        let (channels, routes) = site_state(&w.gw);
        Outcome {
            channels,
            routes,
            snapshot_routes,
            statuses,
        }
    }

    /// Everything a recovered world must satisfy; the problems found.
    fn check(
        &self,
        w: &World,
        setup: &[String],
        writes_before: usize,
        base: &Outcome,
    ) -> Vec<String> {
        let mut bad = Vec::new();
        let got = self.outcome(w, setup);
        if got.channels != base.channels {
            bad.push("the site differs from the uninterrupted run's".to_string());
        }
        for (ch, items) in &got.routes {
            let want = base.routes.get(ch).cloned().unwrap_or_default();
            if items != &want {
                bad.push(format!(
                    "channel {ch}'s routes {items:?}, uninterrupted {want:?}"
                ));
            }
        }
        if got.snapshot_routes != base.snapshot_routes {
            bad.push(format!(
                "the snapshots hold the routes {:?}, uninterrupted {:?}",
                got.snapshot_routes, base.snapshot_routes
            ));
        }
        if got.statuses != base.statuses {
            bad.push(format!(
                "item statuses {:?}, uninterrupted {:?}",
                got.statuses, base.statuses
            ));
        }
        let mut by_channel: HashMap<ChannelId, Vec<ChannelUpdate>> = HashMap::new();
        for wr in &w.gw.writes()[writes_before..] {
            by_channel
                .entry(wr.channel.clone())
                .or_default()
                .push(wr.update.clone());
        }
        for (ch, updates) in &by_channel {
            if updates.iter().any(|u| u != &updates[0]) {
                bad.push(format!("channel {ch} written twice with different content"));
            }
        }
        let runs = own_runs(w, setup);
        let mine: Vec<_> = runs.iter().filter(|h| h.mode == self.mode()).collect();
        if mine.len() != 1 || mine[0].state != RunState::Finished {
            bad.push(format!(
                "history: {} runs of the operation ({:?}), want one finished",
                mine.len(),
                mine.iter().map(|h| h.state).collect::<Vec<_>>()
            ));
        }
        if runs.iter().any(|h| h.state == RunState::Running) {
            bad.push("history: a run is left running".into());
        }
        let e = w.engine(None);
        let h = e.history();
        if matches!(block(h.lock()), Ok(Some(_))) {
            bad.push("the run lock is left behind".into());
        }
        for run in &mine {
            if let Ok(Some(r)) = block(h.run(&run.id)) {
                for i in r.items.iter().filter(|i| i.status == ItemStatus::Success) {
                    let snap = block(h.snapshot(&run.id, &i.channel_id));
                    if !matches!(snap, Ok(Some(_))) || !i.snapshot {
                        bad.push(format!(
                            "channel {} is recorded as written without its snapshot",
                            i.channel_id
                        ));
                    }
                }
            }
        }
        bad
    }

    /// The uninterrupted run: its outcome and its points.
    fn baseline(&self, fault: Fault) -> (Outcome, Vec<String>) {
        let mut w = World::new(self.size, self.flavour);
        let (setup, _, arg) = self.setup(&mut w);
        let fuse = Fuse::new(w.clock.clone(), fault, None);
        let e = w.engine(Some(&fuse));
        let out = w.sim.block_on(self.start(&e, &arg));
        if let Err(e) = out {
            panic!("the uninterrupted {} failed: {e}", self.op.name());
        }
        let names = fuse.names.borrow().clone();
        (self.outcome(&w, &setup), names)
    }

    /// Run the operation with the fault at point `at`, recover, check.
    fn point(&self, fault: Fault, at: usize, base: &Outcome) -> (Vec<String>, usize) {
        let mut w = World::new(self.size, self.flavour);
        let (setup, writes_before, arg) = self.setup(&mut w);
        let fuse = Fuse::new(w.clock.clone(), fault, Some(at));
        let mut bad = Vec::new();
        {
            let e = w.engine(Some(&fuse));
            let f2 = fuse.clone();
            let out = w.sim.run_until(self.start(&e, &arg), |_| f2.dead());
            if fault == Fault::StoreFull {
                let class = match &out {
                    Some(Ok(r)) => r.head.error.as_ref().map(|e| e.class),
                    Some(Err(e)) => Some(e.class),
                    None => None,
                };
                if fuse.tripped.get() && class != Some(ErrorClass::Storage) {
                    bad.push(format!(
                        "the refused store write did not stop the run with a storage error ({out:?})",
                    ));
                }
            }
            if matches!(fault, Fault::ClockBack | Fault::ClockForward) {
                match &out {
                    Some(Ok(r)) if r.head.state == RunState::Finished => {}
                    other => bad.push(format!("the run did not finish: {other:?}")),
                }
            }
        }
        fuse.freed.set(true);
        bad.extend(fuse.violations.borrow().iter().cloned());
        if let Err(e) = self.recover(&mut w, &setup, &arg) {
            bad.push(format!("recovery failed: {e}"));
        }
        bad.extend(self.check(&w, &setup, writes_before, base));
        (bad, repeated(&w.gw.writes()[writes_before..]))
    }
}

fn repeated(writes: &[crate::testing::WriteLog]) -> usize {
    let mut seen: HashMap<&ChannelId, usize> = HashMap::new();
    for w in writes {
        *seen.entry(&w.channel).or_insert(0) += 1;
    }
    seen.values().map(|n| n.saturating_sub(1)).sum()
}

/// Read the in-memory store (it never waits, so no clock is needed).
fn block<T>(fut: impl Future<Output = T>) -> T {
    futures::executor::block_on(fut)
}

// ----- ratio apply --------------------------------------------------------------------------

fn ratio_options() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ModelRatio".to_string(), r#"{"a":1,"b":2}"#.to_string()),
        ("CompletionRatio".to_string(), r#"{"a":2}"#.to_string()),
        ("CacheRatio".to_string(), r#"{"b":0.5}"#.to_string()),
    ])
}

fn ratio_choices() -> Vec<RatioChoice> {
    let c = |model: &str, field, v| RatioChoice {
        model: model.into(),
        field,
        value: RatioValue::Number(v),
        upstream: None,
    };
    vec![
        c("a", RatioField::ModelRatio, 5.0),
        c("b", RatioField::ModelRatio, 3.0),
        c("a", RatioField::CompletionRatio, 4.0),
        c("b", RatioField::CacheRatio, 0.25),
        c("c", RatioField::CacheRatio, 0.1),
    ]
}

/// One ratio apply with the fault at `at` (`None`: uninterrupted), then a second apply of the
/// same choices (what the user does after a crash or after freeing storage). Returns the final
/// options, the problems found and the points' names.
fn ratio_point(
    fault: Fault,
    at: Option<usize>,
) -> (BTreeMap<String, String>, Vec<String>, Vec<String>) {
    let mut sim = Sim::new();
    let clock = sim.clock();
    let store = Rc::new(MemoryStore::new());
    let fuse = Fuse::new(clock.clone(), fault, at);
    let options = Rc::new(RefCell::new(ratio_options()));
    let server = Rc::new(FaultOptions {
        options: options.clone(),
        fuse: fuse.clone(),
        store: store.clone(),
        puts: RefCell::new(Vec::new()),
    });
    let site =
        crate::gateway::testing::test_site(crate::model::SiteKind::NewApi, "http://gw.test/");
    let ctx = Ctx::new(site, server.clone(), Rc::new(clock.clone()));
    let kv: Rc<dyn KvStore> = Rc::new(FaultStore {
        inner: store.clone(),
        fuse: fuse.clone(),
    });
    let mut bad = Vec::new();
    let sync = match RatioSync::new(ctx.clone(), kv.clone()) {
        Ok(s) => s,
        Err(e) => return (BTreeMap::new(), vec![e.to_string()], vec![]),
    };
    let f2 = fuse.clone();
    let out = sim.run_until(sync.apply(&ratio_choices(), None), |_| f2.dead());
    match (&out, fault) {
        (Some(Ok(o)), _) if !o.ok() && at.is_none() => bad.push(format!("apply failed: {o:?}")),
        (Some(Err(e)), Fault::StoreFull) if e.class != ErrorClass::Storage => {
            bad.push(format!("a refused snapshot gave class {}", e.class))
        }
        (Some(Ok(_)), Fault::StoreFull) if fuse.tripped.get() => {
            bad.push("a refused snapshot did not stop the apply".into())
        }
        (Some(Err(e)), _) if at.is_none() => bad.push(format!("apply failed: {e}")),
        _ => {}
    }
    fuse.freed.set(true);
    let names = fuse.names.borrow().clone();
    if at.is_some() {
        let again = sim.block_on(sync.apply(&ratio_choices(), None));
        match again {
            Ok(o) if o.ok() => {}
            Ok(o) => bad.push(format!("the apply after recovery failed: {o:?}")),
            Err(e) => bad.push(format!("the apply after recovery failed: {e}")),
        }
    }
    bad.extend(fuse.violations.borrow().iter().cloned());
    // Every key written has its original value in some snapshot (revert can restore it).
    let original = ratio_options();
    let snaps = sim.block_on(sync.snapshots()).unwrap_or_default();
    for (key, _) in server.puts.borrow().iter() {
        let restorable = snaps.iter().any(|h| {
            sim.block_on(sync.snapshot(&h.id)).is_ok_and(|s| {
                s.before
                    .get(key)
                    .is_some_and(|b| b.as_ref() == original.get(key))
            })
        });
        if !restorable {
            bad.push(format!("no snapshot holds option {key} as it was before"));
        }
    }
    let last: BTreeMap<String, String> = options.borrow().clone();
    (last, bad, names)
}

// ----- the matrices -------------------------------------------------------------------------

/// Run `op` with `fault` at every point of a scenario of `size`, recovering each time.
pub fn matrix(op: Op, fault: Fault, size: Size) -> MatrixReport {
    matrix_on(Flavour::NewApi, op, fault, size)
}

/// [`matrix`] with the fake gateway playing `flavour` (an empty report where `op` does not run
/// there, [`Flavour::runs`]).
pub fn matrix_on(flavour: Flavour, op: Op, fault: Fault, size: Size) -> MatrixReport {
    let mut report = MatrixReport::default();
    if !flavour.runs(op) {
        return report;
    }
    if op == Op::RatioApply {
        let (base, bad, names) = ratio_point(fault, None);
        if !bad.is_empty() {
            report
                .failures
                .push(format!("uninterrupted: {}", bad.join("; ")));
        }
        for (at, name) in names.iter().enumerate() {
            report.points += 1;
            let (last, mut bad, _) = ratio_point(fault, Some(at));
            if last != base {
                bad.push("the options differ from the uninterrupted apply's".into());
            }
            if bad.is_empty() {
                report.survived += 1;
            } else {
                report.failures.push(format!("{name}: {}", bad.join("; ")));
            }
        }
        return report;
    }
    let case = EngineCase { op, size, flavour };
    let (base, names) = case.baseline(fault);
    for (at, name) in names.iter().enumerate() {
        report.points += 1;
        let (bad, repeats) = case.point(fault, at, &base);
        report.repeated_writes += repeats;
        if bad.is_empty() {
            report.survived += 1;
        } else {
            report
                .failures
                .push(format!("#{at} {name}: {}", bad.join("; ")));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_all_survive(op: Op, fault: Fault) {
        let r = matrix(op, fault, Size::SMALL);
        // The matrix must have exercised something: a sync of four channels has dozens of points.
        let least = match (op, fault) {
            (Op::RatioApply, Fault::StoreFull) => 1,
            (_, Fault::StoreFull) => 5,
            (Op::RatioApply, _) => 8,
            (_, _) => 20,
        };
        assert!(
            r.points >= least,
            "{} {fault:?}: only {} points",
            op.name(),
            r.points
        );
        assert!(
            r.failures.is_empty(),
            "{} {fault:?}: {} of {} points survived:\n{}",
            op.name(),
            r.survived,
            r.points,
            r.failures.join("\n")
        );
        assert_eq!(r.survived, r.points);
    }

    #[test]
    fn a_sync_killed_at_every_point_resumes_to_the_same_site() {
        assert_all_survive(Op::Sync, Fault::Crash);
    }

    #[test]
    fn a_redirect_apply_killed_at_every_point_resumes_to_the_same_site() {
        assert_all_survive(Op::RedirectApply, Fault::Crash);
    }

    #[test]
    fn a_revert_killed_at_every_point_resumes_to_the_same_site() {
        assert_all_survive(Op::Revert, Fault::Crash);
    }

    #[test]
    fn a_ratio_apply_killed_at_every_point_applied_again_ends_the_same() {
        assert_all_survive(Op::RatioApply, Fault::Crash);
    }

    #[test]
    fn a_full_store_stops_every_operation_with_a_storage_error_and_the_next_run_finishes() {
        for op in Op::ALL {
            assert_all_survive(op, Fault::StoreFull);
        }
    }

    #[test]
    fn a_clock_set_back_or_forward_at_any_point_neither_panics_nor_times_out() {
        for op in Op::ALL {
            assert_all_survive(op, Fault::ClockBack);
            assert_all_survive(op, Fault::ClockForward);
        }
    }

    /// The small New API world's gateway, checking every write (no fault point fires).
    fn checked_gateway() -> (FaultGateway, Rc<Fuse>, Sim) {
        let w = World::new(Size::SMALL, Flavour::NewApi);
        populate(&w, Size::SMALL);
        let fuse = Fuse::new(w.clock.clone(), Fault::Crash, None);
        let gw = FaultGateway {
            inner: w.gw.clone(),
            fuse: fuse.clone(),
            store: w.store.clone(),
        };
        (gw, fuse, w.sim)
    }

    #[test]
    fn the_checks_catch_a_write_without_its_snapshot() {
        // The checker itself must be able to fail: a gateway write with no snapshot stored.
        let (gw, fuse, mut sim) = checked_gateway();
        let ch = gw.inner.channel(1).unwrap();
        let update = ChannelUpdate {
            models: Some(vec!["x".into()]),
            mapping: None,
        };
        sim.block_on(gw.update_channel(&ch, &update)).ok();
        assert_eq!(fuse.violations.borrow().len(), 1);
    }

    #[test]
    fn the_checks_catch_a_snapshot_without_the_routes_the_write_deletes() {
        // Channel 1 has two routes on m1-0; a write without m1-0 deletes them, so its snapshot
        // must hold both. Stored without it, the write is a violation; with it, it is not.
        let (gw, fuse, mut sim) = checked_gateway();
        let ch = gw.inner.channel(1).unwrap();
        let kept = vec!["m1-1".to_string(), "m1-2".to_string()];
        let mut snap = Snapshot {
            channel_id: ch.id.clone(),
            channel_name: ch.name.clone(),
            taken_ms: 0,
            before: crate::engine::record::ChannelState {
                models: ch.models.clone(),
                mapping: ch.mapping.clone(),
            },
            after: crate::engine::record::ChannelState {
                models: kept.clone(),
                mapping: ch.mapping.clone(),
            },
            routes: Vec::new(),
        };
        let key = "sync/fake/run/r1/snap/1";
        let update = ChannelUpdate {
            models: Some(kept),
            mapping: None,
        };
        block(gw.store.set(key, serde_json::to_string(&snap).unwrap())).unwrap();
        // The check the write makes, on the channel as it is before the write.
        assert!(
            !gw.snapshot_stored(&ch.id, &update),
            "the route items are missing"
        );
        snap.routes = vec![route("1", "m1-0", true)];
        block(gw.store.set(key, serde_json::to_string(&snap).unwrap())).unwrap();
        assert!(
            !gw.snapshot_stored(&ch.id, &update),
            "group 4's item is missing"
        );
        snap.routes.push(route("4", "m1-0", false));
        block(gw.store.set(key, serde_json::to_string(&snap).unwrap())).unwrap();
        assert!(gw.snapshot_stored(&ch.id, &update));
        sim.block_on(gw.update_channel(&ch, &update)).unwrap();
        assert!(fuse.violations.borrow().is_empty());
        assert_eq!(
            gw.inner.channel(1).unwrap().rules.route_items,
            vec![route("2", "m1-1", false)],
            "the write deleted the route on m1-0"
        );
    }

    #[test]
    fn a_plan_apply_killed_at_every_point_resumes_to_the_same_site() {
        assert_all_survive(Op::PlanApply, Fault::Crash);
    }

    #[test]
    fn the_scenarios_delete_and_restore_routes() {
        // The matrices only cover routes if the uninterrupted runs touch them.
        let size = Size::SMALL;
        let r = |items: &[(&str, &str, bool)]| -> Vec<RouteItem> {
            items.iter().map(|(g, m, a)| route(g, m, *a)).collect()
        };
        let populated = |ch: &str| match ch {
            "1" => r(&[
                ("1", "m1-0", true),
                ("2", "m1-1", false),
                ("4", "m1-0", false),
            ]),
            "2" => r(&[("1", "m2-0", false)]),
            "4" => r(&[("2", "m4-2", true)]),
            _ => Vec::new(),
        };
        for flavour in [Flavour::NewApi, Flavour::Octopus] {
            let f = flavour.name();
            let case = |op| EngineCase { op, size, flavour };
            // What deletes routes: a plain sync on New API (no `routed`), a confirmed plan on
            // both; on Octopus a plain sync holds those two channels.
            let (sync, _) = case(Op::Sync).baseline(Fault::Crash);
            let (apply, _) = case(Op::PlanApply).baseline(Fault::Crash);
            if flavour == Flavour::Octopus {
                for ch in ["1", "2", "4"] {
                    assert_eq!(sync.routes[ch], populated(ch), "{f}: {ch} held");
                }
                assert_eq!(sync.statuses["1"], ItemStatus::NeedsReview);
                assert!(sync.snapshot_routes.values().all(Vec::is_empty), "{f}");
            }
            let deleting = if flavour == Flavour::NewApi {
                vec![&sync, &apply]
            } else {
                vec![&apply]
            };
            for o in deleting {
                assert_eq!(o.routes["1"], r(&[("2", "m1-1", false)]), "{f}");
                assert_eq!(o.routes["2"], r(&[]), "{f}: m2-0's route deleted");
                assert_eq!(o.routes["4"], populated("4"), "{f}: kept");
                assert_eq!(
                    o.snapshot_routes["1"],
                    r(&[("1", "m1-0", true), ("4", "m1-0", false)]),
                    "{f}"
                );
                assert_eq!(o.snapshot_routes["2"], r(&[("1", "m2-0", false)]), "{f}");
            }
            let (revert, names) = case(Op::Revert).baseline(Fault::Crash);
            assert_eq!(revert.routes["1"], populated("1"), "{f}: restored");
            assert_eq!(revert.routes["2"], populated("2"), "{f}: restored");
            assert_eq!(revert.routes["3"], r(&[]), "{f}: the revert deleted it");
            assert_eq!(revert.snapshot_routes["3"], r(&[("3", "m3-new", true)]));
            let restores = names.iter().filter(|n| n.contains("routes")).count();
            // Before and after each group's restore: two groups on channel 1, one on 2.
            assert_eq!(restores, 6, "{f}: {names:?}");
        }
        let (redirect, _) = EngineCase {
            op: Op::RedirectApply,
            size,
            flavour: Flavour::NewApi,
        }
        .baseline(Fault::Crash);
        assert_eq!(redirect.routes["1"], r(&[("1", "vendor/std1:free", true)]));
        assert_eq!(redirect.routes["3"], r(&[("1", "vendor/std3:free", true)]));
        assert!(redirect
            .statuses
            .values()
            .any(|s| *s == ItemStatus::Success));
    }

    #[test]
    fn on_octopus_a_sync_apply_or_revert_killed_or_out_of_storage_at_every_point_recovers() {
        for op in [Op::Sync, Op::PlanApply, Op::Revert] {
            for fault in [Fault::Crash, Fault::StoreFull] {
                let r = matrix_on(Flavour::Octopus, op, fault, Size::SMALL);
                assert!(
                    r.points >= 5,
                    "{} {fault:?}: {} points",
                    op.name(),
                    r.points
                );
                assert!(
                    r.failures.is_empty(),
                    "Octopus {} {fault:?}: {} of {} points survived:\n{}",
                    op.name(),
                    r.survived,
                    r.points,
                    r.failures.join("\n")
                );
            }
        }
        assert_eq!(
            matrix_on(
                Flavour::Octopus,
                Op::RedirectApply,
                Fault::Crash,
                Size::SMALL
            )
            .points,
            0,
            "Octopus refuses redirects"
        );
    }
}

//! The model-list sync engine (`docs/sync.md`).
//!
//! One [`Engine`] serves one site. Its public calls:
//!
//! * [`Engine::run`] — run all / selected / failed-only channels, or a dry run (plan only);
//! * [`Engine::plan`] — a dry run that hands back the [`SyncPlan`] value;
//! * [`Engine::apply_plan`] — apply a plan the admin confirmed (re-reads each channel first);
//! * [`Engine::resume`] — continue a run that was interrupted (the service worker was stopped);
//! * [`Engine::revert_run`] / [`Engine::revert_channel`] — restore the snapshots a run took;
//! * [`Engine::history`] — stored runs, items, search, snapshots, plans (see [`crate::history`]).
//!
//! Every run holds the site's run lock, checkpoints each channel as it finishes (snapshot before
//! a write, result after it), respects the token buckets ([`limit`]), the concurrency limit, the
//! per-channel time limit and the retry policy ([`retry`]), and reports progress to an
//! [`Observer`]. All waiting goes through the injected [`Clock`], so tests run in virtual time
//! ([`crate::sim`]).
//!
//! Where it lives: this file holds the public calls and how each run is set up; `lock.rs` the
//! run lock and busy flag (one `with_run_lock` around every run); `session.rs` a run's
//! execution (`RunSession`: channels in flight, checkpoints, closing the run); `sync_one.rs` one
//! channel of a sync; `apply.rs` writing a stored plan entry (fresh read, snapshot, write);
//! `revert.rs` reverts; `deadline.rs` the per-channel time limit and retries; [`redirect`] the
//! redirect runs; [`plan`] the per-channel decision.

mod apply;
mod deadline;
pub use msync_types::hold;
pub mod limit;
mod lock;
mod order;
pub mod plan;
// Price check after sync (issue 19): the engine's hooks call into engine/pricing.rs.
mod pricing;
mod probe; // issue 21: probe before adding
pub use msync_types::record;
pub mod redirect;
pub mod retry;
mod revert;
mod session;
mod sync_one;

#[cfg(test)]
mod probe_tests;
#[cfg(test)]
mod redirect_tests;
#[cfg(test)]
mod tests;

use crate::clock::Clock;
use crate::error::{Error, ErrorClass, Result};
use crate::filter::Filters;
use crate::gateway::{self, Ctx, Gateway};
use crate::history::{History, RunLock, LOCK_STALE_MS};
use crate::model::{Channel, ChannelId, ChannelUpdate, Mapping, SiteId};
use crate::reason::{GaveUp, ItemNote, ItemReason, ReviewReason, RunError, RunNote, SkipReason};
use crate::settings::{SettingsCheck, SyncSettings};
use crate::store::KvStore;
use futures::stream::{self, StreamExt};
use limit::Limits;
use plan::{same_set, ChannelPlan, Decision, SyncPlan};
pub use probe::ProbeMode;
use record::{
    ChannelState, ItemBudget, ItemResult, ItemStatus, Job, QueuedChannel, RunHead, RunId, RunMode,
    RunRecord, RunState, Snapshot, Totals, Trigger,
};
use retry::{RandomSource, RetryDecision, SplitMix64};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

pub use msync_types::run::{Progress, Selection};

/// What [`Engine::run`] should do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    pub selection: Selection,
    pub trigger: Trigger,
    /// Plan only: fetch and decide, write nothing.
    pub dry_run: bool,
    /// Stored in the run's head for display (the scheduler knows it, the engine does not).
    #[serde(default)]
    pub next_scheduled_ms: Option<u64>,
}

impl RunRequest {
    pub fn new(selection: Selection, trigger: Trigger) -> RunRequest {
        RunRequest {
            selection,
            trigger,
            dry_run: false,
            next_scheduled_ms: None,
        }
    }
    /// "Run all", manually.
    pub fn all() -> RunRequest {
        RunRequest::new(Selection::All, Trigger::Manual)
    }
    /// A scheduled run of all channels.
    pub fn scheduled() -> RunRequest {
        RunRequest::new(Selection::All, Trigger::Scheduled)
    }
    /// "Retry failed only".
    pub fn failed_only() -> RunRequest {
        RunRequest::new(Selection::FailedOnly, Trigger::Retry)
    }
    pub fn channels(ids: Vec<ChannelId>) -> RunRequest {
        RunRequest::new(Selection::Channels(ids), Trigger::Manual)
    }
    pub fn dry_run(mut self) -> RunRequest {
        self.dry_run = true;
        self
    }
}

/// Options of [`Engine::apply_plan`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyOptions {
    /// Write even channels that changed since the plan was made.
    pub force: bool,
    /// Apply only these channels of the plan (default: every change in it).
    pub channels: Option<Vec<ChannelId>>,
}

/// Receives progress while a run works. Both methods default to doing nothing.
pub trait Observer {
    fn on_progress(&self, _progress: &Progress) {}
    /// Called once per channel, right after its result is checkpointed.
    fn on_item(&self, _item: &ItemResult) {}
}

/// The observer that ignores everything.
impl Observer for () {}

/// What an engine needs from the outside.
pub struct EngineDeps {
    pub gateway: Rc<dyn Gateway>,
    pub clock: Rc<dyn Clock>,
    pub store: Rc<dyn KvStore>,
    /// The buckets; pass the same [`Limits`] whose [`Limits::wrap_ctx`] wrapped the adapter's
    /// transport, so admin calls and fetches share the site bucket. `None` = fresh buckets.
    pub limits: Option<Rc<Limits>>,
    /// Jitter source (seed it from the clock in production, fixed in tests).
    pub rng: Box<dyn RandomSource>,
}

/// The sync engine of one site.
pub struct Engine {
    gw: Rc<dyn Gateway>,
    clock: Rc<dyn Clock>,
    store: Rc<dyn KvStore>,
    limits: Rc<Limits>,
    settings: SyncSettings,
    filters: Filters,
    rng: RefCell<Box<dyn RandomSource>>,
    site: SiteId,
    busy: Cell<bool>,
    /// The site's prices for the run in progress (price check, see `pricing.rs`).
    prices: RefCell<Option<Rc<crate::pricing::PriceState>>>,
    /// Probes this run may still send (issue 21, `probe.rs`).
    probe_budget: probe::RunBudget,
}

/// Unit of work of one channel.
enum Work {
    /// A listed channel; `true` when its model list was dropped after listing (see
    /// [`compact_listing`]) and must be read again when its turn comes.
    Sync(Channel, bool),
    Apply(ChannelPlan),
    Revert(Snapshot),
    /// A redirect preview entry (see [`redirect`]).
    Redirect(ChannelPlan),
    Missing(Error),
}

/// Model names the listed channels may hold in memory for a whole run. A site whose listing
/// holds more (thousands of channels of many thousands of models) keeps only each channel's
/// id, name and settings until its turn, and reads it again then: one more request per channel
/// in exchange for memory that follows the channels in flight.
const LISTING_BUDGET: usize = 500_000;

/// Drop the model lists of every queued channel when the listing is over [`LISTING_BUDGET`].
fn compact_listing(work: &mut HashMap<ChannelId, Work>) {
    let names: usize = work
        .values()
        .map(|w| match w {
            Work::Sync(c, _) => c.models.len(),
            _ => 0,
        })
        .sum();
    if names <= LISTING_BUDGET {
        return;
    }
    for w in work.values_mut() {
        if let Work::Sync(c, dropped) = w {
            c.models = Vec::new();
            c.mapping = Mapping::Empty;
            *dropped = true;
        }
    }
}

/// The route items (Octopus group items) a write of `new` deletes from channel `c`: those
/// routing one of its models that `new` no longer holds (`internal/op/channel.go`
/// `ChannelUpdate` deletes them; a revert creates them again from the snapshot).
fn routes_removed(c: &Channel, new: &[String]) -> Vec<crate::model::RouteItem> {
    c.rules
        .route_items
        .iter()
        .filter(|r| c.models.contains(&r.model) && !new.contains(&r.model))
        .cloned()
        .collect()
}

fn state_of(c: &Channel) -> ChannelState {
    ChannelState {
        models: c.models.clone(),
        mapping: c.mapping.clone(),
    }
}

impl Engine {
    /// Build an engine. Fails with a `Validation` error when the settings are invalid (the same
    /// messages as [`SyncSettings::validate`]).
    pub fn new(deps: EngineDeps, settings: SyncSettings) -> Result<Engine> {
        settings.check()?;
        let filters = Filters::compile(&settings)?;
        let limits = deps
            .limits
            .unwrap_or_else(|| Limits::new(deps.clock.clone(), &settings.rate));
        let site = deps.gateway.site().id.clone();
        Ok(Engine {
            gw: deps.gateway,
            clock: deps.clock,
            store: deps.store,
            limits,
            settings,
            filters,
            rng: RefCell::new(deps.rng),
            site,
            busy: Cell::new(false),
            prices: RefCell::new(None),
            probe_budget: probe::RunBudget::default(),
        })
    }

    /// Build the adapter for `ctx.site` with its transport behind the site-wide bucket, and an
    /// engine over it. `seed` feeds the backoff jitter.
    pub fn connect(
        ctx: Ctx,
        store: Rc<dyn KvStore>,
        settings: SyncSettings,
        seed: u64,
    ) -> Result<Engine> {
        let clock = ctx.clock.clone();
        let limits = Limits::new(clock.clone(), &settings.rate);
        let gw: Rc<dyn Gateway> = Rc::from(gateway::connect(limits.wrap_ctx(ctx)));
        Engine::new(
            EngineDeps {
                gateway: gw,
                clock,
                store,
                limits: Some(limits),
                rng: Box::new(SplitMix64(seed)),
            },
            settings,
        )
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    pub fn limits(&self) -> &Rc<Limits> {
        &self.limits
    }

    pub fn gateway(&self) -> &Rc<dyn Gateway> {
        &self.gw
    }

    /// This site's stored runs: list, items, search, snapshots, plans, export.
    pub fn history(&self) -> History<'_> {
        History::new(&*self.store, self.site.clone())
    }

    // ----- public entry points -------------------------------------------------------------

    /// Run a sync (or a dry run) and return its record.
    ///
    /// * The run takes the site's run lock. If another run holds it, a scheduled request is
    ///   recorded as a `Skipped` run and returned as `Ok`; any other request is an `Err`
    ///   (`Validation`, "another run is in progress").
    /// * `FailedOnly` with no previous run or no failures is an `Err` (`Validation`).
    /// * A run that cannot list the site's channels is recorded with state `Failed` and the error
    ///   in its head, and returned as `Ok`.
    /// * Dropping the returned future interrupts the run; everything finished so far is stored and
    ///   [`Engine::resume`] continues it.
    pub async fn run(&self, req: RunRequest, obs: &dyn Observer) -> Result<RunRecord> {
        let head = self.sync_head(&req).await?;
        self.with_run_lock(head, async |head| {
            self.start_sync(head, &req.selection, obs).await
        })
        .await
    }

    /// A new head for a sync request (mode from the selection, not yet stored).
    async fn sync_head(&self, req: &RunRequest) -> Result<RunHead> {
        let now = self.clock.now_ms();
        let id = self.new_run_id(now).await?;
        let mode = match (&req.selection, req.dry_run) {
            (_, true) => RunMode::DryRun,
            (Selection::All, _) => RunMode::All,
            (Selection::Channels(_), _) => RunMode::Selected,
            (Selection::FailedOnly, _) => RunMode::Failed,
        };
        let job = Job::Sync {
            dry_run: req.dry_run,
            confirmed: false,
        };
        let mut head = self.new_head(id, req.trigger, mode, job, now);
        head.next_scheduled_ms = req.next_scheduled_ms;
        Ok(head)
    }

    /// Record a run that could not start at all (a scheduled run whose host permission the browser
    /// no longer grants, say): a head in state `Failed` with `error`, no channels, nothing sent
    /// to the site. The history then shows why the schedule did nothing.
    pub async fn record_not_started(&self, req: RunRequest, error: Error) -> Result<RunHead> {
        let mut head = self.sync_head(&req).await?;
        let now = head.started_ms;
        head.state = RunState::Failed;
        head.finished_ms = Some(now);
        head.note = Some(RunNote::DidNotStart);
        head.error = Some(error);
        let h = self.history();
        h.put_head(&head).await?;
        h.prune(
            self.settings.history.keep_runs as usize,
            self.settings.history.max_bytes,
            Some(&head.id),
        )
        .await?;
        Ok(head)
    }

    /// A dry run: fetch and decide every selected channel, write nothing, and return the run's
    /// record with the [`SyncPlan`] (also stored with the run, see [`History::plan`]).
    pub async fn plan(
        &self,
        selection: Selection,
        obs: &dyn Observer,
    ) -> Result<(RunRecord, SyncPlan)> {
        let record = self
            .run(RunRequest::new(selection, Trigger::Manual).dry_run(), obs)
            .await?;
        let plan = self
            .history()
            .plan(&record.head.id)
            .await?
            .ok_or_else(|| Error::validation("the dry run stored no plan"))?;
        Ok((record, plan))
    }

    /// Apply a confirmed plan: every channel whose decision is `Write` or `NeedsReview` (the
    /// admin saw the plan, so the removal guard is lifted), or only `opts.channels`.
    ///
    /// Each channel is re-read first; if it changed since the plan was made it is not written
    /// (`NeedsReview`, "changed since the plan") unless `opts.force`. A snapshot precedes every
    /// write, so the apply run can be reverted like any other.
    pub async fn apply_plan(
        &self,
        plan: SyncPlan,
        opts: ApplyOptions,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        if plan.site != self.site {
            return Err(Error::validation(format!(
                "this plan belongs to site {}, not {}",
                plan.site, self.site
            )));
        }
        let now = self.clock.now_ms();
        let id = self.new_run_id(now).await?;
        let job = Job::Apply {
            plan_run: plan.run.clone(),
            force: opts.force,
        };
        let head = self.new_head(id, Trigger::Manual, RunMode::Apply, job, now);
        let entries: Vec<ChannelPlan> = plan
            .channels
            .into_iter()
            .filter(|c| matches!(c.decision, Decision::Write | Decision::NeedsReview { .. }))
            .filter(|c| {
                opts.channels
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&c.channel_id))
            })
            .collect();
        if entries.is_empty() {
            return Err(Error::found(
                ErrorClass::Validation,
                RunError::PlanHasNoChanges,
            ));
        }
        self.run_planned(head, entries, Work::Apply, obs).await
    }

    /// Run stored plan entries (an apply or a redirect): queue them, take the run lock, store
    /// the head and every entry (so an interrupted run resumes with the same plan), execute.
    async fn run_planned(
        &self,
        mut head: RunHead,
        entries: Vec<ChannelPlan>,
        work: fn(ChannelPlan) -> Work,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        head.queue = entries
            .iter()
            .map(|c| QueuedChannel {
                id: c.channel_id.clone(),
                name: c.channel_name.clone(),
            })
            .collect();
        self.with_run_lock(head, async |head| {
            let h = self.history();
            // Entries first, head last: a run whose head is stored has its whole plan stored,
            // so a resume never meets a queued channel without its entry. (Entries of a head
            // that was never stored are unreachable, and a new run starts over.)
            for e in &entries {
                h.put_plan_entry(&head.id, e).await?;
            }
            h.put_head(&head).await?;
            let work = entries
                .into_iter()
                .map(|e| (e.channel_id.clone(), work(e)))
                .collect();
            self.execute(head, work, HashMap::new(), HashMap::new(), obs)
                .await
        })
        .await
    }

    /// Continue the interrupted run of this site, if there is one (`Ok(None)` otherwise).
    ///
    /// Channels with a stored result are not touched again. A channel whose write may have landed
    /// just before the interruption (a snapshot but no result) is re-read: if it already holds
    /// the new list it is recorded as written, without a second write.
    pub async fn resume(&self, obs: &dyn Observer) -> Result<Option<RunRecord>> {
        let h = self.history();
        let Some(mut head) = self.interrupted_run().await? else {
            return Ok(None);
        };
        let Some(_busy) = self.enter() else {
            return Err(Error::validation(
                "a run is already in progress in this engine",
            ));
        };
        let now = self.clock.now_ms();
        h.put_lock(&RunLock {
            run: head.id.clone(),
            acquired_ms: now,
            heartbeat_ms: now,
        })
        .await?;
        head.trigger = Trigger::Resume;
        head.resumes += 1;
        let mut done = HashMap::new();
        for q in &head.queue {
            if let Some(item) = h.item(&head.id, &q.id).await? {
                if item.status.is_final() {
                    done.insert(q.id.clone(), item);
                }
            }
        }
        let priors: HashMap<ChannelId, Snapshot> = h
            .snapshots(&head.id)
            .await?
            .into_iter()
            .filter(|s| !done.contains_key(&s.channel_id))
            .map(|s| (s.channel_id.clone(), s))
            .collect();
        let pending: Vec<ChannelId> = head
            .queue
            .iter()
            .filter(|q| !done.contains_key(&q.id))
            .map(|q| q.id.clone())
            .collect();
        let mut work = HashMap::new();
        match head.job.clone() {
            Job::Sync { .. } => {
                let channels = match self.list_channels().await {
                    Ok(c) => c,
                    // The run stays resumable; the lock stays with it.
                    Err(e) => return Err(e),
                };
                let by_id: HashMap<ChannelId, Channel> =
                    channels.into_iter().map(|c| (c.id.clone(), c)).collect();
                for id in pending {
                    let w = match by_id.get(&id) {
                        Some(c) => Work::Sync(c.clone(), false),
                        None => Work::Missing(not_found(&id)),
                    };
                    work.insert(id, w);
                }
            }
            Job::Revert { of, .. } => {
                for s in h.snapshots(&of).await? {
                    if pending.contains(&s.channel_id) {
                        work.insert(s.channel_id.clone(), Work::Revert(s));
                    }
                }
            }
            Job::Apply { .. } | Job::Redirect { .. } => {
                let plan = h
                    .plan(&head.id)
                    .await?
                    .map(|p| p.channels)
                    .unwrap_or_default();
                let redirect = matches!(head.job, Job::Redirect { .. });
                for e in plan {
                    if pending.contains(&e.channel_id) {
                        let id = e.channel_id.clone();
                        work.insert(
                            id,
                            if redirect {
                                Work::Redirect(e)
                            } else {
                                Work::Apply(e)
                            },
                        );
                    }
                }
            }
        }
        compact_listing(&mut work);
        h.put_head(&head).await?;
        self.execute(head, work, done, priors, obs).await.map(Some)
    }

    /// Close the interrupted run of this site for good (the user cancelled it): its head becomes
    /// `Cancelled` with `note`, its totals count the items stored so far (the rest stay `queued`),
    /// and the run lock is released, so [`Engine::resume`] will not continue it. Snapshots stay,
    /// so what it wrote can still be reverted. `Ok(None)` when no run is interrupted.
    ///
    /// Call it only after dropping the run's future (a run still working in this engine would
    /// keep checkpointing).
    pub async fn abandon(&self, note: RunNote) -> Result<Option<RunRecord>> {
        let h = self.history();
        let Some(mut head) = self.interrupted_run().await? else {
            return Ok(None);
        };
        let all = crate::history::ItemQuery::default();
        let Some(record) = h
            .run_matching(&head.id, &all, &mut ItemBudget::default())
            .await?
        else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        head.state = RunState::Cancelled;
        head.totals = Totals::of(
            record.items.iter().filter(|i| i.status.is_final()),
            head.queue.len(),
        );
        head.finished_ms = Some(now);
        head.duration_ms = now.saturating_sub(head.started_ms);
        head.note = Some(note);
        h.put_head(&head).await?;
        h.remove_lock().await?;
        Ok(Some(RunRecord {
            head,
            items: record.items,
        }))
    }

    // ----- run plumbing --------------------------------------------------------------------

    /// A run id greater than every stored one (ids sort by start time, then sequence).
    async fn new_run_id(&self, now: u64) -> Result<RunId> {
        let candidate = RunId::new(now, 0);
        let last = self.history().run_ids().await?.pop();
        Ok(match last {
            Some(last) if last >= candidate => {
                let (ms, seq) = last.0.split_once('-').unwrap_or((&last.0, "0"));
                let ms = ms.parse().unwrap_or(now);
                RunId::new(ms, u64::from_str_radix(seq, 16).unwrap_or(0) + 1)
            }
            _ => candidate,
        })
    }

    fn new_head(&self, id: RunId, trigger: Trigger, mode: RunMode, job: Job, now: u64) -> RunHead {
        RunHead {
            id,
            site: self.site.clone(),
            trigger,
            first_trigger: trigger,
            mode,
            state: RunState::Running,
            job,
            started_ms: now,
            finished_ms: None,
            duration_ms: 0,
            totals: Totals::default(),
            error: None,
            note: None,
            next_scheduled_ms: None,
            queue: Vec::new(),
            resumes: 0,
            pricing: None,
        }
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        let mut attempts = 0;
        self.retrying(None, &mut attempts, async || self.gw.list_channels().await)
            .await
    }

    async fn start_sync(
        &self,
        mut head: RunHead,
        selection: &Selection,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let h = self.history();
        let wanted: Option<Vec<ChannelId>> = match selection {
            Selection::All => None,
            Selection::Channels(ids) => {
                if ids.is_empty() {
                    return Err(Error::found(
                        ErrorClass::Validation,
                        RunError::NoChannelsSelected,
                    ));
                }
                Some(ids.clone())
            }
            Selection::FailedOnly => {
                let Some(last) = h.last_sync_run().await? else {
                    return Err(Error::found(ErrorClass::Validation, RunError::NoRunToRetry));
                };
                let failed: Vec<ChannelId> = last
                    .items
                    .iter()
                    .filter(|i| i.status == ItemStatus::Failed)
                    .map(|i| i.channel_id.clone())
                    .collect();
                if failed.is_empty() {
                    return Err(Error::found(
                        ErrorClass::Validation,
                        RunError::NoFailedToRetry {
                            run: last.head.id.clone(),
                        },
                    ));
                }
                Some(failed)
            }
        };
        let channels = match self.list_channels().await {
            Ok(c) => c,
            Err(e) => {
                let now = self.clock.now_ms();
                head.state = RunState::Failed;
                head.note = Some(RunNote::ListFailed);
                head.error = Some(e);
                head.finished_ms = Some(now);
                head.duration_ms = now.saturating_sub(head.started_ms);
                h.put_head(&head).await?;
                h.remove_lock().await?;
                return Ok(RunRecord {
                    head,
                    items: Vec::new(),
                });
            }
        };
        let mut work = HashMap::new();
        match wanted {
            None => {
                for c in channels {
                    head.queue.push(QueuedChannel {
                        id: c.id.clone(),
                        name: c.name.clone(),
                    });
                    work.insert(c.id.clone(), Work::Sync(c, false));
                }
            }
            Some(ids) => {
                let mut by_id: HashMap<ChannelId, Channel> =
                    channels.into_iter().map(|c| (c.id.clone(), c)).collect();
                for id in ids {
                    if work.contains_key(&id) {
                        continue;
                    }
                    let (name, w) = match by_id.remove(&id) {
                        Some(c) => (c.name.clone(), Work::Sync(c, false)),
                        None => (String::new(), Work::Missing(not_found(&id))),
                    };
                    head.queue.push(QueuedChannel {
                        id: id.clone(),
                        name,
                    });
                    work.insert(id, w);
                }
            }
        }
        compact_listing(&mut work);
        h.put_head(&head).await?;
        self.execute(head, work, HashMap::new(), HashMap::new(), obs)
            .await
    }
}

fn not_found(id: &ChannelId) -> Error {
    Error::found(
        ErrorClass::NotFound,
        RunError::ChannelNotFound { id: id.clone() },
    )
    .with_status(404)
}

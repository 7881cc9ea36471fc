//! The model-list sync engine (SPEC §3).
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

pub use msync_types::hold;
pub mod limit;
mod order;
pub mod plan;
// Price check after sync (issue 19): the engine's hooks call into engine/pricing.rs.
mod pricing;
pub use msync_types::record;
pub mod redirect;
pub mod retry;

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
use crate::settings::{SettingsCheck, SyncSettings};
use crate::store::KvStore;
use futures::future::{select, Either};
use futures::stream::{self, StreamExt};
use limit::Limits;
use order::StartOrder;
use plan::{plan_channel, same_set, ChannelPlan, Decision, PlanRules, SyncPlan};
use record::{
    ChannelState, ItemBudget, ItemResult, ItemStatus, Job, QueuedChannel, RunHead, RunId, RunMode,
    RunRecord, RunState, Snapshot, Totals, Trigger,
};
use retry::{RandomSource, RetryDecision, SplitMix64};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
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

enum Outcome {
    /// Decided, and `true` when written; with the plan entry that confirms models the price
    /// check held back, if it held any.
    Planned(ChannelPlan, bool, Option<Box<ChannelPlan>>),
    /// A write whose reply was lost had landed.
    Landed(Snapshot),
}

/// The per-channel time limit ran out.
struct Deadline;

enum Fail {
    Deadline,
    /// An error; `true` when it came from the write (the write may have landed).
    Err(Error, bool),
}

struct BusyGuard<'a>(&'a Cell<bool>);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

enum LockOutcome {
    Acquired,
    Held(RunLock),
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
        let Some(_busy) = self.enter() else {
            return self.refuse(head, None).await;
        };
        if let LockOutcome::Held(l) = self.try_lock(&head.id).await? {
            return self.refuse(head, Some(l)).await;
        }
        let result = self.start_sync(head, &req.selection, obs).await;
        if result.is_err() {
            let _ = self.history().remove_lock().await;
        }
        result
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
        head.note = Some("the run did not start".into());
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
            return Err(Error::validation("the plan has no changes to apply"));
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
        let Some(_busy) = self.enter() else {
            return self.refuse(head, None).await;
        };
        if let LockOutcome::Held(l) = self.try_lock(&head.id).await? {
            return self.refuse(head, Some(l)).await;
        }
        let h = self.history();
        let result = async {
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
        }
        .await;
        if result.is_err() {
            let _ = h.remove_lock().await;
        }
        result
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
    pub async fn abandon(&self, note: &str) -> Result<Option<RunRecord>> {
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
        head.note = Some(note.to_string());
        h.put_head(&head).await?;
        h.remove_lock().await?;
        Ok(Some(RunRecord {
            head,
            items: record.items,
        }))
    }

    /// Revert every channel run `run` wrote, restoring each snapshot exactly (models and mapping).
    /// A channel changed since that run wrote it is not reverted (`NeedsReview`, with the reason)
    /// unless `force`. The revert is itself a run (mode `Revert`) with its own snapshots.
    pub async fn revert_run(
        &self,
        run: &RunId,
        force: bool,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let h = self.history();
        let Some(target) = h.head(run).await? else {
            return Err(Error::validation(format!(
                "run {run} is not in the history"
            )));
        };
        let mut snaps = h.snapshots(run).await?;
        let order: HashMap<&ChannelId, usize> = target
            .queue
            .iter()
            .enumerate()
            .map(|(i, q)| (&q.id, i))
            .collect();
        snaps.sort_by_key(|s| order.get(&s.channel_id).copied().unwrap_or(usize::MAX));
        if snaps.is_empty() {
            return Err(Error::validation(format!(
                "run {run} wrote no channel; nothing to revert"
            )));
        }
        self.revert(run, snaps, force, obs).await
    }

    /// Revert one channel to its snapshot from run `run` (see [`Engine::revert_run`]).
    pub async fn revert_channel(
        &self,
        run: &RunId,
        channel: &ChannelId,
        force: bool,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let Some(snap) = self.history().snapshot(run, channel).await? else {
            return Err(Error::validation(format!(
                "run {run} holds no snapshot of channel {channel}; it did not write that channel"
            )));
        };
        self.revert(run, vec![snap], force, obs).await
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

    fn enter(&self) -> Option<BusyGuard<'_>> {
        if self.busy.replace(true) {
            None
        } else {
            Some(BusyGuard(&self.busy))
        }
    }

    /// Take the site's run lock for `run`, unless a live run holds it. A stale lock's run is
    /// closed as abandoned.
    async fn try_lock(&self, run: &RunId) -> Result<LockOutcome> {
        let h = self.history();
        let now = self.clock.now_ms();
        if let Some(l) = h.lock().await? {
            if &l.run != run {
                let other = h
                    .head(&l.run)
                    .await?
                    .filter(|o| o.state == RunState::Running);
                if let Some(mut other) = other {
                    if now.saturating_sub(l.heartbeat_ms) < LOCK_STALE_MS {
                        return Ok(LockOutcome::Held(l));
                    }
                    other.state = RunState::Failed;
                    other.finished_ms = Some(now);
                    other.note = Some(format!(
                        "interrupted and not resumed within {} minutes; superseded by run {run}",
                        LOCK_STALE_MS / 60_000
                    ));
                    h.put_head(&other).await?;
                }
            }
        }
        h.put_lock(&RunLock {
            run: run.clone(),
            acquired_ms: now,
            heartbeat_ms: now,
        })
        .await?;
        Ok(LockOutcome::Acquired)
    }

    /// Another run is in progress: record a skipped scheduled run, refuse anything else.
    async fn refuse(&self, mut head: RunHead, holder: Option<RunLock>) -> Result<RunRecord> {
        let who = match &holder {
            Some(l) => format!("run {} (started at {} ms)", l.run, l.acquired_ms),
            None => "another run".to_string(),
        };
        if head.trigger != Trigger::Scheduled {
            return Err(Error::validation(format!(
                "{who} is in progress on this site; wait for it to finish or resume it"
            ))
            .not_retryable());
        }
        head.state = RunState::Skipped;
        head.queue.clear();
        head.finished_ms = Some(head.started_ms);
        head.note = Some(format!("scheduled run skipped: {who} is in progress"));
        let h = self.history();
        h.put_head(&head).await?;
        h.prune(
            self.settings.history.keep_runs as usize,
            self.settings.history.max_bytes,
            holder.as_ref().map(|l| &l.run),
        )
        .await?;
        Ok(RunRecord {
            head,
            items: Vec::new(),
        })
    }

    /// The run to resume: the lock's run if it is still `Running`, else the newest such run.
    async fn interrupted_run(&self) -> Result<Option<RunHead>> {
        let h = self.history();
        if let Some(l) = h.lock().await? {
            match h.head(&l.run).await? {
                Some(head) if head.state == RunState::Running => return Ok(Some(head)),
                _ => h.remove_lock().await?,
            }
        }
        if let Some(id) = h.run_ids().await?.last() {
            if let Some(head) = h.head(id).await? {
                if head.state == RunState::Running {
                    return Ok(Some(head));
                }
            }
        }
        Ok(None)
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
                    return Err(Error::validation("no channels selected"));
                }
                Some(ids.clone())
            }
            Selection::FailedOnly => {
                let Some(last) = h.last_sync_run().await? else {
                    return Err(Error::validation("there is no previous run to retry"));
                };
                let failed: Vec<ChannelId> = last
                    .items
                    .iter()
                    .filter(|i| i.status == ItemStatus::Failed)
                    .map(|i| i.channel_id.clone())
                    .collect();
                if failed.is_empty() {
                    return Err(Error::validation(format!(
                        "the last run ({}) has no failed channels to retry",
                        last.head.id
                    )));
                }
                Some(failed)
            }
        };
        let channels = match self.list_channels().await {
            Ok(c) => c,
            Err(e) => {
                let now = self.clock.now_ms();
                head.state = RunState::Failed;
                head.note = Some("could not list the site's channels".into());
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

    async fn revert(
        &self,
        of: &RunId,
        snaps: Vec<Snapshot>,
        force: bool,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let now = self.clock.now_ms();
        let id = self.new_run_id(now).await?;
        let job = Job::Revert {
            of: of.clone(),
            force,
        };
        let mut head = self.new_head(id, Trigger::Manual, RunMode::Revert, job, now);
        head.queue = snaps
            .iter()
            .map(|s| QueuedChannel {
                id: s.channel_id.clone(),
                name: s.channel_name.clone(),
            })
            .collect();
        head.note = Some(format!("revert of run {of}"));
        let Some(_busy) = self.enter() else {
            return self.refuse(head, None).await;
        };
        if let LockOutcome::Held(l) = self.try_lock(&head.id).await? {
            return self.refuse(head, Some(l)).await;
        }
        let h = self.history();
        let result = async {
            h.put_head(&head).await?;
            let work = snaps
                .into_iter()
                .map(|s| (s.channel_id.clone(), Work::Revert(s)))
                .collect();
            self.execute(head, work, HashMap::new(), HashMap::new(), obs)
                .await
        }
        .await;
        if result.is_err() {
            let _ = h.remove_lock().await;
        }
        result
    }

    fn progress(
        &self,
        head: &RunHead,
        counts: &Totals,
        in_flight: &[QueuedChannel],
        session: (u64, usize),
    ) -> Progress {
        let now = self.clock.now_ms();
        let total = head.queue.len();
        let done = total - counts.queued;
        let session_done = done.saturating_sub(session.1);
        let session_ms = now.saturating_sub(session.0);
        let rate_per_min = if session_ms > 0 {
            session_done as f64 * 60_000.0 / session_ms as f64
        } else {
            0.0
        };
        let eta_ms = (session_done > 0 && session_ms > 0)
            .then(|| ((total - done) as u64).saturating_mul(session_ms) / session_done as u64);
        let mut totals = counts.clone();
        totals.running = in_flight.len();
        totals.queued = totals.queued.saturating_sub(in_flight.len());
        Progress {
            run: head.id.clone(),
            total,
            done,
            in_flight: in_flight.to_vec(),
            totals,
            elapsed_ms: now.saturating_sub(head.started_ms),
            rate_per_min,
            eta_ms,
        }
    }

    /// Process the queue's unfinished channels, checkpointing each, then close the run.
    async fn execute(
        &self,
        mut head: RunHead,
        work: HashMap<ChannelId, Work>,
        done: HashMap<ChannelId, ItemResult>,
        priors: HashMap<ChannelId, Snapshot>,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let h = self.history();
        let run = head.id.clone();
        let session = (self.clock.now_ms(), done.len());
        let pending: Vec<QueuedChannel> = head
            .queue
            .iter()
            .filter(|q| !done.contains_key(&q.id))
            .cloned()
            .collect();
        // Counts kept up to date as items finish (recounting per event would be quadratic).
        let counts = RefCell::new(Totals::of(done.values(), head.queue.len()));
        // Finished items stay in memory only as counts and short previews; the store has them
        // whole (one key per channel), so memory follows the channels in flight, not the run.
        let budget = RefCell::new(ItemBudget::default());
        let mut done = done;
        for item in done.values_mut() {
            budget.borrow_mut().keep(item);
        }
        let results = RefCell::new(done);
        let in_flight: RefCell<Vec<QueuedChannel>> = RefCell::new(Vec::new());
        let work = RefCell::new(work);
        let priors = RefCell::new(priors);
        let fatal: RefCell<Option<Error>> = RefCell::new(None);
        let (dry_run, confirmed, force) = match &head.job {
            Job::Sync { dry_run, confirmed } => (*dry_run, *confirmed, false),
            Job::Apply { force, .. } | Job::Revert { force, .. } | Job::Redirect { force, .. } => {
                (false, true, *force)
            }
        };
        let redirect = redirect::RedirectRun::of(&head.job);
        if matches!(head.job, Job::Sync { .. }) {
            self.load_prices().await; // price check (issue 19)
        }
        obs.on_progress(&self.progress(&head, &counts.borrow(), &[], session));
        let concurrency = self.settings.concurrency.max(1) as usize;
        // Free slots take channels host-aware (see `order`): a slowed host does not hold them all.
        let order = RefCell::new(StartOrder::new(pending.into_iter().map(|q| {
            let bucket = match work.borrow().get(&q.id) {
                Some(Work::Sync(c, _)) => {
                    let host = c.upstream_host();
                    Some((
                        self.limits.fetch_key(host.as_deref()),
                        self.limits.fetch_bucket(host.as_deref()),
                    ))
                }
                _ => None,
            };
            (q, bucket)
        })));
        let one = |q: QueuedChannel| {
            let (h, run, head, results, counts, in_flight, work, priors, fatal, redirect) = (
                &h, &run, &head, &results, &counts, &in_flight, &work, &priors, &fatal, &redirect,
            );
            let budget = &budget;
            async move {
                if fatal.borrow().is_some() {
                    return;
                }
                in_flight.borrow_mut().push(q.clone());
                obs.on_progress(&self.progress(
                    head,
                    &counts.borrow(),
                    &in_flight.borrow(),
                    session,
                ));
                let w = work.borrow_mut().remove(&q.id);
                let prior = priors.borrow_mut().remove(&q.id);
                let (mut item, plan) = match w {
                    Some(Work::Sync(c, dropped)) => {
                        self.sync_one(run, c, dropped, prior, dry_run, confirmed)
                            .await
                    }
                    Some(Work::Apply(p)) => (self.apply_one(run, p, prior, force).await, None),
                    Some(Work::Revert(s)) => (self.revert_one(run, s, prior, force).await, None),
                    Some(Work::Redirect(p)) => match redirect {
                        Some(r) => (self.redirect_one(run, p, prior, r, force).await, None),
                        None => (self.failed_item(&q, &not_found(&q.id)), None),
                    },
                    Some(Work::Missing(e)) => (self.failed_item(&q, &e), None),
                    None => (self.failed_item(&q, &not_found(&q.id)), None),
                };
                // A snapshot that could not be stored stops the run: every later channel would
                // meet the same full store, and nothing may be written without its snapshot.
                if item.error_class == Some(ErrorClass::Storage) {
                    fatal.borrow_mut().get_or_insert_with(|| {
                        Error::storage(item.message.clone().unwrap_or_default())
                    });
                }
                let checkpoint = async {
                    // Dry runs store every entry; a run stores the entries that confirm models
                    // the price check held back, so applying the run adds them.
                    let held =
                        |p: &ChannelPlan| p.price.as_ref().is_some_and(|c| !c.held.is_empty());
                    if let Some(p) = plan.as_ref().filter(|p| dry_run || held(p)) {
                        h.put_plan_entry(run, p).await?;
                    }
                    h.put_item(run, &item).await?;
                    let now = self.clock.now_ms();
                    h.put_lock(&RunLock {
                        run: run.clone(),
                        acquired_ms: head.started_ms,
                        heartbeat_ms: now,
                    })
                    .await
                };
                if let Err(e) = checkpoint.await {
                    fatal.borrow_mut().get_or_insert(e);
                }
                in_flight.borrow_mut().retain(|f| f.id != q.id);
                obs.on_item(&item);
                {
                    let mut c = counts.borrow_mut();
                    c.queued = c.queued.saturating_sub(1);
                    c.count(item.status);
                }
                budget.borrow_mut().keep(&mut item);
                results.borrow_mut().insert(q.id.clone(), item);
                obs.on_progress(&self.progress(
                    head,
                    &counts.borrow(),
                    &in_flight.borrow(),
                    session,
                ));
            }
        };
        stream::iter(0..concurrency)
            .for_each_concurrent(concurrency, |_| {
                let (order, one, fatal) = (&order, &one, &fatal);
                async move {
                    while fatal.borrow().is_none() {
                        let Some(q) = order.borrow_mut().next() else {
                            break;
                        };
                        one(q).await;
                    }
                }
            })
            .await;
        let now = self.clock.now_ms();
        let mut results = results.into_inner();
        let items: Vec<ItemResult> = head
            .queue
            .iter()
            .map(|q| {
                results.remove(&q.id).unwrap_or_else(|| {
                    ItemResult::new(q.id.clone(), q.name.clone(), ItemStatus::Queued, now)
                })
            })
            .collect();
        head.totals = Totals::of(&items, head.queue.len());
        head.finished_ms = Some(now);
        head.duration_ms = now.saturating_sub(head.started_ms);
        match fatal.into_inner() {
            Some(e) => {
                head.state = RunState::Failed;
                head.note = Some("stopped: results could not be stored".into());
                head.error = Some(e);
            }
            None => {
                head.state = RunState::Finished;
                // Price check summary, and the fill in the same run (issue 19).
                head.pricing = self.finish_prices(&items, dry_run).await;
            }
        }
        h.put_head(&head).await?;
        h.remove_lock().await?;
        h.prune(
            self.settings.history.keep_runs as usize,
            self.settings.history.max_bytes,
            Some(&head.id),
        )
        .await?;
        Ok(RunRecord { head, items })
    }

    fn failed_item(&self, q: &QueuedChannel, e: &Error) -> ItemResult {
        let mut item = ItemResult::new(
            q.id.clone(),
            q.name.clone(),
            ItemStatus::Failed,
            self.clock.now_ms(),
        );
        item.fail(e);
        item
    }

    // ----- time limits and retries ---------------------------------------------------------

    /// Run `fut`, giving up at `deadline` (on the clock's monotonic time, see [`Self::deadline`]),
    /// moved later by the time the server had the site paused (see [`Self::effective_deadline`]).
    async fn within<T>(
        &self,
        deadline: Option<u64>,
        fut: impl Future<Output = T>,
    ) -> Result<T, Deadline> {
        let Some(deadline) = deadline else {
            return Ok(fut.await);
        };
        let mut fut = pin!(fut);
        loop {
            let now = self.clock.monotonic_ms();
            let end = self.effective_deadline(deadline);
            if now >= end {
                return Err(Deadline);
            }
            match select(fut.as_mut(), self.clock.sleep_ms(end - now)).await {
                Either::Left((v, _)) => return Ok(v),
                // A pause may have begun meanwhile: look again.
                Either::Right(_) => {}
            }
        }
    }

    /// An item's deadline (`start + limit`, from [`Self::deadline`]) plus the time the
    /// server had the site bucket paused since the item started: waiting out a gateway's rate
    /// window (a bare 429 pauses the site for the whole window) or its `Retry-After` is not the
    /// channel being slow, and must not fail every channel in flight.
    fn effective_deadline(&self, deadline: u64) -> u64 {
        let limit = u64::from(self.settings.channel_timeout_secs) * 1000;
        let start = deadline.saturating_sub(limit);
        let site = self.limits.site_bucket();
        let mut end = deadline;
        // Each extension may take in more of a pause; pauses are few and bounded.
        for _ in 0..16 {
            let next = deadline.saturating_add(site.paused_between(start, end));
            if next == end {
                break;
            }
            end = next;
        }
        end
    }

    fn deadline_error(&self) -> Error {
        Error::new(
            ErrorClass::Timeout,
            format!(
                "the channel took longer than the {} s limit",
                self.settings.channel_timeout_secs
            ),
        )
        .not_retryable()
    }

    /// The per-channel time limit from now, on the monotonic clock: setting the system clock
    /// forwards or backwards mid-run neither times a channel out at once nor lets it run on.
    fn deadline(&self) -> Option<u64> {
        (self.settings.channel_timeout_secs > 0).then(|| {
            self.clock
                .monotonic_ms()
                .saturating_add(u64::from(self.settings.channel_timeout_secs) * 1000)
        })
    }

    /// What to do after failed attempt number `attempts`. A wait that would end past the
    /// deadline is not started: the item fails now, with its real error and a note why.
    fn retry_after(&self, err: &mut Error, attempts: u32, deadline: Option<u64>) -> RetryDecision {
        let decision = {
            let mut rng = self.rng.borrow_mut();
            retry::decide(&self.settings.retry, err, attempts, &mut **rng)
        };
        match (decision, deadline.map(|d| self.effective_deadline(d))) {
            (RetryDecision::After(ms), Some(d))
                if self.clock.monotonic_ms().saturating_add(ms) >= d =>
            {
                err.message = format!(
                    "{} (no time left for another retry within the {} s limit)",
                    err.message, self.settings.channel_timeout_secs
                );
                RetryDecision::GiveUp
            }
            (RetryDecision::GiveUp, _)
                if err.retryable && err.retry_after_ms.unwrap_or(0) > retry::MAX_RETRY_AFTER_MS =>
            {
                err.message = format!(
                    "{} (the server asked to wait {} s; not waited for)",
                    err.message,
                    err.retry_after_ms.unwrap_or(0) / 1000
                );
                RetryDecision::GiveUp
            }
            (d, _) => d,
        }
    }

    /// Call `op` until it succeeds, fails for good, or the deadline passes.
    async fn retrying<T>(
        &self,
        deadline: Option<u64>,
        attempts: &mut u32,
        mut op: impl AsyncFnMut() -> Result<T>,
    ) -> Result<T> {
        loop {
            *attempts += 1;
            let mut err = match self.within(deadline, op()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(Deadline) => return Err(self.deadline_error()),
            };
            match self.retry_after(&mut err, *attempts, deadline) {
                RetryDecision::GiveUp => return Err(err),
                RetryDecision::After(ms) => self.clock.sleep_ms(ms).await,
            }
        }
    }

    // ----- one channel ---------------------------------------------------------------------

    fn item_from_plan(&self, plan: &ChannelPlan, start: u64, attempts: u32) -> ItemResult {
        let now = self.clock.now_ms();
        let (status, reason) = match &plan.decision {
            Decision::Write => (ItemStatus::Success, None),
            Decision::Unchanged => (ItemStatus::Unchanged, None),
            Decision::Skip { reason } => (ItemStatus::Skipped, Some(reason.clone())),
            Decision::NeedsReview { reason } => (ItemStatus::NeedsReview, Some(reason.clone())),
            Decision::Failed { .. } => (ItemStatus::Failed, None),
        };
        let mut item = ItemResult::new(
            plan.channel_id.clone(),
            plan.channel_name.clone(),
            status,
            start,
        );
        if let Decision::Failed { error } = &plan.decision {
            item.fail(error);
        }
        item.reason = reason;
        item.attempts = attempts;
        item.finished_ms = now;
        item.duration_ms = now.saturating_sub(start);
        item.old = plan.before.models.clone();
        item.new = plan.new.clone();
        item.added = plan.added.clone();
        item.removed = plan.removed.clone();
        item.price = plan.price.clone();
        item
    }

    /// A write that landed before an interruption (or before a lost reply): record it as done.
    fn landed(&self, snap: &Snapshot, start: u64, attempts: u32) -> ItemResult {
        let now = self.clock.now_ms();
        let mut item = ItemResult::new(
            snap.channel_id.clone(),
            snap.channel_name.clone(),
            ItemStatus::Success,
            start,
        );
        item.attempts = attempts.max(1);
        item.finished_ms = now;
        item.duration_ms = now.saturating_sub(start);
        item.old = snap.before.models.clone();
        item.new = snap.after.models.clone();
        (item.added, item.removed) = plan::list_diff(&item.old, &item.new);
        item.snapshot = true;
        item
    }

    /// Fetch, decide and (unless a dry run) write one channel, with retries and the time limit.
    async fn sync_one(
        &self,
        run: &RunId,
        channel: Channel,
        dropped: bool,
        prior: Option<Snapshot>,
        dry_run: bool,
        confirmed: bool,
    ) -> (ItemResult, Option<ChannelPlan>) {
        let start = self.clock.now_ms();
        let id = channel.id.clone();
        let cfg = self.settings.channels.get(&id.0);
        let skip = if cfg.is_some_and(|c| c.excluded) {
            Some("the channel is excluded from sync".to_string())
        } else if !channel.enabled && self.settings.skip_disabled {
            Some("the channel is disabled (disabled channels are skipped; see settings)".into())
        } else {
            // The gateway rewrites this channel by itself: a sync would flap against it.
            channel.rules.auto_sync.map(|a| {
                format!(
                    "the gateway syncs this channel's models itself ({}); msync leaves it alone",
                    a.setting()
                )
            })
        };
        if let Some(reason) = skip {
            let plan = ChannelPlan::without_change(&channel, Decision::Skip { reason });
            return (self.item_from_plan(&plan, start, 0), Some(plan));
        }
        if let Some(s) = prior.as_ref().filter(|_| !dropped) {
            if same_set(&channel.models, &s.after.models) {
                return (self.landed(s, start, 1), None);
            }
        }
        let rules = PlanRules {
            settings: &self.settings,
            filters: &self.filters,
            keep_aliases: self.gw.capabilities().aliases_must_be_listed,
            confirmed,
            model_list: self.gw.capabilities().model_list,
        };
        let deadline = self.deadline();
        let mut channel = channel;
        // A channel listed without its models is read first; a write from before an
        // interruption is then recognised on that read.
        let mut pending: Option<Snapshot> = if dropped { prior } else { None };
        let mut reread = dropped;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let attempt: Result<Outcome, Fail> = async {
                if reread {
                    channel = match self.within(deadline, self.gw.get_channel(&id)).await {
                        Ok(Ok(c)) => c,
                        Ok(Err(e)) => return Err(Fail::Err(e, false)),
                        Err(Deadline) => return Err(Fail::Deadline),
                    };
                    if let Some(s) = &pending {
                        if same_set(&channel.models, &s.after.models) {
                            // The write that "failed" had landed.
                            return Ok(Outcome::Landed(s.clone()));
                        }
                    }
                }
                let bucket = self.limits.fetch_bucket(channel.upstream_host().as_deref());
                self.within(deadline, bucket.acquire())
                    .await
                    .map_err(|_| Fail::Deadline)?;
                let upstream = match self
                    .within(deadline, self.gw.fetch_upstream_models(&channel))
                    .await
                {
                    Ok(Ok(u)) => u,
                    Ok(Err(e)) => {
                        if e.class == ErrorClass::RateLimited || e.http_status == Some(429) {
                            bucket.penalize(e.retry_after_ms);
                        }
                        return Err(Fail::Err(e, false));
                    }
                    Err(Deadline) => return Err(Fail::Deadline),
                };
                let mut plan = plan_channel(&channel, &upstream, &rules);
                let confirm = self.price_gate(&mut plan); // price check (issue 19)
                if plan.decision != Decision::Write || dry_run {
                    return Ok(Outcome::Planned(plan, false, confirm));
                }
                // Compare-and-write: the channel as it is now must still be the one planned on
                // (another msync or an admin may have written it since it was listed).
                let now = match self.within(deadline, self.gw.get_channel(&id)).await {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => return Err(Fail::Err(e, false)),
                    Err(Deadline) => return Err(Fail::Deadline),
                };
                if state_of(&now) != state_of(&channel) {
                    return Err(Fail::Err(changed_by_someone_else(), false));
                }
                let snap = Snapshot {
                    channel_id: id.clone(),
                    channel_name: channel.name.clone(),
                    taken_ms: self.clock.now_ms(),
                    before: state_of(&channel),
                    after: ChannelState {
                        models: plan.new.clone(),
                        mapping: channel.mapping.clone(),
                    },
                };
                self.history()
                    .put_snapshot(run, &snap)
                    .await
                    .map_err(|e| Fail::Err(e, false))?;
                pending = Some(snap);
                // The write itself is not cut off by the time limit: a half-sent write is worse
                // than a late one (the transport's own request timeout still applies).
                let update = ChannelUpdate {
                    models: Some(plan.new.clone()),
                    mapping: None,
                };
                self.gw
                    .update_channel(&channel, &update)
                    .await
                    .map_err(|e| Fail::Err(e, true))?;
                Ok(Outcome::Planned(plan, true, confirm))
            }
            .await;
            match attempt {
                Ok(Outcome::Landed(s)) => return (self.landed(&s, start, attempts), None),
                Ok(Outcome::Planned(plan, written, confirm)) => {
                    let mut item = self.item_from_plan(&plan, start, attempts);
                    item.snapshot = written;
                    if dry_run && plan.decision == Decision::Write {
                        item.reason = Some("dry run: would write".into());
                    }
                    if let Some(confirm) = confirm {
                        return self.held_for_price(item, &plan, written, *confirm);
                    }
                    return (item, Some(plan));
                }
                Err(Fail::Deadline) => {
                    let e = self.deadline_error();
                    let plan = ChannelPlan::without_change(&channel, Decision::Failed { error: e });
                    return (self.item_from_plan(&plan, start, attempts), Some(plan));
                }
                Err(Fail::Err(mut e, in_write)) => {
                    reread |= in_write;
                    let give_up = match self.retry_after(&mut e, attempts, deadline) {
                        RetryDecision::GiveUp => true,
                        RetryDecision::After(ms) => {
                            self.clock.sleep_ms(ms).await;
                            false
                        }
                    };
                    if give_up {
                        let plan =
                            ChannelPlan::without_change(&channel, Decision::Failed { error: e });
                        return (self.item_from_plan(&plan, start, attempts), Some(plan));
                    }
                }
            }
        }
    }

    /// Write one confirmed plan entry after re-reading the channel.
    async fn apply_one(
        &self,
        run: &RunId,
        plan: ChannelPlan,
        prior: Option<Snapshot>,
        force: bool,
    ) -> ItemResult {
        let item = self.item_from_plan(&plan, self.clock.now_ms(), 0);
        let (current, mut item) = match self.fresh_read(&plan.channel_id, item).await {
            Ok(read) => read,
            Err(failed) => return failed,
        };
        let (start, attempts) = (item.started_ms, item.attempts);
        if let Some(s) = &prior {
            if same_set(&current.models, &s.after.models) {
                return self.landed(s, start, attempts);
            }
        }
        item.old = current.models.clone();
        if same_set(&current.models, &plan.new) {
            item.status = ItemStatus::Unchanged;
            item.reason = Some("the channel already holds the planned models".into());
            (item.added, item.removed) = (Vec::new(), Vec::new());
            item.attempts = attempts;
            return self.finish(item, start);
        }
        if state_of(&current) != plan.before && !force {
            item.status = ItemStatus::NeedsReview;
            item.reason = Some(
                "the channel changed since the plan was made; plan again, or apply with force"
                    .into(),
            );
            item.attempts = attempts;
            return self.finish(item, start);
        }
        let snap = Snapshot {
            channel_id: plan.channel_id.clone(),
            channel_name: plan.channel_name.clone(),
            taken_ms: self.clock.now_ms(),
            before: state_of(&current),
            after: ChannelState {
                models: plan.new.clone(),
                mapping: current.mapping.clone(),
            },
        };
        let update = ChannelUpdate {
            models: Some(plan.new.clone()),
            mapping: None,
        };
        self.write_with_snapshot(run, item, snap, &current, update, start, attempts)
            .await
    }

    /// Restore one snapshot.
    async fn revert_one(
        &self,
        run: &RunId,
        target: Snapshot,
        prior: Option<Snapshot>,
        force: bool,
    ) -> ItemResult {
        let item = self.running_item(&target.channel_id, &target.channel_name);
        let (current, mut item) = match self.fresh_read(&target.channel_id, item).await {
            Ok(read) => read,
            Err(failed) => return failed,
        };
        let (start, attempts) = (item.started_ms, item.attempts);
        item.old = current.models.clone();
        item.new = target.before.models.clone();
        if redirect::same_state(&state_of(&current), &target.before) {
            if let Some(p) = &prior {
                return self.landed(p, start, attempts);
            }
            item.status = ItemStatus::Unchanged;
            item.reason = Some("the channel is already as in the snapshot".into());
            return self.finish(item, start);
        }
        let caps = self.gw.capabilities();
        if !caps.empty_model_list && caps.model_list.clean(&target.before.models).is_empty() {
            item.status = ItemStatus::NeedsReview;
            let hold = hold::RevertHold::EmptyModelList {
                site: self.gw.site().kind,
            };
            item.reason = Some(hold.to_string());
            return self.finish(item, start);
        }
        let as_written = same_set(&current.models, &target.after.models)
            && redirect::same_mapping(&current.mapping, &target.after.mapping);
        if !as_written && !force {
            item.status = ItemStatus::NeedsReview;
            item.reason = Some(
                "the channel changed after the sync wrote it; revert with force to overwrite those changes".into(),
            );
            return self.finish(item, start);
        }
        let mapping_restorable = !matches!(target.before.mapping, Mapping::Invalid { .. })
            || redirect::same_mapping(&current.mapping, &target.before.mapping);
        if !mapping_restorable && !force {
            item.status = ItemStatus::NeedsReview;
            item.reason = Some(
                "the mapping before that run was unreadable text, which msync cannot write back \
                 (it is kept in the snapshot); revert with force to restore the models only"
                    .into(),
            );
            return self.finish(item, start);
        }
        let mapping = if redirect::same_mapping(&current.mapping, &target.before.mapping) {
            None
        } else {
            match &target.before.mapping {
                Mapping::Empty => Some(Vec::new()),
                Mapping::Valid { pairs } => Some(pairs.clone()),
                Mapping::Invalid { .. } | Mapping::Unsupported => None,
            }
        };
        let snap = Snapshot {
            channel_id: target.channel_id.clone(),
            channel_name: target.channel_name.clone(),
            taken_ms: self.clock.now_ms(),
            before: state_of(&current),
            after: target.before.clone(),
        };
        let update = ChannelUpdate {
            models: Some(target.before.models.clone()),
            mapping,
        };
        self.write_with_snapshot(run, item, snap, &current, update, start, attempts)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_with_snapshot(
        &self,
        run: &RunId,
        mut item: ItemResult,
        snap: Snapshot,
        current: &Channel,
        update: ChannelUpdate,
        start: u64,
        mut attempts: u32,
    ) -> ItemResult {
        if let Err(e) = self.history().put_snapshot(run, &snap).await {
            item.fail(&e);
            return self.finish(item, start);
        }
        // Setting a channel's models is idempotent, so a retried write is safe.
        let written = self
            .retrying(None, &mut attempts, async || {
                self.gw.update_channel(current, &update).await
            })
            .await;
        item.attempts = attempts;
        match written {
            Ok(_) => {
                item.status = ItemStatus::Success;
                item.reason = None;
                item.snapshot = true;
                item.old = snap.before.models.clone();
                item.new = snap.after.models.clone();
                (item.added, item.removed) = plan::list_diff(&item.old, &item.new);
            }
            Err(e) => item.fail(&e),
        }
        self.finish(item, start)
    }

    /// Read a channel fresh for the item being worked on (started at `item.started_ms`), retrying
    /// retryable failures within the time limit; `item.attempts` counts the reads. On failure the
    /// item is finished as failed and handed back as `Err`.
    async fn fresh_read(
        &self,
        id: &ChannelId,
        mut item: ItemResult,
    ) -> std::result::Result<(Channel, ItemResult), ItemResult> {
        let start = item.started_ms;
        let mut attempts = 0;
        let read = self
            .retrying(self.deadline(), &mut attempts, async || {
                self.gw.get_channel(id).await
            })
            .await;
        item.attempts = attempts;
        match read {
            Ok(c) => Ok((c, item)),
            Err(e) => {
                item.fail(&e);
                Err(self.finish(item, start))
            }
        }
    }

    /// A `running` item for a stored entry, started now.
    fn running_item(&self, id: &ChannelId, name: &str) -> ItemResult {
        ItemResult::new(
            id.clone(),
            name.to_string(),
            ItemStatus::Running,
            self.clock.now_ms(),
        )
    }

    fn finish(&self, mut item: ItemResult, start: u64) -> ItemResult {
        let now = self.clock.now_ms();
        item.started_ms = start;
        item.finished_ms = now;
        item.duration_ms = now.saturating_sub(start);
        item
    }
}

/// The channel changed between the read a write was planned on and the write.
fn changed_by_someone_else() -> Error {
    Error::conflict(
        "the channel was changed by someone else while msync worked on it; nothing was written \
         (run again to sync it as it is now)",
    )
}

fn not_found(id: &ChannelId) -> Error {
    Error::new(
        ErrorClass::NotFound,
        format!("channel {id} was not found on the site"),
    )
    .with_status(404)
}

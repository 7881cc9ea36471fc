//! One run's execution: the queue's unfinished channels, `concurrency` at a time, each
//! checkpointed as it finishes (plan entry of a dry run, item, lock heartbeat), then the run
//! closed (totals, state, lock released, history pruned).
//!
//! A [`RunSession`] holds what the channels in flight share: the counts, the finished items
//! (as previews, see [`ItemBudget`]), the work left, the snapshots of an interrupted run and
//! the first fatal error, which stops the run. Everything runs on one thread; each borrow of
//! that state is short and never held across an await.

use super::order::StartOrder;
use super::redirect::RedirectRun;
use super::*;

/// What a run's job lets its channels do.
#[derive(Clone, Copy)]
struct Mode {
    dry_run: bool,
    /// The removal guard is lifted (the admin confirmed a plan).
    confirmed: bool,
    /// Write channels that changed since they were planned or written.
    force: bool,
}

impl Mode {
    fn of(job: &Job) -> Mode {
        match job {
            Job::Sync { dry_run, confirmed } => Mode {
                dry_run: *dry_run,
                confirmed: *confirmed,
                force: false,
            },
            Job::Apply { force, .. } | Job::Revert { force, .. } | Job::Redirect { force, .. } => {
                Mode {
                    dry_run: false,
                    confirmed: true,
                    force: *force,
                }
            }
        }
    }
}

/// What the channels in flight share.
struct Shared {
    /// Counts kept up to date as items finish (recounting per event would be quadratic).
    counts: Totals,
    /// Finished items stay in memory only as counts and short previews; the store has them
    /// whole (one key per channel), so memory follows the channels in flight, not the run.
    budget: ItemBudget,
    results: HashMap<ChannelId, ItemResult>,
    in_flight: Vec<QueuedChannel>,
    work: HashMap<ChannelId, Work>,
    priors: HashMap<ChannelId, Snapshot>,
    /// Which channel a free slot starts next.
    order: StartOrder,
    /// The error that stops the run (a store that refuses writes).
    fatal: Option<Error>,
}

pub(super) struct RunSession<'a> {
    engine: &'a Engine,
    head: RunHead,
    mode: Mode,
    redirect: Option<RedirectRun>,
    /// When this session started, and how many items were already done then (rate and ETA
    /// count this session only).
    since: (u64, usize),
    obs: &'a dyn Observer,
    shared: RefCell<Shared>,
}

impl<'a> RunSession<'a> {
    /// A session over `head`'s queue: `done` items are kept, `work` is what is left,
    /// `priors` the snapshots an interrupted run took for channels without a result.
    pub(super) fn new(
        engine: &'a Engine,
        head: RunHead,
        work: HashMap<ChannelId, Work>,
        mut done: HashMap<ChannelId, ItemResult>,
        priors: HashMap<ChannelId, Snapshot>,
        obs: &'a dyn Observer,
    ) -> RunSession<'a> {
        let since = (engine.clock.now_ms(), done.len());
        engine.probe_budget.reset(engine.settings.probe.max_per_run); // issue 21
        let pending: Vec<QueuedChannel> = head
            .queue
            .iter()
            .filter(|q| !done.contains_key(&q.id))
            .cloned()
            .collect();
        let counts = Totals::of(done.values(), head.queue.len());
        let mut budget = ItemBudget::default();
        for item in done.values_mut() {
            budget.keep(item);
        }
        // Free slots take channels host-aware (see `order`): a slowed host does not hold them all.
        let order = StartOrder::new(pending.into_iter().map(|q| {
            let bucket = match work.get(&q.id) {
                Some(Work::Sync(c, _)) => {
                    let host = c.upstream_host();
                    Some((
                        engine.limits.fetch_key(host.as_deref()),
                        engine.limits.fetch_bucket(host.as_deref()),
                    ))
                }
                _ => None,
            };
            (q, bucket)
        }));
        RunSession {
            engine,
            mode: Mode::of(&head.job),
            redirect: RedirectRun::of(&head.job),
            head,
            since,
            obs,
            shared: RefCell::new(Shared {
                counts,
                budget,
                results: done,
                in_flight: Vec::new(),
                work,
                priors,
                order,
                fatal: None,
            }),
        }
    }

    /// Process every channel left (unless a fatal error stops the run), then close the run.
    pub(super) async fn run(self) -> Result<RunRecord> {
        if matches!(self.head.job, Job::Sync { .. }) {
            self.engine.load_prices().await; // price check (issue 19)
        }
        self.report();
        let slots = self.engine.settings.concurrency.max(1) as usize;
        stream::iter(0..slots)
            .for_each_concurrent(slots, |_| async {
                while let Some(q) = self.next() {
                    self.process(q).await;
                }
            })
            .await;
        self.close().await
    }

    /// The next channel to start, unless the run has to stop.
    fn next(&self) -> Option<QueuedChannel> {
        let mut shared = self.shared.borrow_mut();
        if shared.fatal.is_some() {
            return None;
        }
        shared.order.next()
    }

    fn report(&self) {
        let shared = self.shared.borrow();
        let progress =
            self.engine
                .progress(&self.head, &shared.counts, &shared.in_flight, self.since);
        drop(shared);
        self.obs.on_progress(&progress);
    }

    /// Work one channel, checkpoint its result, count it.
    async fn process(&self, q: QueuedChannel) {
        let (work, prior) = {
            let mut shared = self.shared.borrow_mut();
            shared.in_flight.push(q.clone());
            (shared.work.remove(&q.id), shared.priors.remove(&q.id))
        };
        self.report();
        // Issue 21: a channel this run wrote (or tried to) counts toward its health.
        let synced = !self.mode.dry_run && matches!(work, Some(Work::Sync(..) | Work::Apply(..)));
        let (mut item, plan) = self.work_one(&q, work, prior).await;
        // A snapshot that could not be stored stops the run: every later channel would meet
        // the same full store, and nothing may be written without its snapshot.
        if item.error_class == Some(ErrorClass::Storage) {
            let e = Error::storage(item.message.clone().unwrap_or_default());
            self.shared.borrow_mut().fatal.get_or_insert(e);
        }
        if let Err(e) = self.checkpoint(&item, plan.as_ref(), synced).await {
            self.shared.borrow_mut().fatal.get_or_insert(e);
        }
        self.shared.borrow_mut().in_flight.retain(|f| f.id != q.id);
        self.obs.on_item(&item);
        {
            let mut shared = self.shared.borrow_mut();
            shared.counts.queued = shared.counts.queued.saturating_sub(1);
            shared.counts.count(item.status);
            shared.budget.keep(&mut item);
            shared.results.insert(q.id.clone(), item);
        }
        self.report();
    }

    /// The item (and, for a sync, the plan entry) of one channel.
    async fn work_one(
        &self,
        q: &QueuedChannel,
        work: Option<Work>,
        prior: Option<Snapshot>,
    ) -> (ItemResult, Option<ChannelPlan>) {
        let (e, run, m) = (self.engine, &self.head.id, self.mode);
        match work {
            Some(Work::Sync(c, dropped)) => {
                e.sync_one(run, c, dropped, prior, m.dry_run, m.confirmed)
                    .await
            }
            Some(Work::Apply(p)) => (e.apply_one(run, p, prior, m.force).await, None),
            Some(Work::Revert(s)) => (e.revert_one(run, s, prior, m.force).await, None),
            Some(Work::Redirect(p)) => match &self.redirect {
                Some(r) => (e.redirect_one(run, p, prior, r, m.force).await, None),
                None => (e.failed_item(q, &not_found(&q.id)), None),
            },
            Some(Work::Missing(err)) => (e.failed_item(q, &err), None),
            None => (e.failed_item(q, &not_found(&q.id)), None),
        }
    }

    /// Store what a channel's turn produced: the plan entry of a dry run (or, in a run, the
    /// entry that confirms models the price check held back, so applying the run adds them),
    /// the item, the channel's health (`synced`: the run wrote it or tried to) and the lock's
    /// heartbeat.
    async fn checkpoint(
        &self,
        item: &ItemResult,
        plan: Option<&ChannelPlan>,
        synced: bool,
    ) -> Result<()> {
        let h = self.engine.history();
        let run = &self.head.id;
        let held = |p: &ChannelPlan| p.price.as_ref().is_some_and(|c| !c.held.is_empty());
        if let Some(p) = plan.filter(|p| self.mode.dry_run || held(p)) {
            h.put_plan_entry(run, p).await?;
        }
        h.put_item(run, item).await?;
        if synced {
            self.engine.record_health(item).await?; // issue 21: failures in a row
        }
        let now = self.engine.clock.now_ms();
        h.put_lock(&RunLock {
            run: run.clone(),
            acquired_ms: self.head.started_ms,
            heartbeat_ms: now,
        })
        .await
    }

    /// Totals, state and end time into the head; store it, release the lock, prune history.
    async fn close(self) -> Result<RunRecord> {
        let engine = self.engine;
        let dry_run = self.mode.dry_run;
        let mut head = self.head;
        let shared = self.shared.into_inner();
        let mut results = shared.results;
        let now = engine.clock.now_ms();
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
        match shared.fatal {
            Some(e) => {
                head.state = RunState::Failed;
                head.note = Some(RunNote::StoreFailed);
                head.error = Some(e);
            }
            None => {
                head.state = RunState::Finished;
                // Price check summary, and the fill in the same run (issue 19).
                head.pricing = engine.finish_prices(&items, dry_run).await;
            }
        }
        let h = engine.history();
        h.put_head(&head).await?;
        h.remove_lock().await?;
        h.prune(
            engine.settings.history.keep_runs as usize,
            engine.settings.history.max_bytes,
            Some(&head.id),
        )
        .await?;
        Ok(RunRecord { head, items })
    }
}

impl Engine {
    /// Process the queue's unfinished channels, checkpointing each, then close the run.
    pub(super) async fn execute(
        &self,
        head: RunHead,
        work: HashMap<ChannelId, Work>,
        done: HashMap<ChannelId, ItemResult>,
        priors: HashMap<ChannelId, Snapshot>,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        RunSession::new(self, head, work, done, priors, obs)
            .run()
            .await
    }

    pub(super) fn progress(
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

    pub(super) fn failed_item(&self, q: &QueuedChannel, e: &Error) -> ItemResult {
        let mut item = ItemResult::new(
            q.id.clone(),
            q.name.clone(),
            ItemStatus::Failed,
            self.clock.now_ms(),
        );
        item.fail(e);
        item
    }
}

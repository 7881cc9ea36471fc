//! Runs in the background: start, cancel, apply, revert, resume; progress relayed to open pages;
//! status, history queries and exports; badge and notifications.
//!
//! One run per site: a site with a run working in this worker instance has an [`Active`] entry,
//! claimed synchronously (so two requests arriving together cannot both start), and holding the
//! engine the run uses. A scheduled run that finds the site busy is handed to that same engine,
//! whose own guard refuses it and records the skipped run. Across worker restarts the engine's
//! run lock in storage does the same.

use super::{sites, storage, Env};
use futures::channel::oneshot;
use futures::future::{AbortHandle, Abortable};
use msync_core::engine::plan::SyncPlan;
use msync_core::engine::record::{ItemBudget, RunHead, RunId, RunRecord, RunState, Trigger};
use msync_core::engine::redirect::RedirectApplyOptions;
use msync_core::engine::{ApplyOptions, Engine, Observer, Progress, RunRequest, Selection};
use msync_core::history::{export_csv, export_json, History, ItemQuery};
use msync_core::model::{ChannelId, SiteId};
use msync_core::protocol::{Event, ExportFormat, ItemFilter, Reply, SiteStatus};
use msync_core::reason::RunError;
use msync_core::reason::RunNote;
use msync_core::{Error, ErrorClass};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A run working in this worker instance.
pub struct Active {
    pub engine: Rc<Engine>,
    pub abort: AbortHandle,
    pub progress: Option<Progress>,
}

/// What to run.
pub enum Job {
    Sync(RunRequest),
    Apply(SyncPlan, ApplyOptions),
    RevertRun(RunId, bool),
    RevertChannel(RunId, ChannelId, bool),
    /// Apply the site's stored redirect preview (by id).
    Redirect(String, RedirectApplyOptions),
    Resume,
}

type Answer = oneshot::Sender<Result<Option<RunId>, Error>>;

/// Relays progress to the pages and hands the run id to whoever started the run.
struct Relay {
    env: Rc<Env>,
    site: SiteId,
    first: RefCell<Option<Answer>>,
    /// When progress was last broadcast (epoch ms).
    last_broadcast: Cell<Option<u64>>,
}

/// Progress reaches the pages at most this often (the engine reports every channel start and
/// finish: 10,000 messages for a 5,000-channel run). The first and the last always go out.
const PROGRESS_EVERY_MS: u64 = 250;

impl Relay {
    fn answer(&self, r: Result<Option<RunId>, Error>) {
        if let Some(tx) = self.first.borrow_mut().take() {
            let _ = tx.send(r);
        }
    }
}

impl Observer for Relay {
    fn on_progress(&self, progress: &Progress) {
        self.answer(Ok(Some(progress.run.clone())));
        if let Some(a) = self.env.active.borrow_mut().get_mut(&self.site) {
            a.progress = Some(progress.clone());
        }
        let now = self.env.clock.now_ms();
        let due = self
            .last_broadcast
            .get()
            .is_none_or(|t| now.saturating_sub(t) >= PROGRESS_EVERY_MS);
        if due || progress.done == progress.total {
            self.last_broadcast.set(Some(now));
            self.env.browser.broadcast(&Event::Progress {
                site: self.site.clone(),
                progress: progress.clone(),
            });
        }
    }
    fn on_item(&self, item: &msync_core::engine::record::ItemResult) {
        // Pages patch their table from this; a channel of 100,000 models travels as a preview
        // (the stored item and exports keep every name).
        self.env.browser.broadcast(&Event::Item {
            site: self.site.clone(),
            item: item.preview(ITEM_PREVIEW),
        });
    }
}

/// Names per model list in an item sent as a live event.
const ITEM_PREVIEW: usize = 1_000;

fn busy_error(a: &Active) -> Error {
    let reason = match &a.progress {
        Some(p) => RunError::RunInProgress {
            run: Some(p.run.clone()),
            done: p.done,
            total: p.total,
        },
        None => RunError::RunInProgress {
            run: None,
            done: 0,
            total: 0,
        },
    };
    Error::found(ErrorClass::Validation, reason).not_retryable()
}

fn run_started(id: Option<RunId>) -> Result<Reply, Error> {
    match id {
        Some(run) => Ok(Reply::RunStarted { run }),
        None => Err(Error::found(ErrorClass::Validation, RunError::NothingToRun)),
    }
}

impl Env {
    pub fn is_active(&self, site: &SiteId) -> bool {
        self.active.borrow().contains_key(site)
    }

    /// Start `job` for a site in the background. Resolves with the run's id once the run has
    /// recorded itself (its first progress), or with its error if it could not start.
    pub async fn launch(
        self: &Rc<Self>,
        site_id: &SiteId,
        job: Job,
    ) -> Result<Option<RunId>, Error> {
        let site = self.site(site_id).await?;
        self.require_permission(&site).await?;
        let settings = self.settings(site_id).await?;
        let engine = Rc::new(
            self.connector
                .engine(&site, self.store.clone(), settings.clone())?,
        );
        let (abort, reg) = AbortHandle::new_pair();
        let busy_engine = {
            let mut active = self.active.borrow_mut();
            match active.get(site_id) {
                Some(a) => match &job {
                    Job::Sync(req) if req.trigger == Trigger::Scheduled => Some(a.engine.clone()),
                    _ => return Err(busy_error(a)),
                },
                None => {
                    active.insert(
                        site_id.clone(),
                        Active {
                            engine: engine.clone(),
                            abort,
                            progress: None,
                        },
                    );
                    None
                }
            }
        };
        if let (Some(busy), Job::Sync(req)) = (busy_engine, &job) {
            // The busy engine refuses the scheduled run and records it as skipped.
            let rec = busy.run(req.clone(), &()).await?;
            self.browser.broadcast(&Event::RunFinished {
                site: site_id.clone(),
                head: rec.head.clone(),
            });
            return Ok(Some(rec.head.id));
        }
        self.ensure_resume_alarm().await;
        let (tx, rx) = oneshot::channel();
        let this = self.clone();
        let id = site_id.clone();
        let notify = settings.auto_sync.notify;
        let site_name = site.name.clone();
        self.browser.spawn(Box::pin(async move {
            let relay = Relay {
                env: this.clone(),
                site: id.clone(),
                first: RefCell::new(Some(tx)),
                last_broadcast: Cell::new(None),
            };
            // Redirect runs that follow a sync (redirect enabled in the settings).
            let follow_ups: RefCell<Vec<RunRecord>> = RefCell::new(Vec::new());
            let work = async {
                match job {
                    Job::Sync(req) => {
                        let rec = engine.run(req, &relay).await?;
                        if rec.head.state == RunState::Finished {
                            match engine.redirect_after_sync(&rec, &relay).await {
                                Ok(Some(r)) => follow_ups.borrow_mut().push(r),
                                Ok(None) => {}
                                Err(e) => this.browser.broadcast(&Event::RunFinished {
                                    site: id.clone(),
                                    head: RunHead {
                                        note: Some(RunNote::RedirectAfterSyncFailed {
                                            error: Box::new(e),
                                        }),
                                        ..rec.head.clone()
                                    },
                                }),
                            }
                        }
                        Ok(Some(rec))
                    }
                    Job::Redirect(preview, opts) => engine
                        .apply_stored_redirect(&preview, opts, &relay)
                        .await
                        .map(Some),
                    Job::Apply(plan, opts) => engine.apply_plan(plan, opts, &relay).await.map(Some),
                    Job::RevertRun(run, force) => {
                        engine.revert_run(&run, force, &relay).await.map(Some)
                    }
                    Job::RevertChannel(run, ch, force) => engine
                        .revert_channel(&run, &ch, force, &relay)
                        .await
                        .map(Some),
                    Job::Resume => engine.resume(&relay).await,
                }
            };
            let result = match Abortable::new(work, reg).await {
                Ok(r) => r,
                Err(_aborted) => engine.abandon(RunNote::Cancelled).await,
            };
            this.active.borrow_mut().remove(&id);
            match result {
                Ok(Some(rec)) => {
                    relay.answer(Ok(Some(rec.head.id.clone())));
                    this.finished(&site_name, &rec, notify).await;
                    for r in follow_ups.into_inner() {
                        this.finished(&site_name, &r, false).await;
                    }
                }
                Ok(None) => relay.answer(Ok(None)),
                Err(e) => relay.answer(Err(e)),
            }
            if this.active.borrow().is_empty() {
                this.clear_resume_alarm_if_idle().await;
            }
        }));
        rx.await.unwrap_or(Ok(None))
    }

    /// A run ended (or was skipped): tell the pages, update the badge, notify after a scheduled run.
    async fn finished(&self, site_name: &str, rec: &RunRecord, notify: bool) {
        self.browser.broadcast(&Event::RunFinished {
            site: rec.head.site.clone(),
            head: rec.head.clone(),
        });
        self.refresh_badge().await;
        self.notify_run(site_name, rec).await; // the admin's sinks (issue 19, notify.rs)
        if notify
            && rec.head.first_trigger == Trigger::Scheduled
            && rec.head.state != RunState::Skipped
        {
            let (title, message) = notification(site_name, &rec.head);
            self.browser
                .notify(&format!("msync:run:{}", rec.head.id), &title, &message);
        }
    }

    pub async fn start_run(
        self: &Rc<Self>,
        site: &SiteId,
        selection: Selection,
        dry_run: bool,
    ) -> Result<Reply, Error> {
        let trigger = match selection {
            Selection::FailedOnly => Trigger::Retry,
            _ => Trigger::Manual,
        };
        let mut req = RunRequest::new(selection, trigger);
        req.dry_run = dry_run;
        req.next_scheduled_ms = self.next_run_ms(site).await;
        run_started(self.launch(site, Job::Sync(req)).await?)
    }

    /// The run triggered by the site's alarm.
    pub async fn scheduled_run(self: &Rc<Self>, site: &SiteId) -> Result<Option<RunId>, Error> {
        let mut req = RunRequest::scheduled();
        req.next_scheduled_ms = self.next_run_ms(site).await;
        let result = self.launch(site, Job::Sync(req.clone())).await;
        if let Err(e) = &result {
            if e.class == ErrorClass::Permission {
                // Nobody is watching a scheduled run: leave its reason in the history.
                self.record_not_started(site, req, e.clone()).await;
            }
        }
        result
    }

    async fn record_not_started(&self, site: &SiteId, req: RunRequest, e: Error) {
        let (Ok(s), Ok(settings)) = (self.site(site).await, self.settings(site).await) else {
            return;
        };
        let Ok(engine) = self.connector.engine(&s, self.store.clone(), settings) else {
            return;
        };
        if let Ok(head) = engine.record_not_started(req, e).await {
            self.browser.broadcast(&Event::RunFinished {
                site: site.clone(),
                head,
            });
        }
    }

    pub async fn cancel_run(self: &Rc<Self>, site: &SiteId) -> Result<Reply, Error> {
        if let Some(a) = self.active.borrow().get(site) {
            a.abort.abort();
            return Ok(Reply::Ok);
        }
        // Not working here: maybe interrupted by a worker stop and not resumed yet.
        let s = self.site(site).await?;
        let settings = self.settings(site).await?;
        let engine = self.connector.engine(&s, self.store.clone(), settings)?;
        match engine.abandon(RunNote::Cancelled).await? {
            Some(rec) => {
                self.browser.broadcast(&Event::RunFinished {
                    site: site.clone(),
                    head: rec.head,
                });
                self.refresh_badge().await;
                Ok(Reply::Ok)
            }
            None => Err(Error::found(
                ErrorClass::Validation,
                RunError::NoRunInProgress,
            )),
        }
    }

    pub async fn apply_plan(
        self: &Rc<Self>,
        site: &SiteId,
        run: &RunId,
        channels: Option<Vec<ChannelId>>,
        force: bool,
    ) -> Result<Reply, Error> {
        self.site(site).await?;
        let plan = History::new(&*self.store, site.clone())
            .plan(run)
            .await?
            .filter(|p| !p.channels.is_empty())
            .ok_or_else(|| {
                Error::found(
                    ErrorClass::Validation,
                    RunError::NoStoredPlan { run: run.clone() },
                )
            })?;
        let opts = ApplyOptions { force, channels };
        run_started(self.launch(site, Job::Apply(plan, opts)).await?)
    }

    pub async fn revert(
        self: &Rc<Self>,
        site: &SiteId,
        run: &RunId,
        channel: Option<ChannelId>,
        force: bool,
    ) -> Result<Reply, Error> {
        let job = match channel {
            Some(ch) => Job::RevertChannel(run.clone(), ch, force),
            None => Job::RevertRun(run.clone(), force),
        };
        run_started(self.launch(site, job).await?)
    }

    /// Resume every interrupted run that is not working here already (worker start, alarms).
    /// Returns the ids of the runs resumed.
    pub async fn resume_all(self: &Rc<Self>) -> Vec<RunId> {
        let mut resumed = Vec::new();
        let mut waiting = false;
        let Ok(all) = self.sites().await else {
            return resumed;
        };
        for site in all {
            if self.is_active(&site.id) {
                continue;
            }
            let interrupted = History::new(&*self.store, site.id.clone())
                .runs()
                .await
                .map(|runs| runs.iter().any(|h| h.state == RunState::Running))
                .unwrap_or(false);
            if !interrupted {
                continue;
            }
            match self.launch(&site.id, Job::Resume).await {
                Ok(Some(id)) => resumed.push(id),
                Ok(None) => {}
                // No permission or the site unreachable: the run stays resumable; try again later.
                Err(_) => waiting = true,
            }
        }
        if waiting {
            self.ensure_resume_alarm().await;
        } else if self.active.borrow().is_empty() {
            self.clear_resume_alarm_if_idle().await;
        }
        resumed
    }

    pub async fn get_run(
        &self,
        site: &SiteId,
        run: Option<RunId>,
        filter: ItemFilter,
    ) -> Result<Reply, Error> {
        self.site(site).await?;
        let h = History::new(&*self.store, site.clone());
        let id = match run {
            Some(r) => r,
            None => h
                .run_ids()
                .await?
                .pop()
                .ok_or_else(|| Error::new(ErrorClass::NotFound, "this site has no runs yet"))?,
        };
        let query = ItemQuery {
            statuses: filter.statuses,
            text: Some(filter.text).filter(|t| !t.trim().is_empty()),
        };
        let rec = h
            .run_matching(&id, &query, &mut ItemBudget::default())
            .await?
            .ok_or_else(|| {
                Error::found(
                    ErrorClass::NotFound,
                    RunError::RunNotInHistory { run: id.clone() },
                )
            })?;
        Ok(Reply::Run {
            head: rec.head,
            items: rec.items,
        })
    }

    pub async fn export_run(
        &self,
        site: &SiteId,
        run: &RunId,
        format: ExportFormat,
    ) -> Result<Reply, Error> {
        self.site(site).await?;
        let rec = History::new(&*self.store, site.clone())
            .run(run)
            .await?
            .ok_or_else(|| {
                Error::found(
                    ErrorClass::NotFound,
                    RunError::RunNotInHistory { run: run.clone() },
                )
            })?;
        let (ext, mime, content) = match format {
            ExportFormat::Json => ("json", "application/json", export_json(&rec)),
            ExportFormat::Csv => ("csv", "text/csv", export_csv(&rec)),
        };
        Ok(Reply::Export {
            filename: format!("msync-{}-{}.{ext}", site.0, run.0),
            mime: mime.into(),
            content,
        })
    }

    /// The newest run that is not a skipped one (what "last run" means for the popup and badge).
    async fn last_run(&self, site: &SiteId) -> Option<RunHead> {
        History::new(&*self.store, site.clone())
            .runs()
            .await
            .ok()?
            .into_iter()
            .find(|h| h.state != RunState::Skipped && h.state != RunState::Running)
    }

    pub async fn status(&self) -> Result<Vec<SiteStatus>, Error> {
        let mut out = Vec::new();
        for site in self.sites().await? {
            let running = self
                .active
                .borrow()
                .get(&site.id)
                .and_then(|a| a.progress.clone());
            out.push(SiteStatus {
                capabilities: Some(self.connector.gateway(&site).capabilities()),
                running,
                last_run: self.last_run(&site.id).await,
                next_run_ms: self.next_run_ms(&site.id).await,
                host_permission: self.host_permission(&site).await,
                site: sites::summary(&site),
            });
        }
        Ok(out)
    }

    /// Badge: failures of each site's last run, summed; a run that failed as a whole counts one.
    pub async fn refresh_badge(&self) {
        let Ok(all) = storage::load_sites(&*self.store).await else {
            return;
        };
        let mut failures = 0usize;
        for site in all {
            if let Some(h) = self.last_run(&site.id).await {
                failures += h.totals.failed;
                if h.totals.failed == 0 && h.error.is_some() {
                    failures += 1;
                }
            }
        }
        let text = if failures == 0 {
            String::new()
        } else if failures > 999 {
            "999+".into()
        } else {
            failures.to_string()
        };
        self.browser.set_badge(&text);
    }
}

/// The notification after a scheduled run: counts and the run-level error, never secrets
/// (messages in records are redacted where they are made).
pub fn notification(site_name: &str, head: &RunHead) -> (String, String) {
    let t = &head.totals;
    match (&head.state, &head.error) {
        (RunState::Failed, Some(e)) => (
            format!("msync: {site_name}: sync failed"),
            format!("{}: {}", e.class, e.message),
        ),
        (RunState::Cancelled, _) => (
            format!("msync: {site_name}: sync cancelled"),
            format!(
                "{} of {} channels done before the cancel: {} updated, {} failed",
                t.total - t.queued,
                t.total,
                t.success,
                t.failed
            ),
        ),
        _ => (
            format!("msync: {site_name}: sync finished"),
            format!(
                "{} channels: {} updated, {} unchanged, {} failed, {} skipped, {} to review",
                t.total, t.success, t.unchanged, t.failed, t.skipped, t.needs_review
            ),
        ),
    }
}

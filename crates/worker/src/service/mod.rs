//! The worker's command handling, written against core's traits and a small [`Browser`] trait
//! (permissions, alarms, badge, notifications, broadcasting, spawning) so that all of it is
//! tested natively with an in-memory store, a fake gateway and a fake browser.

pub mod extras;
pub mod import;
pub mod notify;
pub mod probe;
pub mod runs;
pub mod schedule;
pub mod sites;
pub mod storage;
pub mod transfer;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use msync_core::clock::Clock;
use msync_core::engine::Engine;
use msync_core::gateway::{self, Ctx, Gateway};
use msync_core::http::Transport;
use msync_core::model::{Site, SiteId};
use msync_core::protocol::{Command, Event, Reply};
use msync_core::ratio::RatioSync;
use msync_core::reason::RunError;
use msync_core::settings::{SettingsCheck, SiteDefaults, SyncSettings};
use msync_core::store::KvStore;
use msync_core::{Error, ErrorClass};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use extras::{PreviewKind, RatioCall};
use msync_core::engine::redirect::RedirectApplyOptions;
pub use storage::{Meta, KEY_META, KEY_SITES, SCHEMA_VERSION};

/// A `chrome.alarms` alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmInfo {
    pub name: String,
    /// Epoch ms of the next firing.
    pub scheduled_ms: f64,
    pub period_minutes: Option<f64>,
}

/// What the worker needs from the browser besides storage, network and time.
#[async_trait(?Send)]
pub trait Browser {
    /// `chrome.permissions.contains({origins: [pattern]})`.
    async fn has_host_permission(&self, pattern: &str) -> Result<bool, String>;
    async fn get_alarm(&self, name: &str) -> Result<Option<AlarmInfo>, String>;
    async fn all_alarms(&self) -> Result<Vec<AlarmInfo>, String>;
    /// Create (or replace) an alarm firing after `delay_minutes`, then every `period_minutes`.
    async fn create_alarm(
        &self,
        name: &str,
        delay_minutes: f64,
        period_minutes: Option<f64>,
    ) -> Result<(), String>;
    async fn clear_alarm(&self, name: &str) -> Result<(), String>;
    /// Send an event to every open page (no page open is fine).
    fn broadcast(&self, event: &Event);
    /// Toolbar badge text ("" clears it).
    fn set_badge(&self, text: &str);
    fn notify(&self, id: &str, title: &str, message: &str);
    /// Run a task in the background.
    fn spawn(&self, fut: LocalBoxFuture<'static, ()>);
}

/// Builds adapters and engines for a site (HTTP in production, fakes in tests).
pub trait Connector {
    fn gateway(&self, site: &Site) -> Box<dyn Gateway>;
    fn engine(
        &self,
        site: &Site,
        store: Rc<dyn KvStore>,
        settings: SyncSettings,
    ) -> Result<Engine, Error>;
    /// Ratio sync over the site (New API family only; others are a validation error).
    fn ratio(&self, site: &Site, store: Rc<dyn KvStore>) -> Result<RatioSync, Error>;
    /// The transport notifications go out on (`None`: none are sent).
    fn transport(&self) -> Option<Rc<dyn Transport>> {
        None
    }
}

/// The production connector: core's adapters over a [`Transport`].
pub struct HttpConnector {
    pub transport: Rc<dyn Transport>,
    pub clock: Rc<dyn Clock>,
}

impl Connector for HttpConnector {
    fn gateway(&self, site: &Site) -> Box<dyn Gateway> {
        gateway::connect(Ctx::new(
            site.clone(),
            self.transport.clone(),
            self.clock.clone(),
        ))
    }

    fn engine(
        &self,
        site: &Site,
        store: Rc<dyn KvStore>,
        settings: SyncSettings,
    ) -> Result<Engine, Error> {
        let ctx = Ctx::new(site.clone(), self.transport.clone(), self.clock.clone());
        let seed = self.clock.now_ms() ^ 0x9e37_79b9_7f4a_7c15;
        Engine::connect(ctx, store, settings, seed)
    }

    fn ratio(&self, site: &Site, store: Rc<dyn KvStore>) -> Result<RatioSync, Error> {
        let ctx = Ctx::new(site.clone(), self.transport.clone(), self.clock.clone());
        RatioSync::new(ctx, store)
    }

    fn transport(&self) -> Option<Rc<dyn Transport>> {
        Some(self.transport.clone())
    }
}

/// The worker's state: injected I/O plus the runs working in this worker instance.
pub struct Env {
    pub store: Rc<dyn KvStore>,
    pub clock: Rc<dyn Clock>,
    pub browser: Rc<dyn Browser>,
    pub connector: Rc<dyn Connector>,
    pub version: String,
    active: RefCell<HashMap<SiteId, runs::Active>>,
    /// This instance's start of storage (migration and the `meta` update, [`Env::record_start`]):
    /// run once, by `start` or by whichever command or alarm arrives first, and awaited by all.
    storage_ready: RefCell<Option<StorageReady>>,
}

type StorageReady = Shared<LocalBoxFuture<'static, Result<Meta, Error>>>;

pub fn store_err(e: msync_core::store::StoreError) -> Error {
    storage::store_err(e)
}

impl Env {
    pub fn new(
        store: Rc<dyn KvStore>,
        clock: Rc<dyn Clock>,
        browser: Rc<dyn Browser>,
        connector: Rc<dyn Connector>,
        version: String,
    ) -> Rc<Env> {
        Rc::new(Env {
            store,
            clock,
            browser,
            connector,
            version,
            active: RefCell::new(HashMap::new()),
            storage_ready: RefCell::new(None),
        })
    }

    /// Record this start, creating `meta` on first install and migrating older storage.
    pub async fn record_start(&self) -> Result<Meta, Error> {
        let now = self.clock.now_ms();
        let store = &*self.store;
        let stored: Option<Meta> = storage::get_json(store, KEY_META).await?;
        let mut meta = match stored {
            Some(m) => m,
            None => {
                // No meta: a fresh install, or data from before versioning (schema 1).
                let has_data = store.get(KEY_SITES).await.map_err(store_err)?.is_some();
                Meta {
                    schema: if has_data { 1 } else { SCHEMA_VERSION },
                    version: self.version.clone(),
                    installed_at: now,
                    last_start: now,
                    starts: 0,
                }
            }
        };
        storage::migrate(store, &mut meta).await?;
        meta.version = self.version.clone();
        meta.last_start = now;
        meta.starts += 1;
        storage::put_json(store, KEY_META, &meta).await?;
        Ok(meta)
    }

    /// Storage at this msync's schema: the first call of a worker instance migrates and records
    /// the start; every later call (concurrent ones included) waits for that same result. The
    /// pages' commands and the alarms go through it, so none reads or writes storage while a
    /// migration rewrites it (`extension/background.js` does not order `on_message` after
    /// `on_startup`), and none touches storage a newer msync wrote.
    pub async fn storage_ready(self: &Rc<Self>) -> Result<Meta, Error> {
        let ready = self
            .storage_ready
            .borrow_mut()
            .get_or_insert_with(|| {
                let this = Rc::clone(self);
                async move { this.record_start().await }
                    .boxed_local()
                    .shared()
            })
            .clone();
        ready.await
    }

    /// Everything a (re)started worker does: migrate, re-arm alarms, resume interrupted runs,
    /// restore the badge.
    pub async fn start(self: &Rc<Self>) -> Result<Meta, Error> {
        let meta = self.storage_ready().await?;
        self.ensure_housekeeping().await?;
        self.rearm_all().await?;
        self.resume_all().await;
        self.refresh_badge().await;
        Ok(meta)
    }

    pub async fn sites(&self) -> Result<Vec<Site>, Error> {
        storage::load_sites(&*self.store).await
    }

    pub async fn site(&self, id: &SiteId) -> Result<Site, Error> {
        self.sites()
            .await?
            .into_iter()
            .find(|s| &s.id == id)
            .ok_or_else(|| Error::new(ErrorClass::NotFound, format!("no site with id {id}")))
    }

    pub async fn settings(&self, id: &SiteId) -> Result<SyncSettings, Error> {
        storage::load_settings(&*self.store, id).await
    }

    /// Fail early, with a clear message, when the extension may not reach the site.
    pub async fn require_permission(&self, site: &Site) -> Result<(), Error> {
        let pattern = sites::origin_pattern(&site.base_url).map_err(Error::validation)?;
        let held = self
            .browser
            .has_host_permission(&pattern)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorClass::Permission,
                    format!("could not check the host permission: {e}"),
                )
            })?;
        if held {
            Ok(())
        } else {
            Err(Error::new(
                ErrorClass::Permission,
                format!(
                    "msync has no permission to reach {}; grant it on the Sites page",
                    sites::origin(&site.base_url)
                ),
            )
            .not_retryable())
        }
    }

    async fn host_permission(&self, site: &Site) -> bool {
        match sites::origin_pattern(&site.base_url) {
            Ok(p) => self.browser.has_host_permission(&p).await.unwrap_or(false),
            Err(_) => false,
        }
    }

    pub async fn handle(self: &Rc<Self>, cmd: Command) -> Reply {
        if let Err(e) = self.storage_ready().await {
            return Reply::error(&e);
        }
        match self.try_handle(cmd).await {
            Ok(r) => r,
            Err(e) => Reply::error(&e),
        }
    }

    /// One command's work. Every command is its own boxed future: with one `async fn` holding
    /// all of them, the compiler inlined every handler into a single poll function (157 kB of
    /// the worker's wasm), and V8, which compiles a wasm function when it is first called,
    /// compiled all of it before a cold worker could answer its first message. Boxed, the poll
    /// functions stay apart and a message compiles only the handler it runs.
    fn try_handle(self: &Rc<Self>, cmd: Command) -> LocalBoxFuture<'_, Result<Reply, Error>> {
        match cmd {
            Command::Ping => Box::pin(async move {
                Ok(Reply::Pong {
                    version: self.version.clone(),
                    schema: SCHEMA_VERSION,
                })
            }),
            Command::ListSites => Box::pin(async move {
                Ok(Reply::Sites {
                    sites: self.sites().await?.iter().map(sites::summary).collect(),
                })
            }),
            Command::SaveSite { site } => Box::pin(self.save_site(site)),
            Command::RemoveSite { site } => Box::pin(async move {
                self.remove_site(&site).await?;
                Ok(Reply::Ok)
            }),
            Command::TestSite { site } => Box::pin(async move {
                let site = self.site(&site).await?;
                self.require_permission(&site).await?;
                Ok(Reply::Connection {
                    report: self.connector.gateway(&site).test_connection().await?,
                })
            }),
            Command::ListChannels { site } => Box::pin(async move {
                let site = self.site(&site).await?;
                self.require_permission(&site).await?;
                Ok(Reply::Channels {
                    channels: self.connector.gateway(&site).list_channels().await?,
                })
            }),
            // Notifications (issue 19): `notify.rs`.
            Command::GetNotify => Box::pin(self.get_notify()),
            Command::SaveNotify { settings } => Box::pin(self.save_notify(settings)),
            Command::TestNotify { sink } => Box::pin(async move { self.test_notify(&sink).await }),
            Command::NotifyLog => Box::pin(self.notify_log()),
            Command::GetStatus => Box::pin(async move {
                Ok(Reply::Status {
                    sites: self.status().await?,
                })
            }),
            Command::GetProbeInfo { site } => Box::pin(async move { self.probe_info(&site).await }), // issue 21
            Command::GetSettings { site } => Box::pin(async move {
                self.site(&site).await?;
                Ok(Reply::Settings {
                    settings: self.settings(&site).await?,
                })
            }),
            Command::SaveSettings { site, settings } => Box::pin(async move {
                self.site(&site).await?;
                if let Err(issues) = settings.validate() {
                    return Ok(Reply::Invalid { issues });
                }
                storage::save_settings(&*self.store, &site, &settings).await?;
                self.rearm(&site, &settings).await?;
                Ok(Reply::Settings { settings })
            }),
            Command::SetChannelExcluded {
                site,
                channel,
                excluded,
            } => Box::pin(async move {
                self.site(&site).await?;
                let mut settings = self.settings(&site).await?;
                let entry = settings.channels.entry(channel.0.clone()).or_default();
                entry.excluded = excluded;
                if *entry == Default::default() {
                    settings.channels.remove(&channel.0);
                }
                storage::save_settings(&*self.store, &site, &settings).await?;
                Ok(Reply::Settings { settings })
            }),
            Command::StartRun {
                site,
                selection,
                dry_run,
            } => Box::pin(async move { self.start_run(&site, selection, dry_run).await }),
            Command::CancelRun { site } => Box::pin(async move { self.cancel_run(&site).await }),
            Command::ApplyPlan {
                site,
                run,
                channels,
                force,
            } => Box::pin(async move { self.apply_plan(&site, &run, channels, force).await }),
            Command::Revert {
                site,
                run,
                channel,
                force,
            } => Box::pin(async move { self.revert(&site, &run, channel, force).await }),
            Command::ListRuns { site } => Box::pin(async move {
                self.site(&site).await?;
                Ok(Reply::Runs {
                    runs: msync_core::history::History::new(&*self.store, site)
                        .runs()
                        .await?,
                })
            }),
            Command::GetRun { site, run, filter } => {
                Box::pin(async move { self.get_run(&site, run, filter).await })
            }
            Command::ExportRun { site, run, format } => {
                Box::pin(async move { self.export_run(&site, &run, format).await })
            }
            Command::ExportSettings { include_secrets } => {
                Box::pin(self.export_settings(include_secrets))
            }
            Command::ImportSettings {
                content,
                confirm_auto_sync,
            } => Box::pin(async move { self.import_settings(&content, confirm_auto_sync).await }),
            Command::PreviewAllApiHub { content } => {
                Box::pin(async move { self.preview_all_api_hub(&content).await })
            }
            Command::ImportAllApiHub { content, update } => {
                Box::pin(async move { self.import_all_api_hub(&content, &update).await })
            }
            Command::ListPresets => Box::pin(async move {
                Ok(Reply::Presets {
                    presets: msync_core::redirect::preset_infos(),
                })
            }),
            Command::PreviewRedirect {
                site,
                channels,
                settings,
                confirm_overwrite_invalid,
            } => Box::pin(async move {
                self.preview_redirect(
                    &site,
                    PreviewKind::Redirect(settings),
                    channels,
                    confirm_overwrite_invalid,
                )
                .await
            }),
            Command::PreviewPrune { site, channels } => Box::pin(async move {
                self.preview_redirect(&site, PreviewKind::Prune, channels, false)
                    .await
            }),
            Command::PreviewClear {
                site,
                channels,
                scope,
                remove_added_names,
                confirm_overwrite_invalid,
            } => Box::pin(async move {
                self.preview_redirect(
                    &site,
                    PreviewKind::Clear {
                        scope,
                        remove_added_names,
                    },
                    channels,
                    confirm_overwrite_invalid,
                )
                .await
            }),
            Command::ApplyRedirect {
                site,
                preview,
                channels,
                confirm_overwrite_invalid,
                confirm_clear,
                force,
            } => Box::pin(async move {
                let opts = RedirectApplyOptions {
                    channels,
                    confirm_overwrite_invalid,
                    confirm_clear,
                    force,
                };
                self.apply_redirect(&site, preview, opts).await
            }),
            Command::ListRatioSources { site } => {
                Box::pin(async move { self.ratio(&site, RatioCall::Sources).await })
            }
            Command::FetchRatioDiff {
                site,
                upstreams,
                timeout_s,
            } => Box::pin(async move {
                self.ratio(&site, RatioCall::Diff(upstreams, timeout_s))
                    .await
            }),
            Command::CheckRatioUpstream { site, upstream } => Box::pin(async move {
                self.ratio(&site, RatioCall::Check(Box::new(upstream)))
                    .await
            }),
            Command::PreviewRatios { site, choices } => {
                Box::pin(async move { self.ratio(&site, RatioCall::Preview(choices)).await })
            }
            Command::ApplyRatios {
                site,
                choices,
                base,
            } => Box::pin(async move { self.ratio(&site, RatioCall::Apply(choices, base)).await }),
            Command::ListRatioSnapshots { site } => {
                Box::pin(async move { self.ratio(&site, RatioCall::Snapshots).await })
            }
            Command::RevertRatios {
                site,
                snapshot,
                force,
            } => {
                Box::pin(async move { self.ratio(&site, RatioCall::Revert(snapshot, force)).await })
            }
        }
    }

    async fn save_site(
        self: &Rc<Self>,
        input: msync_core::protocol::SiteInput,
    ) -> Result<Reply, Error> {
        let mut all = self.sites().await?;
        let existing_pos = input
            .id
            .as_ref()
            .and_then(|id| all.iter().position(|s| &s.id == id));
        let existing = existing_pos.map(|i| all[i].clone());
        let others: Vec<Site> = all
            .iter()
            .filter(|s| Some(&s.id) != existing.as_ref().map(|e| &e.id))
            .cloned()
            .collect();
        let site = match sites::build_site(input, existing.as_ref(), &others) {
            Ok(s) => s,
            Err(issues) => return Ok(Reply::Invalid { issues }),
        };
        match existing_pos {
            Some(i) => all[i] = site.clone(),
            None => all.push(site.clone()),
        }
        storage::save_sites(&*self.store, &all).await?;
        if existing.is_none()
            && self
                .store
                .get(&storage::settings_key(&site.id))
                .await
                .map_err(store_err)?
                .is_none()
        {
            storage::save_settings(&*self.store, &site.id, &SyncSettings::for_site(site.kind))
                .await?;
        }
        Ok(Reply::Site {
            site: sites::summary(&site),
        })
    }

    /// Remove a site with everything stored for it: settings, alarm, and its run history
    /// (snapshots cannot be restored without the site, and history would otherwise linger
    /// unreachable in storage). Refused while one of its runs works.
    async fn remove_site(self: &Rc<Self>, id: &SiteId) -> Result<(), Error> {
        let mut all = self.sites().await?;
        let before = all.len();
        all.retain(|s| &s.id != id);
        if all.len() == before {
            return Err(Error::new(
                ErrorClass::NotFound,
                format!("no site with id {id}"),
            ));
        }
        if self.is_active(id) {
            return Err(Error::found(
                ErrorClass::Validation,
                RunError::RemoveWhileRunning,
            ));
        }
        storage::save_sites(&*self.store, &all).await?;
        self.store
            .remove(&storage::settings_key(id))
            .await
            .map_err(store_err)?;
        let mut keys = self
            .store
            .keys(&storage::history_prefix(id))
            .await
            .map_err(store_err)?;
        keys.extend(
            self.store
                .keys(&format!("{}{}/", msync_core::ratio::SNAPSHOT_PREFIX, id.0))
                .await
                .map_err(store_err)?,
        );
        for key in keys {
            self.store.remove(&key).await.map_err(store_err)?;
        }
        self.browser
            .clear_alarm(&schedule::sync_alarm(id))
            .await
            .map_err(|e| {
                Error::new(
                    ErrorClass::Internal,
                    format!("could not clear the alarm: {e}"),
                )
            })?;
        self.refresh_badge().await;
        Ok(())
    }
}

/// Parse a message from a page (JSON text); anything malformed becomes a clear validation error.
/// `None`: one of the worker's own broadcast [`Event`]s, which reach the worker too when no page
/// listens; it is not a command and gets no answer.
pub fn parse_message(text: &str) -> Result<Option<Command>, Error> {
    // Through a `Value`, like every read of the worker (`crates/types/src/stored.rs` reads the
    // stored enums from one anyway): one reader per type, not a text reader too.
    let invalid = |e: serde_json::Error| Error::validation(format!("invalid message: {e}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(invalid)?;
    let event = value.get("event").is_some();
    match serde_json::from_value(value) {
        Ok(cmd) => Ok(Some(cmd)),
        Err(_) if event => Ok(None),
        Err(e) => Err(invalid(e)),
    }
}

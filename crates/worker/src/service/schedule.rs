//! Alarms: auto-sync per site, the housekeeping alarm, and the short resume alarm that wakes a
//! stopped worker while a run is unfinished.

use super::Env;
use msync_core::model::SiteId;
use msync_core::settings::SyncSettings;
use msync_core::{Error, ErrorClass};
use std::rc::Rc;

pub const SYNC_ALARM_PREFIX: &str = "msync:sync:";
/// Hourly: resume interrupted runs, re-check schedules.
pub const HOUSEKEEPING_ALARM: &str = "msync:housekeeping";
pub const HOUSEKEEPING_MINUTES: f64 = 60.0;
/// Every minute, only while a run is unfinished: wakes a stopped worker so the run resumes.
pub const RESUME_ALARM: &str = "msync:resume";
pub const RESUME_MINUTES: f64 = 1.0;

pub fn sync_alarm(site: &SiteId) -> String {
    format!("{SYNC_ALARM_PREFIX}{}", site.0)
}

fn alarm_err(e: String) -> Error {
    Error::new(ErrorClass::Internal, format!("could not set an alarm: {e}"))
}

impl Env {
    /// Arm, keep or clear the site's auto-sync alarm. An existing alarm with the right period is
    /// kept as it is, so restarts and unrelated settings changes do not push the next run back.
    pub async fn rearm(&self, site: &SiteId, settings: &SyncSettings) -> Result<(), Error> {
        self.rearm_watch(site, settings).await; // price watch (issue 19, notify.rs)
        let name = sync_alarm(site);
        if !settings.auto_sync.enabled {
            return self.browser.clear_alarm(&name).await.map_err(alarm_err);
        }
        let period = f64::from(settings.auto_sync.interval_minutes);
        let existing = self.browser.get_alarm(&name).await.map_err(alarm_err)?;
        let mut delay = period;
        if let Some(a) = existing.filter(|a| a.period_minutes == Some(period)) {
            // Alarms are kept in wall time. One due within a period from now is kept as it is;
            // one due further out means the system clock was set back (it would fire late by
            // as much), one overdue by more than a minute that it was set forward or the machine
            // slept: arm those afresh, an overdue one to fire once in a minute.
            let now = self.clock.now_ms() as f64;
            let period_ms = period * 60_000.0;
            if a.scheduled_ms >= now - 60_000.0 && a.scheduled_ms <= now + period_ms + 60_000.0 {
                return Ok(());
            }
            if a.scheduled_ms < now {
                delay = 1.0;
            }
        }
        self.browser
            .create_alarm(&name, delay, Some(period))
            .await
            .map_err(alarm_err)
    }

    /// Every site's alarm as its settings say; alarms of removed sites are cleared.
    pub async fn rearm_all(&self) -> Result<(), Error> {
        let sites = self.sites().await?;
        for site in &sites {
            let settings = self.settings(&site.id).await?;
            self.rearm(&site.id, &settings).await?;
        }
        for alarm in self.browser.all_alarms().await.map_err(alarm_err)? {
            if let Some(id) = alarm.name.strip_prefix(SYNC_ALARM_PREFIX) {
                if !sites.iter().any(|s| s.id.0 == id) {
                    self.browser
                        .clear_alarm(&alarm.name)
                        .await
                        .map_err(alarm_err)?;
                }
            }
        }
        Ok(())
    }

    pub async fn ensure_housekeeping(&self) -> Result<(), Error> {
        if self
            .browser
            .get_alarm(HOUSEKEEPING_ALARM)
            .await
            .map_err(alarm_err)?
            .is_none()
        {
            self.browser
                .create_alarm(
                    HOUSEKEEPING_ALARM,
                    HOUSEKEEPING_MINUTES,
                    Some(HOUSEKEEPING_MINUTES),
                )
                .await
                .map_err(alarm_err)?;
        }
        Ok(())
    }

    pub async fn ensure_resume_alarm(&self) {
        if let Ok(None) = self.browser.get_alarm(RESUME_ALARM).await {
            let _ = self
                .browser
                .create_alarm(RESUME_ALARM, RESUME_MINUTES, Some(RESUME_MINUTES))
                .await;
        }
    }

    /// Drop the resume alarm unless some site still has an unfinished run.
    pub async fn clear_resume_alarm_if_idle(&self) {
        let Ok(sites) = self.sites().await else {
            return;
        };
        for site in sites {
            let unfinished = msync_core::history::History::new(&*self.store, site.id.clone())
                .runs()
                .await
                .map(|r| {
                    r.iter()
                        .any(|h| h.state == msync_core::engine::record::RunState::Running)
                })
                .unwrap_or(true);
            if unfinished {
                return;
            }
        }
        let _ = self.browser.clear_alarm(RESUME_ALARM).await;
    }

    /// When the site's next scheduled run is due.
    pub async fn next_run_ms(&self, site: &SiteId) -> Option<u64> {
        self.browser
            .get_alarm(&sync_alarm(site))
            .await
            .ok()
            .flatten()
            .map(|a| a.scheduled_ms.max(0.0) as u64)
    }

    /// An alarm fired.
    pub async fn on_alarm(self: &Rc<Self>, name: &str) -> Result<(), Error> {
        self.storage_ready().await?;
        if name == HOUSEKEEPING_ALARM || name == RESUME_ALARM {
            self.resume_all().await;
            return Ok(());
        }
        if let Some(id) = name.strip_prefix(super::notify::WATCH_ALARM_PREFIX) {
            return self.on_watch_alarm(id).await; // price watch (issue 19)
        }
        let Some(id) = name.strip_prefix(SYNC_ALARM_PREFIX) else {
            return Ok(());
        };
        let id = SiteId(id.to_string());
        let site = match self.site(&id).await {
            Ok(s) => s,
            Err(_) => {
                // The site is gone; its alarm should be too.
                return self.browser.clear_alarm(name).await.map_err(alarm_err);
            }
        };
        let settings = self.settings(&id).await?;
        if !settings.auto_sync.enabled {
            return self.browser.clear_alarm(name).await.map_err(alarm_err);
        }
        match self.scheduled_run(&id).await {
            Ok(_) => Ok(()),
            Err(e) => {
                if settings.auto_sync.notify {
                    self.browser.notify(
                        &format!("msync:error:{}", id.0),
                        &format!("msync: {}: scheduled sync did not run", site.name),
                        &e.message,
                    );
                }
                Err(e)
            }
        }
    }
}

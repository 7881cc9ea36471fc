//! Notifications in the extension (issue 19, `docs/notifications.md`): the settings (key
//! `notify`, which holds the sinks' secrets like `sites` holds the gateways'), "send test", the
//! delivery log, and the notifications sent after runs. The browser notification after a
//! scheduled run stays as it was (`runs.rs`); these go to the admin's own sinks.

use super::storage::{get_json, put_json};
use super::Env;
use msync_core::engine::record::{RunMode, RunRecord};
use msync_core::notify::{events_of_run, Notifier, NotifyEvent, NotifySettings};
use msync_core::protocol::Reply;
use msync_core::reason::RunError;
use msync_core::settings::SettingsIssue;
use msync_core::{Error, ErrorClass};

/// The stored settings, secrets included.
pub const KEY_NOTIFY: &str = "notify";

impl Env {
    pub async fn notify_settings(&self) -> Result<NotifySettings, Error> {
        Ok(get_json(&*self.store, KEY_NOTIFY)
            .await?
            .unwrap_or_default())
    }

    fn notify_reply(settings: &NotifySettings) -> Reply {
        Reply::Notify {
            secrets: settings.sinks.iter().map(|s| s.sink.has_secret()).collect(),
            settings: settings.redacted(),
        }
    }

    pub async fn get_notify(&self) -> Result<Reply, Error> {
        Ok(Self::notify_reply(&self.notify_settings().await?))
    }

    /// Save; blank secrets keep the stored ones of the sink with the same name.
    pub async fn save_notify(&self, mut settings: NotifySettings) -> Result<Reply, Error> {
        let old = self.notify_settings().await?;
        for s in &mut settings.sinks {
            if let Some(o) = old.sinks.iter().find(|o| o.name == s.name) {
                s.sink.keep_secret_from(&o.sink);
            }
        }
        let issues = settings.issues();
        if !issues.is_empty() {
            return Ok(Reply::Invalid {
                issues: issues
                    .into_iter()
                    .map(|(field, problem)| {
                        SettingsIssue::found(format!("notify.{field}"), problem)
                    })
                    .collect(),
            });
        }
        put_json(&*self.store, KEY_NOTIFY, &settings).await?;
        Ok(Self::notify_reply(&settings))
    }

    fn notifier(&self, settings: NotifySettings) -> Result<Notifier, Error> {
        let transport = self
            .connector
            .transport()
            .ok_or_else(|| Error::found(ErrorClass::Validation, RunError::NoNetwork))?;
        Ok(Notifier::new(
            transport,
            self.clock.clone(),
            self.store.clone(),
            settings,
        ))
    }

    pub async fn test_notify(&self, sink: &str) -> Result<Reply, Error> {
        let n = self.notifier(self.notify_settings().await?)?;
        let d = n.send_test(sink).await?;
        Ok(Reply::NotifyDeliveries {
            deliveries: vec![d],
        })
    }

    pub async fn notify_log(&self) -> Result<Reply, Error> {
        let n = self.notifier(self.notify_settings().await?)?;
        Ok(Reply::NotifyDeliveries {
            deliveries: n.history().await,
        })
    }

    /// After a run: its events to the chosen sinks. Failures stay in the delivery log.
    pub async fn notify_run(&self, site_name: &str, rec: &RunRecord) {
        if rec.head.mode == RunMode::DryRun {
            return;
        }
        self.notify_events(&events_of_run(site_name, rec)).await;
    }

    pub async fn notify_events(&self, events: &[NotifyEvent]) {
        let Ok(settings) = self.notify_settings().await else {
            return;
        };
        if settings.sinks.is_empty() || events.is_empty() {
            return;
        }
        let Ok(n) = self.notifier(settings) else {
            return;
        };
        for e in events {
            n.notify(e).await;
        }
    }
}

// ----- price watch (issue 19): the site's alarm, and one watch run per firing -----

/// `msync:watch:<site>`: the price watch's alarm (`price_watch.enabled`).
pub const WATCH_ALARM_PREFIX: &str = "msync:watch:";

pub fn watch_alarm(site: &msync_core::model::SiteId) -> String {
    format!("{WATCH_ALARM_PREFIX}{}", site.0)
}

impl Env {
    /// Arm or clear the site's price watch alarm; an alarm with the right period is kept.
    pub async fn rearm_watch(
        &self,
        site: &msync_core::model::SiteId,
        settings: &msync_core::settings::SyncSettings,
    ) {
        let name = watch_alarm(site);
        let w = &settings.price_watch;
        if !w.enabled || w.upstream.is_none() {
            let _ = self.browser.clear_alarm(&name).await;
            return;
        }
        let period = f64::from(w.interval_minutes);
        let keep = matches!(
            self.browser.get_alarm(&name).await,
            Ok(Some(a)) if a.period_minutes == Some(period)
        );
        if !keep {
            let _ = self.browser.create_alarm(&name, period, Some(period)).await;
        }
    }

    /// The watch alarm fired: one watch run; a move over the threshold goes to the sinks.
    pub async fn on_watch_alarm(&self, id: &str) -> Result<(), Error> {
        let id = msync_core::model::SiteId(id.to_string());
        let Ok(site) = self.site(&id).await else {
            let _ = self.browser.clear_alarm(&watch_alarm(&id)).await;
            return Ok(());
        };
        let settings = self.settings(&id).await?;
        let w = &settings.price_watch;
        let Some(upstream) = w.upstream.clone().filter(|_| w.enabled) else {
            let _ = self.browser.clear_alarm(&watch_alarm(&id)).await;
            return Ok(());
        };
        self.require_permission(&site).await?;
        let sync = self.connector.ratio(&site, self.store.clone())?;
        let threshold = self.notify_settings().await?.price_threshold_pct;
        let run = msync_core::pricing::watch::watch(
            &sync,
            &*self.store,
            &id.0,
            &upstream,
            threshold,
            &w.apply,
            self.clock.now_ms(),
        )
        .await?;
        if let Some(e) = run.event(&site.name, threshold) {
            self.notify_events(&[e]).await;
        }
        Ok(())
    }
}

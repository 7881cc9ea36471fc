//! Issue 21, probe before adding (`docs/probe.md`): what the pages need besides the settings.
//! The probe step itself runs inside the engine of every run (`SyncSettings::probe`).

use super::Env;
use msync_core::model::SiteId;
use msync_core::probe::HealthStore;
use msync_core::protocol::Reply;
use msync_core::Error;

impl Env {
    /// Whether the site's gateway has a channel test (its adapter's `Capabilities`; no request
    /// is sent) and every channel's health record.
    pub async fn probe_info(&self, site: &SiteId) -> Result<Reply, Error> {
        let site = self.site(site).await?;
        let channel_test = self.connector.gateway(&site).capabilities().channel_test;
        let health = HealthStore::new(&*self.store, site.id.clone())
            .all()
            .await?;
        Ok(Reply::ProbeInfo {
            channel_test,
            health,
        })
    }
}

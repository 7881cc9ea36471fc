//! Import of an All API Hub export (docs/import-all-api-hub.md): a preview computed by
//! `msync_core::import::all_api_hub` against the stored sites, then — when the user confirms —
//! the sites it creates and the existing sites the user agreed to update.
//!
//! The page sends the file's text with both commands, so nothing lives between preview and
//! confirm (the service worker may be stopped in between) and the page never receives a secret.
//! Everything is checked before anything is written.

use super::{sites, storage, Env};
use msync_core::import::all_api_hub::{self as aah, SiteAction};
use msync_core::model::{Site, SiteId};
use msync_core::protocol::{Reply, SiteInput};
use msync_core::reason::RunError;
use msync_core::settings::{SettingsCheck, SettingsIssue, SyncSettings};
use msync_core::{Error, ErrorClass};
use std::rc::Rc;

impl Env {
    async fn existing_with_settings(&self) -> Result<Vec<(Site, SyncSettings)>, Error> {
        let mut out = Vec::new();
        for site in self.sites().await? {
            let settings = self.settings(&site.id).await?;
            out.push((site, settings));
        }
        Ok(out)
    }

    pub async fn preview_all_api_hub(&self, content: &str) -> Result<Reply, Error> {
        let existing = self.existing_with_settings().await?;
        Ok(match aah::preview(content, &existing) {
            Ok(p) => Reply::AllApiHubPreview {
                preview: p.redacted(),
            },
            Err(error) => Reply::ImportRefused { error },
        })
    }

    pub async fn import_all_api_hub(
        self: &Rc<Self>,
        content: &str,
        update: &[SiteId],
    ) -> Result<Reply, Error> {
        let existing = self.existing_with_settings().await?;
        let preview = match aah::preview(content, &existing) {
            Ok(p) => p,
            Err(error) => return Ok(Reply::ImportRefused { error }),
        };
        let mut all: Vec<Site> = existing.iter().map(|(s, _)| s.clone()).collect();
        let mut writes: Vec<(Site, SyncSettings, bool)> = Vec::new();
        let mut skipped = Vec::new();
        let mut issues: Vec<SettingsIssue> = Vec::new();
        for plan in &preview.sites {
            let at = |f: &str| format!("{}.{f}", plan.site.name);
            match &plan.action {
                SiteAction::Conflict { .. } => {
                    skipped.push(plan.site.name.clone());
                    continue;
                }
                SiteAction::Update { existing, .. } if !update.contains(existing) => {
                    skipped.push(plan.site.name.clone());
                    continue;
                }
                _ if !plan.missing.is_empty() => {
                    skipped.push(plan.site.name.clone());
                    continue;
                }
                _ => {}
            }
            if let SiteAction::Update { existing, .. } = &plan.action {
                if self.is_active(existing) {
                    return Err(Error::found(
                        ErrorClass::Validation,
                        RunError::ImportWhileRunning {
                            site: plan.site.name.clone(),
                        },
                    ));
                }
            }
            let old = match &plan.action {
                SiteAction::Update { existing, .. } => {
                    all.iter().find(|s| &s.id == existing).cloned()
                }
                _ => None,
            };
            let others: Vec<Site> = all
                .iter()
                .filter(|s| Some(&s.id) != old.as_ref().map(|o| &o.id))
                .cloned()
                .collect();
            let input = SiteInput {
                id: old.as_ref().map(|o| o.id.clone()),
                name: plan.site.name.clone(),
                kind: plan.site.kind,
                base_url: plan.site.base_url.clone(),
                credentials: plan.site.credentials.fields(),
                // An update keeps the consent to plain http the user gave on the Sites page;
                // an import never gives it.
                allow_insecure: old.as_ref().is_some_and(|o| o.allow_insecure),
            };
            let site = match sites::build_site(input, old.as_ref(), &others) {
                Ok(s) => s,
                Err(list) => {
                    issues.extend(list.into_iter().map(|i| SettingsIssue {
                        field: at(&i.field),
                        message: i.message,
                        reason: i.reason,
                    }));
                    continue;
                }
            };
            if let Err(list) = plan.settings.validate() {
                issues.extend(list.into_iter().map(|i| SettingsIssue {
                    field: at(&format!("settings.{}", i.field)),
                    message: i.message,
                    reason: i.reason,
                }));
                continue;
            }
            match all.iter_mut().find(|s| s.id == site.id) {
                Some(s) => *s = site.clone(),
                None => all.push(site.clone()),
            }
            writes.push((site, plan.settings.clone(), old.is_some()));
        }
        if !issues.is_empty() {
            return Ok(Reply::Invalid { issues });
        }
        if !writes.is_empty() {
            storage::save_sites(&*self.store, &all).await?;
        }
        let (mut created, mut updated) = (Vec::new(), Vec::new());
        for (site, settings, is_update) in &writes {
            storage::save_settings(&*self.store, &site.id, settings).await?;
            self.rearm(&site.id, settings).await?;
            if *is_update {
                updated.push(sites::summary(site));
            } else {
                created.push(sites::summary(site));
            }
        }
        Ok(Reply::AllApiHubImported {
            created,
            updated,
            skipped,
        })
    }
}

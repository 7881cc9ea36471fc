//! Export and import of every site and its settings as one JSON file.
//!
//! Secrets are left out unless the user asks for them. An import is checked completely before
//! anything is written: a malformed file, one from a newer msync, or one with any invalid site
//! or setting is refused and storage stays as it was. Imported sites are added, or replace the
//! site with the same id; sites not in the file are kept. An imported site without secrets keeps
//! the stored ones when its address and type did not change.

use super::{sites, storage, Env};
use msync_core::base_url::BaseUrl;
use msync_core::model::Site;
use msync_core::protocol::{AutoSyncTurnedOn, Reply, SiteInput, UnattendedJob};
use msync_core::reason::RunError;
use msync_core::settings::{FieldProblem, SettingsCheck, SettingsIssue, SyncSettings};
use msync_core::{Error, ErrorClass};
use serde::{Deserialize, Serialize};
use std::rc::Rc;
use storage::normalize_base_url;

pub const FILE_FORMAT: &str = "msync-settings";
pub const FILE_VERSION: u32 = 1;
/// The largest settings file read: the cap every imported file has (the options page checks
/// the file's size before reading it). An export of hundreds of sites with per-channel rules is
/// well under 1 MiB.
pub const MAX_FILE_BYTES: u64 = msync_core::import::all_api_hub::MAX_FILE_BYTES;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsFile {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub exported_ms: u64,
    #[serde(default)]
    pub includes_secrets: bool,
    pub sites: Vec<SiteEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteEntry {
    pub site: Site,
    #[serde(default)]
    pub settings: SyncSettings,
}

fn without_secrets(mut site: Site) -> Site {
    site.credentials = site.credentials.without_secrets();
    site
}

/// Parse and check a settings file; every problem at once.
pub fn parse_file(content: &str) -> Result<SettingsFile, Error> {
    if content.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(content.len() as u64));
    }
    let refused = |reason| Error::found(ErrorClass::Validation, reason);
    let value: serde_json::Value = serde_json::from_str(content).map_err(|e| {
        refused(RunError::FileNotJson {
            detail: e.to_string(),
        })
    })?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FILE_FORMAT) {
        return Err(refused(RunError::FileNotSettings));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(FILE_VERSION) {
        return Err(refused(RunError::FileTooNew {
            version,
            max: FILE_VERSION,
        }));
    }
    if version == 0 {
        return Err(refused(RunError::FileNoVersion));
    }
    // From the value already parsed: every type the worker reads is read from a `Value`
    // (`crates/types/src/stored.rs`), one reader per type.
    serde_json::from_value(value).map_err(|e| {
        refused(RunError::FileDamaged {
            detail: e.to_string(),
        })
    })
}

/// Why a file was not read.
pub fn too_large(bytes: u64) -> Error {
    Error::found(
        ErrorClass::Validation,
        RunError::FileTooLarge {
            bytes,
            max: MAX_FILE_BYTES,
        },
    )
}

fn check_entries(file: &SettingsFile) -> Vec<SettingsIssue> {
    let mut issues = Vec::new();
    let mut seen = Vec::new();
    for (i, e) in file.sites.iter().enumerate() {
        let at = |f: &str| format!("sites[{i}].{f}");
        if !sites::valid_id(&e.site.id.0) {
            issues.push(SettingsIssue::found(at("site.id"), FieldProblem::BadSiteId));
        }
        if seen.contains(&&e.site.id) {
            issues.push(SettingsIssue::found(
                at("site.id"),
                FieldProblem::SiteIdTwice {
                    id: e.site.id.0.clone(),
                },
            ));
        }
        seen.push(&e.site.id);
        if e.site.name.trim().is_empty() {
            issues.push(SettingsIssue::found(
                at("site.name"),
                FieldProblem::NameMissing,
            ));
        }
        if let Err(e) = BaseUrl::parse(&normalize_base_url(&e.site.base_url)) {
            issues.push(SettingsIssue::found(at("site.base_url"), e.into()));
        }
        if let Err(list) = e.settings.validate() {
            issues.extend(list.into_iter().map(|s| SettingsIssue {
                field: at(&format!("settings.{}", s.field)),
                message: s.message,
                reason: s.reason,
            }));
        }
    }
    issues
}

/// Every entry's site as Save Site would store it, or the problems (fields `sites[i].site.…`).
fn build_entries(file: &SettingsFile, stored: &[Site]) -> (Vec<Site>, Vec<SettingsIssue>) {
    let mut built = Vec::new();
    let mut issues = Vec::new();
    for (i, entry) in file.sites.iter().enumerate() {
        let id = &entry.site.id;
        let existing = stored.iter().find(|s| &s.id == id);
        // Everyone the name must differ from: stored sites the file does not replace, and the
        // file's other sites.
        let others: Vec<Site> = stored
            .iter()
            .filter(|s| &s.id != id && !file.sites.iter().any(|e| e.site.id == s.id))
            .cloned()
            .chain(
                file.sites
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, e)| e.site.clone()),
            )
            .collect();
        let input = SiteInput {
            id: Some(id.clone()),
            name: entry.site.name.clone(),
            kind: entry.site.kind,
            base_url: entry.site.base_url.clone(),
            credentials: entry.site.credentials.fields(),
            allow_insecure: entry.site.allow_insecure,
        };
        match sites::build_site(input, existing, &others) {
            Ok(site) => built.push(site),
            Err(list) => issues.extend(list.into_iter().map(|s| SettingsIssue {
                field: format!("sites[{i}].site.{}", s.field),
                message: s.message,
                reason: s.reason,
            })),
        }
    }
    (built, issues)
}

impl Env {
    pub async fn export_settings(&self, include_secrets: bool) -> Result<Reply, Error> {
        let mut entries = Vec::new();
        for site in self.sites().await? {
            let settings = self.settings(&site.id).await?;
            let site = if include_secrets {
                site
            } else {
                without_secrets(site)
            };
            entries.push(SiteEntry { site, settings });
        }
        let file = SettingsFile {
            format: FILE_FORMAT.into(),
            version: FILE_VERSION,
            exported_ms: self.clock.now_ms(),
            includes_secrets: include_secrets,
            sites: entries,
        };
        let content = serde_json::to_string_pretty(&file)
            .map_err(|e| Error::validation(format!("could not encode the settings: {e}")))?;
        Ok(Reply::Export {
            filename: if include_secrets {
                "msync-settings-with-secrets.json".into()
            } else {
                "msync-settings.json".into()
            },
            mime: "application/json".into(),
            content,
        })
    }

    pub async fn import_settings(
        self: &Rc<Self>,
        content: &str,
        confirm_auto_sync: bool,
    ) -> Result<Reply, Error> {
        let file = parse_file(content)?;
        let issues = check_entries(&file);
        if !issues.is_empty() {
            return Ok(Reply::Invalid { issues });
        }
        if !confirm_auto_sync {
            // Auto-sync that the file turns on (off or absent here) under settings that remove
            // models unattended: the user confirms it first.
            // The price watch's unattended apply (it writes the site's prices on a schedule)
            // is asked about whenever the file turns it on.
            let mut turned_on = Vec::new();
            for e in &file.sites {
                let settings = e.settings.destructive();
                let sync_on = e.settings.auto_sync.enabled && !settings.is_empty();
                let watch = &e.settings.price_watch;
                if !sync_on && !watch.applies_unattended() {
                    continue;
                }
                // A site not stored yet has the defaults: both off.
                let now = self.settings(&e.site.id).await?;
                let site = e.site.name.trim().to_string();
                if sync_on && !now.auto_sync.enabled {
                    turned_on.push(AutoSyncTurnedOn {
                        site: site.clone(),
                        job: UnattendedJob::AutoSync,
                        interval_minutes: e.settings.auto_sync.interval_minutes,
                        settings,
                    });
                }
                if watch.applies_unattended() && !now.price_watch.applies_unattended() {
                    turned_on.push(AutoSyncTurnedOn {
                        site,
                        job: UnattendedJob::PriceWatchApply,
                        interval_minutes: watch.interval_minutes,
                        settings: watch.loosened(),
                    });
                }
            }
            if !turned_on.is_empty() {
                return Ok(Reply::ImportNeedsConfirmation { sites: turned_on });
            }
        }
        if let Some(e) = file.sites.iter().find(|e| self.is_active(&e.site.id)) {
            return Err(Error::found(
                ErrorClass::Validation,
                RunError::ImportWhileRunning {
                    site: e.site.name.clone(),
                },
            ));
        }
        // Each site goes through Save Site's checks: a unique name, the credentials its type
        // needs (an entry without secrets keeps the stored ones only for the same address and
        // type), plain http only with consent.
        let mut all = self.sites().await?;
        let (built, issues) = build_entries(&file, &all);
        if !issues.is_empty() {
            return Ok(Reply::Invalid { issues });
        }
        for site in built {
            match all.iter_mut().find(|s| s.id == site.id) {
                Some(old) => *old = site,
                None => all.push(site),
            }
        }
        storage::save_sites(&*self.store, &all).await?;
        for entry in &file.sites {
            storage::save_settings(&*self.store, &entry.site.id, &entry.settings).await?;
            self.rearm(&entry.site.id, &entry.settings).await?;
        }
        Ok(Reply::Sites {
            sites: all.iter().map(sites::summary).collect(),
        })
    }
}

//! Export and import of every site and its settings as one JSON file.
//!
//! Secrets are left out unless the user asks for them. An import is checked completely before
//! anything is written: a malformed file, one from a newer msync, or one with any invalid site
//! or setting is refused and storage stays as it was. Imported sites are added, or replace the
//! site with the same id; sites not in the file are kept. An imported site without secrets keeps
//! the stored ones when its address and type did not change.

use super::{sites, storage, Env};
use msync_core::model::{Credentials, Secret, Site};
use msync_core::protocol::Reply;
use msync_core::settings::{SettingsCheck, SettingsIssue, SyncSettings};
use msync_core::Error;
use serde::{Deserialize, Serialize};
use std::rc::Rc;

pub const FILE_FORMAT: &str = "msync-settings";
pub const FILE_VERSION: u32 = 1;

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
    site.credentials = Credentials {
        token: Secret::default(),
        password: Secret::default(),
        ..site.credentials
    };
    site
}

/// Parse and check a settings file; every problem at once.
pub fn parse_file(content: &str) -> Result<SettingsFile, Error> {
    let value: serde_json::Value = serde_json::from_str(content).map_err(|e| {
        Error::validation(format!(
            "this is not a JSON file ({e}); nothing was imported"
        ))
    })?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FILE_FORMAT) {
        return Err(Error::validation(
            "this is not an msync settings file (no \"format\": \"msync-settings\"); nothing was imported",
        ));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(FILE_VERSION) {
        return Err(Error::validation(format!(
            "this file was written by a newer msync (file version {version}; this one reads up to {FILE_VERSION}); update msync first. Nothing was imported"
        )));
    }
    if version == 0 {
        return Err(Error::validation(
            "the file has no valid \"version\"; nothing was imported",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| Error::validation(format!("the file is damaged ({e}); nothing was imported")))
}

fn check_entries(file: &SettingsFile) -> Vec<SettingsIssue> {
    let mut issues = Vec::new();
    let mut seen = Vec::new();
    for (i, e) in file.sites.iter().enumerate() {
        let at = |f: &str| format!("sites[{i}].{f}");
        if !sites::valid_id(&e.site.id.0) {
            issues.push(SettingsIssue {
                field: at("site.id"),
                message: "a site id uses only letters, digits, - and _ (at most 64)".into(),
            });
        }
        if seen.contains(&&e.site.id) {
            issues.push(SettingsIssue {
                field: at("site.id"),
                message: format!("site id {} appears twice", e.site.id),
            });
        }
        seen.push(&e.site.id);
        if e.site.name.trim().is_empty() {
            issues.push(SettingsIssue {
                field: at("site.name"),
                message: "the site has no name".into(),
            });
        }
        if let Err(m) = sites::parse_base_url(&e.site.base_url) {
            issues.push(SettingsIssue {
                field: at("site.base_url"),
                message: m,
            });
        }
        if let Err(list) = e.settings.validate() {
            issues.extend(list.into_iter().map(|s| SettingsIssue {
                field: at(&format!("settings.{}", s.field)),
                message: s.message,
            }));
        }
    }
    issues
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

    pub async fn import_settings(self: &Rc<Self>, content: &str) -> Result<Reply, Error> {
        let file = parse_file(content)?;
        let issues = check_entries(&file);
        if !issues.is_empty() {
            return Ok(Reply::Invalid { issues });
        }
        if let Some(e) = file.sites.iter().find(|e| self.is_active(&e.site.id)) {
            return Err(Error::validation(format!(
                "a run of site {} is in progress; import after it finished. Nothing was imported",
                e.site.name
            )));
        }
        let mut all = self.sites().await?;
        for entry in &file.sites {
            let mut site = entry.site.clone();
            site.base_url = storage::normalize_base_url(&site.base_url);
            site.name = site.name.trim().to_string();
            match all.iter_mut().find(|s| s.id == site.id) {
                Some(old) => {
                    if old.kind == site.kind
                        && sites::origin(&old.base_url) == sites::origin(&site.base_url)
                    {
                        if site.credentials.token.is_empty() {
                            site.credentials.token = old.credentials.token.clone();
                        }
                        if site.credentials.password.is_empty() {
                            site.credentials.password = old.credentials.password.clone();
                        }
                    }
                    *old = site;
                }
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

//! The one typed message protocol between the extension pages and the service worker.
//!
//! Pages send a [`Command`] with `chrome.runtime.sendMessage`; the worker answers with a
//! [`Reply`]. While a run works, the worker broadcasts [`Event`]s to every open page. All three
//! are plain JSON (`{"cmd": "...", ...}`, `{"reply": "...", ...}`, `{"event": "...", ...}`), so an
//! invalid or unknown message is a clear [`Reply::Error`], never a crash.
//!
//! Adding a feature adds variants; existing variants keep their shape (pages and worker ship
//! together, but a page left open across an update must still get a readable error).

use crate::engine::record::{ItemResult, ItemStatus, RunHead, RunId};
use crate::engine::{Progress, Selection};
use crate::gateway::{Capabilities, ConnectionReport};
use crate::model::{Channel, ChannelId, Credentials, SiteId, SiteKind};
use crate::settings::{SettingsIssue, SyncSettings};
use serde::{Deserialize, Serialize};

/// A site as pages see it: never with its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSummary {
    pub id: SiteId,
    pub name: String,
    pub kind: SiteKind,
    pub base_url: String,
    pub has_credentials: bool,
    /// Non-secret credential fields, for the edit form (user id, username/email).
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub username: Option<String>,
    /// Plain http to a host that is not loopback/LAN: the UI shows a warning.
    #[serde(default)]
    pub insecure: bool,
}

/// A site being added (`id: None`) or edited. Empty secret fields keep the stored ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInput {
    #[serde(default)]
    pub id: Option<SiteId>,
    pub name: String,
    pub kind: SiteKind,
    pub base_url: String,
    #[serde(default)]
    pub credentials: Credentials,
}

/// What the popup and the sync page show per site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteStatus {
    pub site: SiteSummary,
    pub capabilities: Option<Capabilities>,
    /// The run in progress, if any.
    pub running: Option<Progress>,
    pub last_run: Option<RunHead>,
    /// Epoch ms of the next scheduled run (auto-sync on).
    pub next_run_ms: Option<u64>,
    /// Whether the extension holds the host permission for the site's origin.
    pub host_permission: bool,
}

/// Which items of a run to return.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFilter {
    /// Only these statuses (empty = all).
    #[serde(default)]
    pub statuses: Vec<ItemStatus>,
    /// Case-insensitive search in channel name, id and error text.
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// Liveness and version.
    Ping,
    ListSites,
    SaveSite {
        site: SiteInput,
    },
    RemoveSite {
        site: SiteId,
    },
    TestSite {
        site: SiteId,
    },
    /// Status of every site (popup, sync page header).
    GetStatus,
    ListChannels {
        site: SiteId,
    },
    GetSettings {
        site: SiteId,
    },
    /// Validated before saving; re-arms the site's auto-sync alarm.
    SaveSettings {
        site: SiteId,
        settings: SyncSettings,
    },
    /// Exclude a channel from sync (or include it again); persisted in the site's settings.
    SetChannelExcluded {
        site: SiteId,
        channel: ChannelId,
        excluded: bool,
    },
    /// Start a run in the background; progress arrives as [`Event`]s.
    StartRun {
        site: SiteId,
        selection: Selection,
        #[serde(default)]
        dry_run: bool,
    },
    CancelRun {
        site: SiteId,
    },
    /// Apply a dry run's plan (all of it, or some channels).
    ApplyPlan {
        site: SiteId,
        run: RunId,
        #[serde(default)]
        channels: Option<Vec<ChannelId>>,
        #[serde(default)]
        force: bool,
    },
    /// Restore a run's snapshots (one channel, or every channel it wrote).
    Revert {
        site: SiteId,
        run: RunId,
        #[serde(default)]
        channel: Option<ChannelId>,
        #[serde(default)]
        force: bool,
    },
    ListRuns {
        site: SiteId,
    },
    /// A run's head and items (`run: None` = the latest run).
    GetRun {
        site: SiteId,
        #[serde(default)]
        run: Option<RunId>,
        #[serde(default)]
        filter: ItemFilter,
    },
    ExportRun {
        site: SiteId,
        run: RunId,
        format: ExportFormat,
    },
    /// Every site and its settings as a JSON file; secrets only if asked for.
    ExportSettings {
        #[serde(default)]
        include_secrets: bool,
    },
    /// Replace sites/settings from an exported file (malformed or newer files are refused).
    ImportSettings {
        content: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Pong {
        version: String,
        schema: u32,
    },
    Ok,
    Sites {
        sites: Vec<SiteSummary>,
    },
    Site {
        site: SiteSummary,
    },
    Status {
        sites: Vec<SiteStatus>,
    },
    Connection {
        report: ConnectionReport,
    },
    Channels {
        channels: Vec<Channel>,
    },
    Settings {
        settings: SyncSettings,
    },
    /// Settings were refused; every problem, each naming its field.
    Invalid {
        issues: Vec<SettingsIssue>,
    },
    RunStarted {
        run: RunId,
    },
    Runs {
        runs: Vec<RunHead>,
    },
    Run {
        head: RunHead,
        items: Vec<ItemResult>,
    },
    /// A file for the page to download.
    Export {
        filename: String,
        mime: String,
        content: String,
    },
    Error {
        class: String,
        message: String,
    },
}

impl Reply {
    pub fn error(e: &crate::Error) -> Reply {
        Reply::Error {
            class: e.class.to_string(),
            message: e.message.clone(),
        }
    }
}

/// Pushed by the worker to open pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Progress { site: SiteId, progress: Progress },
    Item { site: SiteId, item: ItemResult },
    RunFinished { site: SiteId, head: RunHead },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_tagged_json() {
        let c: Command = serde_json::from_str(r#"{"cmd":"list_channels","site":"s1"}"#).unwrap();
        assert_eq!(
            c,
            Command::ListChannels {
                site: SiteId("s1".into())
            }
        );
        let run: Command =
            serde_json::from_str(r#"{"cmd":"start_run","site":"s1","selection":{"select":"all"}}"#)
                .unwrap();
        assert_eq!(
            run,
            Command::StartRun {
                site: SiteId("s1".into()),
                selection: Selection::All,
                dry_run: false
            }
        );
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"format_disk"}"#).is_err());
    }
}

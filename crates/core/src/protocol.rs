//! The one typed message protocol between the extension pages and the service worker.
//!
//! Pages send a [`Command`] with `chrome.runtime.sendMessage`; the worker answers with a
//! [`Reply`]. Both are plain JSON (`{"cmd": "...", ...}`), so an invalid or unknown message is a
//! clear [`Reply::Error`], never a crash.

use crate::gateway::ConnectionReport;
use crate::model::{Channel, SiteId, SiteKind};
use serde::{Deserialize, Serialize};

/// A site as pages see it: never with its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSummary {
    pub id: SiteId,
    pub name: String,
    pub kind: SiteKind,
    pub base_url: String,
    pub has_credentials: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// Liveness and version.
    Ping,
    ListSites,
    TestSite {
        site: SiteId,
    },
    ListChannels {
        site: SiteId,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Pong { version: String, schema: u32 },
    Sites { sites: Vec<SiteSummary> },
    Connection { report: ConnectionReport },
    Channels { channels: Vec<Channel> },
    Error { class: String, message: String },
}

impl Reply {
    pub fn error(e: &crate::Error) -> Reply {
        Reply::Error {
            class: e.class.to_string(),
            message: e.message.clone(),
        }
    }
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
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"format_disk"}"#).is_err());
    }
}

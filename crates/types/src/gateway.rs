//! What a site is and can do, as pages and records see it: its capabilities (`capabilities.rs`:
//! everything that differs per site type, as data), how it stores a channel's model list, and a
//! connection test's report. The adapters that talk to each site are the engine's
//! (`msync_core::gateway`).

use crate::error::{Error, ErrorClass, Result};
use crate::reason::RunError;
use serde::{Deserialize, Serialize};

mod capabilities;
pub use capabilities::{
    api_rate_limit, capabilities, ApiRateLimit, Capabilities, CredentialField, CredentialKind,
    MappingRules,
};

/// How a site stores a channel's model list, and so which names survive a write and a read.
///
/// * New API (`model/channel.go` `GetModels`: `strings.Split(strings.Trim(channel.Models, ","),
///   ",")`), Veloera (the same code) and DoneHub (`model/balancer.go` `Load`: split on `,`, each
///   name trimmed for routing) keep one comma-joined text and split it on commas only: a name
///   with a comma comes back as two names, spaces stay part of a name.
/// * Octopus (`internal/op/channel.go` `ChannelUpdate`) also joins with commas, and trims,
///   drops empty and duplicate names when it stores them.
/// * AxonHub stores a JSON list.
///
/// The adapters read and write through these functions only, so a revert writes back exactly
/// the names read into its snapshot, and for every format
/// `split(join(clean(names))) == clean(names)` holds once no name is [`Self::unstorable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelListFormat {
    /// One comma-joined text, names kept as they are (New API, Veloera, DoneHub).
    #[default]
    CommaJoined,
    /// One comma-joined text whose names the server trims and de-duplicates (Octopus).
    CommaJoinedTrimmed,
    /// A list of strings (AxonHub).
    List,
}

impl ModelListFormat {
    /// What the site would store for `names`: blank names and repeats dropped; for Octopus and
    /// AxonHub also trimmed. New API and DoneHub names are otherwise kept as they are (spaces
    /// included: the server does not trim them, so `" a"` and `"a"` are two names there).
    pub fn clean<S: AsRef<str>>(self, names: &[S]) -> Vec<String> {
        match self {
            ModelListFormat::CommaJoined => {
                let mut seen = std::collections::HashSet::new();
                names
                    .iter()
                    .map(AsRef::as_ref)
                    .filter(|n| !n.trim().is_empty() && seen.insert(*n))
                    .map(str::to_string)
                    .collect()
            }
            ModelListFormat::CommaJoinedTrimmed | ModelListFormat::List => {
                crate::filter::normalize(names)
            }
        }
    }

    /// The names of `names` that this format cannot store: with a comma, the server would split
    /// them into other names (`"gpt-4o,o1-pro"` becomes `gpt-4o` and `o1-pro`).
    pub fn unstorable<S: AsRef<str>>(self, names: &[S]) -> Vec<&str> {
        match self {
            ModelListFormat::CommaJoined | ModelListFormat::CommaJoinedTrimmed => names
                .iter()
                .map(AsRef::as_ref)
                .filter(|n| n.contains(','))
                .collect(),
            ModelListFormat::List => Vec::new(),
        }
    }

    /// The stored text for `names` (comma formats), or why nothing may be written.
    pub fn join<S: AsRef<str>>(self, names: &[S]) -> Result<String> {
        let bad = self.unstorable(names);
        if !bad.is_empty() {
            return Err(unstorable_error(&bad));
        }
        Ok(self.clean(names).join(","))
    }

    /// Split a stored text the way the server does (on commas only), then [`Self::clean`].
    pub fn split(self, text: &str) -> Vec<String> {
        let parts: Vec<&str> = text.trim_matches(',').split(',').collect();
        self.clean(&parts)
    }
}

/// Why names were refused (the engine's per-channel error and the adapters' write check).
pub fn unstorable_error(names: &[&str]) -> Error {
    Error::found(
        ErrorClass::Validation,
        RunError::Unstorable {
            names: names.iter().map(|n| n.to_string()).collect(),
        },
    )
}

/// The result of "Test connection".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub reachable: bool,
    pub authenticated: bool,
    pub admin: bool,
    /// `None` when the site cannot tell.
    pub root: Option<bool>,
    pub version: Option<String>,
    /// Which flavour/era the answers looked like (e.g. "new-api ≥ 2025-06 envelope").
    pub flavour_hint: Option<String>,
    pub channel_count: Option<usize>,
    pub round_trip_ms: u64,
}

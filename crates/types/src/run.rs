//! A run as pages ask for it and watch it: which channels it covers and its live progress.

use crate::model::ChannelId;
use crate::record::{QueuedChannel, RunId, Totals};
use serde::{Deserialize, Serialize};

/// Which channels a run covers. Sent by pages, never stored, so in serde's default enum form:
/// `"all"`, `"failed_only"`, `{"channels": ["3", "7"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    All,
    /// These channels, in this order (also "sync one channel").
    Channels(Vec<ChannelId>),
    /// The channels that failed in the previous run.
    FailedOnly,
}

/// Live progress of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub run: RunId,
    pub total: usize,
    pub done: usize,
    /// Channels being processed right now.
    pub in_flight: Vec<QueuedChannel>,
    pub totals: Totals,
    pub elapsed_ms: u64,
    /// Channels finished per minute in this session.
    pub rate_per_min: f64,
    /// Estimated time to finish, once a rate is known.
    pub eta_ms: Option<u64>,
}

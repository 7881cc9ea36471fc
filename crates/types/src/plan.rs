//! The plan as a value (`docs/sync.md` §2): what a dry run decided for each channel, stored with the run
//! and applied later. Deciding is the engine's (`msync_core::engine::plan`).

use crate::error::Error;
use crate::model::{Channel, ChannelId, SiteId};
use crate::reason::{ReviewReason, SkipReason};
use crate::record::{ChannelState, RunId};
use serde::{Deserialize, Serialize};

/// What will (or would) happen to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum Decision {
    /// The model set changes: write `new`.
    Write,
    /// The model set is already right.
    Unchanged,
    /// Not synced on purpose.
    Skip {
        #[serde(deserialize_with = "crate::reason::skip_reason")]
        reason: SkipReason,
    },
    /// A guard held the change; applying the plan confirms it.
    NeedsReview {
        #[serde(deserialize_with = "crate::reason::review_reason")]
        reason: ReviewReason,
    },
    /// The channel could not be planned (fetch failed…).
    Failed { error: Error },
}

crate::stored_enum!(Decision, "decision");

/// One channel's plan: its state when planned, the new list and the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPlan {
    pub channel_id: ChannelId,
    pub channel_name: String,
    /// The channel as read when planning; apply refuses if it changed since (unless forced).
    pub before: ChannelState,
    pub new: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Models the upstream listed (after normalization, before filters).
    pub upstream_count: usize,
    pub decision: Decision,
    /// The price check's result (issue 19), when it ran and found unpriced models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<crate::pricing::PriceCheck>,
    /// Issue 21: the probe results of the models this plan adds (empty when probing is off).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::probe::ModelProbe>,
}

impl ChannelPlan {
    /// A plan for a channel that is not fetched at all (excluded, disabled, failed).
    pub fn without_change(channel: &Channel, decision: Decision) -> ChannelPlan {
        ChannelPlan {
            channel_id: channel.id.clone(),
            channel_name: channel.name.clone(),
            before: ChannelState {
                models: channel.models.clone(),
                mapping: channel.mapping.clone(),
            },
            new: channel.models.clone(),
            added: Vec::new(),
            removed: Vec::new(),
            upstream_count: 0,
            decision,
            price: None,
            probes: Vec::new(),
        }
    }
}

/// A dry run's result: a value that can be shown, stored, and applied with
/// `Engine::apply_plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPlan {
    pub site: SiteId,
    /// The dry run that produced this plan.
    pub run: RunId,
    pub created_ms: u64,
    pub channels: Vec<ChannelPlan>,
}

impl SyncPlan {
    /// Channels that applying the plan would write (changes, including those held for review).
    pub fn writes(&self) -> impl Iterator<Item = &ChannelPlan> {
        self.channels
            .iter()
            .filter(|c| matches!(c.decision, Decision::Write | Decision::NeedsReview { .. }))
    }
}

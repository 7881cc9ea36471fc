//! What a ratio apply changes and did: the preview pages show, the snapshot kept before a write,
//! and the outcomes of apply and revert. Planning and writing are the engine's
//! (`msync_core::ratio`).

use super::diff::LockedRatio;
use super::types::RatioField;
use crate::error::Error;
use crate::model::SiteId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One field of one model: old → new (`None` = absent / removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: RatioField,
    pub old: Option<Value>,
    pub new: Option<Value>,
    /// The column the new value came from; `None` for removals the merge implies.
    #[serde(default)]
    pub upstream: Option<String>,
}

/// Everything that changes for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelChange {
    pub model: String,
    pub changes: Vec<FieldChange>,
}

/// The plan as pages show it (without the whole-map strings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioPreview {
    /// Pass back to apply: it refuses when the maps changed since this preview.
    pub base: String,
    pub models: Vec<ModelChange>,
    /// Option keys that will be written.
    pub keys: Vec<String>,
    pub unchanged: usize,
    /// Completion ratios chosen for models the server locks: not written.
    #[serde(default)]
    pub locked: Vec<LockedRatio>,
}

/// The previous maps, kept before an apply so it can be reverted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioSnapshot {
    pub id: String,
    pub site: SiteId,
    pub taken_ms: u64,
    /// Stored strings before the apply, for the keys it writes (`None` = absent).
    pub before: BTreeMap<String, Option<String>>,
    /// What the apply wrote, per key (a revert refuses to clobber later edits).
    pub written: BTreeMap<String, String>,
    pub models: Vec<ModelChange>,
    #[serde(default)]
    pub reverted_ms: Option<u64>,
}

impl RatioSnapshot {
    pub fn head(&self) -> RatioSnapshotHead {
        RatioSnapshotHead {
            id: self.id.clone(),
            site: self.site.clone(),
            taken_ms: self.taken_ms,
            keys: self.before.keys().cloned().collect(),
            models: self.models.len(),
            reverted_ms: self.reverted_ms,
        }
    }
}

/// A snapshot as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatioSnapshotHead {
    pub id: String,
    pub site: SiteId,
    pub taken_ms: u64,
    pub keys: Vec<String>,
    /// Models the apply changed.
    pub models: usize,
    pub reverted_ms: Option<u64>,
}

/// What an apply did. Failures before the first write are `Err`s instead (nothing written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioApplyOutcome {
    /// The snapshot to revert with (`None` when there was nothing to write).
    pub snapshot: Option<String>,
    pub preview: RatioPreview,
    /// Keys written successfully, in order.
    pub written: Vec<String>,
    /// The read-back matched every written key.
    pub verified: bool,
    /// Keys whose read-back differs from what was written.
    pub mismatched: Vec<String>,
    /// The write or read-back failure that stopped the apply.
    pub error: Option<Error>,
    /// Keys restored from the snapshot after a failed write.
    #[serde(default)]
    pub rolled_back: Vec<String>,
}

impl RatioApplyOutcome {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.mismatched.is_empty()
    }
}

/// What a revert did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioRevertOutcome {
    pub snapshot: String,
    pub written: Vec<String>,
    pub verified: bool,
    pub mismatched: Vec<String>,
    pub error: Option<Error>,
}

impl RatioRevertOutcome {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.mismatched.is_empty()
    }
}

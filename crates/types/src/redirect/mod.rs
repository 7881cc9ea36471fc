//! Model redirect (`docs/redirect.md`) as values: the settings, each standard model's [`Outcome`] per
//! channel, a channel's preview, and the redirect operations a run records. The matcher and the
//! planning functions are the engine's (`msync_core::redirect`); the rules, with examples, are in
//! `docs/redirect.md`.

pub mod presets;

pub use presets::{preset_infos, Preset, PresetInfo, PRESETS};

use crate::model::{ChannelId, ChannelUpdate, Mapping, SiteId, SiteKind};
use crate::reason::{ItemReason, RedirectKind};
use serde::{Deserialize, Serialize};
use std::fmt;

// ----- names -----------------------------------------------------------------------------------

/// A snapshot date found at the end of a model id. Fields the shape does not carry are `None`
/// (`-0613` has no year, `-11-2024` and `-2411` have no day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DateStamp {
    pub year: Option<u16>,
    pub month: u8,
    pub day: Option<u8>,
}

impl DateStamp {
    /// Sort key, newest last. A missing year or day sorts as 0 — an `MMDD` stamp carries no
    /// year, so between stamps of different shapes the order is a best guess (documented).
    pub fn sort_key(&self) -> (u16, u8, u8) {
        (self.year.unwrap_or(0), self.month, self.day.unwrap_or(0))
    }
}

impl PartialOrd for DateStamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DateStamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key()
            .cmp(&other.sort_key())
            .then_with(|| self.year.cmp(&other.year))
            .then_with(|| self.day.cmp(&other.day))
    }
}

impl fmt::Display for DateStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.year, self.day) {
            (Some(y), Some(d)) => write!(f, "{y:04}-{:02}-{d:02}", self.month),
            (Some(y), None) => write!(f, "{y:04}-{:02}", self.month),
            (None, Some(d)) => write!(f, "{:02}-{d:02}", self.month),
            (None, None) => write!(f, "{:02}", self.month),
        }
    }
}

// ----- matching ----------------------------------------------------------------------------------

/// A user alias: requests for `name` go to the channel model matched by `pattern`.
///
/// A pattern with `*` or `?` is a case-insensitive glob over the whole actual id (vendor path and
/// `:suffix` included), e.g. `*claude-haiku-4-5*`. Any other pattern is a model name and matches
/// like a standard model does (same token key, version guard included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub name: String,
    pub pattern: String,
}

/// Matching options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchOptions {
    /// Use dated actual ids (`claude-sonnet-4-5-20250929`) when no undated candidate is free.
    /// Newest date first. Default on.
    #[serde(default = "yes")]
    pub allow_dated_targets: bool,
}

fn yes() -> bool {
    true
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            allow_dated_targets: true,
        }
    }
}

/// Which rule produced a mapping. Serde's default enum form (`"same_key"`,
/// `{"alias": {"pattern": "…"}}`), as [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// Identical token key, undated actual id.
    SameKey,
    /// A dated standard model mapped to the same snapshot (same key, same date).
    ExactSnapshot,
    /// A user alias pattern.
    Alias { pattern: String },
}

/// Why a standard model was or was not mapped in one channel.
///
/// Serde's default enum form (`"no_candidate"`, `{"mapped": {"target": …, "rule": …}}`), not
/// internally tagged, which serde reads through a buffer that compiles a second reader for every
/// type inside (issue 18, `ARCHITECTURE.md`). Outcomes travel in replies and the CLI's `--json`
/// only: the stored redirect preview drops them (`put_redirect_preview` in
/// `crates/core/src/history.rs`, since the preview was first stored), so no stored JSON changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Mapped {
        target: String,
        rule: MatchRule,
    },
    /// Mapped to a dated id because no undated candidate was free (newest date chosen).
    DatedFallback {
        target: String,
        date: DateStamp,
    },
    /// The channel lists the standard name itself: no mapping needed.
    AlreadyPresent,
    /// Nothing in the channel is this model or a version of it.
    NoCandidate,
    /// The channel has other versions or variants of the model, which the version guard refuses.
    /// `models` names at most [`MAX_NAMED`] of them; `total` counts all.
    OnlyOtherVersions {
        models: Vec<String>,
        total: usize,
    },
    /// Every candidate already serves another standard model.
    TakenByOther {
        candidates: Vec<String>,
        by: Vec<String>,
    },
    /// Only dated candidates exist and dated targets are turned off.
    DatedFallbackDisabled {
        candidates: Vec<String>,
    },
    /// The standard name or alias cannot be used (empty core identity, empty pattern).
    InvalidName {
        reason: String,
    },
}

impl Outcome {
    /// The variant's name as serde writes it (`"mapped"`, `"no_candidate"`, …): the CLI's
    /// `redirect match --json` prints it as the explanation's `outcome`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Mapped { .. } => "mapped",
            Outcome::DatedFallback { .. } => "dated_fallback",
            Outcome::AlreadyPresent => "already_present",
            Outcome::NoCandidate => "no_candidate",
            Outcome::OnlyOtherVersions { .. } => "only_other_versions",
            Outcome::TakenByOther { .. } => "taken_by_other",
            Outcome::DatedFallbackDisabled { .. } => "dated_fallback_disabled",
            Outcome::InvalidName { .. } => "invalid_name",
        }
    }

    /// The mapping target, when there is one.
    pub fn target(&self) -> Option<&str> {
        match self {
            Outcome::Mapped { target, .. } | Outcome::DatedFallback { target, .. } => Some(target),
            _ => None,
        }
    }

    /// A one-line English explanation for tables and the CLI.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Mapped { target, rule } => match rule {
                MatchRule::SameKey => format!("mapped to {target} (same model and version)"),
                MatchRule::ExactSnapshot => format!("mapped to {target} (same snapshot date)"),
                MatchRule::Alias { pattern } => format!("mapped to {target} (alias {pattern})"),
            },
            Outcome::DatedFallback { target, date } => {
                format!("mapped to dated {target} ({date}); no undated candidate")
            }
            Outcome::AlreadyPresent => "already in the channel; no mapping needed".into(),
            Outcome::NoCandidate => "no candidate in this channel".into(),
            Outcome::OnlyOtherVersions { models, total } => {
                let more = total.saturating_sub(models.len());
                let tail = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                format!(
                    "only other versions: {}{tail} (version guard)",
                    models.join(", ")
                )
            }
            Outcome::TakenByOther { candidates, by } => format!(
                "candidate {} already serves {}",
                candidates.join(", "),
                by.join(", ")
            ),
            Outcome::DatedFallbackDisabled { candidates } => format!(
                "only dated candidates ({}); dated targets are turned off",
                candidates.join(", ")
            ),
            Outcome::InvalidName { reason } => format!("unusable: {reason}"),
        }
    }
}

/// How many other versions an [`Outcome::OnlyOtherVersions`] names.
pub const MAX_NAMED: usize = 8;

/// One standard model's result in one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardOutcome {
    pub standard: String,
    pub outcome: Outcome,
}

/// A channel's match: the mapping to add (standard → actual, in processing order) and one outcome
/// per standard model and alias.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchResult {
    pub mapping: Vec<(String, String)>,
    pub outcomes: Vec<StandardOutcome>,
}

impl MatchResult {
    pub fn outcome(&self, standard: &str) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|o| o.standard == standard)
            .map(|o| &o.outcome)
    }
}

// ----- previews ----------------------------------------------------------------------------------

/// Why a channel cannot be planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// The site has no per-channel mapping (Octopus).
    NoMappingSupport,
    /// The stored mapping is not valid JSON and overwriting it was not confirmed.
    InvalidMapping,
    /// Bulk clear of msync's entries cannot read an unparseable mapping.
    CannotReadMapping,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum PlanStatus {
    /// `update` holds the write.
    Change,
    /// Nothing to write.
    Unchanged,
    /// Nothing may be written; `why` says why (previews stored before reasons were typed
    /// held an English `message`, which loads as the value it describes).
    Blocked {
        reason: BlockReason,
        #[serde(alias = "message")]
        why: ItemReason,
    },
}

crate::stored_enum!(PlanStatus, "status");

/// One key's change in the mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingChange {
    pub key: String,
    /// `None`: the key is new.
    pub old: Option<String>,
    /// `None`: the key is removed.
    pub new: Option<String>,
}

/// Old vs new for one channel, plus the update that gets there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPreview {
    pub channel_id: ChannelId,
    pub channel_name: String,
    pub status: PlanStatus,
    pub old_models: Vec<String>,
    /// Names the write adds to / removes from the models list (the new list is in `update`).
    pub added_models: Vec<String>,
    pub removed_models: Vec<String>,
    pub old_mapping: Mapping,
    pub new_mapping: Vec<(String, String)>,
    /// Keys added, changed or removed, old order first.
    pub changes: Vec<MappingChange>,
    /// Entries dropped by prune (a subset of `changes`).
    pub pruned: Vec<(String, String)>,
    /// Per standard model, why it was or was not mapped (empty for prune/clear plans).
    pub outcomes: Vec<StandardOutcome>,
    pub update: ChannelUpdate,
}

/// Counts over a set of previews.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTotals {
    pub change: usize,
    pub unchanged: usize,
    pub blocked: usize,
    /// Mapping keys added or changed.
    pub keys_set: usize,
    /// Mapping keys removed (prune or clear).
    pub keys_removed: usize,
}

impl ChannelPreview {
    /// The models list after the write (the old one when models do not change).
    pub fn new_models(&self) -> &[String] {
        self.update.models.as_deref().unwrap_or(&self.old_models)
    }
}

/// What bulk clear removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearScope {
    /// Only entries msync would generate: the key is a standard/alias name and the value
    /// satisfies its rule (so hand-written entries survive). Works even when the target vanished.
    Generated,
    /// Every entry.
    All,
}

// ----- settings and operations -------------------------------------------------------------------

/// Redirect settings (`docs/redirect.md`), stored per site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectSettings {
    #[serde(default)]
    pub enabled: bool,
    /// Preset ids ([`PRESETS`]) whose models are standard models.
    #[serde(default = "default_presets")]
    pub presets: Vec<String>,
    /// The admin's own standard names, after the presets' ones.
    #[serde(default)]
    pub standard_models: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
    #[serde(default)]
    pub matching: MatchOptions,
    /// Prune entries whose targets vanished when redirect runs after a sync.
    #[serde(default)]
    pub prune_missing_targets: bool,
}

fn default_presets() -> Vec<String> {
    PRESETS.iter().map(|p| p.id.to_string()).collect()
}

impl Default for RedirectSettings {
    fn default() -> Self {
        RedirectSettings {
            enabled: false,
            presets: default_presets(),
            standard_models: Vec::new(),
            aliases: Vec::new(),
            matching: MatchOptions::default(),
            prune_missing_targets: false,
        }
    }
}

impl RedirectSettings {
    /// The effective standard list: selected presets, then the admin's names.
    pub fn standard_list(&self) -> Vec<String> {
        presets::standard_list(&self.presets, &self.standard_models).0
    }
}

/// What a redirect preview / run does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum RedirectOp {
    /// Generate "standard → actual" mappings with `settings` and merge them into each channel
    /// (pruning vanished targets first when `settings.prune_missing_targets`).
    Redirect { settings: RedirectSettings },
    /// Only drop entries whose target vanished (site-aware); nothing is added.
    Prune,
    /// Bulk clear. `settings` tells msync's own entries apart (scope `generated`).
    Clear {
        settings: RedirectSettings,
        scope: ClearScope,
        #[serde(default)]
        remove_added_names: bool,
    },
}

crate::stored_enum!(RedirectOp, "op");

impl RedirectOp {
    /// What the op does, as notes and reasons name it.
    pub fn kind(&self) -> RedirectKind {
        match self {
            RedirectOp::Redirect { .. } => RedirectKind::Redirect,
            RedirectOp::Prune => RedirectKind::Prune,
            RedirectOp::Clear { .. } => RedirectKind::Clear,
        }
    }

    /// A short English name ("redirect", "prune", "bulk clear").
    pub fn label(&self) -> &'static str {
        self.kind().label()
    }
}

/// A redirect preview: what applying `op` would write to each channel, and, for every standard
/// model on every channel, why it was or was not mapped (`channels[i].outcomes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectPreview {
    /// Names this preview for `Engine::apply_stored_redirect` (the latest preview of a site is
    /// kept; applying an older one is refused).
    pub id: String,
    pub site: SiteId,
    pub kind: SiteKind,
    pub created_ms: u64,
    pub op: RedirectOp,
    /// The preview was made with "overwrite an unreadable mapping" confirmed.
    pub confirm_overwrite_invalid: bool,
    /// One per channel, in the site's channel order.
    pub channels: Vec<ChannelPreview>,
    pub totals: PlanTotals,
}

/// Options of `Engine::apply_redirect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectApplyOptions {
    /// Apply only these channels of the preview (default: every change in it).
    #[serde(default)]
    pub channels: Option<Vec<ChannelId>>,
    /// Replace mappings that cannot be read (JSON errors). Without it such channels are held
    /// for review and their text is left alone.
    #[serde(default)]
    pub confirm_overwrite_invalid: bool,
    /// The second confirmation a bulk clear needs; a clear without it is refused.
    #[serde(default)]
    pub confirm_clear: bool,
    /// Write channels that changed since the preview (they are planned again on their current
    /// state, so nothing the admin added since is lost from the mapping).
    #[serde(default)]
    pub force: bool,
}

//! Model redirect (`docs/redirect.md`): "standard model → actual model" mappings per channel, under a strict
//! version guard, merged into the channel's mapping without destroying what the admin wrote.
//!
//! * [`normalize`] — core identity, date suffixes, token keys (pure functions of one name);
//! * [`matcher`] — the version-guarded matcher and its per-standard explanations;
//! * [`presets`] — built-in standard model lists by vendor;
//! * [`apply`] — merge / prune / bulk clear as pure functions producing previews and
//!   [`crate::model::ChannelUpdate`]s.
//!
//! Deterministic and offline: the same inputs give the same mapping on every machine.
//! The rules, with examples, are in `docs/redirect.md`.

pub mod apply;
pub mod matcher;
pub mod normalize;
pub mod presets;

#[cfg(test)]
mod tests;

pub use apply::{
    actual_models, merge_mapping, plan_clear, plan_clear_all, plan_prune, plan_redirect,
    plan_redirect_all, prune_missing_targets, totals, ApplyOptions, BlockReason, ChannelPreview,
    ClearOptions, ClearScope, MappingChange, PlanStatus, PlanTotals,
};
pub use matcher::{Alias, MatchOptions, MatchResult, MatchRule, Matcher, Outcome, StandardOutcome};
pub use normalize::{core_identity, normalize, DateStamp, ParsedName, TokenKey};
pub use presets::{preset_infos, Preset, PresetInfo, PRESETS};

use serde::{Deserialize, Serialize};

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

/// Model names with a comma cannot be stored by the comma-joined gateways (and a mapping
/// target or alias is listed among the channel's models).
fn comma_text(name: &str) -> String {
    format!(
        "{:?} contains a comma, which model names cannot hold (gateways store a channel's models as one comma-separated text)",
        name.trim()
    )
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

    /// Problems to show at save time (never silently ignored): unknown preset ids, aliases with
    /// an empty name or pattern, standard names with no model name.
    pub fn validate(&self) -> Vec<String> {
        self.issues().into_iter().map(|(_, m)| m).collect()
    }

    /// [`Self::validate`] with each problem's field path, relative to these settings
    /// (`presets[2]`, `aliases[0].pattern`, `standard_models[1]`).
    pub fn issues(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, id) in self.presets.iter().enumerate() {
            if presets::preset(id.trim()).is_none() {
                out.push((format!("presets[{i}]"), format!("unknown preset {id:?}")));
            }
        }
        for (i, a) in self.aliases.iter().enumerate() {
            if a.name.trim().is_empty() {
                out.push((
                    format!("aliases[{i}].name"),
                    format!("alias for pattern {:?} has no name", a.pattern),
                ));
            } else if a.name.contains(',') {
                out.push((format!("aliases[{i}].name"), comma_text(&a.name)));
            } else if a.pattern.trim().is_empty() {
                out.push((
                    format!("aliases[{i}].pattern"),
                    format!("alias {:?} has no pattern", a.name),
                ));
            }
        }
        for (i, s) in self.standard_models.iter().enumerate() {
            if s.contains(',') {
                out.push((format!("standard_models[{i}]"), comma_text(s)));
            } else if !s.trim().is_empty() && ParsedName::parse(s).is_none() {
                out.push((
                    format!("standard_models[{i}]"),
                    format!("{s:?} has no model name after the vendor path"),
                ));
            }
        }
        out
    }

    /// The matcher for these settings.
    pub fn matcher(&self) -> Matcher {
        Matcher::new(&self.standard_list(), &self.aliases, self.matching)
    }
}

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
pub use msync_types::redirect::presets;

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

pub use msync_types::redirect::RedirectSettings;
use msync_types::settings::FieldProblem;

/// What the engine checks and builds from [`RedirectSettings`].
pub trait RedirectCheck {
    /// Problems to show at save time (never silently ignored): unknown preset ids, aliases with
    /// an empty name or pattern, standard names with no model name.
    fn validate(&self) -> Vec<String>;
    /// [`Self::validate`] with each problem's field path, relative to these settings
    /// (`presets[2]`, `aliases[0].pattern`, `standard_models[1]`).
    fn issues(&self) -> Vec<(String, FieldProblem)>;
    /// The matcher for these settings.
    fn matcher(&self) -> Matcher;
}

impl RedirectCheck for RedirectSettings {
    fn validate(&self) -> Vec<String> {
        self.issues()
            .into_iter()
            .map(|(_, p)| p.to_string())
            .collect()
    }

    fn issues(&self) -> Vec<(String, FieldProblem)> {
        let mut out = Vec::new();
        for (i, id) in self.presets.iter().enumerate() {
            if presets::preset(id.trim()).is_none() {
                let id = id.clone();
                out.push((format!("presets[{i}]"), FieldProblem::UnknownPreset { id }));
            }
        }
        for (i, a) in self.aliases.iter().enumerate() {
            let (name, pattern) = (a.name.clone(), a.pattern.clone());
            if a.name.trim().is_empty() {
                let problem = FieldProblem::AliasNameMissing { pattern };
                out.push((format!("aliases[{i}].name"), problem));
            } else if a.name.contains(',') {
                // The comma-joined gateways cannot store it, and an alias is listed among the
                // channel's models.
                let problem = FieldProblem::NameHasComma { name };
                out.push((format!("aliases[{i}].name"), problem));
            } else if a.pattern.trim().is_empty() {
                let problem = FieldProblem::AliasPatternMissing { name };
                out.push((format!("aliases[{i}].pattern"), problem));
            }
        }
        for (i, s) in self.standard_models.iter().enumerate() {
            let name = s.clone();
            if s.contains(',') {
                let problem = FieldProblem::NameHasComma { name };
                out.push((format!("standard_models[{i}]"), problem));
            } else if !s.trim().is_empty() && ParsedName::parse(s).is_none() {
                let problem = FieldProblem::NoModelAfterVendor { name };
                out.push((format!("standard_models[{i}]"), problem));
            }
        }
        out
    }

    fn matcher(&self) -> Matcher {
        Matcher::new(&self.standard_list(), &self.aliases, self.matching)
    }
}

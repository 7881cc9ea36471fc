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

/// Model names with a comma cannot be stored by the comma-joined gateways (and a mapping
/// target or alias is listed among the channel's models).
fn comma_text(name: &str) -> String {
    format!(
        "{:?} contains a comma, which model names cannot hold (gateways store a channel's models as one comma-separated text)",
        name.trim()
    )
}

/// What the engine checks and builds from [`RedirectSettings`].
pub trait RedirectCheck {
    /// Problems to show at save time (never silently ignored): unknown preset ids, aliases with
    /// an empty name or pattern, standard names with no model name.
    fn validate(&self) -> Vec<String>;
    /// [`Self::validate`] with each problem's field path, relative to these settings
    /// (`presets[2]`, `aliases[0].pattern`, `standard_models[1]`).
    fn issues(&self) -> Vec<(String, String)>;
    /// The matcher for these settings.
    fn matcher(&self) -> Matcher;
}

impl RedirectCheck for RedirectSettings {
    fn validate(&self) -> Vec<String> {
        self.issues().into_iter().map(|(_, m)| m).collect()
    }

    fn issues(&self) -> Vec<(String, String)> {
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

    fn matcher(&self) -> Matcher {
        Matcher::new(&self.standard_list(), &self.aliases, self.matching)
    }
}

//! Model-name filter rules as stored in settings: include/exclude, substring, regex or glob, all
//! case-insensitive. Compiling and applying them is the engine's (`msync_core::filter`).

use serde::{Deserialize, Serialize};

/// How a rule's pattern matches a model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Case-insensitive substring.
    #[default]
    Substring,
    /// Case-insensitive (ASCII letters) regular expression, unanchored (`^gpt-` anchors it).
    Regex,
    /// Case-insensitive glob over the whole name: `*` any run, `?` one character.
    Glob,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterAction {
    /// Keep only names matching at least one include rule.
    #[default]
    Include,
    /// Drop names matching any exclude rule.
    Exclude,
}

fn yes() -> bool {
    true
}

/// One include/exclude rule as stored in settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: RuleKind,
    pub pattern: String,
    #[serde(default)]
    pub action: FilterAction,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Rule {
    pub fn new(kind: RuleKind, pattern: &str, action: FilterAction) -> Rule {
        Rule {
            name: None,
            kind,
            pattern: pattern.to_string(),
            action,
            enabled: true,
        }
    }

    pub fn substring(pattern: &str, action: FilterAction) -> Rule {
        Rule::new(RuleKind::Substring, pattern, action)
    }
}

/// Trim, drop empty names, de-duplicate keeping the first occurrence (case-sensitive: gateways
/// route exact names). Also what the adapters apply to lists a server trims itself
/// ([`crate::gateway::ModelListFormat::clean`]).
pub fn normalize<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for name in names {
        let name = name.as_ref().trim();
        if !name.is_empty() && seen.insert(name.to_string()) {
            out.push(name.to_string());
        }
    }
    out
}

//! Model-name filters (`docs/sync.md` §2, steps 2–3): normalization, the exact allow-list, and
//! include/exclude rules (substring, regex, glob — all case-insensitive).
//!
//! Regular expressions are `regex-lite`'s syntax (the `regex` crate's, without its Unicode
//! tables, which would more than double the extension's service worker): no `\p{…}` classes,
//! `\w` `\d` `\s` `\b` are ASCII, and case-insensitivity folds ASCII letters only. Such a rule
//! is refused when it is saved. Substring and glob rules compare Unicode-lowercased text.
//!
//! Rules are compiled once per run. A rule that does not compile is an error at save time
//! ([`crate::settings::SyncSettings::validate`]) and again when a run starts — never a rule that
//! silently matches nothing (the anchor's behaviour).

use crate::error::{Error, Result};
use crate::settings::{FieldProblem, SyncSettings};
pub use msync_types::filter::{normalize, FilterAction, Rule, RuleKind};
use regex_lite::{Regex, RegexBuilder};
use std::collections::{HashMap, HashSet};

/// Bound on compiled regex size, so a pasted monster pattern fails clearly instead of eating memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Matcher {
    /// Compile, or say exactly why not.
    pub fn compile(rule: &Rule) -> Result<Matcher> {
        Matcher::build(rule).map_err(|p| Error::validation(p.to_string()))
    }

    fn build(rule: &Rule) -> std::result::Result<Matcher, FieldProblem> {
        let pattern = rule.pattern.trim();
        if pattern.is_empty() {
            return Err(FieldProblem::PatternEmpty);
        }
        Ok(match rule.kind {
            RuleKind::Substring => Matcher::Substring(pattern.to_lowercase()),
            RuleKind::Regex => {
                Matcher::Regex(build_regex(pattern).map_err(|e| FieldProblem::BadRegex {
                    pattern: pattern.to_string(),
                    detail: e.to_string(),
                })?)
            }
            RuleKind::Glob => Matcher::Glob(pattern.to_lowercase().chars().collect()),
        })
    }
}

/// What is wrong with `rule`'s pattern (`None` when it compiles).
pub fn rule_problem(rule: &Rule) -> Option<FieldProblem> {
    Matcher::build(rule).err()
}

/// `rule.compile()`: [`Matcher::compile`] as a method of the stored rule.
pub trait CompileRule {
    fn compile(&self) -> Result<Matcher>;
}

impl CompileRule for Rule {
    fn compile(&self) -> Result<Matcher> {
        Matcher::compile(self)
    }
}

fn build_regex(pattern: &str) -> std::result::Result<Regex, regex_lite::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// A compiled rule pattern.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Lowercased needle.
    Substring(String),
    Regex(Regex),
    /// Lowercased glob over the whole name (the redirect matcher's `glob_match`).
    Glob(Vec<char>),
}

impl Matcher {
    pub fn is_match(&self, name: &str) -> bool {
        match self {
            Matcher::Substring(needle) => name.to_lowercase().contains(needle.as_str()),
            Matcher::Regex(re) => re.is_match(name),
            Matcher::Glob(lower) => {
                crate::redirect::matcher::glob_match(lower, &name.to_lowercase())
            }
        }
    }
}

/// A list of rules, compiled: include rules OR-ed, then exclude rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    include: Vec<Matcher>,
    exclude: Vec<Matcher>,
}

impl RuleSet {
    /// Compile the enabled rules. The first invalid one is the error (`validate` lists them all).
    pub fn compile(rules: &[Rule]) -> Result<RuleSet> {
        let mut set = RuleSet::default();
        for rule in rules.iter().filter(|r| r.enabled) {
            let m = Matcher::compile(rule)?;
            match rule.action {
                FilterAction::Include => set.include.push(m),
                FilterAction::Exclude => set.exclude.push(m),
            }
        }
        Ok(set)
    }

    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether `name` survives these rules.
    pub fn keeps(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|m| m.is_match(name)))
            && !self.exclude.iter().any(|m| m.is_match(name))
    }
}

/// Every filter of a site's settings, compiled once per run.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    allow: HashSet<String>,
    global: RuleSet,
    channels: HashMap<String, RuleSet>,
}

impl Filters {
    pub fn compile(settings: &SyncSettings) -> Result<Filters> {
        let with_field =
            |field: String| move |e: Error| Error::validation(format!("{field}: {}", e.message));
        let mut channels = HashMap::new();
        for (id, cfg) in &settings.channels {
            let set =
                RuleSet::compile(&cfg.rules).map_err(with_field(format!("channels.{id}.rules")))?;
            if !set.is_empty() {
                channels.insert(id.clone(), set);
            }
        }
        Ok(Filters {
            allow: normalize(&settings.allow_list).into_iter().collect(),
            global: RuleSet::compile(&settings.rules).map_err(with_field("rules".into()))?,
            channels,
        })
    }

    /// Whether one (normalized) name passes the allow-list, global and channel rules.
    pub fn keeps(&self, channel_id: &str, name: &str) -> bool {
        (self.allow.is_empty() || self.allow.contains(name))
            && self.global.keeps(name)
            && self.channels.get(channel_id).is_none_or(|r| r.keeps(name))
    }

    /// Normalize an upstream list and keep what passes, in upstream order.
    pub fn apply(&self, channel_id: &str, upstream: &[String]) -> Vec<String> {
        normalize(upstream)
            .into_iter()
            .filter(|n| self.keeps(channel_id, n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ChannelConfig;

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn normalize_trims_drops_empty_and_keeps_first() {
        let rows: Vec<(Vec<&str>, Vec<&str>)> = vec![
            (vec![" gpt-4o ", "gpt-4o", ""], vec!["gpt-4o"]),
            (vec!["b", "a", "b", "  ", "\t"], vec!["b", "a"]),
            (vec!["GPT-4o", "gpt-4o"], vec!["GPT-4o", "gpt-4o"]),
            (vec!["通义千问-max", " 通义千问-max"], vec!["通义千问-max"]),
            (vec![], vec![]),
        ];
        for (input, want) in rows {
            assert_eq!(normalize(&input), v(&want), "{input:?}");
        }
    }

    #[test]
    fn rules_table() {
        use FilterAction::*;
        use RuleKind::*;
        let base = [
            "gpt-4o",
            "gpt-4o-mini",
            "claude-3",
            "local-debug-model",
            "claude-sonnet-4-5-20250929",
            "Claude-Opus-4-5",
        ];
        type Row<'a> = (Vec<(RuleKind, &'a str, FilterAction)>, Vec<&'a str>);
        let rows: Vec<Row> = vec![
            (vec![], base.to_vec()),
            (
                vec![(Substring, "gpt-4o", Include), (Substring, "MINI", Exclude)],
                vec!["gpt-4o"],
            ),
            (
                vec![(Regex, "^gpt-", Include)],
                vec!["gpt-4o", "gpt-4o-mini"],
            ),
            (
                vec![(Regex, "^CLAUDE", Include)],
                vec!["claude-3", "claude-sonnet-4-5-20250929", "Claude-Opus-4-5"],
            ),
            (
                vec![(Glob, "claude-*-4-5*", Include)],
                vec!["claude-sonnet-4-5-20250929", "Claude-Opus-4-5"],
            ),
            (vec![(Glob, "gpt-4?", Include)], vec!["gpt-4o"]),
            (vec![(Glob, "gpt-4.", Include)], vec![]), // `.` is literal in a glob
            (
                vec![(Substring, "debug", Exclude)],
                vec![
                    "gpt-4o",
                    "gpt-4o-mini",
                    "claude-3",
                    "claude-sonnet-4-5-20250929",
                    "Claude-Opus-4-5",
                ],
            ),
            (
                vec![
                    (Substring, "gpt", Include),
                    (Substring, "claude-3", Include),
                ],
                vec!["gpt-4o", "gpt-4o-mini", "claude-3"],
            ),
        ];
        for (rules, want) in rows {
            let rules: Vec<Rule> = rules.iter().map(|(k, p, a)| Rule::new(*k, p, *a)).collect();
            let set = RuleSet::compile(&rules).unwrap();
            let got: Vec<&str> = base.iter().copied().filter(|n| set.keeps(n)).collect();
            assert_eq!(got, want, "{rules:?}");
        }
    }

    #[test]
    fn disabled_rules_do_not_count_and_bad_patterns_fail() {
        let mut r = Rule::new(RuleKind::Regex, "[", FilterAction::Include);
        let e = r.compile().unwrap_err();
        assert!(
            e.message.contains("invalid regular expression \"[\""),
            "{}",
            e.message
        );
        r.enabled = false;
        assert!(RuleSet::compile(&[r]).unwrap().keeps("anything"));
        let e = Rule::new(RuleKind::Substring, "  ", FilterAction::Exclude)
            .compile()
            .unwrap_err();
        assert!(e.message.contains("empty"));
    }

    #[test]
    fn regex_syntax_is_regex_lite_and_globs_fold_unicode_case() {
        // No Unicode tables: a property class is refused with its reason, not ignored.
        let e = Rule::new(RuleKind::Regex, r"\p{Greek}", FilterAction::Include)
            .compile()
            .unwrap_err();
        assert_eq!(e.class, crate::ErrorClass::Validation);
        assert!(
            e.message
                .contains(r#"invalid regular expression "\\p{Greek}": "#),
            "{}",
            e.message
        );
        // ASCII case folding, Perl classes and anchors work as before.
        let m = Rule::new(RuleKind::Regex, r"^GPT-\d+o?\b", FilterAction::Include)
            .compile()
            .unwrap();
        assert!(m.is_match("gpt-4o-mini"));
        assert!(!m.is_match("chatgpt-4o"));
        // Globs compare lowercased text, non-ASCII letters included.
        let g = Rule::new(RuleKind::Glob, "ÉMBED-*", FilterAction::Include)
            .compile()
            .unwrap();
        assert!(g.is_match("émbed-large"));
        assert!(!g.is_match("embed-large"));
    }

    #[test]
    fn pipeline_order_allow_list_then_global_then_channel() {
        let mut s = SyncSettings {
            allow_list: v(&["gpt-4o", "gpt-4o-mini", "claude-3"]),
            rules: vec![Rule::substring("claude", FilterAction::Exclude)],
            ..Default::default()
        };
        s.channels.insert(
            "2".into(),
            ChannelConfig {
                rules: vec![Rule::substring("mini", FilterAction::Exclude)],
                ..Default::default()
            },
        );
        let f = Filters::compile(&s).unwrap();
        let upstream = v(&[" gpt-4o-mini", "gpt-4o", "claude-3", "o1", "gpt-4o"]);
        assert_eq!(f.apply("1", &upstream), v(&["gpt-4o-mini", "gpt-4o"]));
        assert_eq!(f.apply("2", &upstream), v(&["gpt-4o"]));
    }

    #[test]
    fn compile_names_the_field_of_a_bad_rule() {
        let mut s = SyncSettings::default();
        s.channels.insert(
            "9".into(),
            ChannelConfig {
                rules: vec![Rule::new(RuleKind::Regex, "(", FilterAction::Include)],
                ..Default::default()
            },
        );
        let e = Filters::compile(&s).unwrap_err();
        assert!(
            e.message
                .starts_with("channels.9.rules: invalid regular expression"),
            "{}",
            e.message
        );
    }
}

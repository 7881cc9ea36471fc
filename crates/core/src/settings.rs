//! Checking model-sync settings (`docs/sync.md`) and the defaults for a site type. The settings
//! themselves are vocabulary ([`msync_types::settings`], re-exported here); what decides whether
//! they are valid (rules compile, preset ids exist, model names parse) and what a site type's
//! admin API limit allows is the engine's.

pub use msync_types::settings::*;

use crate::error::Error;
use crate::filter::Rule;
use crate::redirect::RedirectCheck;

/// Validation of stored settings: what "Save" calls.
pub trait SettingsCheck {
    /// Check every field; all problems are returned at once, in field order.
    fn validate(&self) -> Result<(), Vec<SettingsIssue>>;
    /// [`Self::validate`] as one `Validation` error listing every problem.
    fn check(&self) -> Result<(), Error>;
}

/// Parse stored settings: missing fields take defaults, then everything is validated.
pub fn from_json(text: &str) -> Result<SyncSettings, Error> {
    let s: SyncSettings = serde_json::from_str(text)
        .map_err(|e| Error::validation(format!("settings are not valid JSON: {e}")))?;
    s.check()?;
    Ok(s)
}

/// A model name with a comma cannot be stored: New API, Veloera, DoneHub and Octopus keep a
/// channel's models as one comma-joined text, so it would come back as two names
/// ([`crate::gateway::ModelListFormat`]).
fn model_name(issues: &mut Vec<SettingsIssue>, field: String, name: &str) {
    if name.trim().is_empty() {
        issues.push(SettingsIssue::found(field, FieldProblem::ModelNameEmpty));
    } else if name.contains(',') {
        let name = name.trim().to_string();
        issues.push(SettingsIssue::found(
            field,
            FieldProblem::NameHasComma { name },
        ));
    }
}

fn check_rules(issues: &mut Vec<SettingsIssue>, field: &str, rules: &[Rule]) {
    for (i, rule) in rules.iter().enumerate() {
        if let Some(problem) = crate::filter::rule_problem(rule) {
            issues.push(SettingsIssue::found(
                format!("{field}[{i}].pattern"),
                problem,
            ));
        }
    }
}

impl SettingsCheck for SyncSettings {
    fn validate(&self) -> Result<(), Vec<SettingsIssue>> {
        let mut issues = Vec::new();
        if self.version > SETTINGS_VERSION {
            let problem = FieldProblem::SettingsTooNew {
                version: self.version,
                max: SETTINGS_VERSION,
            };
            issues.push(SettingsIssue::found("version", problem));
        }
        let (r, t) = (&self.rate, &self.retry);
        let ranges: [(&str, u64, u64, u64); 13] = [
            ("rate.rpm", r.rpm.into(), 1, 600),
            ("rate.burst", r.burst.into(), 1, 50),
            ("rate.site_rpm", r.site_rpm.into(), 1, 6000),
            ("rate.site_burst", r.site_burst.into(), 1, 100),
            ("concurrency", self.concurrency.into(), 1, 16),
            ("retry.max_retries", t.max_retries.into(), 0, 10),
            ("retry.base_ms", t.base_ms, 100, 60_000),
            ("retry.cap_ms", t.cap_ms, t.base_ms.max(100), 600_000),
            (
                "channel_timeout_secs",
                self.channel_timeout_secs.into(),
                0,
                3600,
            ),
            (
                "removal_threshold_pct",
                self.removal_threshold_pct.into(),
                1,
                100,
            ),
            (
                "auto_sync.interval_minutes",
                self.auto_sync.interval_minutes.into(),
                60,
                43_200,
            ),
            ("history.keep_runs", self.history.keep_runs.into(), 1, 500),
            (
                "history.max_bytes",
                self.history.max_bytes,
                64 * 1024,
                1 << 30,
            ),
        ];
        for (field, got, min, max) in ranges {
            if let Some(problem) = FieldProblem::range(got, min, max) {
                issues.push(SettingsIssue::found(field, problem));
            }
        }
        for (i, name) in self.allow_list.iter().enumerate() {
            model_name(&mut issues, format!("allow_list[{i}]"), name);
        }
        check_rules(&mut issues, "rules", &self.rules);
        for (id, cfg) in &self.channels {
            check_rules(&mut issues, &format!("channels.{id}.rules"), &cfg.rules);
            for (i, name) in cfg.pinned.iter().enumerate() {
                model_name(&mut issues, format!("channels.{id}.pinned[{i}]"), name);
            }
        }
        if let Some(problem) = self.price_watch.problem() {
            issues.push(SettingsIssue::found("price_watch", problem));
        }
        if let Some(problem) = self.price_check.problem() {
            issues.push(SettingsIssue::found("price_check.fill_from", problem));
        }
        for (field, problem) in self.redirect.issues() {
            issues.push(SettingsIssue::found(format!("redirect.{field}"), problem));
        }
        for (field, problem) in self.probe.issues() {
            issues.push(SettingsIssue::found(field, problem));
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }

    fn check(&self) -> Result<(), Error> {
        self.validate().map_err(|issues| {
            let list: Vec<String> = issues.iter().map(ToString::to_string).collect();
            Error::validation(format!("invalid settings: {}", list.join("; ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::DestructiveSetting as D;

    #[test]
    fn destructive_settings_are_named() {
        let mut s = SyncSettings::default();
        assert!(s.destructive().is_empty());
        s.channels.insert(
            "3".into(),
            ChannelConfig {
                allow_empty: Some(true),
                ..Default::default()
            },
        );
        s.removal_threshold_pct = 100;
        s.redirect.prune_missing_targets = true;
        assert_eq!(s.destructive(), [D::AllowEmpty, D::NoRemovalThreshold]);
        s.redirect.enabled = true;
        assert_eq!(s.destructive().len(), 3);
    }

    use super::*;
    use crate::filter::{FilterAction, RuleKind};

    #[test]
    fn model_names_with_a_comma_are_refused_wherever_the_user_types_them() {
        let mut s = SyncSettings {
            allow_list: vec!["gpt-4o".into(), "gpt-4o,o1-pro".into()],
            ..SyncSettings::default()
        };
        s.channels.insert(
            "7".into(),
            ChannelConfig {
                pinned: vec!["mine, theirs".into()],
                ..ChannelConfig::default()
            },
        );
        s.redirect.standard_models = vec!["claude-sonnet-4-5,gpt-4o".into()];
        s.redirect.aliases = vec![crate::redirect::Alias {
            name: "fast,cheap".into(),
            pattern: "gpt-4o-mini|o{1,2}".into(),
        }];
        let issues = s.validate().unwrap_err();
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "allow_list[1]",
                "channels.7.pinned[0]",
                "redirect.aliases[0].name",
                "redirect.standard_models[0]"
            ]
        );
        let names = [
            "gpt-4o,o1-pro",
            "mine, theirs",
            "fast,cheap",
            "claude-sonnet-4-5,gpt-4o",
        ];
        let want: Vec<FieldProblem> = names
            .into_iter()
            .map(|name| FieldProblem::NameHasComma { name: name.into() })
            .collect();
        let reasons: Vec<FieldProblem> = issues.iter().map(|i| i.reason.clone()).collect();
        assert_eq!(reasons, want);
        assert!(
            issues.iter().all(|i| i.message.contains("comma")),
            "{issues:?}"
        );
        // A comma inside a rule's or an alias's pattern is fine (`o{1,2}`).
        s.allow_list.pop();
        s.channels.clear();
        s.redirect = Default::default();
        s.rules = vec![crate::filter::Rule::new(
            RuleKind::Regex,
            "^o{1,2}-pro$",
            FilterAction::Exclude,
        )];
        assert!(s.validate().is_ok());
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = SyncSettings::default();
        assert_eq!((s.rate.rpm, s.rate.burst), (20, 5));
        assert_eq!(s.rate.scope, LimitScope::PerHost);
        assert_eq!((s.rate.site_rpm, s.rate.site_burst), (120, 10));
        assert_eq!(s.concurrency, 2);
        assert_eq!(
            s.retry,
            RetrySettings {
                max_retries: 3,
                base_ms: 1000,
                cap_ms: 60_000
            }
        );
        assert_eq!(s.channel_timeout_secs, 120);
        assert_eq!(s.removal_threshold_pct, 50);
        assert!(!s.allow_empty && s.skip_disabled && !s.auto_sync.enabled);
        assert_eq!(s.auto_sync.interval_minutes, 360);
        assert_eq!(s.history.keep_runs, 30);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn old_stored_settings_load_with_defaults() {
        let s = from_json(r#"{"concurrency": 4, "rate": {"rpm": 60}}"#).unwrap();
        assert_eq!(s.concurrency, 4);
        assert_eq!(s.rate.rpm, 60);
        assert_eq!(s.rate.burst, 5);
        assert_eq!(s.version, SETTINGS_VERSION);
        assert_eq!(s.retry.max_retries, 3);
        let empty = from_json("{}").unwrap();
        assert_eq!(empty, SyncSettings::default());
        // settings stored before redirect existed: redirect off, every preset selected
        assert!(!s.redirect.enabled);
        assert_eq!(s.redirect, crate::redirect::RedirectSettings::default());
        let r = from_json(r#"{"redirect": {"enabled": true, "standard_models": ["my-model"]}}"#)
            .unwrap();
        assert!(r.redirect.enabled);
        assert_eq!(r.redirect.standard_models, vec!["my-model".to_string()]);
        assert_eq!(r.redirect.presets.len(), crate::redirect::PRESETS.len());
    }

    /// Each check names its field and says what is wrong as data (the pages word it).
    #[test]
    fn out_of_range_values_are_named() {
        type Mutate = fn(&mut SyncSettings);
        let range = |min, max, got| FieldProblem::OutOfRange { min, max, got };
        let rows: Vec<(Mutate, &str, FieldProblem)> = vec![
            (|s| s.rate.rpm = 0, "rate.rpm", range(1, 600, 0)),
            (|s| s.rate.rpm = 601, "rate.rpm", range(1, 600, 601)),
            (|s| s.rate.burst = 51, "rate.burst", range(1, 50, 51)),
            (|s| s.concurrency = 17, "concurrency", range(1, 16, 17)),
            (|s| s.concurrency = 0, "concurrency", range(1, 16, 0)),
            (
                |s| s.retry.max_retries = 11,
                "retry.max_retries",
                range(0, 10, 11),
            ),
            (
                |s| s.retry.cap_ms = 500,
                "retry.cap_ms",
                range(1000, 600_000, 500),
            ),
            (
                |s| s.auto_sync.interval_minutes = 59,
                "auto_sync.interval_minutes",
                range(60, 43_200, 59),
            ),
            (
                |s| s.auto_sync.interval_minutes = 43_201,
                "auto_sync.interval_minutes",
                range(60, 43_200, 43_201),
            ),
            (
                |s| s.removal_threshold_pct = 0,
                "removal_threshold_pct",
                range(1, 100, 0),
            ),
            (
                |s| s.probe.timeout_secs = 4,
                "probe.timeout_secs",
                range(5, 120, 4),
            ),
            (
                |s| s.version = 99,
                "version",
                FieldProblem::SettingsTooNew {
                    version: 99,
                    max: SETTINGS_VERSION,
                },
            ),
            (
                |s| s.allow_list = vec!["  ".into()],
                "allow_list[0]",
                FieldProblem::ModelNameEmpty,
            ),
            (
                |s| s.redirect.presets = vec!["openai".into(), "nope".into()],
                "redirect.presets[1]",
                FieldProblem::UnknownPreset { id: "nope".into() },
            ),
            (
                |s| s.redirect.standard_models = vec!["vendor/".into()],
                "redirect.standard_models[0]",
                FieldProblem::NoModelAfterVendor {
                    name: "vendor/".into(),
                },
            ),
            (
                |s| s.price_watch.interval_minutes = 5,
                "price_watch",
                FieldProblem::WatchTooOften { min_minutes: 15 },
            ),
            (
                |s| s.rules = vec![Rule::new(RuleKind::Glob, " ", FilterAction::Include)],
                "rules[0].pattern",
                FieldProblem::PatternEmpty,
            ),
        ];
        for (mutate, field, problem) in rows {
            let mut s = SyncSettings::default();
            mutate(&mut s);
            let issues = s.validate().unwrap_err();
            assert_eq!(
                issues,
                [SettingsIssue::found(field, problem)],
                "{field}: {issues:?}"
            );
        }
    }

    #[test]
    fn an_invalid_regex_is_rejected_with_its_reason() {
        let mut s = SyncSettings::default();
        s.channels.insert(
            "7".into(),
            ChannelConfig {
                rules: vec![Rule::new(RuleKind::Regex, "gpt-(4", FilterAction::Include)],
                ..Default::default()
            },
        );
        let issues = s.validate().unwrap_err();
        assert_eq!(issues[0].field, "channels.7.rules[0].pattern");
        let FieldProblem::BadRegex { pattern, .. } = &issues[0].reason else {
            panic!("{issues:?}")
        };
        assert_eq!(pattern, "gpt-(4");
        assert!(
            issues[0].message.contains("gpt-(4"),
            "{}",
            issues[0].message
        );
        assert!(
            issues[0].message.contains("without closing ')'"),
            "{}",
            issues[0].message
        );
        let e = s.check().unwrap_err();
        assert_eq!(e.class, crate::ErrorClass::Validation);
    }

    #[test]
    fn newer_settings_files_are_refused() {
        let e = from_json(r#"{"version": 7}"#).unwrap_err();
        assert!(e.message.contains("newer msync"), "{}", e.message);
        let e = from_json(r#"{"concurrency": "#).unwrap_err();
        assert!(e.message.contains("not valid JSON"));
    }
}

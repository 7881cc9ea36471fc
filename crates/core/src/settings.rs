//! Checking model-sync settings (`docs/sync.md`) and the defaults for a site type. The settings
//! themselves are vocabulary ([`msync_types::settings`], re-exported here); what decides whether
//! they are valid (rules compile, preset ids exist, model names parse) and what a site type's
//! admin API limit allows is the engine's.

pub use msync_types::settings::*;

use crate::error::Error;
use crate::filter::Rule;
use crate::redirect::RedirectCheck;
use std::fmt;

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
fn comma(issues: &mut Vec<SettingsIssue>, field: String, name: &str) {
    if name.contains(',') {
        issues.push(SettingsIssue::text(field, format!("{:?} contains a comma, which model names cannot hold (gateways store a channel's models as one comma-separated text)", name.trim())));
    }
}

fn range<T: PartialOrd + fmt::Display + Copy>(
    issues: &mut Vec<SettingsIssue>,
    field: &str,
    value: T,
    min: T,
    max: T,
    what: &str,
) {
    if value < min || value > max {
        issues.push(SettingsIssue::text(
            field,
            format!("{what} must be between {min} and {max} (got {value})"),
        ));
    }
}

fn check_rules(issues: &mut Vec<SettingsIssue>, field: &str, rules: &[Rule]) {
    for (i, rule) in rules.iter().enumerate() {
        if let Err(e) = crate::filter::Matcher::compile(rule) {
            issues.push(SettingsIssue::text(
                format!("{field}[{i}].pattern"),
                e.message,
            ));
        }
    }
}

impl SettingsCheck for SyncSettings {
    fn validate(&self) -> Result<(), Vec<SettingsIssue>> {
        let mut issues = Vec::new();
        if self.version > SETTINGS_VERSION {
            issues.push(SettingsIssue {
                field: "version".into(),
                message: format!(
                    "these settings were written by a newer msync (version {}; this one reads up to {SETTINGS_VERSION}); update msync before using them",
                    self.version
                ),
                reason: None,
            });
        }
        let r = &self.rate;
        range(
            &mut issues,
            "rate.rpm",
            r.rpm,
            1,
            600,
            "requests per minute",
        );
        range(&mut issues, "rate.burst", r.burst, 1, 50, "burst");
        range(
            &mut issues,
            "rate.site_rpm",
            r.site_rpm,
            1,
            6000,
            "site requests per minute",
        );
        range(
            &mut issues,
            "rate.site_burst",
            r.site_burst,
            1,
            100,
            "site burst",
        );
        range(
            &mut issues,
            "concurrency",
            self.concurrency,
            1,
            16,
            "concurrency",
        );
        let t = &self.retry;
        range(
            &mut issues,
            "retry.max_retries",
            t.max_retries,
            0,
            10,
            "retries",
        );
        range(
            &mut issues,
            "retry.base_ms",
            t.base_ms,
            100,
            60_000,
            "backoff base (ms)",
        );
        range(
            &mut issues,
            "retry.cap_ms",
            t.cap_ms,
            t.base_ms.max(100),
            600_000,
            "backoff cap (ms)",
        );
        range(
            &mut issues,
            "channel_timeout_secs",
            self.channel_timeout_secs,
            0,
            3600,
            "per-channel time limit (s)",
        );
        range(
            &mut issues,
            "removal_threshold_pct",
            self.removal_threshold_pct,
            1,
            100,
            "removal threshold (%)",
        );
        range(
            &mut issues,
            "auto_sync.interval_minutes",
            self.auto_sync.interval_minutes,
            60,
            43_200,
            "auto-sync interval (minutes)",
        );
        range(
            &mut issues,
            "history.keep_runs",
            self.history.keep_runs,
            1,
            500,
            "runs kept",
        );
        range(
            &mut issues,
            "history.max_bytes",
            self.history.max_bytes,
            64 * 1024,
            1 << 30,
            "history budget (bytes)",
        );
        for (i, name) in self.allow_list.iter().enumerate() {
            if name.trim().is_empty() {
                issues.push(SettingsIssue::text(
                    format!("allow_list[{i}]"),
                    "an allow-list entry is empty",
                ));
            } else {
                comma(&mut issues, format!("allow_list[{i}]"), name);
            }
        }
        check_rules(&mut issues, "rules", &self.rules);
        for (id, cfg) in &self.channels {
            check_rules(&mut issues, &format!("channels.{id}.rules"), &cfg.rules);
            for (i, name) in cfg.pinned.iter().enumerate() {
                if name.trim().is_empty() {
                    issues.push(SettingsIssue::text(
                        format!("channels.{id}.pinned[{i}]"),
                        "a pinned model name is empty",
                    ));
                } else {
                    comma(&mut issues, format!("channels.{id}.pinned[{i}]"), name);
                }
            }
        }
        if let Some(message) = self.price_watch.problem() {
            issues.push(SettingsIssue::text("price_watch", message));
        }
        if let Some(message) = self.price_check.problem() {
            issues.push(SettingsIssue::text("price_check.fill_from", message));
        }
        for (field, message) in self.redirect.issues() {
            issues.push(SettingsIssue::text(format!("redirect.{field}"), message));
        }
        for (field, problem) in self.probe.issues() {
            issues.push(SettingsIssue::text(field, problem.to_string()));
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

    #[test]
    fn out_of_range_values_are_named() {
        type Mutate = fn(&mut SyncSettings);
        let rows: Vec<(Mutate, &str)> = vec![
            (|s| s.rate.rpm = 0, "rate.rpm"),
            (|s| s.rate.rpm = 601, "rate.rpm"),
            (|s| s.rate.burst = 51, "rate.burst"),
            (|s| s.concurrency = 17, "concurrency"),
            (|s| s.concurrency = 0, "concurrency"),
            (|s| s.retry.max_retries = 11, "retry.max_retries"),
            (|s| s.retry.cap_ms = 500, "retry.cap_ms"),
            (
                |s| s.auto_sync.interval_minutes = 59,
                "auto_sync.interval_minutes",
            ),
            (
                |s| s.auto_sync.interval_minutes = 43_201,
                "auto_sync.interval_minutes",
            ),
            (|s| s.removal_threshold_pct = 0, "removal_threshold_pct"),
            (|s| s.version = 99, "version"),
            (|s| s.allow_list = vec!["  ".into()], "allow_list[0]"),
            (
                |s| s.redirect.presets = vec!["openai".into(), "nope".into()],
                "redirect.presets[1]",
            ),
            (
                |s| s.redirect.standard_models = vec!["vendor/".into()],
                "redirect.standard_models[0]",
            ),
        ];
        for (mutate, field) in rows {
            let mut s = SyncSettings::default();
            mutate(&mut s);
            let issues = s.validate().unwrap_err();
            assert_eq!(issues.len(), 1, "{field}: {issues:?}");
            assert_eq!(issues[0].field, field);
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

//! Model-sync settings (SPEC §3): defaults, ranges and validation.
//!
//! Every field has a serde default, so settings stored by an older version load unchanged and
//! gain the new fields' defaults. [`SyncSettings::validate`] is what "Save" calls: it returns every
//! problem at once, each naming the field, so the UI can show them next to the inputs.

use crate::error::Error;
use crate::filter::Rule;
use crate::model::SiteKind;
use crate::redirect::RedirectSettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The settings schema version written by this build. A stored file with a higher version was
/// written by a newer msync; [`SyncSettings::validate`] rejects it instead of guessing.
pub const SETTINGS_VERSION: u32 = 1;

/// Whether fetch requests share one token bucket or get one per upstream host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitScope {
    /// One bucket per upstream host: hosts are protected individually and proceed in parallel.
    #[default]
    PerHost,
    /// One bucket for every fetch of the run.
    Global,
}

/// Token-bucket limits (SPEC §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateSettings {
    /// Upstream model fetches per minute, per bucket (1–600).
    pub rpm: u32,
    /// Fetches admitted at once from a full bucket (1–50).
    pub burst: u32,
    pub scope: LimitScope,
    /// Requests per minute to the site's admin API, all calls together (1–6000).
    pub site_rpm: u32,
    /// Burst of the site-wide bucket (1–100).
    pub site_burst: u32,
}

impl Default for RateSettings {
    fn default() -> Self {
        RateSettings {
            rpm: 20,
            burst: 5,
            scope: LimitScope::PerHost,
            site_rpm: 120,
            site_burst: 10,
        }
    }
}

impl RateSettings {
    /// The site bucket for a site type: under the gateway's own admin API limit, with a tenth of
    /// it left for the admin's dashboard and other tools on the same IP. No bucket admits more
    /// than `site_rpm × window + site_burst` in a window, so this never meets the server's 429.
    pub fn site_defaults(kind: SiteKind) -> (u32, u32) {
        let d = RateSettings::default();
        match crate::gateway::api_rate_limit(kind) {
            Some(l) => {
                let burst = d.site_burst;
                let budget = u64::from(l.max) * 9 / 10;
                let rpm = budget.saturating_sub(u64::from(burst)) * 60_000 / l.window_ms.max(1);
                (u32::try_from(rpm.clamp(1, 6000)).unwrap_or(1), burst)
            }
            None => (d.site_rpm, d.site_burst),
        }
    }

    /// The defaults for a site of this type ([`Self::site_defaults`] for the site bucket).
    pub fn for_site(kind: SiteKind) -> RateSettings {
        let (site_rpm, site_burst) = RateSettings::site_defaults(kind);
        RateSettings {
            site_rpm,
            site_burst,
            ..RateSettings::default()
        }
    }
}

/// Retry policy: exponential backoff with full jitter, capped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetrySettings {
    /// Retries after the first attempt (0–10).
    pub max_retries: u32,
    /// Backoff base in milliseconds (100 ms–60 s).
    pub base_ms: u64,
    /// Backoff cap in milliseconds (≥ base, ≤ 10 min).
    pub cap_ms: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_retries: 3,
            base_ms: 1_000,
            cap_ms: 60_000,
        }
    }
}

/// Scheduled runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoSyncSettings {
    pub enabled: bool,
    /// Minutes between runs (60 = 1 h … 43 200 = 30 d).
    pub interval_minutes: u32,
    /// Show a notification after a scheduled run.
    pub notify: bool,
}

impl Default for AutoSyncSettings {
    fn default() -> Self {
        AutoSyncSettings {
            enabled: false,
            interval_minutes: 6 * 60,
            notify: true,
        }
    }
}

/// How much run history to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistorySettings {
    /// Runs kept (1–500); older runs and their snapshots are removed.
    pub keep_runs: u32,
    /// Storage budget for all runs of a site, in bytes (≥ 64 KiB). The newest run is always kept.
    pub max_bytes: u64,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            keep_runs: 30,
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// How a channel's new model list is built from the upstream list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncMode {
    /// The filtered upstream list (plus pinned models and routed aliases).
    #[default]
    Replace,
    /// The filtered upstream list plus the channel's current models that pass the filters:
    /// nothing disappears only because the upstream stopped listing it, but filters still clean.
    Merge,
    /// The channel's current models plus the filtered upstream list: nothing is ever removed.
    AddOnly,
}

/// Per-channel configuration, keyed by channel id in [`SyncSettings::channels`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelConfig {
    pub mode: SyncMode,
    /// Always kept in the channel, whatever the upstream or the filters say.
    pub pinned: Vec<String>,
    /// Applied after the global rules.
    pub rules: Vec<Rule>,
    /// Never synced (counts as skipped).
    pub excluded: bool,
    /// Overrides [`SyncSettings::allow_empty`] for this channel.
    pub allow_empty: Option<bool>,
}

/// Everything the sync engine reads for one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncSettings {
    pub version: u32,
    pub rate: RateSettings,
    /// Channels processed at once (1–16).
    pub concurrency: u32,
    pub retry: RetrySettings,
    /// Per-channel time limit in seconds (0 = none, at most 3600).
    pub channel_timeout_secs: u32,
    /// A change removing more than this percentage of a channel's models is held for review (1–100;
    /// 100 = never hold).
    pub removal_threshold_pct: u32,
    /// Let an empty upstream reply empty a channel (default: never).
    pub allow_empty: bool,
    /// Disabled channels are skipped.
    pub skip_disabled: bool,
    pub auto_sync: AutoSyncSettings,
    pub history: HistorySettings,
    /// Exact model names to keep; empty = all.
    pub allow_list: Vec<String>,
    /// Global include/exclude rules, applied after the allow-list.
    pub rules: Vec<Rule>,
    /// Per-channel configuration by channel id.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Model redirect (SPEC §4): runs after a successful sync when enabled, and on demand.
    /// Absent in settings stored before redirect existed: defaults (off).
    pub redirect: RedirectSettings,
    /// Price check after sync (issue 19, `docs/pricing-check.md`). Absent in settings stored
    /// before it existed: off.
    pub price_check: crate::pricing::PriceCheckSettings,
    /// Price watch (issue 19): a scheduled upstream ratio diff with alerts and an optional
    /// unattended apply within guardrails. Absent in older settings: off.
    pub price_watch: crate::pricing::watch::PriceWatchSettings,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            version: SETTINGS_VERSION,
            rate: RateSettings::default(),
            concurrency: 2,
            retry: RetrySettings::default(),
            channel_timeout_secs: 120,
            removal_threshold_pct: 50,
            allow_empty: false,
            skip_disabled: true,
            auto_sync: AutoSyncSettings::default(),
            history: HistorySettings::default(),
            allow_list: Vec::new(),
            rules: Vec::new(),
            channels: BTreeMap::new(),
            redirect: RedirectSettings::default(),
            price_check: Default::default(),
            price_watch: Default::default(),
        }
    }
}

impl SyncSettings {
    /// The defaults for a new site of this type (its site bucket under the gateway's own limit).
    pub fn for_site(kind: SiteKind) -> SyncSettings {
        SyncSettings {
            rate: RateSettings::for_site(kind),
            ..SyncSettings::default()
        }
    }
}

/// One problem found by [`SyncSettings::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsIssue {
    /// Dotted path of the field (`rate.rpm`, `channels.12.rules[0].pattern`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for SettingsIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A model name with a comma cannot be stored: New API, Veloera, DoneHub and Octopus keep a
/// channel's models as one comma-joined text, so it would come back as two names
/// ([`crate::gateway::ModelListFormat`]).
fn comma(issues: &mut Vec<SettingsIssue>, field: String, name: &str) {
    if name.contains(',') {
        issues.push(SettingsIssue {
            field,
            message: format!("{:?} contains a comma, which model names cannot hold (gateways store a channel's models as one comma-separated text)", name.trim()),
        });
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
        issues.push(SettingsIssue {
            field: field.into(),
            message: format!("{what} must be between {min} and {max} (got {value})"),
        });
    }
}

fn check_rules(issues: &mut Vec<SettingsIssue>, field: &str, rules: &[Rule]) {
    for (i, rule) in rules.iter().enumerate() {
        if let Err(e) = rule.compile() {
            issues.push(SettingsIssue {
                field: format!("{field}[{i}].pattern"),
                message: e.message,
            });
        }
    }
}

impl SyncSettings {
    /// Check every field; all problems are returned at once, in field order.
    pub fn validate(&self) -> Result<(), Vec<SettingsIssue>> {
        let mut issues = Vec::new();
        if self.version > SETTINGS_VERSION {
            issues.push(SettingsIssue {
                field: "version".into(),
                message: format!(
                    "these settings were written by a newer msync (version {}; this one reads up to {SETTINGS_VERSION}); update msync before using them",
                    self.version
                ),
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
                issues.push(SettingsIssue {
                    field: format!("allow_list[{i}]"),
                    message: "an allow-list entry is empty".into(),
                });
            } else {
                comma(&mut issues, format!("allow_list[{i}]"), name);
            }
        }
        check_rules(&mut issues, "rules", &self.rules);
        for (id, cfg) in &self.channels {
            check_rules(&mut issues, &format!("channels.{id}.rules"), &cfg.rules);
            for (i, name) in cfg.pinned.iter().enumerate() {
                if name.trim().is_empty() {
                    issues.push(SettingsIssue {
                        field: format!("channels.{id}.pinned[{i}]"),
                        message: "a pinned model name is empty".into(),
                    });
                } else {
                    comma(&mut issues, format!("channels.{id}.pinned[{i}]"), name);
                }
            }
        }
        if let Some(message) = self.price_watch.problem() {
            issues.push(SettingsIssue {
                field: "price_watch".into(),
                message: message.into(),
            });
        }
        if let Some(message) = self.price_check.problem() {
            issues.push(SettingsIssue {
                field: "price_check.fill_from".into(),
                message: message.into(),
            });
        }
        for (field, message) in self.redirect.issues() {
            issues.push(SettingsIssue {
                field: format!("redirect.{field}"),
                message,
            });
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }

    /// [`Self::validate`] as one `Validation` error listing every problem.
    pub fn check(&self) -> Result<(), Error> {
        self.validate().map_err(|issues| {
            let list: Vec<String> = issues.iter().map(ToString::to_string).collect();
            Error::validation(format!("invalid settings: {}", list.join("; ")))
        })
    }

    /// The configuration of one channel (defaults when it has none).
    pub fn channel(&self, id: &str) -> ChannelConfig {
        self.channels.get(id).cloned().unwrap_or_default()
    }

    /// Whether an empty upstream reply may empty this channel.
    pub fn allow_empty_for(&self, id: &str) -> bool {
        self.channels
            .get(id)
            .and_then(|c| c.allow_empty)
            .unwrap_or(self.allow_empty)
    }

    /// Parse stored settings: missing fields take defaults, then everything is validated.
    pub fn from_json(text: &str) -> Result<SyncSettings, Error> {
        let s: SyncSettings = serde_json::from_str(text)
            .map_err(|e| Error::validation(format!("settings are not valid JSON: {e}")))?;
        s.check()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
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
        let s = SyncSettings::from_json(r#"{"concurrency": 4, "rate": {"rpm": 60}}"#).unwrap();
        assert_eq!(s.concurrency, 4);
        assert_eq!(s.rate.rpm, 60);
        assert_eq!(s.rate.burst, 5);
        assert_eq!(s.version, SETTINGS_VERSION);
        assert_eq!(s.retry.max_retries, 3);
        let empty = SyncSettings::from_json("{}").unwrap();
        assert_eq!(empty, SyncSettings::default());
        // settings stored before redirect existed: redirect off, every preset selected
        assert!(!s.redirect.enabled);
        assert_eq!(s.redirect, crate::redirect::RedirectSettings::default());
        let r = SyncSettings::from_json(
            r#"{"redirect": {"enabled": true, "standard_models": ["my-model"]}}"#,
        )
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
        let e = SyncSettings::from_json(r#"{"version": 7}"#).unwrap_err();
        assert!(e.message.contains("newer msync"), "{}", e.message);
        let e = SyncSettings::from_json(r#"{"concurrency": "#).unwrap_err();
        assert!(e.message.contains("not valid JSON"));
    }
}

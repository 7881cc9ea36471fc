//! Model-sync settings (`docs/sync.md`) as stored: fields and defaults.
//!
//! Every field has a serde default, so settings stored by an older version load unchanged and
//! gain the new fields' defaults. Checking them (`SettingsCheck::validate` in
//! `msync_core::settings`, what "Save" calls) returns every problem at once, each naming the field,
//! so the UI can show them next to the inputs.

use crate::base_url::BaseUrlError;
use crate::filter::Rule;
use crate::gateway::{CredentialField, CredentialKind};
use crate::model::SiteKind;
use crate::redirect::RedirectSettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The settings schema version written by this build. A stored file with a higher version was
/// written by a newer msync; validation rejects it instead of guessing.
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

/// Token-bucket limits (`docs/sync.md` §3).
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
    /// Model redirect (`docs/redirect.md`): runs after a successful sync when enabled, and on demand.
    /// Absent in settings stored before redirect existed: defaults (off).
    pub redirect: RedirectSettings,
    /// Price check after sync (issue 19, `docs/pricing-check.md`). Absent in settings stored
    /// before it existed: off.
    pub price_check: crate::pricing::PriceCheckSettings,
    /// Price watch (issue 19): a scheduled upstream ratio diff with alerts and an optional
    /// unattended apply within guardrails. Absent in older settings: off.
    pub price_watch: crate::pricing::PriceWatchSettings,
    /// Probe before adding (issue 21, `docs/probe.md`); off by default.
    pub probe: crate::probe::ProbeSettings,
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
            probe: crate::probe::ProbeSettings::default(),
        }
    }
}

/// One problem found by settings validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsIssue {
    /// Dotted path of the field (`rate.rpm`, `channels.12.rules[0].pattern`).
    pub field: String,
    /// English text (what the CLI shows): `reason`'s `Display`.
    pub message: String,
    /// What is wrong, as data: the pages word it in their language.
    pub reason: FieldProblem,
}

impl SettingsIssue {
    /// The issue `problem` at `field`; `message` is its English.
    pub fn found(field: impl Into<String>, problem: FieldProblem) -> SettingsIssue {
        SettingsIssue {
            field: field.into(),
            message: problem.to_string(),
            reason: problem,
        }
    }
}

/// What is wrong with a field of the settings (a site, model sync, redirect, pricing, probe,
/// notifications), as data. `Display` is the English the CLI prints; the pages word it per
/// language (`crates/ui/src/reasons.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldProblem {
    NameMissing,
    /// Longer than `max` characters.
    NameTooLong {
        max: usize,
    },
    /// Another site has this name (compared without case).
    NameTaken {
        name: String,
    },
    /// The base URL (`BaseUrlError` says what is wrong with it).
    Address(BaseUrlError),
    /// Plain http to a non-local host without the user's consent.
    InsecureNeedsConsent,
    /// A site id with other characters than letters, digits, `-` and `_`, or too long.
    BadSiteId,
    /// A settings file lists site `id` twice.
    SiteIdTwice {
        id: String,
    },
    /// The address or type changed and no credentials were given: the stored ones stay behind.
    CredentialsAgain,
    /// `site` needs the credentials of `need`.
    CredentialsMissing {
        site: SiteKind,
        need: CredentialKind,
    },
    UserIdNotPositive,
    /// Settings written by a newer msync (`version`; this one reads up to `max`).
    SettingsTooNew {
        version: u32,
        max: u32,
    },
    /// A number outside `min..=max`.
    OutOfRange {
        min: u64,
        max: u64,
        got: u64,
    },
    /// A model name (allow-list, pinned, alias, standard model) with a comma: New API, Veloera,
    /// DoneHub and Octopus keep a channel's models as one comma-joined text, so it would come
    /// back as two names.
    NameHasComma {
        name: String,
    },
    /// An allow-list entry or pinned model name that is empty.
    ModelNameEmpty,
    /// A filter rule without a pattern.
    PatternEmpty,
    /// A filter rule's regular expression that does not compile; `detail` is the regex
    /// library's own text.
    BadRegex {
        pattern: String,
        detail: String,
    },
    /// The price check fills prices but names no upstream to fill from.
    FillNeedsUpstream,
    /// The upstream to fill prices from has no name.
    FillUpstreamNameMissing,
    /// The upstream to fill prices from has no http(s) base URL.
    FillUpstreamNotHttp,
    /// The price watch is on without an upstream to watch.
    WatchNeedsUpstream,
    /// The price watch runs at most every `min_minutes`.
    WatchTooOften {
        min_minutes: u32,
    },
    /// A redirect preset id msync does not know.
    UnknownPreset {
        id: String,
    },
    /// A redirect alias with a pattern and no name.
    AliasNameMissing {
        pattern: String,
    },
    /// A redirect alias with a name and no pattern.
    AliasPatternMissing {
        name: String,
    },
    /// A standard model name that is only a vendor path ("openai/").
    NoModelAfterVendor {
        name: String,
    },
    /// A notification sink without a name.
    SinkNameMissing,
    /// Two sinks with one name.
    SinkNameTwice {
        name: String,
    },
    /// `test` chosen as a sink's event (every sink can be tested; it is not an event).
    TestIsNotAnEvent,
    /// A sink's address that is not an http(s) URL.
    SinkNotHttp {
        what: SinkAddress,
    },
    /// An ntfy topic outside `[-_A-Za-z0-9]{1,64}`.
    NtfyTopicInvalid,
    /// A Telegram sink without its bot token.
    TelegramTokenMissing,
    /// A Telegram sink without its chat id.
    TelegramChatMissing,
}

/// Which address of a notification sink [`FieldProblem::SinkNotHttp`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkAddress {
    WebhookUrl,
    NtfyServer,
    TelegramApiBase,
}

impl FieldProblem {
    /// [`FieldProblem::OutOfRange`] when `got` is outside `min..=max`.
    pub fn range(got: u64, min: u64, max: u64) -> Option<FieldProblem> {
        let outside = !(min..=max).contains(&got);
        outside.then_some(FieldProblem::OutOfRange { min, max, got })
    }
}

impl From<BaseUrlError> for FieldProblem {
    fn from(e: BaseUrlError) -> FieldProblem {
        FieldProblem::Address(e)
    }
}

/// The credentials `need`, in English words ("an access token and the user id").
pub fn needs_text(need: CredentialKind) -> String {
    let words: Vec<&str> = need
        .fields()
        .iter()
        .map(|f| match f {
            CredentialField::Token => "an access token",
            CredentialField::UserId => "the user id",
            CredentialField::Username => "a username",
            CredentialField::Email => "an email",
            CredentialField::Password => "password",
        })
        .collect();
    words.join(" and ")
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldProblem::NameMissing => f.write_str("enter a name for the site"),
            FieldProblem::NameTooLong { max } => {
                write!(f, "the name is longer than {max} characters")
            }
            FieldProblem::NameTaken { name } => {
                write!(f, "another site is already called {name:?}")
            }
            FieldProblem::Address(e) => e.fmt(f),
            FieldProblem::InsecureNeedsConsent => f.write_str(
                "plain http to a non-local host sends the credentials unencrypted: use https, or confirm that you accept this",
            ),
            FieldProblem::BadSiteId => {
                f.write_str("a site id uses only letters, digits, - and _ (at most 64)")
            }
            FieldProblem::SiteIdTwice { id } => write!(f, "site id {id} appears twice"),
            FieldProblem::CredentialsAgain => f.write_str(
                "the address or type changed: enter the credentials again (the stored ones are not sent to a different server)",
            ),
            FieldProblem::CredentialsMissing { site, need } => {
                write!(f, "{} needs {}", site.label(), needs_text(*need))
            }
            FieldProblem::UserIdNotPositive => f.write_str("the user id is a positive number"),
            FieldProblem::SettingsTooNew { version, max } => write!(
                f,
                "these settings were written by a newer msync (version {version}; this one reads up to {max}); update msync before using them"
            ),
            FieldProblem::OutOfRange { min, max, got } => {
                write!(f, "must be between {min} and {max} (got {got})")
            }
            FieldProblem::NameHasComma { name } => write!(
                f,
                "{:?} contains a comma, which model names cannot hold (gateways store a channel's models as one comma-separated text)",
                name.trim()
            ),
            FieldProblem::ModelNameEmpty => f.write_str("the model name is empty"),
            FieldProblem::PatternEmpty => f.write_str("a rule's pattern is empty"),
            FieldProblem::BadRegex { pattern, detail } => {
                write!(f, "invalid regular expression {pattern:?}: {detail}")
            }
            FieldProblem::FillNeedsUpstream => f.write_str(
                "filling prices needs an upstream to fill from (price_check.fill_from)",
            ),
            FieldProblem::FillUpstreamNameMissing => {
                f.write_str("the upstream to fill prices from needs a name")
            }
            FieldProblem::FillUpstreamNotHttp => f.write_str(
                "the upstream to fill prices from needs a base URL starting with http:// or https://",
            ),
            FieldProblem::WatchNeedsUpstream => {
                f.write_str("the price watch needs an upstream to watch (price_watch.upstream)")
            }
            FieldProblem::WatchTooOften { min_minutes } => {
                write!(f, "the price watch runs at most every {min_minutes} minutes")
            }
            FieldProblem::UnknownPreset { id } => write!(f, "unknown preset {id:?}"),
            FieldProblem::AliasNameMissing { pattern } => {
                write!(f, "alias for pattern {pattern:?} has no name")
            }
            FieldProblem::AliasPatternMissing { name } => {
                write!(f, "alias {name:?} has no pattern")
            }
            FieldProblem::NoModelAfterVendor { name } => {
                write!(f, "{name:?} has no model name after the vendor path")
            }
            FieldProblem::SinkNameMissing => f.write_str("a sink needs a name"),
            FieldProblem::SinkNameTwice { name } => write!(f, "two sinks are named {name:?}"),
            FieldProblem::TestIsNotAnEvent => {
                f.write_str("test is not an event to choose (every sink can be tested)")
            }
            FieldProblem::SinkNotHttp { what } => {
                let what = match what {
                    SinkAddress::WebhookUrl => "the webhook URL",
                    SinkAddress::NtfyServer => "the ntfy server",
                    SinkAddress::TelegramApiBase => "the Telegram API base",
                };
                write!(f, "{what} must be an http(s) URL")
            }
            FieldProblem::NtfyTopicInvalid => {
                f.write_str("the ntfy topic must be 1–64 of A–Z, a–z, 0–9, - and _")
            }
            FieldProblem::TelegramTokenMissing => f.write_str("a Telegram sink needs the bot token"),
            FieldProblem::TelegramChatMissing => f.write_str("a Telegram sink needs the chat id"),
        }
    }
}

impl fmt::Display for SettingsIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl SyncSettings {
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
}

/// A setting under which an unattended run changes the site without anyone reviewing it:
/// removes models (auto-sync) or loosens the price watch's guardrails (unattended apply).
/// Shown before an import turns such a run on (rendered per language at the edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestructiveSetting {
    /// An empty upstream reply may empty a channel (globally or for some channels).
    AllowEmpty,
    /// `removal_threshold_pct` 100: no removal is ever held for review.
    NoRemovalThreshold,
    /// Redirect runs after each sync and prunes mappings whose target is gone.
    PruneRedirectTargets,
    /// Price watch: an unattended apply may raise a price or ratio by up to this many per cent
    /// (the default, 0, never raises unattended).
    PriceRaises { max_raise_pct: u32 },
    /// Price watch: an unattended apply also prices models the site has no price for yet.
    PricesNewModels,
    /// Price watch: an unattended apply also takes values the upstream does not mark confident.
    UnconfidentPrices,
}

impl fmt::Display for DestructiveSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DestructiveSetting::AllowEmpty => "an empty upstream list may empty a channel",
            DestructiveSetting::NoRemovalThreshold => {
                "no removal is held for review (threshold 100 %)"
            }
            DestructiveSetting::PruneRedirectTargets => {
                "redirect mappings whose target is gone are removed"
            }
            DestructiveSetting::PriceRaises { max_raise_pct } => {
                return write!(f, "prices may be raised by up to {max_raise_pct} %");
            }
            DestructiveSetting::PricesNewModels => "models without a price get one",
            DestructiveSetting::UnconfidentPrices => {
                "values the upstream does not mark confident are taken"
            }
        })
    }
}

impl SyncSettings {
    /// The settings under which an unattended run removes models without review.
    pub fn destructive(&self) -> Vec<DestructiveSetting> {
        let mut out = Vec::new();
        if self.allow_empty || self.channels.values().any(|c| c.allow_empty == Some(true)) {
            out.push(DestructiveSetting::AllowEmpty);
        }
        if self.removal_threshold_pct >= 100 {
            out.push(DestructiveSetting::NoRemovalThreshold);
        }
        if self.redirect.enabled && self.redirect.prune_missing_targets {
            out.push(DestructiveSetting::PruneRedirectTargets);
        }
        out
    }
}

/// The defaults for a site of a given type.
pub trait SiteDefaults {
    fn for_site(kind: SiteKind) -> Self;
}

/// The site bucket for a site type: under the gateway's own admin API limit, with a tenth of
/// it left for the admin's dashboard and other tools on the same IP. No bucket admits more
/// than `site_rpm × window + site_burst` in a window, so this never meets the server's 429.
pub fn site_rate_defaults(kind: SiteKind) -> (u32, u32) {
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

impl SiteDefaults for RateSettings {
    /// The defaults for a site of this type ([`site_rate_defaults`] for the site bucket).
    fn for_site(kind: SiteKind) -> RateSettings {
        let (site_rpm, site_burst) = site_rate_defaults(kind);
        RateSettings {
            site_rpm,
            site_burst,
            ..RateSettings::default()
        }
    }
}

impl SiteDefaults for SyncSettings {
    /// The defaults for a new site of this type (its site bucket under the gateway's own limit).
    fn for_site(kind: SiteKind) -> SyncSettings {
        SyncSettings {
            rate: RateSettings::for_site(kind),
            ..SyncSettings::default()
        }
    }
}

//! The typed preview of an All API Hub import (`docs/import-all-api-hub.md`): what the worker
//! sends pages and the CLI prints. Reading the file is the engine's
//! (`msync_core::import::all_api_hub`).
//!
//! Nothing here is stored, so its enums are in serde's default (externally tagged) form:
//! `"create"`, `{"update": {...}}`. The tagged forms made the pages read them through serde's
//! private buffer, a second reader for every type inside (issue 18, ARCHITECTURE.md "Size of the
//! shipped wasm").

use crate::filter::{FilterAction, Rule, RuleKind};
use crate::model::{Site, SiteId, SiteKind};
use crate::settings::{LimitScope, SyncSettings};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Files larger than this are refused before parsing (a full export with hundreds of accounts is
/// well under 5 MB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Backup envelope versions All API Hub 3.x writes and reads (`BACKUP_VERSION` and the legacy
/// constants in `src/services/importExport/importExportService.ts`). No `version` means 1.0.
pub const BACKUP_VERSIONS: [&str; 4] = ["1.0", "2.0", "3.0", "4.0"];

/// The newest preferences schema this mapping was written against (`CURRENT_PREFERENCES_VERSION`
/// in `src/services/preferences/migrations/preferencesMigration.ts`, All API Hub 3.58).
pub const KNOWN_PREFERENCES_VERSION: u64 = 27;

/// All API Hub's default standard models for redirect (`PRESET_STANDARD_MODELS` in
/// `src/types/managedSiteModelRedirect.ts`); an empty list there means these.
pub const ANCHOR_STANDARD_MODELS: [&str; 24] = [
    "gpt-4o",
    "gpt-4o-mini",
    "o3",
    "o3-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-codex",
    "claude-4.5-haiku",
    "claude-4.5-sonnet",
    "claude-4.1-opus",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "mistral-small",
    "mistral-large",
    "mistral-medium",
    "deepseek-chat",
    "deepseek-reasoner",
    "glm-4.6",
    "glm-4.5",
    "glm-4.5-air",
    "qwen-max",
    "qwen-plus",
    "qwen-flash",
    "qwen-coder",
];

// ----- errors -----------------------------------------------------------------------------------

/// Why a file cannot be imported at all. Nothing was read into msync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportError {
    TooLarge {
        bytes: u64,
        max: u64,
    },
    Empty,
    /// The JSON ends early (an interrupted download or copy).
    Truncated,
    NotJson {
        line: usize,
        column: usize,
    },
    /// msync's own settings file: it has its own import.
    MsyncFile,
    /// A WebDAV backup encrypted by All API Hub (`all-api-hub-webdav-backup-encrypted`).
    Encrypted,
    NotAnExport,
    /// A backup version this msync does not know (written by a newer All API Hub).
    UnsupportedVersion {
        version: String,
    },
    /// An "accounts only" export: no settings in it.
    NoPreferences,
    /// The file has no self-hosted site with an address.
    NoSites,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::TooLarge { bytes, max } => write!(
                f,
                "the file is {bytes} bytes; an All API Hub export is at most {max} bytes. Nothing was imported"
            ),
            ImportError::Empty => f.write_str("the file is empty. Nothing was imported"),
            ImportError::Truncated => f.write_str(
                "the file ends in the middle of its JSON (an interrupted download?); export it again. Nothing was imported",
            ),
            ImportError::NotJson { line, column } => write!(
                f,
                "the file is not JSON (line {line}, column {column}); choose the .json file All API Hub exported. Nothing was imported"
            ),
            ImportError::MsyncFile => f.write_str(
                "this is an msync settings file, not an All API Hub export: use \"Import settings\" for it. Nothing was imported",
            ),
            ImportError::Encrypted => f.write_str(
                "this WebDAV backup is encrypted by All API Hub; restore it in All API Hub and use Export all data, then import that file. Nothing was imported",
            ),
            ImportError::NotAnExport => f.write_str(
                "this is not an All API Hub export (no \"timestamp\" and no preferences/accounts section). Nothing was imported",
            ),
            ImportError::UnsupportedVersion { version } => write!(
                f,
                "backup version {version} is not one msync knows (1.0–4.0): it was written by a newer All API Hub. Nothing was imported"
            ),
            ImportError::NoPreferences => f.write_str(
                "this export holds accounts only; in All API Hub export all data or the settings. Nothing was imported",
            ),
            ImportError::NoSites => f.write_str(
                "the file has no self-hosted site with an address (All API Hub: Settings → Self-hosted site management). Nothing was imported",
            ),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<ImportError> for crate::Error {
    fn from(e: ImportError) -> Self {
        crate::Error::validation(e.to_string())
    }
}

// ----- the site types of the source ---------------------------------------------------------------

/// A managed-site type of All API Hub (its `SITE_TYPES`; one configured instance per type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceType {
    NewApi,
    Veloera,
    DoneHub,
    Octopus,
    AxonHub,
    ClaudeCodeHub,
    Sub2Api,
}

impl SourceType {
    pub const ALL: [SourceType; 7] = [
        SourceType::NewApi,
        SourceType::Veloera,
        SourceType::DoneHub,
        SourceType::Octopus,
        SourceType::AxonHub,
        SourceType::ClaudeCodeHub,
        SourceType::Sub2Api,
    ];

    /// The id All API Hub stores in `managedSiteType` and in channel-config resource refs.
    pub fn anchor_id(self) -> &'static str {
        match self {
            SourceType::NewApi => "new-api",
            SourceType::Veloera => "Veloera",
            SourceType::DoneHub => "done-hub",
            SourceType::Octopus => "octopus",
            SourceType::AxonHub => "axonhub",
            SourceType::ClaudeCodeHub => "claude-code-hub",
            SourceType::Sub2Api => "sub2api",
        }
    }

    /// The preferences key holding this type's connection settings.
    pub fn prefs_key(self) -> &'static str {
        match self {
            SourceType::NewApi => "newApi",
            SourceType::Veloera => "veloera",
            SourceType::DoneHub => "doneHub",
            SourceType::Octopus => "octopus",
            SourceType::AxonHub => "axonHub",
            SourceType::ClaudeCodeHub => "claudeCodeHub",
            SourceType::Sub2Api => "sub2apiManagedSite",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SourceType::ClaudeCodeHub => "Claude Code Hub",
            SourceType::Sub2Api => "Sub2API",
            other => other.kind().map(SiteKind::label).unwrap_or(""),
        }
    }

    /// The msync site type, when msync manages this kind of gateway.
    pub fn kind(self) -> Option<SiteKind> {
        match self {
            SourceType::NewApi => Some(SiteKind::NewApi),
            SourceType::Veloera => Some(SiteKind::Veloera),
            SourceType::DoneHub => Some(SiteKind::DoneHub),
            SourceType::Octopus => Some(SiteKind::Octopus),
            SourceType::AxonHub => Some(SiteKind::AxonHub),
            SourceType::ClaudeCodeHub | SourceType::Sub2Api => None,
        }
    }

    pub fn from_anchor_id(id: &str) -> Option<SourceType> {
        SourceType::ALL.into_iter().find(|t| t.anchor_id() == id)
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

// ----- settings in the preview --------------------------------------------------------------------

/// An msync setting the import sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKey {
    AutoSync,
    Interval,
    Concurrency,
    RequestsPerMinute,
    Burst,
    Scope,
    MaxRetries,
    ChannelTimeout,
    AllowList,
    Rules,
    /// One channel's rules (by channel id).
    ChannelRules(String),
    Redirect,
    Presets,
    StandardModels,
    PruneMissingTargets,
}

impl fmt::Display for SettingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingKey::AutoSync => f.write_str("auto-sync"),
            SettingKey::Interval => f.write_str("auto-sync interval"),
            SettingKey::Concurrency => f.write_str("concurrency"),
            SettingKey::RequestsPerMinute => f.write_str("requests per minute"),
            SettingKey::Burst => f.write_str("burst"),
            SettingKey::Scope => f.write_str("rate-limit scope"),
            SettingKey::MaxRetries => f.write_str("max retries"),
            SettingKey::ChannelTimeout => f.write_str("per-channel time limit"),
            SettingKey::AllowList => f.write_str("allow-list"),
            SettingKey::Rules => f.write_str("global filter rules"),
            SettingKey::ChannelRules(id) => write!(f, "filter rules of channel {id}"),
            SettingKey::Redirect => f.write_str("model redirect after sync"),
            SettingKey::Presets => f.write_str("redirect presets"),
            SettingKey::StandardModels => f.write_str("standard models"),
            SettingKey::PruneMissingTargets => f.write_str("prune missing redirect targets"),
        }
    }
}

/// A setting's value, typed so each edge words it in its language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingValue {
    Bool(bool),
    Number(u64),
    Minutes(u32),
    /// 0 = no limit.
    Seconds(u32),
    Scope(LimitScope),
    /// Model or preset names (empty = all / none, by setting).
    Names(Vec<String>),
    Rules(Vec<Rule>),
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::Bool(b) => f.write_str(if *b { "on" } else { "off" }),
            SettingValue::Number(n) => write!(f, "{n}"),
            SettingValue::Minutes(m) if m.is_multiple_of(60) => write!(f, "{} h", m / 60),
            SettingValue::Minutes(m) => write!(f, "{m} min"),
            SettingValue::Seconds(0) => f.write_str("none"),
            SettingValue::Seconds(s) => write!(f, "{s} s"),
            SettingValue::Scope(LimitScope::Global) => f.write_str("one bucket for the run"),
            SettingValue::Scope(LimitScope::PerHost) => f.write_str("per upstream host"),
            SettingValue::Names(n) if n.is_empty() => f.write_str("(none)"),
            SettingValue::Names(n) => f.write_str(&n.join(", ")),
            SettingValue::Rules(r) if r.is_empty() => f.write_str("(none)"),
            SettingValue::Rules(r) => {
                let parts: Vec<String> = r.iter().map(describe_rule).collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// `exclude substring "embedding"`, `include regex "^gpt-" (off)`.
pub fn describe_rule(r: &Rule) -> String {
    let action = match r.action {
        FilterAction::Include => "include",
        FilterAction::Exclude => "exclude",
    };
    let kind = match r.kind {
        RuleKind::Substring => "substring",
        RuleKind::Regex => "regex",
        RuleKind::Glob => "glob",
    };
    let off = if r.enabled { "" } else { " (off)" };
    format!("{action} {kind} {:?}{off}", r.pattern)
}

/// One setting as it is and as the import would set it (`old: None` for a new site).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    pub key: SettingKey,
    pub old: Option<SettingValue>,
    pub new: SettingValue,
}

// ----- warnings -----------------------------------------------------------------------------------

pub use crate::gateway::CredentialField;

/// Why a filter rule was not carried over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSkip {
    NotAnObject,
    /// All API Hub drops a rule without a name when it loads its settings (its sanitiser), so it
    /// never applied it.
    NoName,
    EmptyPattern,
    /// The pattern does not compile as a regular expression here (msync has no look-around or
    /// back-references); All API Hub never matched an invalid pattern either.
    InvalidRegex {
        message: String,
    },
}

/// Something the user should read before confirming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// Preferences written by a newer All API Hub: fields msync does not know are ignored.
    NewerPreferences { version: u64, known: u64 },
    /// A site type msync does not manage (Claude Code Hub, Sub2API): not imported.
    UnsupportedSiteType {
        source: SourceType,
        base_url: String,
    },
    /// The site's address is not an http(s) URL: not imported.
    InvalidBaseUrl {
        source: SourceType,
        base_url: String,
    },
    /// Credentials are missing: the site cannot connect until they are given.
    MissingCredentials { fields: Vec<CredentialField> },
    /// The user id is not a positive number.
    InvalidUserId { value: String },
    /// New API login fields (username, password, TOTP secret) msync does not use: not imported.
    LoginFieldsIgnored { fields: Vec<String> },
    /// DoneHub's user id: msync's DoneHub adapter does not send one.
    UserIdNotUsed,
    /// Auto-sync will be on: scheduled runs write channels without asking.
    AutoSyncOn { interval_minutes: u32 },
    /// Pruning redirect targets after sync will be on (removes mappings).
    PruneOn,
    /// Auto-sync was on in All API Hub, but for its active site type only; this one stays off.
    AutoSyncNotActive { active: SourceType },
    /// All API Hub never synced this site type (AxonHub); msync can. Auto-sync stays off.
    NewlySyncable,
    /// All API Hub never applied the allow-list and global rules to Octopus sites; not carried.
    OctopusGlobalFiltersSkipped { allow_list: usize, rules: usize },
    /// Redirect was on but All API Hub never ran it for this site type: stays off.
    RedirectNotRun,
    /// A probe rule (real LLM requests per model): msync has no probe option yet.
    ProbeRuleDropped {
        channel: Option<String>,
        name: String,
        action: FilterAction,
        enabled: bool,
    },
    RuleSkipped {
        channel: Option<String>,
        name: String,
        reason: RuleSkip,
    },
    /// A value outside msync's range, moved to the nearest allowed one.
    ValueClamped { key: SettingKey, from: u64, to: u64 },
    /// Per-channel rules of a site that is not in the file (another address or type).
    OrphanChannelRules {
        site_type: String,
        scope: String,
        channel: String,
        rules: usize,
    },
    /// Per-channel rules in the pre-3.x numeric format (no site identity); All API Hub ignores
    /// them on import too.
    LegacyChannelConfigsIgnored { count: usize },
    /// An msync site has the same address but another type: not changed.
    SameUrlOtherType {
        existing: String,
        existing_kind: SiteKind,
    },
}

fn channel_suffix(channel: &Option<String>) -> String {
    channel
        .as_ref()
        .map(|c| format!(" of channel {c}"))
        .unwrap_or_else(|| " (global)".into())
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NewerPreferences { version, known } => write!(
                f,
                "the settings come from a newer All API Hub (preferences version {version}; msync knows up to {known}): fields it does not know are ignored"
            ),
            Warning::UnsupportedSiteType { source, base_url } => write!(
                f,
                "{source} site {base_url} is not imported: msync does not manage {source}"
            ),
            Warning::InvalidBaseUrl { source, base_url } => write!(
                f,
                "{source} site {base_url:?} is not imported: its address is not an http(s) URL"
            ),
            Warning::MissingCredentials { fields } => {
                let list: Vec<String> = fields.iter().map(ToString::to_string).collect();
                write!(f, "missing {}: give them before the site can connect", list.join(", "))
            }
            Warning::InvalidUserId { value } => {
                write!(f, "user id {value:?} is not a positive number")
            }
            Warning::LoginFieldsIgnored { fields } => write!(
                f,
                "{} not imported: msync signs in with the access token only",
                fields.join(", ")
            ),
            Warning::UserIdNotUsed => {
                f.write_str("the user id is not imported: msync's DoneHub connection does not use it")
            }
            Warning::AutoSyncOn { interval_minutes } => write!(
                f,
                "auto-sync will be ON (every {}): scheduled runs change channels without asking; msync still holds large removals for review",
                SettingValue::Minutes(*interval_minutes)
            ),
            Warning::PruneOn => f.write_str(
                "pruning redirect targets after each sync will be ON: mappings whose target vanished are removed",
            ),
            Warning::AutoSyncNotActive { active } => write!(
                f,
                "auto-sync stays off for this site: All API Hub ran it only for its active site type ({active})"
            ),
            Warning::NewlySyncable => f.write_str(
                "All API Hub could not sync this site type; msync can. Auto-sync and redirect stay off until you turn them on",
            ),
            Warning::OctopusGlobalFiltersSkipped { allow_list, rules } => write!(
                f,
                "the allow-list ({allow_list}) and global rules ({rules}) are not carried over: All API Hub never applied them to Octopus"
            ),
            Warning::RedirectNotRun => f.write_str(
                "model redirect stays off: All API Hub never ran it for this site type",
            ),
            Warning::ProbeRuleDropped {
                channel,
                name,
                action,
                enabled,
            } => write!(
                f,
                "probe rule {name:?}{} ({}{}) is not imported: msync has no probe filters yet, so models are not tested before they are kept",
                channel_suffix(channel),
                if *action == FilterAction::Exclude { "exclude" } else { "include" },
                if *enabled { "" } else { ", off" }
            ),
            Warning::RuleSkipped {
                channel,
                name,
                reason,
            } => {
                write!(f, "rule {name:?}{} is not imported: ", channel_suffix(channel))?;
                match reason {
                    RuleSkip::NotAnObject => f.write_str("it is not a rule object"),
                    RuleSkip::NoName => {
                        f.write_str("it has no name, so All API Hub never applied it")
                    }
                    RuleSkip::EmptyPattern => f.write_str("its pattern is empty"),
                    RuleSkip::InvalidRegex { message } => write!(
                        f,
                        "its regular expression does not compile ({message}); All API Hub never matched it either"
                    ),
                }
            }
            Warning::ValueClamped { key, from, to } => {
                write!(f, "{key}: {from} is outside msync's range, set to {to}")
            }
            Warning::OrphanChannelRules {
                site_type,
                scope,
                channel,
                rules,
            } => write!(
                f,
                "{rules} rule(s) of channel {channel} on {site_type} site {scope} are not imported: that site is not in the file"
            ),
            Warning::LegacyChannelConfigsIgnored { count } => write!(
                f,
                "{count} per-channel filter setting(s) in the old format (no site address) are not imported; All API Hub ignores them on import too"
            ),
            Warning::SameUrlOtherType {
                existing,
                existing_kind,
            } => write!(
                f,
                "msync site {existing:?} has this address but type {}: not changed",
                existing_kind.label()
            ),
        }
    }
}

// ----- the preview --------------------------------------------------------------------------------

/// What happens to one imported site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteAction {
    Create,
    /// An msync site with the same address and type: changed only when the user agrees.
    Update {
        existing: SiteId,
        existing_name: String,
    },
    /// An msync site with the same address but another type: left alone.
    Conflict {
        existing: SiteId,
        existing_name: String,
    },
}

/// One site of the file, as msync would store it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitePlan {
    pub source: SourceType,
    /// For a new site the id is empty (the store assigns one); for an update, the existing id.
    pub site: Site,
    pub settings: SyncSettings,
    pub action: SiteAction,
    /// Whether the file carries this site's token/password (the value itself is cleared in a
    /// [`ImportPreview::redacted`] preview).
    pub has_secret: bool,
    /// Updates: the credentials in the file differ from the stored ones.
    #[serde(default)]
    pub credentials_change: bool,
    /// Credential fields the file lacks.
    pub missing: Vec<CredentialField>,
    /// The settings this import sets: every one for a new site, the differing ones for an update.
    pub changes: Vec<SettingChange>,
    pub warnings: Vec<Warning>,
    /// All API Hub's active managed-site type (the one its auto-sync ran for).
    pub active: bool,
}

impl SitePlan {
    /// Whether this plan can be saved as it is (the CLI can also write placeholders for missing
    /// credentials).
    pub fn complete(&self) -> bool {
        self.missing.is_empty() && !matches!(self.action, SiteAction::Conflict { .. })
    }
}

/// A section or preference of the file msync does not use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ignored {
    /// `accounts`, `preferences.webdav`, …
    pub what: String,
    /// Entries in it, for lists.
    #[serde(default)]
    pub count: Option<usize>,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count {
            Some(n) => write!(f, "{} ({n})", self.what),
            None => f.write_str(&self.what),
        }
    }
}

/// Everything an import would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub backup_version: String,
    pub preferences_version: Option<u64>,
    pub exported_ms: Option<u64>,
    /// All API Hub's active managed-site type.
    pub active: Option<SourceType>,
    pub sites: Vec<SitePlan>,
    /// Warnings not tied to one imported site.
    pub warnings: Vec<Warning>,
    pub ignored: Vec<Ignored>,
}

impl ImportPreview {
    /// The preview without secret values (what pages are sent).
    pub fn redacted(&self) -> ImportPreview {
        let mut p = self.clone();
        for s in &mut p.sites {
            s.site.credentials = s.site.credentials.without_secrets();
        }
        p
    }

    pub fn plan(&self, source: SourceType) -> Option<&SitePlan> {
        self.sites.iter().find(|s| s.source == source)
    }
}

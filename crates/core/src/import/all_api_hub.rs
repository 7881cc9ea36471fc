//! All API Hub (`qixing-jk/all-api-hub`) backup file → msync sites and sync settings.
//!
//! [`preview`] reads an export ("Export all data" / "Export settings", or a plain WebDAV backup)
//! and returns what an import would create or change, per site and per setting, with typed
//! warnings. It never writes anything: the worker and the CLI save only what the user confirmed.
//! The mapping, field by field, and the anchor's behaviour it keeps or corrects are documented in
//! `docs/import-all-api-hub.md`; every row there has a test at the bottom of this file.

use crate::filter::{FilterAction, Rule, RuleKind};
use crate::model::{CredentialFields, Credentials, Secret, Site, SiteId, SiteKind};
use crate::settings::{LimitScope, SyncSettings};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub use msync_types::import::all_api_hub::*;

// ----- JSON helpers (the anchor is loose about types) ------------------------------------------------

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

fn boolean(v: Option<&Value>) -> Option<bool> {
    v.and_then(Value::as_bool)
}

fn object(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

fn names(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in v.and_then(Value::as_array).into_iter().flatten() {
        if let Some(s) = item.as_str().map(str::trim).filter(|s| !s.is_empty()) {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// A base URL as msync stores it: trimmed, without trailing slashes.
pub fn normalize_base_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

fn parse_http(url: &str) -> Option<url::Url> {
    crate::base_url::parse_url(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `https://host:port` (what All API Hub scopes per-channel settings by).
fn origin_of(url: &str) -> String {
    match crate::base_url::parse_url(url.trim()) {
        Ok(u) if u.host_str().is_some() => u.origin().ascii_serialization(),
        _ => normalize_base_url(url),
    }
}

/// Same site address: same scheme, host, port and path (case of the host and trailing slashes
/// do not matter).
pub fn same_base_url(a: &str, b: &str) -> bool {
    match (parse_http(a.trim()), parse_http(b.trim())) {
        (Some(x), Some(y)) => {
            x.scheme() == y.scheme()
                && x.host_str() == y.host_str()
                && x.port_or_known_default() == y.port_or_known_default()
                && x.path().trim_end_matches('/') == y.path().trim_end_matches('/')
        }
        _ => normalize_base_url(a) == normalize_base_url(b),
    }
}

// ----- rules ----------------------------------------------------------------------------------------

/// All API Hub filter rules → msync rules. Plain patterns were case-insensitive substrings and
/// regexes `new RegExp(p, "i")` whatever its hint text said: msync's substring and regex rules are
/// case-insensitive too, so the behaviour is the same.
fn convert_rules(
    raw: Option<&Value>,
    channel: Option<&str>,
    warnings: &mut Vec<Warning>,
) -> Vec<Rule> {
    let mut out = Vec::new();
    let channel = channel.map(str::to_string);
    for item in raw.and_then(Value::as_array).into_iter().flatten() {
        let Some(o) = item.as_object() else {
            warnings.push(Warning::RuleSkipped {
                channel: channel.clone(),
                name: String::new(),
                reason: RuleSkip::NotAnObject,
            });
            continue;
        };
        let name = text(o.get("name"));
        let action = if o.get("action").and_then(Value::as_str) == Some("exclude") {
            FilterAction::Exclude
        } else {
            FilterAction::Include
        };
        let enabled = boolean(o.get("enabled")) != Some(false);
        if o.get("kind").and_then(Value::as_str) == Some("probe") {
            warnings.push(Warning::ProbeRuleDropped {
                channel: channel.clone(),
                name,
                action,
                enabled,
            });
            continue;
        }
        if name.is_empty() {
            warnings.push(Warning::RuleSkipped {
                channel: channel.clone(),
                name,
                reason: RuleSkip::NoName,
            });
            continue;
        }
        let pattern = text(o.get("pattern"));
        if pattern.is_empty() {
            warnings.push(Warning::RuleSkipped {
                channel: channel.clone(),
                name,
                reason: RuleSkip::EmptyPattern,
            });
            continue;
        }
        let kind = if boolean(o.get("isRegex")).unwrap_or(false) {
            RuleKind::Regex
        } else {
            RuleKind::Substring
        };
        let rule = Rule {
            name: (!name.is_empty()).then(|| name.clone()),
            kind,
            pattern,
            action,
            enabled,
        };
        if let Err(e) = crate::filter::Matcher::compile(&rule) {
            warnings.push(Warning::RuleSkipped {
                channel: channel.clone(),
                name,
                reason: RuleSkip::InvalidRegex {
                    // the regex crate's message ends with the reason on its last line
                    message: e
                        .message
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .trim_start_matches("error: ")
                        .to_string(),
                },
            });
            continue;
        }
        out.push(rule);
    }
    out
}

// ----- the model-sync and redirect preferences ---------------------------------------------------------

/// The settings of the file that msync carries over, before per-site adjustments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Imported {
    auto_sync: bool,
    interval_minutes: u32,
    concurrency: u32,
    rpm: u32,
    burst: u32,
    max_retries: u32,
    channel_timeout_secs: u32,
    allow_list: Vec<String>,
    rules: Vec<Rule>,
    channel_rules: BTreeMap<String, Vec<Rule>>,
    redirect: bool,
    standard_models: Vec<String>,
    prune: bool,
}

impl Imported {
    /// Write the carried settings onto `s` (a new site's defaults or an existing site's settings;
    /// settings the file has no equivalent for stay as they are).
    fn apply(&self, s: &mut SyncSettings) {
        s.auto_sync.enabled = self.auto_sync;
        s.auto_sync.interval_minutes = self.interval_minutes;
        s.concurrency = self.concurrency;
        s.rate.rpm = self.rpm;
        s.rate.burst = self.burst;
        s.rate.scope = LimitScope::Global;
        s.retry.max_retries = self.max_retries;
        s.channel_timeout_secs = self.channel_timeout_secs;
        s.allow_list = self.allow_list.clone();
        s.rules = self.rules.clone();
        for (id, rules) in &self.channel_rules {
            s.channels.entry(id.clone()).or_default().rules = rules.clone();
        }
        s.redirect.enabled = self.redirect;
        s.redirect.presets = Vec::new();
        s.redirect.standard_models = self.standard_models.clone();
        s.redirect.prune_missing_targets = self.prune;
    }
}

/// The values of the settings an import sets, in display order.
fn covered(s: &SyncSettings, channels: &[String]) -> Vec<(SettingKey, SettingValue)> {
    let mut v = vec![
        (
            SettingKey::AutoSync,
            SettingValue::Bool(s.auto_sync.enabled),
        ),
        (
            SettingKey::Interval,
            SettingValue::Minutes(s.auto_sync.interval_minutes),
        ),
        (
            SettingKey::Concurrency,
            SettingValue::Number(s.concurrency.into()),
        ),
        (
            SettingKey::RequestsPerMinute,
            SettingValue::Number(s.rate.rpm.into()),
        ),
        (SettingKey::Burst, SettingValue::Number(s.rate.burst.into())),
        (SettingKey::Scope, SettingValue::Scope(s.rate.scope)),
        (
            SettingKey::MaxRetries,
            SettingValue::Number(s.retry.max_retries.into()),
        ),
        (
            SettingKey::ChannelTimeout,
            SettingValue::Seconds(s.channel_timeout_secs),
        ),
        (
            SettingKey::AllowList,
            SettingValue::Names(s.allow_list.clone()),
        ),
        (SettingKey::Rules, SettingValue::Rules(s.rules.clone())),
    ];
    for id in channels {
        v.push((
            SettingKey::ChannelRules(id.clone()),
            SettingValue::Rules(
                s.channels
                    .get(id)
                    .map(|c| c.rules.clone())
                    .unwrap_or_default(),
            ),
        ));
    }
    v.extend([
        (SettingKey::Redirect, SettingValue::Bool(s.redirect.enabled)),
        (
            SettingKey::Presets,
            SettingValue::Names(s.redirect.presets.clone()),
        ),
        (
            SettingKey::StandardModels,
            SettingValue::Names(s.redirect.standard_models.clone()),
        ),
        (
            SettingKey::PruneMissingTargets,
            SettingValue::Bool(s.redirect.prune_missing_targets),
        ),
    ]);
    v
}

fn clamp(key: SettingKey, value: f64, min: u32, max: u32, warnings: &mut Vec<Warning>) -> u32 {
    let rounded = value.round().max(0.0);
    let clamped = rounded.clamp(f64::from(min), f64::from(max));
    if clamped != rounded {
        warnings.push(Warning::ValueClamped {
            key,
            from: rounded as u64,
            to: clamped as u64,
        });
    }
    clamped as u32
}

/// Read `managedSiteModelSync` (or, before preferences v7, `newApiModelSync`) and `modelRedirect`,
/// with All API Hub's own defaults for missing fields (`DEFAULT_PREFERENCES`).
fn read_settings(
    prefs: &Map<String, Value>,
    version: Option<u64>,
    warnings: &mut Vec<Warning>,
) -> Imported {
    let current = object(prefs.get("managedSiteModelSync"));
    let legacy = object(prefs.get("newApiModelSync")).filter(|_| version.is_none_or(|v| v < 7));
    let empty = Map::new();
    let sync = current.or(legacy).unwrap_or(&empty);
    let rate = object(sync.get("rateLimit")).unwrap_or(&empty);
    let interval_ms = number(sync.get("interval")).unwrap_or(86_400_000.0);
    let redirect = object(prefs.get("modelRedirect")).unwrap_or(&empty);
    let mut standard_models = names(redirect.get("standardModels"));
    if standard_models.is_empty() {
        standard_models = ANCHOR_STANDARD_MODELS
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    Imported {
        auto_sync: boolean(sync.get("enabled")).unwrap_or(false),
        interval_minutes: clamp(
            SettingKey::Interval,
            interval_ms / 60_000.0,
            60,
            43_200,
            warnings,
        ),
        concurrency: clamp(
            SettingKey::Concurrency,
            number(sync.get("concurrency")).unwrap_or(2.0),
            1,
            16,
            warnings,
        ),
        rpm: clamp(
            SettingKey::RequestsPerMinute,
            number(rate.get("requestsPerMinute")).unwrap_or(20.0),
            1,
            600,
            warnings,
        ),
        burst: clamp(
            SettingKey::Burst,
            number(rate.get("burst")).unwrap_or(5.0).floor(),
            1,
            50,
            warnings,
        ),
        max_retries: clamp(
            SettingKey::MaxRetries,
            number(sync.get("maxRetries")).unwrap_or(2.0),
            0,
            10,
            warnings,
        ),
        channel_timeout_secs: clamp(
            SettingKey::ChannelTimeout,
            number(sync.get("channelProcessingTimeout")).unwrap_or(0.0),
            0,
            3600,
            warnings,
        ),
        allow_list: names(sync.get("allowedModels")),
        rules: convert_rules(sync.get("globalChannelModelFilters"), None, warnings),
        channel_rules: BTreeMap::new(),
        redirect: boolean(redirect.get("enabled")).unwrap_or(false),
        standard_models,
        prune: boolean(redirect.get("pruneMissingTargetsOnModelSync")).unwrap_or(false),
    }
}

// ----- the sites ---------------------------------------------------------------------------------------

/// A site's connection settings as the file has them.
struct SourceSite {
    base_url: String,
    token: String,
    user_id: String,
    username: String,
    password: String,
    login_fields: Vec<String>,
}

fn read_site(
    prefs: &Map<String, Value>,
    source: SourceType,
    version: Option<u64>,
) -> Option<SourceSite> {
    let empty = Map::new();
    let mut cfg = object(prefs.get(source.prefs_key()))
        .unwrap_or(&empty)
        .clone();
    // Before preferences v5 New API's settings were flat fields; the anchor's migration
    // (`newApiConfigMigration.ts`) then takes them over the nested object.
    if source == SourceType::NewApi
        && version.is_none_or(|v| v < 5)
        && ["newApiBaseUrl", "newApiAdminToken", "newApiUserId"]
            .iter()
            .any(|k| prefs.contains_key(*k))
    {
        cfg = Map::new();
        for (flat, nested) in [
            ("newApiBaseUrl", "baseUrl"),
            ("newApiAdminToken", "adminToken"),
            ("newApiUserId", "userId"),
        ] {
            if let Some(v) = prefs.get(flat) {
                cfg.insert(nested.into(), v.clone());
            }
        }
    }
    let base_url = normalize_base_url(&text(cfg.get("baseUrl")));
    if base_url.is_empty() {
        return None;
    }
    let login_fields = if source == SourceType::NewApi {
        ["username", "password", "totpSecret"]
            .iter()
            .filter(|k| !text(cfg.get(**k)).is_empty())
            .map(|k| k.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let (username, password) = match source {
        SourceType::Octopus => (text(cfg.get("username")), text(cfg.get("password"))),
        SourceType::AxonHub => (text(cfg.get("email")), text(cfg.get("password"))),
        _ => (String::new(), String::new()),
    };
    Some(SourceSite {
        base_url,
        token: text(cfg.get("adminToken")),
        user_id: text(cfg.get("userId")),
        username,
        password,
        login_fields,
    })
}

/// The name of a new site: its host, made unique among `taken` (case-insensitive).
fn site_name(base_url: &str, kind: SiteKind, taken: &[String]) -> String {
    let host = parse_http(base_url)
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| base_url.to_string());
    let free = |n: &str| !taken.iter().any(|t| t.trim().eq_ignore_ascii_case(n));
    if free(&host) {
        return host;
    }
    let with_kind = format!("{host} ({})", kind.label());
    if free(&with_kind) {
        return with_kind;
    }
    (2..)
        .map(|i| format!("{host} ({}) {i}", kind.label()))
        .find(|n| free(n))
        .unwrap_or(host)
}

/// Credentials in msync's shape, the fields missing, and warnings.
fn credentials(
    src: &SourceSite,
    kind: SiteKind,
    warnings: &mut Vec<Warning>,
) -> (Credentials, Vec<CredentialField>) {
    let mut c = CredentialFields::default();
    let mut missing = Vec::new();
    let need = crate::gateway::capabilities(kind).credentials;
    for &field in need.fields() {
        let empty = match field {
            CredentialField::Token => {
                c.token = Secret(src.token.clone());
                src.token.is_empty()
            }
            CredentialField::UserId => match src.user_id.parse::<i64>() {
                Ok(id) if id > 0 => {
                    c.user_id = Some(id);
                    false
                }
                _ => {
                    if !src.user_id.is_empty() {
                        warnings.push(Warning::InvalidUserId {
                            value: src.user_id.clone(),
                        });
                    }
                    true
                }
            },
            CredentialField::Username | CredentialField::Email => {
                if !src.username.is_empty() {
                    c.username = Some(src.username.clone());
                }
                src.username.is_empty()
            }
            CredentialField::Password => {
                c.password = Secret(src.password.clone());
                src.password.is_empty()
            }
        };
        if empty {
            missing.push(field);
        }
    }
    if need.uses_token() && !need.uses_user_id() && !src.user_id.is_empty() {
        warnings.push(Warning::UserIdNotUsed);
    }
    if !src.login_fields.is_empty() {
        warnings.push(Warning::LoginFieldsIgnored {
            fields: src.login_fields.clone(),
        });
    }
    if !missing.is_empty() {
        warnings.push(Warning::MissingCredentials {
            fields: missing.clone(),
        });
    }
    (need.shape(c), missing)
}

// ----- per-channel filter settings ----------------------------------------------------------------------

/// Read the scoped channel-config snapshot (`channelConfigs`, backup 3.0+) into rules per
/// (site type id, origin) and channel id.
struct ChannelRules {
    /// All API Hub's site type id (`new-api`, `octopus`, …).
    site_type: String,
    /// The origin of the site's address.
    scope: String,
    channel: String,
    /// Rules in the file (before conversion).
    count: usize,
    rules: Vec<Rule>,
    warnings: Vec<Warning>,
}

fn read_channel_configs(
    root: &Map<String, Value>,
    warnings: &mut Vec<Warning>,
) -> Vec<ChannelRules> {
    let section = root
        .get("channelConfigs")
        .or_else(|| object(root.get("data")).and_then(|d| d.get("channelConfigs")));
    let Some(section) = object(section) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let scoped = section.get("schemaVersion").and_then(Value::as_u64) == Some(1);
    let Some(configs) = object(section.get("configs")).filter(|_| scoped) else {
        let count = section
            .values()
            .filter(|v| {
                object(Some(v)).is_some_and(|o| {
                    o.contains_key("modelFilterSettings") || o.contains_key("filters")
                })
            })
            .count();
        if count > 0 {
            warnings.push(Warning::LegacyChannelConfigsIgnored { count });
        }
        return out;
    };
    for cfg in configs.values() {
        let Some(cfg) = cfg.as_object() else { continue };
        let Some(r) = object(cfg.get("resourceRef")) else {
            continue;
        };
        let site_type = text(r.get("managedSiteType"));
        let scope = origin_of(&text(r.get("scopeKey")));
        let channel = text(r.get("resourceId"));
        if site_type.is_empty() || scope.is_empty() || channel.is_empty() {
            continue;
        }
        let raw = object(cfg.get("modelFilterSettings"))
            .and_then(|m| m.get("rules"))
            .or_else(|| cfg.get("filters"));
        let count = raw.and_then(Value::as_array).map_or(0, Vec::len);
        if count == 0 {
            continue;
        }
        let mut w = Vec::new();
        let rules = convert_rules(raw, Some(&channel), &mut w);
        out.push(ChannelRules {
            site_type,
            scope,
            channel,
            count,
            rules,
            warnings: w,
        });
    }
    out
}

// ----- preview ---------------------------------------------------------------------------------------

const USED_PREFERENCES: &[&str] = &[
    "managedSiteType",
    "managedSiteModelSync",
    "newApiModelSync",
    "modelRedirect",
    "preferencesVersion",
    "newApiBaseUrl",
    "newApiAdminToken",
    "newApiUserId",
    "lastUpdated",
    "sharedPreferencesLastUpdated",
];

fn count_of(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => o
            .get("accounts")
            .or_else(|| o.get("profiles"))
            .and_then(Value::as_array)
            .map(Vec::len),
        _ => None,
    }
}

/// Parse an All API Hub export and plan its import against msync's `existing` sites (with their
/// settings). Nothing is written.
pub fn preview(
    content: &str,
    existing: &[(Site, SyncSettings)],
) -> Result<ImportPreview, ImportError> {
    let bytes = content.len() as u64;
    if bytes > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge {
            bytes,
            max: MAX_FILE_BYTES,
        });
    }
    if content.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let value: Value =
        serde_json::from_str(content.trim_start_matches('\u{feff}')).map_err(|e| {
            if e.is_eof() {
                ImportError::Truncated
            } else {
                ImportError::NotJson {
                    line: e.line(),
                    column: e.column(),
                }
            }
        })?;
    let Some(root) = value.as_object() else {
        return Err(ImportError::NotAnExport);
    };
    if root.get("format").and_then(Value::as_str) == Some("msync-settings") {
        return Err(ImportError::MsyncFile);
    }
    if root.get("type").and_then(Value::as_str) == Some("all-api-hub-webdav-backup-encrypted") {
        return Err(ImportError::Encrypted);
    }
    // The anchor requires a timestamp in every version (`importFromBackupObject`).
    let timestamp = root.get("timestamp");
    let has_section = ["preferences", "accounts", "channelConfigs", "data"]
        .iter()
        .any(|k| root.contains_key(*k));
    if timestamp.is_none_or(|t| t.is_null()) || !has_section {
        return Err(ImportError::NotAnExport);
    }
    let backup_version = match root.get("version") {
        None | Some(Value::Null) => "1.0".to_string(),
        Some(Value::String(s)) if BACKUP_VERSIONS.contains(&s.as_str()) => s.clone(),
        Some(Value::String(s)) => {
            return Err(ImportError::UnsupportedVersion { version: s.clone() })
        }
        Some(other) => {
            return Err(ImportError::UnsupportedVersion {
                version: other.to_string(),
            })
        }
    };
    let nested = object(root.get("data"));
    let prefs = object(root.get("preferences"))
        .or_else(|| nested.and_then(|d| object(d.get("preferences"))));
    let Some(prefs) = prefs else {
        let has_accounts = root.contains_key("accounts")
            || nested.is_some_and(|d| d.contains_key("accounts"))
            || root.get("type").and_then(Value::as_str) == Some("accounts");
        return Err(if has_accounts {
            ImportError::NoPreferences
        } else {
            ImportError::NotAnExport
        });
    };

    let mut warnings = Vec::new();
    let mut ignored = Vec::new();
    let preferences_version = prefs.get("preferencesVersion").and_then(Value::as_u64);
    if let Some(v) = preferences_version.filter(|v| *v > KNOWN_PREFERENCES_VERSION) {
        warnings.push(Warning::NewerPreferences {
            version: v,
            known: KNOWN_PREFERENCES_VERSION,
        });
    }
    for (k, v) in root {
        if ![
            "version",
            "timestamp",
            "type",
            "preferences",
            "channelConfigs",
            "data",
        ]
        .contains(&k.as_str())
        {
            ignored.push(Ignored {
                what: k.clone(),
                count: count_of(v),
            });
        }
    }
    if let Some(d) = nested {
        for (k, v) in d {
            if !["preferences", "channelConfigs"].contains(&k.as_str()) {
                ignored.push(Ignored {
                    what: format!("data.{k}"),
                    count: count_of(v),
                });
            }
        }
    }
    let site_keys: Vec<&str> = SourceType::ALL.iter().map(|t| t.prefs_key()).collect();
    for k in prefs.keys() {
        if !USED_PREFERENCES.contains(&k.as_str()) && !site_keys.contains(&k.as_str()) {
            ignored.push(Ignored {
                what: format!("preferences.{k}"),
                count: None,
            });
        }
    }

    let active = match prefs.get("managedSiteType").and_then(Value::as_str) {
        Some(id) => SourceType::from_anchor_id(id),
        None => Some(SourceType::NewApi),
    };
    let base = read_settings(prefs, preferences_version, &mut warnings);
    let channel_configs = read_channel_configs(root, &mut warnings);
    let mut used_configs = vec![false; channel_configs.len()];

    let mut taken: Vec<String> = existing.iter().map(|(s, _)| s.name.clone()).collect();
    let mut plans = Vec::new();
    for source in SourceType::ALL {
        let Some(src) = read_site(prefs, source, preferences_version) else {
            continue;
        };
        let Some(kind) = source.kind() else {
            warnings.push(Warning::UnsupportedSiteType {
                source,
                base_url: src.base_url.clone(),
            });
            continue;
        };
        if parse_http(&src.base_url).is_none() {
            warnings.push(Warning::InvalidBaseUrl {
                source,
                base_url: src.base_url.clone(),
            });
            continue;
        }
        let mut w = Vec::new();
        let (creds, missing) = credentials(&src, kind, &mut w);
        let is_active = active == Some(source);

        // Per-site adjustments that keep what All API Hub really did.
        let mut imp = base.clone();
        if imp.auto_sync && !is_active {
            imp.auto_sync = false;
            if let Some(a) = active {
                w.push(Warning::AutoSyncNotActive { active: a });
            }
        }
        if kind == SiteKind::Octopus {
            if !imp.allow_list.is_empty() || !imp.rules.is_empty() {
                w.push(Warning::OctopusGlobalFiltersSkipped {
                    allow_list: imp.allow_list.len(),
                    rules: imp.rules.len(),
                });
            }
            imp.allow_list.clear();
            imp.rules.clear();
        }
        if kind == SiteKind::AxonHub {
            w.push(Warning::NewlySyncable);
            imp.auto_sync = false;
            imp.redirect = false;
        }
        if kind == SiteKind::Octopus && imp.redirect {
            w.push(Warning::RedirectNotRun);
            imp.redirect = false;
        }
        let origin = origin_of(&src.base_url);
        for (i, c) in channel_configs.iter().enumerate() {
            if c.site_type == source.anchor_id() && c.scope == origin {
                used_configs[i] = true;
                w.extend(c.warnings.iter().cloned());
                if !c.rules.is_empty() {
                    imp.channel_rules.insert(c.channel.clone(), c.rules.clone());
                }
            }
        }
        if imp.auto_sync {
            w.push(Warning::AutoSyncOn {
                interval_minutes: imp.interval_minutes,
            });
        }
        if imp.prune && imp.redirect {
            w.push(Warning::PruneOn);
        }

        let same_url = existing
            .iter()
            .find(|(s, _)| same_base_url(&s.base_url, &src.base_url));
        let channel_ids: Vec<String> = imp.channel_rules.keys().cloned().collect();
        let (site, settings, action, changes, credentials_change) = match same_url {
            Some((old, old_settings)) if old.kind == kind => {
                let mut settings = old_settings.clone();
                imp.apply(&mut settings);
                let before = covered(old_settings, &channel_ids);
                let after = covered(&settings, &channel_ids);
                let changes = before
                    .into_iter()
                    .zip(after)
                    .filter(|(b, a)| b.1 != a.1)
                    .map(|((key, old), (_, new))| SettingChange {
                        key,
                        old: Some(old),
                        new,
                    })
                    .collect();
                let mut site = old.clone();
                let mut cred_change = false;
                let mut merged = old.credentials.fields();
                let creds = creds.fields();
                if !creds.token.is_empty() && creds.token != merged.token {
                    merged.token = creds.token.clone();
                    cred_change = true;
                }
                if !creds.password.is_empty() && creds.password != merged.password {
                    merged.password = creds.password.clone();
                    cred_change = true;
                }
                if creds.user_id.is_some() && creds.user_id != merged.user_id {
                    merged.user_id = creds.user_id;
                    cred_change = true;
                }
                if creds.username.is_some() && creds.username != merged.username {
                    merged.username = creds.username.clone();
                    cred_change = true;
                }
                site.credentials = crate::gateway::capabilities(site.kind)
                    .credentials
                    .shape(merged);
                (
                    site,
                    settings,
                    SiteAction::Update {
                        existing: old.id.clone(),
                        existing_name: old.name.clone(),
                    },
                    changes,
                    cred_change,
                )
            }
            other => {
                let mut settings = SyncSettings::default();
                imp.apply(&mut settings);
                let changes = covered(&settings, &channel_ids)
                    .into_iter()
                    .map(|(key, new)| SettingChange {
                        key,
                        old: None,
                        new,
                    })
                    .collect();
                let name = site_name(&src.base_url, kind, &taken);
                taken.push(name.clone());
                let action = match other {
                    Some((old, _)) => {
                        w.push(Warning::SameUrlOtherType {
                            existing: old.name.clone(),
                            existing_kind: old.kind,
                        });
                        SiteAction::Conflict {
                            existing: old.id.clone(),
                            existing_name: old.name.clone(),
                        }
                    }
                    None => SiteAction::Create,
                };
                let site = Site {
                    id: SiteId(String::new()),
                    name,
                    kind,
                    base_url: src.base_url.clone(),
                    credentials: creds.clone(),
                    // Consent to plain http is never imported: the Sites page asks for it.
                    allow_insecure: false,
                };
                (site, settings, action, changes, false)
            }
        };
        // A missing credential an update keeps from the stored site is not missing.
        let missing = if matches!(action, SiteAction::Update { .. }) {
            let still = crate::gateway::capabilities(site.kind)
                .credentials
                .missing(&site.credentials);
            missing.into_iter().filter(|f| still.contains(f)).collect()
        } else {
            missing
        };
        if missing.is_empty() {
            w.retain(|x| !matches!(x, Warning::MissingCredentials { .. }));
        }
        plans.push(SitePlan {
            source,
            has_secret: !site.credentials.secrets().is_empty(),
            site,
            settings,
            action,
            credentials_change,
            missing,
            changes,
            warnings: w,
            active: is_active,
        });
    }
    for (c, used) in channel_configs.iter().zip(used_configs) {
        if !used {
            warnings.push(Warning::OrphanChannelRules {
                site_type: c.site_type.clone(),
                scope: c.scope.clone(),
                channel: c.channel.clone(),
                rules: c.count,
            });
        }
    }
    if plans.is_empty() {
        return Err(ImportError::NoSites);
    }
    Ok(ImportPreview {
        backup_version,
        preferences_version,
        exported_ms: number(timestamp).map(|t| t.max(0.0) as u64),
        active,
        sites: plans,
        warnings,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    //! One test (at least) per row of the table in `docs/import-all-api-hub.md`, over the
    //! hand-built fixtures in `tests/fixtures/all-api-hub/`.
    use super::*;
    use crate::settings::{ChannelConfig, SettingsCheck};

    const V4: &str = include_str!("../../../../tests/fixtures/all-api-hub/v4-full.json");
    const V2: &str = include_str!("../../../../tests/fixtures/all-api-hub/v2-legacy.json");
    const V1: &str = include_str!("../../../../tests/fixtures/all-api-hub/v1-nested.json");

    trait Named {
        fn named(self, name: &str) -> Rule;
    }
    impl Named for Rule {
        fn named(mut self, name: &str) -> Rule {
            self.name = Some(name.into());
            self
        }
    }

    fn ok(text: &str) -> ImportPreview {
        preview(text, &[]).unwrap()
    }

    fn plan(p: &ImportPreview, s: SourceType) -> &SitePlan {
        p.plan(s)
            .unwrap_or_else(|| panic!("no plan for {s:?}: {p:#?}"))
    }

    /// Edit the v4 fixture's JSON.
    fn v4_with(edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(V4).unwrap();
        edit(&mut v);
        v.to_string()
    }

    fn has(w: &[Warning], f: impl Fn(&Warning) -> bool) -> bool {
        w.iter().any(f)
    }

    #[test]
    fn new_api_site() {
        let p = ok(V4);
        assert_eq!(p.backup_version, "4.0");
        assert_eq!(p.preferences_version, Some(27));
        assert_eq!(p.exported_ms, Some(1_764_806_400_000));
        let n = plan(&p, SourceType::NewApi);
        assert_eq!(n.site.kind, SiteKind::NewApi);
        assert_eq!(n.site.base_url, "https://newapi.example.com");
        assert_eq!(n.site.name, "newapi.example.com");
        assert_eq!(
            n.site.credentials.token().unwrap().expose(),
            "fixture-newapi-admin-token-0001"
        );
        assert_eq!(n.site.credentials.user_id(), Some(1));
        assert!(n.missing.is_empty() && n.complete() && n.has_secret);
        assert_eq!(n.action, SiteAction::Create);
        assert!(n.active);
    }

    #[test]
    fn new_api_login_fields_are_not_imported() {
        let p = ok(V4);
        let n = plan(&p, SourceType::NewApi);
        assert!(has(
            &n.warnings,
            |w| matches!(w, Warning::LoginFieldsIgnored { fields } if fields == &["username", "password"])
        ));
        let json = serde_json::to_string(&p).unwrap();
        assert!(!json.contains("fixture-newapi-login-password"));
    }

    #[test]
    fn veloera_and_done_hub_sites() {
        let p = ok(V1);
        assert_eq!(p.backup_version, "1.0");
        let v = plan(&p, SourceType::Veloera);
        assert_eq!(v.site.kind, SiteKind::Veloera);
        assert_eq!(v.site.credentials.user_id(), Some(2));
        assert_eq!(
            v.site.credentials.token().unwrap().expose(),
            "fixture-veloera-token"
        );
        let d = plan(&p, SourceType::DoneHub);
        assert_eq!(d.site.kind, SiteKind::DoneHub);
        assert_eq!(d.site.credentials.user_id(), None);
        assert!(has(&d.warnings, |w| *w == Warning::UserIdNotUsed));
        assert!(d.complete());
    }

    #[test]
    fn octopus_site_keeps_its_anchor_behaviour() {
        let p = ok(V4);
        let o = plan(&p, SourceType::Octopus);
        assert_eq!(o.site.kind, SiteKind::Octopus);
        assert_eq!(
            o.site.credentials.fields().username.as_deref(),
            Some("admin")
        );
        assert_eq!(
            o.site.credentials.fields().password.expose(),
            "fixture-octopus-password"
        );
        // the anchor's Octopus path applies only per-channel filters, never redirect
        assert!(o.settings.allow_list.is_empty() && o.settings.rules.is_empty());
        assert!(has(&o.warnings, |w| matches!(
            w,
            Warning::OctopusGlobalFiltersSkipped { rules: 3, .. }
        )));
        assert!(!o.settings.redirect.enabled);
        assert!(has(&o.warnings, |w| *w == Warning::RedirectNotRun));
        assert_eq!(
            o.settings.channels["3"].rules,
            vec![Rule::substring("claude", FilterAction::Include).named("Claude only")]
        );
        // not the active type: auto-sync stays off
        assert!(!o.settings.auto_sync.enabled);
        assert!(has(&o.warnings, |w| *w
            == Warning::AutoSyncNotActive {
                active: SourceType::NewApi
            }));
    }

    #[test]
    fn axonhub_site_is_new_to_sync() {
        let p = ok(V4);
        let a = plan(&p, SourceType::AxonHub);
        assert_eq!(a.site.kind, SiteKind::AxonHub);
        assert_eq!(
            a.site.credentials.fields().username.as_deref(),
            Some("admin@example.com")
        );
        assert!(!a.settings.auto_sync.enabled && !a.settings.redirect.enabled);
        assert!(has(&a.warnings, |w| *w == Warning::NewlySyncable));
    }

    #[test]
    fn unsupported_site_types_are_listed() {
        let p = ok(V4);
        assert!(p.plan(SourceType::ClaudeCodeHub).is_none());
        assert!(has(
            &p.warnings,
            |w| matches!(w, Warning::UnsupportedSiteType { source: SourceType::ClaudeCodeHub, base_url } if base_url == "https://cch.example.com")
        ));
        // an empty address is no site at all
        assert!(!has(&p.warnings, |w| matches!(
            w,
            Warning::UnsupportedSiteType {
                source: SourceType::Sub2Api,
                ..
            }
        )));
        assert!(p.plan(SourceType::Veloera).is_none());
    }

    #[test]
    fn legacy_flat_new_api_fields() {
        let p = ok(V2);
        let n = plan(&p, SourceType::NewApi);
        assert_eq!(n.site.base_url, "https://gw.legacy.example.com");
        assert_eq!(
            n.site.credentials.token().unwrap().expose(),
            "fixture-legacy-admin-token"
        );
        assert_eq!(
            n.site.credentials.user_id(),
            Some(1),
            "a numeric userId is read too"
        );
        // from preferences v5 on the flat fields are no longer read
        let mut v: Value = serde_json::from_str(V2).unwrap();
        v["preferences"]["preferencesVersion"] = 5.into();
        v["preferences"]["newApi"]["baseUrl"] = "https://nested.example.com".into();
        let p = ok(&v.to_string());
        assert_eq!(
            plan(&p, SourceType::NewApi).site.base_url,
            "https://nested.example.com"
        );
    }

    #[test]
    fn auto_sync_only_for_the_active_type() {
        let p = ok(V4);
        let n = plan(&p, SourceType::NewApi);
        assert!(n.settings.auto_sync.enabled);
        assert!(has(&n.warnings, |w| *w
            == Warning::AutoSyncOn {
                interval_minutes: 360
            }));
        assert!(n.changes.contains(&SettingChange {
            key: SettingKey::AutoSync,
            old: None,
            new: SettingValue::Bool(true)
        }));
        // Veloera is the active type of the v1 file: DoneHub stays off
        let p = ok(V1);
        assert_eq!(p.active, Some(SourceType::Veloera));
        assert!(plan(&p, SourceType::Veloera).settings.auto_sync.enabled);
        assert!(!plan(&p, SourceType::DoneHub).settings.auto_sync.enabled);
        // no managedSiteType: New API, the anchor's default
        let p = ok(V2);
        assert_eq!(p.active, Some(SourceType::NewApi));
        assert!(!plan(&p, SourceType::NewApi).settings.auto_sync.enabled);
    }

    #[test]
    fn numbers_are_converted_and_clamped() {
        let n = ok(V4);
        let s = &plan(&n, SourceType::NewApi).settings;
        assert_eq!(s.auto_sync.interval_minutes, 360);
        assert_eq!(s.concurrency, 3);
        assert_eq!(s.retry.max_retries, 4);
        assert_eq!(s.channel_timeout_secs, 300);
        // v1: 30 min interval, 12 h time limit: outside msync's ranges
        let p = ok(V1);
        let s = &plan(&p, SourceType::Veloera).settings;
        assert_eq!(s.auto_sync.interval_minutes, 60);
        assert_eq!(s.channel_timeout_secs, 3600);
        assert_eq!(s.concurrency, 12);
        assert_eq!(s.retry.max_retries, 5);
        assert!(has(&p.warnings, |w| *w
            == Warning::ValueClamped {
                key: SettingKey::Interval,
                from: 30,
                to: 60
            }));
        assert!(has(&p.warnings, |w| *w
            == Warning::ValueClamped {
                key: SettingKey::ChannelTimeout,
                from: 43_200,
                to: 3600
            }));
        // missing fields take All API Hub's defaults (24 h, 2 retries, no time limit)
        let text = v4_with(|v| {
            v["preferences"]["managedSiteModelSync"] = serde_json::json!({ "enabled": true });
        });
        let p = ok(&text);
        let s = &plan(&p, SourceType::NewApi).settings;
        assert_eq!(s.auto_sync.interval_minutes, 1440);
        assert_eq!(
            (s.concurrency, s.retry.max_retries, s.channel_timeout_secs),
            (2, 2, 0)
        );
        assert_eq!((s.rate.rpm, s.rate.burst), (20, 5));
        for p in [ok(V4), ok(V2), ok(V1)] {
            for site in &p.sites {
                site.settings
                    .validate()
                    .unwrap_or_else(|e| panic!("{:?}: {e:?}", site.source));
            }
        }
    }

    #[test]
    fn rate_limit_maps_to_one_bucket() {
        let p = ok(V4);
        let s = &plan(&p, SourceType::NewApi).settings;
        assert_eq!((s.rate.rpm, s.rate.burst), (60, 8));
        assert_eq!(s.rate.scope, LimitScope::Global);
        // msync's own admin-API budget is left at its default
        assert_eq!(s.rate.site_rpm, SyncSettings::default().rate.site_rpm);
        let p = ok(V2);
        let s = &plan(&p, SourceType::NewApi).settings;
        assert_eq!((s.rate.rpm, s.rate.burst), (30, 3));
        let text = v4_with(|v| {
            v["preferences"]["managedSiteModelSync"]["rateLimit"]["burst"] = 2.9.into()
        });
        assert_eq!(
            plan(&ok(&text), SourceType::NewApi).settings.rate.burst,
            2,
            "the anchor floors burst"
        );
    }

    #[test]
    fn allow_list_is_trimmed_and_deduplicated() {
        let p = ok(V2);
        assert_eq!(
            plan(&p, SourceType::NewApi).settings.allow_list,
            vec!["gpt-4o", "gpt-4o-mini"]
        );
        let p = ok(V1);
        assert_eq!(
            plan(&p, SourceType::Veloera).settings.allow_list,
            vec!["deepseek-chat"]
        );
    }

    #[test]
    fn filters_keep_case_insensitive_behaviour() {
        let p = ok(V4);
        let s = &plan(&p, SourceType::NewApi).settings;
        assert_eq!(
            s.rules,
            vec![
                Rule::substring("embedding", FilterAction::Exclude).named("No embeddings"),
                Rule::new(RuleKind::Regex, "^(tts|whisper)-", FilterAction::Exclude)
                    .named("No audio (regex)"),
                Rule {
                    enabled: false,
                    ..Rule::substring("PREVIEW", FilterAction::Exclude).named("Previews (paused)")
                },
            ]
        );
        // what the anchor kept, msync keeps: plain "MINI" drops gpt-4o-mini (case-insensitive)
        let f = crate::filter::Filters::compile(s).unwrap();
        let kept = f.apply(
            "1",
            &[
                "gpt-4o".into(),
                "gpt-4o-mini".into(),
                "text-embedding-3".into(),
                "TTS-1".into(),
                "gpt-5-preview".into(),
            ],
        );
        assert_eq!(
            kept,
            vec!["gpt-4o", "gpt-5-preview"],
            "disabled rule has no effect; regex is case-insensitive"
        );
    }

    #[test]
    fn invalid_regex_is_skipped_with_a_warning() {
        let p = ok(V4);
        let n = plan(&p, SourceType::NewApi);
        assert_eq!(
            n.settings.channels["2"].rules,
            vec![Rule::new(RuleKind::Regex, "^gpt-", FilterAction::Include).named("GPT only")]
        );
        assert!(has(
            &n.warnings,
            |w| matches!(w, Warning::RuleSkipped { channel: Some(c), name, reason: RuleSkip::InvalidRegex { .. } } if c == "2" && name == "Look-behind")
        ));
        let text = v4_with(|v| {
            v["preferences"]["managedSiteModelSync"]["globalChannelModelFilters"][0]["pattern"] =
                "  ".into()
        });
        let p = ok(&text);
        assert!(has(&p.warnings, |w| matches!(
            w,
            Warning::RuleSkipped {
                channel: None,
                reason: RuleSkip::EmptyPattern,
                ..
            }
        )));
        // a rule without a name: All API Hub's sanitiser drops it, so it never applied
        let text = v4_with(|v| {
            v["preferences"]["managedSiteModelSync"]["globalChannelModelFilters"][0]["name"] =
                "".into()
        });
        let p = ok(&text);
        assert!(has(&p.warnings, |w| matches!(
            w,
            Warning::RuleSkipped {
                channel: None,
                reason: RuleSkip::NoName,
                ..
            }
        )));
        assert_eq!(plan(&p, SourceType::NewApi).settings.rules.len(), 2);
    }

    #[test]
    fn probe_rules_warn() {
        let p = ok(V4);
        assert!(has(
            &p.warnings,
            |w| matches!(w, Warning::ProbeRuleDropped { channel: None, name, action: FilterAction::Include, enabled: true } if name == "Only models that answer")
        ));
        assert!(!plan(&p, SourceType::NewApi)
            .settings
            .rules
            .iter()
            .any(|r| r.name.as_deref() == Some("Only models that answer")));
    }

    #[test]
    fn rule_action_and_enabled_follow_the_anchor() {
        let p = ok(V2);
        let rules = &plan(&p, SourceType::NewApi).settings.rules;
        // a rule without `kind` is a pattern rule; an unknown action is include; no `enabled` = on
        assert_eq!(
            rules[0],
            Rule::substring("GPT", FilterAction::Include).named("GPT family")
        );
        assert_eq!(
            rules[1],
            Rule::substring("vision", FilterAction::Include).named("Odd action")
        );
    }

    #[test]
    fn legacy_model_sync_key() {
        let p = ok(V2);
        let s = &plan(&p, SourceType::NewApi).settings;
        assert_eq!(s.auto_sync.interval_minutes, 720);
        assert_eq!((s.concurrency, s.retry.max_retries), (1, 3));
        // a current key wins over the legacy one
        let mut v: Value = serde_json::from_str(V2).unwrap();
        v["preferences"]["managedSiteModelSync"] = serde_json::json!({ "concurrency": 7 });
        assert_eq!(
            plan(&ok(&v.to_string()), SourceType::NewApi)
                .settings
                .concurrency,
            7
        );
    }

    #[test]
    fn per_channel_rules_follow_their_site() {
        let p = ok(V4);
        let n = plan(&p, SourceType::NewApi);
        assert_eq!(
            n.settings.channels["1"],
            ChannelConfig {
                rules: vec![Rule::substring("MINI", FilterAction::Exclude).named("No mini")],
                ..Default::default()
            }
        );
        assert!(
            !n.settings.channels.contains_key("3"),
            "octopus's channel stays with octopus"
        );
        assert!(n
            .changes
            .iter()
            .any(|c| c.key == SettingKey::ChannelRules("1".into())));
        assert!(has(
            &p.warnings,
            |w| matches!(w, Warning::OrphanChannelRules { scope, channel, rules: 1, .. } if scope == "https://old.example.com" && channel == "9")
        ));
    }

    #[test]
    fn numeric_channel_configs_are_ignored() {
        let p = ok(V2);
        assert!(has(&p.warnings, |w| *w
            == Warning::LegacyChannelConfigsIgnored { count: 1 }));
        assert!(plan(&p, SourceType::NewApi).settings.channels.is_empty());
    }

    #[test]
    fn redirect_settings() {
        let p = ok(V4);
        let n = plan(&p, SourceType::NewApi);
        let r = &n.settings.redirect;
        assert!(r.enabled && r.prune_missing_targets);
        assert!(r.presets.is_empty());
        assert_eq!(
            r.standard_models,
            vec!["gpt-4o", "claude-4.5-sonnet", "deepseek-chat"]
        );
        assert_eq!(
            r.standard_list(),
            r.standard_models,
            "exactly the user's list"
        );
        assert!(has(&n.warnings, |w| *w == Warning::PruneOn));
        // defaults: off, All API Hub's 24 standard models
        let p = ok(V2);
        let r = &plan(&p, SourceType::NewApi).settings.redirect;
        assert!(!r.enabled && !r.prune_missing_targets);
        assert_eq!(r.standard_models.len(), 24);
        assert_eq!(r.standard_models[0], "gpt-4o");
        let text = v4_with(|v| {
            v["preferences"]["modelRedirect"]["standardModels"] = serde_json::json!([])
        });
        assert_eq!(
            plan(&ok(&text), SourceType::NewApi)
                .settings
                .redirect
                .standard_models
                .len(),
            24,
            "empty means every preset"
        );
    }

    #[test]
    fn other_sections_are_listed_as_ignored() {
        let p = ok(V4);
        let what: Vec<String> = p.ignored.iter().map(ToString::to_string).collect();
        for want in [
            "accounts (2)",
            "tagStore",
            "apiCredentialProfiles (1)",
            "preferences.webdav",
            "preferences.themeMode",
            "preferences.autoCheckin",
        ] {
            assert!(
                what.contains(&want.to_string()),
                "{want} missing from {what:?}"
            );
        }
        assert!(!what
            .iter()
            .any(|w| w.contains("newApi") || w.contains("managedSiteModelSync")));
        let p = ok(V1);
        assert!(p.ignored.contains(&Ignored {
            what: "data.accounts".into(),
            count: Some(1)
        }));
        // nothing secret leaves through the preview, not even the WebDAV password
        let json = serde_json::to_string(&ok(V4).redacted()).unwrap();
        for secret in [
            "fixture-webdav-password",
            "fixture-newapi-admin-token-0001",
            "fixture-octopus-password",
            "fixture-axonhub-password",
            "fixture-profile-key",
            "fixture-account-access",
        ] {
            assert!(!json.contains(secret), "{secret} leaked");
        }
    }

    #[test]
    fn newer_preferences_warn() {
        let text = v4_with(|v| v["preferences"]["preferencesVersion"] = 31.into());
        let p = ok(&text);
        assert!(has(&p.warnings, |w| *w
            == Warning::NewerPreferences {
                version: 31,
                known: 27
            }));
        assert!(!has(&ok(V4).warnings, |w| matches!(
            w,
            Warning::NewerPreferences { .. }
        )));
    }

    #[test]
    fn bad_files_are_refused() {
        let cut = &V4[..V4.len() / 2];
        let rows: Vec<(String, ImportError)> = vec![
            (String::new(), ImportError::Empty),
            (cut.to_string(), ImportError::Truncated),
            ("name,token\nx,y".into(), ImportError::NotJson { line: 1, column: 2 }),
            ("[1,2]".into(), ImportError::NotAnExport),
            (r#"{"foo": 1}"#.into(), ImportError::NotAnExport),
            (r#"{"preferences": {}}"#.into(), ImportError::NotAnExport),
            (r#"{"format": "msync-settings", "version": 1, "sites": []}"#.into(), ImportError::MsyncFile),
            (
                r#"{"type":"all-api-hub-webdav-backup-encrypted","v":1,"kdf":"PBKDF2","cipher":"AES-GCM","iter":250000,"salt":"AA==","iv":"AA==","ct":"AA=="}"#.into(),
                ImportError::Encrypted,
            ),
            (v4_with(|v| v["version"] = "5.0".into()), ImportError::UnsupportedVersion { version: "5.0".into() }),
            (v4_with(|v| v["version"] = 4.into()), ImportError::UnsupportedVersion { version: "4".into() }),
            (r#"{"version":"4.0","timestamp":1,"type":"accounts","accounts":{"accounts":[]}}"#.into(), ImportError::NoPreferences),
            (
                v4_with(|v| {
                    for k in ["newApi", "octopus", "axonHub", "claudeCodeHub"] {
                        v["preferences"][k]["baseUrl"] = "".into();
                    }
                }),
                ImportError::NoSites,
            ),
        ];
        for (text, want) in rows {
            let got = preview(&text, &[]).unwrap_err();
            assert_eq!(got, want, "{}", &text[..text.len().min(60)]);
            assert!(got.to_string().contains("Nothing was imported"), "{got}");
        }
        let huge = format!(
            "{{\"timestamp\":1,\"preferences\":{{\"x\":\"{}\"}}}}",
            "a".repeat(MAX_FILE_BYTES as usize)
        );
        assert!(matches!(
            preview(&huge, &[]),
            Err(ImportError::TooLarge { .. })
        ));
        // a byte-order mark is fine
        assert!(preview(&format!("\u{feff}{V4}"), &[]).is_ok());
    }

    #[test]
    fn missing_credentials_are_reported() {
        let text = v4_with(|v| {
            v["preferences"]["newApi"]["adminToken"] = "".into();
            v["preferences"]["newApi"]["userId"] = "admin".into();
            v["preferences"]["octopus"]["password"] = "".into();
        });
        let p = ok(&text);
        let n = plan(&p, SourceType::NewApi);
        assert_eq!(
            n.missing,
            vec![CredentialField::Token, CredentialField::UserId]
        );
        assert!(!n.complete());
        assert!(has(
            &n.warnings,
            |w| matches!(w, Warning::InvalidUserId { value } if value == "admin")
        ));
        let o = plan(&p, SourceType::Octopus);
        assert_eq!(o.missing, vec![CredentialField::Password]);
        assert!(has(&o.warnings, |w| *w
            == Warning::MissingCredentials {
                fields: vec![CredentialField::Password]
            }));
    }

    fn existing(name: &str, kind: SiteKind, url: &str) -> (Site, SyncSettings) {
        let mut settings = SyncSettings {
            removal_threshold_pct: 80,
            ..Default::default()
        };
        settings.channels.insert(
            "1".into(),
            ChannelConfig {
                pinned: vec!["my-model".into()],
                ..Default::default()
            },
        );
        (
            Site {
                id: SiteId("prod".into()),
                name: name.into(),
                kind,
                base_url: url.into(),
                credentials: Credentials::TokenAndUserId {
                    token: Secret("old-token".into()),
                    user_id: Some(1),
                },
                allow_insecure: false,
            },
            settings,
        )
    }

    #[test]
    fn existing_site_with_same_url_is_an_update_with_a_diff() {
        let ex = vec![existing(
            "prod",
            SiteKind::NewApi,
            "HTTPS://NewAPI.example.com:443/",
        )];
        let p = preview(V4, &ex).unwrap();
        let n = plan(&p, SourceType::NewApi);
        assert_eq!(
            n.action,
            SiteAction::Update {
                existing: SiteId("prod".into()),
                existing_name: "prod".into()
            }
        );
        assert_eq!(n.site.id, SiteId("prod".into()));
        assert_eq!(n.site.name, "prod", "the msync name is kept");
        assert!(n.credentials_change);
        assert_eq!(
            n.site.credentials.token().unwrap().expose(),
            "fixture-newapi-admin-token-0001"
        );
        // only differing settings are listed, with both values
        assert!(n.changes.contains(&SettingChange {
            key: SettingKey::Concurrency,
            old: Some(SettingValue::Number(2)),
            new: SettingValue::Number(3)
        }));
        assert!(!n
            .changes
            .iter()
            .any(|c| c.key == SettingKey::Burst && c.old == Some(c.new.clone())));
        assert!(!n
            .changes
            .iter()
            .any(|c| c.key == SettingKey::MaxRetries && c.old == Some(SettingValue::Number(4))));
        // settings the file has no equivalent for are kept, per-channel pins too
        assert_eq!(n.settings.removal_threshold_pct, 80);
        assert_eq!(n.settings.channels["1"].pinned, vec!["my-model"]);
        assert_eq!(n.settings.channels["1"].rules.len(), 1);
        // same file, same token: no credential change; a file without a token keeps the stored one
        let ex2 = vec![(
            Site {
                credentials: n.site.credentials.clone(),
                ..ex[0].0.clone()
            },
            n.settings.clone(),
        )];
        let again = preview(V4, &ex2).unwrap();
        let n2 = plan(&again, SourceType::NewApi);
        assert!(!n2.credentials_change);
        assert!(n2.changes.is_empty(), "{:?}", n2.changes);
        let text = v4_with(|v| v["preferences"]["newApi"]["adminToken"] = "".into());
        let p = preview(&text, &ex).unwrap();
        let n = plan(&p, SourceType::NewApi);
        assert!(n.missing.is_empty() && n.complete());
        assert_eq!(n.site.credentials.token().unwrap().expose(), "old-token");
    }

    #[test]
    fn same_url_other_type_is_a_conflict() {
        let ex = vec![existing(
            "octo-as-newapi",
            SiteKind::NewApi,
            "https://octopus.example.com",
        )];
        let p = preview(V4, &ex).unwrap();
        let o = plan(&p, SourceType::Octopus);
        assert!(matches!(o.action, SiteAction::Conflict { .. }));
        assert!(!o.complete());
        assert!(has(&o.warnings, |w| matches!(
            w,
            Warning::SameUrlOtherType {
                existing_kind: SiteKind::NewApi,
                ..
            }
        )));
    }

    #[test]
    fn new_site_names_are_unique() {
        let ex = vec![existing(
            "NEWAPI.example.com",
            SiteKind::Veloera,
            "https://elsewhere.example.com",
        )];
        let p = preview(V4, &ex).unwrap();
        assert_eq!(
            plan(&p, SourceType::NewApi).site.name,
            "newapi.example.com (New API)"
        );
        let names: Vec<&str> = p.sites.iter().map(|s| s.site.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "newapi.example.com (New API)",
                "octopus.example.com",
                "axonhub.example.com"
            ]
        );
    }

    #[test]
    fn redacted_preview_has_no_secret_values() {
        let p = ok(V4).redacted();
        for s in &p.sites {
            assert!(s.site.credentials.secrets().is_empty());
            assert!(s.has_secret);
        }
        // typed values survive JSON (pages get them through the protocol)
        let back: ImportPreview =
            serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn english_words() {
        let p = ok(V4);
        let all: Vec<String> = p
            .warnings
            .iter()
            .chain(p.sites.iter().flat_map(|s| s.warnings.iter()))
            .map(ToString::to_string)
            .collect();
        assert!(
            all.iter()
                .any(|w| w.contains("msync has no probe filters yet")),
            "{all:#?}"
        );
        assert!(
            all.iter()
                .any(|w| w.starts_with("auto-sync will be ON (every 6 h)")),
            "{all:#?}"
        );
        assert_eq!(SettingValue::Seconds(0).to_string(), "none");
        assert_eq!(
            describe_rule(&Rule::new(RuleKind::Regex, "^gpt-", FilterAction::Include)),
            "include regex \"^gpt-\""
        );
    }
}

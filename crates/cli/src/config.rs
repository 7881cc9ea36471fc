//! The `msync.toml` configuration: sites, credentials and sync settings.
//!
//! ```toml
//! [[sites]]
//! name = "prod"
//! type = "new-api"                 # new-api | veloera | done-hub | octopus | axonhub
//! base_url = "https://gw.example.com"
//! user_id = 1                      # New API / Veloera
//! token_env = "MSYNC_PROD_TOKEN"   # or token_file = "...", or token = "..." (warned)
//! [sites.sync]                     # optional per-site overrides of [sync]
//! concurrency = 4
//!
//! [sync]
//! requests_per_minute = 20
//! ```
//!
//! Every problem is reported with the file, the line and the dotted key, and secret values never
//! appear in a message: the parser's own messages are scrubbed of the offending value.

use msync_core::base_url::{BaseUrl, BaseUrlError};
use msync_core::filter::{FilterAction, Rule, RuleKind};
use msync_core::gateway::{capabilities, CredentialField};
use msync_core::model::{CredentialFields, Secret, Site, SiteId, SiteKind};
use msync_core::settings::{ChannelConfig, LimitScope, SettingsCheck, SyncMode, SyncSettings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One problem in the configuration, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is not tied to a line (e.g. the file is missing).
    pub line: Option<usize>,
    /// Dotted key (`sites[0].token_env`, `sync.burst`).
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Several problems, printed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A loaded configuration.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub sites: Vec<SiteConfig>,
    /// Things worth saying that do not stop anything (plain-text secrets, loose permissions).
    pub warnings: Vec<String>,
    /// Where notifications go (`[notify]`; no sinks = none).
    pub notify: msync_core::notify::NotifySettings,
}

/// One configured site. Credentials are resolved when the config is loaded; a site whose
/// credentials are missing keeps the errors, reported only when a command uses that site.
#[derive(Debug)]
pub struct SiteConfig {
    pub site: Site,
    pub settings: SyncSettings,
    /// Per-request time limit for admin API calls.
    pub timeout_ms: u64,
    /// CA certificates to trust for this site besides the system's (`ca_file`, PEM).
    pub ca_roots: Vec<reqwest::Certificate>,
    pub line: usize,
    pub credential_errors: Vec<ConfigError>,
}

// ----- raw TOML shapes ------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    sites: Vec<Spanned<RawSite>>,
    #[serde(default)]
    sync: Option<Spanned<RawSync>>,
    /// `[notify]` (issue 19): `config_notify.rs`.
    #[serde(default)]
    notify: Option<Spanned<notify::RawNotify>>,
}

#[path = "config_notify.rs"]
mod notify;

type S<T> = Option<Spanned<T>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    base_url: Spanned<String>,
    user_id: S<i64>,
    token_env: S<String>,
    token_file: S<String>,
    token: S<String>,
    username: S<String>,
    email: S<String>,
    password_env: S<String>,
    password_file: S<String>,
    password: S<String>,
    request_timeout_secs: S<u64>,
    ca_file: S<String>,
    allow_insecure: S<bool>,
    sync: Option<Spanned<RawSync>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSync {
    requests_per_minute: S<u32>,
    burst: S<u32>,
    scope: S<LimitScope>,
    site_requests_per_minute: S<u32>,
    site_burst: S<u32>,
    concurrency: S<u32>,
    max_retries: S<u32>,
    backoff_base_ms: S<u64>,
    backoff_cap_ms: S<u64>,
    channel_timeout_secs: S<u32>,
    removal_threshold_pct: S<u32>,
    allow_empty: S<bool>,
    skip_disabled: S<bool>,
    keep_runs: S<u32>,
    history_max_bytes: S<u64>,
    allow_list: S<Vec<String>>,
    rules: S<Vec<RawRule>>,
    channels: Option<BTreeMap<String, Spanned<RawChannel>>>,
    redirect: Option<Spanned<RawRedirect>>,
    price_check: Option<Spanned<RawPriceCheck>>,
    price_watch: Option<Spanned<RawPriceWatch>>,
    probe: Option<Spanned<RawProbe>>,
}

/// `[sync.price_watch]` (issue 19, `docs/pricing-check.md`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriceWatch {
    enabled: Option<bool>,
    upstream: Option<msync_core::ratio::RatioUpstream>,
    interval_minutes: Option<u32>,
    apply: Option<RawUnattended>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnattended {
    enabled: Option<bool>,
    max_raise_pct: Option<u32>,
    new_models: Option<bool>,
    only_confident: Option<bool>,
}

/// `[sync.price_check]`: the price check after sync (issue 19, `docs/pricing-check.md`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriceCheck {
    /// off | flag | hold-back | fill
    mode: Option<msync_core::pricing::PriceCheckMode>,
    /// `{ name, base_url, endpoint?, id? }`: the ratio upstream to fill prices from.
    fill_from: Option<msync_core::ratio::RatioUpstream>,
    only_confident: Option<bool>,
}

/// `[sync.probe]`: probe before adding (issue 21, `docs/probe.md`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    enabled: Option<bool>,
    max_per_run: Option<u32>,
    max_per_channel: Option<u32>,
    cache_ttl_days: Option<u32>,
    on_cannot_probe: Option<msync_core::probe::OnCannotProbe>,
    timeout_secs: Option<u32>,
}

/// `[sync.redirect]`: model redirect settings (`docs/redirect.md`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedirect {
    /// Run a redirect after each successful sync.
    enabled: Option<bool>,
    presets: Option<Vec<String>>,
    standard_models: Option<Vec<String>>,
    aliases: Option<Vec<RawAlias>>,
    allow_dated_targets: Option<bool>,
    prune_missing_targets: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlias {
    name: String,
    pattern: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    #[serde(default)]
    kind: RuleKind,
    pattern: String,
    #[serde(default)]
    action: FilterAction,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

impl RawRule {
    fn to_rule(&self) -> Rule {
        Rule {
            name: self.name.clone(),
            kind: self.kind,
            pattern: self.pattern.clone(),
            action: self.action,
            enabled: self.enabled,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    mode: Option<SyncMode>,
    pinned: Option<Vec<String>>,
    rules: Option<Vec<RawRule>>,
    excluded: Option<bool>,
    allow_empty: Option<bool>,
}

/// Where each TOML key of `[sync]` lands in [`SyncSettings`] (for locating validation issues).
const FIELD_KEYS: &[(&str, &str)] = &[
    ("rate.rpm", "requests_per_minute"),
    ("rate.burst", "burst"),
    ("rate.site_rpm", "site_requests_per_minute"),
    ("rate.site_burst", "site_burst"),
    ("concurrency", "concurrency"),
    ("retry.max_retries", "max_retries"),
    ("retry.base_ms", "backoff_base_ms"),
    ("retry.cap_ms", "backoff_cap_ms"),
    ("channel_timeout_secs", "channel_timeout_secs"),
    ("removal_threshold_pct", "removal_threshold_pct"),
    ("history.keep_runs", "keep_runs"),
    ("history.max_bytes", "history_max_bytes"),
];

/// Where a setting came from: its TOML key path and line.
struct Origin {
    key: String,
    line: usize,
}

struct Loader<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
    warnings: Vec<String>,
}

impl<'a> Loader<'a> {
    fn line_of(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }

    fn err(&self, line: usize, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: Some(line),
            key: Some(key.into()),
            message: message.into(),
        }
    }

    fn warn(&mut self, line: usize, key: &str, message: &str) {
        self.warnings
            .push(format!("{}:{line}: {key}: {message}", self.path.display()));
    }

    /// Apply one `[sync]` table onto `s`, remembering where each field came from.
    fn apply_sync(
        &self,
        raw: &RawSync,
        prefix: &str,
        s: &mut SyncSettings,
        origins: &mut BTreeMap<String, Origin>,
    ) {
        let mut note = |field: &str, key: &str, span: std::ops::Range<usize>| {
            origins.insert(
                field.to_string(),
                Origin {
                    key: format!("{prefix}.{key}"),
                    line: self.line_of(span.start),
                },
            );
        };
        macro_rules! set {
            ($raw:ident, $field:expr, $key:literal, $target:expr) => {
                if let Some(v) = &raw.$raw {
                    $target = v.get_ref().clone();
                    note($field, $key, v.span());
                }
            };
        }
        set!(
            requests_per_minute,
            "rate.rpm",
            "requests_per_minute",
            s.rate.rpm
        );
        set!(burst, "rate.burst", "burst", s.rate.burst);
        set!(scope, "rate.scope", "scope", s.rate.scope);
        set!(
            site_requests_per_minute,
            "rate.site_rpm",
            "site_requests_per_minute",
            s.rate.site_rpm
        );
        set!(
            site_burst,
            "rate.site_burst",
            "site_burst",
            s.rate.site_burst
        );
        set!(concurrency, "concurrency", "concurrency", s.concurrency);
        set!(
            max_retries,
            "retry.max_retries",
            "max_retries",
            s.retry.max_retries
        );
        set!(
            backoff_base_ms,
            "retry.base_ms",
            "backoff_base_ms",
            s.retry.base_ms
        );
        set!(
            backoff_cap_ms,
            "retry.cap_ms",
            "backoff_cap_ms",
            s.retry.cap_ms
        );
        set!(
            channel_timeout_secs,
            "channel_timeout_secs",
            "channel_timeout_secs",
            s.channel_timeout_secs
        );
        set!(
            removal_threshold_pct,
            "removal_threshold_pct",
            "removal_threshold_pct",
            s.removal_threshold_pct
        );
        set!(allow_empty, "allow_empty", "allow_empty", s.allow_empty);
        set!(
            skip_disabled,
            "skip_disabled",
            "skip_disabled",
            s.skip_disabled
        );
        set!(
            keep_runs,
            "history.keep_runs",
            "keep_runs",
            s.history.keep_runs
        );
        set!(
            history_max_bytes,
            "history.max_bytes",
            "history_max_bytes",
            s.history.max_bytes
        );
        set!(allow_list, "allow_list", "allow_list", s.allow_list);
        if let Some(rules) = &raw.rules {
            s.rules = rules.get_ref().iter().map(RawRule::to_rule).collect();
            note("rules", "rules", rules.span());
        }
        if let Some(r) = &raw.redirect {
            let v = r.get_ref();
            let t = &mut s.redirect;
            if let Some(x) = v.enabled {
                t.enabled = x;
            }
            if let Some(x) = &v.presets {
                t.presets = x.clone();
            }
            if let Some(x) = &v.standard_models {
                t.standard_models = x.clone();
            }
            if let Some(x) = &v.aliases {
                t.aliases = x
                    .iter()
                    .map(|a| msync_core::redirect::Alias {
                        name: a.name.clone(),
                        pattern: a.pattern.clone(),
                    })
                    .collect();
            }
            if let Some(x) = v.allow_dated_targets {
                t.matching.allow_dated_targets = x;
            }
            if let Some(x) = v.prune_missing_targets {
                t.prune_missing_targets = x;
            }
            note("redirect", "redirect", r.span());
        }
        if let Some(p) = &raw.price_check {
            let v = p.get_ref();
            let t = &mut s.price_check;
            if let Some(m) = v.mode {
                t.mode = m;
            }
            if let Some(u) = &v.fill_from {
                t.fill_from = Some(Box::new(u.clone()));
            }
            if let Some(x) = v.only_confident {
                t.only_confident = x;
            }
            note("price_check", "price_check", p.span());
        }
        if let Some(w) = &raw.price_watch {
            let v = w.get_ref();
            let t = &mut s.price_watch;
            if let Some(x) = v.enabled {
                t.enabled = x;
            }
            if let Some(u) = &v.upstream {
                t.upstream = Some(Box::new(u.clone()));
            }
            if let Some(x) = v.interval_minutes {
                t.interval_minutes = x;
            }
            if let Some(a) = &v.apply {
                let t = &mut t.apply;
                if let Some(x) = a.enabled {
                    t.enabled = x;
                }
                if let Some(x) = a.max_raise_pct {
                    t.max_raise_pct = x;
                }
                if let Some(x) = a.new_models {
                    t.new_models = x;
                }
                if let Some(x) = a.only_confident {
                    t.only_confident = x;
                }
            }
            note("price_watch", "price_watch", w.span());
        }
        if let Some(p) = &raw.probe {
            let v = p.get_ref();
            let t = &mut s.probe;
            if let Some(x) = v.enabled {
                t.enabled = x;
            }
            if let Some(x) = v.max_per_run {
                t.max_per_run = x;
            }
            if let Some(x) = v.max_per_channel {
                t.max_per_channel = x;
            }
            if let Some(x) = v.cache_ttl_days {
                t.cache_ttl_days = x;
            }
            if let Some(x) = v.on_cannot_probe {
                t.on_cannot_probe = x;
            }
            if let Some(x) = v.timeout_secs {
                t.timeout_secs = x;
            }
            note("probe", "probe", p.span());
        }
        for (id, ch) in raw.channels.iter().flatten() {
            let c = ch.get_ref();
            let entry: &mut ChannelConfig = s.channels.entry(id.clone()).or_default();
            if let Some(m) = c.mode {
                entry.mode = m;
            }
            if let Some(p) = &c.pinned {
                entry.pinned = p.clone();
            }
            if let Some(r) = &c.rules {
                entry.rules = r.iter().map(RawRule::to_rule).collect();
            }
            if let Some(e) = c.excluded {
                entry.excluded = e;
            }
            if c.allow_empty.is_some() {
                entry.allow_empty = c.allow_empty;
            }
            note(
                &format!("channels.{id}"),
                &format!("channels.{id}"),
                ch.span(),
            );
        }
    }

    /// A secret from `<what>_env`, `<what>_file` or plain `<what>` (exactly one).
    fn secret(
        &mut self,
        site_key: &str,
        site_line: usize,
        what: &str,
        (env, file, plain): (&S<String>, &S<String>, &S<String>),
        errors: &mut Vec<ConfigError>,
    ) -> Option<Secret> {
        let given = [env.is_some(), file.is_some(), plain.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if given == 0 {
            errors.push(self.err(
                site_line,
                format!("{site_key}.{what}_env"),
                format!("no {what} given: set {what}_env (an environment variable), {what}_file (a file with 0600 rights) or {what}"),
            ));
            return None;
        }
        if given > 1 {
            let line = [env, file, plain]
                .iter()
                .filter_map(|s| s.as_ref().map(|v| self.line_of(v.span().start)))
                .max()
                .unwrap_or(site_line);
            errors.push(self.err(
                line,
                format!("{site_key}.{what}"),
                format!("give only one of {what}_env, {what}_file and {what}"),
            ));
            return None;
        }
        if let Some(var) = env {
            let line = self.line_of(var.span().start);
            let name = var.get_ref().trim();
            return match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => Some(Secret(secret_text(what, &v))),
                Ok(_) => {
                    errors.push(self.err(
                        line,
                        format!("{site_key}.{what}_env"),
                        format!("environment variable {name} is empty"),
                    ));
                    None
                }
                Err(_) => {
                    errors.push(self.err(
                        line,
                        format!("{site_key}.{what}_env"),
                        format!("environment variable {name} is not set"),
                    ));
                    None
                }
            };
        }
        if let Some(f) = file {
            let line = self.line_of(f.span().start);
            let key = format!("{site_key}.{what}_file");
            let p = resolve(self.path, f.get_ref());
            match std::fs::read_to_string(&p) {
                Ok(text) => {
                    if let Some(mode) = loose_mode(&p) {
                        self.warn(
                            line,
                            &key,
                            &format!(
                                "{} is readable by other users (mode {mode:04o}); run chmod 600 on it",
                                p.display()
                            ),
                        );
                    }
                    if text.trim().is_empty() {
                        errors.push(self.err(line, key, format!("{} is empty", p.display())));
                        return None;
                    }
                    return Some(Secret(secret_text(what, &text)));
                }
                Err(e) => {
                    errors.push(self.err(
                        line,
                        key,
                        format!("cannot read {}: {}", p.display(), io_reason(&e)),
                    ));
                    return None;
                }
            }
        }
        let v = plain.as_ref()?;
        let line = self.line_of(v.span().start);
        self.warn(
            line,
            &format!("{site_key}.{what}"),
            &format!("the {what} is stored in plain text in the config; prefer {what}_env or {what}_file"),
        );
        if v.get_ref().trim().is_empty() {
            errors.push(self.err(
                line,
                format!("{site_key}.{what}"),
                format!("the {what} is empty"),
            ));
            return None;
        }
        Some(Secret(secret_text(what, v.get_ref())))
    }

    fn site(
        &mut self,
        index: usize,
        raw: &Spanned<RawSite>,
        global: &SyncSettings,
        global_origins: &BTreeMap<String, Origin>,
        names: &mut Vec<String>,
    ) -> Option<SiteConfig> {
        let site_line = self.line_of(raw.span().start);
        let r = raw.get_ref();
        let key = format!("sites[{index}]");
        let mut ok = true;
        let name = r.name.get_ref().trim().to_string();
        let name_line = self.line_of(r.name.span().start);
        if name.is_empty() {
            self.errors
                .push(self.err(name_line, format!("{key}.name"), "the site name is empty"));
            ok = false;
        } else if names.contains(&name) {
            self.errors.push(self.err(
                name_line,
                format!("{key}.name"),
                format!("another site is already called {name:?}"),
            ));
            ok = false;
        }
        names.push(name.clone());
        let kind_line = self.line_of(r.kind.span().start);
        let kind = SiteKind::parse(r.kind.get_ref().trim());
        if kind.is_none() {
            self.errors.push(self.err(
                kind_line,
                format!("{key}.type"),
                format!(
                    "unknown site type {:?} (new-api, veloera, done-hub, octopus, axonhub)",
                    r.kind.get_ref()
                ),
            ));
            ok = false;
        }
        let url_line = self.line_of(r.base_url.span().start);
        let base_url = r.base_url.get_ref().trim().to_string();
        let allow_insecure = r.allow_insecure.as_ref().is_some_and(|a| *a.get_ref());
        let refused = match BaseUrl::parse(&base_url) {
            Ok(u) if u.is_insecure() => {
                if allow_insecure {
                    self.warn(
                        url_line,
                        &format!("{key}.base_url"),
                        "plain http to a non-local host: credentials travel unencrypted (allow_insecure = true)",
                    );
                    None
                } else {
                    Some("plain http to a non-local host would send the credentials unencrypted: use https, or add allow_insecure = true to this site".to_string())
                }
            }
            Ok(_) => None,
            Err(BaseUrlError::Credentials) => {
                Some("put credentials in token_env/password_env, not in the URL".to_string())
            }
            Err(e @ BaseUrlError::QueryOrFragment) => Some(e.to_string()),
            Err(_) => Some("not an http(s) URL (e.g. https://gw.example.com)".to_string()),
        };
        if let Some(message) = refused {
            self.errors
                .push(self.err(url_line, format!("{key}.base_url"), message));
            ok = false;
        }
        let kind = kind?;
        let need = capabilities(kind).credentials;
        // Keys that do not belong to this site type.
        let token_site = need.uses_token();
        let misplaced: Vec<(&str, &S<String>)> = if token_site {
            vec![
                ("username", &r.username),
                ("email", &r.email),
                ("password_env", &r.password_env),
                ("password_file", &r.password_file),
                ("password", &r.password),
            ]
        } else {
            vec![
                ("token_env", &r.token_env),
                ("token_file", &r.token_file),
                ("token", &r.token),
            ]
        };
        for (k, v) in misplaced {
            if let Some(v) = v {
                self.errors.push(self.err(
                    self.line_of(v.span().start),
                    format!("{key}.{k}"),
                    format!("{k} is not used by {} sites", kind.label()),
                ));
                ok = false;
            }
        }
        if let Some(u) = &r.user_id {
            if !need.uses_user_id() {
                self.errors.push(self.err(
                    self.line_of(u.span().start),
                    format!("{key}.user_id"),
                    format!("user_id is not used by {} sites", kind.label()),
                ));
                ok = false;
            }
        }
        let mut cred_errors = Vec::new();
        let mut credentials = CredentialFields::default();
        if token_site {
            if need.uses_user_id() {
                match &r.user_id {
                    Some(u) if *u.get_ref() > 0 => credentials.user_id = Some(*u.get_ref()),
                    Some(u) => cred_errors.push(self.err(
                        self.line_of(u.span().start),
                        format!("{key}.user_id"),
                        "user_id must be a positive number (your admin user's id)",
                    )),
                    None => cred_errors.push(self.err(
                        site_line,
                        format!("{key}.user_id"),
                        format!(
                            "{} needs user_id (the id of the admin user the token belongs to)",
                            kind.label()
                        ),
                    )),
                }
            }
            if let Some(t) = self.secret(
                &key,
                site_line,
                "token",
                (&r.token_env, &r.token_file, &r.token),
                &mut cred_errors,
            ) {
                credentials.token = t;
            }
        } else {
            let what = match need.login_field() {
                Some(CredentialField::Email) => "email",
                _ => "username",
            };
            match (&r.username, &r.email) {
                (Some(a), Some(_)) => cred_errors.push(self.err(
                    self.line_of(a.span().start),
                    format!("{key}.{what}"),
                    "give only one of username and email",
                )),
                (Some(v), None) | (None, Some(v)) if !v.get_ref().trim().is_empty() => {
                    credentials.username = Some(v.get_ref().trim().to_string())
                }
                _ => cred_errors.push(self.err(
                    site_line,
                    format!("{key}.{what}"),
                    format!("{} needs {what} and a password", kind.label()),
                )),
            }
            if let Some(p) = self.secret(
                &key,
                site_line,
                "password",
                (&r.password_env, &r.password_file, &r.password),
                &mut cred_errors,
            ) {
                credentials.password = p;
            }
        }
        let mut settings = global.clone();
        // The site bucket's default depends on the site type (under the gateway's own limit)
        // unless `[sync]` set it.
        let (rpm, burst) = msync_core::settings::site_rate_defaults(kind);
        if !global_origins.contains_key("rate.site_rpm") {
            settings.rate.site_rpm = rpm;
        }
        if !global_origins.contains_key("rate.site_burst") {
            settings.rate.site_burst = burst;
        }
        let mut origins: BTreeMap<String, Origin> = global_origins
            .iter()
            .map(|(k, o)| {
                (
                    k.clone(),
                    Origin {
                        key: o.key.clone(),
                        line: o.line,
                    },
                )
            })
            .collect();
        if let Some(sync) = &r.sync {
            self.apply_sync(
                sync.get_ref(),
                &format!("{key}.sync"),
                &mut settings,
                &mut origins,
            );
        }
        if !self.check_settings(&settings, &origins, site_line, &format!("{key}.sync")) {
            ok = false;
        }
        let timeout_ms = match &r.request_timeout_secs {
            Some(t) if (1..=600).contains(t.get_ref()) => t.get_ref() * 1000,
            Some(t) => {
                self.errors.push(self.err(
                    self.line_of(t.span().start),
                    format!("{key}.request_timeout_secs"),
                    format!("must be between 1 and 600 (got {})", t.get_ref()),
                ));
                ok = false;
                30_000
            }
            None => 30_000,
        };
        let mut ca_roots = Vec::new();
        if let Some(f) = &r.ca_file {
            let line = self.line_of(f.span().start);
            let p = resolve(self.path, f.get_ref());
            let parsed = std::fs::read(&p)
                .map_err(|e| format!("cannot read {}: {}", p.display(), io_reason(&e)))
                .and_then(|pem| {
                    crate::transport::parse_ca_pem(&pem)
                        .map_err(|e| format!("{} is not a PEM certificate file: {e}", p.display()))
                });
            match parsed {
                Ok(certs) => ca_roots = certs,
                Err(e) => {
                    self.errors
                        .push(self.err(line, format!("{key}.ca_file"), e));
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        Some(SiteConfig {
            site: Site {
                id: SiteId(name.clone()),
                name,
                kind,
                base_url,
                credentials: need.shape(credentials),
                allow_insecure,
            },
            settings,
            timeout_ms,
            ca_roots,
            line: site_line,
            credential_errors: cred_errors,
        })
    }

    /// Run core's validation and locate each issue at the TOML key that set it.
    fn check_settings(
        &mut self,
        s: &SyncSettings,
        origins: &BTreeMap<String, Origin>,
        fallback_line: usize,
        fallback_prefix: &str,
    ) -> bool {
        let Err(issues) = s.validate() else {
            return true;
        };
        for issue in issues {
            let field = issue.field.as_str();
            // `channels.12.rules[0].pattern` → origin `channels.12`; `rules[1].pattern` → `rules`.
            let lookup = if field.starts_with("redirect.") {
                "redirect".to_string()
            } else if field.starts_with("price_check.") {
                "price_check".to_string()
            } else if field.starts_with("probe.") {
                "probe".to_string()
            } else if let Some(rest) = field.strip_prefix("channels.") {
                let id = rest.split('.').next().unwrap_or(rest);
                format!("channels.{id}")
            } else {
                field.split('[').next().unwrap_or(field).to_string()
            };
            let (key, line) = match origins.get(&lookup) {
                Some(o) => {
                    let tail = field.strip_prefix(lookup.as_str()).unwrap_or("");
                    let tail = if lookup.starts_with("channels.")
                        || lookup == "rules"
                        || lookup == "allow_list"
                        || lookup == "redirect"
                        || lookup == "price_check"
                        || lookup == "probe"
                    {
                        tail.to_string()
                    } else {
                        String::new()
                    };
                    (format!("{}{tail}", o.key), o.line)
                }
                None => {
                    let k = FIELD_KEYS
                        .iter()
                        .find(|(f, _)| *f == field)
                        .map(|(_, k)| *k)
                        .unwrap_or(field);
                    (format!("{fallback_prefix}.{k}"), fallback_line)
                }
            };
            self.errors.push(self.err(line, key, issue.message));
        }
        false
    }
}

/// Load and check a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read the config file: {}", io_reason(&e)),
        }])
    })?;
    parse(path, &text)
}

/// Parse configuration text (the file's path is used for messages and relative paths).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let line = line_of(text, offset);
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: Some(line),
            key: key_at(text, offset),
            message: scrub_parser_message(e.message()),
        }])
    })?;
    let mut loader = Loader {
        path,
        text,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut global = SyncSettings::default();
    let mut origins = BTreeMap::new();
    if let Some(sync) = &raw.sync {
        loader.apply_sync(sync.get_ref(), "sync", &mut global, &mut origins);
        let line = loader.line_of(sync.span().start);
        loader.check_settings(&global, &origins, line, "sync");
    }
    if raw.sites.is_empty() {
        loader.errors.push(ConfigError {
            file: path.to_path_buf(),
            line: None,
            key: Some("sites".into()),
            message: "no site configured; add a [[sites]] table (see `msync --help`)".into(),
        });
    }
    let mut names = Vec::new();
    let mut sites = Vec::new();
    for (i, raw_site) in raw.sites.iter().enumerate() {
        if let Some(s) = loader.site(i, raw_site, &global, &origins, &mut names) {
            sites.push(s);
        }
    }
    let notify = loader.notify(raw.notify.as_ref());
    let has_plain = raw
        .sites
        .iter()
        .any(|s| s.get_ref().token.is_some() || s.get_ref().password.is_some())
        || raw.notify.as_ref().is_some_and(|n| n.get_ref().has_plain());
    if has_plain {
        if let Some(mode) = loose_mode(path) {
            loader.warnings.push(format!(
                "{}: holds a plain-text secret and is readable by other users (mode {mode:04o}); run chmod 600 on it",
                path.display()
            ));
        }
    }
    if !loader.errors.is_empty() {
        loader.errors.sort_by_key(|e| e.line);
        loader.errors.dedup();
        return Err(ConfigErrors(loader.errors));
    }
    Ok(Config {
        path: path.to_path_buf(),
        sites,
        warnings: loader.warnings,
        notify,
    })
}

impl Config {
    /// The sites a command works on: the named one, or all.
    pub fn select(&self, name: Option<&str>) -> Result<Vec<&SiteConfig>, String> {
        match name {
            None => Ok(self.sites.iter().collect()),
            Some(n) => self
                .sites
                .iter()
                .find(|s| s.site.name == n)
                .map(|s| vec![s])
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        self.sites.iter().map(|s| s.site.name.as_str()).collect();
                    format!(
                        "no site named {n:?} in {} (sites: {})",
                        self.path.display(),
                        known.join(", ")
                    )
                }),
        }
    }
}

fn resolve(config: &Path, file: &str) -> PathBuf {
    let p = Path::new(file.trim());
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        config.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The file's mode when group or others may read it (Unix only).
#[cfg(unix)]
fn loose_mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn loose_mode(_: &Path) -> Option<u32> {
    None
}

/// A secret as configured. Tokens never hold spaces: surrounding whitespace is dropped. A
/// password is kept exactly, spaces at its edges included; only the line break that ends a
/// password file (`\n` or `\r\n`) is not part of it.
fn secret_text(what: &str, raw: &str) -> String {
    if what == "password" {
        let v = raw.strip_suffix('\n').unwrap_or(raw);
        v.strip_suffix('\r').unwrap_or(v).to_string()
    } else {
        raw.trim().to_string()
    }
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The dotted key at a byte offset: the enclosing table path plus the key left of `=`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let target = line_of(text, offset);
    let mut table = String::new();
    let mut site_index: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let t = strip_comment(line).trim();
        if t.starts_with('[') {
            let array = t.starts_with("[[");
            let name = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            // A malformed header line may hold a value (a secret): never echo it as a key.
            let name = if key_shaped(&name) {
                name
            } else {
                String::new()
            };
            if array && name == "sites" {
                site_index = Some(site_index.map_or(0, |i| i + 1));
            }
            table = match (name.strip_prefix("sites"), site_index) {
                (Some(rest), Some(i)) if rest.is_empty() || rest.starts_with('.') => {
                    format!("sites[{i}]{rest}")
                }
                _ => name,
            };
            if n == target {
                return (!table.is_empty()).then_some(table);
            }
            continue;
        }
        if n == target {
            let lhs = t
                .split_once('=')
                .map(|(k, _)| k.trim())
                .filter(|k| key_shaped(k))
                .map(|k| k.trim_matches('"'));
            return match lhs {
                Some(k) if !k.is_empty() && table.is_empty() => Some(k.to_string()),
                Some(k) if !k.is_empty() => Some(format!("{table}.{k}")),
                _ if table.is_empty() => None,
                _ => Some(table),
            };
        }
    }
    None
}

/// Whether text looks like a dotted TOML key as written (bare or quoted segments). Text from a
/// malformed line that does not is not shown as a key: it may be part of a value.
fn key_shaped(k: &str) -> bool {
    !k.is_empty()
        && k.split('.').all(|seg| {
            let s = seg.trim();
            let inner = |q: char| {
                s.len() >= 2 && s.starts_with(q) && s.ends_with(q) && !s[1..s.len() - 1].contains(q)
            };
            inner('"')
                || inner('\'')
                || (!s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        })
}

fn strip_comment(line: &str) -> &str {
    // Good enough for locating keys: a `#` outside quotes starts a comment.
    let mut in_str = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' | '\'' => in_str = !in_str,
            '#' if !in_str => return &line[..i],
            _ => {}
        }
    }
    line
}

/// The parser quotes offending values (`invalid type: string "sk-…", expected i64`); a value in
/// the wrong place may be a secret, so quoted strings are dropped from its messages.
fn scrub_parser_message(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(pos) = rest.find("string \"") {
        out.push_str(&rest[..pos + "string".len()]);
        let after = &rest[pos + "string \"".len()..];
        // Skip to the closing quote (escaped quotes are doubled backslash-quote in Debug form).
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i + 1);
                    break;
                }
                _ => escaped = false,
            }
        }
        rest = match end {
            Some(e) => &after[e..],
            None => "",
        };
    }
    out.push_str(rest);
    out.trim().replace('\n', "; ")
}

/// The platform's data directory for msync (`$XDG_DATA_HOME/msync`, `~/.local/share/msync`,
/// `~/Library/Application Support/msync`, `%APPDATA%\msync`).
pub fn default_state_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows) {
        if let Some(d) = env("APPDATA") {
            return d.join("msync");
        }
    } else if cfg!(target_os = "macos") {
        if let Some(h) = env("HOME") {
            return h.join("Library/Application Support/msync");
        }
    } else {
        if let Some(d) = env("XDG_DATA_HOME") {
            return d.join("msync");
        }
        if let Some(h) = env("HOME") {
            return h.join(".local/share/msync");
        }
    }
    PathBuf::from(FALLBACK_STATE_DIR)
}

/// Where the state goes when the platform has no data directory (no HOME): the current directory.
pub const FALLBACK_STATE_DIR: &str = ".msync";

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<ConfigError> {
        parse(Path::new("t.toml"), text).unwrap_err().0
    }

    #[test]
    fn parser_messages_drop_quoted_values() {
        let m = scrub_parser_message("invalid type: string \"sk-secret\\\"x\", expected i64");
        assert_eq!(m, "invalid type: string, expected i64");
    }

    #[test]
    fn keys_are_located() {
        let text = "[[sites]]\nname = \"a\"\n[sites.sync]\nburstt = 3\n[[sites]]\nfoo = 1\n[sync]\nx = 1\n";
        assert_eq!(
            key_at(text, text.find("burstt").unwrap()).as_deref(),
            Some("sites[0].sync.burstt")
        );
        assert_eq!(
            key_at(text, text.find("foo").unwrap()).as_deref(),
            Some("sites[1].foo")
        );
        assert_eq!(
            key_at(text, text.find("x =").unwrap()).as_deref(),
            Some("sync.x")
        );
    }

    #[test]
    fn settings_map_onto_core_names() {
        let text = r#"
[[sites]]
name = "a"
type = "done-hub"
base_url = "http://127.0.0.1:1"
token = "t"
[sites.sync]
concurrency = 4
[sync]
requests_per_minute = 600
burst = 9
scope = "global"
max_retries = 0
backoff_base_ms = 200
[sync.channels.7]
mode = "add-only"
pinned = ["x"]
"#;
        let c = parse(Path::new("t.toml"), text).unwrap();
        let s = &c.sites[0].settings;
        assert_eq!((s.rate.rpm, s.rate.burst, s.concurrency), (600, 9, 4));
        assert_eq!(s.rate.scope, LimitScope::Global);
        assert_eq!((s.retry.max_retries, s.retry.base_ms), (0, 200));
        assert_eq!(s.channel("7").mode, SyncMode::AddOnly);
        assert_eq!(s.channel("7").pinned, vec!["x".to_string()]);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(!c.warnings[0].contains("\"t\""));
    }

    #[test]
    fn out_of_range_is_reported_at_its_key() {
        let text = "[[sites]]\nname = \"a\"\ntype = \"done-hub\"\nbase_url = \"http://127.0.0.1:1\"\ntoken = \"t\"\n[sites.sync]\nconcurrency = 40\n[sync]\nburst = 0\n";
        let e = errs(text);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].line, Some(7));
        assert_eq!(e[0].key.as_deref(), Some("sites[0].sync.concurrency"));
        assert_eq!(e[1].line, Some(9));
        assert_eq!(e[1].key.as_deref(), Some("sync.burst"));
    }
}

//! Notifications as values (issue 19, `docs/notifications.md`): the events msync notifies
//! about, the sinks they go to (webhook, ntfy, Telegram) with their settings, and the delivery
//! log's entries. Sending (the exact requests, signatures, suppression) is `msync-core::notify`.

use crate::error::{Error, ErrorClass};
use crate::model::Secret;
use crate::ratio::RatioField;
use crate::settings::{FieldProblem, SinkAddress};
use serde::{Deserialize, Serialize};
use std::fmt;

pub const SIGNATURE_HEADER: &str = "X-Msync-Signature";
pub const TELEGRAM_API: &str = "https://api.telegram.org";
pub const NTFY_SERVER: &str = "https://ntfy.sh";
/// Which kind of event (what a sink chooses to receive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A run finished with failed channels.
    RunFailed,
    /// Items are held for review (guards, unpriced models held back).
    NeedsReview,
    /// An upstream price rose (or fell) by more than the threshold.
    PriceChange,
    /// The site could not be reached, or refused msync's credentials.
    SiteUnreachable,
    /// "Send test".
    Test,
}

impl EventKind {
    /// The kinds a sink can choose (a test always goes out).
    pub const CHOOSABLE: [EventKind; 4] = [
        EventKind::RunFailed,
        EventKind::NeedsReview,
        EventKind::PriceChange,
        EventKind::SiteUnreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RunFailed => "run_failed",
            EventKind::NeedsReview => "needs_review",
            EventKind::PriceChange => "price_change",
            EventKind::SiteUnreachable => "site_unreachable",
            EventKind::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        let s = s.trim().replace('-', "_");
        Self::CHOOSABLE
            .into_iter()
            .chain([EventKind::Test])
            .find(|k| k.as_str() == s)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One upstream price that moved (price watch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceMove {
    pub model: String,
    pub field: RatioField,
    /// `None`: the upstream had no value before (a new model).
    pub old: Option<f64>,
    /// `None`: the upstream dropped it.
    pub new: Option<f64>,
}

impl PriceMove {
    /// The change in per cent (rounded toward zero); `None` when there is no old value or it
    /// was 0.
    pub fn percent(&self) -> Option<i64> {
        match (self.old, self.new) {
            (Some(o), Some(n)) if o > 0.0 => Some(((n - o) / o * 100.0) as i64),
            _ => None,
        }
    }
}

impl Eq for PriceMove {}

/// What happened. The site is its name as the admin configured it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum NotifyEvent {
    RunFailed {
        site: String,
        run: String,
        failed: usize,
        total: usize,
    },
    NeedsReview {
        site: String,
        run: String,
        count: usize,
        /// Of the models held back, how many for lack of a price.
        #[serde(default)]
        held_unpriced: usize,
    },
    PriceChange {
        site: String,
        upstream: String,
        /// The moves over the threshold, largest rise first.
        moves: Vec<PriceMove>,
        threshold_pct: u32,
    },
    SiteUnreachable {
        site: String,
        class: ErrorClass,
        /// Redacted where the error was built (English when msync found the problem itself).
        message: String,
        /// What msync itself found wrong, as data (`Error::reason`), so a sink or page can
        /// word it in another language; `None` for a server's own failure.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<crate::reason::RunError>,
    },
    Test,
}

impl NotifyEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            NotifyEvent::RunFailed { .. } => EventKind::RunFailed,
            NotifyEvent::NeedsReview { .. } => EventKind::NeedsReview,
            NotifyEvent::PriceChange { .. } => EventKind::PriceChange,
            NotifyEvent::SiteUnreachable { .. } => EventKind::SiteUnreachable,
            NotifyEvent::Test => EventKind::Test,
        }
    }

    pub fn site(&self) -> Option<&str> {
        match self {
            NotifyEvent::RunFailed { site, .. }
            | NotifyEvent::NeedsReview { site, .. }
            | NotifyEvent::PriceChange { site, .. }
            | NotifyEvent::SiteUnreachable { site, .. } => Some(site),
            NotifyEvent::Test => None,
        }
    }

    /// What counts as "the same condition" for suppression: the kind and site; for a price
    /// change also each moved model, field and new value (a further change alerts again); for
    /// an unreachable site also the error class.
    pub fn condition(&self) -> String {
        let site = self.site().unwrap_or("");
        match self {
            NotifyEvent::PriceChange {
                upstream, moves, ..
            } => {
                let mut parts: Vec<String> = moves
                    .iter()
                    .map(|m| format!("{}:{}:{:?}", m.model, m.field, m.new))
                    .collect();
                parts.sort();
                format!("price_change\n{site}\n{upstream}\n{}", parts.join("\n"))
            }
            NotifyEvent::SiteUnreachable { class, .. } => {
                format!("site_unreachable\n{site}\n{}", class.as_str())
            }
            other => format!("{}\n{site}", other.kind()),
        }
    }

    /// A short title (English; the sinks' subject line).
    pub fn title(&self) -> String {
        match self {
            NotifyEvent::RunFailed { site, .. } => format!("msync: {site}: channels failed"),
            NotifyEvent::NeedsReview { site, .. } => format!("msync: {site}: needs review"),
            NotifyEvent::PriceChange { site, .. } => {
                format!("msync: {site}: upstream price change")
            }
            NotifyEvent::SiteUnreachable { site, .. } => format!("msync: {site}: unreachable"),
            NotifyEvent::Test => "msync: test notification".into(),
        }
    }

    /// Whether admins should look soon (ntfy priority, …).
    pub fn urgent(&self) -> bool {
        matches!(
            self,
            NotifyEvent::SiteUnreachable { .. } | NotifyEvent::PriceChange { .. }
        )
    }
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyEvent::RunFailed {
                site,
                run,
                failed,
                total,
            } => write!(
                f,
                "{site}: run {run} finished with {failed} of {total} channel(s) failed"
            ),
            NotifyEvent::NeedsReview {
                site,
                run,
                count,
                held_unpriced,
            } => {
                write!(f, "{site}: run {run} holds {count} channel(s) for review")?;
                if *held_unpriced > 0 {
                    write!(f, " ({held_unpriced} model(s) held back: no price)")?;
                }
                Ok(())
            }
            NotifyEvent::PriceChange {
                site,
                upstream,
                moves,
                threshold_pct,
            } => {
                write!(
                    f,
                    "{site}: {} price(s) from {upstream} moved more than {threshold_pct} %:",
                    moves.len()
                )?;
                for m in moves.iter().take(10) {
                    let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v}"));
                    write!(
                        f,
                        "\n  {} {}: {} -> {}",
                        m.model,
                        m.field,
                        num(m.old),
                        num(m.new)
                    )?;
                    if let Some(p) = m.percent() {
                        write!(f, " ({}{p} %)", if p > 0 { "+" } else { "" })?;
                    }
                }
                if moves.len() > 10 {
                    write!(f, "\n  … {} more", moves.len() - 10)?;
                }
                Ok(())
            }
            NotifyEvent::SiteUnreachable {
                site,
                class,
                message,
                ..
            } => write!(f, "{site}: unreachable ({class}): {message}"),
            NotifyEvent::Test => f.write_str("msync test notification: this sink works."),
        }
    }
}

/// One destination, with its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum Sink {
    Webhook {
        url: String,
        /// HMAC-SHA256 key for the signature header (empty = unsigned).
        #[serde(default, skip_serializing_if = "Secret::is_empty")]
        secret: Secret,
    },
    Ntfy {
        #[serde(default = "ntfy_server")]
        server: String,
        topic: String,
        /// Access token for a protected topic (empty = none).
        #[serde(default, skip_serializing_if = "Secret::is_empty")]
        token: Secret,
    },
    Telegram {
        #[serde(default = "telegram_api")]
        api_base: String,
        bot_token: Secret,
        chat_id: String,
    },
}

crate::stored_enum!(Sink, "type");

fn ntfy_server() -> String {
    NTFY_SERVER.into()
}

fn telegram_api() -> String {
    TELEGRAM_API.into()
}

impl Sink {
    pub fn type_name(&self) -> &'static str {
        match self {
            Sink::Webhook { .. } => "webhook",
            Sink::Ntfy { .. } => "ntfy",
            Sink::Telegram { .. } => "telegram",
        }
    }

    /// Every secret value, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        let s = match self {
            Sink::Webhook { secret, .. } => secret,
            Sink::Ntfy { token, .. } => token,
            Sink::Telegram { bot_token, .. } => bot_token,
        };
        if s.is_empty() {
            Vec::new()
        } else {
            vec![s.expose().to_string()]
        }
    }

    /// The same sink with its secrets blanked (for pages and exports; the stored record keeps
    /// them). `has_secret` tells a page whether one is set.
    pub fn redacted(&self) -> Sink {
        let mut s = self.clone();
        match &mut s {
            Sink::Webhook { secret, .. } => *secret = Secret::default(),
            Sink::Ntfy { token, .. } => *token = Secret::default(),
            Sink::Telegram { bot_token, .. } => *bot_token = Secret::default(),
        }
        s
    }

    pub fn has_secret(&self) -> bool {
        !self.secrets().is_empty()
    }

    /// Keep `old`'s secret where this one has none (a page saves a redacted sink back).
    pub fn keep_secret_from(&mut self, old: &Sink) {
        match (self, old) {
            (Sink::Webhook { secret, .. }, Sink::Webhook { secret: o, .. })
            | (Sink::Ntfy { token: secret, .. }, Sink::Ntfy { token: o, .. })
            | (
                Sink::Telegram {
                    bot_token: secret, ..
                },
                Sink::Telegram { bot_token: o, .. },
            ) if secret.is_empty() => *secret = o.clone(),
            _ => {}
        }
    }

    /// Why this sink cannot be used (`None` when it can).
    pub fn problem(&self) -> Option<FieldProblem> {
        let http = |what: SinkAddress, u: &str| {
            let ok = crate::base_url::parse_url(u.trim())
                .ok()
                .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            (!ok).then_some(FieldProblem::SinkNotHttp { what })
        };
        match self {
            Sink::Webhook { url, .. } => http(SinkAddress::WebhookUrl, url),
            Sink::Ntfy { server, topic, .. } => {
                http(SinkAddress::NtfyServer, server).or_else(|| {
                    let bad = topic.is_empty()
                        || topic.len() > 64
                        || !topic
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    // ntfy topics: `[-_A-Za-z0-9]{1,64}` (ntfy server/server.go `topicRegex`).
                    bad.then_some(FieldProblem::NtfyTopicInvalid)
                })
            }
            Sink::Telegram {
                api_base,
                bot_token,
                chat_id,
            } => http(SinkAddress::TelegramApiBase, api_base).or_else(|| {
                if bot_token.is_empty() {
                    Some(FieldProblem::TelegramTokenMissing)
                } else if chat_id.trim().is_empty() {
                    Some(FieldProblem::TelegramChatMissing)
                } else {
                    None
                }
            }),
        }
    }
}

/// A sink with its name and choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkConfig {
    /// Unique among the sinks ("ops-telegram").
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The event kinds it receives (empty = all).
    #[serde(default)]
    pub events: Vec<EventKind>,
    /// The sites it receives events about, by name or id (empty = all).
    #[serde(default)]
    pub sites: Vec<String>,
    pub sink: Sink,
}

fn yes() -> bool {
    true
}

impl SinkConfig {
    pub fn wants(&self, event: &NotifyEvent) -> bool {
        self.enabled
            && (self.events.is_empty() || self.events.contains(&event.kind()))
            && match event.site() {
                None => true,
                Some(site) => self.sites.is_empty() || self.sites.iter().any(|s| s == site),
            }
    }
}

/// Notification settings (one set for the whole extension or `msync.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifySettings {
    pub sinks: Vec<SinkConfig>,
    /// Repeats of the same condition within this many seconds are not sent again (default
    /// 24 h; 0 = never suppress).
    pub suppress_secs: u64,
    /// Price watch: alert when an upstream price moves by more than this (per cent).
    pub price_threshold_pct: u32,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            sinks: Vec::new(),
            suppress_secs: 24 * 3600,
            price_threshold_pct: 20,
        }
    }
}

impl NotifySettings {
    /// `(field, problem)` for every problem.
    pub fn issues(&self) -> Vec<(String, FieldProblem)> {
        let mut out = Vec::new();
        for (i, s) in self.sinks.iter().enumerate() {
            if s.name.trim().is_empty() {
                out.push((format!("sinks[{i}].name"), FieldProblem::SinkNameMissing));
            } else if self.sinks[..i].iter().any(|o| o.name == s.name) {
                let name = s.name.clone();
                out.push((
                    format!("sinks[{i}].name"),
                    FieldProblem::SinkNameTwice { name },
                ));
            }
            if s.events.contains(&EventKind::Test) {
                out.push((format!("sinks[{i}].events"), FieldProblem::TestIsNotAnEvent));
            }
            if let Some(p) = s.sink.problem() {
                out.push((format!("sinks[{i}].sink"), p));
            }
        }
        out
    }

    /// The settings with every secret blanked.
    pub fn redacted(&self) -> NotifySettings {
        let mut s = self.clone();
        for c in &mut s.sinks {
            c.sink = c.sink.redacted();
        }
        s
    }

    /// Every secret of every sink.
    pub fn secrets(&self) -> Vec<String> {
        self.sinks.iter().flat_map(|s| s.sink.secrets()).collect()
    }
}

/// What became of one event at one sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum DeliveryOutcome {
    Sent,
    /// The same condition was sent less than the suppression time ago.
    Suppressed {
        until_ms: u64,
    },
    /// The sink refused or could not be reached (redacted).
    Failed {
        error: Error,
    },
}

crate::stored_enum!(DeliveryOutcome, "outcome");

/// One entry of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Delivery {
    pub sink: String,
    pub event: EventKind,
    /// The site the event is about (`None` for a test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub at_ms: u64,
    pub outcome: DeliveryOutcome,
}

crate::stored_struct!(Delivery, ["sink", "event", "site", "at_ms"], "outcome");

impl Delivery {
    pub fn sent(&self) -> bool {
        self.outcome == DeliveryOutcome::Sent
    }
}

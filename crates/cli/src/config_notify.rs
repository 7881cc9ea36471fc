//! `[notify]` of `msync.toml` (issue 19, `docs/notifications.md`): where notifications go.
//!
//! ```toml
//! [notify]
//! suppress_hours = 24            # the same condition is sent at most once per this time
//! price_threshold_pct = 20       # price watch: alert on moves larger than this
//!
//! [[notify.sinks]]
//! name = "ops"
//! type = "telegram"              # webhook | ntfy | telegram
//! chat_id = "-1001234567890"
//! secret_env = "MSYNC_TG_TOKEN"  # the bot token (webhook: HMAC key; ntfy: access token)
//! # api_base = "https://api.telegram.org"
//! events = ["run_failed", "site_unreachable", "price_change", "needs_review"]  # default: all
//! sites = ["prod"]               # default: all
//! ```
//!
//! Secrets come from `secret_env`, `secret_file` (0600) or `secret` (warned), like gateway
//! credentials; they are redacted from every message.

use super::{Loader, Spanned, S};
use msync_core::model::Secret;
use msync_core::notify::{EventKind, NotifySettings, Sink, SinkConfig};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    suppress_hours: Option<f64>,
    price_threshold_pct: Option<u32>,
    #[serde(default)]
    sinks: Vec<Spanned<RawSink>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum SinkType {
    Webhook,
    Ntfy,
    Telegram,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    name: String,
    #[serde(rename = "type")]
    kind: SinkType,
    enabled: Option<bool>,
    #[serde(default)]
    events: Vec<EventKind>,
    #[serde(default)]
    sites: Vec<String>,
    /// webhook
    url: Option<String>,
    /// ntfy
    server: Option<String>,
    topic: Option<String>,
    /// telegram
    api_base: Option<String>,
    chat_id: Option<String>,
    secret_env: S<String>,
    secret_file: S<String>,
    secret: S<String>,
}

impl RawNotify {
    pub(super) fn has_plain(&self) -> bool {
        self.sinks.iter().any(|s| s.get_ref().secret.is_some())
    }
}

impl Loader<'_> {
    pub(super) fn notify(&mut self, raw: Option<&Spanned<RawNotify>>) -> NotifySettings {
        let mut out = NotifySettings::default();
        let Some(raw) = raw else {
            return out;
        };
        let line = self.line_of(raw.span().start);
        let r = raw.get_ref();
        if let Some(h) = r.suppress_hours {
            if !(0.0..=24.0 * 365.0).contains(&h) {
                let e = self.err(line, "notify.suppress_hours", "must be between 0 and 8760");
                self.errors.push(e);
            } else {
                out.suppress_secs = (h * 3600.0) as u64;
            }
        }
        if let Some(p) = r.price_threshold_pct {
            out.price_threshold_pct = p;
        }
        let mut lines = Vec::new();
        for (i, s) in r.sinks.iter().enumerate() {
            let sline = self.line_of(s.span().start);
            lines.push(sline);
            let v = s.get_ref();
            let key = format!("notify.sinks[{i}]");
            let any = v.secret_env.is_some() || v.secret_file.is_some() || v.secret.is_some();
            let mut errors = Vec::new();
            let secret = if any || v.kind == SinkType::Telegram {
                self.secret(
                    &key,
                    sline,
                    "secret",
                    (&v.secret_env, &v.secret_file, &v.secret),
                    &mut errors,
                )
            } else {
                Some(Secret::default())
            };
            self.errors.extend(errors);
            let secret = secret.unwrap_or_default();
            let need = |x: &Option<String>, what: &str, this: &mut Self| -> String {
                match x {
                    Some(v) => v.trim().to_string(),
                    None => {
                        let e = this.err(
                            sline,
                            format!("{key}.{what}"),
                            format!("a {} sink needs {what}", type_name(v.kind)),
                        );
                        this.errors.push(e);
                        String::new()
                    }
                }
            };
            let sink = match v.kind {
                SinkType::Webhook => Sink::Webhook {
                    url: need(&v.url, "url", self),
                    secret,
                },
                SinkType::Ntfy => Sink::Ntfy {
                    server: v
                        .server
                        .clone()
                        .unwrap_or_else(|| msync_core::notify::NTFY_SERVER.into()),
                    topic: need(&v.topic, "topic", self),
                    token: secret,
                },
                SinkType::Telegram => Sink::Telegram {
                    api_base: v
                        .api_base
                        .clone()
                        .unwrap_or_else(|| msync_core::notify::TELEGRAM_API.into()),
                    bot_token: secret,
                    chat_id: need(&v.chat_id, "chat_id", self),
                },
            };
            out.sinks.push(SinkConfig {
                name: v.name.trim().to_string(),
                enabled: v.enabled.unwrap_or(true),
                events: v.events.clone(),
                sites: v.sites.clone(),
                sink,
            });
        }
        for (field, problem) in out.issues() {
            // `sinks[2].sink` → the sink's line.
            let idx = field
                .strip_prefix("sinks[")
                .and_then(|r| r.split(']').next())
                .and_then(|n| n.parse::<usize>().ok());
            let at = idx.and_then(|i| lines.get(i).copied()).unwrap_or(line);
            let e = self.err(at, format!("notify.{field}"), problem.to_string());
            self.errors.push(e);
        }
        out
    }
}

fn type_name(t: SinkType) -> &'static str {
    match t {
        SinkType::Webhook => "webhook",
        SinkType::Ntfy => "ntfy",
        SinkType::Telegram => "telegram",
    }
}

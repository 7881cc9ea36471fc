//! Notifications (issue 19, `docs/notifications.md`): typed events, sinks (generic webhook with an
//! optional HMAC-SHA256 signature, ntfy, Telegram bot), per-sink choice of events and sites,
//! repeats of the same condition suppressed for a while (default 24 h), and a delivery log in
//! which failures are recorded — a notification that cannot be sent never fails a run.
//!
//! * [`NotifyEvent`] — what happened, as data; `Display` is the English text (CLI, sinks).
//! * [`Sink`] / [`SinkConfig`] / [`NotifySettings`] — where to send, stored with their secrets
//!   like gateway credentials ([`Secret`]: never in `Debug`, redacted from every error).
//! * [`request_for`] — the pure HTTP request a sink gets for an event.
//! * [`Notifier`] — sends through the [`Transport`], suppresses repeats on the [`Clock`], keeps
//!   the log in the [`KvStore`].

mod events;
mod sink;

pub use events::{events_of_run, EventKind, NotifyEvent, PriceMove};
pub use sink::{
    request_for, sign, NotifySettings, Sink, SinkConfig, NTFY_SERVER, SIGNATURE_HEADER,
    TELEGRAM_API,
};

use crate::clock::Clock;
use crate::error::{Error, ErrorClass};
use crate::http::Transport;
use crate::redact::redact;
use crate::store::KvStore;
use sha2::{Digest, Sha256};
use std::rc::Rc;

/// The delivery log's key and length.
pub const LOG_KEY: &str = "notify/log";
const LOG_KEEP: usize = 100;
/// `notify/last/<sink>/<condition hash>` → when that condition was last sent (ms).
pub const LAST_PREFIX: &str = "notify/last/";

pub use msync_types::notify::{Delivery, DeliveryOutcome};

pub struct Notifier {
    transport: Rc<dyn Transport>,
    clock: Rc<dyn Clock>,
    store: Rc<dyn KvStore>,
    settings: NotifySettings,
}

impl Notifier {
    pub fn new(
        transport: Rc<dyn Transport>,
        clock: Rc<dyn Clock>,
        store: Rc<dyn KvStore>,
        settings: NotifySettings,
    ) -> Notifier {
        Notifier {
            transport,
            clock,
            store,
            settings,
        }
    }

    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    /// Send `event` to every enabled sink that wants it (its event kinds and sites), unless
    /// the same condition was sent to that sink within the suppression time. Never fails: what
    /// happened is in the returned deliveries and the log.
    pub async fn notify(&self, event: &NotifyEvent) -> Vec<Delivery> {
        let mut out = Vec::new();
        for sink in self.settings.sinks.iter().filter(|s| s.wants(event)) {
            let d = self.deliver(sink, event, true).await;
            out.push(d);
        }
        self.log(&out).await;
        out
    }

    /// Send a test message to one sink (by name), ignoring its event and site choice and the
    /// suppression. `Err` when no sink has that name.
    pub async fn send_test(&self, sink: &str) -> Result<Delivery, Error> {
        let cfg = self
            .settings
            .sinks
            .iter()
            .find(|s| s.name == sink)
            .ok_or_else(|| Error::validation(format!("there is no notification sink {sink:?}")))?;
        let d = self.deliver(cfg, &NotifyEvent::Test, false).await;
        self.log(std::slice::from_ref(&d)).await;
        Ok(d)
    }

    /// The delivery log, oldest first.
    pub async fn history(&self) -> Vec<Delivery> {
        match self.store.get(LOG_KEY).await {
            Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    async fn deliver(&self, sink: &SinkConfig, event: &NotifyEvent, suppress: bool) -> Delivery {
        let now = self.clock.now_ms();
        let delivery = |outcome| Delivery {
            sink: sink.name.clone(),
            event: event.kind(),
            site: event.site().map(str::to_string),
            at_ms: now,
            outcome,
        };
        let last_key = format!(
            "{LAST_PREFIX}{}/{}",
            hex16(sink.name.as_bytes()),
            hex16(event.condition().as_bytes())
        );
        let window = self.settings.suppress_secs.saturating_mul(1000);
        if suppress && window > 0 {
            if let Ok(Some(t)) = self.store.get(&last_key).await {
                if let Ok(last) = t.trim().parse::<u64>() {
                    // A clock that went back does not suppress for ever.
                    if last <= now && now - last < window {
                        return delivery(DeliveryOutcome::Suppressed {
                            until_ms: last + window,
                        });
                    }
                }
            }
        }
        let secrets = sink.sink.secrets();
        let req = match request_for(&sink.sink, event, now) {
            Ok(r) => r,
            Err(e) => return delivery(DeliveryOutcome::Failed { error: e }),
        };
        let outcome = match self.transport.send(req).await {
            Err(e) => {
                let e: Error = e.into();
                DeliveryOutcome::Failed {
                    error: Error {
                        message: redact(&e.message, &secrets),
                        ..e
                    },
                }
            }
            Ok(resp) => match sink::check_answer(&sink.sink, &resp) {
                Ok(()) => DeliveryOutcome::Sent,
                Err(e) => DeliveryOutcome::Failed {
                    error: Error {
                        message: redact(&e.message, &secrets),
                        ..e
                    },
                },
            },
        };
        if outcome == DeliveryOutcome::Sent && suppress {
            // A store that refuses only costs a possible repeat, never the run.
            let _ = self.store.set(&last_key, now.to_string()).await;
        }
        delivery(outcome)
    }

    async fn log(&self, new: &[Delivery]) {
        if new.is_empty() {
            return;
        }
        let mut all = self.history().await;
        all.extend(new.iter().cloned());
        let drop = all.len().saturating_sub(LOG_KEEP);
        all.drain(..drop);
        if let Ok(text) = serde_json::to_string(&all) {
            let _ = self.store.set(LOG_KEY, text).await;
        }
    }
}

/// The first 16 hex digits of SHA-256: short, stable store keys that carry no names.
fn hex16(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Redact a sink's secrets from a text (exported for the pages' error display).
pub fn redact_sink(text: &str, sink: &Sink) -> String {
    redact(text, &sink.secrets())
}

/// Whether an error class means the gateway could not be reached or refused msync's
/// credentials (the "site unreachable" event).
pub fn unreachable_class(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Network | ErrorClass::Timeout | ErrorClass::Auth
    )
}

#[cfg(test)]
mod tests;

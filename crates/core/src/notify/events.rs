//! The events msync notifies about, as data.

use crate::engine::record::{ItemStatus, RunRecord, RunState};
use crate::error::ErrorClass;
use crate::ratio::RatioField;
use serde::{Deserialize, Serialize};
use std::fmt;

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
        /// Redacted where the error was built.
        message: String,
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
            } => write!(f, "{site}: unreachable ({class}): {message}"),
            NotifyEvent::Test => f.write_str("msync test notification: this sink works."),
        }
    }
}

/// The events a finished run gives: failures, items held for review, an unreachable site.
pub fn events_of_run(site: &str, rec: &RunRecord) -> Vec<NotifyEvent> {
    let mut out = Vec::new();
    let h = &rec.head;
    if h.state == RunState::Failed {
        if let Some(e) = h
            .error
            .as_ref()
            .filter(|e| super::unreachable_class(e.class))
        {
            out.push(NotifyEvent::SiteUnreachable {
                site: site.to_string(),
                class: e.class,
                message: e.message.clone(),
            });
            return out;
        }
    }
    let failed = rec
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::Failed)
        .count();
    if failed > 0 || h.state == RunState::Failed {
        out.push(NotifyEvent::RunFailed {
            site: site.to_string(),
            run: h.id.0.clone(),
            failed,
            total: h.totals.total,
        });
    }
    let review = rec
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::NeedsReview)
        .count();
    if review > 0 {
        out.push(NotifyEvent::NeedsReview {
            site: site.to_string(),
            run: h.id.0.clone(),
            count: review,
            held_unpriced: h.pricing.as_ref().map_or(0, |p| p.held.len()),
        });
    }
    out
}

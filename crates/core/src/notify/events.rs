//! The events msync notifies about, as data.

use crate::engine::record::{ItemStatus, RunRecord, RunState};

pub use msync_types::notify::{EventKind, NotifyEvent, PriceMove};

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
                reason: e.reason.clone(),
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

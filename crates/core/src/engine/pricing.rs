//! The price check after sync (issue 19) inside the engine: the site's prices are read once per
//! run, each channel's plan is checked as it is made ([`Engine::price_gate`]), and the run's
//! summary — with the fill through the ratio apply path — goes into its head
//! ([`Engine::finish_prices`]). The rules themselves are the pure functions of
//! [`crate::pricing`]; `docs/pricing-check.md` describes the behaviour.

use super::plan::{list_diff, same_set, ChannelPlan, Decision};
use super::record::{ChannelState, ItemResult, ItemStatus};
use super::Engine;
use crate::error::Error;
use crate::pricing::{self, PriceCheckMode, PriceState, RunPricing};
use crate::reason::{ItemReason, ReviewReason};
use std::collections::HashSet;
use std::rc::Rc;

impl Engine {
    /// Read the site's prices for this run (nothing when the check is off).
    pub(super) async fn load_prices(&self) {
        let mode = self.settings.price_check.mode;
        let state = if mode == PriceCheckMode::Off {
            None
        } else {
            Some(match self.gw.read_prices().await {
                Ok(Some(book)) => PriceState::Known(book),
                Ok(None) => PriceState::NoPriceApi,
                Err(e) => PriceState::Unreadable(e),
            })
        };
        *self.prices.borrow_mut() = state.map(Rc::new);
    }

    /// Check one channel's plan. Sets `plan.price`; when holding back, takes the unpriced models
    /// out of the write and returns the entry that confirms them (decision `NeedsReview`).
    pub(super) fn price_gate(&self, plan: &mut ChannelPlan) -> Option<Box<ChannelPlan>> {
        let state = self.prices.borrow().clone()?;
        let check = pricing::gate(self.settings.price_check.mode, &state, &plan.added)?;
        let held = check.held.clone();
        let reason = ReviewReason::NoPrice {
            count: held.len(),
            unknown: check.unknown,
        };
        plan.price = Some(check);
        // Another guard already holds the whole channel: applying it confirms everything.
        if held.is_empty() || plan.decision != Decision::Write {
            return None;
        }
        let mut confirm = plan.clone();
        confirm.decision = Decision::NeedsReview {
            reason: reason.clone(),
        };
        let held: HashSet<&str> = held.iter().map(String::as_str).collect();
        plan.new.retain(|m| !held.contains(m.as_str()));
        plan.added.retain(|m| !held.contains(m.as_str()));
        if same_set(&plan.new, &plan.before.models) {
            // Nothing but unpriced additions: nothing is written.
            plan.new = plan.before.models.clone();
            plan.decision = Decision::NeedsReview { reason };
        }
        Some(Box::new(confirm))
    }

    /// The probe step (issue 21) ran after the price gate and held back models that failed:
    /// the confirming entry leaves them out too, so applying it adds the unpriced models only.
    pub(super) fn drop_probe_held(plan: &ChannelPlan, confirm: &mut ChannelPlan) {
        let failed: HashSet<&str> = plan
            .probes
            .iter()
            .filter(|p| p.held_back)
            .map(|p| p.model.as_str())
            .collect();
        if failed.is_empty() {
            return;
        }
        confirm.new.retain(|m| !failed.contains(m.as_str()));
        confirm.added.retain(|m| !failed.contains(m.as_str()));
        confirm.probes = plan.probes.clone();
    }

    /// The item and stored entry of a channel whose unpriced models were held back. When the
    /// other changes were written, the confirming entry starts from what was written (so
    /// applying it is not refused as "changed since the plan").
    pub(super) fn held_for_price(
        &self,
        mut item: ItemResult,
        plan: &ChannelPlan,
        written: bool,
        mut confirm: ChannelPlan,
    ) -> (ItemResult, Option<ChannelPlan>) {
        item.status = ItemStatus::NeedsReview;
        if let Decision::NeedsReview { reason } = &confirm.decision {
            item.reason = Some(ItemReason::Review(reason.clone()));
        }
        if written {
            confirm.before = ChannelState {
                models: plan.new.clone(),
                mapping: plan.before.mapping.clone(),
            };
            (confirm.added, confirm.removed) = list_diff(&plan.new, &confirm.new);
        }
        (item, Some(confirm))
    }

    /// The run's price summary; in fill mode (not a dry run), the prices of the added models
    /// that have none are filled from the chosen upstream. A fill that fails is recorded in the
    /// summary and never fails the run.
    pub(super) async fn finish_prices(
        &self,
        items: &[ItemResult],
        dry_run: bool,
    ) -> Option<Box<RunPricing>> {
        let state = self.prices.borrow_mut().take()?;
        let cfg = &self.settings.price_check;
        let mut summary = crate::pricing::run_pricing(
            cfg.mode,
            &state,
            items.iter().filter_map(|i| i.price.as_ref()),
        );
        // Only models that were written: a failed or skipped channel added nothing.
        if cfg.mode == PriceCheckMode::Fill && !dry_run && !summary.unpriced.is_empty() {
            let written: HashSet<&str> = items
                .iter()
                .filter(|i| i.status == ItemStatus::Success)
                .flat_map(|i| i.price.iter().flat_map(|p| p.unpriced.iter()))
                .map(String::as_str)
                .collect();
            let models: Vec<String> = summary
                .unpriced
                .iter()
                .filter(|m| written.contains(m.as_str()))
                .cloned()
                .collect();
            if let (Some(upstream), false) = (&cfg.fill_from, models.is_empty()) {
                let fill = match self.gw.ratio_sync(self.store.clone()) {
                    Some(Ok(sync)) => {
                        pricing::fill_prices(&sync, upstream, &models, cfg.only_confident).await
                    }
                    Some(Err(e)) => failed_fill(upstream.display_name(), &models, e),
                    None => failed_fill(
                        upstream.display_name(),
                        &models,
                        Error::found(
                            crate::error::ErrorClass::Validation,
                            crate::reason::RunError::NoRatioSync {
                                site: self.gw.site().kind,
                            },
                        ),
                    ),
                };
                let filled: HashSet<&str> = fill.filled.iter().map(String::as_str).collect();
                summary.unpriced.retain(|m| !filled.contains(m.as_str()));
                summary.fill = Some(fill);
            }
        }
        Some(Box::new(summary))
    }
}

fn failed_fill(upstream: String, models: &[String], e: Error) -> pricing::PriceFill {
    pricing::PriceFill {
        upstream,
        missing: models.to_vec(),
        error: Some(e),
        ..Default::default()
    }
}

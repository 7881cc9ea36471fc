//! The probe step (issue 21, `docs/probe.md`): before a run adds models to a channel, each is
//! tested through the gateway's own channel test; a model that fails is held back (not added)
//! and recorded with the gateway's answer. Models already on the channel are never probed here
//! ([`Engine::probe_models`] is the explicit "re-verify" call).
//!
//! Cost control: probes go through the site bucket (the adapter's transport is wrapped by it),
//! a per-run and a per-channel budget, and a cache per (site, channel, model) with a TTL. A dry
//! run sends nothing: it marks the models it would probe (the estimate), within the budgets.

use super::deadline::Deadline;
use super::plan::{ChannelPlan, Decision};
use super::record::ItemResult;
use super::Engine;
use crate::error::{Error, ErrorClass, Result};
use crate::model::Channel;
use crate::probe::{
    CachedProbe, CannotProbe, ChannelHealth, HealthStore, ModelProbe, ProbeCache, ProbeFailure,
    ProbeOutcome,
};
use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};

/// Probes the current run may still send (reset when a run starts).
#[derive(Debug, Default)]
pub(super) struct RunBudget(Cell<u32>);

impl RunBudget {
    pub(super) fn reset(&self, n: u32) {
        self.0.set(n);
    }

    fn take(&self) -> bool {
        match self.0.get() {
            0 => false,
            n => {
                self.0.set(n - 1);
                true
            }
        }
    }
}

/// What [`Engine::probe_models`] is asked to do.
pub enum ProbeMode {
    /// Probe, and store the result in the cache.
    Send,
    /// Send nothing; say which models would be probed.
    Estimate,
}

impl Engine {
    /// The probe step of one planned channel: probe what the plan adds and hold back what
    /// fails. Runs only when probing is on and the plan writes; `Err` only when the cache
    /// cannot be read or written (class `storage`).
    pub(super) async fn probe_plan(
        &self,
        channel: &Channel,
        plan: &mut ChannelPlan,
        dry_run: bool,
        deadline: Option<u64>,
    ) -> Result<()> {
        let on = &self.settings.probe;
        let writes = matches!(
            plan.decision,
            Decision::Write | Decision::NeedsReview { .. }
        );
        if !on.enabled || !writes || plan.added.is_empty() {
            return Ok(());
        }
        let mode = if dry_run {
            ProbeMode::Estimate
        } else {
            ProbeMode::Send
        };
        let probes = self
            .probe_list(channel, &plan.added, mode, false, deadline)
            .await?;
        let held: HashSet<&str> = probes
            .iter()
            .filter(|p| p.held_back)
            .map(|p| p.model.as_str())
            .collect();
        if !held.is_empty() {
            plan.new.retain(|m| !held.contains(m.as_str()));
            plan.added.retain(|m| !held.contains(m.as_str()));
            if plan.added.is_empty() && plan.removed.is_empty() {
                plan.decision = Decision::Unchanged;
            }
        }
        plan.probes = probes;
        Ok(())
    }

    /// Probe `models` on `channel` explicitly ("re-verify", `msync probe`): the cache is
    /// bypassed (results are stored), the run budget does not apply, the channel budget does
    /// unless `unlimited`.
    pub async fn probe_models(
        &self,
        channel: &Channel,
        models: &[String],
        mode: ProbeMode,
        unlimited: bool,
    ) -> Result<Vec<ModelProbe>> {
        self.probe_list(channel, models, mode, unlimited, None)
            .await
    }

    async fn probe_list(
        &self,
        channel: &Channel,
        models: &[String],
        mode: ProbeMode,
        explicit: bool,
        deadline: Option<u64>,
    ) -> Result<Vec<ModelProbe>> {
        let on = &self.settings.probe;
        let test = self.gw.capabilities().channel_test;
        let ttl = on.ttl_ms();
        let cache = ProbeCache::new(&*self.store, self.site.clone());
        let mut cached: BTreeMap<String, CachedProbe> = if test.is_supported() {
            cache.channel(&channel.id).await?
        } else {
            BTreeMap::new()
        };
        let mut cache_changed = false;
        let mut sent = 0u32;
        let mut disabled = !channel.enabled;
        let timeout_ms = u64::from(on.timeout_secs) * 1000;
        let mut out = Vec::with_capacity(models.len());
        for model in models {
            let now = self.clock.now_ms();
            let mut cached_from_ms = None;
            let outcome = if !test.is_supported() {
                ProbeOutcome::CannotProbe {
                    why: CannotProbe::NoEndpoint,
                }
            } else if let Some(hit) =
                ProbeCache::fresh(&cached, model, now, ttl).filter(|_| !explicit)
            {
                // A definite answer wins, also on a channel disabled since (DoneHub disables
                // the channel on some failed tests; a retry of the channel meets it disabled).
                cached_from_ms = Some(hit.at_ms);
                hit.outcome
            } else if disabled {
                ProbeOutcome::CannotProbe {
                    why: CannotProbe::ChannelDisabled,
                }
            } else if !explicit && sent >= on.max_per_channel {
                ProbeOutcome::CannotProbe {
                    why: CannotProbe::ChannelBudget,
                }
            } else if !explicit && !self.probe_budget.take() {
                ProbeOutcome::CannotProbe {
                    why: CannotProbe::RunBudget,
                }
            } else if let ProbeMode::Estimate = mode {
                sent += 1;
                ProbeOutcome::WouldProbe
            } else {
                sent += 1;
                let outcome = self.probe_one(channel, model, timeout_ms, deadline).await;
                if let ProbeOutcome::Failed { answer, .. } = &outcome {
                    // DoneHub disabled the channel: the next tests would only meet that.
                    disabled |= answer.channel_disabled;
                }
                if outcome.cacheable() && ttl > 0 {
                    cached.insert(
                        model.clone(),
                        CachedProbe {
                            at_ms: self.clock.now_ms(),
                            outcome: outcome.clone(),
                        },
                    );
                    cache_changed = true;
                }
                outcome
            };
            out.push(ModelProbe {
                model: model.clone(),
                held_back: outcome.holds_back(on.on_cannot_probe),
                outcome,
                cached_from_ms,
            });
        }
        if cache_changed {
            cache
                .put(&channel.id, cached, self.clock.now_ms(), ttl)
                .await?;
        }
        Ok(out)
    }

    /// Send one channel test and classify the answer.
    async fn probe_one(
        &self,
        channel: &Channel,
        model: &str,
        timeout_ms: u64,
        deadline: Option<u64>,
    ) -> ProbeOutcome {
        let sent = self
            .within(deadline, self.gw.test_channel(channel, model, timeout_ms))
            .await;
        match sent {
            Err(Deadline) => ProbeOutcome::CannotProbe {
                why: CannotProbe::Timeout,
            },
            Ok(Ok(reply)) if reply.passed => ProbeOutcome::Passed {
                answer: reply.answer,
            },
            Ok(Ok(reply)) => ProbeOutcome::Failed {
                failure: ProbeFailure::classify(&reply.answer),
                answer: reply.answer,
            },
            Ok(Err(e)) => ProbeOutcome::CannotProbe {
                why: cannot_probe(e),
            },
        }
    }

    /// Fold a finished sync item into its channel's health record (not for dry runs).
    pub(super) async fn record_health(&self, item: &ItemResult) -> Result<()> {
        use super::record::ItemStatus;
        let good = matches!(item.status, ItemStatus::Success | ItemStatus::Unchanged);
        let failed = item.status == ItemStatus::Failed;
        if !good && !failed {
            return Ok(());
        }
        let store = HealthStore::new(&*self.store, self.site.clone());
        let mut h: ChannelHealth = store.get(&item.channel_id).await?;
        h.record(good, failed, item.finished_ms);
        store.put(&item.channel_id, &h).await
    }
}

fn cannot_probe(e: Error) -> CannotProbe {
    match e.class {
        ErrorClass::Timeout => CannotProbe::Timeout,
        ErrorClass::NotFound if e.http_status == Some(404) => CannotProbe::EndpointMissingOnVersion,
        class => CannotProbe::Error {
            class,
            http_status: e.http_status,
            message: e.message,
        },
    }
}

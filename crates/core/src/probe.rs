//! Probe before adding (issue 21, `docs/probe.md`): a model a run would add is first tested
//! through the gateway's own channel test, with the channel's own key, and held back when the
//! gateway says it does not answer.
//!
//! The vocabulary (settings, outcomes, the per-gateway capability, the failure classifier,
//! channel health) lives in `msync-types` (`crates/types/src/probe.rs`, re-exported here) so the
//! pages read it without the engine. This module holds the result cache and the health store.
//! The engine step that uses them is `engine/probe.rs`; each adapter's `test_channel` speaks its
//! gateway's endpoint.

pub use msync_types::probe::*;

use crate::error::{Error, Result};
use crate::model::{ChannelId, SiteId};
use crate::store::KvStore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ----- the cache ---------------------------------------------------------------------------

fn enc(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

/// One cached result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedProbe {
    pub at_ms: u64,
    pub outcome: ProbeOutcome,
}

/// Probe results per (site, channel, model), one store key per channel
/// (`sync/{site}/probe/{channel}`): only that channel's turn in a run touches it, so concurrent
/// channels never overwrite each other's entries.
pub struct ProbeCache<'a> {
    store: &'a dyn KvStore,
    site: SiteId,
}

impl<'a> ProbeCache<'a> {
    pub fn new(store: &'a dyn KvStore, site: SiteId) -> Self {
        ProbeCache { store, site }
    }

    fn key(&self, channel: &ChannelId) -> String {
        format!("sync/{}/probe/{}", enc(&self.site.0), enc(&channel.0))
    }

    /// Every stored result of a channel (expired ones included; see [`Self::fresh`]).
    pub async fn channel(&self, channel: &ChannelId) -> Result<BTreeMap<String, CachedProbe>> {
        let key = self.key(channel);
        match self.store.get(&key).await {
            Ok(Some(text)) => Ok(serde_json::from_str(&text).unwrap_or_default()),
            Ok(None) => Ok(BTreeMap::new()),
            Err(e) => Err(Error::storage(format!(
                "could not use local storage: {}",
                e.0
            ))),
        }
    }

    /// The entries of `all` younger than `ttl_ms` at `now`.
    pub fn fresh(
        all: &BTreeMap<String, CachedProbe>,
        model: &str,
        now: u64,
        ttl_ms: u64,
    ) -> Option<CachedProbe> {
        all.get(model)
            .filter(|c| ttl_ms > 0 && now.saturating_sub(c.at_ms) < ttl_ms)
            .cloned()
    }

    /// Store the results of this channel, dropping entries older than `ttl_ms`.
    pub async fn put(
        &self,
        channel: &ChannelId,
        mut all: BTreeMap<String, CachedProbe>,
        now: u64,
        ttl_ms: u64,
    ) -> Result<()> {
        all.retain(|_, c| ttl_ms > 0 && now.saturating_sub(c.at_ms) < ttl_ms);
        let key = self.key(channel);
        let res = if all.is_empty() {
            self.store.remove(&key).await
        } else {
            let text = serde_json::to_string(&all)
                .map_err(|e| Error::validation(format!("could not encode {key}: {e}")))?;
            self.store.set(&key, text).await
        };
        res.map_err(|e| Error::storage(format!("could not use local storage: {}", e.0)))
    }

    /// Forget a channel's results ("re-verify").
    pub async fn clear(&self, channel: &ChannelId) -> Result<()> {
        self.store
            .remove(&self.key(channel))
            .await
            .map_err(|e| Error::storage(format!("could not use local storage: {}", e.0)))
    }
}

// ----- channel health: last good sync, failures in a row ---------------------------------
/// Per-channel health records of a site (`sync/{site}/health/{channel}`).
pub struct HealthStore<'a> {
    store: &'a dyn KvStore,
    site: SiteId,
}

impl<'a> HealthStore<'a> {
    pub fn new(store: &'a dyn KvStore, site: SiteId) -> Self {
        HealthStore { store, site }
    }

    fn prefix(&self) -> String {
        format!("sync/{}/health/", enc(&self.site.0))
    }

    pub async fn get(&self, channel: &ChannelId) -> Result<ChannelHealth> {
        let key = format!("{}{}", self.prefix(), enc(&channel.0));
        match self.store.get(&key).await {
            Ok(Some(text)) => Ok(serde_json::from_str(&text).unwrap_or_default()),
            Ok(None) => Ok(ChannelHealth::default()),
            Err(e) => Err(Error::storage(format!(
                "could not use local storage: {}",
                e.0
            ))),
        }
    }

    pub async fn put(&self, channel: &ChannelId, health: &ChannelHealth) -> Result<()> {
        let key = format!("{}{}", self.prefix(), enc(&channel.0));
        let text = serde_json::to_string(health)
            .map_err(|e| Error::validation(format!("could not encode {key}: {e}")))?;
        self.store
            .set(&key, text)
            .await
            .map_err(|e| Error::storage(format!("could not use local storage: {}", e.0)))
    }

    /// Every channel's record, by channel id.
    pub async fn all(&self) -> Result<BTreeMap<String, ChannelHealth>> {
        let prefix = self.prefix();
        let keys = self
            .store
            .keys(&prefix)
            .await
            .map_err(|e| Error::storage(format!("could not use local storage: {}", e.0)))?;
        let mut out = BTreeMap::new();
        for key in keys {
            let id = key[prefix.len()..].replace("%2F", "/").replace("%25", "%");
            let h = self.get(&ChannelId(id.clone())).await?;
            out.insert(id, h);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(message: &str, code: Option<&str>) -> ProbeAnswer {
        ProbeAnswer {
            http_status: 200,
            message: Some(message.into()),
            error_code: code.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn failures_are_classified_from_the_gateways_answer() {
        let rows: &[(&str, Option<&str>, ProbeFailure)] = &[
            (
                "The model `gpt-9` does not exist or you do not have access to it.",
                None,
                ProbeFailure::ModelNotFound,
            ),
            (
                "You exceeded your current quota, please check your plan and billing details.",
                None,
                ProbeFailure::Quota,
            ),
            ("测速失败，原因：余额不足", None, ProbeFailure::Quota),
            (
                "model gpt-x ratio or price not set",
                Some("model_price_error"),
                ProbeFailure::PriceMissing,
            ),
            (
                "Your organization is not allowed to use this model (tier)",
                None,
                ProbeFailure::ModelRefused,
            ),
            ("upstream error: overloaded", None, ProbeFailure::Other),
        ];
        for (message, code, want) in rows {
            assert_eq!(
                ProbeFailure::classify(&answer(message, *code)),
                *want,
                "{message}"
            );
        }
    }

    #[test]
    fn hold_back_follows_the_outcome_and_the_setting() {
        let failed = ProbeOutcome::Failed {
            failure: ProbeFailure::Quota,
            answer: ProbeAnswer::default(),
        };
        let cannot = ProbeOutcome::CannotProbe {
            why: CannotProbe::Timeout,
        };
        let passed = ProbeOutcome::Passed {
            answer: ProbeAnswer::default(),
        };
        assert!(failed.holds_back(OnCannotProbe::AddAnyway));
        assert!(!cannot.holds_back(OnCannotProbe::AddAnyway));
        assert!(cannot.holds_back(OnCannotProbe::HoldBack));
        assert!(!passed.holds_back(OnCannotProbe::HoldBack));
        assert!(!cannot.cacheable() && failed.cacheable() && passed.cacheable());
    }

    #[test]
    fn settings_ranges_are_checked() {
        let ok = ProbeSettings::default();
        assert!(ok.issues().is_empty());
        assert_eq!(ok.ttl_ms(), 7 * 86_400_000);
        let bad = ProbeSettings {
            max_per_run: 0,
            max_per_channel: 101,
            cache_ttl_days: 400,
            timeout_secs: 1,
            ..ok
        };
        let fields: Vec<&str> = bad.issues().iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "probe.max_per_run",
                "probe.max_per_channel",
                "probe.cache_ttl_days",
                "probe.timeout_secs"
            ]
        );
    }

    #[test]
    fn health_counts_failures_in_a_row_and_resets_on_a_good_run() {
        let mut h = ChannelHealth::default();
        h.record(false, true, 10);
        h.record(false, true, 20);
        h.record(false, false, 25); // skipped: neither good nor failed
        assert_eq!(h.failures_in_row, 2);
        assert_eq!(h.last_good_ms, None);
        h.record(true, false, 30);
        assert_eq!((h.failures_in_row, h.last_good_ms), (0, Some(30)));
    }

    #[test]
    fn outcomes_serialise_as_values_and_render_in_english() {
        let p = ModelProbe {
            model: "gpt-x".into(),
            outcome: ProbeOutcome::Failed {
                failure: ProbeFailure::ModelNotFound,
                answer: ProbeAnswer {
                    http_status: 200,
                    message: Some("model not found".into()),
                    response_ms: Some(1200),
                    error_code: None,
                    channel_disabled: false,
                },
            },
            held_back: true,
            cached_from_ms: None,
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["outcome"]["failed"]["failure"], "model_not_found");
        assert_eq!(v["outcome"]["failed"]["answer"]["response_ms"], 1200);
        let back: ModelProbe = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            p.to_string(),
            "gpt-x: failed: the upstream does not know the model (HTTP 200, 1200 ms: model not found) — held back"
        );
    }
}

//! Probe before adding (issue 21, `docs/probe.md`): a model a run would add is first tested
//! through the gateway's own channel test, with the channel's own key, and held back when the
//! gateway says it does not answer.
//!
//! This module holds the vocabulary (settings, outcomes, the per-gateway capability), the
//! failure classifier, the result cache and the per-channel health record. The engine step that
//! uses them is `engine/probe.rs`; each adapter's `test_channel` speaks its gateway's endpoint.
//! Outcomes are typed values: the CLI renders them with [`std::fmt::Display`] (English), the UI
//! per language.

use crate::error::{Error, ErrorClass, Result};
use crate::model::{ChannelId, SiteId};
use crate::store::KvStore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Whether and how a site type can test one model on one channel (`docs/probe.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "support", rename_all = "snake_case")]
pub enum ChannelTest {
    /// The gateway has no channel test msync can use (Octopus): probing is disabled there.
    #[default]
    Missing,
    /// The gateway tests a channel with a chosen model.
    Supported {
        /// A failed test may disable the whole channel (DoneHub with automatic disabling on:
        /// `controller/channel-test.go` `TestChannel` → `DisableChannel`).
        may_disable_channel: bool,
        /// The test stores its time as the channel's response time (New API on success,
        /// Veloera and DoneHub always or on success).
        updates_response_time: bool,
        /// The test is written to the gateway's usage log with the tokens it spent (New API and
        /// Veloera `RecordConsumeLog` "模型测试").
        logged_as_usage: bool,
    },
}

impl ChannelTest {
    pub fn is_supported(self) -> bool {
        matches!(self, ChannelTest::Supported { .. })
    }
}

/// What to do with a model whose probe could not be made (no endpoint, timeout, budget…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnCannotProbe {
    /// Add it as if probing were off (the default: "could not probe" never blocks a sync).
    #[default]
    AddAnyway,
    /// Hold it back until a probe passes.
    HoldBack,
}

/// The probe step's settings (per site, part of [`crate::settings::SyncSettings`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProbeSettings {
    /// Off by default: every probe spends real tokens on the channel's key.
    pub enabled: bool,
    /// Probes one run may send, over all channels (1–1000).
    pub max_per_run: u32,
    /// Probes one channel may send in one run (1–100).
    pub max_per_channel: u32,
    /// How long a probe result is trusted, in days (0 = never cached, at most 365).
    pub cache_ttl_days: u32,
    pub on_cannot_probe: OnCannotProbe,
    /// Time limit of one probe in seconds (5–120); the gateway waits for the upstream.
    pub timeout_secs: u32,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            enabled: false,
            max_per_run: 20,
            max_per_channel: 5,
            cache_ttl_days: 7,
            on_cannot_probe: OnCannotProbe::AddAnyway,
            timeout_secs: 30,
        }
    }
}

impl ProbeSettings {
    /// `(field, problem)` pairs for the settings validator.
    pub fn issues(&self) -> Vec<(&'static str, ProbeSettingIssue)> {
        let mut out = Vec::new();
        if !(1..=1000).contains(&self.max_per_run) {
            out.push(("probe.max_per_run", ProbeSettingIssue::Range(1, 1000)));
        }
        if !(1..=100).contains(&self.max_per_channel) {
            out.push(("probe.max_per_channel", ProbeSettingIssue::Range(1, 100)));
        }
        if self.cache_ttl_days > 365 {
            out.push(("probe.cache_ttl_days", ProbeSettingIssue::Range(0, 365)));
        }
        if !(5..=120).contains(&self.timeout_secs) {
            out.push(("probe.timeout_secs", ProbeSettingIssue::Range(5, 120)));
        }
        out
    }

    pub fn ttl_ms(&self) -> u64 {
        u64::from(self.cache_ttl_days) * 86_400_000
    }
}

/// A probe setting out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeSettingIssue {
    Range(u32, u32),
}

impl fmt::Display for ProbeSettingIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeSettingIssue::Range(lo, hi) => write!(f, "must be between {lo} and {hi}"),
        }
    }
}

/// What the gateway answered to one channel test. `message` is the gateway's (or upstream's)
/// own text, redacted, shown as it came: it is data from the server, not msync's wording.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeAnswer {
    /// The HTTP status of the test endpoint's answer (New API family: 200 also on failure).
    pub http_status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The gateway's own measure of the test (`time` / `latency`), in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_ms: Option<u64>,
    /// New API's `error_code` (e.g. `model_price_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The gateway said it disabled the channel because of this test (DoneHub).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub channel_disabled: bool,
}

/// An adapter's reading of one channel test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestReply {
    pub passed: bool,
    pub answer: ProbeAnswer,
}

/// Why a probe failed, read from the gateway's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeFailure {
    /// The upstream does not know the model.
    ModelNotFound,
    /// The key may not use the model (tier, region, permission).
    ModelRefused,
    /// Out of quota, balance or credit.
    Quota,
    /// The gateway has no price for the model and would not bill it (New API
    /// `model_price_error`).
    PriceMissing,
    /// Any other failure; the message says more.
    Other,
}

impl ProbeFailure {
    /// Classify a failed test from the gateway's answer (the upstream's wording in English and
    /// the gateways' own Chinese texts).
    pub fn classify(answer: &ProbeAnswer) -> ProbeFailure {
        if answer.error_code.as_deref() == Some("model_price_error") {
            return ProbeFailure::PriceMissing;
        }
        let m = answer.message.as_deref().unwrap_or("").to_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| m.contains(w));
        if any(&[
            "model_not_found",
            "does not exist",
            "not found",
            "no such model",
            "unknown model",
            "invalid model",
            "模型不存在",
        ]) {
            ProbeFailure::ModelNotFound
        } else if any(&[
            "quota",
            "insufficient_balance",
            "insufficient balance",
            "credit",
            "billing",
            "余额",
            "额度",
        ]) {
            ProbeFailure::Quota
        } else if any(&["price", "ratio", "倍率", "价格"]) {
            ProbeFailure::PriceMissing
        } else if any(&[
            "permission",
            "not allowed",
            "access",
            "unauthorized",
            "forbidden",
            "not supported",
            "unsupported",
            "region",
            "tier",
            "无权",
            "不支持",
        ]) {
            ProbeFailure::ModelRefused
        } else {
            ProbeFailure::Other
        }
    }
}

/// Why no probe result exists for a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum CannotProbe {
    /// This site type has no channel test (`docs/probe.md`).
    NoEndpoint,
    /// The gateway answered 404 for the test route (an older build without it).
    EndpointMissingOnVersion,
    /// The channel is disabled on the gateway.
    ChannelDisabled,
    /// No answer within the probe time limit.
    Timeout,
    /// The run's probe budget is spent.
    RunBudget,
    /// This channel's probe budget for the run is spent.
    ChannelBudget,
    /// The test request itself failed (auth, rate limit, network…).
    Error {
        class: ErrorClass,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_status: Option<u16>,
        message: String,
    },
}

/// One model's probe result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProbeOutcome {
    Passed {
        answer: ProbeAnswer,
    },
    Failed {
        failure: ProbeFailure,
        answer: ProbeAnswer,
    },
    CannotProbe {
        #[serde(flatten)]
        why: CannotProbe,
    },
    /// A dry run: this model would be probed (counts toward the estimate).
    WouldProbe,
}

impl ProbeOutcome {
    /// Whether the model is held back (not added) with this outcome.
    pub fn holds_back(&self, on_cannot: OnCannotProbe) -> bool {
        match self {
            ProbeOutcome::Passed { .. } | ProbeOutcome::WouldProbe => false,
            ProbeOutcome::Failed { .. } => true,
            ProbeOutcome::CannotProbe { .. } => on_cannot == OnCannotProbe::HoldBack,
        }
    }

    /// Whether the result is worth caching (a definite answer of the gateway).
    pub fn cacheable(&self) -> bool {
        matches!(
            self,
            ProbeOutcome::Passed { .. } | ProbeOutcome::Failed { .. }
        )
    }
}

/// One model's line in a plan, an item, history and `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelProbe {
    pub model: String,
    #[serde(flatten)]
    pub outcome: ProbeOutcome,
    /// Not added in this run.
    pub held_back: bool,
    /// The result came from the cache; when the probe was sent (ms since epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_from_ms: Option<u64>,
}

impl ModelProbe {
    /// Whether a request was (or, in a dry run, would be) sent to the gateway for this model.
    pub fn sent(&self) -> bool {
        self.cached_from_ms.is_none()
            && matches!(
                self.outcome,
                ProbeOutcome::Passed { .. }
                    | ProbeOutcome::Failed { .. }
                    | ProbeOutcome::CannotProbe {
                        why: CannotProbe::Timeout | CannotProbe::Error { .. }
                    }
            )
    }
}

// ----- English rendering (the CLI); the UI renders these per language ---------------------

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProbeFailure::ModelNotFound => "the upstream does not know the model",
            ProbeFailure::ModelRefused => "the key may not use the model",
            ProbeFailure::Quota => "out of quota or balance",
            ProbeFailure::PriceMissing => "the gateway has no price for the model",
            ProbeFailure::Other => "the test failed",
        })
    }
}

impl fmt::Display for CannotProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CannotProbe::NoEndpoint => f.write_str("this gateway has no channel test"),
            CannotProbe::EndpointMissingOnVersion => {
                f.write_str("this gateway version has no channel test route (404)")
            }
            CannotProbe::ChannelDisabled => f.write_str("the channel is disabled"),
            CannotProbe::Timeout => f.write_str("no answer within the probe time limit"),
            CannotProbe::RunBudget => f.write_str("the run's probe budget is spent"),
            CannotProbe::ChannelBudget => f.write_str("the channel's probe budget is spent"),
            CannotProbe::Error {
                class,
                http_status,
                message,
            } => match http_status {
                Some(s) => write!(f, "the test request failed ({class}, HTTP {s}): {message}"),
                None => write!(f, "the test request failed ({class}): {message}"),
            },
        }
    }
}

impl fmt::Display for ProbeAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.http_status)?;
        if let Some(ms) = self.response_ms {
            write!(f, ", {ms} ms")?;
        }
        if let Some(code) = &self.error_code {
            write!(f, ", {code}")?;
        }
        if let Some(m) = self.message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, ": {m}")?;
        }
        if self.channel_disabled {
            f.write_str(" (the gateway disabled the channel)")?;
        }
        Ok(())
    }
}

impl fmt::Display for ProbeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeOutcome::Passed { answer } => match answer.response_ms {
                Some(ms) => write!(f, "passed ({ms} ms)"),
                None => f.write_str("passed"),
            },
            ProbeOutcome::Failed { failure, answer } => write!(f, "failed: {failure} ({answer})"),
            ProbeOutcome::CannotProbe { why } => write!(f, "could not probe: {why}"),
            ProbeOutcome::WouldProbe => f.write_str("would be probed"),
        }
    }
}

impl fmt::Display for ModelProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.model, self.outcome)?;
        if self.cached_from_ms.is_some() {
            f.write_str(" [cached]")?;
        }
        if self.held_back {
            f.write_str(" — held back")?;
        }
        Ok(())
    }
}

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

/// How a channel has fared over runs: a channel whose list has been stale for N runs stands out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelHealth {
    /// The last run in which the channel synced (written or already right), ms since epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good_ms: Option<u64>,
    /// Runs in a row that failed for this channel (0 after a good one).
    pub failures_in_row: u32,
}

impl ChannelHealth {
    /// Fold one finished (non-dry) run's status into the record.
    pub fn record(&mut self, good: bool, failed: bool, now: u64) {
        if good {
            self.last_good_ms = Some(now);
            self.failures_in_row = 0;
        } else if failed {
            self.failures_in_row = self.failures_in_row.saturating_add(1);
        }
    }
}

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
    fn outcomes_serialise_as_tagged_values_and_render_in_english() {
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
        assert_eq!(v["outcome"], "failed");
        assert_eq!(v["failure"], "model_not_found");
        assert_eq!(v["answer"]["response_ms"], 1200);
        let back: ModelProbe = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            p.to_string(),
            "gpt-x: failed: the upstream does not know the model (HTTP 200, 1200 ms: model not found) — held back"
        );
    }
}

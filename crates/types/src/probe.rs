//! Probe before adding (issue 21, `docs/probe.md`): the vocabulary — settings, typed outcomes,
//! the per-gateway capability ([`ChannelTest`]) and the per-channel health record. Pages,
//! the protocol, settings, plans and records use these; the logic (failure classifier use,
//! the result cache, the health store, the engine step) lives in `msync-core`'s `probe.rs` and
//! `engine/probe.rs`. Outcomes are typed values: the CLI renders them with
//! [`std::fmt::Display`] (English), the UI per language.

use crate::error::ErrorClass;
use crate::settings::FieldProblem;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether and how a site type can test one model on one channel (`docs/probe.md`). Not stored
/// (pages and `--json` get it), so in serde's default enum form: `"missing"`,
/// `{"supported": {...}}`. [`ProbeOutcome`] and [`CannotProbe`] are stored (plans, records, the
/// probe cache) and keep their tagged form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    pub fn issues(&self) -> Vec<(&'static str, FieldProblem)> {
        let ranges: [(&str, u32, u64, u64); 4] = [
            ("probe.max_per_run", self.max_per_run, 1, 1000),
            ("probe.max_per_channel", self.max_per_channel, 1, 100),
            ("probe.cache_ttl_days", self.cache_ttl_days, 0, 365),
            ("probe.timeout_secs", self.timeout_secs, 5, 120),
        ];
        ranges
            .into_iter()
            .filter_map(|(field, got, min, max)| {
                let problem = FieldProblem::range(got.into(), min, max)?;
                Some((field, problem))
            })
            .collect()
    }

    pub fn ttl_ms(&self) -> u64 {
        u64::from(self.cache_ttl_days) * 86_400_000
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
#[serde(remote = "Self", rename_all = "snake_case")]
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

crate::stored_enum!(CannotProbe, "why");

/// One model's probe result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum ProbeOutcome {
    Passed {
        answer: ProbeAnswer,
    },
    Failed {
        failure: ProbeFailure,
        answer: ProbeAnswer,
    },
    CannotProbe {
        why: CannotProbe,
    },
    /// A dry run: this model would be probed (counts toward the estimate).
    WouldProbe,
}

crate::stored_enum!(ProbeOutcome, "outcome", "cannot_probe" => "why");

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
#[serde(remote = "Self")]
pub struct ModelProbe {
    pub model: String,
    pub outcome: ProbeOutcome,
    /// Not added in this run.
    pub held_back: bool,
    /// The result came from the cache; when the probe was sent (ms since epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_from_ms: Option<u64>,
}

crate::stored_struct!(
    ModelProbe,
    ["model", "held_back", "cached_from_ms"],
    "outcome"
);

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

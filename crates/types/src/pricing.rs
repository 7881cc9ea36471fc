//! The price check's and price watch's values (issue 19, `docs/pricing-check.md`): settings,
//! per-channel results, the run's summary and the notes a person reads. The check itself
//! (`PriceBook`, `gate`, the fill) and the watch's logic live in `msync-core::pricing`.
//!
//! Everything a person reads is a typed value ([`PriceNote`], [`Refusal`]); the CLI renders it
//! with `Display` (English), the UI per language.

use crate::error::Error;
use crate::notify::{NotifyEvent, PriceMove};
use crate::ratio::{RatioChoice, RatioField, RatioUpstream};
use crate::settings::FieldProblem;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a sync does with models the site has no price for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceCheckMode {
    /// No check (the default: sites stored before the check existed behave as before).
    #[default]
    Off,
    /// Add the models anyway and flag them "unpriced" in the plan, results and history.
    Flag,
    /// Do not add unpriced models: the channel's other changes are written, the unpriced models
    /// wait (`needs_review`); applying the run's plan adds them.
    #[serde(alias = "hold-back")]
    HoldBack,
    /// Add the models, then fill their prices from [`PriceCheckSettings::fill_from`] in the same
    /// run, through the ratio apply path (snapshot, read-back, revert). Models the upstream has
    /// no price for stay flagged.
    Fill,
}

impl PriceCheckMode {
    pub const ALL: [PriceCheckMode; 4] = [
        PriceCheckMode::Off,
        PriceCheckMode::Flag,
        PriceCheckMode::HoldBack,
        PriceCheckMode::Fill,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PriceCheckMode::Off => "off",
            PriceCheckMode::Flag => "flag",
            PriceCheckMode::HoldBack => "hold_back",
            PriceCheckMode::Fill => "fill",
        }
    }

    pub fn parse(s: &str) -> Option<PriceCheckMode> {
        let s = s.trim().replace('-', "_");
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for PriceCheckMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The per-site price check settings (`SyncSettings::price_check`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceCheckSettings {
    pub mode: PriceCheckMode,
    /// [`PriceCheckMode::Fill`]: the ratio upstream to take prices from (a source of the site's
    /// ratio sync, or a custom upstream).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fill_from: Option<Box<RatioUpstream>>,
    /// [`PriceCheckMode::Fill`]: take only values the server marks confident (default). New API
    /// marks its 37.5 / 1 default for unpriced models as not confident.
    pub only_confident: bool,
}

impl Default for PriceCheckSettings {
    fn default() -> Self {
        PriceCheckSettings {
            mode: PriceCheckMode::Off,
            fill_from: None,
            only_confident: true,
        }
    }
}

impl PriceCheckSettings {
    /// Why these settings cannot be used (`None` when they can).
    pub fn problem(&self) -> Option<FieldProblem> {
        match (self.mode, &self.fill_from) {
            (PriceCheckMode::Fill, None) => Some(FieldProblem::FillNeedsUpstream),
            (PriceCheckMode::Fill, Some(u)) if u.name.trim().is_empty() => {
                Some(FieldProblem::FillUpstreamNameMissing)
            }
            (PriceCheckMode::Fill, Some(u)) if !u.base_url.starts_with("http") => {
                Some(FieldProblem::FillUpstreamNotHttp)
            }
            _ => None,
        }
    }
}

/// The price check's result for one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceCheck {
    /// Models the run adds (or would add) that the site has no ratio or price for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
    /// Of those, the models not written (hold-back); applying the run's plan adds them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    /// The site's prices could not be read, so every added model counts as unpriced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
}

impl PriceCheck {
    pub fn is_empty(&self) -> bool {
        self.unpriced.is_empty() && self.held.is_empty()
    }

    /// The note to show for this channel.
    pub fn note(&self) -> Option<PriceNote> {
        if !self.held.is_empty() {
            Some(PriceNote::HeldBackNoPrice {
                count: self.held.len(),
                unknown: self.unknown,
            })
        } else if !self.unpriced.is_empty() {
            Some(PriceNote::Unpriced {
                count: self.unpriced.len(),
                unknown: self.unknown,
            })
        } else {
            None
        }
    }
}

/// What a person reads about prices: rendered by `Display` (English, CLI) and per language in
/// the UI (`crates/ui/src/i18n.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum PriceNote {
    /// `count` added models have no price on the site.
    Unpriced { count: usize, unknown: bool },
    /// `count` unpriced models were held back.
    HeldBackNoPrice { count: usize, unknown: bool },
    /// Prices for `count` models were filled from `upstream`.
    Filled { count: usize, upstream: String },
    /// The site type has no price API msync reads; nothing was checked.
    NoPriceApi,
}

impl fmt::Display for PriceNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = |unknown: bool| {
            if unknown {
                " (the site's prices could not be read)"
            } else {
                ""
            }
        };
        match self {
            PriceNote::Unpriced { count, unknown } => {
                write!(
                    f,
                    "unpriced: {count} added model(s) have no price{}",
                    why(*unknown)
                )
            }
            PriceNote::HeldBackNoPrice { count, unknown } => write!(
                f,
                "held back: no price for {count} model(s){}; apply the plan to add them",
                why(*unknown)
            ),
            PriceNote::Filled { count, upstream } => {
                write!(f, "prices filled for {count} model(s) from {upstream}")
            }
            PriceNote::NoPriceApi => {
                f.write_str("price check skipped: msync reads no prices from this site type")
            }
        }
    }
}

/// The run's price summary, stored in its head.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPricing {
    pub mode: PriceCheckMode,
    /// Models added by the run that still have no price (after a fill), sorted, distinct.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
    /// Models held back for lack of a price, sorted, distinct.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    /// The site type has no price API msync reads.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_price_api: bool,
    /// Reading the site's prices failed (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_error: Option<Error>,
    /// What the fill did ([`PriceCheckMode::Fill`], not in a dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<PriceFill>,
}

impl RunPricing {
    /// The notes to show for the run, in order.
    pub fn notes(&self) -> Vec<PriceNote> {
        let mut out = Vec::new();
        if self.no_price_api {
            out.push(PriceNote::NoPriceApi);
        }
        if let Some(f) = &self.fill {
            if !f.filled.is_empty() {
                out.push(PriceNote::Filled {
                    count: f.filled.len(),
                    upstream: f.upstream.clone(),
                });
            }
        }
        let unknown = self.read_error.is_some();
        if !self.held.is_empty() {
            out.push(PriceNote::HeldBackNoPrice {
                count: self.held.len(),
                unknown,
            });
        }
        if !self.unpriced.is_empty() {
            out.push(PriceNote::Unpriced {
                count: self.unpriced.len(),
                unknown,
            });
        }
        out
    }
}

/// What a fill did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceFill {
    /// The upstream's column name (`name(id)`).
    pub upstream: String,
    /// Models whose price (or ratio) was written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filled: Vec<String>,
    /// Models the upstream offered no (confident) price for: still unpriced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The ratio snapshot to revert the fill with (`msync ratios revert ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// The read-back matched what was written.
    #[serde(default)]
    pub verified: bool,
    /// Why the fill did not (fully) happen: the upstream failed, a read or write failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
}

// ----- price watch -----

/// The price watch runs at most this often (minutes): each run reads the upstream's whole price
/// list.
pub const WATCH_MIN_MINUTES: u32 = 15;

/// Per-site price watch settings (`SyncSettings::price_watch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceWatchSettings {
    pub enabled: bool,
    /// The upstream to watch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Box<RatioUpstream>>,
    /// How often the extension's alarm runs it (the CLI runs when cron says).
    pub interval_minutes: u32,
    /// Unattended apply (off by default).
    pub apply: UnattendedApply,
}

impl Default for PriceWatchSettings {
    fn default() -> Self {
        PriceWatchSettings {
            enabled: false,
            upstream: None,
            interval_minutes: 360,
            apply: UnattendedApply::default(),
        }
    }
}

impl PriceWatchSettings {
    /// The watch applies upstream moves unattended (on a schedule, without review).
    pub fn applies_unattended(&self) -> bool {
        self.enabled && self.apply.enabled
    }

    /// The guardrails of the unattended apply that are looser than the defaults (shown before
    /// an import turns the apply on).
    pub fn loosened(&self) -> Vec<crate::settings::DestructiveSetting> {
        use crate::settings::DestructiveSetting as D;
        let a = &self.apply;
        let mut out = Vec::new();
        if a.max_raise_pct > 0 {
            out.push(D::PriceRaises {
                max_raise_pct: a.max_raise_pct,
            });
        }
        if a.new_models {
            out.push(D::PricesNewModels);
        }
        if !a.only_confident {
            out.push(D::UnconfidentPrices);
        }
        out
    }

    pub fn problem(&self) -> Option<FieldProblem> {
        if self.enabled && self.upstream.is_none() {
            return Some(FieldProblem::WatchNeedsUpstream);
        }
        if self.interval_minutes < WATCH_MIN_MINUTES {
            return Some(FieldProblem::WatchTooOften {
                min_minutes: WATCH_MIN_MINUTES,
            });
        }
        None
    }
}

/// The guardrails of an unattended apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnattendedApply {
    pub enabled: bool,
    /// Never raise a price or ratio by more than this (per cent). 0 (default): never raise
    /// unattended; lowering is always allowed.
    pub max_raise_pct: u32,
    /// Also price models the site has no price for yet (default: no).
    pub new_models: bool,
    /// Take only values the server marks confident (always true unless turned off).
    pub only_confident: bool,
}

impl Default for UnattendedApply {
    fn default() -> Self {
        UnattendedApply {
            enabled: false,
            max_raise_pct: 0,
            new_models: false,
            only_confident: true,
        }
    }
}

/// Why an upstream move was not applied unattended (rendered per language at the edge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum Refusal {
    /// A raise above the limit (`pct` is the raise over the site's value; `limit` 0 = no raise).
    RaiseOverLimit { pct: i64, limit: u32 },
    /// Per-call price ↔ ratio billing: never unattended.
    SwitchesBilling,
    /// The site has no price for the model and new models were not asked for.
    NewModel,
    /// The server marks the value unconfident (New API's 37.5 / 1 default).
    NotConfident,
}

crate::stored_enum!(Refusal, "refusal");

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::RaiseOverLimit { pct, limit: 0 } => {
                write!(f, "a raise of {pct} % (unattended raises are off)")
            }
            Refusal::RaiseOverLimit { pct, limit } => {
                write!(f, "a raise of {pct} % (more than the {limit} % allowed)")
            }
            Refusal::SwitchesBilling => {
                f.write_str("it would switch between per-call price and ratio billing")
            }
            Refusal::NewModel => f.write_str("the site has no price for this model yet"),
            Refusal::NotConfident => f.write_str("the upstream value is not confident"),
        }
    }
}

/// One move the unattended apply did not take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Refused {
    pub model: String,
    pub field: RatioField,
    pub value: f64,
    pub why: Refusal,
}

crate::stored_struct!(Refused, ["model", "field", "value"], "why");

/// What one watch run saw and did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchRun {
    pub at_ms: u64,
    pub upstream: String,
    /// The first run only records what the upstream says (nothing to compare with).
    pub baseline: bool,
    /// Every move since the last run.
    pub changes: Vec<PriceMove>,
    /// Of those, the ones over the alert threshold (the alert's content).
    pub alert: Vec<PriceMove>,
    /// Unattended apply: values written (through the ratio apply path), and its snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<RatioChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    /// The upstream could not be read, or the apply failed (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
}

impl WatchRun {
    /// The alert event, when a move went over the threshold.
    pub fn event(&self, site: &str, threshold_pct: u32) -> Option<NotifyEvent> {
        (!self.alert.is_empty()).then(|| NotifyEvent::PriceChange {
            site: site.to_string(),
            upstream: self.upstream.clone(),
            moves: self.alert.clone(),
            threshold_pct,
        })
    }
}

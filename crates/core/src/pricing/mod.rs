//! Price check after sync (issue 19, `docs/pricing-check.md`): for every model a sync run would
//! add to a channel, does the site have a ratio or a per-call price for it?
//!
//! * [`PriceBook`] — the names the site prices, read by the adapter (`Gateway::read_prices`;
//!   New API and Veloera read their `ModelRatio` / `ModelPrice` options, other site types have no
//!   price API msync reads and answer `None`).
//! * [`PriceCheckSettings`] — per site: off, add and flag, hold back, or fill from a ratio
//!   upstream.
//! * [`gate`] — the pure per-channel step the engine runs on each plan.
//! * [`RunPricing`] — the run's summary, stored in its head (history, `--json`), with the
//!   [`PriceFill`] outcome when prices were filled through the ratio apply path.
//!
//! Everything a person reads is a typed value ([`PriceNote`]); the CLI renders it with
//! `Display` (English), the UI per language.

mod fill;
pub mod watch;

pub use fill::{fill_choices, fill_prices};
pub use msync_types::pricing::{
    PriceCheck, PriceCheckMode, PriceCheckSettings, PriceFill, PriceNote, RunPricing,
};

use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

/// The model names a site has a ratio or a per-call price for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceBook {
    ratio: HashSet<String>,
    price: HashSet<String>,
}

impl PriceBook {
    pub fn new<I: IntoIterator<Item = S>, J: IntoIterator<Item = S>, S: Into<String>>(
        ratio: I,
        price: J,
    ) -> PriceBook {
        PriceBook {
            ratio: ratio.into_iter().map(Into::into).collect(),
            price: price.into_iter().map(Into::into).collect(),
        }
    }

    /// From New API / Veloera option pairs (`GET /api/option/`): the keys of `ModelRatio` and
    /// `ModelPrice`, each a JSON object stored as a string. A key that is present but not a JSON
    /// object is an `invalid_response` error (the check cannot tell what is priced).
    pub fn from_options(items: &[(String, String)]) -> Result<PriceBook> {
        let keys = |key: &str| -> Result<HashSet<String>> {
            // The last entry wins, like the server's option map.
            let Some((_, text)) = items.iter().rev().find(|(k, _)| k == key) else {
                return Ok(HashSet::new());
            };
            if text.trim().is_empty() {
                return Ok(HashSet::new());
            }
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => Ok(m.keys().cloned().collect()),
                _ => Err(Error::invalid_response(format!(
                    "the site's {key} option is not a JSON object; msync cannot tell which models are priced"
                ))),
            }
        };
        Ok(PriceBook {
            ratio: keys("ModelRatio")?,
            price: keys("ModelPrice")?,
        })
    }

    /// Whether the site bills `model` with a price or a ratio. Names are matched the way New API
    /// looks them up (`matching_name`).
    pub fn has_price(&self, model: &str) -> bool {
        let name = matching_name(model);
        self.price.contains(&name) || self.ratio.contains(&name)
    }

    pub fn len(&self) -> usize {
        self.ratio.len() + self.price.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ratio.is_empty() && self.price.is_empty()
    }
}

/// The name New API looks a model's ratio and price up by: `FormatMatchingModelName` in
/// QuantumNous/new-api `setting/ratio_setting/model_ratio.go` (Gemini 2.5 thinking-budget
/// names share one `…-thinking-*` entry; GPTs `gpt-4-gizmo-…` / `gpt-4o-gizmo-…` share
/// `gpt-4-gizmo-*` / `gpt-4o-gizmo-*`). Veloera's `setting/model_ratio.go` does the same for
/// the gizmo names.
pub fn matching_name(name: &str) -> String {
    let mut name = name.to_string();
    for base in [
        "gemini-2.5-flash-lite",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
    ] {
        if name.starts_with(base) {
            let thinking = format!("{base}-thinking-");
            if name.starts_with(&thinking) {
                name = format!("{thinking}*");
            }
            break;
        }
    }
    if name.starts_with("gpt-4-gizmo") {
        name = "gpt-4-gizmo-*".into();
    }
    if name.starts_with("gpt-4o-gizmo") {
        name = "gpt-4o-gizmo-*".into();
    }
    name
}

/// What the engine knows about the site's prices during one run.
#[derive(Debug, Clone)]
pub enum PriceState {
    /// The prices were read.
    Known(PriceBook),
    /// The site type has no price API msync reads: nothing is checked.
    NoPriceApi,
    /// Reading them failed: every added model counts as unpriced (held back when holding).
    Unreadable(Error),
}

/// The per-channel step: check the models `added` would bring against `state`.
///
/// Returns the check and, for [`PriceCheckMode::HoldBack`], the models to leave out of the write.
/// `Off` and [`PriceState::NoPriceApi`] check nothing.
pub fn gate(mode: PriceCheckMode, state: &PriceState, added: &[String]) -> Option<PriceCheck> {
    if mode == PriceCheckMode::Off || added.is_empty() {
        return None;
    }
    let (unpriced, unknown): (Vec<String>, bool) = match state {
        PriceState::NoPriceApi => return None,
        PriceState::Known(book) => (
            added
                .iter()
                .filter(|m| !book.has_price(m))
                .cloned()
                .collect(),
            false,
        ),
        PriceState::Unreadable(_) => (added.to_vec(), true),
    };
    if unpriced.is_empty() {
        return None;
    }
    let held = if mode == PriceCheckMode::HoldBack {
        unpriced.clone()
    } else {
        Vec::new()
    };
    Some(PriceCheck {
        unpriced,
        held,
        unknown,
    })
}

/// The run's price summary from the channels' checks.
pub fn run_pricing<'a>(
    mode: PriceCheckMode,
    state: &PriceState,
    checks: impl IntoIterator<Item = &'a PriceCheck>,
) -> RunPricing {
    let mut unpriced = BTreeSet::new();
    let mut held = BTreeSet::new();
    for c in checks {
        unpriced.extend(c.unpriced.iter().cloned());
        held.extend(c.held.iter().cloned());
    }
    for h in &held {
        unpriced.remove(h);
    }
    RunPricing {
        mode,
        unpriced: unpriced.into_iter().collect(),
        held: held.into_iter().collect(),
        no_price_api: matches!(state, PriceState::NoPriceApi),
        read_error: match state {
            PriceState::Unreadable(e) => Some(e.clone()),
            _ => None,
        },
        fill: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratio::RatioUpstream;
    use msync_types::settings::FieldProblem;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn book_from_options_reads_ratio_and_price_keys() {
        let items = vec![
            ("ModelRatio".to_string(), r#"{"gpt-4o":1.25}"#.to_string()),
            ("ModelPrice".to_string(), r#"{"dall-e-3":0.04}"#.to_string()),
            ("CompletionRatio".to_string(), r#"{"x":1}"#.to_string()),
        ];
        let b = PriceBook::from_options(&items).unwrap();
        assert!(b.has_price("gpt-4o"));
        assert!(b.has_price("dall-e-3"));
        assert!(!b.has_price("x"), "a completion ratio alone is no price");
        assert!(!b.has_price("gpt-5"));
        let bad = vec![("ModelRatio".to_string(), "[1]".to_string())];
        assert!(PriceBook::from_options(&bad).is_err());
    }

    #[test]
    fn names_match_like_new_api() {
        let b = PriceBook::new(
            s(&["gpt-4-gizmo-*", "gemini-2.5-pro-thinking-*"]),
            Vec::<String>::new(),
        );
        assert!(b.has_price("gpt-4-gizmo-g-abc"));
        assert!(b.has_price("gemini-2.5-pro-thinking-128"));
        assert!(!b.has_price("gemini-2.5-pro"));
        assert_eq!(
            matching_name("gemini-2.5-flash-lite-thinking-5"),
            "gemini-2.5-flash-lite-thinking-*"
        );
    }

    #[test]
    fn gate_per_mode() {
        let book = PriceState::Known(PriceBook::new(s(&["a"]), s(&["b"])));
        let added = s(&["a", "b", "c", "d"]);
        assert_eq!(gate(PriceCheckMode::Off, &book, &added), None);
        let f = gate(PriceCheckMode::Flag, &book, &added).unwrap();
        assert_eq!(f.unpriced, s(&["c", "d"]));
        assert!(f.held.is_empty());
        assert_eq!(
            f.note(),
            Some(PriceNote::Unpriced {
                count: 2,
                unknown: false
            })
        );
        let h = gate(PriceCheckMode::HoldBack, &book, &added).unwrap();
        assert_eq!(h.held, s(&["c", "d"]));
        assert_eq!(gate(PriceCheckMode::Flag, &book, &s(&["a"])), None);
        assert_eq!(
            gate(PriceCheckMode::Flag, &PriceState::NoPriceApi, &added),
            None
        );
        let u = gate(
            PriceCheckMode::HoldBack,
            &PriceState::Unreadable(Error::invalid_response("x")),
            &added,
        )
        .unwrap();
        assert!(u.unknown);
        assert_eq!(u.held, added, "unreadable prices hold every added model");
    }

    #[test]
    fn run_summary_and_notes() {
        let a = PriceCheck {
            unpriced: s(&["x", "y"]),
            held: vec![],
            unknown: false,
        };
        let b = PriceCheck {
            unpriced: s(&["y", "z"]),
            held: s(&["z"]),
            unknown: false,
        };
        let st = PriceState::Known(PriceBook::default());
        let r = run_pricing(PriceCheckMode::Flag, &st, [&a, &b]);
        assert_eq!(r.unpriced, s(&["x", "y"]));
        assert_eq!(r.held, s(&["z"]));
        assert_eq!(
            r.notes().iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            vec![
                "held back: no price for 1 model(s); apply the plan to add them",
                "unpriced: 2 added model(s) have no price"
            ]
        );
        assert_eq!(
            PriceCheckMode::parse("hold-back"),
            Some(PriceCheckMode::HoldBack)
        );
    }

    #[test]
    fn fill_needs_an_upstream() {
        let mut s = PriceCheckSettings {
            mode: PriceCheckMode::Fill,
            ..Default::default()
        };
        assert_eq!(s.problem(), Some(FieldProblem::FillNeedsUpstream));
        s.fill_from = Some(Box::new(RatioUpstream {
            id: -100,
            name: "官方倍率预设".into(),
            base_url: "https://basellm.github.io".into(),
            endpoint: String::new(),
        }));
        assert_eq!(s.problem(), None);
    }
}

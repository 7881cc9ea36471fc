//! Filling the prices of models a sync added, from one ratio upstream, through the ratio apply
//! path of `crate::ratio` (`docs/ratios.md`): the site fetches the upstream
//! (`POST /api/ratio_sync/fetch`), msync picks that upstream's values for the added models only,
//! and [`RatioSync::apply`] stores a snapshot, writes whole maps, reads them back (and restores
//! what it wrote when a write fails). The snapshot can be reverted like any ratio apply.

use super::PriceFill;
use crate::error::{Error, ErrorClass};
use crate::ratio::{FetchRequest, RatioChoice, RatioDiff, RatioField, RatioSync, RatioUpstream};
use crate::reason::RunError;
use std::collections::BTreeSet;

/// The choices that price `models` from `column` of `diff`: a per-call price when the upstream
/// bills the model per call, else its ratios (never both: New API keeps a model in one mode).
/// Text billing fields are left alone. Returns the choices and the models they price.
pub fn fill_choices(
    diff: &RatioDiff,
    column: &str,
    models: &[String],
    only_confident: bool,
) -> (Vec<RatioChoice>, Vec<String>) {
    let mut choices = Vec::new();
    let mut priced = Vec::new();
    for model in models {
        let offered = |field: RatioField| {
            diff.row(model, field).and_then(|r| {
                let v = r.value_from(column)?;
                (!only_confident || r.confident(column)).then(|| v.clone())
            })
        };
        let choice = |field: RatioField, value| RatioChoice {
            model: model.clone(),
            field,
            value,
            upstream: Some(column.to_string()),
        };
        if let Some(v) = offered(RatioField::ModelPrice) {
            choices.push(choice(RatioField::ModelPrice, v));
            priced.push(model.clone());
        } else if let Some(v) = offered(RatioField::ModelRatio) {
            choices.push(choice(RatioField::ModelRatio, v));
            for field in RatioField::ALL
                .into_iter()
                .filter(|f| f.is_ratio() && *f != RatioField::ModelRatio)
            {
                if let Some(v) = offered(field) {
                    choices.push(choice(field, v));
                }
            }
            priced.push(model.clone());
        }
    }
    (choices, priced)
}

/// Fetch `upstream` through the site and write prices for `models`. Never an `Err`: what went
/// wrong is in [`PriceFill::error`] (a failed fill must not fail the sync that added the models).
pub async fn fill_prices(
    sync: &RatioSync,
    upstream: &RatioUpstream,
    models: &[String],
    only_confident: bool,
) -> PriceFill {
    let column = upstream.display_name();
    let mut out = PriceFill {
        upstream: column.clone(),
        missing: models.to_vec(),
        ..Default::default()
    };
    let diff = match sync.fetch(&FetchRequest::new(vec![upstream.clone()])).await {
        Ok(d) => d,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    if let Some(t) = diff.failed().next() {
        out.error = Some(Error::found(
            ErrorClass::Network,
            RunError::UpstreamUnreadable {
                upstream: t.name.clone(),
                error: t.error.clone().unwrap_or_default(),
            },
        ));
        return out;
    }
    let (choices, priced) = fill_choices(&diff, &column, models, only_confident);
    let priced_set: BTreeSet<&String> = priced.iter().collect();
    out.missing = models
        .iter()
        .filter(|m| !priced_set.contains(m))
        .cloned()
        .collect();
    if choices.is_empty() {
        out.verified = true;
        return out;
    }
    match sync.apply(&choices, None).await {
        Ok(o) => {
            out.snapshot = o.snapshot.clone();
            out.verified = o.ok();
            if o.error.is_none() {
                out.filled = priced;
            } else {
                out.missing = models.to_vec();
            }
            out.error = o.error.clone().or_else(|| {
                (!o.mismatched.is_empty()).then(|| {
                    Error::invalid_response(format!(
                        "the site did not keep what was written: {}",
                        o.mismatched.join(", ")
                    ))
                })
            });
        }
        Err(e) => {
            out.missing = models.to_vec();
            out.error = Some(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratio::parse_fetch_data;
    use serde_json::json;

    #[test]
    fn choices_take_price_or_ratios_never_both() {
        let data = json!({"differences": {
            "a": {"model_ratio": {"current": null, "upstreams": {"up": 2.0}, "confidence": {"up": true}},
                  "completion_ratio": {"current": null, "upstreams": {"up": 4.0}, "confidence": {"up": true}}},
            "b": {"model_price": {"current": null, "upstreams": {"up": 0.04}, "confidence": {"up": true}},
                  "model_ratio": {"current": null, "upstreams": {"up": 1.0}, "confidence": {"up": true}}},
            "c": {"model_ratio": {"current": null, "upstreams": {"up": 37.5}, "confidence": {"up": false}}},
            "zzz": {"model_ratio": {"current": null, "upstreams": {"up": 9.0}, "confidence": {"up": true}}}
        }, "test_results": [{"name": "up", "status": "success"}]});
        let diff = parse_fetch_data(&data).unwrap();
        let models: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let (choices, priced) = fill_choices(&diff, "up", &models, true);
        assert_eq!(priced, vec!["a".to_string(), "b".to_string()]);
        let fields: Vec<(String, RatioField)> =
            choices.iter().map(|c| (c.model.clone(), c.field)).collect();
        assert_eq!(
            fields,
            vec![
                ("a".into(), RatioField::ModelRatio),
                ("a".into(), RatioField::CompletionRatio),
                ("b".into(), RatioField::ModelPrice),
            ],
            "only the added models; a price excludes the ratios; zzz is not asked for"
        );
        let (_, priced) = fill_choices(&diff, "up", &models, false);
        assert!(
            priced.contains(&"c".to_string()),
            "not confident, but allowed"
        );
    }
}

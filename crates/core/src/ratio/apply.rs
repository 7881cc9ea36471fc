//! Current option maps, the merge of chosen values, previews, snapshots and outcomes (`docs/admin-apis.md` §1.7).
//!
//! New API stores each ratio type as one option whose value is the whole map as a JSON string,
//! and every write replaces the whole map. So: read all maps, merge the choices, and write back
//! only the keys that changed, each as one whole-map string. Entries we were not asked to
//! change pass through untouched.

use super::RatioChoice;
use super::{RatioField, RatioValue};
use crate::error::{Error, Result};
use msync_types::ratio::LockedRatio;
pub use msync_types::ratio::{
    FieldChange, ModelChange, RatioApplyOutcome, RatioPreview, RatioRevertOutcome, RatioSnapshot,
    RatioSnapshotHead,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The site's ten ratio option maps, as read from `GET /api/option/`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionMaps {
    /// The stored strings by option key (`None` = the key is absent).
    pub raw: BTreeMap<String, Option<String>>,
    pub maps: BTreeMap<RatioField, Map<String, Value>>,
    /// Models whose completion ratio the server enforces (the ratio it uses), from the
    /// synthetic `CompletionRatioMeta` item of `GET /api/option/` (`controller/option.go`,
    /// builds since 2025): it names only models in the site's ratio maps. Empty on older builds.
    pub locked_completion: BTreeMap<String, f64>,
}

impl OptionMaps {
    /// From `(key, value)` pairs. A ratio key whose value is not a JSON object is an error:
    /// writing a merged map over it would destroy what the admin stored.
    pub fn from_options(items: &[(String, String)]) -> Result<OptionMaps> {
        let mut out = OptionMaps::default();
        for field in RatioField::ALL {
            let key = field.option_key();
            let raw = items
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone());
            let map = match raw.as_deref().map(str::trim) {
                None | Some("") | Some("null") => Map::new(),
                Some(text) => match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(m)) => m,
                    _ => {
                        return Err(Error::invalid_response(format!(
                            "the site's {key} option is not a JSON object; msync will not overwrite it (fix it in the site's settings first)"
                        )))
                    }
                },
            };
            out.raw.insert(key.to_string(), raw);
            out.maps.insert(field, map);
        }
        // `{"model":{"ratio":6,"locked":true},…}`; an unreadable meta only loses the marks.
        if let Some((_, text)) = items.iter().rev().find(|(k, _)| k == "CompletionRatioMeta") {
            if let Ok(Value::Object(meta)) = serde_json::from_str::<Value>(text) {
                for (model, info) in meta {
                    let locked = info.get("locked").and_then(Value::as_bool) == Some(true);
                    if let (true, Some(r)) = (locked, info.get("ratio").and_then(Value::as_f64)) {
                        out.locked_completion.insert(model, r);
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn value(&self, model: &str, field: RatioField) -> Option<&Value> {
        self.maps.get(&field).and_then(|m| m.get(model))
    }

    /// A short hash of the stored strings, to tell whether they changed since a preview.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.raw)
    }
}

/// FNV-1a over the keys and values, as 16 hex digits.
pub fn fingerprint(raw: &BTreeMap<String, Option<String>>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    };
    for (k, v) in raw {
        eat(k.as_bytes());
        eat(&[0]);
        match v {
            Some(v) => {
                eat(&[1]);
                eat(v.as_bytes());
            }
            None => eat(&[2]),
        }
        eat(&[0xff]);
    }
    format!("{h:016x}")
}

/// JSON equality with New API's ε for numbers.
pub(crate) fn json_same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9,
            _ => x == y,
        },
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_same(v, w))
        }
        _ => a == b,
    }
}

/// One option write: the whole map as a JSON string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWrite {
    pub key: String,
    pub value: String,
}

/// What an apply would do, from the maps it was planned on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioPlan {
    /// Fingerprint of the maps the plan was made from.
    pub base: String,
    pub models: Vec<ModelChange>,
    pub writes: Vec<KeyWrite>,
    /// Choices equal to what the site already has.
    pub unchanged: usize,
    /// Completion ratios chosen for models the server locks: left out.
    #[serde(default)]
    pub locked: Vec<LockedRatio>,
}

impl RatioPlan {
    /// Merge `choices` into `current` the way New API's own page does (`performSync`): a
    /// per-call price removes the model from every ratio map, a ratio removes its price.
    /// Choosing both for one model, a value of the wrong kind, or a negative or non-finite
    /// number is refused.
    pub fn new(current: &OptionMaps, choices: &[RatioChoice]) -> Result<RatioPlan> {
        // The server ignores a locked model's completion ratio: writing it would "succeed",
        // read back as written, and change nothing.
        let is_locked = |c: &RatioChoice| {
            c.field == RatioField::CompletionRatio
                && current.locked_completion.contains_key(&c.model)
        };
        let locked: Vec<LockedRatio> = choices
            .iter()
            .filter(|c| is_locked(c))
            .map(|c| LockedRatio {
                model: c.model.clone(),
                enforced: current.locked_completion[&c.model],
            })
            .collect();
        let kept: Vec<RatioChoice> = choices.iter().filter(|c| !is_locked(c)).cloned().collect();
        let choices = &kept[..];
        let mut price_models = std::collections::BTreeSet::new();
        let mut ratio_models = std::collections::BTreeSet::new();
        for c in choices {
            if c.model.trim().is_empty() {
                return Err(Error::validation("a choice has an empty model name"));
            }
            match (&c.value, c.field.is_text()) {
                (RatioValue::Text(_), true) => {}
                (RatioValue::Number(n), false) if n.is_finite() && *n >= 0.0 => {}
                (v, _) => {
                    return Err(Error::validation(format!(
                        "{} {}: {v} is not a valid value for this field",
                        c.model, c.field
                    )))
                }
            }
            if c.field == RatioField::ModelPrice {
                price_models.insert(c.model.as_str());
            } else if c.field.is_ratio() {
                ratio_models.insert(c.model.as_str());
            }
        }
        if let Some(m) = price_models.intersection(&ratio_models).next() {
            return Err(Error::validation(format!(
                "{m}: both a per-call price and ratios were chosen; a model is billed one way, pick one"
            )));
        }

        let mut maps = current.maps.clone();
        let mut sources: BTreeMap<(String, RatioField), Option<String>> = BTreeMap::new();
        for c in choices {
            let value = c.value.to_json();
            let map = maps.entry(c.field).or_default();
            // An equal value keeps its stored spelling.
            if !map.get(&c.model).is_some_and(|old| json_same(old, &value)) {
                map.insert(c.model.clone(), value);
            }
            sources.insert((c.model.clone(), c.field), c.upstream.clone());
            let clear: Vec<RatioField> = if c.field == RatioField::ModelPrice {
                RatioField::ALL
                    .into_iter()
                    .filter(|f| f.is_ratio())
                    .collect()
            } else if c.field.is_ratio() {
                vec![RatioField::ModelPrice]
            } else {
                vec![]
            };
            for f in clear {
                if let Some(m) = maps.get_mut(&f) {
                    m.remove(&c.model);
                }
            }
        }

        let mut per_model: BTreeMap<String, Vec<FieldChange>> = BTreeMap::new();
        let mut writes = Vec::new();
        for field in RatioField::ALL {
            let empty = Map::new();
            let old = current.maps.get(&field).unwrap_or(&empty);
            let new = maps.get(&field).unwrap_or(&empty);
            let mut changed = false;
            let models: std::collections::BTreeSet<&String> =
                old.keys().chain(new.keys()).collect();
            for model in models {
                let (o, n) = (old.get(model), new.get(model));
                let same = match (o, n) {
                    (Some(a), Some(b)) => json_same(a, b),
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    changed = true;
                    per_model
                        .entry(model.clone())
                        .or_default()
                        .push(FieldChange {
                            field,
                            old: o.cloned(),
                            new: n.cloned(),
                            upstream: sources.get(&(model.clone(), field)).cloned().flatten(),
                        });
                }
            }
            if changed {
                writes.push(KeyWrite {
                    key: field.option_key().to_string(),
                    value: Value::Object(new.clone()).to_string(),
                });
            }
        }
        let unchanged = choices
            .iter()
            .filter(|c| {
                current
                    .value(&c.model, c.field)
                    .is_some_and(|v| json_same(v, &c.value.to_json()))
            })
            .count();
        Ok(RatioPlan {
            base: current.fingerprint(),
            models: per_model
                .into_iter()
                .map(|(model, changes)| ModelChange { model, changes })
                .collect(),
            writes,
            unchanged,
            locked,
        })
    }

    pub fn preview(&self) -> RatioPreview {
        RatioPreview {
            base: self.base.clone(),
            models: self.models.clone(),
            keys: self.writes.iter().map(|w| w.key.clone()).collect(),
            unchanged: self.unchanged,
            locked: self.locked.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn current() -> OptionMaps {
        OptionMaps::from_options(&[
            ("ModelRatio".into(), r#"{"a":1,"b":2,"p":3}"#.into()),
            ("CompletionRatio".into(), r#"{"a":4,"p":1}"#.into()),
            ("ModelPrice".into(), r#"{"img":0.04,"b":0.5}"#.into()),
            ("GroupRatio".into(), r#"{"default":1}"#.into()),
        ])
        .unwrap()
    }

    fn choice(model: &str, field: RatioField, v: f64) -> RatioChoice {
        RatioChoice {
            model: model.into(),
            field,
            value: RatioValue::Number(v),
            upstream: Some("X(1)".into()),
        }
    }

    fn map_of(plan: &RatioPlan, key: &str) -> Option<Value> {
        plan.writes
            .iter()
            .find(|w| w.key == key)
            .map(|w| serde_json::from_str(&w.value).unwrap())
    }

    #[test]
    fn merges_and_writes_only_changed_keys() {
        use RatioField::*;
        let plan = RatioPlan::new(
            &current(),
            &[
                choice("a", ModelRatio, 1.5),
                choice("new", CompletionRatio, 2.0),
            ],
        )
        .unwrap();
        assert_eq!(
            plan.preview().keys,
            vec!["ModelRatio", "CompletionRatio"],
            "ModelPrice untouched"
        );
        assert_eq!(
            map_of(&plan, "ModelRatio"),
            Some(json!({"a":1.5,"b":2,"p":3}))
        );
        assert_eq!(
            map_of(&plan, "CompletionRatio"),
            Some(json!({"a":4,"new":2,"p":1}))
        );
        let a = &plan.models[0];
        assert_eq!(a.model, "a");
        assert_eq!(
            a.changes,
            vec![FieldChange {
                field: ModelRatio,
                old: Some(json!(1)),
                new: Some(json!(1.5)),
                upstream: Some("X(1)".into())
            }]
        );
    }

    #[test]
    fn price_and_ratio_are_exclusive_like_new_api() {
        use RatioField::*;
        // A price for p removes p from every ratio map; a ratio for b removes b's price.
        let plan = RatioPlan::new(
            &current(),
            &[choice("p", ModelPrice, 0.1), choice("b", ModelRatio, 2.0)],
        )
        .unwrap();
        assert_eq!(map_of(&plan, "ModelRatio"), Some(json!({"a":1,"b":2})));
        assert_eq!(map_of(&plan, "CompletionRatio"), Some(json!({"a":4})));
        assert_eq!(
            map_of(&plan, "ModelPrice"),
            Some(json!({"img":0.04,"p":0.1}))
        );
        // b's ratio was already 2: the choice itself is unchanged, but the price removal is not.
        assert_eq!(plan.unchanged, 1);
        let b = plan.models.iter().find(|m| m.model == "b").unwrap();
        assert_eq!(b.changes.len(), 1);
        assert_eq!(b.changes[0].field, ModelPrice);
        assert_eq!(b.changes[0].new, None);

        let e = RatioPlan::new(
            &current(),
            &[choice("x", ModelPrice, 0.1), choice("x", CacheRatio, 0.5)],
        )
        .unwrap_err();
        assert_eq!(e.class, crate::ErrorClass::Validation);
    }

    #[test]
    fn bad_values_and_bad_maps_are_refused() {
        use RatioField::*;
        for c in [
            choice("a", ModelRatio, -1.0),
            choice("a", ModelRatio, f64::NAN),
            choice("", ModelRatio, 1.0),
            RatioChoice {
                model: "a".into(),
                field: BillingMode,
                value: RatioValue::Number(1.0),
                upstream: None,
            },
        ] {
            assert!(
                RatioPlan::new(&current(), std::slice::from_ref(&c)).is_err(),
                "{c:?}"
            );
        }
        let e = OptionMaps::from_options(&[("CacheRatio".into(), "[1,2]".into())]).unwrap_err();
        assert!(e.message.contains("CacheRatio"));
        assert!(OptionMaps::from_options(&[("CacheRatio".into(), "".into())]).is_ok());
    }

    #[test]
    fn no_op_choices_write_nothing_and_fingerprints_track_changes() {
        let cur = current();
        let plan = RatioPlan::new(&cur, &[choice("a", RatioField::ModelRatio, 1.0)]).unwrap();
        assert!(plan.writes.is_empty());
        assert_eq!(plan.unchanged, 1);
        let mut other = cur.clone();
        other
            .raw
            .insert("ModelRatio".into(), Some(r#"{"a":1,"b":2,"p":3.5}"#.into()));
        assert_ne!(cur.fingerprint(), other.fingerprint());
        assert_eq!(cur.fingerprint(), current().fingerprint());
    }

    #[test]
    fn billing_text_values() {
        let c = RatioChoice {
            model: "g".into(),
            field: RatioField::BillingExpr,
            value: RatioValue::Text("p * 2".into()),
            upstream: None,
        };
        let plan = RatioPlan::new(&current(), &[c]).unwrap();
        assert_eq!(plan.preview().keys, vec!["billing_setting.billing_expr"]);
        assert_eq!(
            map_of(&plan, "billing_setting.billing_expr"),
            Some(json!({"g":"p * 2"}))
        );
    }
}

//! The difference table from `POST /api/ratio_sync/fetch` (`docs/admin-apis.md` §1.6) and its filters.

use super::types::{RatioField, RatioValue};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One upstream's entry in a row. A diff is never stored, so its enums are in serde's default
/// form: `{"value": 2.5}`, `"same"`, `"missing"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// A value that differs from the current one (or the site has none).
    Value(RatioValue),
    /// `"same"`: equal to the current value, or both missing.
    Same,
    /// `null`: the upstream lacks it while the site has it.
    Missing,
}

/// One model × field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    pub model: String,
    pub field: RatioField,
    /// The site's value, `None` when it has none.
    pub current: Option<RatioValue>,
    /// By upstream column name (`name(id)`); columns absent here were not in the answer.
    pub cells: BTreeMap<String, Cell>,
    /// By upstream column name; `false` marks New API's default 37.5/1 for unpriced models.
    #[serde(default)]
    pub confidence: BTreeMap<String, bool>,
    /// The completion ratio the server enforces for this built-in model whatever the option
    /// says (`CompletionRatioMeta` `locked`): the row is shown, never offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<f64>,
}

/// A completion ratio New API enforces for a built-in model and ignores the option for
/// (QuantumNous/new-api `setting/ratio_setting/model_ratio.go`): not written, shown as locked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockedRatio {
    pub model: String,
    /// The ratio the server uses.
    pub enforced: f64,
}

impl DiffRow {
    /// The value an upstream offers for this row (not `"same"`/`null`).
    pub fn value_from(&self, upstream: &str) -> Option<&RatioValue> {
        match self.cells.get(upstream) {
            Some(Cell::Value(value)) => Some(value),
            _ => None,
        }
    }

    /// Confidence of an upstream for this row; the server says `true` unless it knows better.
    pub fn confident(&self, upstream: &str) -> bool {
        self.confidence.get(upstream).copied().unwrap_or(true)
    }

    /// Upstreams that offer a value here.
    pub fn offering(&self) -> impl Iterator<Item = (&str, &RatioValue)> {
        self.cells.iter().filter_map(|(k, c)| match c {
            Cell::Value(value) => Some((k.as_str(), value)),
            _ => None,
        })
    }
}

/// The outcome of fetching one upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamTest {
    pub name: String,
    pub ok: bool,
    /// What went wrong (`"403 Forbidden"`, a timeout, …), as the server said it.
    #[serde(default)]
    pub error: Option<String>,
    /// What msync made of the upstream's endpoint (a fallback taken, or why none worked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<UpstreamNote>,
}

/// What msync found about an upstream's endpoint. New API serves `GET /api/ratio_config` only
/// when the upstream's root turned on `ExposeRatioEnabled`; otherwise it answers 403
/// (QuantumNous/new-api `controller/ratio_config.go` `GetRatioConfig`), which the site's fetch
/// reports as `"403 Forbidden"` (`controller/ratio_sync.go`, `resp.Status`). `GET /api/pricing`
/// is public (`router/api-router.go`) and carries the same ratios, so msync asks it instead.
/// Wire form: `"pricing_instead_of_ratio_config"`, `{"ratio_config_not_exposed": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamNote {
    /// `/api/ratio_config` was refused (exposure off upstream); the values come from the
    /// public `/api/pricing`.
    PricingInsteadOfRatioConfig,
    /// `/api/ratio_config` was refused (exposure off upstream) and `/api/pricing` failed too
    /// (`pricing_error`, the server's text).
    RatioConfigNotExposed { pricing_error: String },
}

impl UpstreamNote {
    /// How a failure noted here is classified; `None` for a notice (the upstream worked).
    pub fn class(&self) -> Option<crate::error::ErrorClass> {
        match self {
            UpstreamNote::PricingInsteadOfRatioConfig => None,
            UpstreamNote::RatioConfigNotExposed { .. } => {
                Some(crate::error::ErrorClass::Permission)
            }
        }
    }
}

impl std::fmt::Display for UpstreamNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamNote::PricingInsteadOfRatioConfig => write!(
                f,
                "{RATIO_CONFIG} is not exposed on this upstream (its admin has not enabled the ratio config API, ExposeRatioEnabled); the values were read from the public {PRICING} instead"
            ),
            UpstreamNote::RatioConfigNotExposed { pricing_error } => write!(
                f,
                "{RATIO_CONFIG} is not exposed on this upstream: its admin must enable the ratio config API (ExposeRatioEnabled), or use the endpoint {PRICING}, which failed too ({pricing_error})"
            ),
        }
    }
}

const RATIO_CONFIG: &str = super::types::ENDPOINT_RATIO_CONFIG;
const PRICING: &str = super::types::ENDPOINT_PRICING;

/// What checking one upstream found (`RatioSync::check_upstream`): the upstream as it should
/// be used (its endpoint switched to `/api/pricing` when `/api/ratio_config` is not exposed)
/// and the test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamCheck {
    pub upstream: super::types::RatioUpstream,
    pub test: UpstreamTest,
}

impl UpstreamTest {
    /// The site's fetch of `/api/ratio_config` was refused with 403: the upstream does not
    /// expose it (see [`UpstreamNote`]).
    pub fn ratio_config_refused(&self, upstream: &super::types::RatioUpstream) -> bool {
        !self.ok
            && upstream.endpoint == RATIO_CONFIG
            && self
                .error
                .as_deref()
                .is_some_and(|e| e.trim_start().starts_with("403"))
    }
}

/// The whole difference table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RatioDiff {
    /// Column names in a stable order: as tested, then any others seen in rows.
    pub upstreams: Vec<String>,
    /// Sorted by model, then field in [`RatioField::ALL`] order.
    pub rows: Vec<DiffRow>,
    /// Per-upstream results; failed upstreams have `ok: false` and an error.
    pub tests: Vec<UpstreamTest>,
    /// Parts of the answer we could not use (an unknown field, a value of the wrong type).
    #[serde(default)]
    pub warnings: Vec<DiffWarning>,
}

/// A part of a ratio sync answer msync could not use; the rest of the answer is used. Values
/// are the JSON the site sent, as text. `Display` is the CLI's English; the pages word it per
/// language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffWarning {
    /// `model`'s entry is not an object; skipped.
    EntryNotObject { model: String },
    /// The site's current `field` of `model` is not a value of the field's kind; the row is
    /// skipped.
    CurrentUnusable {
        model: String,
        field: RatioField,
        value: String,
    },
    /// `upstream` sent `value` for `model`'s `field`, which is not of the field's kind (text
    /// for [`RatioField::is_text`], else a number); the cell is skipped.
    WrongKind {
        model: String,
        field: RatioField,
        upstream: String,
        value: String,
    },
    /// Ratio types this msync does not know, ignored.
    UnknownTypes { names: Vec<String> },
}

impl fmt::Display for DiffWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffWarning::EntryNotObject { model } => {
                write!(f, "{model}: the entry is not an object; skipped")
            }
            DiffWarning::CurrentUnusable {
                model,
                field,
                value,
            } => write!(f, "{model} {field}: current value {value} is not usable"),
            DiffWarning::WrongKind {
                model,
                field,
                upstream,
                value,
            } => {
                let kind = if field.is_text() { "text" } else { "number" };
                write!(
                    f,
                    "{model} {field}: {upstream} sent {value}, which is not a {kind}"
                )
            }
            DiffWarning::UnknownTypes { names } => write!(
                f,
                "ignored ratio types this version of msync does not know: {}",
                names.join(", ")
            ),
        }
    }
}

impl RatioDiff {
    /// Distinct models in the table.
    pub fn models(&self) -> BTreeSet<&str> {
        self.rows.iter().map(|r| r.model.as_str()).collect()
    }

    pub fn row(&self, model: &str, field: RatioField) -> Option<&DiffRow> {
        self.rows
            .iter()
            .find(|r| r.model == model && r.field == field)
    }

    pub fn failed(&self) -> impl Iterator<Item = &UpstreamTest> {
        self.tests.iter().filter(|t| !t.ok)
    }

    /// Mark the completion-ratio rows of models the server reports as locked
    /// ([`super::OptionMaps::locked_completion`]).
    pub fn mark_locked(&mut self, locked: &BTreeMap<String, f64>) {
        for row in &mut self.rows {
            if row.field == RatioField::CompletionRatio {
                row.locked = locked.get(&row.model).copied();
            }
        }
    }

    /// Take the answer of a second fetch that asked `/api/pricing` of the upstreams whose
    /// `/api/ratio_config` was refused: their tests get a note (and `ok` when it worked), their
    /// values join the rows. A row the second answer lacks has no cell for those columns (the
    /// server left it out: nothing to offer there).
    pub fn take_pricing_fallback(&mut self, other: RatioDiff) {
        for t in other.tests {
            let Some(mine) = self.tests.iter_mut().find(|m| m.name == t.name) else {
                continue;
            };
            if t.ok {
                mine.ok = true;
                mine.error = None;
                mine.note = Some(UpstreamNote::PricingInsteadOfRatioConfig);
            } else {
                mine.note = Some(UpstreamNote::RatioConfigNotExposed {
                    pricing_error: t.error.unwrap_or_default(),
                });
            }
        }
        for row in other.rows {
            match self
                .rows
                .iter_mut()
                .find(|r| r.model == row.model && r.field == row.field)
            {
                Some(r) => {
                    r.cells.extend(row.cells);
                    r.confidence.extend(row.confidence);
                }
                None => self.rows.push(row),
            }
        }
        for name in other.upstreams {
            if !self.upstreams.contains(&name) {
                self.upstreams.push(name);
            }
        }
        self.warnings.extend(other.warnings);
        self.rows
            .sort_by(|a, b| a.model.cmp(&b.model).then(a.field.cmp(&b.field)));
    }

    /// The rows a filter keeps (columns and tests unchanged).
    pub fn filtered(&self, filter: &DiffFilter) -> RatioDiff {
        RatioDiff {
            rows: self
                .rows
                .iter()
                .filter(|r| filter.matches(r))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// Which rows to show or take. All conditions must hold; the defaults keep everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffFilter {
    /// Only rows where an upstream offers a value (not just `"same"`/`null`).
    #[serde(default)]
    pub only_differing: bool,
    /// Only rows where an upstream offers a value it is confident about.
    #[serde(default)]
    pub only_confident: bool,
    /// Case-insensitive model search; every whitespace-separated word must occur.
    #[serde(default)]
    pub search: String,
    /// Only these fields (empty = all).
    #[serde(default)]
    pub fields: Vec<RatioField>,
    /// Judge "differing"/"confident" by this column only (None = any column).
    #[serde(default)]
    pub upstream: Option<String>,
}

impl DiffFilter {
    pub fn matches(&self, row: &DiffRow) -> bool {
        if !self.fields.is_empty() && !self.fields.contains(&row.field) {
            return false;
        }
        let model = row.model.to_lowercase();
        if !self
            .search
            .split_whitespace()
            .all(|w| model.contains(&w.to_lowercase()))
        {
            return false;
        }
        let mut offers = row
            .offering()
            .filter(|(name, _)| self.upstream.as_deref().is_none_or(|u| u == *name));
        if self.only_confident {
            return offers.any(|(name, _)| row.confident(name));
        }
        if self.only_differing {
            return offers.next().is_some();
        }
        true
    }
}

/// Parse the `data` of a `POST /api/ratio_sync/fetch` answer.
///
/// Unknown fields and cells of the wrong type are skipped with a warning; a `differences` or
/// `test_results` that is not the documented shape is an [`InvalidResponse`] error.
///
/// [`InvalidResponse`]: crate::ErrorClass::InvalidResponse
pub fn parse_fetch_data(data: &Value) -> Result<RatioDiff> {
    let obj = data
        .as_object()
        .ok_or_else(|| Error::invalid_response("ratio sync answer: data is not an object"))?;
    let mut diff = RatioDiff::default();
    let mut columns: BTreeSet<String> = BTreeSet::new();

    match obj.get("test_results") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Error::invalid_response("ratio sync answer: a test result has no name")
                    })?
                    .to_string();
                let ok = item.get("status").and_then(Value::as_str) == Some("success");
                let error = item
                    .get("error")
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string);
                let error = if ok {
                    None
                } else {
                    Some(error.unwrap_or_else(|| "failed (no reason given)".into()))
                };
                diff.tests.push(UpstreamTest {
                    name: name.clone(),
                    ok,
                    error,
                    note: None,
                });
                if !diff.upstreams.contains(&name) {
                    diff.upstreams.push(name);
                }
            }
        }
        Some(_) => {
            return Err(Error::invalid_response(
                "ratio sync answer: test_results is not a list",
            ))
        }
    }

    let models = match obj.get("differences") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            return Err(Error::invalid_response(
                "ratio sync answer: differences is not an object",
            ))
        }
    };
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    for (model, fields) in models.into_iter().flatten() {
        let Some(fields) = fields.as_object() else {
            let model = model.clone();
            diff.warnings.push(DiffWarning::EntryNotObject { model });
            continue;
        };
        for (fname, item) in fields {
            let Some(field) = RatioField::parse(fname) else {
                unknown.insert(fname.clone());
                continue;
            };
            let current = match item.get("current") {
                None | Some(Value::Null) => None,
                Some(v) => match typed_value(field, v) {
                    Some(v) => Some(v),
                    None => {
                        diff.warnings.push(DiffWarning::CurrentUnusable {
                            model: model.clone(),
                            field,
                            value: v.to_string(),
                        });
                        continue;
                    }
                },
            };
            let mut cells = BTreeMap::new();
            if let Some(ups) = item.get("upstreams").and_then(Value::as_object) {
                for (name, v) in ups {
                    let cell = match v {
                        Value::Null => Cell::Missing,
                        Value::String(s) if s == "same" => Cell::Same,
                        v => match typed_value(field, v) {
                            Some(value) => Cell::Value(value),
                            None => {
                                diff.warnings.push(DiffWarning::WrongKind {
                                    model: model.clone(),
                                    field,
                                    upstream: name.clone(),
                                    value: v.to_string(),
                                });
                                continue;
                            }
                        },
                    };
                    columns.insert(name.clone());
                    cells.insert(name.clone(), cell);
                }
            }
            let confidence = item
                .get("confidence")
                .and_then(Value::as_object)
                .map(|c| {
                    c.iter()
                        .filter_map(|(k, v)| v.as_bool().map(|b| (k.clone(), b)))
                        .collect()
                })
                .unwrap_or_default();
            diff.rows.push(DiffRow {
                model: model.clone(),
                field,
                current,
                cells,
                confidence,
                locked: None,
            });
        }
    }
    for name in columns {
        if !diff.upstreams.contains(&name) {
            diff.upstreams.push(name);
        }
    }
    if !unknown.is_empty() {
        let names = unknown.into_iter().collect();
        diff.warnings.push(DiffWarning::UnknownTypes { names });
    }
    diff.rows
        .sort_by(|a, b| a.model.cmp(&b.model).then(a.field.cmp(&b.field)));
    Ok(diff)
}

/// A value of the right kind for the field: numbers for ratios/prices, text for billing.
fn typed_value(field: RatioField, v: &Value) -> Option<RatioValue> {
    match (field.is_text(), v) {
        (false, Value::Number(n)) => n.as_f64().map(RatioValue::Number),
        (true, Value::String(s)) => Some(RatioValue::Text(s.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc_example() -> Value {
        json!({
          "differences":{
            "gpt-4o":{
              "model_ratio":{"current":1.25,
                             "upstreams":{"upstream-a(3)":2.5,"官方倍率预设(-100)":"same"},
                             "confidence":{"upstream-a(3)":true,"官方倍率预设(-100)":true}},
              "completion_ratio":{"current":4,"upstreams":{"upstream-a(3)":null},
                                  "confidence":{"upstream-a(3)":true}},
              "billing_mode":{"current":null,"upstreams":{"upstream-a(3)":"tiered_expr"}},
              "future_ratio":{"current":null,"upstreams":{"upstream-a(3)":1}}},
            "new-model":{
              "model_ratio":{"current":null,"upstreams":{"upstream-a(3)":3, "cheap(4)":37.5},
                             "confidence":{"upstream-a(3)":true,"cheap(4)":false}},
              "model_price":{"current":null,"upstreams":{"upstream-a(3)":"oops"}}}
          },
          "test_results":[{"name":"upstream-a(3)","status":"success"},
                          {"name":"官方倍率预设(-100)","status":"success"},
                          {"name":"bad(9)","status":"error","error":"403 Forbidden"}]
        })
    }

    #[test]
    fn parses_markers_confidence_tests_and_warnings() {
        let d = parse_fetch_data(&doc_example()).unwrap();
        assert_eq!(
            d.upstreams,
            vec!["upstream-a(3)", "官方倍率预设(-100)", "bad(9)", "cheap(4)"]
        );
        let r = d.row("gpt-4o", RatioField::ModelRatio).unwrap();
        assert_eq!(r.current, Some(RatioValue::Number(1.25)));
        assert_eq!(
            r.value_from("upstream-a(3)"),
            Some(&RatioValue::Number(2.5))
        );
        assert_eq!(r.cells["官方倍率预设(-100)"], Cell::Same);
        let r = d.row("gpt-4o", RatioField::CompletionRatio).unwrap();
        assert_eq!(r.cells["upstream-a(3)"], Cell::Missing);
        let r = d.row("gpt-4o", RatioField::BillingMode).unwrap();
        assert_eq!(
            r.value_from("upstream-a(3)"),
            Some(&RatioValue::Text("tiered_expr".into()))
        );
        let r = d.row("new-model", RatioField::ModelRatio).unwrap();
        assert!(!r.confident("cheap(4)"));
        assert!(r.confident("upstream-a(3)"));
        // A string where a price belongs is skipped, not trusted.
        let r = d.row("new-model", RatioField::ModelPrice).unwrap();
        assert!(r.cells.is_empty());
        let oops = DiffWarning::WrongKind {
            model: "new-model".into(),
            field: RatioField::ModelPrice,
            upstream: "upstream-a(3)".into(),
            value: "\"oops\"".into(),
        };
        assert!(d.warnings.contains(&oops), "{:?}", d.warnings);
        assert_eq!(
            oops.to_string(),
            "new-model model_price: upstream-a(3) sent \"oops\", which is not a number"
        );
        assert!(
            d.warnings.contains(&DiffWarning::UnknownTypes {
                names: vec!["future_ratio".into()]
            }),
            "{:?}",
            d.warnings
        );
        assert_eq!(d.failed().count(), 1);
        assert_eq!(d.tests[2].error.as_deref(), Some("403 Forbidden"));
        // Sorted by model, then field order.
        let order: Vec<_> = d.rows.iter().map(|r| (r.model.as_str(), r.field)).collect();
        assert_eq!(order[0], ("gpt-4o", RatioField::ModelRatio));
        assert_eq!(order[1], ("gpt-4o", RatioField::CompletionRatio));
    }

    #[test]
    fn bad_shapes_are_invalid_responses() {
        for data in [
            json!([]),
            json!({"differences": []}),
            json!({"test_results": {}}),
            json!({"test_results": [{"status":"success"}]}),
        ] {
            let e = parse_fetch_data(&data).unwrap_err();
            assert_eq!(e.class, crate::ErrorClass::InvalidResponse, "{data}");
        }
        let d = parse_fetch_data(&json!({"differences": null, "test_results": null})).unwrap();
        assert!(d.rows.is_empty());
    }

    #[test]
    fn filters_table() {
        let d = parse_fetch_data(&doc_example()).unwrap();
        let count = |f: DiffFilter| d.filtered(&f).rows.len();
        assert_eq!(count(DiffFilter::default()), 5);
        // completion_ratio (only null) and model_price (nothing usable) do not differ.
        let differing = DiffFilter {
            only_differing: true,
            ..Default::default()
        };
        assert_eq!(count(differing.clone()), 3);
        let confident_cheap = DiffFilter {
            only_confident: true,
            upstream: Some("cheap(4)".into()),
            ..Default::default()
        };
        assert_eq!(count(confident_cheap), 0);
        let search = DiffFilter {
            search: "NEW mod".into(),
            ..Default::default()
        };
        assert_eq!(count(search), 2);
        let fields = DiffFilter {
            fields: vec![RatioField::ModelRatio],
            only_confident: true,
            ..Default::default()
        };
        assert_eq!(count(fields), 2);
    }
}

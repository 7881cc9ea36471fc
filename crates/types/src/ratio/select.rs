//! What the admin picked, as a value, and its resolution into explicit choices.

use super::diff::{DiffFilter, LockedRatio, RatioDiff};
use super::types::{RatioField, RatioValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One value to write: `field` of `model` becomes `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioChoice {
    pub model: String,
    pub field: RatioField,
    pub value: RatioValue,
    /// The column it came from, for the preview and history (None = typed by hand).
    #[serde(default)]
    pub upstream: Option<String>,
}

/// One step of a selection. Steps apply in order; a later step replaces an earlier choice for
/// the same model and field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "pick", rename_all = "snake_case")]
pub enum Pick {
    /// One cell.
    Cell {
        model: String,
        field: RatioField,
        upstream: String,
    },
    /// Every value a column offers among the rows the filter keeps.
    Column {
        upstream: String,
        #[serde(default)]
        filter: DiffFilter,
    },
    /// "Take all confident values from X" (among the rows the filter keeps).
    AllConfident {
        upstream: String,
        #[serde(default)]
        filter: DiffFilter,
    },
    /// Drop an earlier choice (one field, or every field of the model).
    Unpick {
        model: String,
        #[serde(default)]
        field: Option<RatioField>,
    },
}

/// A selection: a list of picks, resolved against a [`RatioDiff`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RatioSelection {
    #[serde(default)]
    pub picks: Vec<Pick>,
}

/// Explicit choices, plus picks that found nothing to take (and why).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    pub choices: Vec<RatioChoice>,
    pub skipped: Vec<String>,
    /// Picks on completion ratios the server locks: not offered, so not chosen.
    #[serde(default)]
    pub locked: Vec<LockedRatio>,
}

impl RatioSelection {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cell(mut self, model: &str, field: RatioField, upstream: &str) -> Self {
        self.picks.push(Pick::Cell {
            model: model.into(),
            field,
            upstream: upstream.into(),
        });
        self
    }

    pub fn column(mut self, upstream: &str, filter: DiffFilter) -> Self {
        self.picks.push(Pick::Column {
            upstream: upstream.into(),
            filter,
        });
        self
    }

    pub fn all_confident(mut self, upstream: &str, filter: DiffFilter) -> Self {
        self.picks.push(Pick::AllConfident {
            upstream: upstream.into(),
            filter,
        });
        self
    }

    pub fn unpick(mut self, model: &str, field: Option<RatioField>) -> Self {
        self.picks.push(Pick::Unpick {
            model: model.into(),
            field,
        });
        self
    }

    /// The choices this selection makes on `diff`, sorted by model and field.
    pub fn resolve(&self, diff: &RatioDiff) -> Resolved {
        let mut chosen: BTreeMap<(String, RatioField), RatioChoice> = BTreeMap::new();
        let mut skipped = Vec::new();
        let known = |up: &str| diff.upstreams.iter().any(|u| u == up);
        for pick in &self.picks {
            match pick {
                Pick::Cell {
                    model,
                    field,
                    upstream,
                } => {
                    let value = diff.row(model, *field).and_then(|r| r.value_from(upstream));
                    match value {
                        Some(value) => {
                            chosen.insert(
                                (model.clone(), *field),
                                RatioChoice {
                                    model: model.clone(),
                                    field: *field,
                                    value: value.clone(),
                                    upstream: Some(upstream.clone()),
                                },
                            );
                        }
                        None => {
                            skipped.push(format!("{model} {field}: {upstream} offers no new value"))
                        }
                    }
                }
                Pick::Column { upstream, filter } | Pick::AllConfident { upstream, filter } => {
                    if !known(upstream) {
                        skipped.push(format!("{upstream}: no such upstream in this diff"));
                        continue;
                    }
                    let confident_only = matches!(pick, Pick::AllConfident { .. });
                    let filter = DiffFilter {
                        upstream: Some(upstream.clone()),
                        only_confident: filter.only_confident || confident_only,
                        ..filter.clone()
                    };
                    let mut taken = 0usize;
                    for row in diff.rows.iter().filter(|r| filter.matches(r)) {
                        let Some(value) = row.value_from(upstream) else {
                            continue;
                        };
                        if confident_only && !row.confident(upstream) {
                            continue;
                        }
                        taken += 1;
                        chosen.insert(
                            (row.model.clone(), row.field),
                            RatioChoice {
                                model: row.model.clone(),
                                field: row.field,
                                value: value.clone(),
                                upstream: Some(upstream.clone()),
                            },
                        );
                    }
                    if taken == 0 {
                        skipped.push(format!("{upstream}: no values matched"));
                    }
                }
                Pick::Unpick { model, field } => {
                    chosen.retain(|(m, f), _| !(m == model && field.is_none_or(|x| x == *f)));
                }
            }
        }
        // A locked row is shown, never offered: whatever picked it, it is not chosen.
        let mut locked = Vec::new();
        chosen.retain(|(model, field), _| {
            let enforced = diff.row(model, *field).and_then(|r| r.locked);
            if let Some(enforced) = enforced {
                locked.push(LockedRatio {
                    model: model.clone(),
                    enforced,
                });
            }
            enforced.is_none()
        });
        Resolved {
            choices: chosen.into_values().collect(),
            skipped,
            locked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratio::parse_fetch_data;
    use serde_json::json;

    fn diff() -> RatioDiff {
        parse_fetch_data(&json!({
          "differences":{
            "a":{"model_ratio":{"current":1,"upstreams":{"X(1)":2,"Y(2)":3},
                                "confidence":{"X(1)":true,"Y(2)":true}},
                 "completion_ratio":{"current":1,"upstreams":{"X(1)":"same","Y(2)":5}}},
            "b":{"model_ratio":{"current":null,"upstreams":{"X(1)":37.5,"Y(2)":4},
                                "confidence":{"X(1)":false,"Y(2)":true}},
                 "completion_ratio":{"current":null,"upstreams":{"X(1)":1}, "confidence":{"X(1)":false}}}
          },
          "test_results":[{"name":"X(1)","status":"success"},{"name":"Y(2)","status":"success"}]
        }))
        .unwrap()
    }

    fn picked(r: &Resolved) -> Vec<(String, RatioField, f64, String)> {
        r.choices
            .iter()
            .map(|c| {
                (
                    c.model.clone(),
                    c.field,
                    c.value.as_f64().unwrap(),
                    c.upstream.clone().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn cells_columns_confident_and_overrides() {
        let d = diff();
        use RatioField::*;
        type Want<'a> = Vec<(&'a str, RatioField, f64, &'a str)>;
        let rows: Vec<(RatioSelection, Want)> = vec![
            (
                RatioSelection::new().cell("a", ModelRatio, "Y(2)"),
                vec![("a", ModelRatio, 3.0, "Y(2)")],
            ),
            (
                RatioSelection::new().column("X(1)", DiffFilter::default()),
                vec![
                    ("a", ModelRatio, 2.0, "X(1)"),
                    ("b", ModelRatio, 37.5, "X(1)"),
                    ("b", CompletionRatio, 1.0, "X(1)"),
                ],
            ),
            (
                RatioSelection::new().all_confident("X(1)", DiffFilter::default()),
                vec![("a", ModelRatio, 2.0, "X(1)")],
            ),
            (
                // Column Y, then one cell from X overrides it.
                RatioSelection::new()
                    .column("Y(2)", DiffFilter::default())
                    .cell("a", ModelRatio, "X(1)"),
                vec![
                    ("a", ModelRatio, 2.0, "X(1)"),
                    ("a", CompletionRatio, 5.0, "Y(2)"),
                    ("b", ModelRatio, 4.0, "Y(2)"),
                ],
            ),
            (
                RatioSelection::new()
                    .column("Y(2)", DiffFilter::default())
                    .unpick("a", None),
                vec![("b", ModelRatio, 4.0, "Y(2)")],
            ),
            (
                RatioSelection::new().column(
                    "Y(2)",
                    DiffFilter {
                        fields: vec![CompletionRatio],
                        ..Default::default()
                    },
                ),
                vec![("a", CompletionRatio, 5.0, "Y(2)")],
            ),
        ];
        for (sel, want) in rows {
            let got = picked(&sel.resolve(&d));
            let want: Vec<_> = want
                .into_iter()
                .map(|(m, f, v, u)| (m.to_string(), f, v, u.to_string()))
                .collect();
            assert_eq!(got, want, "{sel:?}");
        }
    }

    #[test]
    fn empty_picks_are_reported() {
        let d = diff();
        let r = RatioSelection::new()
            .cell("a", RatioField::CompletionRatio, "X(1)")
            .column("Z(9)", DiffFilter::default())
            .resolve(&d);
        assert!(r.choices.is_empty());
        assert_eq!(r.skipped.len(), 2, "{:?}", r.skipped);
    }

    #[test]
    fn selection_json_shape() {
        let s: RatioSelection = serde_json::from_str(
            r#"{"picks":[{"pick":"all_confident","upstream":"X(1)"},
                         {"pick":"cell","model":"a","field":"model_ratio","upstream":"Y(2)"}]}"#,
        )
        .unwrap();
        assert_eq!(s.picks.len(), 2);
        assert_eq!(s.resolve(&diff()).choices.len(), 1);
    }
}

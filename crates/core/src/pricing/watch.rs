//! Price watch (issue 19, `docs/pricing-check.md` "Price watch"): a scheduled comparison of one
//! ratio upstream with what it said last time, recorded per site, alerting on moves over the
//! threshold, and — only when asked — applying upstream moves unattended within guardrails.
//!
//! The upstream is fetched by the site (`POST /api/ratio_sync/fetch`, the same call as the ratio
//! diff). New API answers rows only where the upstream differs from the site
//! (`buildDifferences` in new-api `controller/ratio_sync.go`), so the upstream's value of a
//! (model, field) is the row's value, the site's own value for a `"same"` cell or a missing row,
//! and nothing for a model neither has. A model the upstream dropped while the site keeps it
//! also has no row; it reads as the site's value and is never a reason to delete anything.

use crate::error::{Error, ErrorClass, Result};
use crate::notify::PriceMove;
use crate::ratio::{
    Cell, FetchRequest, OptionMaps, RatioChoice, RatioDiff, RatioField, RatioSync, RatioUpstream,
    RatioValue,
};
use crate::reason::RunError;
use crate::store::KvStore;
use std::collections::BTreeMap;

/// `pricing/watch/<site>/last` (the last observation) and `…/log` (the newest runs).
pub const WATCH_PREFIX: &str = "pricing/watch/";
const LOG_KEEP: usize = 50;

pub use msync_types::pricing::{PriceWatchSettings, Refusal, Refused, UnattendedApply, WatchRun};

/// (model, field) → value, numbers only.
pub type Observation = BTreeMap<String, BTreeMap<RatioField, f64>>;

/// What the upstream says now, from a one-upstream diff and the site's current maps.
pub fn observe(diff: &RatioDiff, column: &str, site: &OptionMaps) -> Observation {
    let mut out: Observation = BTreeMap::new();
    for field in RatioField::ALL.into_iter().filter(|f| !f.is_text()) {
        if let Some(m) = site.maps.get(&field) {
            for (model, v) in m {
                if let Some(v) = v.as_f64() {
                    out.entry(model.clone()).or_default().insert(field, v);
                }
            }
        }
    }
    for row in diff.rows.iter().filter(|r| !r.field.is_text()) {
        match row.cells.get(column) {
            Some(Cell::Value(RatioValue::Number(v))) => {
                out.entry(row.model.clone())
                    .or_default()
                    .insert(row.field, *v);
            }
            Some(Cell::Missing) => {
                if let Some(m) = out.get_mut(&row.model) {
                    m.remove(&row.field);
                }
            }
            _ => {}
        }
    }
    out.retain(|_, m| !m.is_empty());
    out
}

/// The moves from `before` to `now` (a value that appeared, changed or went away).
pub fn moves(before: &Observation, now: &Observation) -> Vec<PriceMove> {
    let mut out = Vec::new();
    let models: std::collections::BTreeSet<&String> = before.keys().chain(now.keys()).collect();
    for model in models {
        let b = before.get(model);
        let n = now.get(model);
        for field in RatioField::ALL {
            let old = b.and_then(|m| m.get(&field)).copied();
            let new = n.and_then(|m| m.get(&field)).copied();
            let same = match (old, new) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-9,
                (None, None) => true,
                _ => false,
            };
            if !same {
                out.push(PriceMove {
                    model: model.clone(),
                    field,
                    old,
                    new,
                });
            }
        }
    }
    out
}

/// The moves over the threshold (per cent, either way; a new value with no old one is not an
/// alert: new models are the price check's business), largest first.
pub fn over_threshold(moves: &[PriceMove], threshold_pct: u32) -> Vec<PriceMove> {
    let mut out: Vec<PriceMove> = moves
        .iter()
        .filter(|m| {
            m.percent()
                .is_some_and(|p| p.unsigned_abs() > u64::from(threshold_pct))
        })
        .cloned()
        .collect();
    out.sort_by_key(|m| std::cmp::Reverse(m.percent().map(i64::abs).unwrap_or(0)));
    out
}

/// Decide which moves an unattended apply takes (pure). Only moves of ratio fields and the
/// per-call price whose new upstream value differs from the site's.
pub fn guard(
    moves: &[PriceMove],
    diff: &RatioDiff,
    column: &str,
    site: &OptionMaps,
    rules: &UnattendedApply,
) -> (Vec<RatioChoice>, Vec<Refused>) {
    let mut take = Vec::new();
    let mut refuse = Vec::new();
    let num = |model: &str, field: RatioField| site.value(model, field).and_then(|v| v.as_f64());
    for m in moves {
        let Some(new) = m.new else { continue };
        let current = num(&m.model, m.field);
        if current.is_some_and(|c| (c - new).abs() <= 1e-9) {
            continue;
        }
        let refused = |why| Refused {
            model: m.model.clone(),
            field: m.field,
            value: new,
            why,
        };
        let site_price = num(&m.model, RatioField::ModelPrice).is_some();
        let site_ratio = num(&m.model, RatioField::ModelRatio).is_some();
        let switches =
            (m.field == RatioField::ModelPrice && site_ratio) || (m.field.is_ratio() && site_price);
        if switches {
            refuse.push(refused(Refusal::SwitchesBilling));
            continue;
        }
        if !site_price && !site_ratio && !rules.new_models {
            refuse.push(refused(Refusal::NewModel));
            continue;
        }
        let confident = diff
            .row(&m.model, m.field)
            .is_none_or(|r| r.confident(column));
        if rules.only_confident && !confident {
            refuse.push(refused(Refusal::NotConfident));
            continue;
        }
        if let Some(c) = current {
            if new > c {
                let pct = if c > 0.0 {
                    ((new - c) / c * 100.0).ceil() as i64
                } else {
                    i64::MAX
                };
                if pct > i64::from(rules.max_raise_pct) {
                    refuse.push(refused(Refusal::RaiseOverLimit {
                        pct,
                        limit: rules.max_raise_pct,
                    }));
                    continue;
                }
            }
        }
        take.push(RatioChoice {
            model: m.model.clone(),
            field: m.field,
            value: RatioValue::Number(new),
            upstream: Some(column.to_string()),
        });
    }
    (take, refuse)
}

fn store_err(e: crate::store::StoreError) -> Error {
    crate::history::store_error(e)
}

/// One watch run over a site: fetch, compare with the stored observation, record, and (when
/// `apply.enabled`) apply within the guardrails. An `Err` only when the store fails; an
/// upstream or site failure is the run's `error` (and nothing is recorded as observed).
pub async fn watch(
    sync: &RatioSync,
    store: &dyn KvStore,
    site: &str,
    upstream: &RatioUpstream,
    threshold_pct: u32,
    apply: &UnattendedApply,
    now_ms: u64,
) -> Result<WatchRun> {
    let column = upstream.display_name();
    let last_key = format!("{WATCH_PREFIX}{site}/last/{}", column);
    let mut run = WatchRun {
        at_ms: now_ms,
        upstream: column.clone(),
        baseline: false,
        changes: Vec::new(),
        alert: Vec::new(),
        applied: Vec::new(),
        snapshot: None,
        refused: Vec::new(),
        error: None,
    };
    let fetched = async {
        let diff = sync
            .fetch(&FetchRequest::new(vec![upstream.clone()]))
            .await?;
        if let Some(t) = diff.failed().next() {
            return Err(Error::found(
                ErrorClass::Network,
                RunError::UpstreamUnreadable {
                    upstream: t.name.clone(),
                    error: t.error.clone().unwrap_or_default(),
                },
            ));
        }
        let current = sync.current().await?;
        Ok((diff, current))
    }
    .await;
    let (diff, current) = match fetched {
        Ok(x) => x,
        Err(e) => {
            run.error = Some(e);
            log(store, site, &run).await?;
            return Ok(run);
        }
    };
    let now = observe(&diff, &column, &current);
    let before: Option<Observation> = match store.get(&last_key).await.map_err(store_err)? {
        Some(t) => serde_json::from_str(&t).ok(),
        None => None,
    };
    match &before {
        None => run.baseline = true,
        Some(b) => {
            run.changes = moves(b, &now);
            run.alert = over_threshold(&run.changes, threshold_pct);
        }
    }
    if apply.enabled && !run.changes.is_empty() {
        let (take, refused) = guard(&run.changes, &diff, &column, &current, apply);
        run.refused = refused;
        if !take.is_empty() {
            match sync.apply(&take, None).await {
                Ok(o) => {
                    run.snapshot = o.snapshot.clone();
                    if o.error.is_none() {
                        run.applied = take;
                    }
                    run.error = o.error;
                }
                Err(e) => run.error = Some(e),
            }
        }
    }
    let text = serde_json::to_string(&now).map_err(|e| Error::storage(e.to_string()))?;
    store.set(&last_key, text).await.map_err(store_err)?;
    log(store, site, &run).await?;
    Ok(run)
}

async fn log(store: &dyn KvStore, site: &str, run: &WatchRun) -> Result<()> {
    let key = format!("{WATCH_PREFIX}{site}/log");
    let mut all: Vec<WatchRun> = match store.get(&key).await.map_err(store_err)? {
        Some(t) => serde_json::from_str(&t).unwrap_or_default(),
        None => Vec::new(),
    };
    all.push(run.clone());
    let drop = all.len().saturating_sub(LOG_KEEP);
    all.drain(..drop);
    let text = serde_json::to_string(&all).map_err(|e| Error::storage(e.to_string()))?;
    store.set(&key, text).await.map_err(store_err)
}

/// The recorded watch runs of a site, oldest first.
pub async fn watch_log(store: &dyn KvStore, site: &str) -> Result<Vec<WatchRun>> {
    let key = format!("{WATCH_PREFIX}{site}/log");
    Ok(match store.get(&key).await.map_err(store_err)? {
        Some(t) => serde_json::from_str(&t).unwrap_or_default(),
        None => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obs(v: &[(&str, RatioField, f64)]) -> Observation {
        let mut o: Observation = BTreeMap::new();
        for (m, f, x) in v {
            o.entry(m.to_string()).or_default().insert(*f, *x);
        }
        o
    }

    fn site(ratio: serde_json::Value, price: serde_json::Value) -> OptionMaps {
        OptionMaps::from_options(&[
            ("ModelRatio".into(), ratio.to_string()),
            ("ModelPrice".into(), price.to_string()),
        ])
        .unwrap()
    }

    #[test]
    fn moves_and_threshold() {
        use RatioField::*;
        let a = obs(&[
            ("a", ModelRatio, 1.0),
            ("b", ModelRatio, 2.0),
            ("c", ModelPrice, 0.1),
        ]);
        let b = obs(&[
            ("a", ModelRatio, 1.5),
            ("b", ModelRatio, 2.1),
            ("d", ModelRatio, 3.0),
        ]);
        let m = moves(&a, &b);
        assert_eq!(m.len(), 4, "{m:?}");
        let over = over_threshold(&m, 20);
        assert_eq!(over.len(), 1);
        assert_eq!((over[0].model.as_str(), over[0].percent()), ("a", Some(50)));
    }

    #[test]
    fn guardrails() {
        use RatioField::*;
        let site = site(
            json!({"up": 1.0, "down": 2.0, "small": 10.0}),
            json!({"per_call": 0.04}),
        );
        let diff = RatioDiff::default();
        let mv = |m: &str, f, old: f64, new: f64| PriceMove {
            model: m.into(),
            field: f,
            old: Some(old),
            new: Some(new),
        };
        let moves = vec![
            mv("up", ModelRatio, 1.0, 1.5),
            mv("down", ModelRatio, 2.0, 1.0),
            mv("small", ModelRatio, 10.0, 10.5),
            mv("per_call", ModelRatio, 1.0, 2.0),
            mv("fresh", ModelRatio, 1.0, 2.0),
        ];
        let rules = UnattendedApply {
            enabled: true,
            ..Default::default()
        };
        let (take, refused) = guard(&moves, &diff, "u", &site, &rules);
        assert_eq!(
            take.iter().map(|c| c.model.as_str()).collect::<Vec<_>>(),
            ["down"]
        );
        let why: Vec<(&str, &Refusal)> =
            refused.iter().map(|r| (r.model.as_str(), &r.why)).collect();
        assert_eq!(
            why,
            [
                ("up", &Refusal::RaiseOverLimit { pct: 50, limit: 0 }),
                ("small", &Refusal::RaiseOverLimit { pct: 5, limit: 0 }),
                ("per_call", &Refusal::SwitchesBilling),
                ("fresh", &Refusal::NewModel),
            ]
        );
        let rules = UnattendedApply {
            enabled: true,
            max_raise_pct: 10,
            new_models: true,
            ..Default::default()
        };
        let (take, _) = guard(&moves, &diff, "u", &site, &rules);
        assert_eq!(
            take.iter().map(|c| c.model.as_str()).collect::<Vec<_>>(),
            ["down", "small", "fresh"]
        );
        assert_eq!(
            Refusal::RaiseOverLimit { pct: 50, limit: 0 }.to_string(),
            "a raise of 50 % (unattended raises are off)"
        );
    }
}

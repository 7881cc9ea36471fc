//! The ratio sync workflow over one site: sources, fetch, preview, apply with snapshot and
//! read-back, revert. The worker and the CLI call these; pages talk to them through
//! [`crate::protocol`].

use super::apply::{
    json_same, OptionMaps, RatioApplyOutcome, RatioPlan, RatioPreview, RatioRevertOutcome,
    RatioSnapshot, RatioSnapshotHead,
};
use super::diff::RatioDiff;
use super::select::RatioChoice;
use super::types::{FetchRequest, RatioSources};
use crate::error::{Error, ErrorClass, Result};
use crate::gateway::new_api_ratio::NewApiRatio;
use crate::gateway::Ctx;
use crate::store::KvStore;
use serde_json::Value;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Snapshots live under `ratio/snap/<site id>/<snapshot id>`.
pub const SNAPSHOT_PREFIX: &str = "ratio/snap/";
/// Snapshots kept per site; older ones are dropped after an apply.
const KEEP_SNAPSHOTS: usize = 50;

pub struct RatioSync {
    api: NewApiRatio,
    store: Rc<dyn KvStore>,
}

fn store_err(e: crate::store::StoreError) -> Error {
    Error::new(ErrorClass::Server, format!("local storage: {}", e.0)).not_retryable()
}

impl RatioSync {
    /// For a New API site (anything else is a [`ErrorClass::Validation`] error).
    pub fn new(ctx: Ctx, store: Rc<dyn KvStore>) -> Result<Self> {
        Ok(RatioSync {
            api: NewApiRatio::new(ctx)?,
            store,
        })
    }

    pub fn api(&self) -> &NewApiRatio {
        &self.api
    }

    fn prefix(&self) -> String {
        format!("{SNAPSHOT_PREFIX}{}/", self.api.ctx().site.id)
    }

    /// Sources, with the server's default endpoint for custom upstreams.
    pub async fn sources(&self) -> Result<RatioSources> {
        self.api.sources().await
    }

    /// The difference table for these upstreams.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<RatioDiff> {
        self.api.fetch(req).await
    }

    /// The current option maps (an error if any ratio key is unreadable).
    pub async fn current(&self) -> Result<OptionMaps> {
        let items = self.api.read_options().await?;
        OptionMaps::from_options(&items)
    }

    /// Old → new per model and field, from the maps as they are now. Writes nothing.
    pub async fn preview(&self, choices: &[RatioChoice]) -> Result<RatioPreview> {
        let current = self.current().await?;
        Ok(RatioPlan::new(&current, choices)?.preview())
    }

    /// Read the maps, merge, snapshot, write each changed key, read back and verify.
    ///
    /// * Any failure before the first write (a read, a bad choice, `base` not matching the maps
    ///   as they are now, the snapshot not being stored) is an `Err`: nothing was written.
    /// * A failed write stops the apply; keys already written are restored from the snapshot
    ///   (`rolled_back`) and the error is in the outcome.
    pub async fn apply(
        &self,
        choices: &[RatioChoice],
        base: Option<&str>,
    ) -> Result<RatioApplyOutcome> {
        let current = self.current().await?;
        let plan = RatioPlan::new(&current, choices)?;
        if let Some(base) = base {
            if base != plan.base {
                return Err(Error::validation(
                    "the site's ratios changed since the preview; preview again before applying",
                ));
            }
        }
        let preview = plan.preview();
        if plan.writes.is_empty() {
            return Ok(RatioApplyOutcome {
                snapshot: None,
                preview,
                written: vec![],
                verified: true,
                mismatched: vec![],
                error: None,
                rolled_back: vec![],
            });
        }
        let snapshot = self.take_snapshot(&current, &plan).await?;

        let mut written = Vec::new();
        let mut failure = None;
        for w in &plan.writes {
            match self.api.write_option(&w.key, &w.value).await {
                Ok(()) => written.push(w.key.clone()),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let mut rolled_back = Vec::new();
        if let Some(error) = failure {
            for key in written.iter().rev() {
                let before = snapshot.before.get(key).cloned().flatten();
                let value = before.unwrap_or_else(|| "{}".into());
                if self.api.write_option(key, &value).await.is_ok() {
                    rolled_back.push(key.clone());
                }
            }
            return Ok(RatioApplyOutcome {
                snapshot: Some(snapshot.id),
                preview,
                written,
                verified: false,
                mismatched: vec![],
                error: Some(error),
                rolled_back,
            });
        }
        let (verified, mismatched, error) = self.verify(&snapshot.written).await;
        Ok(RatioApplyOutcome {
            snapshot: Some(snapshot.id),
            preview,
            written,
            verified,
            mismatched,
            error,
            rolled_back,
        })
    }

    /// Read the options back and compare each key with what should be there.
    async fn verify(
        &self,
        expect: &BTreeMap<String, String>,
    ) -> (bool, Vec<String>, Option<Error>) {
        let items = match self.api.read_options().await {
            Ok(items) => items,
            Err(e) => {
                let e = Error {
                    message: format!("written, but the read-back failed: {}", e.message),
                    ..e
                };
                return (false, vec![], Some(e));
            }
        };
        let mut mismatched = Vec::new();
        for (key, want) in expect {
            let got = items
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str());
            let same = match got {
                Some(got) => same_map_text(got, want),
                None => same_map_text("", want),
            };
            if !same {
                mismatched.push(key.clone());
            }
        }
        (mismatched.is_empty(), mismatched, None)
    }

    async fn take_snapshot(&self, current: &OptionMaps, plan: &RatioPlan) -> Result<RatioSnapshot> {
        let ctx = self.api.ctx();
        let taken_ms = ctx.clock.now_ms();
        let prefix = self.prefix();
        let mut n = 0u32;
        let id = loop {
            let id = format!("{taken_ms:013}-{n:03}");
            if self
                .store
                .get(&format!("{prefix}{id}"))
                .await
                .map_err(store_err)?
                .is_none()
            {
                break id;
            }
            n += 1;
        };
        let snap = RatioSnapshot {
            id: id.clone(),
            site: ctx.site.id.clone(),
            taken_ms,
            before: plan
                .writes
                .iter()
                .map(|w| (w.key.clone(), current.raw.get(&w.key).cloned().flatten()))
                .collect(),
            written: plan
                .writes
                .iter()
                .map(|w| (w.key.clone(), w.value.clone()))
                .collect(),
            models: plan.models.clone(),
            reverted_ms: None,
        };
        self.save(&snap).await?;
        // Keep the newest snapshots only.
        let keys = self.store.keys(&prefix).await.map_err(store_err)?;
        if keys.len() > KEEP_SNAPSHOTS {
            for k in &keys[..keys.len() - KEEP_SNAPSHOTS] {
                self.store.remove(k).await.map_err(store_err)?;
            }
        }
        Ok(snap)
    }

    async fn save(&self, snap: &RatioSnapshot) -> Result<()> {
        let text = serde_json::to_string(snap)
            .map_err(|e| Error::new(ErrorClass::Server, format!("snapshot: {e}")))?;
        self.store
            .set(&format!("{}{}", self.prefix(), snap.id), text)
            .await
            .map_err(store_err)
    }

    /// This site's snapshots, newest first.
    pub async fn snapshots(&self) -> Result<Vec<RatioSnapshotHead>> {
        let keys = self.store.keys(&self.prefix()).await.map_err(store_err)?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys.iter().rev() {
            if let Some(text) = self.store.get(k).await.map_err(store_err)? {
                if let Ok(s) = serde_json::from_str::<RatioSnapshot>(&text) {
                    out.push(s.head());
                }
            }
        }
        Ok(out)
    }

    pub async fn snapshot(&self, id: &str) -> Result<RatioSnapshot> {
        let text = self
            .store
            .get(&format!("{}{id}", self.prefix()))
            .await
            .map_err(store_err)?
            .ok_or_else(|| Error::new(ErrorClass::NotFound, format!("no ratio snapshot {id}")))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::invalid_response(format!("ratio snapshot {id} is damaged: {e}")))
    }

    /// Restore the maps an apply replaced. Refuses (writing nothing) when a key was changed
    /// again since that apply, unless `force`.
    pub async fn revert(&self, id: &str, force: bool) -> Result<RatioRevertOutcome> {
        let mut snap = self.snapshot(id).await?;
        let current = self.api.read_options().await?;
        if !force {
            let changed: Vec<&String> = snap
                .written
                .iter()
                .filter(|(key, wrote)| {
                    let now = current
                        .iter()
                        .rev()
                        .find(|(k, _)| k == *key)
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("");
                    !same_map_text(now, wrote)
                })
                .map(|(k, _)| k)
                .collect();
            if !changed.is_empty() {
                return Err(Error::validation(format!(
                    "changed on the site since this apply: {}; revert with force to overwrite",
                    changed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let mut written = Vec::new();
        let mut expect = BTreeMap::new();
        let mut error = None;
        for (key, before) in &snap.before {
            let value = before.clone().unwrap_or_else(|| "{}".into());
            match self.api.write_option(key, &value).await {
                Ok(()) => {
                    written.push(key.clone());
                    expect.insert(key.clone(), value);
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if error.is_some() {
            return Ok(RatioRevertOutcome {
                snapshot: id.to_string(),
                written,
                verified: false,
                mismatched: vec![],
                error,
            });
        }
        let (verified, mismatched, error) = self.verify(&expect).await;
        if verified {
            snap.reverted_ms = Some(self.api.ctx().clock.now_ms());
            self.save(&snap).await?;
        }
        Ok(RatioRevertOutcome {
            snapshot: id.to_string(),
            written,
            verified,
            mismatched,
            error,
        })
    }
}

/// Two option values hold the same map (empty text = empty map); non-JSON compares as text.
fn same_map_text(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Option<Value> {
        let s = s.trim();
        if s.is_empty() || s == "null" {
            Some(Value::Object(Default::default()))
        } else {
            serde_json::from_str(s).ok()
        }
    };
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => json_same(&x, &y),
        _ => a == b,
    }
}

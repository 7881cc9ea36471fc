//! The ratio sync workflow over one site: sources, fetch, preview, apply with snapshot and
//! read-back, revert. The worker and the CLI call these; pages talk to them through
//! [`crate::protocol`].

use super::apply::{
    json_same, OptionMaps, RatioApplyOutcome, RatioPlan, RatioPreview, RatioRevertOutcome,
    RatioSnapshot, RatioSnapshotHead,
};
use super::RatioChoice;
use super::RatioDiff;
use super::ENDPOINT_PRICING;
use super::{FetchRequest, RatioSources, RatioUpstream, UpstreamCheck, UpstreamNote};
use crate::error::{Error, ErrorClass, Result};
use crate::gateway::new_api_ratio::NewApiRatio;
use crate::gateway::Ctx;
use crate::protocol::{Command, Reply};
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
    crate::history::store_error(e)
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
    /// Completion-ratio rows of models the server locks are marked (read from the options).
    ///
    /// An upstream whose `/api/ratio_config` the site's fetch reports refused (403: the
    /// upstream's root has not enabled `ExposeRatioEnabled`) is asked again at the public
    /// `/api/pricing` in a second fetch; its test carries an [`UpstreamNote`] either way.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<RatioDiff> {
        let mut diff = self.api.fetch(req).await?;
        self.pricing_fallback(req, &mut diff).await;
        let current = self.current().await?;
        diff.mark_locked(&current.locked_completion);
        Ok(diff)
    }

    /// Ask `/api/pricing` of the upstreams whose `/api/ratio_config` was refused.
    async fn pricing_fallback(&self, req: &FetchRequest, diff: &mut RatioDiff) {
        let refused: Vec<RatioUpstream> = req
            .upstreams
            .iter()
            .filter(|u| {
                let name = u.display_name();
                diff.tests
                    .iter()
                    .any(|t| t.name == name && t.ratio_config_refused(u))
            })
            .map(|u| RatioUpstream {
                endpoint: ENDPOINT_PRICING.into(),
                ..u.clone()
            })
            .collect();
        if refused.is_empty() {
            return;
        }
        let again = FetchRequest {
            upstreams: refused,
            timeout_s: req.timeout_s,
        };
        match self.api.fetch(&again).await {
            Ok(other) => diff.take_pricing_fallback(other),
            Err(e) => {
                // The second fetch failed as a whole: each refused upstream says why.
                for u in &again.upstreams {
                    let name = u.display_name();
                    if let Some(t) = diff.tests.iter_mut().find(|t| t.name == name) {
                        t.note = Some(UpstreamNote::RatioConfigNotExposed {
                            pricing_error: e.message.clone(),
                        });
                    }
                }
            }
        }
    }

    /// Check one upstream before it is added (the site fetches it alone): the upstream as it
    /// should be used — its endpoint switched to `/api/pricing` when `/api/ratio_config` is
    /// not exposed — and its test. Writes nothing.
    pub async fn check_upstream(&self, upstream: &RatioUpstream) -> Result<UpstreamCheck> {
        let req = FetchRequest::new(vec![upstream.clone()]);
        let mut diff = self.api.fetch(&req).await?;
        self.pricing_fallback(&req, &mut diff).await;
        let name = upstream.display_name();
        let test = diff
            .tests
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| {
                Error::invalid_response(format!(
                    "the site reported no result for upstream {name:?}"
                ))
            })?;
        let mut upstream = upstream.clone();
        if test.note == Some(UpstreamNote::PricingInsteadOfRatioConfig) {
            upstream.endpoint = ENDPOINT_PRICING.into();
        }
        Ok(UpstreamCheck { upstream, test })
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
            // Compare-and-write: the key must still hold what the plan merged into (another
            // msync, the CLI or an admin may have saved it since it was read).
            let was = current.raw.get(&w.key).cloned().flatten();
            match self.api.read_options().await {
                Ok(now) => {
                    let now = now.iter().rev().find(|(k, _)| *k == w.key).map(|(_, v)| v);
                    if !same_map_text(now.map_or("", |v| v.as_str()), was.as_deref().unwrap_or(""))
                    {
                        failure = Some(Error::conflict(format!(
                            "{} was changed by someone else while msync worked on it; it was not \
                             written (preview again to work on it as it is now)",
                            w.key
                        )));
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
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
            .map_err(|e| Error::storage(format!("the ratio snapshot could not be encoded: {e}")))?;
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

    /// Answer a ratio sync [`Command`] (see [`Command::ratio_site`]); any other command is a
    /// validation error. The caller builds this `RatioSync` for the command's site.
    pub async fn handle(&self, cmd: Command) -> Result<Reply> {
        Ok(match cmd {
            Command::ListRatioSources { .. } => Reply::RatioSources {
                sources: self.sources().await?,
            },
            Command::FetchRatioDiff {
                upstreams,
                timeout_s,
                ..
            } => {
                let mut req = FetchRequest::new(upstreams);
                if let Some(t) = timeout_s {
                    req.timeout_s = t;
                }
                Reply::RatioDiff {
                    diff: self.fetch(&req).await?,
                }
            }
            Command::CheckRatioUpstream { upstream, .. } => Reply::RatioUpstreamChecked {
                check: self.check_upstream(&upstream).await?,
            },
            Command::PreviewRatios { choices, .. } => Reply::RatioPreview {
                preview: self.preview(&choices).await?,
            },
            Command::ApplyRatios { choices, base, .. } => Reply::RatioApplied {
                outcome: self.apply(&choices, base.as_deref()).await?,
            },
            Command::ListRatioSnapshots { .. } => Reply::RatioSnapshots {
                snapshots: self.snapshots().await?,
            },
            Command::RevertRatios {
                snapshot, force, ..
            } => Reply::RatioReverted {
                outcome: self.revert(&snapshot, force).await?,
            },
            _ => return Err(Error::validation("not a ratio sync command")),
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::testing::{block_on, body_json, is, json, test_ctx, FakeTransport};
    use crate::http::Method;
    use crate::model::SiteKind;
    use crate::ratio::{RatioChoice, RatioUpstream, RatioValue};
    use crate::store::MemoryStore;
    use serde_json::json;
    use std::cell::RefCell;

    /// A tiny New API options server; PUTs of `fail_key` answer `success:false`.
    fn server(
        options: Rc<RefCell<BTreeMap<String, String>>>,
        fail_key: &'static str,
    ) -> Rc<FakeTransport> {
        FakeTransport::new(move |req| {
            if is(req, Method::Get, "/api/option/") {
                let data: Vec<Value> = options
                    .borrow()
                    .iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect();
                return Ok(json(
                    200,
                    json!({"success": true, "message": "", "data": data}),
                ));
            }
            if is(req, Method::Put, "/api/option/") {
                let b = body_json(req);
                let key = b["key"].as_str().unwrap().to_string();
                if key == fail_key {
                    return Ok(json(
                        200,
                        json!({"success": false, "message": "数据库错误"}),
                    ));
                }
                let value = b["value"].as_str().expect("value is a string").to_string();
                options.borrow_mut().insert(key, value);
                return Ok(json(200, json!({"success": true, "message": ""})));
            }
            Ok(json(404, json!({})))
        })
    }

    fn choice(model: &str, field: RatioField, v: f64) -> RatioChoice {
        RatioChoice {
            model: model.into(),
            field,
            value: RatioValue::Number(v),
            upstream: None,
        }
    }

    use crate::ratio::RatioField;

    #[test]
    fn a_failed_write_rolls_back_the_keys_already_written() {
        let options = Rc::new(RefCell::new(BTreeMap::from([
            ("ModelRatio".to_string(), r#"{"a":1}"#.to_string()),
            ("CompletionRatio".to_string(), r#"{"a":2}"#.to_string()),
        ])));
        let t = server(options.clone(), "CompletionRatio");
        let store = Rc::new(MemoryStore::new());
        let sync = RatioSync::new(test_ctx(SiteKind::NewApi, t.clone()), store.clone()).unwrap();
        let out = block_on(sync.apply(
            &[
                choice("a", RatioField::ModelRatio, 5.0),
                choice("a", RatioField::CompletionRatio, 6.0),
            ],
            None,
        ))
        .unwrap();
        assert!(!out.ok());
        assert_eq!(out.written, vec!["ModelRatio"]);
        assert_eq!(out.rolled_back, vec!["ModelRatio"]);
        assert_eq!(out.error.as_ref().unwrap().class, crate::ErrorClass::Server);
        assert!(out.error.unwrap().message.contains("CompletionRatio"));
        assert_eq!(options.borrow()["ModelRatio"], r#"{"a":1}"#);
        assert_eq!(options.borrow()["CompletionRatio"], r#"{"a":2}"#);
        // The snapshot was stored before the first write.
        assert_eq!(block_on(sync.snapshots()).unwrap().len(), 1);
    }

    #[test]
    fn a_key_changed_by_someone_else_after_the_read_is_not_overwritten() {
        let options = Rc::new(RefCell::new(BTreeMap::from([
            ("ModelRatio".to_string(), r#"{"a":1}"#.to_string()),
            ("CompletionRatio".to_string(), r#"{"a":2}"#.to_string()),
        ])));
        // Another writer (a second browser, the CLI) saves both keys right after our read.
        let (opts, gets) = (options.clone(), Rc::new(std::cell::Cell::new(0)));
        let t = FakeTransport::new(move |req| {
            if is(req, Method::Get, "/api/option/") {
                gets.set(gets.get() + 1);
                if gets.get() == 2 {
                    let mut o = opts.borrow_mut();
                    o.insert("ModelRatio".into(), r#"{"a":1,"z":7}"#.into());
                    o.insert("CompletionRatio".into(), r#"{"a":2,"z":8}"#.into());
                }
                let data: Vec<Value> = opts
                    .borrow()
                    .iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect();
                return Ok(json(
                    200,
                    json!({"success": true, "message": "", "data": data}),
                ));
            }
            let b = body_json(req);
            opts.borrow_mut().insert(
                b["key"].as_str().unwrap().to_string(),
                b["value"].as_str().unwrap().to_string(),
            );
            Ok(json(200, json!({"success": true, "message": ""})))
        });
        let sync = RatioSync::new(
            test_ctx(SiteKind::NewApi, t.clone()),
            Rc::new(MemoryStore::new()),
        )
        .unwrap();
        let out = block_on(sync.apply(
            &[
                choice("a", RatioField::ModelRatio, 5.0),
                choice("a", RatioField::CompletionRatio, 6.0),
            ],
            None,
        ))
        .unwrap();
        assert!(!out.ok());
        assert!(out.written.is_empty(), "{out:?}");
        let e = out.error.unwrap();
        assert_eq!(e.class, crate::ErrorClass::Conflict);
        assert!(
            e.message.contains("changed by someone else"),
            "{}",
            e.message
        );
        assert_eq!(options.borrow()["ModelRatio"], r#"{"a":1,"z":7}"#);
        assert_eq!(options.borrow()["CompletionRatio"], r#"{"a":2,"z":8}"#);
        assert!(
            t.requests().iter().all(|r| r.method == Method::Get),
            "no PUT at all"
        );
    }

    #[test]
    fn protocol_commands_are_answered() {
        let options = Rc::new(RefCell::new(BTreeMap::from([(
            "ModelRatio".to_string(),
            r#"{"a":1}"#.to_string(),
        )])));
        let t = server(options.clone(), "none");
        let sync = RatioSync::new(
            test_ctx(SiteKind::NewApi, t.clone()),
            Rc::new(MemoryStore::new()),
        )
        .unwrap();
        let cmd: Command = serde_json::from_value(json!({"apply_ratios": {"site":"s",
            "choices":[{"model":"a","field":"model_ratio","value":2}]}}))
        .unwrap();
        assert!(cmd.ratio_site().is_some());
        let Reply::RatioApplied { outcome } = block_on(sync.handle(cmd)).unwrap() else {
            panic!("wrong reply")
        };
        assert!(outcome.ok());
        assert_eq!(options.borrow()["ModelRatio"], r#"{"a":2}"#);
        let cmd: Command =
            serde_json::from_value(json!({"list_ratio_snapshots": {"site":"s"}})).unwrap();
        let Reply::RatioSnapshots { snapshots } = block_on(sync.handle(cmd)).unwrap() else {
            panic!("wrong reply")
        };
        assert_eq!(snapshots.len(), 1);
        assert_eq!(snapshots[0].keys, vec!["ModelRatio"]);
        assert!(Command::Ping.ratio_site().is_none());
        assert!(block_on(sync.handle(Command::Ping)).is_err());
    }

    #[test]
    fn fetch_sizes_its_time_limit_and_redacts_upstream_errors() {
        let t = FakeTransport::new(|req| {
            // The options, read for the locked completion ratios.
            if is(req, Method::Get, "/api/option/") {
                return Ok(json(200, json!({"success": true, "data": []})));
            }
            assert!(is(req, Method::Post, "/api/ratio_sync/fetch"));
            Ok(json(
                200,
                json!({"success": true, "data": {"differences": {}, "test_results": [
                    {"name": "x", "status": "error", "error": "401 for token tok-SECRET-0123456789"}]}}),
            ))
        });
        let sync = RatioSync::new(
            test_ctx(SiteKind::NewApi, t.clone()),
            Rc::new(MemoryStore::new()),
        )
        .unwrap();
        let ups: Vec<RatioUpstream> = (0..9)
            .map(|i| {
                RatioUpstream::custom(&format!("u{i}"), "http://h", None, "/api/pricing").unwrap()
            })
            .collect();
        let req = FetchRequest {
            upstreams: ups,
            timeout_s: 5,
        };
        let diff = block_on(sync.fetch(&req)).unwrap();
        let sent = &t.requests()[0];
        // Two batches of 8, each up to 3 × 5 s plus back-off, plus a margin.
        assert_eq!(sent.timeout_ms, 2 * (15_000 + 1_500) + 10_000);
        assert_eq!(body_json(sent)["timeout"], json!(5));
        let err = diff.tests[0].error.clone().unwrap();
        assert!(!err.contains("tok-SECRET-0123456789"), "{err}");
    }
}

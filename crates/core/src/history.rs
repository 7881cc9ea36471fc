//! Run history in a [`KvStore`]: layout, queries, retention and export (`docs/sync.md` §4).
//!
//! Key layout (all keys of a site share `sync/{site}/`; `/` and `%` in ids are percent-encoded):
//!
//! | key | value |
//! |---|---|
//! | `sync/{site}/lock` | [`RunLock`] |
//! | `sync/{site}/run/{run}/head` | [`RunHead`] |
//! | `sync/{site}/run/{run}/item/{channel}` | [`ItemResult`] (the per-channel checkpoint) |
//! | `sync/{site}/run/{run}/snap/{channel}` | [`Snapshot`] taken before a write |
//! | `sync/{site}/run/{run}/plan/{channel}` | [`ChannelPlan`] of a dry run (or an apply run) |
//! | `sync/{site}/redirect-preview` | the latest redirect preview, without its explanations |
//!
//! Removing a run removes everything under its prefix, snapshots included.

use crate::engine::plan::{ChannelPlan, SyncPlan};
use crate::engine::record::{
    ItemBudget, ItemResult, ItemStatus, RunHead, RunId, RunRecord, RunState, Snapshot,
};
use crate::error::{Error, Result};
use crate::model::{ChannelId, SiteId};
use crate::store::{KvStore, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A storage failure as a classified error (not retryable: the run stops).
pub fn store_error(e: StoreError) -> Error {
    Error::storage(format!("could not use local storage: {}", e.0))
}

/// What a key segment encodes: the separator, the escape itself, and (as percent-encoding always
/// does) every non-ASCII byte.
const KEY_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%').add(b'/');

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, KEY_SEGMENT).to_string()
}

fn dec(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The prefix of everything the engine stores for a site (history, lock, snapshots, previews):
/// `sync/{site}/`. The one place the layout is written down; the worker's storage bound and
/// site removal use it too.
pub fn site_prefix(site: &SiteId) -> String {
    format!("sync/{}/", enc(&site.0))
}

/// The run lock of a site: one run at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLock {
    pub run: RunId,
    pub acquired_ms: u64,
    /// Refreshed at every checkpoint; a lock older than [`LOCK_STALE_MS`] is abandoned.
    pub heartbeat_ms: u64,
}

/// A lock not refreshed for this long belongs to a run that died; it may be taken over.
pub const LOCK_STALE_MS: u64 = 10 * 60_000;

/// Item filter for the results table and search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemQuery {
    /// Keep only these statuses (empty = all).
    #[serde(default)]
    pub statuses: Vec<ItemStatus>,
    /// Case-insensitive search in channel name, id, reason and error text.
    #[serde(default)]
    pub text: Option<String>,
}

impl ItemQuery {
    pub fn matches(&self, item: &ItemResult) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&item.status))
            && self.text.as_deref().is_none_or(|t| item.matches_text(t))
    }
}

/// One site's history.
pub struct History<'a> {
    store: &'a dyn KvStore,
    site: SiteId,
}

impl<'a> History<'a> {
    pub fn new(store: &'a dyn KvStore, site: SiteId) -> History<'a> {
        History { store, site }
    }

    fn root(&self) -> String {
        site_prefix(&self.site)
    }
    fn run_prefix(&self, run: &RunId) -> String {
        format!("{}run/{}/", self.root(), enc(&run.0))
    }
    pub(crate) fn lock_key(&self) -> String {
        format!("{}lock", self.root())
    }
    fn head_key(&self, run: &RunId) -> String {
        format!("{}head", self.run_prefix(run))
    }
    fn item_key(&self, run: &RunId, ch: &ChannelId) -> String {
        format!("{}item/{}", self.run_prefix(run), enc(&ch.0))
    }
    fn snap_key(&self, run: &RunId, ch: &ChannelId) -> String {
        format!("{}snap/{}", self.run_prefix(run), enc(&ch.0))
    }
    fn plan_key(&self, run: &RunId, ch: &ChannelId) -> String {
        format!("{}plan/{}", self.run_prefix(run), enc(&ch.0))
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.store.get(key).await.map_err(store_error)? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                Error::invalid_response(format!("stored record {key} is unreadable: {e}"))
            }),
        }
    }

    async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let text = serde_json::to_string(value)
            .map_err(|e| Error::validation(format!("could not encode {key}: {e}")))?;
        self.store.set(key, text).await.map_err(store_error)
    }

    pub(crate) async fn put_head(&self, head: &RunHead) -> Result<()> {
        self.put_json(&self.head_key(&head.id), head).await
    }
    pub(crate) async fn put_item(&self, run: &RunId, item: &ItemResult) -> Result<()> {
        self.put_json(&self.item_key(run, &item.channel_id), item)
            .await
    }
    pub(crate) async fn put_snapshot(&self, run: &RunId, snap: &Snapshot) -> Result<()> {
        self.put_json(&self.snap_key(run, &snap.channel_id), snap)
            .await
    }
    pub(crate) async fn put_plan_entry(&self, run: &RunId, entry: &ChannelPlan) -> Result<()> {
        self.put_json(&self.plan_key(run, &entry.channel_id), entry)
            .await
    }
    /// Keep `preview` as the site's latest redirect preview (the per-standard explanations are
    /// dropped: apply needs only the states and changes).
    pub(crate) async fn put_redirect_preview(
        &self,
        preview: &crate::engine::redirect::RedirectPreview,
    ) -> Result<()> {
        let mut p = preview.clone();
        for c in &mut p.channels {
            c.outcomes.clear();
        }
        self.put_json(&format!("{}redirect-preview", self.root()), &p)
            .await
    }
    /// The site's latest redirect preview, if any.
    pub async fn redirect_preview(
        &self,
    ) -> Result<Option<crate::engine::redirect::RedirectPreview>> {
        self.get_json(&format!("{}redirect-preview", self.root()))
            .await
    }
    pub(crate) async fn lock(&self) -> Result<Option<RunLock>> {
        self.get_json(&self.lock_key()).await
    }
    pub(crate) async fn put_lock(&self, lock: &RunLock) -> Result<()> {
        self.put_json(&self.lock_key(), lock).await
    }
    pub(crate) async fn remove_lock(&self) -> Result<()> {
        self.store
            .remove(&self.lock_key())
            .await
            .map_err(store_error)
    }

    /// Ids of all stored runs, oldest first.
    pub async fn run_ids(&self) -> Result<Vec<RunId>> {
        let prefix = format!("{}run/", self.root());
        let keys = self.store.keys(&prefix).await.map_err(store_error)?;
        let mut ids: Vec<RunId> = keys
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix)?.strip_suffix("/head"))
            .map(|id| RunId(dec(id)))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Every run's head, newest first (the History list).
    pub async fn runs(&self) -> Result<Vec<RunHead>> {
        let mut out = Vec::new();
        for id in self.run_ids().await?.into_iter().rev() {
            if let Some(h) = self.head(&id).await? {
                out.push(h);
            }
        }
        Ok(out)
    }

    pub async fn head(&self, run: &RunId) -> Result<Option<RunHead>> {
        self.get_json(&self.head_key(run)).await
    }

    /// A run with its items in queue order, every model list whole (exports); channels without
    /// a stored item are `queued`. For display use [`History::run_matching`].
    pub async fn run(&self, run: &RunId) -> Result<Option<RunRecord>> {
        let all = ItemQuery::default();
        self.run_matching(run, &all, &mut ItemBudget::new(usize::MAX, usize::MAX))
            .await
    }

    /// A run with the items that match `query`, in queue order, their model lists cut to
    /// `budget` as they are read (a run over thousands of huge channels is never whole in
    /// memory; items that do not match cost nothing).
    pub async fn run_matching(
        &self,
        run: &RunId,
        query: &ItemQuery,
        budget: &mut ItemBudget,
    ) -> Result<Option<RunRecord>> {
        let Some(head) = self.head(run).await? else {
            return Ok(None);
        };
        let mut items = Vec::new();
        for q in &head.queue {
            let mut item = match self.item(run, &q.id).await? {
                Some(i) => i,
                None => ItemResult::new(
                    q.id.clone(),
                    q.name.clone(),
                    ItemStatus::Queued,
                    head.started_ms,
                ),
            };
            if query.matches(&item) {
                budget.keep(&mut item);
                items.push(item);
            }
        }
        Ok(Some(RunRecord { head, items }))
    }

    pub async fn item(&self, run: &RunId, ch: &ChannelId) -> Result<Option<ItemResult>> {
        self.get_json(&self.item_key(run, ch)).await
    }

    /// The items of a run that match `query` (status chips and search box), lists cut to the
    /// default [`ItemBudget`].
    pub async fn items(&self, run: &RunId, query: &ItemQuery) -> Result<Vec<ItemResult>> {
        Ok(self
            .run_matching(run, query, &mut ItemBudget::default())
            .await?
            .map(|r| r.items)
            .unwrap_or_default())
    }

    /// Search every stored run: `(run, item)` pairs matching `query`, newest run first.
    pub async fn search(&self, query: &ItemQuery) -> Result<Vec<(RunId, ItemResult)>> {
        let mut out = Vec::new();
        // One budget for the whole search: the answer, not each run, is what stays in memory.
        let mut budget = ItemBudget::default();
        for id in self.run_ids().await?.into_iter().rev() {
            if let Some(rec) = self.run_matching(&id, query, &mut budget).await? {
                out.extend(rec.items.into_iter().map(|i| (id.clone(), i)));
            }
        }
        Ok(out)
    }

    /// The newest run that actually processed channels (not skipped, not a revert, not a
    /// redirect).
    pub async fn last_sync_run(&self) -> Result<Option<RunRecord>> {
        for h in self.runs().await? {
            if h.state != RunState::Skipped
                && !matches!(
                    h.job,
                    crate::engine::record::Job::Revert { .. }
                        | crate::engine::record::Job::Redirect { .. }
                )
            {
                return self
                    .run_matching(&h.id, &ItemQuery::default(), &mut ItemBudget::default())
                    .await;
            }
        }
        Ok(None)
    }

    pub async fn snapshot(&self, run: &RunId, ch: &ChannelId) -> Result<Option<Snapshot>> {
        self.get_json(&self.snap_key(run, ch)).await
    }

    /// Every snapshot of a run.
    pub async fn snapshots(&self, run: &RunId) -> Result<Vec<Snapshot>> {
        let prefix = format!("{}snap/", self.run_prefix(run));
        let mut out = Vec::new();
        for key in self.store.keys(&prefix).await.map_err(store_error)? {
            if let Some(s) = self.get_json(&key).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The plan stored by a dry run (or by an apply run: the part it applies), in queue order.
    /// Channels the run did not get to (interrupted) are missing from it.
    pub async fn plan(&self, run: &RunId) -> Result<Option<SyncPlan>> {
        let Some(head) = self.head(run).await? else {
            return Ok(None);
        };
        let mut channels = Vec::new();
        for q in &head.queue {
            if let Some(entry) = self.get_json(&self.plan_key(run, &q.id)).await? {
                channels.push(entry);
            }
        }
        Ok(Some(SyncPlan {
            site: head.site,
            run: head.id,
            created_ms: head.started_ms,
            channels,
        }))
    }

    /// Bytes used by one run (all its keys).
    pub async fn run_bytes(&self, run: &RunId) -> Result<u64> {
        let mut total = 0u64;
        for key in self
            .store
            .keys(&self.run_prefix(run))
            .await
            .map_err(store_error)?
        {
            let len = self
                .store
                .get(&key)
                .await
                .map_err(store_error)?
                .map_or(0, |v| v.len());
            total += (key.len() + len) as u64;
        }
        Ok(total)
    }

    /// Remove a run and everything stored with it.
    pub async fn remove_run(&self, run: &RunId) -> Result<()> {
        for key in self
            .store
            .keys(&self.run_prefix(run))
            .await
            .map_err(store_error)?
        {
            self.store.remove(&key).await.map_err(store_error)?;
        }
        Ok(())
    }

    /// Keep the newest `keep` runs and, among those, as many as fit in `max_bytes` (the newest
    /// run always stays, as does `protect`, the run in progress). Returns the removed ids.
    pub async fn prune(
        &self,
        keep: usize,
        max_bytes: u64,
        protect: Option<&RunId>,
    ) -> Result<Vec<RunId>> {
        let ids = self.run_ids().await?;
        let mut removed = Vec::new();
        let mut used = 0u64;
        for (n, id) in ids.iter().rev().enumerate() {
            let protected = n == 0 || Some(id) == protect;
            let bytes = self.run_bytes(id).await?;
            if protected || (n < keep && used + bytes <= max_bytes) {
                used += bytes;
            } else {
                self.remove_run(id).await?;
                removed.push(id.clone());
            }
        }
        Ok(removed)
    }
}

/// A run as pretty JSON (for "Export"). Contains no secrets: records never hold any.
pub fn export_json(record: &RunRecord) -> String {
    serde_json::to_string_pretty(record).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// One CSV field, quoted when needed (RFC 4180: `"` doubled; fields with `,` `"` CR LF quoted).
/// A leading `=`, `+`, `-`, `@`, tab or CR gets a `'` so spreadsheets do not run it as a
/// formula (OWASP's list: a tab or CR in front still lets some spreadsheets evaluate the rest).
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The header of [`export_csv`].
pub const CSV_HEADER: &str = "run_id,channel_id,channel_name,status,reason,http_status,error_class,message,attempts,duration_ms,started_ms,finished_ms,old_models,new_models,added,removed";

/// A run's items as CSV (one row per channel; model lists joined with `;`).
pub fn export_csv(record: &RunRecord) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for i in &record.items {
        let fields = [
            record.head.id.0.clone(),
            i.channel_id.0.clone(),
            i.channel_name.clone(),
            i.status.as_str().to_string(),
            i.reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            i.http_status.map(|s| s.to_string()).unwrap_or_default(),
            i.error_class
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            i.error_text().unwrap_or_default(),
            i.attempts.to_string(),
            i.duration_ms.to_string(),
            i.started_ms.to_string(),
            i.finished_ms.to_string(),
            i.old.join(";"),
            i.new.join(";"),
            i.added.join(";"),
            i.removed.join(";"),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_escaped() {
        let rows = [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
            ("-1,2", "\"'-1,2\""),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "\"'\r=1+1\""),
            ("模型", "模型"),
            ("", ""),
        ];
        for (input, want) in rows {
            assert_eq!(csv_field(input), want, "{input:?}");
        }
    }

    #[test]
    fn ids_with_slashes_round_trip_in_keys() {
        assert_eq!(
            dec(&enc("gid://axonhub/channel/5%")),
            "gid://axonhub/channel/5%"
        );
        assert!(!enc("a/b").contains('/'));
    }
}

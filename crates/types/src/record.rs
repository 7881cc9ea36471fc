//! What a run leaves behind (`docs/sync.md` §4): per-channel [`ItemResult`]s and a [`RunHead`] per run.

use crate::error::{Error, ErrorClass};
use crate::model::{ChannelId, Mapping, SiteId};
use crate::reason::{GaveUp, ItemReason, RunError, RunNote};
use crate::redirect::{MappingChange, RedirectOp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A run's id: `{start ms, 13 digits}-{sequence, 4 hex}`, so ids sort by start time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub String);

impl RunId {
    pub fn new(started_ms: u64, seq: u64) -> RunId {
        RunId(format!("{started_ms:013}-{seq:04x}"))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The status of one channel in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Written (or, in a dry run, would be written).
    Success,
    /// The model set is already right; nothing written.
    Unchanged,
    Failed,
    /// Not processed on purpose (excluded, disabled, empty upstream reply…); see `reason`.
    Skipped,
    /// Held back by a guard; see `reason`. Apply the run's plan to confirm.
    NeedsReview,
    Running,
    Queued,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 7] = [
        ItemStatus::Success,
        ItemStatus::Unchanged,
        ItemStatus::Failed,
        ItemStatus::Skipped,
        ItemStatus::NeedsReview,
        ItemStatus::Running,
        ItemStatus::Queued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Success => "success",
            ItemStatus::Unchanged => "unchanged",
            ItemStatus::Failed => "failed",
            ItemStatus::Skipped => "skipped",
            ItemStatus::NeedsReview => "needs_review",
            ItemStatus::Running => "running",
            ItemStatus::Queued => "queued",
        }
    }

    /// Whether the channel is done for this run (a resumed run does not touch it again).
    pub fn is_final(self) -> bool {
        !matches!(self, ItemStatus::Running | ItemStatus::Queued)
    }
}

impl fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One channel's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    pub channel_id: ChannelId,
    pub channel_name: String,
    pub status: ItemStatus,
    /// Why it was skipped or held for review, or why an unwritten channel is fine. Items
    /// stored before reasons were typed hold an English sentence here; it loads as the value
    /// it describes ([`ItemReason::from_legacy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ItemReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    /// The (already redacted) error message (English when msync wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What msync itself found wrong ([`Error::reason`]), for pages to word it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<RunError>,
    /// Why the failure was not retried ([`Error::gave_up`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<GaveUp>,
    pub attempts: u32,
    pub duration_ms: u64,
    pub started_ms: u64,
    pub finished_ms: u64,
    #[serde(default)]
    pub old: Vec<String>,
    #[serde(default)]
    pub new: Vec<String>,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
    /// A snapshot of the channel was stored before a write (the item can be reverted).
    #[serde(default)]
    pub snapshot: bool,
    /// Redirect runs: the mapping keys set or removed (empty for model-list sync).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mapping_changes: Vec<MappingChange>,
    /// Set when this copy's model lists were cut to a preview (see [`ItemBudget`]): the full
    /// lengths. The stored item (`History::item`) always has the whole lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lists_cut: Option<ListSizes>,
    /// The price check's result (issue 19): added models without a price, and those held back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<crate::pricing::PriceCheck>,
    /// Issue 21: the models this run probed before adding them; `held_back` ones were not added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::probe::ModelProbe>,
}

/// The lengths of an item's four model lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSizes {
    pub old: usize,
    pub new: usize,
    pub added: usize,
    pub removed: usize,
}

/// How many model names the item copies of one run may hold in memory. The engine, the
/// worker's run view and the CLI keep items through a budget, so a run over 5,000 channels of
/// 100,000 models holds counts and short previews, not every list; the full lists stay in the
/// store, one key per channel.
#[derive(Debug, Clone)]
pub struct ItemBudget {
    per_list: usize,
    remaining: usize,
}

impl Default for ItemBudget {
    /// At most 1,000 names per list and 1,000,000 names per run (tens of MB): ordinary runs
    /// (hundreds of channels of hundreds of models) are never cut.
    fn default() -> ItemBudget {
        ItemBudget::new(1_000, 1_000_000)
    }
}

impl ItemBudget {
    pub const fn new(per_list: usize, total: usize) -> ItemBudget {
        ItemBudget {
            per_list,
            remaining: total,
        }
    }

    /// Cut `item`'s lists to what the budget still allows and charge it for what is kept.
    pub fn keep(&mut self, item: &mut ItemResult) {
        let sizes = item.sizes();
        let mut cut = false;
        for list in [
            &mut item.old,
            &mut item.new,
            &mut item.added,
            &mut item.removed,
        ] {
            let keep = list.len().min(self.per_list).min(self.remaining);
            if keep < list.len() {
                list.truncate(keep);
                list.shrink_to_fit();
                cut = true;
            }
            self.remaining -= keep;
        }
        // Issue 21: one probe line per added model; a huge addition keeps a preview too.
        if item.probes.len() > self.per_list {
            item.probes.truncate(self.per_list);
            item.probes.shrink_to_fit();
            cut = true;
        }
        if cut {
            item.lists_cut = Some(sizes);
        }
    }
}

impl ItemResult {
    pub fn new(
        channel_id: ChannelId,
        channel_name: String,
        status: ItemStatus,
        now: u64,
    ) -> ItemResult {
        ItemResult {
            channel_id,
            channel_name,
            status,
            reason: None,
            http_status: None,
            error_class: None,
            message: None,
            error_reason: None,
            gave_up: None,
            attempts: 0,
            duration_ms: 0,
            started_ms: now,
            finished_ms: now,
            old: Vec::new(),
            new: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
            snapshot: false,
            mapping_changes: Vec::new(),
            lists_cut: None,
            price: None,
            probes: Vec::new(),
        }
    }

    /// A copy with at most `per_list` names in each model list (`lists_cut` set when any list is
    /// longer), without copying the rest of the lists first.
    pub fn preview(&self, per_list: usize) -> ItemResult {
        let sizes = self.sizes();
        let head = |v: &[String]| v[..v.len().min(per_list)].to_vec();
        let cut = [&self.old, &self.new, &self.added, &self.removed]
            .iter()
            .any(|l| l.len() > per_list);
        ItemResult {
            channel_id: self.channel_id.clone(),
            channel_name: self.channel_name.clone(),
            status: self.status,
            reason: self.reason.clone(),
            http_status: self.http_status,
            error_class: self.error_class,
            message: self.message.clone(),
            error_reason: self.error_reason.clone(),
            gave_up: self.gave_up,
            attempts: self.attempts,
            duration_ms: self.duration_ms,
            started_ms: self.started_ms,
            finished_ms: self.finished_ms,
            old: head(&self.old),
            new: head(&self.new),
            added: head(&self.added),
            removed: head(&self.removed),
            snapshot: self.snapshot,
            mapping_changes: self.mapping_changes.clone(),
            lists_cut: if cut { Some(sizes) } else { self.lists_cut },
            price: self.price.clone(),
            probes: self.probes[..self.probes.len().min(per_list)].to_vec(),
        }
    }

    /// The full lengths of the model lists, also when this copy holds only a preview.
    pub fn sizes(&self) -> ListSizes {
        self.lists_cut.unwrap_or(ListSizes {
            old: self.old.len(),
            new: self.new.len(),
            added: self.added.len(),
            removed: self.removed.len(),
        })
    }

    pub fn fail(&mut self, e: &Error) {
        self.status = ItemStatus::Failed;
        self.error_class = Some(e.class);
        self.http_status = e.http_status;
        self.message = Some(e.message.clone());
        self.error_reason = e.reason.clone();
        self.gave_up = e.gave_up;
    }

    /// The error in English, with why it was not retried (what the CLI and exports show).
    pub fn error_text(&self) -> Option<String> {
        let m = self.message.as_ref()?;
        Some(match &self.gave_up {
            Some(g) => format!("{m} ({g})"),
            None => m.clone(),
        })
    }

    /// Whether the item mentions `needle` (case-insensitive) in its channel name, id, reason or
    /// error message.
    pub fn matches_text(&self, needle: &str) -> bool {
        let needle = needle.trim().to_lowercase();
        if needle.is_empty() {
            return true;
        }
        let reason = self.reason.as_ref().map(ToString::to_string);
        let found = [
            Some(self.channel_name.as_str()),
            Some(self.channel_id.0.as_str()),
            self.message.as_deref(),
            reason.as_deref(),
            self.error_class.map(ErrorClass::as_str),
        ]
        .into_iter()
        .flatten()
        .any(|s| s.to_lowercase().contains(&needle));
        found
    }
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Manual,
    Scheduled,
    /// "Retry failed only".
    Retry,
    /// Continued after an interruption (the worker was stopped).
    Resume,
}

/// What kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    All,
    Selected,
    Failed,
    DryRun,
    /// Applying a confirmed dry-run plan.
    Apply,
    /// Restoring snapshots.
    Revert,
    /// Writing model redirects (merge, prune or bulk clear) from a confirmed preview, or after a
    /// sync.
    Redirect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// In progress, or interrupted (then `Engine::resume` in msync-core continues it).
    Running,
    Finished,
    /// The run could not start or went wrong as a whole (e.g. listing channels failed).
    Failed,
    /// A scheduled run found another run in progress and did nothing.
    Skipped,
    /// Stopped by the user: channels finished before stay recorded (and revertable), the rest
    /// were not touched.
    Cancelled,
}

/// What a run does; kept in its head so an interrupted run can be resumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum Job {
    /// Sync (or plan only). `confirmed`: guards that hold changes for review are lifted.
    Sync { dry_run: bool, confirmed: bool },
    /// Apply the plan stored with run `plan_run`.
    Apply { plan_run: RunId, force: bool },
    /// Restore the snapshots of run `of`.
    Revert { of: RunId, force: bool },
    /// Apply redirect preview `preview` (its entries are stored as the run's plan).
    /// `after_sync`: the sync run this redirect followed (automatic redirect).
    Redirect {
        op: RedirectOp,
        preview: String,
        confirm_overwrite_invalid: bool,
        force: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_sync: Option<RunId>,
    },
}

crate::stored_enum!(Job, "job");

/// Counts per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub total: usize,
    pub success: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
    pub needs_review: usize,
    pub running: usize,
    pub queued: usize,
}

impl Totals {
    pub fn of<'a>(items: impl IntoIterator<Item = &'a ItemResult>, total: usize) -> Totals {
        let mut t = Totals {
            total,
            ..Default::default()
        };
        let mut seen = 0;
        for it in items {
            seen += 1;
            t.count(it.status);
        }
        t.queued += total.saturating_sub(seen);
        t
    }

    /// One more item with status `s`.
    pub fn count(&mut self, s: ItemStatus) {
        *self.slot(s) += 1;
    }

    fn slot(&mut self, s: ItemStatus) -> &mut usize {
        match s {
            ItemStatus::Success => &mut self.success,
            ItemStatus::Unchanged => &mut self.unchanged,
            ItemStatus::Failed => &mut self.failed,
            ItemStatus::Skipped => &mut self.skipped,
            ItemStatus::NeedsReview => &mut self.needs_review,
            ItemStatus::Running => &mut self.running,
            ItemStatus::Queued => &mut self.queued,
        }
    }

    pub fn get(&self, s: ItemStatus) -> usize {
        match s {
            ItemStatus::Success => self.success,
            ItemStatus::Unchanged => self.unchanged,
            ItemStatus::Failed => self.failed,
            ItemStatus::Skipped => self.skipped,
            ItemStatus::NeedsReview => self.needs_review,
            ItemStatus::Running => self.running,
            ItemStatus::Queued => self.queued,
        }
    }
}

/// A channel queued in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedChannel {
    pub id: ChannelId,
    pub name: String,
}

/// Everything about a run except its items (stored separately, one key per channel, so a
/// checkpoint costs one small write).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunHead {
    pub id: RunId,
    pub site: SiteId,
    pub trigger: Trigger,
    /// The trigger that first started the run (differs from `trigger` after a resume).
    pub first_trigger: Trigger,
    pub mode: RunMode,
    pub state: RunState,
    pub job: Job,
    pub started_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
    pub duration_ms: u64,
    pub totals: Totals,
    /// The run-level error (state `Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    /// A note on the run ("scheduled run skipped: run 0001…-ab12 is in progress"). Heads
    /// stored before notes were typed hold an English sentence; it loads as the value it
    /// describes ([`RunNote::from_legacy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<RunNote>,
    /// When the next scheduled run is due (filled by the caller that schedules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_scheduled_ms: Option<u64>,
    /// The channels of the run, in processing order.
    pub queue: Vec<QueuedChannel>,
    /// How many times the run was resumed.
    #[serde(default)]
    pub resumes: u32,
    /// The price check's summary and fill outcome (sync runs with a price check on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Box<crate::pricing::RunPricing>>,
}

/// A run with its items, in queue order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub head: RunHead,
    pub items: Vec<ItemResult>,
}

impl RunRecord {
    pub fn item(&self, id: &ChannelId) -> Option<&ItemResult> {
        self.items.iter().find(|i| &i.channel_id == id)
    }
}

/// A channel's state as far as sync is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelState {
    pub models: Vec<String>,
    pub mapping: Mapping,
}

/// Taken before every write; restoring it reverts the channel exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub channel_id: ChannelId,
    pub channel_name: String,
    pub taken_ms: u64,
    /// The channel before the write.
    pub before: ChannelState,
    /// What the write was meant to leave (used to detect later changes before a revert, and to
    /// recognise a write that landed just before an interruption).
    pub after: ChannelState,
    /// Gateway routes the write deletes with the models it removes (Octopus group items,
    /// `internal/op/channel.go` `ChannelUpdate`): a revert creates them again once the models
    /// are back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<crate::model::RouteItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(old: usize, new: usize) -> ItemResult {
        let mut i = ItemResult::new(ChannelId("1".into()), "c".into(), ItemStatus::Success, 0);
        i.old = (0..old).map(|n| format!("o{n}")).collect();
        i.new = (0..new).map(|n| format!("n{n}")).collect();
        i.added = i.new.clone();
        i.removed = i.old.clone();
        i
    }

    #[test]
    fn budget_keeps_small_items_whole_and_records_full_sizes_of_cut_ones() {
        let mut b = ItemBudget::new(5, 100);
        let mut small = item(3, 4);
        let whole = small.clone();
        b.keep(&mut small);
        assert_eq!(small, whole, "an item under every limit is not touched");
        assert_eq!(small.lists_cut, None);

        let mut big = item(8, 2);
        b.keep(&mut big);
        assert_eq!(big.old.len(), 5);
        assert_eq!(big.removed.len(), 5);
        assert_eq!(big.new.len(), 2);
        assert_eq!(
            big.old[..],
            item(8, 2).old[..5],
            "the preview is the list's head"
        );
        let full = ListSizes {
            old: 8,
            new: 2,
            added: 2,
            removed: 8,
        };
        assert_eq!(big.lists_cut, Some(full));
        assert_eq!(big.sizes(), full, "sizes() reports the whole lists");
    }

    #[test]
    fn a_preview_equals_the_budgeted_copy() {
        let big = item(1_500, 20);
        let mut budgeted = big.clone();
        ItemBudget::new(1_000, usize::MAX).keep(&mut budgeted);
        assert_eq!(big.preview(1_000), budgeted);
        assert_eq!(
            item(3, 4).preview(1_000),
            item(3, 4),
            "short lists stay whole"
        );
    }

    #[test]
    fn budget_runs_out_across_items() {
        // 14 + 14 names fit; the third item gets what is left (2), the fourth nothing.
        let mut b = ItemBudget::new(1_000, 30);
        let mut items: Vec<ItemResult> = (0..4).map(|_| item(7, 0)).collect();
        for i in &mut items {
            b.keep(i);
        }
        let kept: Vec<usize> = items
            .iter()
            .map(|i| i.old.len() + i.removed.len())
            .collect();
        assert_eq!(kept, vec![14, 14, 2, 0]);
        assert_eq!(items[0].lists_cut, None);
        assert_eq!(items[3].sizes().old, 7, "counts survive an empty preview");
        // A cut item serialises its sizes; a whole one does not mention them.
        assert!(serde_json::to_string(&items[3])
            .unwrap()
            .contains("lists_cut"));
        assert!(!serde_json::to_string(&items[0])
            .unwrap()
            .contains("lists_cut"));
    }
}

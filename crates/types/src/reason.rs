//! Why things happened, as data: why a channel was skipped or held for review, what a run's
//! note says, what msync itself found wrong. Records and the protocol carry these values; the CLI
//! prints their English [`fmt::Display`], the pages render them in their own language
//! (`crates/ui/src/reasons.rs`). A server's own error text stays text (`Error::message`).
//!
//! Records stored before reasons were typed (worker storage schema 2, and the CLI's files of
//! that time) hold English sentences; with the `legacy-records` feature (which `msync-core`, the
//! engine of the worker and the CLI, turns on) they load through `ItemReason::from_legacy` and
//! `RunNote::from_legacy` (`reason/legacy.rs`), which read the sentences msync wrote back into
//! these values (a sentence of no known form is kept as [`ItemReason::Text`] / [`RunNote::Text`]).
//! The pages leave the feature off: they get records from the worker, which sends the typed form.

use crate::error::Error;
use crate::hold::RevertHold;
use crate::model::{AutoSync, ChannelId, SiteKind};
use crate::record::RunId;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Why a channel was not synced, on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum SkipReason {
    /// The channel is excluded in the settings.
    Excluded,
    /// The channel is disabled and disabled channels are skipped.
    Disabled,
    /// The gateway rewrites this channel's models by itself (`setting` is on).
    GatewaySyncs { setting: AutoSync },
    /// The gateway's own model pattern uses a syntax msync cannot evaluate.
    PatternUnreadable { pattern: String },
    /// The upstream listed no model; the channel keeps its `kept` models.
    EmptyUpstream { kept: usize },
    /// The filters leave none of the `upstream` models; the channel keeps its `kept` models.
    FilteredEmpty { upstream: usize, kept: usize },
    /// Model redirect: the site has no per-channel mapping.
    NoMappingSupport { site: SiteKind },
    /// A reason stored before reasons were typed that matches no sentence msync wrote.
    Text { text: String },
}

crate::stored_enum!(SkipReason, "kind");

/// A model the removal would take away from the gateway's routes (groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostRoutes {
    pub model: String,
    pub routes: Vec<String>,
}

/// Why a change was held until the admin confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum ReviewReason {
    /// The removal would delete the gateway's routes to these models.
    RoutesLost { routes: Vec<LostRoutes> },
    /// The removal of `removed` of `total` models exceeds the `threshold` percentage.
    OverThreshold {
        removed: usize,
        total: usize,
        threshold: u32,
    },
    /// The channel changed since the plan was made.
    ChangedSincePlan,
    /// The channel changed since the redirect preview.
    ChangedSincePreview,
    /// Revert: the channel changed after the run wrote it.
    ChangedSinceWrite,
    /// Revert: the mapping before that run was unreadable text msync cannot write back.
    SnapshotMappingUnreadable,
    /// Revert: the snapshot cannot be written back on this site at all, forced or not.
    RevertHold { hold: RevertHold },
    /// The channel's mapping cannot be read (`error`); overwriting it needs a confirmation
    /// (`clearing`: a bulk clear of every entry, else a generated mapping).
    MappingUnreadable { error: String, clearing: bool },
    /// A bulk clear of msync's own entries cannot read the mapping (`error`).
    MappingUnreadableForGenerated { error: String },
    /// The price check (issue 19, hold-back mode) kept `count` added models out of the write:
    /// the site has no price for them (`unknown`: its prices could not be read, so every
    /// added model counted as unpriced). Which models: the item's `price.held`.
    NoPrice { count: usize, unknown: bool },
    /// A reason stored before reasons were typed that matches no sentence msync wrote.
    Text { text: String },
}

crate::stored_enum!(ReviewReason, "kind");

/// What a redirect run did (its label in notes and reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectKind {
    Redirect,
    Prune,
    Clear,
}

/// Why a channel that was not written is still fine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum ItemNote {
    /// A dry run: applying the plan would write this channel.
    DryRunWouldWrite,
    /// The channel already holds the planned models.
    AlreadyPlanned,
    /// Revert: the channel is already as in the snapshot.
    AlreadyAsSnapshot,
    /// Model redirect found nothing to change.
    NothingToChange { op: RedirectKind },
}

crate::stored_enum!(ItemNote, "kind");

/// Why an item ended as it did (`ItemResult::reason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemReason {
    Skip(SkipReason),
    Review(ReviewReason),
    Note(ItemNote),
    /// A reason stored before reasons were typed that matches no sentence msync wrote;
    /// shown as it was stored.
    Text(String),
}

/// A run's note (`RunHead::note`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum RunNote {
    /// The run failed before its first channel.
    DidNotStart,
    /// The user cancelled the run.
    Cancelled,
    /// The site's channel list could not be read.
    ListFailed,
    /// A result could not be stored; the run stopped.
    StoreFailed,
    /// This run reverts run `run`.
    RevertOf { run: RunId },
    /// A scheduled run found another run working on the site (`holder`, started at
    /// `since_ms`, when known).
    ScheduledSkipped {
        #[serde(default)]
        holder: Option<RunId>,
        #[serde(default)]
        since_ms: Option<u64>,
    },
    /// The run was interrupted, not resumed within `minutes`, and run `by` took the site.
    Superseded { minutes: u64, by: RunId },
    /// A redirect run that followed sync run `of`.
    RedirectAfterSync { op: RedirectKind, of: RunId },
    /// A redirect run applying preview `preview`.
    RedirectFromPreview { op: RedirectKind, preview: String },
    /// The sync finished, the redirect that should follow it failed.
    RedirectAfterSyncFailed { error: Box<Error> },
    /// A note stored before notes were typed that matches no sentence msync wrote.
    Text { text: String },
}

/// What msync itself found wrong (`Error::reason`); a server's own failure has none and keeps
/// its text in `Error::message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum RunError {
    /// The channel took longer than the per-channel limit.
    ChannelTimeout { secs: u32 },
    /// The channel changed between msync's read and its write; nothing was written.
    ChangedDuringWrite,
    /// The site cannot store these names (they hold a comma); nothing was written.
    Unstorable { names: Vec<String> },
    /// The server answered with a redirect, which msync does not follow.
    Redirected {
        #[serde(default)]
        status: Option<u16>,
        #[serde(default)]
        location: Option<String>,
    },
    /// Credentials would go over plain http to a non-local host.
    InsecureRefused,
    /// The channel is not on the site.
    ChannelNotFound { id: ChannelId },
    /// A ratio upstream (`upstream`, its column name) could not be read; `error` is what its
    /// server or the parser said (price fill and price watch, issue 19).
    UpstreamUnreadable { upstream: String, error: String },
    /// Filling prices needs the site's ratio apply path, which this site type has none of.
    NoRatioSync { site: SiteKind },
    /// Revert: the channel's models are back, but the gateway's routes to these models that
    /// the reverted write deleted could not all be created again (`error`: the server's text,
    /// or none when the read-back still lacks them).
    RoutesNotRestored {
        routes: Vec<LostRoutes>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A run is working on the site (run `run`, `done` of `total` channels, when known), so
    /// the command waits for it.
    RunInProgress {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<RunId>,
        #[serde(default)]
        done: usize,
        #[serde(default)]
        total: usize,
    },
    /// The command found nothing to run.
    NothingToRun,
    /// Cancel: no run is working on the site.
    NoRunInProgress,
    /// Apply: run `run` stored no plan.
    NoStoredPlan { run: RunId },
    /// The redirect preview to apply holds no change.
    NothingToApply,
    /// The plan to apply holds no change.
    PlanHasNoChanges,
    /// Another run holds the site's lock (run `run`, taken at `since_ms`, when known).
    SiteLocked {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<RunId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since_ms: Option<u64>,
    },
    /// A run of chosen channels without any channel chosen.
    NoChannelsSelected,
    /// Retry failed: there is no earlier sync run.
    NoRunToRetry,
    /// Retry failed: the last run, `run`, has no failed channel.
    NoFailedToRetry { run: RunId },
    /// Model redirect on a site without per-channel mappings.
    NoMappingSupport { site: SiteKind },
    /// Redirect preview `preview` was replaced by a newer one.
    PreviewStale { preview: String },
    /// A bulk clear was applied without its second confirmation; nothing was written.
    ClearNeedsConfirmation,
    /// Revert: run `run` is not in the history.
    RunNotInHistory { run: RunId },
    /// Revert: run `run` wrote no channel.
    NothingToRevert { run: RunId },
    /// Revert of one channel: run `run` holds no snapshot of `channel`.
    NoSnapshot { run: RunId, channel: ChannelId },
    /// A site is not removed while a run works on it.
    RemoveWhileRunning,
    /// An import would change site `site` while a run works on it; nothing was imported.
    ImportWhileRunning { site: String },
    /// Notifications need the network, which this context has none of.
    NoNetwork,
    /// A settings file to import is not JSON (`detail`: the parser's text); nothing was imported.
    FileNotJson { detail: String },
    /// A JSON file to import is not an msync settings file; nothing was imported.
    FileNotSettings,
    /// A settings file of file version `version`, newer than the `max` this msync reads.
    FileTooNew { version: u64, max: u32 },
    /// A settings file without a valid version; nothing was imported.
    FileNoVersion,
    /// A settings file that does not read as one (`detail`: the parser's text).
    FileDamaged { detail: String },
    /// A settings file of `bytes`, larger than the `max` bytes one can be.
    FileTooLarge { bytes: u64, max: u64 },
    /// The browser's storage was written by a newer msync (schema `schema`; this one is `max`).
    StorageTooNew { schema: u32, max: u32 },
}

crate::stored_enum!(RunError, "kind");

/// `bytes` in MiB with `decimals` decimals (how file sizes are shown).
pub fn mib(bytes: u64, decimals: usize) -> String {
    format!("{:.*}", decimals, bytes as f64 / (1024.0 * 1024.0))
}

/// Why a failure that could have been retried was not (`Error::gave_up`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum GaveUp {
    /// The next wait would end past the channel's `secs` limit.
    NoTimeLeft { secs: u32 },
    /// The server asked to wait `secs`, longer than msync waits.
    WaitTooLong { secs: u64 },
}

crate::stored_enum!(GaveUp, "kind");

// ----- English ---------------------------------------------------------------------------------

/// How many names an unstorable-names error lists before "… N more".
pub const UNSTORABLE_SHOWN: usize = 5;

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Excluded => f.write_str("the channel is excluded from sync"),
            SkipReason::Disabled => f.write_str(
                "the channel is disabled (disabled channels are skipped; see settings)",
            ),
            SkipReason::GatewaySyncs { setting } => write!(
                f,
                "the gateway syncs this channel's models itself ({}); msync leaves it alone",
                setting.setting()
            ),
            SkipReason::PatternUnreadable { pattern } => write!(
                f,
                "the gateway's model pattern {pattern} cannot be evaluated here; the channel is left alone"
            ),
            SkipReason::EmptyUpstream { kept } => write!(
                f,
                "the upstream returned an empty model list; the channel keeps its {kept} models (allow empty lists for this channel to change that)"
            ),
            SkipReason::FilteredEmpty { upstream, kept } => write!(
                f,
                "the filters leave no model of the {upstream} the upstream listed; the channel keeps its {kept} models"
            ),
            SkipReason::NoMappingSupport { site } => write!(
                f,
                "{} has no per-channel model mapping (it routes models through groups); model redirect is not available for this site",
                site.label()
            ),
            SkipReason::Text { text } => f.write_str(text),
        }
    }
}

impl LostRoutes {
    /// `model (route, route)`.
    pub fn text(&self) -> String {
        format!("{} ({})", self.model, self.routes.join(", "))
    }
}

impl ReviewReason {
    /// The share of the models the removal takes, in whole percent.
    pub fn percent(removed: usize, total: usize) -> usize {
        removed * 100 / total.max(1)
    }
}

impl fmt::Display for ReviewReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReviewReason::RoutesLost { routes } => {
                let list: Vec<String> = routes.iter().map(LostRoutes::text).collect();
                write!(
                    f,
                    "would delete the gateway's routes to removed models: {}; confirm it from a dry-run plan",
                    list.join("; ")
                )
            }
            ReviewReason::OverThreshold {
                removed,
                total,
                threshold,
            } => write!(
                f,
                "would remove {removed} of {total} models ({}%), more than the {threshold}% threshold; confirm it from a dry-run plan",
                ReviewReason::percent(*removed, *total)
            ),
            ReviewReason::ChangedSincePlan => f.write_str(
                "the channel changed since the plan was made; plan again, or apply with force",
            ),
            ReviewReason::ChangedSincePreview => f.write_str(
                "the channel changed since the preview; preview again, or apply with force",
            ),
            ReviewReason::ChangedSinceWrite => f.write_str(
                "the channel changed after the sync wrote it; revert with force to overwrite those changes",
            ),
            ReviewReason::SnapshotMappingUnreadable => f.write_str(
                "the mapping before that run was unreadable text, which msync cannot write back (it is kept in the snapshot); revert with force to restore the models only",
            ),
            ReviewReason::RevertHold { hold } => fmt::Display::fmt(hold, f),
            ReviewReason::MappingUnreadable { error, clearing } => write!(
                f,
                "the channel's model_mapping cannot be read ({error}); confirm overwriting it to {}",
                if *clearing {
                    "clear it"
                } else {
                    "write the generated mapping"
                }
            ),
            ReviewReason::MappingUnreadableForGenerated { error } => write!(
                f,
                "the channel's model_mapping cannot be read ({error}), so msync cannot tell its own entries apart; clear all entries (with confirmation) instead"
            ),
            ReviewReason::NoPrice { count, unknown } => fmt::Display::fmt(
                &crate::pricing::PriceNote::HeldBackNoPrice {
                    count: *count,
                    unknown: *unknown,
                },
                f,
            ),
            ReviewReason::Text { text } => f.write_str(text),
        }
    }
}

impl RedirectKind {
    /// A short English name ("redirect", "prune", "bulk clear").
    pub fn label(self) -> &'static str {
        match self {
            RedirectKind::Redirect => "redirect",
            RedirectKind::Prune => "prune",
            RedirectKind::Clear => "bulk clear",
        }
    }
}

impl fmt::Display for ItemNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemNote::DryRunWouldWrite => f.write_str("dry run: would write"),
            ItemNote::AlreadyPlanned => f.write_str("the channel already holds the planned models"),
            ItemNote::AlreadyAsSnapshot => f.write_str("the channel is already as in the snapshot"),
            ItemNote::NothingToChange { op } => write!(f, "nothing to change ({})", op.label()),
        }
    }
}

impl fmt::Display for ItemReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemReason::Skip(r) => r.fmt(f),
            ItemReason::Review(r) => r.fmt(f),
            ItemReason::Note(n) => n.fmt(f),
            ItemReason::Text(t) => f.write_str(t),
        }
    }
}

impl fmt::Display for RunNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunNote::DidNotStart => f.write_str("the run did not start"),
            RunNote::Cancelled => f.write_str("cancelled by the user"),
            RunNote::ListFailed => f.write_str("could not list the site's channels"),
            RunNote::StoreFailed => f.write_str("stopped: results could not be stored"),
            RunNote::RevertOf { run } => write!(f, "revert of run {run}"),
            RunNote::ScheduledSkipped { holder, since_ms } => {
                f.write_str("scheduled run skipped: ")?;
                match (holder, since_ms) {
                    (Some(run), Some(ms)) => write!(f, "run {run} (started at {ms} ms)")?,
                    (Some(run), None) => write!(f, "run {run}")?,
                    _ => f.write_str("another run")?,
                }
                f.write_str(" is in progress")
            }
            RunNote::Superseded { minutes, by } => write!(
                f,
                "interrupted and not resumed within {minutes} minutes; superseded by run {by}"
            ),
            RunNote::RedirectAfterSync { op, of } => {
                write!(f, "{} after sync run {of}", op.label())
            }
            RunNote::RedirectFromPreview { op, preview } => {
                write!(f, "{} from preview {preview}", op.label())
            }
            RunNote::RedirectAfterSyncFailed { error } => {
                write!(f, "the redirect after this sync failed: {}", error.text())
            }
            RunNote::Text { text } => f.write_str(text),
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::ChannelTimeout { secs } => {
                write!(f, "the channel took longer than the {secs} s limit")
            }
            RunError::ChangedDuringWrite => f.write_str(
                "the channel was changed by someone else while msync worked on it; nothing was written (run again to sync it as it is now)",
            ),
            RunError::Unstorable { names } => {
                let mut list: Vec<String> = names
                    .iter()
                    .take(UNSTORABLE_SHOWN)
                    .map(|n| format!("{n:?}"))
                    .collect();
                if names.len() > UNSTORABLE_SHOWN {
                    list.push(format!("… {} more", names.len() - UNSTORABLE_SHOWN));
                }
                write!(
                    f,
                    "the site cannot store model names with a comma (it keeps a channel's models as one comma-separated text and would split them): {}; nothing was written (exclude them with a rule to sync the other models)",
                    list.join(", ")
                )
            }
            RunError::Redirected { status, location } => {
                match status {
                    Some(s) => write!(f, "the server answered HTTP {s} with a redirect")?,
                    None => f.write_str("the server answered with a redirect")?,
                }
                if let Some(l) = location.as_deref().filter(|l| !l.is_empty()) {
                    write!(f, " to {l}")?;
                }
                f.write_str("; msync does not follow redirects (they could carry the credentials to another address): if the gateway moved, change the site's address")
            }
            RunError::InsecureRefused => f.write_str(
                "refusing to send the credentials over plain http to a non-local host; use https, or allow insecure http for this site explicitly",
            ),
            RunError::ChannelNotFound { id } => {
                write!(f, "channel {id} was not found on the site")
            }
            RunError::RoutesNotRestored { routes, error } => {
                let list: Vec<String> = routes.iter().map(LostRoutes::text).collect();
                write!(
                    f,
                    "the channel's models are back, but the gateway's routes to {} could not be created again",
                    list.join("; ")
                )?;
                if let Some(e) = error {
                    write!(f, " ({e})")?;
                }
                f.write_str("; add them again in the gateway's groups")
            }
            RunError::UpstreamUnreadable { upstream, error } => {
                write!(f, "the upstream {upstream} could not be read: {error}")
            }
            RunError::NoRatioSync { site } => {
                write!(f, "{} has no ratio sync to fill prices with", site.label())
            }
            RunError::RunInProgress { run: Some(run), done, total } => write!(
                f,
                "run {run} ({done} of {total} channels done) is in progress on this site; wait for it to finish or cancel it"
            ),
            RunError::RunInProgress { run: None, .. } => f.write_str(
                "a run is in progress on this site; wait for it to finish or cancel it",
            ),
            RunError::NothingToRun => f.write_str("there was nothing to run"),
            RunError::NoRunInProgress => f.write_str("no run is in progress on this site"),
            RunError::NoStoredPlan { run } => write!(f, "run {run} has no stored plan to apply"),
            RunError::NothingToApply => f.write_str("the preview has no changes to apply"),
            RunError::PlanHasNoChanges => f.write_str("the plan has no changes to apply"),
            RunError::SiteLocked { run, since_ms } => {
                match (run, since_ms) {
                    (Some(r), Some(ms)) => write!(f, "run {r} (started at {ms} ms)")?,
                    (Some(r), None) => write!(f, "run {r}")?,
                    _ => f.write_str("another run")?,
                }
                f.write_str(" is in progress on this site; wait for it to finish or resume it")
            }
            RunError::NoChannelsSelected => f.write_str("no channels selected"),
            RunError::NoRunToRetry => f.write_str("there is no previous run to retry"),
            RunError::NoFailedToRetry { run } => {
                write!(f, "the last run ({run}) has no failed channels to retry")
            }
            RunError::NoMappingSupport { site } => write!(
                f,
                "{} has no per-channel model mapping (it routes models through groups); model redirect is not available for this site",
                site.label()
            ),
            RunError::PreviewStale { preview } => write!(
                f,
                "redirect preview {preview} is no longer current (a newer preview replaced it); preview again"
            ),
            RunError::ClearNeedsConfirmation => f.write_str(
                "a bulk clear needs a second confirmation (confirm_clear); nothing was written",
            ),
            RunError::RunNotInHistory { run } => write!(f, "run {run} is not in the history"),
            RunError::NothingToRevert { run } => {
                write!(f, "run {run} wrote no channel; nothing to revert")
            }
            RunError::NoSnapshot { run, channel } => write!(
                f,
                "run {run} holds no snapshot of channel {channel}; it did not write that channel"
            ),
            RunError::RemoveWhileRunning => f.write_str(
                "a run of this site is in progress; cancel it before removing the site",
            ),
            RunError::ImportWhileRunning { site } => write!(
                f,
                "a run of site {site} is in progress; import after it finished. Nothing was imported"
            ),
            RunError::NoNetwork => {
                f.write_str("notifications cannot be sent from here (no network)")
            }
            RunError::FileNotJson { detail } => {
                write!(f, "this is not a JSON file ({detail}); nothing was imported")
            }
            RunError::FileNotSettings => f.write_str(
                "this is not an msync settings file (no \"format\": \"msync-settings\"); nothing was imported",
            ),
            RunError::FileTooNew { version, max } => write!(
                f,
                "this file was written by a newer msync (file version {version}; this one reads up to {max}); update msync first. Nothing was imported"
            ),
            RunError::FileNoVersion => {
                f.write_str("the file has no valid \"version\"; nothing was imported")
            }
            RunError::FileDamaged { detail } => {
                write!(f, "the file is damaged ({detail}); nothing was imported")
            }
            RunError::FileTooLarge { bytes, max } => write!(
                f,
                "the file is {} MiB, larger than the {} MiB an msync settings file can be; nothing was imported",
                mib(*bytes, 1),
                mib(*max, 0)
            ),
            RunError::StorageTooNew { schema, max } => write!(
                f,
                "storage was written by a newer msync (schema {schema}); this is {max}. Update msync"
            ),
        }
    }
}

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GaveUp::NoTimeLeft { secs } => {
                write!(
                    f,
                    "no time left for another retry within the {secs} s limit"
                )
            }
            GaveUp::WaitTooLong { secs } => {
                write!(f, "the server asked to wait {secs} s; not waited for")
            }
        }
    }
}

#[cfg(feature = "legacy-records")]
mod legacy;

/// A stored reason or note in its typed form `T` (`typed` makes the value of it), or, with the
/// `legacy-records` feature, an English sentence from before reasons were typed, read back into
/// the value it describes (see the module docs).
#[cfg(feature = "legacy-records")]
fn stored<'de, T, U, D>(d: D, typed: impl FnOnce(T) -> U) -> Result<U, D::Error>
where
    T: Deserialize<'de>,
    U: legacy::FromSentence,
    D: Deserializer<'de>,
{
    // Buffered as a `serde_json::Value`, not as an untagged enum: that reads `T` from serde's
    // own buffer through a reader compiled for it alone, while from a `Value` the internally
    // tagged `T` shares the reader other tagged records use (worker wasm 1.8 kB gzip smaller).
    // A string is a unit variant's name (the default form, `crate::stored`) or a sentence.
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(text) => {
            match T::deserialize(serde_json::Value::String(text.clone())) {
                Ok(t) => Ok(typed(t)),
                Err(_) => Ok(U::from_sentence(text)),
            }
        }
        other => T::deserialize(other)
            .map(typed)
            .map_err(serde::de::Error::custom),
    }
}

/// Without the `legacy-records` feature (the pages, which get records from the worker, already
/// typed) only the typed form is read.
#[cfg(not(feature = "legacy-records"))]
fn stored<'de, T, U, D>(d: D, typed: impl FnOnce(T) -> U) -> Result<U, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(d).map(typed)
}

/// `Decision::Skip::reason` as stored (see the module docs).
pub fn skip_reason<'de, D: Deserializer<'de>>(d: D) -> Result<SkipReason, D::Error> {
    stored(d, |r: SkipReason| r)
}

/// `Decision::NeedsReview::reason` as stored (see the module docs).
pub fn review_reason<'de, D: Deserializer<'de>>(d: D) -> Result<ReviewReason, D::Error> {
    stored(d, |r: ReviewReason| r)
}

impl<'de> Deserialize<'de> for ItemReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Typed {
            Skip(SkipReason),
            Review(ReviewReason),
            Note(ItemNote),
            Text(String),
        }
        stored(d, |t| match t {
            Typed::Skip(r) => ItemReason::Skip(r),
            Typed::Review(r) => ItemReason::Review(r),
            Typed::Note(n) => ItemReason::Note(n),
            Typed::Text(t) => ItemReason::Text(t),
        })
    }
}

impl Serialize for RunNote {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RunNote::serialize(self, s)
    }
}

/// A note in its typed form, either stored form (`crate::stored`).
struct TypedNote(RunNote);

impl<'de> Deserialize<'de> for TypedNote {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::stored::read(d, "kind", &[], RunNote::deserialize).map(TypedNote)
    }
}

impl<'de> Deserialize<'de> for RunNote {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        stored(d, |TypedNote(n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    /// Every sentence msync wrote before reasons were typed reads back as the value whose
    /// English it is, so old records keep their meaning.
    #[test]
    fn legacy_sentences_read_back_as_the_values_they_describe() {
        let run = RunId("0001700000000-00ab".into());
        let items = [
            ItemReason::Skip(SkipReason::Excluded),
            ItemReason::Skip(SkipReason::Disabled),
            ItemReason::Skip(SkipReason::GatewaySyncs {
                setting: AutoSync::AxonHub,
            }),
            ItemReason::Skip(SkipReason::PatternUnreadable {
                pattern: "(?!o1).*".into(),
            }),
            ItemReason::Skip(SkipReason::EmptyUpstream { kept: 4 }),
            ItemReason::Skip(SkipReason::FilteredEmpty {
                upstream: 9,
                kept: 4,
            }),
            ItemReason::Skip(SkipReason::NoMappingSupport {
                site: SiteKind::Octopus,
            }),
            ItemReason::Review(ReviewReason::RoutesLost {
                routes: vec![
                    LostRoutes {
                        model: "e".into(),
                        routes: vec!["fast".into(), "gpt-e".into()],
                    },
                    LostRoutes {
                        model: "f".into(),
                        routes: vec!["main".into()],
                    },
                ],
            }),
            ItemReason::Review(ReviewReason::OverThreshold {
                removed: 3,
                total: 4,
                threshold: 50,
            }),
            ItemReason::Review(ReviewReason::ChangedSincePlan),
            ItemReason::Review(ReviewReason::ChangedSincePreview),
            ItemReason::Review(ReviewReason::ChangedSinceWrite),
            ItemReason::Review(ReviewReason::SnapshotMappingUnreadable),
            ItemReason::Review(ReviewReason::RevertHold {
                hold: RevertHold::EmptyModelList {
                    site: SiteKind::Octopus,
                },
            }),
            ItemReason::Review(ReviewReason::MappingUnreadable {
                error: "model_mapping is not a JSON object".into(),
                clearing: true,
            }),
            ItemReason::Review(ReviewReason::MappingUnreadable {
                error: "model_mapping is not a JSON object".into(),
                clearing: false,
            }),
            ItemReason::Review(ReviewReason::MappingUnreadableForGenerated {
                error: "model_mapping is not valid JSON: x".into(),
            }),
            ItemReason::Note(ItemNote::DryRunWouldWrite),
            ItemReason::Note(ItemNote::AlreadyPlanned),
            ItemReason::Note(ItemNote::AlreadyAsSnapshot),
            ItemReason::Note(ItemNote::NothingToChange {
                op: RedirectKind::Clear,
            }),
        ];
        for r in items {
            assert_eq!(ItemReason::from_legacy(&r.to_string()), r, "{r}");
            let stored = serde_json::to_string(&r.to_string()).unwrap();
            assert_eq!(serde_json::from_str::<ItemReason>(&stored).unwrap(), r);
            let typed = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<ItemReason>(&typed).unwrap(), r);
        }
        let notes = [
            RunNote::DidNotStart,
            RunNote::Cancelled,
            RunNote::ListFailed,
            RunNote::StoreFailed,
            RunNote::RevertOf { run: run.clone() },
            RunNote::ScheduledSkipped {
                holder: Some(run.clone()),
                since_ms: Some(1_700_000_000_000),
            },
            RunNote::ScheduledSkipped {
                holder: None,
                since_ms: None,
            },
            RunNote::Superseded {
                minutes: 10,
                by: run.clone(),
            },
            RunNote::RedirectAfterSync {
                op: RedirectKind::Prune,
                of: run.clone(),
            },
            RunNote::RedirectFromPreview {
                op: RedirectKind::Redirect,
                preview: "p-1".into(),
            },
        ];
        for n in notes {
            assert_eq!(RunNote::from_legacy(&n.to_string()), n, "{n}");
            let typed = serde_json::to_string(&n).unwrap();
            assert_eq!(serde_json::from_str::<RunNote>(&typed).unwrap(), n);
        }
        let failed = RunNote::RedirectAfterSyncFailed {
            error: Box::new(Error::found(
                ErrorClass::Timeout,
                RunError::ChannelTimeout { secs: 9 },
            )),
        };
        let typed = serde_json::to_string(&failed).unwrap();
        assert_eq!(serde_json::from_str::<RunNote>(&typed).unwrap(), failed);
    }

    #[test]
    fn unstorable_names_are_listed_up_to_five() {
        let e = RunError::Unstorable {
            names: (1..=7).map(|i| format!("m{i},x")).collect(),
        };
        let text = e.to_string();
        assert!(text.contains(r#""m5,x", … 2 more;"#), "{text}");
        assert!(!text.contains("m6"), "{text}");
    }
}

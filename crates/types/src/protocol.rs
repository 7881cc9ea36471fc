//! The one typed message protocol between the extension pages and the service worker.
//!
//! Pages send a [`Command`] with `chrome.runtime.sendMessage`; the worker answers with a
//! [`Reply`]. While a run works, the worker broadcasts [`Event`]s to every open page. All three
//! are plain JSON in serde's default enum form: a command or reply without fields is its name
//! (`"ping"`, `"ok"`), any other is a one-key object (`{"list_channels": {"site": "s1"}}`,
//! `{"pong": {"version": "0.1.0", "schema": 3}}`); an event travels as
//! `{"event": {"progress": {...}}}` ([`EventMessage`]). An invalid or unknown message is a clear
//! [`Reply::Error`], never a crash.
//!
//! Not serde's internally tagged form (`{"reply": "pong", ...}`): the pages would then read every
//! reply through serde's private buffer, which compiles a second reader for every type a reply
//! carries (the options page's wasm was 82 kB larger, 22 kB gzip -9; issue 18).
//!
//! Adding a feature adds variants; existing variants keep their shape (pages and worker ship
//! together, but a page left open across an update must still get a readable error).

use crate::error::ErrorClass;
use crate::gateway::{Capabilities, ConnectionReport};
use crate::import::all_api_hub::{ImportError, ImportPreview};
use crate::model::{Channel, ChannelId, CredentialFields, SiteId, SiteKind};
use crate::ratio::{
    RatioApplyOutcome, RatioChoice, RatioDiff, RatioPreview, RatioRevertOutcome, RatioSnapshotHead,
    RatioSources, RatioUpstream, UpstreamCheck,
};
use crate::reason::{GaveUp, RunError};
use crate::record::{ItemResult, ItemStatus, RunHead, RunId};
use crate::redirect::{ClearScope, PresetInfo, RedirectPreview, RedirectSettings};
use crate::run::{Progress, Selection};
use crate::settings::{SettingsIssue, SyncSettings};
use serde::{Deserialize, Serialize};

/// A site as pages see it: never with its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSummary {
    pub id: SiteId,
    pub name: String,
    pub kind: SiteKind,
    pub base_url: String,
    pub has_credentials: bool,
    /// Non-secret credential fields, for the edit form (user id, username/email).
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub username: Option<String>,
    /// Plain http to a host that is not loopback/LAN: the UI shows a warning.
    #[serde(default)]
    pub insecure: bool,
    /// The user consented to that (see [`crate::model::Site::allow_insecure`]).
    #[serde(default)]
    pub allow_insecure: bool,
}

/// Which unattended run an import turns on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnattendedJob {
    /// Scheduled syncs (asked about only under settings that remove models without review).
    #[default]
    AutoSync,
    /// The price watch's unattended apply: scheduled writes of the site's prices (always asked
    /// about; `settings` lists the guardrails looser than the defaults).
    PriceWatchApply,
}

/// A site whose unattended runs an import would turn on, with what makes those runs destructive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoSyncTurnedOn {
    pub site: String,
    #[serde(default)]
    pub job: UnattendedJob,
    pub interval_minutes: u32,
    pub settings: Vec<crate::settings::DestructiveSetting>,
}

/// A site being added (`id: None`) or edited. Empty secret fields keep the stored ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInput {
    #[serde(default)]
    pub id: Option<SiteId>,
    pub name: String,
    pub kind: SiteKind,
    pub base_url: String,
    /// As the form holds them; the worker keeps the fields the site type uses.
    #[serde(default)]
    pub credentials: CredentialFields,
    /// Consent to plain http to a non-local host (required for such an address).
    #[serde(default)]
    pub allow_insecure: bool,
}

/// What the popup and the sync page show per site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteStatus {
    pub site: SiteSummary,
    pub capabilities: Option<Capabilities>,
    /// The run in progress, if any.
    pub running: Option<Progress>,
    pub last_run: Option<RunHead>,
    /// Epoch ms of the next scheduled run (auto-sync on).
    pub next_run_ms: Option<u64>,
    /// Whether the extension holds the host permission for the site's origin.
    pub host_permission: bool,
}

/// Which items of a run to return.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFilter {
    /// Only these statuses (empty = all).
    #[serde(default)]
    pub statuses: Vec<ItemStatus>,
    /// Case-insensitive search in channel name, id and error text.
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
}

/// On the wire a command is serde's default (externally tagged) enum form: `"ping"` for a command
/// without fields, `{"list_channels": {"site": "s1"}}` for one with fields. Unlike the internally
/// tagged replies and events, this form is read without buffering the message first, so every
/// type a command carries is parsed by the same code that reads it from storage (the worker
/// came out 30 kB gzip smaller than with `{"cmd": "list_channels", "site": "s1"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Liveness and version.
    Ping,
    ListSites,
    SaveSite {
        site: SiteInput,
    },
    RemoveSite {
        site: SiteId,
    },
    TestSite {
        site: SiteId,
    },
    /// Status of every site (popup, sync page header).
    GetStatus,
    ListChannels {
        site: SiteId,
    },
    GetSettings {
        site: SiteId,
    },
    /// Validated before saving; re-arms the site's auto-sync alarm.
    SaveSettings {
        site: SiteId,
        settings: SyncSettings,
    },
    /// Issue 21: whether the site's gateway has a channel test (from its adapter's
    /// `Capabilities`) and each channel's health (last good sync, failures in a row).
    /// Reply: [`Reply::ProbeInfo`].
    GetProbeInfo {
        site: SiteId,
    },
    /// Exclude a channel from sync (or include it again); persisted in the site's settings.
    SetChannelExcluded {
        site: SiteId,
        channel: ChannelId,
        excluded: bool,
    },
    /// Start a run in the background; progress arrives as [`Event`]s.
    StartRun {
        site: SiteId,
        selection: Selection,
        #[serde(default)]
        dry_run: bool,
    },
    CancelRun {
        site: SiteId,
    },
    /// Apply a dry run's plan (all of it, or some channels).
    ApplyPlan {
        site: SiteId,
        run: RunId,
        #[serde(default)]
        channels: Option<Vec<ChannelId>>,
        #[serde(default)]
        force: bool,
    },
    /// Restore a run's snapshots (one channel, or every channel it wrote).
    Revert {
        site: SiteId,
        run: RunId,
        #[serde(default)]
        channel: Option<ChannelId>,
        #[serde(default)]
        force: bool,
    },
    ListRuns {
        site: SiteId,
    },
    /// A run's head and items (`run: None` = the latest run).
    GetRun {
        site: SiteId,
        #[serde(default)]
        run: Option<RunId>,
        #[serde(default)]
        filter: ItemFilter,
    },
    ExportRun {
        site: SiteId,
        run: RunId,
        format: ExportFormat,
    },
    /// Every site and its settings as a JSON file; secrets only if asked for.
    ExportSettings {
        #[serde(default)]
        include_secrets: bool,
    },
    /// Replace sites/settings from an exported file (malformed or newer files are refused).
    /// A file that would turn auto-sync on under destructive settings is answered with
    /// [`Reply::ImportNeedsConfirmation`] (nothing saved) unless `confirm_auto_sync`.
    ImportSettings {
        content: String,
        #[serde(default)]
        confirm_auto_sync: bool,
    },
    /// Read an All API Hub export (docs/import-all-api-hub.md) and say what importing it would
    /// create or change; nothing is saved. Reply: [`Reply::AllApiHubPreview`] or
    /// [`Reply::ImportRefused`].
    PreviewAllApiHub {
        content: String,
    },
    /// Import it: new sites are created; msync sites with the same address are changed only when
    /// listed in `update` (the user agreed to their diff). Reply: [`Reply::AllApiHubImported`].
    ImportAllApiHub {
        content: String,
        #[serde(default)]
        update: Vec<SiteId>,
    },

    // ----- model redirect (`docs/redirect.md`; the options page's Redirect screen) --------------------
    // Redirect settings live in `SyncSettings::redirect` (GetSettings / SaveSettings).
    /// The built-in standard model presets by vendor. Reply: [`Reply::Presets`].
    ListPresets,
    /// Preview a redirect; nothing is written. Reply: [`Reply::RedirectPreview`].
    /// `channels: None` = every channel the sync would process (excluded and, per settings,
    /// disabled channels left out); `settings: None` = the site's saved redirect settings (pass
    /// the form's unsaved ones to preview them). `confirm_overwrite_invalid` previews replacing
    /// unreadable mappings.
    PreviewRedirect {
        site: SiteId,
        #[serde(default)]
        channels: Option<Vec<ChannelId>>,
        #[serde(default)]
        settings: Option<RedirectSettings>,
        #[serde(default)]
        confirm_overwrite_invalid: bool,
    },
    /// Preview pruning entries whose targets vanished. Reply: [`Reply::RedirectPreview`].
    PreviewPrune {
        site: SiteId,
        #[serde(default)]
        channels: Option<Vec<ChannelId>>,
    },
    /// Preview a bulk clear of the selected channels' mappings (`channels: None` = all).
    /// Reply: [`Reply::RedirectPreview`].
    PreviewClear {
        site: SiteId,
        #[serde(default)]
        channels: Option<Vec<ChannelId>>,
        scope: ClearScope,
        /// Also remove the standard names msync had added to the models lists.
        #[serde(default)]
        remove_added_names: bool,
        #[serde(default)]
        confirm_overwrite_invalid: bool,
    },
    /// Apply the site's latest preview (named by its id) in the background: every change in it,
    /// or only `channels`. Each channel is re-read first; one that changed since the preview is
    /// held for review unless `force`. A bulk clear needs `confirm_clear` (the second
    /// confirmation). Reply: [`Reply::RunStarted`]; progress arrives as [`Event`]s and the run
    /// can be reverted like any other.
    ApplyRedirect {
        site: SiteId,
        preview: String,
        #[serde(default)]
        channels: Option<Vec<ChannelId>>,
        /// Overwrite mappings that are not valid JSON (shown as blocked in the preview).
        #[serde(default)]
        confirm_overwrite_invalid: bool,
        #[serde(default)]
        confirm_clear: bool,
        #[serde(default)]
        force: bool,
    },

    // ---- Ratio / price sync (New API, root only; see `crate::ratio` and docs/ratios.md) ----
    /// Sources for the ratio diff (channels with a base URL, presets −100/−101) and the
    /// default endpoint for custom upstreams. → [`Reply::RatioSources`].
    ListRatioSources {
        site: SiteId,
    },
    /// Fetch the difference table for these upstreams (sources via `RatioSource::upstream()`,
    /// custom ones via `RatioUpstream::custom`). `timeout_s` defaults to 10.
    /// → [`Reply::RatioDiff`].
    FetchRatioDiff {
        site: SiteId,
        upstreams: Vec<RatioUpstream>,
        #[serde(default)]
        timeout_s: Option<u32>,
    },
    /// Check one upstream before it is added: the site fetches it alone; a refused
    /// `/api/ratio_config` (exposure off upstream) is tried again as `/api/pricing`.
    /// → [`Reply::RatioUpstreamChecked`].
    CheckRatioUpstream {
        site: SiteId,
        upstream: RatioUpstream,
    },
    /// Old → new per model for these choices (resolve a `RatioSelection` against the diff with
    /// `RatioSelection::resolve` first). Writes nothing. → [`Reply::RatioPreview`].
    PreviewRatios {
        site: SiteId,
        choices: Vec<RatioChoice>,
    },
    /// Snapshot, write the changed option keys, read back. `base` = the preview's `base`: the
    /// apply is refused when the site's maps changed since. → [`Reply::RatioApplied`].
    ApplyRatios {
        site: SiteId,
        choices: Vec<RatioChoice>,
        #[serde(default)]
        base: Option<String>,
    },
    /// This site's ratio snapshots, newest first. → [`Reply::RatioSnapshots`].
    ListRatioSnapshots {
        site: SiteId,
    },
    /// Restore the maps a ratio apply replaced. Refused when they were changed again since,
    /// unless `force`. → [`Reply::RatioReverted`].
    RevertRatios {
        site: SiteId,
        snapshot: String,
        #[serde(default)]
        force: bool,
    },
    // ----- notifications (issue 19, docs/notifications.md) -----
    /// The notification settings, secrets blanked. → [`Reply::Notify`].
    GetNotify,
    /// Save them; a sink saved with a blank secret keeps the stored one (matched by name).
    /// → [`Reply::Notify`] or [`Reply::Invalid`].
    SaveNotify {
        settings: crate::notify::NotifySettings,
    },
    /// Send a test to one saved sink. → [`Reply::NotifyDeliveries`] (one delivery).
    TestNotify {
        sink: String,
    },
    /// The delivery log. → [`Reply::NotifyDeliveries`].
    NotifyLog,
}

/// A reply is built once per command and serialized at once, never kept in collections, so
/// the size of its largest variant (a run's head and items) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Pong {
        version: String,
        schema: u32,
    },
    Ok,
    Sites {
        sites: Vec<SiteSummary>,
    },
    Site {
        site: SiteSummary,
    },
    Status {
        sites: Vec<SiteStatus>,
    },
    Connection {
        report: ConnectionReport,
    },
    Channels {
        channels: Vec<Channel>,
    },
    Settings {
        settings: SyncSettings,
    },
    /// Issue 21: see [`Command::GetProbeInfo`].
    ProbeInfo {
        channel_test: crate::probe::ChannelTest,
        #[serde(default)]
        health: std::collections::BTreeMap<String, crate::probe::ChannelHealth>,
    },
    /// Settings were refused; every problem, each naming its field.
    Invalid {
        issues: Vec<SettingsIssue>,
    },
    RunStarted {
        run: RunId,
    },
    Runs {
        runs: Vec<RunHead>,
    },
    Run {
        head: RunHead,
        items: Vec<ItemResult>,
    },
    /// Built-in standard model presets, in display order.
    Presets {
        presets: Vec<PresetInfo>,
    },
    /// What a redirect, prune or bulk clear would write, per channel, with the per-standard-model
    /// explanations (`preview.channels[i].outcomes`; `Outcome::describe` words them).
    RedirectPreview {
        preview: RedirectPreview,
    },
    /// A file for the page to download.
    Export {
        filename: String,
        mime: String,
        content: String,
    },
    /// A command failed. `message` is the error's own text (a server's words as they came, or
    /// msync's in English); what msync itself found travels as data too, so the pages word it
    /// in their language: `reason` ([`crate::Error::reason`]) and `gave_up`.
    Error {
        class: ErrorClass,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RunError>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gave_up: Option<GaveUp>,
    },
    /// What an All API Hub import would do (without secret values).
    AllApiHubPreview {
        preview: ImportPreview,
    },
    /// The file cannot be imported at all; nothing was saved.
    /// The import would turn auto-sync on for these sites with settings that remove models
    /// unattended; nothing was saved. Send it again with `confirm_auto_sync` to import.
    ImportNeedsConfirmation {
        sites: Vec<AutoSyncTurnedOn>,
    },
    ImportRefused {
        error: ImportError,
    },
    /// What an All API Hub import did. `skipped`: sites of the file left out (their names).
    AllApiHubImported {
        created: Vec<SiteSummary>,
        updated: Vec<SiteSummary>,
        skipped: Vec<String>,
    },
    RatioSources {
        sources: RatioSources,
    },
    RatioDiff {
        diff: RatioDiff,
    },
    RatioUpstreamChecked {
        check: UpstreamCheck,
    },
    RatioPreview {
        preview: RatioPreview,
    },
    RatioApplied {
        outcome: RatioApplyOutcome,
    },
    RatioSnapshots {
        snapshots: Vec<RatioSnapshotHead>,
    },
    RatioReverted {
        outcome: RatioRevertOutcome,
    },
    /// Notification settings with every secret blanked; `secrets[i]`: sink `i` has one stored.
    Notify {
        settings: crate::notify::NotifySettings,
        #[serde(default)]
        secrets: Vec<bool>,
    },
    NotifyDeliveries {
        deliveries: Vec<crate::notify::Delivery>,
    },
}

impl Command {
    /// The site of a ratio sync command (`None` for every other command). A worker answers these
    /// with `RatioSync::new(ctx, store)?.handle(cmd)`.
    pub fn ratio_site(&self) -> Option<&SiteId> {
        match self {
            Command::ListRatioSources { site }
            | Command::FetchRatioDiff { site, .. }
            | Command::CheckRatioUpstream { site, .. }
            | Command::PreviewRatios { site, .. }
            | Command::ApplyRatios { site, .. }
            | Command::ListRatioSnapshots { site }
            | Command::RevertRatios { site, .. } => Some(site),
            _ => None,
        }
    }
}

impl Reply {
    pub fn error(e: &crate::Error) -> Reply {
        Reply::Error {
            class: e.class,
            message: e.message.clone(),
            reason: e.reason.clone(),
            gave_up: e.gave_up,
        }
    }
}

/// Pushed by the worker to open pages, inside an [`EventMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Progress { site: SiteId, progress: Progress },
    Item { site: SiteId, item: ItemResult },
    RunFinished { site: SiteId, head: RunHead },
}

/// How an [`Event`] travels: `{"event": {"run_finished": {...}}}`. Broadcasts reach every
/// extension page and, when no page listens, the worker itself; the one key `event` tells them
/// from a command and from a reply (no command is named `event`; a test checks that a broadcast
/// does not read as a command, nor a command as a broadcast).
/// `EventMessage<&Event>` is the form the worker writes without a copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMessage<E = Event> {
    pub event: E,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error replies extension/background.js sends by itself name real classes.
    #[test]
    fn the_background_scripts_error_classes_parse() {
        let js = include_str!("../../../extension/background.js");
        let classes: Vec<&str> = js
            .split("sendResponse({ error: { class: '")
            .skip(1)
            .filter_map(|rest| rest.split('\'').next())
            .collect();
        assert_eq!(classes, ["permission", "internal"]);
        for class in classes {
            let reply: Reply = serde_json::from_str(&format!(
                r#"{{"error":{{"class":"{class}","message":"x"}}}}"#
            ))
            .unwrap();
            assert!(matches!(reply, Reply::Error { .. }), "{class}");
        }
        let made_up = r#"{"error":{"class":"made_up","message":"x"}}"#;
        assert!(serde_json::from_str::<Reply>(made_up).is_err());
    }

    /// Replies and events in serde's default enum form, as pages and tests/e2e read them.
    #[test]
    fn replies_and_events_have_their_wire_form() {
        use serde_json::json;
        let cases = [
            (Reply::Ok, json!("ok")),
            (
                Reply::Pong {
                    version: "0.1.0".into(),
                    schema: 3,
                },
                json!({"pong": {"version": "0.1.0", "schema": 3}}),
            ),
            (
                Reply::Error {
                    class: ErrorClass::Validation,
                    message: "m".into(),
                    reason: None,
                    gave_up: None,
                },
                json!({"error": {"class": "validation", "message": "m"}}),
            ),
            (
                Reply::error(&crate::Error {
                    gave_up: Some(GaveUp::WaitTooLong { secs: 90 }),
                    ..crate::Error::found(ErrorClass::Validation, RunError::InsecureRefused)
                }),
                json!({"error": {
                    "class": "validation",
                    "message": RunError::InsecureRefused.to_string(),
                    "reason": "insecure_refused",
                    "gave_up": {"wait_too_long": {"secs": 90}},
                }}),
            ),
            (
                Reply::RunStarted {
                    run: RunId("r1".into()),
                },
                json!({"run_started": {"run": "r1"}}),
            ),
        ];
        for (reply, wire) in cases {
            assert_eq!(serde_json::to_value(&reply).unwrap(), wire);
            assert_eq!(serde_json::from_value::<Reply>(wire).unwrap(), reply);
        }
        // the internally tagged form of before (a worker or page from an older build) is refused
        assert!(serde_json::from_str::<Reply>(r#"{"reply":"ok"}"#).is_err());
        assert!(serde_json::from_str::<Reply>(
            r#"{"reply":"error","class":"validation","message":"m"}"#
        )
        .is_err());

        let progress = Progress {
            run: RunId("r1".into()),
            total: 2,
            done: 1,
            in_flight: Vec::new(),
            totals: Default::default(),
            elapsed_ms: 5,
            rate_per_min: 0.0,
            eta_ms: None,
        };
        let ev = Event::Progress {
            site: SiteId("s1".into()),
            progress: progress.clone(),
        };
        let wire = serde_json::to_value(EventMessage { event: &ev }).unwrap();
        assert_eq!(
            wire,
            json!({"event": {"progress": {"site": "s1", "progress": serde_json::to_value(&progress).unwrap()}}})
        );
        let back: EventMessage = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(back.event, ev);
        // a broadcast is never read as a command, nor a command as a broadcast
        assert!(serde_json::from_value::<Command>(wire).is_err());
        assert!(serde_json::from_str::<EventMessage>(r#"{"list_sites":{}}"#).is_err());
        assert!(serde_json::from_str::<EventMessage>(r#""ping""#).is_err());
    }

    /// Enums that only travel between the worker, the pages and the CLI (never stored) are in
    /// serde's default form, without the `Content` buffer a tag needs (issue 18); their tagged
    /// form of before is refused.
    #[test]
    fn wire_only_enums_have_the_default_form() {
        use crate::import::all_api_hub::{
            RuleSkip, SettingChange, SettingKey, SettingValue, SiteAction, SourceType, Warning,
        };
        use crate::model::ModelPattern;
        use crate::probe::ChannelTest;
        use crate::ratio::{Cell, RatioValue, UpstreamNote};
        use serde::de::DeserializeOwned;
        use serde_json::{json, Value};

        fn pin<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
            v: T,
            wire: Value,
            old: Value,
        ) {
            assert_eq!(serde_json::to_value(&v).unwrap(), wire);
            assert_eq!(serde_json::from_value::<T>(wire).unwrap(), v);
            assert!(serde_json::from_value::<T>(old.clone()).is_err(), "{old}");
        }

        pin(Selection::All, json!("all"), json!({"select": "all"}));
        pin(
            Selection::Channels(vec![ChannelId("3".into())]),
            json!({"channels": ["3"]}),
            json!({"select": "channels", "ids": ["3"]}),
        );
        pin(
            ChannelTest::Missing,
            json!("missing"),
            json!({"support": "missing"}),
        );
        pin(
            ChannelTest::NEW_API,
            json!({"supported": {"may_disable_channel": false, "updates_response_time": true, "logged_as_usage": true}}),
            json!({"support": "supported", "may_disable_channel": false, "updates_response_time": true, "logged_as_usage": true}),
        );
        pin(
            Cell::Value(RatioValue::Number(2.5)),
            json!({"value": 2.5}),
            json!({"kind": "value", "value": 2.5}),
        );
        pin(Cell::Same, json!("same"), json!({"kind": "same"}));
        pin(
            UpstreamNote::RatioConfigNotExposed {
                pricing_error: "404".into(),
            },
            json!({"ratio_config_not_exposed": {"pricing_error": "404"}}),
            json!({"kind": "ratio_config_not_exposed", "pricing_error": "404"}),
        );
        pin(
            ModelPattern::Regex("gpt-.*".into()),
            json!({"regex": "gpt-.*"}),
            json!({"kind": "regex", "value": "gpt-.*"}),
        );
        pin(
            ImportError::Truncated,
            json!("truncated"),
            json!({"error": "truncated"}),
        );
        pin(
            ImportError::NotJson { line: 1, column: 2 },
            json!({"not_json": {"line": 1, "column": 2}}),
            json!({"error": "not_json", "line": 1, "column": 2}),
        );
        pin(
            SettingChange {
                key: SettingKey::ChannelRules("7".into()),
                old: None,
                new: SettingValue::Minutes(360),
            },
            json!({"key": {"channel_rules": "7"}, "old": null, "new": {"minutes": 360}}),
            json!({"key": "channel_rules", "channel": "7", "old": null, "new": {"type": "minutes", "value": 360}}),
        );
        pin(
            SettingKey::AutoSync,
            json!("auto_sync"),
            json!({"key": "auto_sync"}),
        );
        pin(
            Warning::RuleSkipped {
                channel: None,
                name: "r".into(),
                reason: RuleSkip::InvalidRegex {
                    message: "m".into(),
                },
            },
            json!({"rule_skipped": {"channel": null, "name": "r", "reason": {"invalid_regex": {"message": "m"}}}}),
            json!({"warning": "rule_skipped", "channel": null, "name": "r", "reason": "invalid_regex", "message": "m"}),
        );
        pin(
            Warning::AutoSyncNotActive {
                active: SourceType::NewApi,
            },
            json!({"auto_sync_not_active": {"active": "new-api"}}),
            json!({"warning": "auto_sync_not_active", "active": "new-api"}),
        );
        pin(
            Warning::PruneOn,
            json!("prune_on"),
            json!({"warning": "prune_on"}),
        );
        pin(
            SiteAction::Create,
            json!("create"),
            json!({"action": "create"}),
        );
        pin(
            SiteAction::Update {
                existing: SiteId("s1".into()),
                existing_name: "Prod".into(),
            },
            json!({"update": {"existing": "s1", "existing_name": "Prod"}}),
            json!({"action": "update", "existing": "s1", "existing_name": "Prod"}),
        );
    }

    #[test]
    fn commands_are_tagged_json() {
        let c: Command = serde_json::from_str(r#"{"list_channels":{"site":"s1"}}"#).unwrap();
        assert_eq!(
            c,
            Command::ListChannels {
                site: SiteId("s1".into())
            }
        );
        let run: Command =
            serde_json::from_str(r#"{"start_run":{"site":"s1","selection":"all"}}"#).unwrap();
        assert_eq!(
            run,
            Command::StartRun {
                site: SiteId("s1".into()),
                selection: Selection::All,
                dry_run: false
            }
        );
        let run: Command = serde_json::from_str(
            r#"{"start_run":{"site":"s1","selection":{"channels":["3","7"]},"dry_run":true}}"#,
        )
        .unwrap();
        assert_eq!(
            run,
            Command::StartRun {
                site: SiteId("s1".into()),
                selection: Selection::Channels(vec![ChannelId("3".into()), ChannelId("7".into())]),
                dry_run: true
            }
        );
        // the adjacently tagged selection of before is refused
        assert!(serde_json::from_str::<Command>(
            r#"{"start_run":{"site":"s1","selection":{"select":"all"}}}"#
        )
        .is_err());
        assert!(serde_json::from_str::<Command>(r#""format_disk""#).is_err());
        // a command without fields is its name; pages write what the worker reads
        assert_eq!(
            serde_json::from_str::<Command>(r#""ping""#).unwrap(),
            Command::Ping
        );
        assert_eq!(
            serde_json::to_value(Command::ListSites).unwrap(),
            serde_json::json!("list_sites")
        );
        assert_eq!(
            serde_json::to_value(Command::CancelRun {
                site: SiteId("s1".into())
            })
            .unwrap(),
            serde_json::json!({"cancel_run": {"site": "s1"}})
        );
        // the internally tagged form of before (a page left open across an update) is refused
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"ping"}"#).is_err());
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"list_channels","site":"s1"}"#).is_err());
    }

    #[test]
    fn redirect_commands_have_defaults() {
        let c: Command = serde_json::from_str(r#"{"preview_redirect":{"site":"s1"}}"#).unwrap();
        assert_eq!(
            c,
            Command::PreviewRedirect {
                site: SiteId("s1".into()),
                channels: None,
                settings: None,
                confirm_overwrite_invalid: false
            }
        );
        let c: Command = serde_json::from_str(
            r#"{"preview_clear":{"site":"s1","channels":["3"],"scope":"generated"}}"#,
        )
        .unwrap();
        assert_eq!(
            c,
            Command::PreviewClear {
                site: SiteId("s1".into()),
                channels: Some(vec![ChannelId("3".into())]),
                scope: ClearScope::Generated,
                remove_added_names: false,
                confirm_overwrite_invalid: false
            }
        );
        let c: Command =
            serde_json::from_str(r#"{"apply_redirect":{"site":"s1","preview":"p1"}}"#).unwrap();
        let Command::ApplyRedirect {
            confirm_clear,
            force,
            confirm_overwrite_invalid,
            channels,
            ..
        } = c
        else {
            panic!("{c:?}")
        };
        assert!(!confirm_clear && !force && !confirm_overwrite_invalid && channels.is_none());
        // a clear scope must be named
        assert!(serde_json::from_str::<Command>(r#"{"preview_clear":{"site":"s1"}}"#).is_err());
        let r = Reply::Presets {
            presets: crate::redirect::preset_infos(),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with(r#"{"presets":{"presets":["#), "{text}");
        assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), r);
    }

    #[test]
    fn ratio_commands_are_tagged_json() {
        let c: Command = serde_json::from_str(
            r#"{"fetch_ratio_diff":{"site":"s1",
                "upstreams":[{"id":-100,"name":"官方倍率预设","base_url":"https://basellm.github.io",
                              "endpoint":"/llm-metadata/api/newapi/ratio_config-v1-base.json"}]}}"#,
        )
        .unwrap();
        match c {
            Command::FetchRatioDiff {
                upstreams,
                timeout_s,
                ..
            } => {
                assert_eq!(upstreams[0].display_name(), "官方倍率预设(-100)");
                assert_eq!(timeout_s, None);
            }
            other => panic!("{other:?}"),
        }
        let c: Command = serde_json::from_str(
            r#"{"apply_ratios":{"site":"s1","base":"abc",
                "choices":[{"model":"gpt-4o","field":"model_ratio","value":2.5,"upstream":"a(3)"}]}}"#,
        )
        .unwrap();
        assert!(matches!(c, Command::ApplyRatios { ref choices, .. } if choices.len() == 1));
        let c: Command =
            serde_json::from_str(r#"{"revert_ratios":{"site":"s1","snapshot":"1-000"}}"#).unwrap();
        assert_eq!(
            c,
            Command::RevertRatios {
                site: SiteId("s1".into()),
                snapshot: "1-000".into(),
                force: false
            }
        );
        let r = serde_json::to_value(Reply::RatioSnapshots { snapshots: vec![] }).unwrap();
        assert_eq!(r, serde_json::json!({"ratio_snapshots":{"snapshots":[]}}));
    }
}

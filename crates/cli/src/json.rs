//! The `--json` documents: one type per document, so the shape is a contract the compiler keeps
//! (`docs/cli-json.md` describes each one, and a test parses its examples into these types).
//!
//! Objects are printed with their keys in alphabetical order ([`to_text`]), as they always were.
//! Every type also reads back (`Deserialize`), for scripts written in Rust and for that test.

use msync_core::engine::record::{
    ItemResult, ListSizes, RunHead, RunMode, RunRecord, RunState, Trigger,
};
use msync_core::engine::redirect::RedirectPreview;
use msync_core::gateway::ConnectionReport;
use msync_core::model::{Channel, Mapping};
use msync_core::pricing::{PriceCheck, RunPricing};
use msync_core::probe::{ChannelHealth, ChannelTest, ModelProbe};
use msync_core::reason::{ItemReason, RunError, RunNote};
use msync_core::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Pretty JSON with every object's keys in alphabetical order (through `serde_json::Value`,
/// whose maps are sorted), so adding a field never moves the others.
pub fn to_text<T: Serialize>(doc: &T) -> String {
    serde_json::to_value(doc)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| "{}".into())
}

/// An error as scripts see it (a run's `error`, a site test's `error`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorJson {
    /// The error class (`auth`, `network`, `rate_limited`, …).
    pub class: String,
    pub http_status: Option<u16>,
    /// The English text.
    pub message: String,
    /// What msync itself found wrong, as data (`kind` and its values); `null` when the message
    /// is the server's own text.
    #[serde(default)]
    pub reason: Option<RunError>,
}

impl From<&Error> for ErrorJson {
    fn from(e: &Error) -> Self {
        ErrorJson {
            class: e.class.as_str().to_string(),
            http_status: e.http_status,
            message: e.text(),
            reason: e.reason.clone(),
        }
    }
}

/// A run's counts per status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalsJson {
    pub total: usize,
    pub success: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
    pub needs_review: usize,
}

/// The `run` object: one run's head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunJson {
    pub id: String,
    /// The site's name in msync.toml.
    pub site: String,
    pub mode: RunMode,
    pub trigger: Trigger,
    pub state: RunState,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: u64,
    pub totals: TotalsJson,
    /// Why the run stopped (a failed run only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorJson>,
    /// The run's note in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The same note as data (`kind` and its values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_data: Option<RunNote>,
    /// The price check's summary (issue 19, `docs/pricing-check.md`): only on runs of a site
    /// with a price check on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<PricingJson>,
}

/// A run's price check: `mode`, `unpriced`, `held`, `no_price_api`, `read_error`, `fill` as
/// stored (each only when set), and `notes`, the findings as English text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingJson {
    #[serde(flatten)]
    pub summary: RunPricing,
    pub notes: Vec<String>,
}

impl From<&RunPricing> for PricingJson {
    fn from(p: &RunPricing) -> Self {
        PricingJson {
            summary: p.clone(),
            notes: p.notes().iter().map(ToString::to_string).collect(),
        }
    }
}

impl RunJson {
    pub fn new(head: &RunHead, site_name: &str) -> RunJson {
        let t = &head.totals;
        RunJson {
            id: head.id.0.clone(),
            site: site_name.to_string(),
            mode: head.mode,
            trigger: head.trigger,
            state: head.state,
            started_at: crate::output::rfc3339(head.started_ms),
            finished_at: head.finished_ms.map(crate::output::rfc3339),
            duration_ms: head.duration_ms,
            totals: TotalsJson {
                total: t.total,
                success: t.success,
                unchanged: t.unchanged,
                failed: t.failed,
                skipped: t.skipped,
                needs_review: t.needs_review,
            },
            error: head.error.as_ref().map(ErrorJson::from),
            note: head.note.as_ref().map(ToString::to_string),
            note_data: head.note.clone(),
            pricing: head.pricing.as_deref().map(PricingJson::from),
        }
    }
}

/// One channel of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemJson {
    pub channel_id: String,
    pub channel_name: String,
    /// `success`, `unchanged`, `failed`, `skipped` or `needs_review`.
    pub status: String,
    /// Why the channel was skipped, held or left unchanged, in English.
    pub reason: Option<String>,
    /// The same reason as data (`kind` and its values).
    #[serde(default)]
    pub reason_data: Option<ItemReason>,
    pub http_status: Option<u16>,
    pub error_class: Option<String>,
    /// A failed channel's error text (English).
    pub message: Option<String>,
    /// What msync itself found wrong with a failed channel, as data; `null` when `message` is
    /// the server's own text.
    #[serde(default)]
    pub error_reason: Option<RunError>,
    pub attempts: u32,
    pub duration_ms: u64,
    pub old_models: Vec<String>,
    pub new_models: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Set when the lists above are previews of longer ones (their full lengths); `history
    /// --export json` has every name.
    pub lists_cut: Option<ListSizes>,
    /// The price check (issue 19): added models without a price (`unpriced`), those held back
    /// (`held`), `unknown` when the site's prices could not be read. Only when it found any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<PriceCheck>,
    /// Issue 21: each probed model with its outcome and whether it was held back (`[]` when
    /// probing was off).
    #[serde(default)]
    pub probes: Vec<ModelProbe>,
}

impl From<&ItemResult> for ItemJson {
    fn from(i: &ItemResult) -> Self {
        ItemJson {
            channel_id: i.channel_id.0.clone(),
            channel_name: i.channel_name.clone(),
            status: i.status.as_str().to_string(),
            reason: i.reason.as_ref().map(ToString::to_string),
            reason_data: i.reason.clone(),
            http_status: i.http_status,
            error_class: i.error_class.map(|c| c.as_str().to_string()),
            message: i.error_text(),
            error_reason: i.error_reason.clone(),
            attempts: i.attempts,
            duration_ms: i.duration_ms,
            old_models: i.old.clone(),
            new_models: i.new.clone(),
            added: i.added.clone(),
            removed: i.removed.clone(),
            lists_cut: i.lists_cut,
            price: i.price.clone(),
            probes: i.probes.clone(),
        }
    }
}

/// `sync`, `plan`, `apply`, `resume`, `revert`, `redirect apply` for one site, and
/// `history --run RUN`: `{"run": …, "items": […]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordJson {
    pub run: RunJson,
    pub items: Vec<ItemJson>,
}

impl RecordJson {
    pub fn new(rec: &RunRecord, site_name: &str) -> RecordJson {
        RecordJson {
            run: RunJson::new(&rec.head, site_name),
            items: rec.items.iter().map(ItemJson::from).collect(),
        }
    }
}

/// `{"runs": […]}`: records of several sites (or none), or `history`'s list of run heads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runs<T> {
    pub runs: Vec<T>,
}

/// One item found by `history --status/--search`, with its run and site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundItem {
    #[serde(flatten)]
    pub item: ItemJson,
    pub run: String,
    pub site: String,
}

/// `history --status/--search`: `{"items": […]}`, newest run first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Items {
    pub items: Vec<FoundItem>,
}

/// One site of `sites test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteTest {
    pub site: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub base_url: String,
    /// Reachable, authenticated and admin.
    pub ok: bool,
    /// What the site answered (absent when the test failed with `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ConnectionReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorJson>,
}

/// `sites test`: `{"sites": […]}`; `channels`: the same with [`SiteChannels`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sites<T> {
    pub sites: Vec<T>,
}

/// One site of `channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteChannels {
    pub site: String,
    pub channels: Vec<ChannelJson>,
}

/// One channel of `channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelJson {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// The gateway's channel type, as it names it.
    #[serde(rename = "type")]
    pub channel_type: String,
    pub models: Vec<String>,
    /// Requested name → actual model; `{}` when empty, `{"invalid": "<parse error>"}` when the
    /// stored text is not valid, `null` on sites without per-channel mapping (Octopus).
    pub mapping: Option<BTreeMap<String, String>>,
    pub tag: Option<String>,
    /// Issue 21: when the channel last synced (written or already right), ms since the epoch;
    /// `null` when never.
    #[serde(default)]
    pub last_good_sync_ms: Option<u64>,
    /// Issue 21: runs in a row that failed for this channel.
    #[serde(default)]
    pub failures_in_row: u32,
}

impl ChannelJson {
    /// The channel with its health record (issue 21).
    pub fn with_health(mut self, h: &ChannelHealth) -> Self {
        self.last_good_sync_ms = h.last_good_ms;
        self.failures_in_row = h.failures_in_row;
        self
    }
}

impl From<&Channel> for ChannelJson {
    fn from(c: &Channel) -> Self {
        let mapping = match &c.mapping {
            // A repeated key keeps its last value, as the gateways read it.
            Mapping::Valid { pairs } => Some(pairs.iter().cloned().collect()),
            Mapping::Empty => Some(BTreeMap::new()),
            Mapping::Invalid { error, .. } => {
                Some(BTreeMap::from([("invalid".to_string(), error.clone())]))
            }
            Mapping::Unsupported => None,
        };
        ChannelJson {
            id: c.id.0.clone(),
            name: c.name.clone(),
            enabled: c.enabled,
            channel_type: c.channel_type.clone(),
            models: c.models.clone(),
            mapping,
            tag: c.tag.clone(),
            last_good_sync_ms: None,
            failures_in_row: 0,
        }
    }
}

/// `probe` (issue 21, `docs/probe.md`): one channel's models tested through the gateway's own
/// channel test, or only estimated (`--all` without `--yes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeJson {
    pub site: String,
    pub channel: ChannelRef,
    /// What the site's gateway offers (its capability).
    pub channel_test: ChannelTest,
    /// Nothing was sent: `probes` are `would_probe` estimates.
    pub estimate_only: bool,
    /// Channel tests the estimate would send.
    pub would_send: usize,
    pub probes: Vec<ModelProbe>,
}

/// A channel named in a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRef {
    pub id: String,
    pub name: String,
}

/// One site's redirect preview (`redirect plan`), as core stores it, plus the site's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewJson {
    #[serde(flatten)]
    pub preview: RedirectPreview,
    pub site_name: String,
}

/// `redirect plan`: `{"previews": […]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Previews {
    pub previews: Vec<PreviewJson>,
}

/// `redirect match`: the mapping and, per standard model, why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchJson {
    pub mapping: BTreeMap<String, String>,
    pub explanations: Vec<Explanation>,
}

/// Why one standard model was or was not mapped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    pub standard: String,
    /// The outcome's kind (`exact`, `dated`, `not_found`, …; `docs/redirect.md`).
    pub outcome: Option<String>,
    pub target: Option<String>,
    /// The outcome in English.
    pub reason: String,
}

/// What any command prints with `--json` when it fails as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub error: FailureDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureDetail {
    /// The exit code.
    pub code: i32,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of `docs/cli-json.md`: each ```` ```json NAME ```` block, by NAME.
    fn documented() -> Vec<(String, String)> {
        let doc = include_str!("../../../docs/cli-json.md");
        let mut out = Vec::new();
        let mut lines = doc.lines();
        while let Some(line) = lines.next() {
            if let Some(name) = line.strip_prefix("```json ") {
                let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
                out.push((name.trim().to_string(), body.join("\n")));
            }
        }
        out
    }

    fn parses<T: serde::de::DeserializeOwned + Serialize>(name: &str, text: &str) {
        let doc: T = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("docs/cli-json.md `{name}` does not parse: {e}\n{text}"));
        // Printed again, it is the same document (nothing the types drop or add).
        let again: serde_json::Value = serde_json::from_str(&to_text(&doc)).unwrap();
        let given: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(again, given, "docs/cli-json.md `{name}`");
    }

    #[test]
    fn every_documented_example_is_a_document_msync_prints() {
        let examples = documented();
        let mut seen = Vec::new();
        for (name, text) in &examples {
            match name.as_str() {
                "record" | "pricing" => parses::<RecordJson>(name, text),
                "runs" => parses::<Runs<RecordJson>>(name, text),
                "history" => parses::<Runs<RunJson>>(name, text),
                "items" => parses::<Items>(name, text),
                "sites-test" => parses::<Sites<SiteTest>>(name, text),
                "channels" => parses::<Sites<SiteChannels>>(name, text),
                "previews" => parses::<Previews>(name, text),
                "match" => parses::<MatchJson>(name, text),
                "error" => parses::<Failure>(name, text),
                "probe" => parses::<ProbeJson>(name, text),
                other => panic!("docs/cli-json.md: unknown example `{other}`"),
            }
            seen.push(name.as_str());
        }
        for want in [
            "record",
            "pricing",
            "runs",
            "history",
            "items",
            "sites-test",
            "channels",
            "previews",
            "match",
            "error",
            "probe",
        ] {
            assert!(
                seen.contains(&want),
                "docs/cli-json.md has no `{want}` example"
            );
        }
    }

    #[test]
    fn an_undocumented_field_is_refused() {
        let text = r#"{"error": {"code": 2, "message": "x", "extra": 1}}"#;
        assert!(serde_json::from_str::<Failure>(text).is_err());
    }
}

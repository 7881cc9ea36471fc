//! Reading records stored before reasons were typed (worker storage schema 2, the CLI's files of
//! that time): the English sentences msync wrote, back into the values they describe. Only with
//! the `legacy-records` feature, which the engine (`msync-core`, used by the worker and the CLI)
//! turns on: the pages get records from the worker, already typed, and carry none of this.

use super::*;

fn captures<'a>(template: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = template.split("{}").collect();
    let (first, rest) = parts.split_first()?;
    let mut at = text.strip_prefix(first)?;
    let mut values = Vec::new();
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let end = if last {
            at.len()
                .checked_sub(part.len())
                .filter(|&e| at.is_char_boundary(e) && at[e..] == **part)?
        } else if part.is_empty() {
            return None;
        } else {
            at.find(part)?
        };
        values.push(&at[..end]);
        at = &at[end + part.len()..];
    }
    (parts.len() > 1 || text == template).then_some(values)
}

fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.trim().parse().ok()
}

fn redirect_kind(label: &str) -> Option<RedirectKind> {
    [
        RedirectKind::Redirect,
        RedirectKind::Prune,
        RedirectKind::Clear,
    ]
    .into_iter()
    .find(|k| k.label() == label)
}

fn auto_sync(setting: &str) -> Option<AutoSync> {
    [AutoSync::Octopus, AutoSync::AxonHub, AutoSync::NewApi]
        .into_iter()
        .find(|a| a.setting() == setting)
}

/// `model (route, route); model (route)` as msync wrote it.
fn lost_routes(text: &str) -> Option<Vec<LostRoutes>> {
    text.split("; ")
        .map(|one| {
            let (model, rest) = one.rsplit_once(" (")?;
            let routes = rest.strip_suffix(')')?;
            Some(LostRoutes {
                model: model.to_string(),
                routes: routes.split(", ").map(str::to_string).collect(),
            })
        })
        .collect()
}

impl ItemReason {
    /// A reason as stored before reasons were typed (an English sentence) as the value it
    /// describes; [`ItemReason::Text`] when msync never wrote such a sentence.
    pub fn from_legacy(text: &str) -> ItemReason {
        let fixed: [(&str, ItemReason); 10] = [
            ("the channel is excluded from sync", ItemReason::Skip(SkipReason::Excluded)),
            (
                "the channel is disabled (disabled channels are skipped; see settings)",
                ItemReason::Skip(SkipReason::Disabled),
            ),
            ("dry run: would write", ItemReason::Note(ItemNote::DryRunWouldWrite)),
            (
                "the channel already holds the planned models",
                ItemReason::Note(ItemNote::AlreadyPlanned),
            ),
            (
                "the channel is already as in the snapshot",
                ItemReason::Note(ItemNote::AlreadyAsSnapshot),
            ),
            (
                "the channel changed since the plan was made; plan again, or apply with force",
                ItemReason::Review(ReviewReason::ChangedSincePlan),
            ),
            (
                "the channel changed since the preview; preview again, or apply with force",
                ItemReason::Review(ReviewReason::ChangedSincePreview),
            ),
            (
                "the channel changed after the sync wrote it; revert with force to overwrite those changes",
                ItemReason::Review(ReviewReason::ChangedSinceWrite),
            ),
            (
                "the mapping before that run was unreadable text, which msync cannot write back (it is kept in the snapshot); revert with force to restore the models only",
                ItemReason::Review(ReviewReason::SnapshotMappingUnreadable),
            ),
            ("", ItemReason::Text(String::new())),
        ];
        if let Some((_, r)) = fixed.iter().find(|(t, _)| *t == text) {
            return r.clone();
        }
        let parsed = (|| {
            if let Some(v) = captures(
                "the gateway syncs this channel's models itself ({}); msync leaves it alone",
                text,
            ) {
                return Some(ItemReason::Skip(SkipReason::GatewaySyncs {
                    setting: auto_sync(v[0])?,
                }));
            }
            if let Some(v) = captures(
                "the gateway's model pattern {} cannot be evaluated here; the channel is left alone",
                text,
            ) {
                return Some(ItemReason::Skip(SkipReason::PatternUnreadable {
                    pattern: v[0].to_string(),
                }));
            }
            if let Some(v) = captures("the upstream returned an empty model list; the channel keeps its {} models (allow empty lists for this channel to change that)", text) {
                return Some(ItemReason::Skip(SkipReason::EmptyUpstream { kept: number(v[0])? }));
            }
            if let Some(v) = captures("the filters leave no model of the {} the upstream listed; the channel keeps its {} models", text) {
                return Some(ItemReason::Skip(SkipReason::FilteredEmpty {
                    upstream: number(v[0])?,
                    kept: number(v[1])?,
                }));
            }
            if let Some(v) = captures("would remove {} of {} models ({}%), more than the {}% threshold; confirm it from a dry-run plan", text) {
                return Some(ItemReason::Review(ReviewReason::OverThreshold {
                    removed: number(v[0])?,
                    total: number(v[1])?,
                    threshold: number(v[3])?,
                }));
            }
            if let Some(v) = captures("would delete the gateway's routes to removed models: {}; confirm it from a dry-run plan", text) {
                return Some(ItemReason::Review(ReviewReason::RoutesLost {
                    routes: lost_routes(v[0])?,
                }));
            }
            if let Some(v) = captures("nothing to change ({})", text) {
                return Some(ItemReason::Note(ItemNote::NothingToChange {
                    op: redirect_kind(v[0])?,
                }));
            }
            if let Some(v) = captures("the channel's model_mapping cannot be read ({}); confirm overwriting it to write the generated mapping", text) {
                return Some(ItemReason::Review(ReviewReason::MappingUnreadable {
                    error: v[0].to_string(),
                    clearing: false,
                }));
            }
            if let Some(v) = captures("the channel's model_mapping cannot be read ({}); confirm overwriting it to clear it", text) {
                return Some(ItemReason::Review(ReviewReason::MappingUnreadable {
                    error: v[0].to_string(),
                    clearing: true,
                }));
            }
            if let Some(v) = captures("the channel's model_mapping cannot be read ({}), so msync cannot tell its own entries apart; clear all entries (with confirmation) instead", text) {
                return Some(ItemReason::Review(ReviewReason::MappingUnreadableForGenerated {
                    error: v[0].to_string(),
                }));
            }
            if let Some(v) = captures("the channel had no models before that run, and {} cannot store an empty model list; nothing was written (remove the models in the gateway's own page if the channel should have none)", text) {
                return Some(ItemReason::Review(ReviewReason::RevertHold {
                    hold: RevertHold::EmptyModelList {
                        site: SiteKind::ALL.into_iter().find(|k| k.label() == v[0])?,
                    },
                }));
            }
            if let Some(v) = captures("{} has no per-channel model mapping (it routes models through groups); model redirect is not available for this site", text) {
                return Some(ItemReason::Skip(SkipReason::NoMappingSupport {
                    site: SiteKind::ALL.into_iter().find(|k| k.label() == v[0])?,
                }));
            }
            None
        })();
        parsed.unwrap_or_else(|| ItemReason::Text(text.to_string()))
    }
}

impl RunNote {
    /// A note as stored before notes were typed (see [`ItemReason::from_legacy`]).
    pub fn from_legacy(text: &str) -> RunNote {
        let fixed = [
            ("the run did not start", RunNote::DidNotStart),
            ("cancelled by the user", RunNote::Cancelled),
            ("could not list the site's channels", RunNote::ListFailed),
            ("stopped: results could not be stored", RunNote::StoreFailed),
            (
                "scheduled run skipped: another run is in progress",
                RunNote::ScheduledSkipped {
                    holder: None,
                    since_ms: None,
                },
            ),
        ];
        if let Some((_, n)) = fixed.iter().find(|(t, _)| *t == text) {
            return n.clone();
        }
        let parsed = (|| {
            if let Some(v) = captures("revert of run {}", text) {
                return Some(RunNote::RevertOf {
                    run: RunId(v[0].to_string()),
                });
            }
            if let Some(v) = captures(
                "scheduled run skipped: run {} (started at {} ms) is in progress",
                text,
            ) {
                return Some(RunNote::ScheduledSkipped {
                    holder: Some(RunId(v[0].to_string())),
                    since_ms: Some(number(v[1])?),
                });
            }
            if let Some(v) = captures(
                "interrupted and not resumed within {} minutes; superseded by run {}",
                text,
            ) {
                return Some(RunNote::Superseded {
                    minutes: number(v[0])?,
                    by: RunId(v[1].to_string()),
                });
            }
            if let Some(v) = captures("{} after sync run {}", text) {
                return Some(RunNote::RedirectAfterSync {
                    op: redirect_kind(v[0])?,
                    of: RunId(v[1].to_string()),
                });
            }
            if let Some(v) = captures("{} from preview {}", text) {
                return Some(RunNote::RedirectFromPreview {
                    op: redirect_kind(v[0])?,
                    preview: v[1].to_string(),
                });
            }
            None
        })();
        parsed.unwrap_or_else(|| RunNote::Text {
            text: text.to_string(),
        })
    }
}

/// A reason or note as an English sentence msync wrote before they were typed.
pub(super) trait FromSentence {
    fn from_sentence(text: String) -> Self;
}

impl FromSentence for ItemReason {
    fn from_sentence(text: String) -> Self {
        ItemReason::from_legacy(&text)
    }
}

impl FromSentence for RunNote {
    fn from_sentence(text: String) -> Self {
        RunNote::from_legacy(&text)
    }
}

impl FromSentence for SkipReason {
    fn from_sentence(text: String) -> Self {
        match ItemReason::from_legacy(&text) {
            ItemReason::Skip(r) => r,
            _ => SkipReason::Text { text },
        }
    }
}

impl FromSentence for ReviewReason {
    fn from_sentence(text: String) -> Self {
        match ItemReason::from_legacy(&text) {
            ItemReason::Review(r) => r,
            _ => ReviewReason::Text { text },
        }
    }
}

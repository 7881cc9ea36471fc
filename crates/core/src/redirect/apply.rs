//! Turning a match into a channel write, as pure functions: merge, prune, bulk clear, and a
//! preview value (old vs new models and mapping) the UI and CLI show before anything is written.
//!
//! Nothing here talks to a gateway. Each function takes a [`Channel`] as read from the site and the
//! site's [`Capabilities`], and returns a [`ChannelPreview`] whose `update` is the
//! [`ChannelUpdate`] to hand to `Gateway::update_channel` (empty when nothing changes).

use super::matcher::{MatchResult, Matcher, StandardOutcome};
use crate::gateway::{Capabilities, MappingRules};
use crate::model::{Channel, ChannelUpdate, Mapping, SiteKind};
use crate::reason::{ItemNote, ItemReason, RedirectKind, ReviewReason, SkipReason};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};

/// Mapping entries ("requested → actual"), in the site's order.
pub type Pairs = Vec<(String, String)>;

/// Options for [`plan_redirect`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyOptions {
    /// Replace an existing mapping that could not be parsed. Off by default: unparseable text is
    /// never overwritten without the admin saying so.
    #[serde(default)]
    pub confirm_overwrite_invalid: bool,
    /// Drop existing entries whose target is no longer in the channel (site-aware, see
    /// [`prune_missing_targets`]).
    #[serde(default)]
    pub prune_missing_targets: bool,
}

pub use msync_types::redirect::{
    BlockReason, ChannelPreview, ClearScope, MappingChange, PlanStatus, PlanTotals,
};

pub fn totals(previews: &[ChannelPreview]) -> PlanTotals {
    let mut t = PlanTotals::default();
    for p in previews {
        match p.status {
            PlanStatus::Change => t.change += 1,
            PlanStatus::Unchanged => t.unchanged += 1,
            PlanStatus::Blocked { .. } => t.blocked += 1,
        }
        for c in &p.changes {
            if c.new.is_some() {
                t.keys_set += 1;
            } else {
                t.keys_removed += 1;
            }
        }
    }
    t
}

/// The actual model a mapping value names: where values may carry a billing prefix (DoneHub's
/// `+`, "bill by the original model"), it is not part of the model id.
pub fn mapping_target(rules: MappingRules, value: &str) -> &str {
    let v = value.trim();
    if rules.billing_prefix {
        v.strip_prefix('+').unwrap_or(v).trim()
    } else {
        v
    }
}

// Where the site ignores and refuses mapping entries whose target is not among the channel's
// models (`MappingRules::targets_must_be_listed`, AxonHub), a stale entry — its target dropped by
// a sync — is dead already and would make the whole write fail, so every plan drops such entries
// and lists them in [`ChannelPreview::pruned`].

/// The channel's actual (upstream) models: its models list without the mapping's alias keys
/// (a key that maps to something other than itself is a request-side name, not an upstream
/// model — on New API-style sites msync itself lists such names). Trimmed, empty names dropped.
pub fn actual_models(channel: &Channel, rules: MappingRules) -> Vec<&str> {
    let aliases: HashSet<&str> = channel
        .mapping
        .pairs()
        .iter()
        .filter(|(k, v)| k.trim() != mapping_target(rules, v))
        .map(|(k, _)| k.trim())
        .collect();
    channel
        .models
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty() && !aliases.contains(m))
        .collect()
}

/// Split a mapping into entries whose target still exists and entries whose target vanished.
///
/// * Sites that follow chains (New API): a target that is itself a key is followed through the
///   mapping (`a→b→c`, as the relay does); the chain's end must be available. Cycles are pruned.
/// * A billing prefix (DoneHub's `+`) is ignored for the check and kept in the stored value.
/// * Others (Veloera, AxonHub): the target itself must be available.
///
/// `available` is the channel's actual model list (see [`actual_models`]).
pub fn prune_missing_targets<S: AsRef<str>>(
    rules: MappingRules,
    pairs: &[(String, String)],
    available: &[S],
) -> (Pairs, Pairs) {
    let avail: HashSet<&str> = available.iter().map(|m| m.as_ref().trim()).collect();
    let links: HashMap<&str, &str> = pairs
        .iter()
        .map(|(k, v)| (k.trim(), mapping_target(rules, v)))
        .collect();
    let mut kept = Vec::new();
    let mut pruned = Vec::new();
    for (k, v) in pairs {
        let mut cur = mapping_target(rules, v);
        let mut ok = avail.contains(cur);
        if !ok && rules.follows_chains {
            let mut seen: HashSet<&str> = HashSet::default();
            seen.insert(k.trim());
            while let Some(&next) = links.get(cur) {
                if next == cur || !seen.insert(cur) {
                    break;
                }
                cur = next;
                if avail.contains(cur) {
                    ok = true;
                    break;
                }
            }
        }
        if ok {
            kept.push((k.clone(), v.clone()));
        } else {
            pruned.push((k.clone(), v.clone()));
        }
    }
    (kept, pruned)
}

/// Merge generated pairs into an existing mapping: existing order kept, new keys appended, a
/// generated value replaces an existing one for the same key (new keys win), every other key is
/// kept as is. On DoneHub an existing `+target` equal to the generated target keeps its `+`.
pub fn merge_mapping(
    rules: MappingRules,
    existing: &[(String, String)],
    generated: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = existing.to_vec();
    for (k, v) in generated {
        match out.iter_mut().find(|(ok, _)| ok == k) {
            Some(slot) => {
                if mapping_target(rules, &slot.1) != v.trim() {
                    slot.1 = v.clone();
                }
            }
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

/// Key-by-key difference between two mappings.
pub fn diff_mapping(old: &[(String, String)], new: &[(String, String)]) -> Vec<MappingChange> {
    let newmap: HashMap<&str, &str> = new.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let oldkeys: HashSet<&str> = old.iter().map(|(k, _)| k.as_str()).collect();
    let mut out = Vec::new();
    for (k, v) in old {
        match newmap.get(k.as_str()) {
            Some(nv) if *nv == v => {}
            other => out.push(MappingChange {
                key: k.clone(),
                old: Some(v.clone()),
                new: other.map(|s| s.to_string()),
            }),
        }
    }
    for (k, v) in new {
        if !oldkeys.contains(k.as_str()) {
            out.push(MappingChange {
                key: k.clone(),
                old: None,
                new: Some(v.clone()),
            });
        }
    }
    out
}

fn no_mapping(site: SiteKind) -> ItemReason {
    ItemReason::Skip(SkipReason::NoMappingSupport { site })
}

fn blocked(channel: &Channel, reason: BlockReason, why: ItemReason) -> ChannelPreview {
    ChannelPreview {
        channel_id: channel.id.clone(),
        channel_name: channel.name.clone(),
        status: PlanStatus::Blocked { reason, why },
        old_models: channel.models.clone(),
        added_models: Vec::new(),
        removed_models: Vec::new(),
        old_mapping: channel.mapping.clone(),
        new_mapping: channel.mapping.pairs().to_vec(),
        changes: Vec::new(),
        pruned: Vec::new(),
        outcomes: Vec::new(),
        update: ChannelUpdate::default(),
    }
}

/// The mapping cannot be read; overwriting it (to write a generated mapping, or to `clear` it)
/// needs the admin's confirmation.
fn unreadable(error: &str, clear: bool) -> ItemReason {
    ItemReason::Review(ReviewReason::MappingUnreadable {
        error: error.to_string(),
        clearing: clear,
    })
}

/// A change to the models list: the new list and what it adds and removes.
struct ModelsChange {
    new: Vec<String>,
    added: Vec<String>,
    removed: Vec<String>,
}

/// Assemble a preview from the old channel and the new mapping/models (`None`: models unchanged).
fn finish(
    channel: &Channel,
    base: &[(String, String)],
    new_mapping: Vec<(String, String)>,
    models: Option<ModelsChange>,
    pruned: Vec<(String, String)>,
    outcomes: Vec<StandardOutcome>,
    force_mapping_write: bool,
) -> ChannelPreview {
    let changes = diff_mapping(base, &new_mapping);
    let mapping_changed = force_mapping_write || !changes.is_empty();
    let models = models.filter(|m| m.new != channel.models);
    let (new_models, added_models, removed_models) = match models {
        Some(m) => (Some(m.new), m.added, m.removed),
        None => (None, Vec::new(), Vec::new()),
    };
    let update = ChannelUpdate {
        models: new_models,
        mapping: mapping_changed.then(|| new_mapping.clone()),
    };
    ChannelPreview {
        channel_id: channel.id.clone(),
        channel_name: channel.name.clone(),
        status: if update.is_empty() {
            PlanStatus::Unchanged
        } else {
            PlanStatus::Change
        },
        old_models: channel.models.clone(),
        added_models,
        removed_models,
        old_mapping: channel.mapping.clone(),
        new_mapping,
        changes,
        pruned,
        outcomes,
        update,
    }
}

/// `models` plus the `names` not yet listed (appended in order); `None` when all are listed.
fn with_names<'a>(models: &[String], names: impl Iterator<Item = &'a str>) -> Option<ModelsChange> {
    let have: HashSet<&str> = models.iter().map(|m| m.trim()).collect();
    let mut extra: Vec<&str> = Vec::new();
    for n in names {
        if !have.contains(n) && !extra.contains(&n) {
            extra.push(n);
        }
    }
    if extra.is_empty() {
        return None;
    }
    let added: Vec<String> = extra.into_iter().map(str::to_string).collect();
    let mut new = Vec::with_capacity(models.len() + added.len());
    new.extend_from_slice(models);
    new.extend(added.iter().cloned());
    Some(ModelsChange {
        new,
        added,
        removed: Vec::new(),
    })
}

/// Plan a redirect for one channel: match, (optionally) prune, merge, and list the standard names
/// in the channel's models when the site routes only listed names.
///
/// The standard names are added whenever the generated mapping has them and the models list
/// lacks them — also when the mapping itself is unchanged — so a sync that dropped them is
/// repaired on the next run (the anchor loses them for good).
pub fn plan_redirect(
    matcher: &Matcher,
    channel: &Channel,
    caps: &Capabilities,
    site: SiteKind,
    opts: &ApplyOptions,
) -> ChannelPreview {
    if !caps.model_mapping || channel.mapping == Mapping::Unsupported {
        return blocked(channel, BlockReason::NoMappingSupport, no_mapping(site));
    }
    let rules = caps.mapping;
    let actual = actual_models(channel, rules);
    let MatchResult { mapping, outcomes } = matcher.match_models(&actual);
    let (base, replacing_invalid): (Vec<(String, String)>, bool) = match &channel.mapping {
        Mapping::Valid { pairs } => (pairs.clone(), false),
        Mapping::Empty | Mapping::Unsupported => (Vec::new(), false),
        Mapping::Invalid { error, .. } => {
            if mapping.is_empty() {
                // nothing to add: leave the text alone, whatever the flag says
                let mut p = blocked(
                    channel,
                    BlockReason::InvalidMapping,
                    unreadable(error, false),
                );
                p.status = PlanStatus::Unchanged;
                p.outcomes = outcomes;
                p.new_mapping = Vec::new();
                return p;
            }
            if !opts.confirm_overwrite_invalid {
                let mut p = blocked(
                    channel,
                    BlockReason::InvalidMapping,
                    unreadable(error, false),
                );
                p.outcomes = outcomes;
                return p;
            }
            (Vec::new(), true)
        }
    };
    let prune = opts.prune_missing_targets || rules.targets_must_be_listed;
    let (kept, pruned) = if prune && !replacing_invalid {
        prune_missing_targets(rules, &base, &actual)
    } else {
        (base.clone(), Vec::new())
    };
    let merged = merge_mapping(rules, &kept, &mapping);
    let new_models = if caps.aliases_must_be_listed {
        with_names(&channel.models, mapping.iter().map(|(k, _)| k.as_str()))
    } else {
        None
    };
    finish(
        channel,
        &base,
        merged,
        new_models,
        pruned,
        outcomes,
        replacing_invalid,
    )
}

/// Plan for every channel (the caller decides which channels: e.g. skip disabled ones).
pub fn plan_redirect_all(
    matcher: &Matcher,
    channels: &[Channel],
    caps: &Capabilities,
    site: SiteKind,
    opts: &ApplyOptions,
) -> Vec<ChannelPreview> {
    channels
        .iter()
        .map(|c| plan_redirect(matcher, c, caps, site, opts))
        .collect()
}

/// Prune only: drop entries whose target vanished, add nothing.
pub fn plan_prune(channel: &Channel, caps: &Capabilities, site: SiteKind) -> ChannelPreview {
    if !caps.model_mapping || channel.mapping == Mapping::Unsupported {
        return blocked(channel, BlockReason::NoMappingSupport, no_mapping(site));
    }
    let Mapping::Valid { pairs } = &channel.mapping else {
        // empty: nothing to prune; invalid: never touched by prune
        let why = match &channel.mapping {
            Mapping::Invalid { error, .. } => unreadable(error, false),
            _ => ItemReason::Note(ItemNote::NothingToChange {
                op: RedirectKind::Prune,
            }),
        };
        let mut p = blocked(channel, BlockReason::InvalidMapping, why);
        p.status = PlanStatus::Unchanged;
        return p;
    };
    let rules = caps.mapping;
    let (kept, pruned) = prune_missing_targets(rules, pairs, &actual_models(channel, rules));
    finish(channel, pairs, kept, None, pruned, Vec::new(), false)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearOptions {
    pub scope: ClearScope,
    /// Also remove from the models list the standard names whose entries are removed (only
    /// names msync would have added: keys of msync-style entries, on sites where aliases must be
    /// listed).
    #[serde(default)]
    pub remove_added_names: bool,
    /// `ClearScope::All` on an unparseable mapping replaces it with an empty one.
    #[serde(default)]
    pub confirm_overwrite_invalid: bool,
}

/// Plan a bulk clear for one channel.
pub fn plan_clear(
    matcher: &Matcher,
    channel: &Channel,
    caps: &Capabilities,
    site: SiteKind,
    opts: &ClearOptions,
) -> ChannelPreview {
    if !caps.model_mapping || channel.mapping == Mapping::Unsupported {
        return blocked(channel, BlockReason::NoMappingSupport, no_mapping(site));
    }
    let pairs = match &channel.mapping {
        Mapping::Valid { pairs } => pairs,
        Mapping::Empty | Mapping::Unsupported => {
            return finish(
                channel,
                &[],
                Vec::new(),
                None,
                Vec::new(),
                Vec::new(),
                false,
            )
        }
        Mapping::Invalid { error, .. } => {
            return match (opts.scope, opts.confirm_overwrite_invalid) {
                (ClearScope::All, true) => {
                    finish(channel, &[], Vec::new(), None, Vec::new(), Vec::new(), true)
                }
                (ClearScope::All, false) => blocked(
                    channel,
                    BlockReason::InvalidMapping,
                    unreadable(error, true),
                ),
                (ClearScope::Generated, _) => blocked(
                    channel,
                    BlockReason::CannotReadMapping,
                    ItemReason::Review(ReviewReason::MappingUnreadableForGenerated {
                        error: error.clone(),
                    }),
                ),
            };
        }
    };
    let rules = caps.mapping;
    let owned = |k: &str, v: &str| matcher.owns_pair(k, mapping_target(rules, v));
    let (removed, kept): (Pairs, Pairs) =
        pairs.iter().cloned().partition(|(k, v)| match opts.scope {
            ClearScope::All => true,
            ClearScope::Generated => owned(k, v),
        });
    let (kept, stale) = if rules.targets_must_be_listed {
        prune_missing_targets(rules, &kept, &actual_models(channel, rules))
    } else {
        (kept, Vec::new())
    };
    let new_models = if opts.remove_added_names && caps.aliases_must_be_listed {
        let still_used: HashSet<&str> = kept
            .iter()
            .flat_map(|(k, v)| [k.trim(), mapping_target(rules, v)])
            .collect();
        let drop: HashSet<&str> = removed
            .iter()
            .filter(|(k, v)| owned(k, v) && k.trim() != mapping_target(rules, v))
            .map(|(k, _)| k.trim())
            .filter(|k| !still_used.contains(k))
            .collect();
        let (new, removed): (Vec<String>, Vec<String>) = channel
            .models
            .iter()
            .cloned()
            .partition(|m| !drop.contains(m.trim()));
        Some(ModelsChange {
            new,
            added: Vec::new(),
            removed,
        })
    } else {
        None
    };
    finish(channel, pairs, kept, new_models, stale, Vec::new(), false)
}

/// Bulk clear over the selected channels: one preview per channel, in input order.
pub fn plan_clear_all(
    matcher: &Matcher,
    channels: &[Channel],
    caps: &Capabilities,
    site: SiteKind,
    opts: &ClearOptions,
) -> Vec<ChannelPreview> {
    channels
        .iter()
        .map(|c| plan_clear(matcher, c, caps, site, opts))
        .collect()
}

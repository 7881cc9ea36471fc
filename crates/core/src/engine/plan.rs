//! The per-channel decision (`docs/sync.md` §2, steps 2–6) as a pure function, and the plan as a value.

use super::record::ChannelState;
use crate::filter::{normalize, Filters};
use crate::gateway::{unstorable_error, ModelListFormat};
use crate::model::{Channel, ModelPattern};
use crate::reason::{LostRoutes, ReviewReason, SkipReason};
use crate::settings::{SyncMode, SyncSettings};
use std::collections::HashSet;

pub use msync_types::plan::{ChannelPlan, Decision, SyncPlan};

/// Whether `name` matches a gateway's model pattern; `None` when the expression cannot be
/// evaluated here (a syntax the gateway's regex engine has and ours lacks, such as look-arounds).
pub fn pattern_matches(pattern: &ModelPattern, name: &str) -> Option<bool> {
    match pattern {
        ModelPattern::Exact(e) => Some(e == name),
        ModelPattern::Regex(r) => regex_lite::Regex::new(&format!("^(?:{r})$"))
            .ok()
            .map(|re| re.is_match(name)),
    }
}

/// Whether two lists hold the same names (order-insensitive).
pub fn same_set(a: &[String], b: &[String]) -> bool {
    let a: HashSet<&str> = a.iter().map(String::as_str).collect();
    let b: HashSet<&str> = b.iter().map(String::as_str).collect();
    a == b
}

/// What `new` adds to `old` and what it drops from it, each in its own list's order. Hash sets,
/// so 100,000-name lists cost linear time.
pub fn list_diff(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let new_set: HashSet<&str> = new.iter().map(String::as_str).collect();
    let old_set: HashSet<&str> = old.iter().map(String::as_str).collect();
    let added = new
        .iter()
        .filter(|m| !old_set.contains(m.as_str()))
        .cloned()
        .collect();
    let removed = old
        .iter()
        .filter(|m| !new_set.contains(m.as_str()))
        .cloned()
        .collect();
    (added, removed)
}

/// Everything [`plan_channel`] reads besides the channel and the upstream reply.
pub struct PlanRules<'a> {
    pub settings: &'a SyncSettings,
    pub filters: &'a Filters,
    /// [`crate::gateway::Capabilities::aliases_must_be_listed`].
    pub keep_aliases: bool,
    /// The run was confirmed from a dry-run plan: the mass-removal guard is lifted.
    pub confirmed: bool,
    /// [`crate::gateway::Capabilities::model_list`]: names the site cannot store hold the channel.
    pub model_list: ModelListFormat,
}

/// Decide one channel from its upstream reply. Pure; the order of the new list is stable:
/// upstream order, then kept extras (merge/add-only), then pinned models, then routed aliases.
pub fn plan_channel<'a>(
    channel: &'a Channel,
    upstream: &[String],
    rules: &PlanRules<'_>,
) -> ChannelPlan {
    let id = channel.id.0.as_str();
    let cfg = rules.settings.channels.get(id);
    let mode = cfg.map(|c| c.mode).unwrap_or_default();
    let old = normalize(&channel.models);
    let upstream = normalize(upstream);
    let mut new = rules.filters.apply(id, &upstream);
    // The gateway's own sync pattern and ignore list (`docs/gateways.md`): upstream names the
    // gateway would not take are not taken; an ignored name already listed stays.
    let gw = &channel.rules;
    let mut unreadable: Option<&str> = None;
    if gw.only.is_some() || !gw.ignored.is_empty() {
        let listed: HashSet<&str> = old.iter().map(String::as_str).collect();
        new.retain(|m| {
            let mut eval = |p: &'a ModelPattern| {
                pattern_matches(p, m).unwrap_or_else(|| {
                    unreadable.get_or_insert(p.text());
                    false
                })
            };
            let taken = gw.only.as_ref().is_none_or(&mut eval);
            let ignored = !listed.contains(m.as_str()) && gw.ignored.iter().any(&mut eval);
            taken && !ignored
        });
    }
    let mut have: HashSet<String> = new.iter().cloned().collect();
    let mut push = |name: &str, new: &mut Vec<String>| {
        if have.insert(name.to_string()) {
            new.push(name.to_string());
        }
    };
    match mode {
        SyncMode::Replace => {}
        SyncMode::Merge => {
            for m in old.iter().filter(|m| rules.filters.keeps(id, m)) {
                push(m, &mut new);
            }
        }
        SyncMode::AddOnly => {
            for m in &old {
                push(m, &mut new);
            }
        }
    }
    if let Some(cfg) = cfg {
        for m in normalize(&cfg.pinned) {
            push(&m, &mut new);
        }
    }
    // Names the admin added by hand on the gateway stay, whatever the mode.
    for m in normalize(&gw.manual) {
        push(&m, &mut new);
    }
    if rules.keep_aliases {
        // A redirect's request-side name must stay listed or the gateway stops routing it
        // (the anchor drops these on the next sync).
        let listed: HashSet<&str> = old.iter().map(String::as_str).collect();
        for (from, _) in channel.mapping.pairs() {
            let from = from.trim();
            if listed.contains(from) {
                push(from, &mut new);
            }
        }
    }
    let unstorable = rules.model_list.unstorable(&new);
    if !unstorable.is_empty() {
        // Written, the site would split these names into others (`x,o1-pro` → `o1-pro`, which
        // a rule may exclude) and every later run would write again: hold the channel whole.
        let error = unstorable_error(&unstorable);
        let mut plan = ChannelPlan::without_change(channel, Decision::Failed { error });
        plan.upstream_count = upstream.len();
        return plan;
    }
    let (added, removed) = list_diff(&old, &new);
    let allow_empty = rules.settings.allow_empty_for(id);
    let threshold = u64::from(rules.settings.removal_threshold_pct);
    let routes_lost: Vec<LostRoutes> = if rules.confirmed || removed.is_empty() {
        Vec::new()
    } else {
        let gone: HashSet<&str> = removed.iter().map(String::as_str).collect();
        gw.routed
            .iter()
            .filter(|r| gone.contains(r.model.trim()))
            .map(|r| LostRoutes {
                model: r.model.trim().to_string(),
                routes: r.routes.clone(),
            })
            .collect()
    };
    let decision = if let Some(pattern) = unreadable {
        Decision::Skip {
            reason: SkipReason::PatternUnreadable {
                pattern: pattern.to_string(),
            },
        }
    } else if added.is_empty() && removed.is_empty() {
        Decision::Unchanged
    } else if upstream.is_empty() && !old.is_empty() && !allow_empty {
        Decision::Skip {
            reason: SkipReason::EmptyUpstream { kept: old.len() },
        }
    } else if new.is_empty() && !old.is_empty() && !allow_empty {
        Decision::Skip {
            reason: SkipReason::FilteredEmpty {
                upstream: upstream.len(),
                kept: old.len(),
            },
        }
    } else if !routes_lost.is_empty() {
        Decision::NeedsReview {
            reason: ReviewReason::RoutesLost {
                routes: routes_lost,
            },
        }
    } else if !rules.confirmed && (removed.len() as u64) * 100 > threshold * old.len() as u64 {
        Decision::NeedsReview {
            reason: ReviewReason::OverThreshold {
                removed: removed.len(),
                total: old.len(),
                threshold: rules.settings.removal_threshold_pct,
            },
        }
    } else {
        Decision::Write
    };
    ChannelPlan {
        channel_id: channel.id.clone(),
        channel_name: channel.name.clone(),
        before: ChannelState {
            models: channel.models.clone(),
            mapping: channel.mapping.clone(),
        },
        new,
        added,
        removed,
        upstream_count: upstream.len(),
        decision,
        price: None,
        probes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{FilterAction, Rule};
    use crate::model::{ChannelId, Mapping};
    use crate::settings::ChannelConfig;

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn channel(models: &[&str], mapping: &[(&str, &str)]) -> Channel {
        Channel {
            id: ChannelId("1".into()),
            name: "one".into(),
            enabled: true,
            channel_type: "1".into(),
            upstream_base_url: None,
            models: v(models),
            mapping: if mapping.is_empty() {
                Mapping::Empty
            } else {
                Mapping::Valid {
                    pairs: mapping
                        .iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect(),
                }
            },
            tag: None,
            rules: Default::default(),
        }
    }

    struct Row {
        name: &'static str,
        old: Vec<&'static str>,
        mapping: Vec<(&'static str, &'static str)>,
        upstream: Vec<&'static str>,
        cfg: ChannelConfig,
        keep_aliases: bool,
        confirmed: bool,
        want_new: Vec<&'static str>,
        want: &'static str,
    }

    fn row(
        name: &'static str,
        old: &[&'static str],
        upstream: &[&'static str],
        want_new: &[&'static str],
        want: &'static str,
    ) -> Row {
        Row {
            name,
            old: old.to_vec(),
            mapping: vec![],
            upstream: upstream.to_vec(),
            cfg: ChannelConfig::default(),
            keep_aliases: true,
            confirmed: false,
            want_new: want_new.to_vec(),
            want,
        }
    }

    #[test]
    fn decisions_table() {
        let mut rows = vec![
            row("replace adds", &["a"], &["a", "b"], &["a", "b"], "write"),
            row(
                "reordered is unchanged",
                &["b", "a"],
                &["a", "b", " a "],
                &["a", "b"],
                "unchanged",
            ),
            row("empty reply guarded", &["a", "b"], &[], &[], "skip"),
            row("blank reply guarded", &["a"], &["  ", ""], &[], "skip"),
            row("empty channel stays empty", &[], &[], &[], "unchanged"),
            row(
                "half removal passes",
                &["a", "b", "c", "d"],
                &["a", "b", "x"],
                &["a", "b", "x"],
                "write",
            ),
            row(
                "mass removal held",
                &["a", "b", "c", "d"],
                &["a", "x"],
                &["a", "x"],
                "review",
            ),
            row("first fill", &[], &["a", "b"], &["a", "b"], "write"),
        ];
        let mut r = row(
            "confirmed mass removal",
            &["a", "b", "c", "d"],
            &["a"],
            &["a"],
            "write",
        );
        r.confirmed = true;
        rows.push(r);
        let mut r = row(
            "allow empty still passes the removal guard",
            &["a"],
            &[],
            &[],
            "review",
        );
        r.cfg.allow_empty = Some(true);
        rows.push(r);
        let mut r = row("allow empty, confirmed", &["a"], &[], &[], "write");
        r.cfg.allow_empty = Some(true);
        r.confirmed = true;
        rows.push(r);
        let mut r = row(
            "merge keeps extras after upstream",
            &["z", "a"],
            &["b", "a"],
            &["b", "a", "z"],
            "write",
        );
        r.cfg.mode = SyncMode::Merge;
        rows.push(r);
        let mut r = row(
            "merge still filters extras",
            &["z", "bad-1", "a"],
            &["a"],
            &["a", "z"],
            "write",
        );
        r.cfg.mode = SyncMode::Merge;
        r.cfg.rules = vec![Rule::substring("bad", FilterAction::Exclude)];
        rows.push(r);
        let mut r = row(
            "add-only never removes",
            &["z", "bad-1"],
            &["a"],
            &["a", "z", "bad-1"],
            "write",
        );
        r.cfg.mode = SyncMode::AddOnly;
        r.cfg.rules = vec![Rule::substring("bad", FilterAction::Exclude)];
        rows.push(r);
        let mut r = row(
            "add-only with empty reply is unchanged",
            &["z"],
            &[],
            &["z"],
            "unchanged",
        );
        r.cfg.mode = SyncMode::AddOnly;
        rows.push(r);
        let mut r = row(
            "pinned kept",
            &["a", "mine"],
            &["a", "b"],
            &["a", "b", "mine"],
            "write",
        );
        r.cfg.pinned = vec!["mine".into(), " ".into()];
        rows.push(r);
        let mut r = row("filters empty everything", &["a"], &["x"], &[], "skip");
        r.cfg.rules = vec![Rule::substring("x", FilterAction::Exclude)];
        rows.push(r);
        let mut r = row(
            "routed alias survives",
            &["gpt-4o", "openai/gpt-4o"],
            &["openai/gpt-4o", "o1"],
            &["openai/gpt-4o", "o1", "gpt-4o"],
            "write",
        );
        r.mapping = vec![("gpt-4o", "openai/gpt-4o")];
        rows.push(r);
        let mut r = row(
            "alias not listed is not added",
            &["openai/gpt-4o"],
            &["openai/gpt-4o", "o1"],
            &["openai/gpt-4o", "o1"],
            "write",
        );
        r.mapping = vec![("gpt-4o", "openai/gpt-4o")];
        rows.push(r);
        let mut r = row(
            "aliases not kept where the site does not need them",
            &["gpt-4o", "x"],
            &["x", "y"],
            &["x", "y"],
            "write",
        );
        r.mapping = vec![("gpt-4o", "x")];
        r.keep_aliases = false;
        rows.push(r);

        for r in rows {
            let mut settings = SyncSettings::default();
            settings.channels.insert("1".into(), r.cfg.clone());
            let filters = Filters::compile(&settings).unwrap();
            let rules = PlanRules {
                settings: &settings,
                filters: &filters,
                keep_aliases: r.keep_aliases,
                confirmed: r.confirmed,
                model_list: ModelListFormat::CommaJoined,
            };
            let ch = channel(&r.old, &r.mapping);
            let p = plan_channel(&ch, &v(&r.upstream), &rules);
            let got = match &p.decision {
                Decision::Write => "write",
                Decision::Unchanged => "unchanged",
                Decision::Skip { .. } => "skip",
                Decision::NeedsReview { .. } => "review",
                Decision::Failed { .. } => "failed",
            };
            assert_eq!(got, r.want, "{}: {:?}", r.name, p.decision);
            if r.want != "skip" {
                assert_eq!(p.new, v(&r.want_new), "{}", r.name);
            }
            for a in &p.added {
                assert!(!r.old.contains(&a.as_str()), "{}", r.name);
            }
        }
    }

    fn plan_with(ch: &Channel, upstream: &[&str], confirmed: bool) -> ChannelPlan {
        let settings = SyncSettings::default();
        let filters = Filters::compile(&settings).unwrap();
        let rules = PlanRules {
            settings: &settings,
            filters: &filters,
            keep_aliases: false,
            confirmed,
            model_list: ModelListFormat::List,
        };
        plan_channel(ch, &v(upstream), &rules)
    }

    #[test]
    fn hand_added_models_and_the_gateway_pattern_are_obeyed() {
        // AxonHub: manualModels stay in replace mode; ids outside autoSyncModelPattern are not added.
        let mut ch = channel(&["gpt-4o", "my-finetune"], &[]);
        ch.rules.manual = v(&["my-finetune"]);
        ch.rules.only = Some(ModelPattern::Regex("gpt-.*".into()));
        let p = plan_with(&ch, &["gpt-4o", "gpt-5", "claude-3"], false);
        assert_eq!(p.decision, Decision::Write);
        assert_eq!(p.new, v(&["gpt-4o", "gpt-5", "my-finetune"]));
        assert!(p.removed.is_empty(), "{:?}", p.removed);

        // An exact pattern (no regex characters) takes that one name.
        ch.rules.only = Some(ModelPattern::Exact("gpt-5".into()));
        let p = plan_with(&ch, &["gpt-4o", "gpt-5"], false);
        assert_eq!(p.new, v(&["gpt-5", "my-finetune"]));

        // A pattern our regex engine cannot read: nothing is decided from a guess.
        ch.rules.only = Some(ModelPattern::Regex("(?!o1).*".into()));
        let p = plan_with(&ch, &["gpt-4o", "o1"], false);
        let Decision::Skip { reason } = &p.decision else {
            panic!("{:?}", p.decision)
        };
        assert!(reason.to_string().contains("(?!o1).*"), "{reason}");
    }

    #[test]
    fn ignored_upstream_names_are_not_added_but_listed_ones_stay() {
        // New API upstream_model_update_ignored_models, exact and regex: entries.
        let mut ch = channel(&["a", "old-x"], &[]);
        ch.rules.ignored = vec![
            ModelPattern::Exact("b".into()),
            ModelPattern::Regex("old-.*".into()),
        ];
        let p = plan_with(&ch, &["a", "b", "c", "old-x", "old-y"], false);
        assert_eq!(p.new, v(&["a", "c", "old-x"]));
    }

    #[test]
    fn removing_a_routed_model_is_held_with_the_routes_named() {
        use crate::model::RoutedModel;
        let mut ch = channel(&["a", "b", "c", "d", "e"], &[]);
        ch.rules.routed = vec![RoutedModel {
            model: "e".into(),
            routes: v(&["fast", "gpt-e"]),
        }];
        let p = plan_with(&ch, &["a", "b", "c", "d"], false);
        let Decision::NeedsReview { reason } = &p.decision else {
            panic!("{:?}", p.decision)
        };
        assert!(reason.to_string().contains("e (fast, gpt-e)"), "{reason}");
        // A removal no route depends on passes; a confirmed plan writes.
        let p = plan_with(&ch, &["a", "b", "c", "e"], false);
        assert_eq!(p.decision, Decision::Write);
        let p = plan_with(&ch, &["a", "b", "c", "d"], true);
        assert_eq!(p.decision, Decision::Write);
    }

    #[test]
    fn a_name_the_site_would_split_holds_the_channel() {
        // Upstream `gpt-4o,o1-pro` passes an exclude rule for `o1-pro`; written, a comma-joined
        // site would store `o1-pro` after all, and every later run would write again.
        let settings = SyncSettings {
            rules: vec![Rule::new(
                crate::filter::RuleKind::Regex,
                "^o1-pro$",
                FilterAction::Exclude,
            )],
            ..SyncSettings::default()
        };
        let filters = Filters::compile(&settings).unwrap();
        let ch = channel(&["gpt-4o"], &[]);
        for (format, held) in [
            (ModelListFormat::CommaJoined, true),
            (ModelListFormat::CommaJoinedTrimmed, true),
            (ModelListFormat::List, false),
        ] {
            let rules = PlanRules {
                settings: &settings,
                filters: &filters,
                keep_aliases: true,
                confirmed: false,
                model_list: format,
            };
            let p = plan_channel(&ch, &v(&["gpt-4o,o1-pro", "o1-pro", "gpt-4o"]), &rules);
            if !held {
                assert_eq!(p.decision, Decision::Write, "{format:?}");
                continue;
            }
            let Decision::Failed { error } = &p.decision else {
                panic!("{format:?}: {:?}", p.decision)
            };
            assert_eq!(error.class, crate::error::ErrorClass::Validation);
            assert!(!error.retryable);
            assert!(
                error.message.contains("\"gpt-4o,o1-pro\""),
                "{}",
                error.message
            );
            assert_eq!(p.new, v(&["gpt-4o"]), "nothing changes");
            assert!(p.added.is_empty() && p.removed.is_empty());
            assert_eq!(p.upstream_count, 3);
        }
    }

    #[test]
    fn review_reason_states_numbers() {
        let settings = SyncSettings::default();
        let filters = Filters::compile(&settings).unwrap();
        let rules = PlanRules {
            settings: &settings,
            filters: &filters,
            keep_aliases: false,
            confirmed: false,
            model_list: ModelListFormat::CommaJoined,
        };
        let p = plan_channel(&channel(&["a", "b", "c"], &[]), &v(&["x"]), &rules);
        let Decision::NeedsReview { reason } = p.decision else {
            panic!("{:?}", p.decision)
        };
        assert!(
            reason.to_string().contains("remove 3 of 3 models (100%)"),
            "{reason}"
        );
        assert_eq!(p.removed, v(&["a", "b", "c"]));
        assert_eq!(p.added, v(&["x"]));
    }
}

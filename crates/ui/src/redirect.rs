//! Model redirect: standard models (presets + free text), aliases, a preview with the reason per
//! standard model, apply, prune, and bulk clear (channel selection + a second confirmation).
//! The worker plans everything; this screen shows its previews and sends the admin's choices.

use crate::api;
use crate::common::*;
use crate::format::fill;
use crate::i18n::{lookup, Lang};
use crate::options::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::model::{Channel, ChannelId, SiteId};
use msync_types::protocol::{Command, Reply};
use msync_types::redirect::{Alias, MatchRule, Outcome, PresetInfo, RedirectSettings};
use msync_types::redirect::{ChannelPreview, ClearScope, PlanStatus};
use msync_types::redirect::{RedirectOp, RedirectPreview};
use msync_types::settings::SyncSettings;
use std::collections::HashSet;

#[component]
pub fn RedirectScreen() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let lang = app().lang;
    let site = Signal::derive(move || SiteId(shell.site.get().unwrap_or_default()));
    let settings = RwSignal::new(None::<SyncSettings>);
    let presets = RwSignal::new(Vec::<PresetInfo>::new());
    let channels = RwSignal::new(Vec::<Channel>::new());
    let preview = RwSignal::new(None::<RedirectPreview>);
    let picked = RwSignal::new(HashSet::<String>::new());
    let notice = RwSignal::new(Notice::None);
    let clear_dialog = RwSignal::new(false);
    let confirm_clear = RwSignal::new(false);
    let supported = move || {
        shell
            .current()
            .and_then(|s| s.capabilities)
            .map(|c| c.model_mapping)
            .unwrap_or(true)
    };
    Effect::new(move |_| {
        let site = site.get();
        preview.set(None);
        spawn_local(async move {
            if let Reply::Presets { presets: p } = api::call(&Command::ListPresets).await {
                presets.set(p);
            }
            match api::call(&Command::GetSettings { site: site.clone() }).await {
                Reply::Settings { settings: s } => settings.set(Some(s)),
                other => notice.set(Notice::Error(Said::reply(other))),
            }
            if let Reply::Channels { channels: c } =
                api::call(&Command::ListChannels { site }).await
            {
                channels.set(c);
            }
        });
    });
    let rs = move || settings.with(|s| s.as_ref().map(|s| s.redirect.clone()).unwrap_or_default());
    let edit = move |f: Box<dyn Fn(&mut RedirectSettings)>| {
        settings.update(|s| {
            if let Some(s) = s {
                f(&mut s.redirect)
            }
        })
    };
    let show = move |r: Reply| match r {
        Reply::RedirectPreview { preview: p } => {
            picked.set(HashSet::new());
            confirm_clear.set(false);
            notice.set(Notice::None);
            preview.set(Some(p));
        }
        other => notice.set(Notice::Error(Said::reply(other))),
    };
    // Created here, not inside the dialog: the dialog (and what it owns) is gone when the reply
    // arrives.
    let show_cb = Callback::new(show);
    let run_preview = move |_| {
        let (site, s) = (site.get_untracked(), rs());
        spawn_local(async move {
            show(
                api::call(&Command::PreviewRedirect {
                    site,
                    channels: None,
                    settings: Some(s),
                    confirm_overwrite_invalid: false,
                })
                .await,
            )
        });
    };
    let run_prune = move |_| {
        let site = site.get_untracked();
        spawn_local(async move {
            show(
                api::call(&Command::PreviewPrune {
                    site,
                    channels: None,
                })
                .await,
            )
        });
    };
    let save = move |_| {
        let (site, Some(s)) = (site.get_untracked(), settings.get_untracked()) else {
            return;
        };
        spawn_local(async move {
            match api::call(&Command::SaveSettings { site, settings: s }).await {
                Reply::Settings { .. } | Reply::Ok => {
                    notice.set(Notice::Ok(Said::key("set.saved")))
                }
                other => notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    view! {
        <section>
            <h2>{tr("nav.redirect")}</h2>
            <p class="muted">{tr("rd.subtitle")}</p>
            {move || (!supported()).then(|| view! { <p class="notice warn" role="note">{tr("rd.octopus")}</p> })}
            <fieldset>
                <legend>{tr("rd.standard")}</legend>
                <label class="check">
                    <input type="checkbox" prop:checked=move || rs().enabled on:change=move |ev| { let v = event_target_checked(&ev); edit(Box::new(move |r| r.enabled = v)) } />
                    <span>{tr("rd.enabled")}</span>
                </label>
                <div class="presets" data-testid="presets">
                    {move || presets.get().into_iter().map(|p| {
                        let id = p.id.clone();
                        let id2 = p.id.clone();
                        let title = p.models.join(", ");
                        view! {
                            <label class="check preset" title=title>
                                <input type="checkbox" prop:checked=move || rs().presets.contains(&id)
                                    on:change=move |ev| { let on = event_target_checked(&ev); let id = id2.clone(); edit(Box::new(move |r| { r.presets.retain(|x| x != &id); if on { r.presets.push(id.clone()) } })) } />
                                <span>{p.vendor.clone()}" "<span class="muted small">{format!("({})", p.models.len())}</span></span>
                            </label>
                        }
                    }).collect_view()}
                </div>
                <label class="field">
                    <span>{tr("rd.own_models")}</span>
                    <textarea rows="3" data-testid="standard-models" prop:value=move || rs().standard_models.join("\n")
                        on:change=move |ev| { let v: Vec<String> = event_target_value(&ev).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect(); edit(Box::new(move |r| r.standard_models = v.clone())) }></textarea>
                    <span class="hint">{tr("rd.own_hint")}</span>
                </label>
                <h4>{tr("rd.aliases")}</h4>
                <AliasTable rs=Signal::derive(rs) set=Callback::new(move |a: Vec<Alias>| edit(Box::new(move |r| r.aliases = a.clone()))) />
                <label class="check">
                    <input type="checkbox" prop:checked=move || rs().matching.allow_dated_targets on:change=move |ev| { let v = event_target_checked(&ev); edit(Box::new(move |r| r.matching.allow_dated_targets = v)) } />
                    <span>{tr("rd.dated")}</span>
                </label>
                <label class="check">
                    <input type="checkbox" prop:checked=move || rs().prune_missing_targets on:change=move |ev| { let v = event_target_checked(&ev); edit(Box::new(move |r| r.prune_missing_targets = v)) } />
                    <span>{tr("rd.prune_after")}</span>
                </label>
                <div class="row"><button class="primary" data-testid="save-redirect" on:click=save>{tr("common.save")}</button></div>
            </fieldset>
            <div class="actionbar">
                <button class="primary" data-testid="preview-redirect" disabled=move || !supported() on:click=run_preview>{tr("rd.preview")}</button>
                <button data-testid="preview-prune" disabled=move || !supported() on:click=run_prune>{tr("rd.prune")}</button>
                <button data-testid="bulk-clear" disabled=move || !supported() on:click=move |_| clear_dialog.set(true)>{tr("rd.clear")}</button>
            </div>
            <NoticeLine notice=notice />
            {move || clear_dialog.get().then(|| view! { <ClearDialog channels=channels site=site open=clear_dialog show=show_cb /> })}
            {move || preview.get().map(|p| {
                let is_clear = matches!(p.op, RedirectOp::Clear { .. });
                let op_id = match p.op {
                    RedirectOp::Redirect { .. } => "rd.op_redirect",
                    RedirectOp::Prune => "rd.op_prune",
                    RedirectOp::Clear { .. } => "rd.op_clear",
                };
                let id = p.id.clone();
                let n_change = p.totals.change;
                let apply = move |_| {
                    if is_clear && !confirm_clear.get_untracked() {
                        confirm_clear.set(true);
                        return;
                    }
                    let sel = picked.get_untracked();
                    let channels = (!sel.is_empty()).then(|| sel.into_iter().map(ChannelId).collect());
                    let cmd = Command::ApplyRedirect { site: site.get_untracked(), preview: id.clone(), channels, confirm_overwrite_invalid: false, confirm_clear: is_clear, force: false };
                    confirm_clear.set(false);
                    send_then(cmd, notice, "rd.applying");
                };
                view! {
                    <div class="card" data-testid="redirect-preview">
                        <div class="row">
                            <h3>{tr("rd.preview_title")}" — "{tr(op_id)}</h3>
                            <span class="muted">{move || fill(lookup(lang.get(), "rd.totals"), &[&p.totals.change, &p.totals.unchanged, &p.totals.blocked, &p.totals.keys_set, &p.totals.keys_removed])}</span>
                        </div>
                        <div class="row">
                            <button class="primary" class:danger=move || confirm_clear.get() data-testid="apply-redirect" disabled=move || n_change == 0 on:click=apply>
                                {move || if confirm_clear.get() { fill(lookup(lang.get(), "rd.confirm_clear"), &[&picked.with(|s| if s.is_empty() { n_change } else { s.len() })]) }
                                         else if picked.with(|s| s.is_empty()) { fill(lookup(lang.get(), "plan.apply_all"), &[&n_change]) }
                                         else { fill(lookup(lang.get(), "plan.apply_selected"), &[&picked.with(|s| s.len())]) }}
                            </button>
                            <span class="muted small">{tr("rd.revertable")}</span>
                        </div>
                        <div class="tablewrap">
                            <table class="results" data-testid="redirect-table">
                                <thead><tr>
                                    <th class="sel"></th><th>{tr("col.status")}</th><th>{tr("col.name")}</th>
                                    <th>{tr("rd.mapping_changes")}</th><th>{tr("rd.reasons")}</th>
                                </tr></thead>
                                <tbody>
                                    {p.channels.into_iter().map(|c| view! { <PreviewRow c=c picked=picked /> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    </div>
                }
            })}
        </section>
    }
}

#[component]
fn PreviewRow(c: ChannelPreview, picked: RwSignal<HashSet<String>>) -> impl IntoView {
    let lang = app().lang;
    let id = c.channel_id.0.clone();
    let id2 = id.clone();
    let (status_cls, status_id, blocked) = match &c.status {
        PlanStatus::Change => ("st-success", "rd.change", None),
        PlanStatus::Unchanged => ("st-unchanged", "status.unchanged", None),
        PlanStatus::Blocked { why, .. } => ("st-needs_review", "rd.blocked", Some(why.clone())),
    };
    let can_pick = matches!(c.status, PlanStatus::Change);
    let changes = c
        .changes
        .iter()
        .map(|m| {
            let text = match (&m.old, &m.new) {
                (None, Some(n)) => format!("+ {} → {n}", m.key),
                (Some(o), None) => format!("− {} → {o}", m.key),
                (Some(o), Some(n)) => format!("~ {}: {o} → {n}", m.key),
                (None, None) => m.key.clone(),
            };
            let cls = if m.new.is_none() { "removed" } else { "added" };
            view! { <li class=cls>{text}</li> }
        })
        .collect_view();
    // Mapped standard models first: they are what the write does.
    let mut outcomes: Vec<_> = c.outcomes.iter().collect();
    outcomes.sort_by_key(|o| o.outcome.target().is_none());
    let mapped = c
        .outcomes
        .iter()
        .filter(|o| o.outcome.target().is_some())
        .count();
    let reasons = outcomes
        .into_iter()
        .map(|o| {
            let outcome = o.outcome.clone();
            view! { <li><code>{o.standard.clone()}</code>": "{move || outcome_text(lang.get(), &outcome)}</li> }
        })
        .collect_view();
    view! {
        <tr data-testid="redirect-row" data-channel=c.channel_id.0.clone()>
            <td class="sel">{can_pick.then(|| view! {
                <input type="checkbox" aria-label=c.channel_name.clone() prop:checked=move || picked.with(|s| s.contains(&id))
                    on:change=move |_| { let id = id2.clone(); picked.update(|s| if !s.remove(&id) { s.insert(id); }) } />
            })}</td>
            <td><span class=format!("badge {status_cls}")>{tr(status_id)}</span>{blocked.map(|why| view! { <div class="small muted">{move || crate::reasons::item_reason_text(lang.get(), &why)}</div> })}</td>
            <td class="name">{c.channel_name.clone()}<div class="muted small mono">"#"{c.channel_id.0.clone()}</div></td>
            <td><ul class="models">{changes}</ul></td>
            <td><details><summary class="small">{move || fill(lookup(lang.get(), "rd.mapped_of"), &[&mapped, &c.outcomes.len()])}</summary><ul class="reasons small">{reasons}</ul></details></td>
        </tr>
    }
}

#[component]
fn AliasTable(rs: Signal<RedirectSettings>, set: Callback<Vec<Alias>>) -> impl IntoView {
    let lang = app().lang;
    let change = move |i: usize, name: Option<String>, pattern: Option<String>| {
        let mut list = rs.get_untracked().aliases;
        if let Some(a) = list.get_mut(i) {
            if let Some(n) = name {
                a.name = n;
            }
            if let Some(p) = pattern {
                a.pattern = p;
            }
        }
        set.run(list);
    };
    view! {
        <div class="rules" data-testid="aliases">
            {move || rs.get().aliases.into_iter().enumerate().map(|(i, a)| view! {
                <div class="rule">
                    <input type="text" aria-label=tr("rd.alias_name") placeholder=move || lookup(lang.get(), "rd.alias_name") prop:value=a.name.clone()
                        on:change=move |ev| change(i, Some(event_target_value(&ev)), None) />
                    <span aria-hidden="true">"→"</span>
                    <input type="text" class="grow" aria-label=tr("rd.alias_pattern") placeholder=move || lookup(lang.get(), "rd.alias_pattern") prop:value=a.pattern.clone()
                        on:change=move |ev| change(i, None, Some(event_target_value(&ev))) />
                    <button type="button" class="small" on:click=move |_| { let mut l = rs.get_untracked().aliases; if i < l.len() { l.remove(i); } set.run(l); }>{tr("common.remove")}</button>
                </div>
            }).collect_view()}
            <button type="button" class="small" on:click=move |_| { let mut l = rs.get_untracked().aliases; l.push(Alias { name: String::new(), pattern: String::new() }); set.run(l); }>{tr("rd.add_alias")}</button>
        </div>
    }
}

/// Choose channels and scope for a bulk clear; the preview comes next, the apply needs a second
/// click.
#[component]
fn ClearDialog(
    channels: RwSignal<Vec<Channel>>,
    site: Signal<SiteId>,
    open: RwSignal<bool>,
    show: Callback<Reply>,
) -> impl IntoView {
    let chosen = RwSignal::new(HashSet::<String>::new());
    let scope_all = RwSignal::new(false);
    let remove_names = RwSignal::new(false);
    let lang = app().lang;
    let preview = move |_| {
        let sel = chosen.get_untracked();
        let cmd = Command::PreviewClear {
            site: site.get_untracked(),
            channels: (!sel.is_empty()).then(|| sel.into_iter().map(ChannelId).collect()),
            scope: if scope_all.get_untracked() {
                ClearScope::All
            } else {
                ClearScope::Generated
            },
            remove_added_names: remove_names.get_untracked(),
            confirm_overwrite_invalid: false,
        };
        spawn_local(async move {
            let reply = api::call(&cmd).await;
            open.set(false);
            show.run(reply)
        });
    };
    view! {
        <Dialog labelledby="clear-title" testid="clear-dialog" on_close=move |_| open.set(false)>
            <h3 id="clear-title">{tr("rd.clear")}</h3>
            <p class="muted">{tr("rd.clear_body")}</p>
            <label class="check"><input type="radio" name="scope" prop:checked=move || !scope_all.get() on:change=move |_| scope_all.set(false) />{tr("rd.scope_generated")}</label>
            <label class="check"><input type="radio" name="scope" prop:checked=move || scope_all.get() on:change=move |_| scope_all.set(true) />{tr("rd.scope_all")}</label>
            <label class="check"><input type="checkbox" prop:checked=move || remove_names.get() on:change=move |ev| remove_names.set(event_target_checked(&ev)) />{tr("rd.remove_names")}</label>
            <p class="small">{move || fill(lookup(lang.get(), "rd.clear_selected"), &[&chosen.with(|s| s.len())])}</p>
            <div class="clearlist">
                {move || channels.get().into_iter().map(|c| {
                    let id = c.id.0.clone();
                    let id2 = id.clone();
                    view! {
                        <label class="check"><input type="checkbox" prop:checked=move || chosen.with(|s| s.contains(&id))
                            on:change=move |_| { let id = id2.clone(); chosen.update(|s| if !s.remove(&id) { s.insert(id); }) } />
                            {format!("#{} {}", c.id.0, c.name)}</label>
                    }
                }).collect_view()}
            </div>
            <div class="row">
                <button class="primary" data-testid="preview-clear" on:click=preview>{tr("rd.preview_clear")}</button>
                <button on:click=move |_| open.set(false)>{tr("common.cancel")}</button>
            </div>
        </Dialog>
    }
}

/// Why a standard model was or was not mapped, in the page's language (the CLI and exports use
/// `Outcome::describe`, in English).
fn outcome_text(lang: Lang, o: &Outcome) -> String {
    let t = |id: &'static str| lookup(lang, id);
    let list = |v: &[String]| v.join(", ");
    match o {
        Outcome::Mapped { target, rule } => match rule {
            MatchRule::SameKey => fill(t("rd.why_same_key"), &[target]),
            MatchRule::ExactSnapshot => fill(t("rd.why_snapshot"), &[target]),
            MatchRule::Alias { pattern } => fill(t("rd.why_alias"), &[target, pattern]),
        },
        Outcome::DatedFallback { target, date } => fill(t("rd.why_dated"), &[target, date]),
        Outcome::AlreadyPresent => t("rd.why_present").to_string(),
        Outcome::NoCandidate => t("rd.why_none").to_string(),
        Outcome::OnlyOtherVersions { models, total } => {
            let more = total.saturating_sub(models.len());
            let tail = if more > 0 {
                fill(t("rd.why_more"), &[&more])
            } else {
                String::new()
            };
            fill(t("rd.why_versions"), &[&list(models), &tail])
        }
        Outcome::TakenByOther { candidates, by } => {
            fill(t("rd.why_taken"), &[&list(candidates), &list(by)])
        }
        Outcome::DatedFallbackDisabled { candidates } => {
            fill(t("rd.why_dated_off"), &[&list(candidates)])
        }
        Outcome::InvalidName { reason } => fill(t("rd.why_invalid"), &[reason]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_the_same_as_the_cli_in_english_and_are_translated() {
        let samples = [
            Outcome::Mapped {
                target: "openai/gpt-4o".into(),
                rule: MatchRule::SameKey,
            },
            Outcome::Mapped {
                target: "m".into(),
                rule: MatchRule::Alias {
                    pattern: "gpt-4o*".into(),
                },
            },
            Outcome::AlreadyPresent,
            Outcome::NoCandidate,
            Outcome::OnlyOtherVersions {
                models: vec!["gpt-4.1".into(), "gpt-4.5".into()],
                total: 5,
            },
            Outcome::OnlyOtherVersions {
                models: vec!["gpt-4.1".into()],
                total: 1,
            },
            Outcome::TakenByOther {
                candidates: vec!["a".into()],
                by: vec!["b".into(), "c".into()],
            },
            Outcome::DatedFallbackDisabled {
                candidates: vec!["x-20250101".into()],
            },
            Outcome::InvalidName {
                reason: "empty name".into(),
            },
        ];
        for o in &samples {
            assert_eq!(outcome_text(Lang::En, o), o.describe(), "{o:?}");
            let zh = outcome_text(Lang::Zh, o);
            assert!(!zh.contains('{'), "{zh}");
            assert!(zh.chars().any(|c| c > '\u{2e80}'), "not translated: {zh}");
        }
    }
}

//! Settings: every field of `SyncSettings` with its default and range, the worker's validation
//! messages next to the field, global rules and per-channel configuration.

use crate::api;
use crate::common::*;
use crate::format::fill;
use crate::i18n::lookup;
use crate::options::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::filter::{FilterAction, Rule, RuleKind};
use msync_types::model::{Channel, SiteId};
use msync_types::protocol::{Command, Reply};
use msync_types::settings::{
    ChannelConfig, LimitScope, SettingsIssue, SiteDefaults, SyncMode, SyncSettings,
};

type Issues = RwSignal<Vec<SettingsIssue>>;

fn issue_for(issues: Issues, field: &str) -> Option<String> {
    issues.with(|list| {
        list.iter()
            .find(|i| i.field == field)
            .map(|i| crate::reasons::issue_text(app().lang.get(), i))
    })
}

#[component]
fn FieldIssue(issues: Issues, #[prop(into)] field: String) -> impl IntoView {
    move || {
        issue_for(issues, &field)
            .map(|m| view! { <span class="field-error" role="alert" data-testid="field-error">{m}</span> })
    }
}

/// A whole-number input with its default (the site type's, [`SyncSettings::for_site`]) and range
/// shown under it.
#[component]
fn NumField(
    label: &'static str,
    field: &'static str,
    min: u64,
    max: u64,
    default: Signal<u64>,
    #[prop(optional)] unit: &'static str,
    get: Signal<u64>,
    set: Callback<u64>,
    issues: Issues,
) -> impl IntoView {
    let lang = app().lang;
    let local = RwSignal::new(None::<String>);
    let on_change = move |ev: leptos::ev::Event| match event_target_value(&ev).trim().parse::<u64>()
    {
        Ok(v) => {
            local.set(None);
            set.run(v)
        }
        Err(_) => local.set(Some(
            lookup(lang.get_untracked(), "set.whole_number").into(),
        )),
    };
    view! {
        <label class="field">
            <span>{tr(label)}</span>
            <input
                type="number"
                data-field=field
                prop:value=move || get.get().to_string()
                on:change=on_change
            />
            <span class="hint">{move || fill(lookup(lang.get(), "set.range"), &[&default.get(), &min, &max, &unit])}</span>
            {move || local.get().map(|m| view! { <span class="field-error" role="alert">{m}</span> })}
            <FieldIssue issues=issues field=field />
        </label>
    }
}

#[component]
fn CheckField(label: &'static str, get: Signal<bool>, set: Callback<bool>) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" prop:checked=move || get.get() on:change=move |ev| set.run(event_target_checked(&ev)) />
            <span>{tr(label)}</span>
        </label>
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[component]
pub fn SettingsScreen() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let s = RwSignal::new(None::<SyncSettings>);
    let issues: Issues = RwSignal::new(Vec::new());
    let notice = RwSignal::new(Notice::None);
    let channels = RwSignal::new(Vec::<Channel>::new());
    let site = Signal::derive(move || SiteId(shell.site.get().unwrap_or_default()));
    Effect::new(move |_| {
        let site = site.get();
        spawn_local(async move {
            match api::call(&Command::GetSettings { site: site.clone() }).await {
                Reply::Settings { settings } => s.set(Some(settings)),
                other => notice.set(Notice::Error(Said::reply(other))),
            }
            if let Reply::Channels { channels: list } =
                api::call(&Command::ListChannels { site }).await
            {
                channels.set(list);
            }
        });
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(settings) = s.get_untracked() else {
            return;
        };
        let site = site.get_untracked();
        spawn_local(async move {
            match api::call(&Command::SaveSettings { site, settings }).await {
                Reply::Ok | Reply::Settings { .. } => {
                    issues.set(Vec::new());
                    notice.set(Notice::Ok(Said::key("set.saved")));
                }
                Reply::Invalid { issues: list } => {
                    let n = list.len();
                    notice.set(Notice::Error(Said::new(move |l| {
                        fill(lookup(l, "set.invalid"), &[&n])
                    })));
                    issues.set(list);
                }
                other => notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    // The defaults of this site's type (the site bucket stays under the gateway's own admin API
    // limit, so it differs per type); the generic ones until the site list has loaded.
    let defaults = Memo::new(move |_| {
        shell
            .current()
            .map(|c| SyncSettings::for_site(c.site.kind))
            .unwrap_or_default()
    });
    // The price watch diffs ratios, which only site types with ratio sync have.
    let ratio_sync = Signal::derive(move || {
        shell
            .current()
            .is_some_and(|c| msync_types::gateway::capabilities(c.site.kind).ratio_sync)
    });
    macro_rules! dflt {
        ($($path:tt)+) => {
            Signal::derive(move || defaults.with(|d| d.$($path)+ as u64))
        };
    }
    // Accessors into the loaded settings.
    macro_rules! num {
        ($($path:tt)+) => {
            (
                Signal::derive(move || s.with(|s| s.as_ref().map(|s| s.$($path)+ as u64).unwrap_or(0))),
                Callback::new(move |v: u64| s.update(|s| if let Some(s) = s { s.$($path)+ = v as _ })),
            )
        };
    }
    macro_rules! flag {
        ($($path:tt)+) => {
            (
                Signal::derive(move || s.with(|s| s.as_ref().map(|s| s.$($path)+).unwrap_or(false))),
                Callback::new(move |v: bool| s.update(|s| if let Some(s) = s { s.$($path)+ = v })),
            )
        };
    }
    let (rpm_g, rpm_s) = num!(rate.rpm);
    let (burst_g, burst_s) = num!(rate.burst);
    let (srpm_g, srpm_s) = num!(rate.site_rpm);
    let (sburst_g, sburst_s) = num!(rate.site_burst);
    let (conc_g, conc_s) = num!(concurrency);
    let (retries_g, retries_s) = num!(retry.max_retries);
    let (base_g, base_s) = num!(retry.base_ms);
    let (cap_g, cap_s) = num!(retry.cap_ms);
    let (timeout_g, timeout_s) = num!(channel_timeout_secs);
    let (thr_g, thr_s) = num!(removal_threshold_pct);
    let (keep_g, keep_s) = num!(history.keep_runs);
    let (ival_g, ival_s) = num!(auto_sync.interval_minutes);
    let (auto_g, auto_s) = flag!(auto_sync.enabled);
    let (notify_g, notify_s) = flag!(auto_sync.notify);
    let (empty_g, empty_s) = flag!(allow_empty);
    let (disabled_g, disabled_s) = flag!(skip_disabled);
    let scope = move || s.with(|s| s.as_ref().map(|s| s.rate.scope).unwrap_or_default());
    let allow_text = move || {
        s.with(|s| {
            s.as_ref()
                .map(|s| s.allow_list.join("\n"))
                .unwrap_or_default()
        })
    };
    let rules =
        Signal::derive(move || s.with(|s| s.as_ref().map(|s| s.rules.clone()).unwrap_or_default()));
    let set_rules = Callback::new(move |r: Vec<Rule>| {
        s.update(|s| {
            if let Some(s) = s {
                s.rules = r
            }
        })
    });

    view! {
        <section>
            <h2>{tr("nav.settings")}</h2>
            {move || s.with(|x| x.is_none()).then(|| view! { <p class="muted">{tr("common.loading")}</p> })}
            <form class="settings" on:submit=save data-testid="settings-form" novalidate>
                <fieldset>
                    <legend>{tr("set.schedule")}</legend>
                    <CheckField label="set.auto_enabled" get=auto_g set=auto_s />
                    <NumField label="set.interval" field="auto_sync.interval_minutes" min=60 max=43200 default={dflt!(auto_sync.interval_minutes)} unit="min" get=ival_g set=ival_s issues=issues />
                    <CheckField label="set.notify" get=notify_g set=notify_s />
                </fieldset>
                <fieldset>
                    <legend>{tr("set.limits")}</legend>
                    <div class="grid3">
                        <NumField label="set.rpm" field="rate.rpm" min=1 max=600 default={dflt!(rate.rpm)} get=rpm_g set=rpm_s issues=issues />
                        <NumField label="set.burst" field="rate.burst" min=1 max=50 default={dflt!(rate.burst)} get=burst_g set=burst_s issues=issues />
                        <label class="field">
                            <span>{tr("set.scope")}</span>
                            <select prop:value=move || if scope() == LimitScope::Global { "global" } else { "per-host" }
                                on:change=move |ev| { let v = event_target_value(&ev); s.update(|s| if let Some(s) = s { s.rate.scope = if v == "global" { LimitScope::Global } else { LimitScope::PerHost } }) }>
                                <option value="per-host">{tr("set.scope_host")}</option>
                                <option value="global">{tr("set.scope_global")}</option>
                            </select>
                            <span class="hint">{tr("set.scope_hint")}</span>
                        </label>
                        <NumField label="set.site_rpm" field="rate.site_rpm" min=1 max=6000 default={dflt!(rate.site_rpm)} get=srpm_g set=srpm_s issues=issues />
                        <NumField label="set.site_burst" field="rate.site_burst" min=1 max=100 default={dflt!(rate.site_burst)} get=sburst_g set=sburst_s issues=issues />
                        <NumField label="set.concurrency" field="concurrency" min=1 max=16 default={dflt!(concurrency)} get=conc_g set=conc_s issues=issues />
                        <NumField label="set.retries" field="retry.max_retries" min=0 max=10 default={dflt!(retry.max_retries)} get=retries_g set=retries_s issues=issues />
                        <NumField label="set.base_ms" field="retry.base_ms" min=100 max=60000 default={dflt!(retry.base_ms)} unit="ms" get=base_g set=base_s issues=issues />
                        <NumField label="set.cap_ms" field="retry.cap_ms" min=100 max=600000 default={dflt!(retry.cap_ms)} unit="ms" get=cap_g set=cap_s issues=issues />
                        <NumField label="set.timeout" field="channel_timeout_secs" min=0 max=3600 default={dflt!(channel_timeout_secs)} unit="s" get=timeout_g set=timeout_s issues=issues />
                    </div>
                </fieldset>
                <fieldset>
                    <legend>{tr("set.guards")}</legend>
                    <NumField label="set.threshold" field="removal_threshold_pct" min=1 max=100 default={dflt!(removal_threshold_pct)} unit="%" get=thr_g set=thr_s issues=issues />
                    <CheckField label="set.allow_empty" get=empty_g set=empty_s />
                    <CheckField label="set.skip_disabled" get=disabled_g set=disabled_s />
                    <NumField label="set.keep_runs" field="history.keep_runs" min=1 max=500 default={dflt!(history.keep_runs)} get=keep_g set=keep_s issues=issues />
                </fieldset>
                <crate::notify::PriceCheckFields s=s />
                <crate::notify::PriceWatchFields s=s ratio_sync=ratio_sync />
                <crate::probe::ProbeSettingsFields s=s site=site issues=issues />
                <fieldset>
                    <legend>{tr("set.filters")}</legend>
                    <label class="field">
                        <span>{tr("set.allow_list")}</span>
                        <textarea rows="3" data-field="allow_list" prop:value=allow_text
                            on:change=move |ev| { let v = lines(&event_target_value(&ev)); s.update(|s| if let Some(s) = s { s.allow_list = v }) }></textarea>
                        <span class="hint">{tr("set.allow_hint")}</span>
                    </label>
                    <h4>{tr("set.global_rules")}</h4>
                    <RulesEditor rules=rules set=set_rules issues=issues prefix="rules".to_string() />
                </fieldset>
                <fieldset>
                    <legend>{tr("set.channels")}</legend>
                    <ChannelConfigEditor s=s channels=channels issues=issues />
                </fieldset>
                <NoticeLine notice=notice />
                {move || (!issues.with(|i| i.is_empty())).then(|| view! {
                    <ul class="issues" data-testid="issues">
                        {issues.get().into_iter().map(|i| view! { <li><code>{i.field.clone()}</code>": "{crate::reasons::issue_text(app().lang.get(), &i)}</li> }).collect_view()}
                    </ul>
                })}
                <div class="row sticky">
                    <button type="submit" class="primary" data-testid="save-settings">{tr("common.save")}</button>
                    <button type="button" on:click=move |_| { s.set(Some(defaults.get_untracked().with_channels_of(s.get_untracked()))); }>{tr("set.defaults")}</button>
                </div>
            </form>
        </section>
    }
}

trait KeepChannels {
    fn with_channels_of(self, old: Option<SyncSettings>) -> SyncSettings;
}

impl KeepChannels for SyncSettings {
    /// "Reset to defaults" resets the global fields; per-channel configuration stays.
    fn with_channels_of(mut self, old: Option<SyncSettings>) -> SyncSettings {
        if let Some(old) = old {
            self.channels = old.channels;
        }
        self
    }
}

/// Include/exclude rules: kind, pattern, action, on/off; invalid patterns are reported by the
/// worker's validation next to the row.
#[component]
fn RulesEditor(
    rules: Signal<Vec<Rule>>,
    set: Callback<Vec<Rule>>,
    issues: Issues,
    prefix: String,
) -> impl IntoView {
    let lang = app().lang;
    let edit = move |i: usize, f: Box<dyn Fn(&mut Rule)>| {
        let mut r = rules.get_untracked();
        if let Some(rule) = r.get_mut(i) {
            f(rule);
        }
        set.run(r);
    };
    let prefix2 = prefix.clone();
    view! {
        <div class="rules" data-testid=format!("rules-{prefix}")>
            {move || {
                let list = rules.get();
                if list.is_empty() {
                    return view! { <p class="muted small">{tr("rules.none")}</p> }.into_any();
                }
                list.into_iter().enumerate().map(|(i, rule)| {
                    let field = format!("{prefix2}[{i}].pattern");
                    view! {
                        <div class="rule">
                            <select aria-label=tr("rules.action") prop:value=if rule.action == FilterAction::Include { "include" } else { "exclude" }
                                on:change=move |ev| { let v = event_target_value(&ev); edit(i, Box::new(move |r| r.action = if v == "exclude" { FilterAction::Exclude } else { FilterAction::Include })) }>
                                <option value="include">{tr("rules.include")}</option>
                                <option value="exclude">{tr("rules.exclude")}</option>
                            </select>
                            <select aria-label=tr("rules.kind") prop:value=match rule.kind { RuleKind::Substring => "substring", RuleKind::Regex => "regex", RuleKind::Glob => "glob" }
                                on:change=move |ev| { let v = event_target_value(&ev); edit(i, Box::new(move |r| r.kind = match v.as_str() { "regex" => RuleKind::Regex, "glob" => RuleKind::Glob, _ => RuleKind::Substring })) }>
                                <option value="substring">{tr("rules.substring")}</option>
                                <option value="regex">{tr("rules.regex")}</option>
                                <option value="glob">{tr("rules.glob")}</option>
                            </select>
                            <input type="text" class="grow" aria-label=tr("rules.pattern") data-testid="rule-pattern"
                                placeholder=move || lookup(lang.get(), "rules.pattern")
                                prop:value=rule.pattern.clone()
                                on:change=move |ev| { let v = event_target_value(&ev); edit(i, Box::new(move |r| r.pattern = v.clone())) } />
                            <label class="check"><input type="checkbox" prop:checked=rule.enabled
                                on:change=move |ev| { let v = event_target_checked(&ev); edit(i, Box::new(move |r| r.enabled = v)) } />{tr("rules.enabled")}</label>
                            <button type="button" class="small" on:click=move |_| { let mut r = rules.get_untracked(); if i < r.len() { r.remove(i); } set.run(r); }>{tr("common.remove")}</button>
                            <FieldIssue issues=issues field=field />
                        </div>
                    }
                }).collect_view().into_any()
            }}
            <button type="button" class="small" data-testid="add-rule" on:click=move |_| {
                let mut r = rules.get_untracked();
                r.push(Rule::new(RuleKind::Substring, "", FilterAction::Exclude));
                set.run(r);
            }>{tr("rules.add")}</button>
        </div>
    }
}

/// One channel's mode, pinned models, rules, exclusion and empty-reply override.
#[component]
fn ChannelConfigEditor(
    s: RwSignal<Option<SyncSettings>>,
    channels: RwSignal<Vec<Channel>>,
    issues: Issues,
) -> impl IntoView {
    let chosen = RwSignal::new(String::new());
    let cfg = move || {
        let id = chosen.get();
        s.with(|s| s.as_ref().map(|s| s.channel(&id)).unwrap_or_default())
    };
    let update = move |f: Box<dyn Fn(&mut ChannelConfig)>| {
        let id = chosen.get_untracked();
        if id.is_empty() {
            return;
        }
        s.update(|s| {
            if let Some(s) = s {
                let mut c = s.channel(&id);
                f(&mut c);
                if c == ChannelConfig::default() {
                    s.channels.remove(&id);
                } else {
                    s.channels.insert(id.clone(), c);
                }
            }
        });
    };
    let rules = Signal::derive(move || cfg().rules);
    let set_rules =
        Callback::new(move |r: Vec<Rule>| update(Box::new(move |c| c.rules = r.clone())));
    let configured = move || s.with(|s| s.as_ref().map(|s| s.channels.len()).unwrap_or(0));
    let lang = app().lang;
    view! {
        <label class="field">
            <span>{tr("set.channel")}</span>
            <select data-testid="channel-picker" prop:value=move || chosen.get() on:change=move |ev| chosen.set(event_target_value(&ev))>
                <option value="">{tr("set.pick_channel")}</option>
                {move || channels.get().into_iter().map(|c| {
                    let label = format!("#{} {}", c.id.0, c.name);
                    view! { <option value=c.id.0.clone()>{label}</option> }
                }).collect_view()}
            </select>
            <span class="hint">{move || fill(lookup(lang.get(), "set.configured_n"), &[&configured()])}</span>
        </label>
        {move || (!chosen.get().is_empty()).then(|| {
            let id = chosen.get();
            view! {
                <div class="card" data-testid="channel-config">
                    <div class="grid3">
                        <label class="field">
                            <span>{tr("set.mode")}</span>
                            <select prop:value=move || match cfg().mode { SyncMode::Replace => "replace", SyncMode::Merge => "merge", SyncMode::AddOnly => "add-only" }
                                on:change=move |ev| { let v = event_target_value(&ev); update(Box::new(move |c| c.mode = match v.as_str() { "merge" => SyncMode::Merge, "add-only" => SyncMode::AddOnly, _ => SyncMode::Replace })) }>
                                <option value="replace">{tr("set.mode_replace")}</option>
                                <option value="merge">{tr("set.mode_merge")}</option>
                                <option value="add-only">{tr("set.mode_add_only")}</option>
                            </select>
                            <span class="hint">{move || match cfg().mode { SyncMode::Replace => t("set.mode_replace_hint"), SyncMode::Merge => t("set.mode_merge_hint"), SyncMode::AddOnly => t("set.mode_add_only_hint") }}</span>
                        </label>
                        <label class="field">
                            <span>{tr("set.allow_empty_channel")}</span>
                            <select prop:value=move || match cfg().allow_empty { None => "inherit", Some(true) => "yes", Some(false) => "no" }
                                on:change=move |ev| { let v = event_target_value(&ev); update(Box::new(move |c| c.allow_empty = match v.as_str() { "yes" => Some(true), "no" => Some(false), _ => None })) }>
                                <option value="inherit">{tr("set.inherit")}</option>
                                <option value="yes">{tr("common.yes")}</option>
                                <option value="no">{tr("common.no")}</option>
                            </select>
                        </label>
                        <label class="check">
                            <input type="checkbox" prop:checked=move || cfg().excluded on:change=move |ev| { let v = event_target_checked(&ev); update(Box::new(move |c| c.excluded = v)) } />
                            <span>{tr("set.excluded")}</span>
                        </label>
                    </div>
                    <label class="field">
                        <span>{tr("set.pinned")}</span>
                        <textarea rows="3" data-testid="pinned" prop:value=move || cfg().pinned.join("\n")
                            on:change=move |ev| { let v = lines(&event_target_value(&ev)); update(Box::new(move |c| c.pinned = v.clone())) }></textarea>
                        <span class="hint">{tr("set.pinned_hint")}</span>
                    </label>
                    <h4>{tr("set.channel_rules")}</h4>
                    <RulesEditor rules=rules set=set_rules issues=issues prefix=format!("channels.{id}.rules") />
                </div>
            }
        })}
    }
}

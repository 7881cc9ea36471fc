//! Ratio / price sync (New API only): pick sources, fetch the difference table, pick values (per
//! cell, per column, "all confident from X"), preview old → new, apply, and revert snapshots.
//! The worker fetches, plans and writes; this screen keeps the diff it got and resolves the
//! admin's picks locally with `RatioSelection::resolve`, so what is applied is what was shown.

use crate::api;
use crate::common::*;
use crate::format::fill;
use crate::i18n::{lookup, Lang};
use crate::options::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::error::ErrorClass;
use msync_types::gateway::capabilities;
use msync_types::model::SiteId;
use msync_types::protocol::{Command, Reply};
use msync_types::ratio::{
    Cell, DiffFilter, DiffRow, DiffWarning, RatioApplyOutcome, RatioDiff, RatioField, RatioPreview,
    RatioSelection, RatioSnapshotHead, RatioSources, RatioUpstream, Resolved, SourceKind,
    UpstreamNote, ENDPOINT_PRICING, ENDPOINT_RATIO_CONFIG,
};
use std::collections::{BTreeMap, BTreeSet};

/// Rows rendered at most; picks by column still cover every row the filter keeps.
const MAX_ROWS: usize = 400;

type Picks = BTreeMap<(String, RatioField), String>;

/// (model, field) → the column its choice comes from.
fn picks_of(resolved: &Resolved) -> Picks {
    resolved
        .choices
        .iter()
        .map(|c| {
            (
                (c.model.clone(), c.field),
                c.upstream.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Clicking a cell picks it, or drops the pick when that cell is already the one chosen.
fn toggle_cell(
    sel: RatioSelection,
    picks: &Picks,
    model: &str,
    field: RatioField,
    upstream: &str,
) -> RatioSelection {
    let key = (model.to_string(), field);
    if picks.get(&key).map(String::as_str) == Some(upstream) {
        sel.unpick(model, Some(field))
    } else {
        sel.cell(model, field, upstream)
    }
}

/// A stored value as the preview shows it; `None` = absent.
fn show_json(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "—".into(),
        Some(serde_json::Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    }
}

/// An upstream note in the page's language (the CLI prints its English `Display`).
fn note_text(lang: Lang, n: &UpstreamNote) -> String {
    match n {
        UpstreamNote::PricingInsteadOfRatioConfig => fill(
            lookup(lang, "rt.note_pricing"),
            &[&ENDPOINT_RATIO_CONFIG, &ENDPOINT_PRICING],
        ),
        UpstreamNote::RatioConfigNotExposed { pricing_error } => fill(
            lookup(lang, "rt.note_not_exposed"),
            &[&ENDPOINT_RATIO_CONFIG, &ENDPOINT_PRICING, pricing_error],
        ),
    }
}

/// A part of the answer msync could not use, in the page's language (the CLI prints its
/// English `Display`). Model, field key, upstream and value stay as the site sent them.
fn warning_text(lang: Lang, w: &DiffWarning) -> String {
    let t = |id: &'static str| lookup(lang, id);
    match w {
        DiffWarning::EntryNotObject { model } => fill(t("rt.w_entry"), &[model]),
        DiffWarning::CurrentUnusable {
            model,
            field,
            value,
        } => fill(t("rt.w_current"), &[model, field, value]),
        DiffWarning::WrongKind {
            model,
            field,
            upstream,
            value,
        } => {
            let id = if field.is_text() {
                "rt.w_not_text"
            } else {
                "rt.w_not_number"
            };
            fill(t(id), &[model, field, upstream, value])
        }
        DiffWarning::UnknownTypes { names } => fill(t("rt.w_unknown"), &[&names.join(", ")]),
    }
}

#[component]
pub fn RatiosScreen() -> impl IntoView {
    let shell = expect_context::<Shell>();
    // A memo: the body (and the diff it holds) is not rebuilt on every status refresh.
    let new_api = Memo::new(move |_| {
        shell
            .current()
            .map(|s| capabilities(s.site.kind).ratio_sync)
            .unwrap_or(false)
    });
    view! {
        <section>
            <h2>{tr("nav.ratios")}</h2>
            <p class="muted">{tr("rt.subtitle")}</p>
            {move || if new_api.get() {
                view! { <RatiosBody /> }.into_any()
            } else {
                view! { <p class="notice warn" role="note" data-testid="ratios-unsupported">{tr("rt.only_new_api")}</p> }.into_any()
            }}
        </section>
    }
}

/// Everything the ratio screen holds for the site shown, shared by its parts. Signals are
/// `Copy`, so the parts take the whole state as one prop.
#[derive(Clone, Copy)]
struct RatioState {
    /// The options page's selected site (what is on screen now).
    shown: RwSignal<Option<String>>,
    site: Signal<SiteId>,
    sources: RwSignal<Option<RatioSources>>,
    /// The listed sources ticked for fetching (by id).
    checked: RwSignal<BTreeSet<i64>>,
    /// Custom upstreams added on this screen.
    customs: RwSignal<Vec<RatioUpstream>>,
    diff: RwSignal<Option<RatioDiff>>,
    only_differing: RwSignal<bool>,
    only_confident: RwSignal<bool>,
    search: RwSignal<String>,
    selection: RwSignal<RatioSelection>,
    /// The admin's picks resolved against the diff shown: what preview and apply send.
    resolved: Memo<Resolved>,
    picks: Memo<Picks>,
    preview: RwSignal<Option<RatioPreview>>,
    applied: RwSignal<Option<RatioApplyOutcome>>,
    snapshots: RwSignal<Vec<RatioSnapshotHead>>,
    busy: RwSignal<bool>,
    notice: RwSignal<Notice>,
    snap_notice: RwSignal<Notice>,
}

impl RatioState {
    fn new(shown: RwSignal<Option<String>>) -> RatioState {
        let site = Signal::derive(move || SiteId(shown.get().unwrap_or_default()));
        let diff = RwSignal::new(None::<RatioDiff>);
        let selection = RwSignal::new(RatioSelection::new());
        let resolved = Memo::new(move |_| {
            diff.with(|d| {
                d.as_ref()
                    .map(|d| selection.with(|s| s.resolve(d)))
                    .unwrap_or_default()
            })
        });
        RatioState {
            shown,
            site,
            sources: RwSignal::new(None),
            checked: RwSignal::new(BTreeSet::new()),
            customs: RwSignal::new(Vec::new()),
            diff,
            only_differing: RwSignal::new(true),
            only_confident: RwSignal::new(false),
            search: RwSignal::new(String::new()),
            selection,
            resolved,
            picks: Memo::new(move |_| resolved.with(picks_of)),
            preview: RwSignal::new(None),
            applied: RwSignal::new(None),
            snapshots: RwSignal::new(Vec::new()),
            busy: RwSignal::new(false),
            notice: RwSignal::new(Notice::None),
            snap_notice: RwSignal::new(Notice::None),
        }
    }

    /// The table filter as the admin set it.
    fn filter(self) -> DiffFilter {
        DiffFilter {
            only_differing: self.only_differing.get(),
            only_confident: self.only_confident.get(),
            search: self.search.get(),
            ..Default::default()
        }
    }

    /// Change the picks; a new pick makes the preview stale.
    fn select(self, f: Box<dyn FnOnce(RatioSelection) -> RatioSelection>) {
        self.selection.update(|s| *s = f(std::mem::take(s)));
        self.preview.set(None);
    }

    /// Whether `site` is still the one shown (a late answer for another site is dropped).
    fn showing(self, site: &SiteId) -> bool {
        self.shown.get_untracked().as_deref() == Some(site.0.as_str())
    }

    /// A new site: nothing of the previous one stays on screen; its sources and snapshots load.
    fn reset_for(self, site: SiteId) {
        self.sources.set(None);
        self.checked.set(BTreeSet::new());
        self.snapshots.set(Vec::new());
        self.notice.set(Notice::None);
        self.snap_notice.set(Notice::None);
        self.diff.set(None);
        self.preview.set(None);
        self.applied.set(None);
        self.selection.set(RatioSelection::new());
        spawn_local(async move {
            let r = api::call(&Command::ListRatioSources { site: site.clone() }).await;
            if !self.showing(&site) {
                return;
            }
            match r {
                Reply::RatioSources { sources: s } => self.sources.set(Some(s)),
                other => self.notice.set(Notice::Error(Said::reply(other))),
            }
        });
        self.load_snapshots();
    }

    fn load_snapshots(self) {
        let site = self.site.get_untracked();
        spawn_local(async move {
            let r = api::call(&Command::ListRatioSnapshots { site: site.clone() }).await;
            if !self.showing(&site) {
                return;
            }
            match r {
                Reply::RatioSnapshots { snapshots: s } => self.snapshots.set(s),
                other => self.snap_notice.set(Notice::Error(Said::reply(other))),
            }
        });
    }

    /// Fetch the difference table from the ticked sources and the custom upstreams.
    fn fetch(self) {
        let mut upstreams: Vec<RatioUpstream> = self.sources.with_untracked(|s| {
            s.iter()
                .flat_map(|s| s.sources.iter())
                .filter(|x| self.checked.with_untracked(|c| c.contains(&x.id)))
                .map(|x| x.upstream())
                .collect()
        });
        upstreams.extend(self.customs.get_untracked());
        let site = self.site.get_untracked();
        self.busy.set(true);
        self.notice.set(Notice::Info(Said::key("rt.fetching")));
        spawn_local(async move {
            let r = api::call(&Command::FetchRatioDiff {
                site,
                upstreams,
                timeout_s: None,
            })
            .await;
            self.busy.set(false);
            match r {
                Reply::RatioDiff { diff: d } => {
                    self.notice.set(Notice::None);
                    self.selection.set(RatioSelection::new());
                    self.preview.set(None);
                    self.applied.set(None);
                    self.diff.set(Some(d));
                }
                other => self.notice.set(Notice::Error(Said::reply(other))),
            }
        });
    }

    fn run_preview(self) {
        let choices = self.resolved.get_untracked().choices;
        let site = self.site.get_untracked();
        self.busy.set(true);
        spawn_local(async move {
            let r = api::call(&Command::PreviewRatios { site, choices }).await;
            self.busy.set(false);
            match r {
                Reply::RatioPreview { preview: p } => {
                    self.notice.set(Notice::None);
                    self.preview.set(Some(p));
                }
                other => self.notice.set(Notice::Error(Said::reply(other))),
            }
        });
    }

    /// Apply the picks previewed (the preview's base guards against a change in between).
    fn run_apply(self) {
        let Some(base) = self
            .preview
            .with_untracked(|p| p.as_ref().map(|p| p.base.clone()))
        else {
            return;
        };
        let choices = self.resolved.get_untracked().choices;
        let site = self.site.get_untracked();
        self.busy.set(true);
        spawn_local(async move {
            let r = api::call(&Command::ApplyRatios {
                site,
                choices,
                base: Some(base),
            })
            .await;
            self.busy.set(false);
            match r {
                Reply::RatioApplied { outcome } => {
                    self.notice.set(Notice::None);
                    self.preview.set(None);
                    if outcome.ok() {
                        self.selection.set(RatioSelection::new());
                    }
                    self.applied.set(Some(outcome));
                    self.load_snapshots();
                }
                other => self.notice.set(Notice::Error(Said::reply(other))),
            }
        });
    }

    fn revert(self, id: String, force: bool) {
        let site = self.site.get_untracked();
        spawn_local(async move {
            match api::call(&Command::RevertRatios {
                site,
                snapshot: id,
                force,
            })
            .await
            {
                Reply::RatioReverted { outcome } => {
                    if outcome.ok() {
                        let (snapshot, written) = (outcome.snapshot, outcome.written.join(", "));
                        self.snap_notice.set(Notice::Ok(Said::new(move |l| {
                            fill(lookup(l, "rt.reverted"), &[&snapshot, &written])
                        })));
                    } else {
                        let snapshot = outcome.snapshot;
                        let (error, mismatched) = (outcome.error, outcome.mismatched.join(", "));
                        self.snap_notice.set(Notice::Error(Said::new(move |l| {
                            let why = error
                                .as_ref()
                                .map(|e| crate::reasons::error_text(l, e))
                                .unwrap_or_else(|| mismatched.clone());
                            fill(lookup(l, "rt.revert_failed"), &[&snapshot, &why])
                        })));
                    }
                    self.load_snapshots();
                }
                other => self.snap_notice.set(Notice::Error(Said::reply(other))),
            }
        });
    }
}

#[component]
fn RatiosBody() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let st = RatioState::new(shell.site);
    Effect::new(move |_| st.reset_for(st.site.get()));
    let busy = st.busy;
    view! {
        <RatioSourcePicker st=st />
        <div class="actionbar">
            <button class="primary" data-testid="ratio-fetch" disabled=move || busy.get() on:click=move |_| st.fetch()>{tr("rt.fetch")}</button>
            <span class="muted small">{tr("rt.root_needed")}</span>
        </div>
        <NoticeLine notice=st.notice />
        <RatioDiffCard st=st />
        <RatioPreviewCard st=st />
        {move || st.applied.get().map(|o| view! { <AppliedCard o=o /> })}
        <RatioSnapshots st=st />
    }
}

/// The sources to compare with: the site's channels, the presets, and custom upstreams.
#[component]
fn RatioSourcePicker(st: RatioState) -> impl IntoView {
    let lang = app().lang;
    let RatioState {
        sources,
        checked,
        customs,
        notice,
        ..
    } = st;
    let (c_name, c_base, c_endpoint) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let add_custom = move |_| {
        let default = sources.with_untracked(|s| {
            s.as_ref()
                .map(|s| s.default_endpoint.clone())
                .unwrap_or_else(|| msync_types::ratio::ENDPOINT_PRICING.into())
        });
        let endpoint = c_endpoint.get_untracked();
        let u = match RatioUpstream::custom_parsed_by(
            &c_name.get_untracked(),
            &c_base.get_untracked(),
            Some(endpoint.as_str()),
            &default,
            api::parses_as_url,
        ) {
            Ok(u) => u,
            Err(e) => return notice.set(Notice::Error(Said::as_is(e.message))),
        };
        // The site reads the upstream once now, so a wrong endpoint shows here, not in the
        // table; a refused /api/ratio_config comes back switched to /api/pricing.
        let site = st.site.get_untracked();
        let typed = (
            c_name.get_untracked(),
            c_base.get_untracked(),
            c_endpoint.get_untracked(),
        );
        st.busy.set(true);
        notice.set(Notice::Info(Said::key("rt.checking")));
        spawn_local(async move {
            let r = api::call(&Command::CheckRatioUpstream {
                site: site.clone(),
                upstream: u,
            })
            .await;
            st.busy.set(false);
            if !st.showing(&site) {
                return;
            }
            match r {
                Reply::RatioUpstreamChecked { check } if check.test.ok => {
                    customs.update(|c| c.push(check.upstream));
                    // Cleared only if nothing new was typed while the site checked.
                    let now = (
                        c_name.get_untracked(),
                        c_base.get_untracked(),
                        c_endpoint.get_untracked(),
                    );
                    if now == typed {
                        c_name.set(String::new());
                        c_base.set(String::new());
                        c_endpoint.set(String::new());
                    }
                    notice.set(match check.test.note {
                        Some(n) => Notice::Info(Said::new(move |l| note_text(l, &n))),
                        None => Notice::None,
                    });
                }
                Reply::RatioUpstreamChecked { check } => {
                    let (name, test) = (check.upstream.name, check.test);
                    notice.set(Notice::Error(Said::new(move |l| {
                        let mut why = test.error.clone().unwrap_or_default();
                        if let Some(n) = &test.note {
                            why = format!("{why} — {}", note_text(l, n));
                        }
                        fill(lookup(l, "rt.check_failed"), &[&name, &why])
                    })));
                }
                other => notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    view! {
    <fieldset data-testid="ratio-sources">
        <legend>{tr("rt.sources")}</legend>
        {move || sources.get().map(|s| view! {
            <div class="presets">
                {s.sources.into_iter().map(|x| {
                    let id = x.id;
                    let kind = match x.kind {
                        SourceKind::Channel => "rt.kind_channel",
                        SourceKind::OfficialPreset => "rt.kind_preset",
                        SourceKind::ModelsDev => "rt.kind_models_dev",
                        SourceKind::Custom => "rt.kind_custom",
                    };
                    view! {
                        <label class="check preset" title=format!("{} {}", x.base_url, x.default_endpoint) data-testid="ratio-source">
                            <input type="checkbox" prop:checked=move || checked.with(|c| c.contains(&id))
                                on:change=move |ev| { let on = event_target_checked(&ev); checked.update(|c| { if on { c.insert(id); } else { c.remove(&id); } }) } />
                            <span>{x.name.clone()}" "<span class="muted small">{format!("(#{id}) · ")}{tr(kind)}</span></span>
                        </label>
                    }
                }).collect_view()}
            </div>
        })}
        {move || (!customs.with(Vec::is_empty)).then(|| view! {
            <ul class="models" data-testid="ratio-customs">
                {customs.get().into_iter().enumerate().map(|(i, u)| view! {
                    <li>{format!("{} — {} {}", u.name, u.base_url, u.endpoint)}" "
                        <button class="small" on:click=move |_| customs.update(|c| { if i < c.len() { c.remove(i); } })>{tr("common.remove")}</button>
                    </li>
                }).collect_view()}
            </ul>
        })}
        <h4>{tr("rt.custom")}</h4>
        <div class="rule" data-testid="ratio-custom-form">
            <input type="text" aria-label=tr("rt.custom_name") placeholder=move || lookup(lang.get(), "rt.custom_name")
                prop:value=move || c_name.get() on:input=move |ev| c_name.set(event_target_value(&ev)) />
            <input type="text" class="grow" aria-label=tr("rt.custom_base") placeholder="https://…"
                prop:value=move || c_base.get() on:input=move |ev| c_base.set(event_target_value(&ev)) />
            <input type="text" aria-label=tr("rt.custom_endpoint")
                placeholder=move || sources.with(|s| s.as_ref().map(|s| s.default_endpoint.clone()).unwrap_or_default())
                prop:value=move || c_endpoint.get() on:input=move |ev| c_endpoint.set(event_target_value(&ev)) />
            <button data-testid="ratio-add-custom" disabled=move || st.busy.get() on:click=add_custom>{tr("rt.add_custom")}</button>
        </div>
        <span class="hint">{tr("rt.custom_hint")}</span>
    </fieldset>
    }
}

/// The difference table: filters, picks per cell / column / "all confident", and the preview
/// button.
#[component]
fn RatioDiffCard(st: RatioState) -> impl IntoView {
    let lang = app().lang;
    let RatioState {
        diff,
        only_differing,
        only_confident,
        search,
        resolved,
        picks,
        busy,
        ..
    } = st;
    let filter = move || st.filter();
    let select = move |f: Box<dyn FnOnce(RatioSelection) -> RatioSelection>| st.select(f);
    let run_preview = move |_| st.run_preview();
    {
        move || {
            diff.get().map(|d| {
        let failed: Vec<_> = d.failed().cloned().collect();
        let noted: Vec<(String, UpstreamNote)> = d
            .tests
            .iter()
            .filter(|t| t.ok)
            .filter_map(|t| t.note.clone().map(|n| (t.name.clone(), n)))
            .collect();
        let failed_names: BTreeSet<String> = failed.iter().map(|t| t.name.clone()).collect();
        let warnings = d.warnings.clone();
        let columns = d.upstreams.clone();
        let columns2 = columns.clone();
        let d2 = d.clone();
        let rows = Memo::new(move |_| d2.filtered(&filter()).rows);
        view! {
            <div class="card" data-testid="ratio-diff">
                <div class="row">
                    <h3>{tr("rt.diff_title")}</h3>
                    <span class="muted">{move || fill(lookup(lang.get(), "rt.diff_counts"), &[&rows.with(Vec::len), &d.rows.len(), &d.models().len()])}</span>
                </div>
                {(!failed.is_empty()).then(|| view! {
                    <div class="notice err" role="alert" data-testid="ratio-failed">
                        <strong>{tr("rt.failed_upstreams")}</strong>
                        <ul>{failed.into_iter().map(|t| {
                            let note = t.note.clone();
                            view! { <li><code>{t.name}</code>": "{t.error.unwrap_or_default()}
                                {move || note.as_ref().map(|n| format!(" — {}", note_text(lang.get(), n)))}</li> }
                        }).collect_view()}</ul>
                    </div>
                })}
                {(!noted.is_empty()).then(|| view! {
                    <div class="notice warn" role="note" data-testid="ratio-upstream-notes">
                        <strong>{tr("rt.upstream_notes")}</strong>
                        <ul>{noted.into_iter().map(|(name, n)| view! {
                            <li><code>{name}</code>": "{move || note_text(lang.get(), &n)}</li>
                        }).collect_view()}</ul>
                    </div>
                })}
                {(!warnings.is_empty()).then(|| view! {
                    <details class="notice warn"><summary>{let n = warnings.len(); move || fill(lookup(lang.get(), "rt.warnings"), &[&n])}</summary>
                        <ul class="small" data-testid="ratio-warnings">{warnings.iter().map(|w| { let w = w.clone(); view! { <li>{move || warning_text(lang.get(), &w)}</li> } }).collect_view()}</ul>
                    </details>
                })}
                <div class="filters">
                    <label class="check"><input type="checkbox" data-testid="ratio-only-differing" prop:checked=move || only_differing.get() on:change=move |ev| only_differing.set(event_target_checked(&ev)) /><span>{tr("rt.only_differing")}</span></label>
                    <label class="check"><input type="checkbox" data-testid="ratio-only-confident" prop:checked=move || only_confident.get() on:change=move |ev| only_confident.set(event_target_checked(&ev)) /><span>{tr("rt.only_confident")}</span></label>
                    <label class="search"><input type="search" data-testid="ratio-search" aria-label=tr("rt.search") placeholder=move || lookup(lang.get(), "rt.search")
                        prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev)) /></label>
                </div>
                <div class="actionbar">
                    <span>{move || fill(lookup(lang.get(), "rt.picked"), &[&resolved.with(|r| r.choices.len())])}</span>
                    <button data-testid="ratio-clear-picks" disabled=move || resolved.with(|r| r.choices.is_empty()) on:click=move |_| select(Box::new(|_| RatioSelection::new()))>{tr("rt.clear_picks")}</button>
                    <button class="primary" data-testid="ratio-preview" disabled=move || busy.get() || resolved.with(|r| r.choices.is_empty()) on:click=run_preview>{tr("rt.preview")}</button>
                    {move || resolved.with(|r| (!r.skipped.is_empty()).then(|| view! { <span class="muted small" title=r.skipped.join("\n")>{fill(lookup(lang.get(), "rt.skipped"), &[&r.skipped.len()])}</span> }))}
                </div>
                <div class="tablewrap">
                    <table class="results ratios" data-testid="ratio-table">
                        <thead>
                            <tr>
                                <th>{tr("rt.model")}</th><th>{tr("rt.field")}</th><th class="num">{tr("rt.current")}</th>
                                {columns.into_iter().map(|c| {
                                    let (c1, c2) = (c.clone(), c.clone());
                                    let usable = !failed_names.contains(&c);
                                    view! {
                                        <th data-testid="ratio-column" data-upstream=c.clone()>
                                            <div>{c.clone()}</div>
                                            {usable.then(|| view! { <div class="row small">
                                                <button class="small" data-testid="take-column" on:click=move |_| { let (u, f) = (c1.clone(), filter()); select(Box::new(move |s| s.column(&u, f))) }>{tr("rt.take_column")}</button>
                                                <button class="small" data-testid="take-confident" on:click=move |_| { let (u, f) = (c2.clone(), filter()); select(Box::new(move |s| s.all_confident(&u, f))) }>{tr("rt.take_confident")}</button>
                                            </div> })}
                                        </th>
                                    }
                                }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {move || {
                                let cols = columns2.clone();
                                rows.with(|rows| rows.iter().take(MAX_ROWS).cloned().map(|r| view! { <DiffTableRow row=r columns=cols.clone() picks=picks select=Callback::new(move |(m, f, u): (String, RatioField, String)| select(Box::new(move |s| toggle_cell(s, &picks.get_untracked(), &m, f, &u)))) /> }).collect_view())
                            }}
                        </tbody>
                    </table>
                </div>
                {move || (rows.with(Vec::len) > MAX_ROWS).then(|| view! { <p class="muted small">{fill(lookup(lang.get(), "rt.more_rows"), &[&MAX_ROWS, &rows.with(Vec::len)])}</p> })}
            </div>
        }
    })
        }
    }
}

/// Old → new per model for the picks, and the apply button.
#[component]
fn RatioPreviewCard(st: RatioState) -> impl IntoView {
    let lang = app().lang;
    let RatioState { preview, busy, .. } = st;
    let run_apply = move |_| st.run_apply();
    {
        move || {
            preview.get().map(|p| {
        let n_keys = p.keys.len();
        view! {
            <div class="card plan" data-testid="ratio-preview-card">
                <div class="row">
                    <h3>{tr("rt.preview_title")}</h3>
                    <span class="muted">{let (n, u, k) = (p.models.len(), p.unchanged, p.keys.join(", ")); move || fill(lookup(lang.get(), "rt.preview_counts"), &[&n, &u, &k])}</span>
                </div>
                <div class="row">
                    <button class="primary" data-testid="ratio-apply" disabled=move || busy.get() || n_keys == 0 on:click=run_apply>{move || fill(lookup(lang.get(), "rt.apply"), &[&n_keys])}</button>
                    <span class="muted small">{tr("rt.snapshot_first")}</span>
                </div>
                <div class="tablewrap">
                    <table class="results" data-testid="ratio-preview-table">
                        <thead><tr><th>{tr("rt.model")}</th><th>{tr("rt.changes")}</th></tr></thead>
                        <tbody>
                            {p.models.iter().map(|m| view! {
                                <tr data-testid="ratio-preview-row" data-model=m.model.clone()>
                                    <td class="name mono">{m.model.clone()}</td>
                                    <td><ul class="models">{m.changes.iter().map(|c| {
                                        let cls = if c.new.is_none() { "removed" } else { "added" };
                                        let from = c.upstream.clone().map(|u| format!("  ← {u}")).unwrap_or_default();
                                        view! { <li class=cls>{format!("{}: {} → {}{from}", c.field, show_json(&c.old), show_json(&c.new))}</li> }
                                    }).collect_view()}</ul></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </div>
        }
    })
        }
    }
}

/// The snapshots taken before each apply, and revert.
#[component]
fn RatioSnapshots(st: RatioState) -> impl IntoView {
    let RatioState {
        snapshots,
        snap_notice,
        ..
    } = st;
    let force_revert = RwSignal::new(false);
    let revert = Callback::new(move |id: String| st.revert(id, force_revert.get_untracked()));
    view! {
    <fieldset data-testid="ratio-snapshots">
        <legend>{tr("rt.snapshots")}</legend>
        <NoticeLine notice=snap_notice />
        {move || if snapshots.with(Vec::is_empty) {
            view! { <p class="muted">{tr("rt.no_snapshots")}</p> }.into_any()
        } else {
            view! {
                <label class="check"><input type="checkbox" data-testid="ratio-force" prop:checked=move || force_revert.get() on:change=move |ev| force_revert.set(event_target_checked(&ev)) /><span>{tr("rt.force")}</span></label>
                <div class="tablewrap">
                    <table class="results">
                        <thead><tr><th>{tr("rt.taken")}</th><th>{tr("col.id")}</th><th>{tr("rt.keys")}</th><th class="num">{tr("rt.models_n")}</th><th>{tr("col.status")}</th><th>{tr("col.actions")}</th></tr></thead>
                        <tbody>
                            {snapshots.get().into_iter().map(|s| {
                                let id = s.id.clone();
                                let reverted = s.reverted_ms;
                                view! {
                                    <tr data-testid="ratio-snapshot" data-snapshot=s.id.clone()>
                                        <td class="mono">{api::local_time(s.taken_ms)}</td>
                                        <td class="mono">{s.id.clone()}</td>
                                        <td class="small">{s.keys.join(", ")}</td>
                                        <td class="num">{s.models}</td>
                                        <td>{match reverted {
                                            Some(ms) => view! { <span class="badge st-unchanged">{tr("rt.reverted_at")}" "{api::local_time(ms)}</span> }.into_any(),
                                            None => view! { <span class="badge st-success">{tr("rt.applied_badge")}</span> }.into_any(),
                                        }}</td>
                                        <td class="actions"><button data-testid="ratio-revert" disabled=reverted.is_some() on:click=move |_| revert.run(id.clone())>{tr("mode.revert")}</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    </fieldset>
    }
}

#[component]
fn DiffTableRow(
    row: DiffRow,
    columns: Vec<String>,
    picks: Memo<Picks>,
    select: Callback<(String, RatioField, String)>,
) -> impl IntoView {
    let lang = app().lang;
    // New API enforces its built-in completion ratio for this model: shown, never offered.
    let locked = row.locked;
    let current = match locked {
        Some(enforced) => format!("🔒 {enforced}"),
        None => row
            .current
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "—".into()),
    };
    let cells = columns
        .into_iter()
        .map(|col| {
            let (model, field) = (row.model.clone(), row.field);
            match row.cells.get(&col) {
                Some(Cell::Value(value)) if locked.is_some() => view! {
                    <td class="upval muted" data-testid="ratio-locked" title=tr("rt.locked_hint")>{value.to_string()}</td>
                }
                .into_any(),
                Some(Cell::Value(value)) => {
                    let confident = row.confident(&col);
                    let key = (model.clone(), field);
                    let col2 = col.clone();
                    let is_picked = move || picks.with(|p| p.get(&key) == Some(&col2));
                    let click = {
                        let col = col.clone();
                        move |_| select.run((model.clone(), field, col.clone()))
                    };
                    view! {
                        <td class="upval">
                            <button class="cell chip" class:active=is_picked.clone() class:unsure=!confident
                                data-testid="ratio-cell" data-upstream=col.clone()
                                aria-pressed=move || if is_picked() { "true" } else { "false" }
                                title=move || lookup(lang.get(), if confident { "rt.cell_hint" } else { "rt.unsure" })
                                on:click=click>
                                {value.to_string()}{(!confident).then_some(" ⚠")}
                            </button>
                        </td>
                    }
                    .into_any()
                }
                Some(Cell::Same) => {
                    view! { <td class="upval muted small">{tr("rt.same")}</td> }.into_any()
                }
                Some(Cell::Missing) => {
                    view! { <td class="upval muted" title=tr("rt.missing")>"∅"</td> }.into_any()
                }
                // The upstream could not be read (its error is listed above the table).
                None => view! { <td class="upval muted" data-testid="ratio-unread" title=tr("rt.unread")>"—"</td> }.into_any(),
            }
        })
        .collect_view();
    view! {
        <tr data-testid="ratio-row" data-model=row.model.clone() data-field=row.field.as_str()>
            <td class="name mono">{row.model.clone()}</td>
            <td class="mono small">{row.field.as_str()}</td>
            <td class="num mono" title=move || locked.map(|_| lookup(lang.get(), "rt.locked_hint")).unwrap_or_default()>{current}</td>
            {cells}
        </tr>
    }
}

#[component]
fn AppliedCard(o: RatioApplyOutcome) -> impl IntoView {
    let lang = app().lang;
    let ok = o.ok();
    let summary = {
        let o = o.clone();
        move || {
            let l = lang.get();
            match (&o.snapshot, ok) {
                (None, true) => lookup(l, "rt.nothing_written").to_string(),
                (Some(id), true) => fill(
                    lookup(l, "rt.applied_ok"),
                    &[id, &o.written.len(), &o.written.join(", ")],
                ),
                (_, false) => {
                    let why = match o.error.as_ref() {
                        Some(e) if e.class == ErrorClass::Conflict => {
                            lookup(l, "rt.conflict").to_string()
                        }
                        Some(e) => e.message.clone(),
                        None => String::new(),
                    };
                    fill(lookup(l, "rt.applied_bad"), &[&o.written.join(", "), &why])
                }
            }
        }
    };
    view! {
        <div class="card" data-testid="ratio-applied">
            <p class=if ok { "notice ok" } else { "notice err" } role=if ok { "status" } else { "alert" }>{summary}</p>
            <ul class="checks small">
                <li class=if o.verified { "ok" } else { "bad" }>{tr("rt.read_back")}": "{if o.verified { tr("common.yes").into_any() } else { tr("common.no").into_any() }}</li>
                {(!o.mismatched.is_empty()).then(|| view! { <li class="bad">{tr("rt.mismatched")}": "{o.mismatched.join(", ")}</li> })}
                {(!o.rolled_back.is_empty()).then(|| view! { <li class="bad">{tr("rt.rolled_back")}": "{o.rolled_back.join(", ")}</li> })}
            </ul>
            {(ok && o.snapshot.is_some()).then(|| view! { <p class="muted small">{tr("rt.refetch")}</p> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msync_types::ratio::{RatioChoice, RatioValue};

    /// The page's English is the CLI's; the Chinese keeps only what the site sent.
    #[test]
    fn diff_warnings_are_worded_in_the_pages_language() {
        let warnings = [
            DiffWarning::EntryNotObject {
                model: "gpt-4o".into(),
            },
            DiffWarning::CurrentUnusable {
                model: "gpt-4o".into(),
                field: RatioField::ModelRatio,
                value: "\"oops\"".into(),
            },
            DiffWarning::WrongKind {
                model: "gpt-4o".into(),
                field: RatioField::ModelPrice,
                upstream: "a(3)".into(),
                value: "\"oops\"".into(),
            },
            DiffWarning::WrongKind {
                model: "gpt-4o".into(),
                field: RatioField::BillingMode,
                upstream: "a(3)".into(),
                value: "7".into(),
            },
            DiffWarning::UnknownTypes {
                names: vec!["future_ratio".into(), "x_ratio".into()],
            },
        ];
        for w in &warnings {
            assert_eq!(warning_text(Lang::En, w), w.to_string());
            let zh = warning_text(Lang::Zh, w);
            let mut rest = zh.clone();
            let values = [
                "gpt-4o",
                "model_ratio",
                "model_price",
                "billing_mode",
                "a(3)",
                "oops",
                "future_ratio",
                "x_ratio",
                "msync",
            ];
            for v in values {
                rest = rest.replace(v, " ");
            }
            assert!(
                !rest.chars().any(|c| c.is_ascii_alphabetic()),
                "English left in {zh:?}"
            );
        }
    }

    fn diff() -> RatioDiff {
        serde_json::from_value(serde_json::json!({
            "upstreams": ["a(3)", "b"],
            "rows": [
                {"model": "gpt-4o", "field": "model_ratio", "current": 1.25,
                 "cells": {"a(3)": {"value": 2.5}, "b": {"value": 3}},
                 "confidence": {}},
                {"model": "mystery", "field": "model_ratio", "current": null,
                 "cells": {"a(3)": {"value": 37.5}, "b": "same"},
                 "confidence": {"a(3)": false}}
            ],
            "tests": [], "warnings": []
        }))
        .unwrap()
    }

    #[test]
    fn clicking_a_cell_picks_it_and_clicking_it_again_drops_it() {
        let d = diff();
        let sel = RatioSelection::new();
        let sel = toggle_cell(sel, &Picks::new(), "gpt-4o", RatioField::ModelRatio, "a(3)");
        let r = sel.resolve(&d);
        assert_eq!(r.choices.len(), 1);
        assert_eq!(r.choices[0].value, RatioValue::Number(2.5));
        // Another column replaces the pick.
        let sel = toggle_cell(sel, &picks_of(&r), "gpt-4o", RatioField::ModelRatio, "b");
        let r = sel.resolve(&d);
        assert_eq!(r.choices[0].upstream.as_deref(), Some("b"));
        assert_eq!(r.choices[0].value, RatioValue::Number(3.0));
        // The same column again drops it.
        let sel = toggle_cell(sel, &picks_of(&r), "gpt-4o", RatioField::ModelRatio, "b");
        assert!(sel.resolve(&d).choices.is_empty());
    }

    #[test]
    fn picks_map_cells_to_their_column() {
        let r = Resolved {
            choices: vec![RatioChoice {
                model: "m".into(),
                field: RatioField::CompletionRatio,
                value: RatioValue::Number(1.0),
                upstream: Some("x(1)".into()),
            }],
            skipped: vec![],
            locked: vec![],
        };
        let p = picks_of(&r);
        assert_eq!(
            p.get(&("m".to_string(), RatioField::CompletionRatio)),
            Some(&"x(1)".to_string())
        );
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn upstream_notes_read_like_the_cli_in_english_and_are_chinese_in_chinese() {
        for n in [
            UpstreamNote::PricingInsteadOfRatioConfig,
            UpstreamNote::RatioConfigNotExposed {
                pricing_error: "502 Bad Gateway".into(),
            },
        ] {
            assert_eq!(note_text(Lang::En, &n), n.to_string());
            let zh = note_text(Lang::Zh, &n);
            assert!(
                zh.contains("ExposeRatioEnabled") && zh.contains("/api/pricing"),
                "{zh}"
            );
            assert!(!zh.contains("not exposed"), "{zh}");
        }
    }

    #[test]
    fn preview_values_are_shown_plainly() {
        assert_eq!(show_json(&None), "—");
        assert_eq!(show_json(&Some(serde_json::json!(2.5))), "2.5");
        assert_eq!(show_json(&Some(serde_json::json!(3))), "3");
        assert_eq!(show_json(&Some(serde_json::json!("tiered"))), "\"tiered\"");
    }
}

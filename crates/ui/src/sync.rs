//! Sync: the last run of the chosen site, live progress, actions, filters, results, diffs and the
//! dry-run plan review. Everything shown comes from the worker's replies and events.

use crate::api;
use crate::common::*;
use crate::format::{duration, fill};
use crate::i18n::lookup;
use crate::options::Shell;
use crate::reasons;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::error::ErrorClass;
use msync_types::model::{ChannelId, SiteId};
use msync_types::protocol::{Command, ItemFilter, Reply};
use msync_types::record::{ItemResult, ItemStatus, RunHead, RunMode, RunState};
use msync_types::run::Selection;
use std::collections::HashSet;

/// Everything the sync screen's parts share.
#[derive(Clone, Copy)]
struct SyncCtx {
    site: Signal<SiteId>,
    run: RwSignal<Option<(RunHead, Vec<ItemResult>)>>,
    excluded: RwSignal<HashSet<String>>,
    filter: RwSignal<Option<ItemStatus>>,
    search: RwSignal<String>,
    selected: RwSignal<HashSet<String>>,
    diff: RwSignal<Option<ItemResult>>,
    notice: RwSignal<Notice>,
    running: Signal<bool>,
}

impl SyncCtx {
    fn send(&self, cmd: Command, ok: &'static str) {
        send_then(cmd, self.notice, ok);
    }
    fn start(&self, selection: Selection, dry_run: bool) {
        self.send(
            Command::StartRun {
                site: self.site.get_untracked(),
                selection,
                dry_run,
            },
            if dry_run {
                "sync.dry_started"
            } else {
                "sync.started"
            },
        );
    }
}

#[component]
pub fn SyncScreen() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let app = app();
    let site = Signal::derive(move || SiteId(shell.site.get().unwrap_or_default()));
    let run = RwSignal::new(None::<(RunHead, Vec<ItemResult>)>);
    let loaded = RwSignal::new(false);
    let excluded = RwSignal::new(HashSet::new());
    let notice = RwSignal::new(Notice::None);
    let running = Signal::derive(move || {
        let id = site.get().0;
        app.progress.with(|m| m.contains_key(&id))
            || shell
                .current()
                .map(|s| s.running.is_some())
                .unwrap_or(false)
    });
    let ctx = SyncCtx {
        site,
        run,
        excluded,
        filter: RwSignal::new(None),
        search: RwSignal::new(String::new()),
        selected: RwSignal::new(HashSet::new()),
        diff: RwSignal::new(None),
        notice,
        running,
    };
    provide_context(ctx);
    // Issue 21: channel health and its sort.
    crate::probe::ProbeCtx::provide(site);
    // Load the latest run and the exclusions whenever the site changes or a run ends.
    Effect::new(move |_| {
        app.runs_changed.track();
        let site = site.get();
        spawn_local(async move {
            match api::call(&Command::GetRun {
                site: site.clone(),
                run: None,
                filter: ItemFilter::default(),
            })
            .await
            {
                Reply::Run { head, items } => run.set(Some((head, items))),
                Reply::Error {
                    class: ErrorClass::NotFound,
                    ..
                } => run.set(None),
                other => notice.set(Notice::Error(Said::reply(other))),
            }
            loaded.set(true);
            if let Reply::Settings { settings } = api::call(&Command::GetSettings { site }).await {
                excluded.set(
                    settings
                        .channels
                        .iter()
                        .filter(|(_, c)| c.excluded)
                        .map(|(id, _)| id.clone())
                        .collect(),
                );
            }
        });
    });
    // Patch rows live as channels finish.
    Effect::new(move |_| {
        if let Some((s, item)) = app.last_item.get() {
            if s == site.get_untracked().0 {
                run.update(|r| {
                    if let Some((_, items)) = r {
                        match items.iter_mut().find(|i| i.channel_id == item.channel_id) {
                            Some(slot) => *slot = item,
                            None => items.push(item),
                        }
                    }
                });
            }
        }
    });
    view! {
        <section>
            <h2>{tr("sync.title")}</h2>
            <p class="muted">{tr("sync.subtitle")}</p>
            <RunOverview />
            <LiveProgress />
            {move || run.get().map(|(head, _)| view! { <StatsCards head=head /> })}
            <crate::probe::ProbeSummary run=run />
            <ActionBar />
            <NoticeLine notice=notice />
            <PlanReview />
            {move || match (loaded.get(), run.with(|r| r.is_some())) {
                (false, _) => view! { <p class="muted">{tr("common.loading")}</p> }.into_any(),
                (true, false) => view! { <p class="empty muted" data-testid="no-runs">{tr("sync.no_runs")}</p> }.into_any(),
                (true, true) => view! { <StatusChips /> <ResultsTable /> }.into_any(),
            }}
            <DiffView />
        </section>
    }
}

#[component]
fn RunOverview() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let lang = app().lang;
    move || {
        shell.current().map(|st| {
            let next = st.next_run_ms;
            view! {
                <div class="overview" data-testid="overview">
                    <span><span class="muted">{tr("sync.auto")}": "</span>
                        <strong>{move || if next.is_some() { t("common.on") } else { t("common.off") }}</strong></span>
                    <span><span class="muted">{tr("sync.next_run")}": "</span>
                        {move || next.map(api::local_time).unwrap_or_else(|| lookup(lang.get(), "sync.not_scheduled").into())}</span>
                    <span class="muted">{st.site.name.clone()}" · "{st.site.kind.label()}</span>
                </div>
            }
        })
    }
}

#[component]
fn LiveProgress() -> impl IntoView {
    let ctx = expect_context::<SyncCtx>();
    let app = app();
    let shell = expect_context::<Shell>();
    move || {
        let id = ctx.site.get().0;
        app.progress
            .with(|m| m.get(&id).cloned())
            .or_else(|| shell.current().and_then(|s| s.running))
            .map(|p| {
                view! {
                    <div class="card">
                        <strong>{tr("sync.running")}</strong>
                        <ProgressBar progress=p />
                    </div>
                }
            })
    }
}

#[component]
fn StatsCards(head: RunHead) -> impl IntoView {
    let shell = expect_context::<Shell>();
    let lang = app().lang;
    let t0 = &head.totals;
    let card = |label: &'static str, value: String, class: &'static str| {
        view! {
            <div class=format!("stat {class}")>
                <div class="stat-label">{tr(label)}</div>
                <div class="stat-value">{value}</div>
            </div>
        }
    };
    let next = shell.current().and_then(|s| s.next_run_ms);
    let mode_id = mode_id(head.mode);
    view! {
        <div class="card" data-testid="stats">
            <div class="row">
                <h3>{tr("sync.last_execution")}</h3>
                <span class="badge">{tr(mode_id)}</span>
                {(head.state == RunState::Failed).then(|| view! { <span class="badge st-failed">{tr("run.failed")}</span> })}
                {(head.state == RunState::Running).then(|| view! { <span class="badge st-running">{tr("status.running")}</span> })}
                {(head.state == RunState::Cancelled).then(|| view! { <span class="badge" data-testid="run-cancelled">{tr("run.cancelled")}</span> })}
            </div>
            {head.error.as_ref().and_then(error_hint)}
            {head.error.clone().map(|e| view! { <p class="notice err" role="alert" data-testid="run-error">{engine_tr(e, reasons::error_text)}</p> })}
            {head.note.clone().map(|n| view! { <p class="muted small" data-testid="run-note">{engine_tr(n, reasons::run_note_text)}</p> })}
            <div class="stats">
                {card("stats.total", t0.total.to_string(), "")}
                {card("status.success", t0.success.to_string(), "st-success")}
                {card("status.unchanged", t0.unchanged.to_string(), "st-unchanged")}
                {card("status.failed", t0.failed.to_string(), "st-failed")}
                {card("status.skipped", t0.skipped.to_string(), "st-skipped")}
                {card("status.needs_review", t0.needs_review.to_string(), "st-needs_review")}
                {card("stats.duration", duration(head.duration_ms), "")}
            </div>
            <div class="times">
                <span><span class="muted">{tr("stats.start")}": "</span>{api::local_time(head.started_ms)}</span>
                <span><span class="muted">{tr("stats.end")}": "</span>{head.finished_ms.map(api::local_time).unwrap_or_else(|| "—".into())}</span>
                <span><span class="muted">{tr("sync.next_run")}": "</span>
                    {move || next.map(api::local_time).unwrap_or_else(|| lookup(lang.get(), "sync.not_scheduled").into())}</span>
            </div>
        </div>
    }
}

pub fn mode_id(m: RunMode) -> &'static str {
    match m {
        RunMode::All => "mode.all",
        RunMode::Selected => "mode.selected",
        RunMode::Failed => "mode.failed",
        RunMode::DryRun => "mode.dry_run",
        RunMode::Apply => "mode.apply",
        RunMode::Revert => "mode.revert",
        RunMode::Redirect => "mode.redirect",
    }
}

#[component]
fn ActionBar() -> impl IntoView {
    let ctx = expect_context::<SyncCtx>();
    let lang = app().lang;
    let n_selected = move || ctx.selected.with(|s| s.len());
    let failed = move || {
        ctx.run
            .with(|r| r.as_ref().map(|(h, _)| h.totals.failed).unwrap_or(0))
    };
    let can_revert = move || {
        ctx.run.with(|r| {
            r.as_ref().is_some_and(|(h, items)| {
                h.mode != RunMode::DryRun && items.iter().any(|i| i.snapshot)
            })
        })
    };
    let busy = ctx.running;
    view! {
        <div class="actionbar" role="toolbar" aria-label=tr("sync.actions")>
            <button class="primary" data-testid="run-all" disabled=busy on:click=move |_| ctx.start(Selection::All, false)>
                <span aria-hidden="true">"↻ "</span>{tr("sync.run_all")}
            </button>
            <button data-testid="run-selected" disabled=move || busy.get() || n_selected() == 0 on:click=move |_| {
                let ids = ctx.selected.get_untracked().into_iter().map(ChannelId).collect();
                ctx.start(Selection::Channels(ids), false);
            }>{move || fill(lookup(lang.get(), "sync.run_selected"), &[&n_selected()])}</button>
            <button data-testid="retry-failed" disabled=move || busy.get() || failed() == 0 on:click=move |_| ctx.start(Selection::FailedOnly, false)>
                {tr("sync.retry_failed")}
            </button>
            <button data-testid="dry-run" disabled=busy on:click=move |_| {
                let sel = ctx.selected.get_untracked();
                let selection = if sel.is_empty() { Selection::All } else { Selection::Channels(sel.into_iter().map(ChannelId).collect()) };
                ctx.start(selection, true);
            }>{tr("sync.dry_run")}</button>
            <button data-testid="cancel" disabled=move || !busy.get() on:click=move |_| {
                ctx.send(Command::CancelRun { site: ctx.site.get_untracked() }, "sync.cancelled");
            }>{tr("common.cancel")}</button>
            <span class="spacer"></span>
            <button data-testid="revert-run" disabled=move || busy.get() || !can_revert() on:click=move |_| {
                if let Some((h, _)) = ctx.run.get_untracked() {
                    ctx.send(Command::Revert { site: ctx.site.get_untracked(), run: h.id, channel: None, force: false }, "sync.reverted");
                }
            }>{tr("sync.revert_run")}</button>
        </div>
    }
}

/// Shown when the latest run is a finished dry run: its plan can be applied.
#[component]
fn PlanReview() -> impl IntoView {
    let ctx = expect_context::<SyncCtx>();
    let lang = app().lang;
    move || {
        let (head, items) = ctx.run.get()?;
        if head.mode != RunMode::DryRun || head.state != RunState::Finished {
            return None;
        }
        let changes: HashSet<String> = items
            .iter()
            .filter(|i| matches!(i.status, ItemStatus::Success | ItemStatus::NeedsReview))
            .map(|i| i.channel_id.0.clone())
            .collect();
        let n_changes = changes.len();
        let run_id = head.id.clone();
        let run_id2 = head.id.clone();
        let n_sel = move || {
            ctx.selected
                .with(|s| s.iter().filter(|id| changes.contains(*id)).count())
        };
        let n_sel2 = n_sel.clone();
        Some(view! {
            <div class="card plan" data-testid="plan-review" role="region" aria-label=tr("plan.title")>
                <h3>{tr("plan.title")}</h3>
                <p>{move || fill(lookup(lang.get(), "plan.body"), &[&n_changes])}</p>
                <crate::notify::PricingNotes pricing=head.pricing.as_deref().cloned() />
                <div class="row">
                    <button class="primary" data-testid="apply-all" disabled=move || n_changes == 0 || ctx.running.get() on:click=move |_| {
                        ctx.send(Command::ApplyPlan { site: ctx.site.get_untracked(), run: run_id.clone(), channels: None, force: false }, "plan.applying");
                    }>{move || fill(lookup(lang.get(), "plan.apply_all"), &[&n_changes])}</button>
                    <button data-testid="apply-selected" disabled=move || n_sel() == 0 || ctx.running.get() on:click=move |_| {
                        let ids = ctx.selected.get_untracked().into_iter().map(ChannelId).collect();
                        ctx.send(Command::ApplyPlan { site: ctx.site.get_untracked(), run: run_id2.clone(), channels: Some(ids), force: false }, "plan.applying");
                    }>{move || fill(lookup(lang.get(), "plan.apply_selected"), &[&n_sel2()])}</button>
                </div>
            </div>
        })
    }
}

#[component]
fn StatusChips() -> impl IntoView {
    let ctx = expect_context::<SyncCtx>();
    let lang = app().lang;
    let count = move |s: Option<ItemStatus>| {
        ctx.run.with(|r| {
            r.as_ref()
                .map(|(_, items)| {
                    items
                        .iter()
                        .filter(|i| s.is_none_or(|s| i.status == s))
                        .count()
                })
                .unwrap_or(0)
        })
    };
    let chip = move |s: Option<ItemStatus>| {
        let label = s.map(status_id).unwrap_or("status.all");
        let class = s
            .map(|s| format!("chip st-{}", s.as_str()))
            .unwrap_or_else(|| "chip".into());
        view! {
            <button
                class=class
                class:active=move || ctx.filter.get() == s
                aria-pressed=move || (ctx.filter.get() == s).to_string()
                on:click=move |_| ctx.filter.set(s)
                data-testid=format!("chip-{}", s.map(|s| s.as_str()).unwrap_or("all"))
            >
                {tr(label)}" "<span class="chip-n">{move || count(s)}</span>
            </button>
        }
    };
    view! {
        <div class="filters">
            <div class="chips" role="group" aria-label=tr("sync.filter")>
                {chip(None)}
                {ItemStatus::ALL.into_iter().filter(|s| s.is_final()).map(|s| chip(Some(s))).collect_view()}
            </div>
            <label class="search">
                <span class="sr-only">{tr("sync.search")}</span>
                <input
                    type="search"
                    data-testid="search"
                    placeholder=move || lookup(lang.get(), "sync.search")
                    prop:value=move || ctx.search.get()
                    on:input=move |ev| ctx.search.set(event_target_value(&ev))
                />
            </label>
            <crate::probe::HealthSort />
        </div>
    }
}

/// Rows rendered at first, and added by each "Show more": a 5,000-channel run stays a light page.
const PAGE_ROWS: usize = 200;

#[component]
fn ResultsTable() -> impl IntoView {
    let ctx = expect_context::<SyncCtx>();
    let probe = expect_context::<crate::probe::ProbeCtx>();
    let lang = app().lang;
    let shown = RwSignal::new(PAGE_ROWS);
    // A new filter, search or site starts from the first page again.
    Effect::new(move |_| {
        ctx.filter.track();
        ctx.search.track();
        ctx.site.track();
        shown.set(PAGE_ROWS);
    });
    // Ids of every matching row (for select-all), and the rows on screen.
    let rows = Memo::new(move |_| {
        let (filter, text, limit) = (ctx.filter.get(), ctx.search.get(), shown.get());
        ctx.run.with(|r| {
            let mut ids = Vec::new();
            let mut page = Vec::new();
            let items = r
                .as_ref()
                .map(|(_, items)| items.as_slice())
                .unwrap_or_default();
            let mut matching: Vec<&ItemResult> = items
                .iter()
                .filter(|i| filter.is_none_or(|s| i.status == s) && i.matches_text(&text))
                .collect();
            probe.sort_rows(&mut matching); // issue 21: sort by channel health
            for i in matching {
                if page.len() < limit {
                    page.push(i.clone());
                }
                ids.push(i.channel_id.0.clone());
            }
            (ids, page)
        })
    });
    let all_selected = move || {
        rows.with(|(ids, _)| {
            !ids.is_empty() && ctx.selected.with(|s| ids.iter().all(|id| s.contains(id)))
        })
    };
    let toggle_all = move |_| {
        let ids = rows.with_untracked(|(ids, _)| ids.clone());
        let all = all_selected();
        ctx.selected.update(|s| {
            for id in ids {
                if all {
                    s.remove(&id);
                } else {
                    s.insert(id);
                }
            }
        });
    };
    let total = move || rows.with(|(ids, _)| ids.len());
    let on_screen = move || rows.with(|(_, page)| page.len());
    view! {
        <div class="tablewrap">
            <table class="results" data-testid="results">
                <thead>
                    <tr>
                        <th class="sel"><input type="checkbox" aria-label=tr("sync.select_all") prop:checked=all_selected on:change=toggle_all /></th>
                        <th>{tr("col.status")}</th>
                        <th>{tr("col.id")}</th>
                        <th>{tr("col.name")}</th>
                        <th>{tr("col.http")}</th>
                        <th class="msgcol">{tr("col.message")}</th>
                        <th class="num">{tr("col.attempts")}</th>
                        <th class="num">{tr("col.duration")}</th>
                        <th>{tr("col.finished")}</th>
                        <th>{tr("col.changes")}</th>
                        <th>{tr("col.actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    {move || (total() == 0).then(|| view! { <tr><td colspan="11" class="muted center">{tr("sync.no_match")}</td></tr> })}
                    // Keyed rows: a finished channel re-renders its own row, not the table.
                    <For
                        each=move || rows.with(|(_, page)| page.clone())
                        key=|i| (i.channel_id.0.clone(), i.status, i.finished_ms, i.attempts)
                        children=|item| view! { <ResultRow item=item /> }
                    />
                </tbody>
            </table>
        </div>
        {move || (on_screen() < total()).then(|| view! {
            <p class="row">
                <span class="muted" data-testid="rows-shown">{move || fill(lookup(lang.get(), "sync.rows_shown"), &[&on_screen(), &total()])}</span>
                <button class="small" data-testid="show-more" on:click=move |_| shown.update(|n| *n += PAGE_ROWS)>{tr("sync.show_more")}</button>
            </p>
        })}
    }
}

#[component]
fn ResultRow(item: ItemResult) -> impl IntoView {
    let ctx = expect_context::<SyncCtx>();
    let lang = app().lang;
    let id = item.channel_id.0.clone();
    let (id_sel, id_chk, id_ex, id_ex2) = (id.clone(), id.clone(), id.clone(), id.clone());
    let checked = move || ctx.selected.with(|s| s.contains(&id_chk));
    let is_excluded = Signal::derive(move || ctx.excluded.with(|s| s.contains(&id_ex)));
    let message = item.clone();
    let class = item.error_class.map(|c| c.as_str().to_string());
    let sizes = item.sizes();
    let has_diff = sizes.old > 0 || sizes.new > 0;
    let diff_item = item.clone();
    let can_revert = item.snapshot
        && ctx
            .run
            .with_untracked(|r| r.as_ref().is_some_and(|(h, _)| h.mode != RunMode::DryRun));
    let name = item.channel_name.clone();
    let (added, removed) = (sizes.added, sizes.removed);
    let finished = item
        .status
        .is_final()
        .then(|| api::local_clock(item.finished_ms));
    view! {
        <tr class=format!("row-{}", item.status.as_str()) data-testid="result-row" data-channel=id.clone()>
            <td class="sel">
                <input type="checkbox" aria-label=move || fill(lookup(lang.get(), "sync.select_row"), &[&name])
                    prop:checked=checked
                    on:change=move |_| {
                        let id = id_sel.clone();
                        ctx.selected.update(|s| if !s.remove(&id) { s.insert(id); });
                    } />
            </td>
            <td><StatusBadge status=item.status /></td>
            <td class="mono">{id.clone()}</td>
            <td class="name">
                {item.channel_name.clone()}{move || is_excluded.get().then(|| view! { " " <span class="badge">{tr("sync.excluded")}</span> })}
                <crate::probe::HealthLine channel=id.clone() />
            </td>
            <td class="mono">{item.http_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
            <td class="msgcol">
                {class.map(|c| view! { <span class="badge st-failed small">{c}</span>" " })}
                <span class="msg">{engine_tr(message, reasons::item_text)}</span>
                <crate::notify::PriceBadge price=item.price.clone() />
                <crate::probe::HeldBack item=item.clone() />
            </td>
            <td class="num">{item.attempts}</td>
            <td class="num">{duration(item.duration_ms)}</td>
            <td class="mono">{finished.unwrap_or_else(|| "—".into())}</td>
            <td class="mono">
                <span class="added">{format!("+{added}")}</span>" "
                <span class="removed">{format!("−{removed}")}</span>
            </td>
            <td class="actions">
                <button class="iconbtn" data-testid="sync-row" disabled=ctx.running
                    aria-label=tr("row.sync") title=tr("row.sync")
                    on:click={
                        let id = id.clone();
                        move |_| ctx.start(Selection::Channels(vec![ChannelId(id.clone())]), false)
                    }>{icon(Icon::Sync)}</button>
                <button class="iconbtn" data-testid="exclude-row"
                    aria-pressed=move || if is_excluded.get() { "true" } else { "false" }
                    aria-label=move || if is_excluded.get() { t("row.include") } else { t("row.exclude") }
                    title=move || if is_excluded.get() { t("row.include") } else { t("row.exclude") }
                    on:click=move |_| {
                    let excluded = !ctx.excluded.with_untracked(|s| s.contains(&id_ex2));
                    let id = id_ex2.clone();
                    let site = ctx.site.get_untracked();
                    let notice = ctx.notice;
                    spawn_local(async move {
                        match api::call(&Command::SetChannelExcluded { site, channel: ChannelId(id.clone()), excluded }).await {
                            Reply::Ok | Reply::Settings { .. } => ctx.excluded.update(|s| { if excluded { s.insert(id); } else { s.remove(&id); } }),
                            other => notice.set(Notice::Error(Said::reply(other))),
                        }
                    });
                }>{move || if is_excluded.get() { icon(Icon::Include).into_any() } else { icon(Icon::Exclude).into_any() }}</button>
                {has_diff.then(|| view! {
                    <button class="iconbtn" data-testid="view-diff" aria-label=tr("row.diff") title=tr("row.diff")
                        on:click=move |_| ctx.diff.set(Some(diff_item.clone()))>{icon(Icon::Diff)}</button>
                })}
                {can_revert.then(|| {
                    let id = id.clone();
                    view! {
                        <button class="iconbtn" data-testid="revert-row" disabled=ctx.running
                            aria-label=tr("row.revert") title=tr("row.revert")
                            on:click=move |_| {
                            if let Some((h, _)) = ctx.run.get_untracked() {
                                ctx.send(Command::Revert { site: ctx.site.get_untracked(), run: h.id, channel: Some(ChannelId(id.clone())), force: false }, "sync.reverted");
                            }
                        }>{icon(Icon::Revert)}</button>
                    }
                })}
            </td>
        </tr>
    }
}

/// Old vs new model list of one channel.
#[component]
fn DiffView() -> impl IntoView {
    let ctx = expect_context::<SyncCtx>();
    let lang = app().lang;
    move || {
        ctx.diff.get().map(|item| {
            let sizes = item.sizes();
            let cut = item.lists_cut.map(|full| {
                let (old_shown, new_shown) = (item.old.len(), item.new.len());
                view! {
                    <p class="notice info" data-testid="diff-cut">
                        {move || fill(lookup(lang.get(), "diff.cut"), &[&old_shown, &full.old, &new_shown, &full.new])}
                    </p>
                }
            });
            let removed: HashSet<&String> = item.removed.iter().collect();
            let added: HashSet<&String> = item.added.iter().collect();
            let old = item
                .old
                .iter()
                .map(|m| {
                    let cls = if removed.contains(m) { "removed" } else { "" };
                    view! { <li class=cls>{if removed.contains(m) { "− " } else { "  " }}{m.clone()}</li> }
                })
                .collect_view();
            let new = item
                .new
                .iter()
                .map(|m| {
                    let cls = if added.contains(m) { "added" } else { "" };
                    view! { <li class=cls>{if added.contains(m) { "+ " } else { "  " }}{m.clone()}</li> }
                })
                .collect_view();
            view! {
                <Dialog labelledby="diff-title" testid="diff" on_close=move |_| ctx.diff.set(None)>
                    <div class="row">
                        <h3 id="diff-title">{tr("diff.title")}": "{item.channel_name.clone()}" (#"{item.channel_id.0.clone()}")"</h3>
                        <span class="spacer"></span>
                        <button on:click=move |_| ctx.diff.set(None)>{tr("common.close")}</button>
                    </div>
                    <p class="muted small">
                        <span class="added">{format!("+{}", sizes.added)}</span>" "
                        <span class="removed">{format!("−{}", sizes.removed)}</span>" · "
                        {engine_tr(item.reason.clone(), |l, r| r.as_ref().map(|r| reasons::item_reason_text(l, r)).unwrap_or_default())}
                    </p>
                    {cut}
                    <div class="diffcols">
                        <div><h4>{tr("diff.old")}" ("{sizes.old}")"</h4><ul class="models">{old}</ul></div>
                        <div><h4>{tr("diff.new")}" ("{sizes.new}")"</h4><ul class="models">{new}</ul></div>
                    </div>
                </Dialog>
            }
        })
    }
}

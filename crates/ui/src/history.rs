//! History: the runs of a site, one run's items, export as JSON or CSV.

use crate::api;
use crate::common::*;
use crate::format::duration;
use crate::options::Shell;
use crate::reasons;
use crate::sync::mode_id;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::model::SiteId;
use msync_types::protocol::{Command, ExportFormat, ItemFilter, Reply};
use msync_types::record::{ItemResult, RunHead, RunId, RunState, Trigger};

fn trigger_id(t: Trigger) -> &'static str {
    match t {
        Trigger::Manual => "trigger.manual",
        Trigger::Scheduled => "trigger.scheduled",
        Trigger::Retry => "trigger.retry",
        Trigger::Resume => "trigger.resume",
    }
}

fn state_id(s: RunState) -> &'static str {
    match s {
        RunState::Running => "status.running",
        RunState::Finished => "run.finished",
        RunState::Failed => "run.failed",
        RunState::Skipped => "status.skipped",
        RunState::Cancelled => "run.cancelled",
    }
}

#[component]
pub fn HistoryScreen() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let app = app();
    let site = Signal::derive(move || SiteId(shell.site.get().unwrap_or_default()));
    let runs = RwSignal::new(None::<Vec<RunHead>>);
    let detail = RwSignal::new(None::<(RunHead, Vec<ItemResult>)>);
    let notice = RwSignal::new(Notice::None);
    Effect::new(move |_| {
        app.runs_changed.track();
        let site = site.get();
        spawn_local(async move {
            match api::call(&Command::ListRuns { site }).await {
                Reply::Runs { runs: list } => runs.set(Some(list)),
                other => {
                    runs.set(Some(Vec::new()));
                    notice.set(Notice::Error(Said::reply(other)))
                }
            }
        });
    });
    let open = move |id: RunId| {
        let site = site.get_untracked();
        spawn_local(async move {
            match api::call(&Command::GetRun {
                site,
                run: Some(id),
                filter: ItemFilter::default(),
            })
            .await
            {
                Reply::Run { head, items } => detail.set(Some((head, items))),
                other => notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    let export = move |id: RunId, format: ExportFormat| {
        let site = site.get_untracked();
        spawn_local(async move {
            match api::call(&Command::ExportRun {
                site,
                run: id,
                format,
            })
            .await
            {
                Reply::Export {
                    filename,
                    mime,
                    content,
                } => api::download(&filename, &mime, &content),
                other => notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    view! {
        <section>
            <h2>{tr("nav.history")}</h2>
            <NoticeLine notice=notice />
            {move || match runs.get() {
                None => view! { <p class="muted">{tr("common.loading")}</p> }.into_any(),
                Some(list) if list.is_empty() => view! { <p class="empty muted">{tr("sync.no_runs")}</p> }.into_any(),
                Some(list) => view! {
                    <div class="tablewrap">
                        <table class="results" data-testid="runs">
                            <thead><tr>
                                <th>{tr("stats.start")}</th><th>{tr("hist.trigger")}</th><th>{tr("hist.mode")}</th><th>{tr("hist.state")}</th>
                                <th class="num">{tr("stats.total")}</th><th class="num">{tr("status.success")}</th><th class="num">{tr("status.unchanged")}</th>
                                <th class="num">{tr("status.failed")}</th><th class="num">{tr("status.skipped")}</th><th class="num">{tr("status.needs_review")}</th>
                                <th class="num">{tr("stats.duration")}</th><th>{tr("col.actions")}</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|h| {
                                    let (id1, id2, id3) = (h.id.clone(), h.id.clone(), h.id.clone());
                                    let tt = &h.totals;
                                    view! {
                                        <tr data-testid="run-row">
                                            <td class="mono">{api::local_time(h.started_ms)}</td>
                                            <td>{tr(trigger_id(h.trigger))}</td>
                                            <td>{tr(mode_id(h.mode))}</td>
                                            <td>{tr(state_id(h.state))}</td>
                                            <td class="num">{tt.total}</td>
                                            <td class="num st-success">{tt.success}</td>
                                            <td class="num">{tt.unchanged}</td>
                                            <td class="num st-failed">{tt.failed}</td>
                                            <td class="num">{tt.skipped}</td>
                                            <td class="num">{tt.needs_review}</td>
                                            <td class="num">{duration(h.duration_ms)}</td>
                                            <td class="actions">
                                                <button class="small" data-testid="run-details" on:click=move |_| open(id1.clone())>{tr("hist.details")}</button>
                                                <button class="small" data-testid="export-json" on:click=move |_| export(id2.clone(), ExportFormat::Json)>"JSON"</button>
                                                <button class="small" data-testid="export-csv" on:click=move |_| export(id3.clone(), ExportFormat::Csv)>"CSV"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
            {move || detail.get().map(|(head, items)| view! { <RunDetail head=head items=items close=Callback::new(move |_| detail.set(None)) /> })}
        </section>
    }
}

#[component]
fn RunDetail(head: RunHead, items: Vec<ItemResult>, close: Callback<()>) -> impl IntoView {
    view! {
        <div class="card" data-testid="run-detail">
            <div class="row">
                <h3>{tr("hist.run")}" "<span class="mono">{head.id.0.clone()}</span></h3>
                <span class="spacer"></span>
                <button on:click=move |_| close.run(())>{tr("common.close")}</button>
            </div>
            {head.error.as_ref().and_then(error_hint)}
            {head.error.clone().map(|e| view! { <p class="notice err" data-testid="run-error">{engine_tr(e, reasons::error_text)}</p> })}
            {head.note.clone().map(|n| view! { <p class="muted small" data-testid="run-note">{engine_tr(n, reasons::run_note_text)}</p> })}
            <div class="tablewrap">
                <table class="results">
                    <thead><tr>
                        <th>{tr("col.status")}</th><th>{tr("col.id")}</th><th>{tr("col.name")}</th><th>{tr("col.http")}</th>
                        <th class="msgcol">{tr("col.message")}</th><th class="num">{tr("col.attempts")}</th><th class="num">{tr("col.duration")}</th><th>{tr("col.changes")}</th>
                    </tr></thead>
                    <tbody>
                        {items.into_iter().map(|i| view! {
                            <tr>
                                <td><StatusBadge status=i.status /></td>
                                <td class="mono">{i.channel_id.0.clone()}</td>
                                <td>{i.channel_name.clone()}</td>
                                <td class="mono">{i.http_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td class="msgcol">{engine_tr(i.clone(), reasons::item_text)}</td>
                                <td class="num">{i.attempts}</td>
                                <td class="num">{duration(i.duration_ms)}</td>
                                <td class="mono"><span class="added">{format!("+{}", i.sizes().added)}</span>" "<span class="removed">{format!("−{}", i.sizes().removed)}</span></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
    }
}

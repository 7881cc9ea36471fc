//! The toolbar popup: per site the last run, the next run, live progress, quick actions.

use crate::api;
use crate::common::*;
use crate::format::{duration, fill, relative};
use crate::i18n::lookup;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::protocol::{Command, Reply, SiteStatus};
use msync_types::record::{ItemStatus, RunHead};
use msync_types::run::Selection;

#[component]
pub fn Popup() -> impl IntoView {
    let app = App::start();
    let status = RwSignal::new(None::<Result<Vec<SiteStatus>, Said>>);
    let notice = RwSignal::new(Notice::None);
    Effect::new(move |_| {
        app.runs_changed.track();
        spawn_local(async move {
            status.set(Some(match api::call(&Command::GetStatus).await {
                Reply::Status { sites } => Ok(sites),
                other => Err(Said::reply(other)),
            }));
        });
    });
    view! {
        <div class="popup">
            <header class="topbar">
                <h1>"msync"</h1>
                <span class="spacer"></span>
                <LangSwitch />
            </header>
            <NoticeLine notice=notice />
            {move || match status.get() {
                None => view! { <p class="muted">{tr("common.loading")}</p> }.into_any(),
                Some(Err(m)) => {
                    view! { <p class="notice err" role="alert">{move || m.text(app.lang.get())}</p> }
                        .into_any()
                }
                Some(Ok(sites)) if sites.is_empty() => view! { <FirstRun /> }.into_any(),
                Some(Ok(sites)) => sites
                    .into_iter()
                    .map(|s| view! { <PopupSiteCard status=s notice=notice /> })
                    .collect_view()
                    .into_any(),
            }}
            <div class="row">
                <button class="primary" on:click=move |_| api::open_options_page()>
                    {tr("popup.open_dashboard")}
                </button>
            </div>
        </div>
    }
}

#[component]
fn FirstRun() -> impl IntoView {
    view! {
        <div class="empty" data-testid="empty-sites">
            <p><strong>{tr("sites.empty_title")}</strong></p>
            <p class="muted">{tr("sites.empty_body")}</p>
            <button on:click=move |_| api::open_options_at("#sites/new")>{tr("sites.add")}</button>
        </div>
    }
}

#[component]
fn LastRunLine(head: RunHead) -> impl IntoView {
    let lang = app().lang;
    let totals = head.totals.clone();
    let chips = [
        ItemStatus::Success,
        ItemStatus::Unchanged,
        ItemStatus::Failed,
        ItemStatus::Skipped,
        ItemStatus::NeedsReview,
    ]
    .into_iter()
    .filter(|s| totals.get(*s) > 0 || *s == ItemStatus::Failed)
    .map(|s| {
        view! {
            <span class=format!("count st-{}", s.as_str()) title=tr(status_id(s))>
                <span aria-hidden="true">{status_icon(s)}" "</span>
                <span class="sr-only">{tr(status_id(s))}" "</span>
                {totals.get(s)}
            </span>
        }
    })
    .collect_view();
    let when = head.finished_ms.unwrap_or(head.started_ms);
    view! {
        <div class="lastrun">
            <span class="muted">{tr("popup.last_run")}</span>
            " "
            <span title=api::local_time(when)>{move || relative(api::now_ms(), when, lang.get())}</span>
            " · " {duration(head.duration_ms)}
            " · " {move || fill(lookup(lang.get(), "popup.channels_n"), &[&totals.total])}
            <div class="counts">{chips}</div>
        </div>
    }
}

#[component]
fn PopupSiteCard(status: SiteStatus, notice: RwSignal<Notice>) -> impl IntoView {
    let app = app();
    let lang = app.lang;
    let site_id = status.site.id.clone();
    let key = site_id.0.clone();
    let failed = status
        .last_run
        .as_ref()
        .map(|h| h.totals.failed)
        .unwrap_or(0);
    let initial = status.running.clone();
    let live = Memo::new(move |_| {
        app.progress
            .with(|m| m.get(&key).cloned())
            .or_else(|| initial.clone())
    });
    let running = move || live.with(|p| p.is_some());
    let next = status.next_run_ms;
    let (s1, s2) = (site_id.clone(), site_id.clone());
    view! {
        <section class="site-card" data-testid="site-card">
            <div class="row">
                <strong>{status.site.name.clone()}</strong>
                <span class="badge">{status.site.kind.label()}</span>
            </div>
            {match status.last_run.clone() {
                Some(h) => view! { <LastRunLine head=h /> }.into_any(),
                None => view! { <p class="muted">{tr("popup.never_run")}</p> }.into_any(),
            }}
            <p class="muted small">
                {tr("sync.next_run")}": "
                {move || match next {
                    Some(ms) => format!("{} ({})", api::local_time(ms), relative(api::now_ms(), ms, lang.get())),
                    None => lookup(lang.get(), "sync.not_scheduled").to_string(),
                }}
            </p>
            {move || live.get().map(|p| view! { <ProgressBar progress=p /> })}
            <div class="row">
                <button class="primary" disabled=running on:click=move |_| {
                    send_then(Command::StartRun { site: s1.clone(), selection: Selection::All, dry_run: false }, notice, "sync.started");
                }>{tr("sync.run_all")}</button>
                <button disabled=move || running() || failed == 0 on:click=move |_| {
                    send_then(Command::StartRun { site: s2.clone(), selection: Selection::FailedOnly, dry_run: false }, notice, "sync.started");
                }>{tr("sync.retry_failed")}</button>
            </div>
        </section>
    }
}

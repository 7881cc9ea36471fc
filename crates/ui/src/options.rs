//! The options page: a nav of screens over the sites the worker knows.

use crate::api;
use crate::common::*;
use crate::history::HistoryScreen;
use crate::notify::NotifyScreen;
use crate::ratios::RatiosScreen;
use crate::redirect::RedirectScreen;
use crate::settings::SettingsScreen;
use crate::sites::SitesScreen;
use crate::sync::SyncScreen;
use crate::transfer::TransferScreen;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::protocol::{Command, Reply, SiteStatus};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tab {
    Sites,
    Sync,
    Settings,
    Redirect,
    Ratios,
    History,
    /// Notification sinks (issue 19): global, not per site.
    Notify,
    Transfer,
}

impl Tab {
    const ALL: [Tab; 8] = [
        Tab::Sites,
        Tab::Sync,
        Tab::Settings,
        Tab::Redirect,
        Tab::Ratios,
        Tab::History,
        Tab::Notify,
        Tab::Transfer,
    ];

    fn slug(self) -> &'static str {
        match self {
            Tab::Sites => "sites",
            Tab::Sync => "sync",
            Tab::Settings => "settings",
            Tab::Redirect => "redirect",
            Tab::Ratios => "ratios",
            Tab::History => "history",
            Tab::Notify => "notify",
            Tab::Transfer => "transfer",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Sites => "nav.sites",
            Tab::Sync => "nav.sync",
            Tab::Settings => "nav.settings",
            Tab::Redirect => "nav.redirect",
            Tab::Ratios => "nav.ratios",
            Tab::History => "nav.history",
            Tab::Notify => "nav.notify",
            Tab::Transfer => "nav.transfer",
        }
    }

    fn from_hash(hash: &str) -> Option<Tab> {
        let slug = hash
            .trim_start_matches('#')
            .split('/')
            .next()
            .unwrap_or_default();
        Tab::ALL.into_iter().find(|t| t.slug() == slug)
    }

    /// Screens that work on one site.
    fn per_site(self) -> bool {
        matches!(
            self,
            Tab::Sync | Tab::Settings | Tab::Redirect | Tab::Ratios | Tab::History
        )
    }
}

/// What every screen of the options page can reach.
#[derive(Clone, Copy)]
pub struct Shell {
    pub tab: RwSignal<Tab>,
    /// Every site with its status (`None` while loading).
    pub sites: RwSignal<Option<Vec<SiteStatus>>>,
    /// The site the Sync/Settings/History screens show.
    pub site: RwSignal<Option<String>>,
    pub reload_sites: Callback<()>,
}

impl Shell {
    pub fn current(&self) -> Option<SiteStatus> {
        let id = self.site.get()?;
        self.sites
            .with(|s| s.as_ref()?.iter().find(|x| x.site.id.0 == id).cloned())
    }
}

#[component]
pub fn Options() -> impl IntoView {
    let app = App::start();
    let hash = api::location_hash();
    let start_tab = Tab::from_hash(&hash).unwrap_or(Tab::Sync);
    let tab = RwSignal::new(start_tab);
    let sites = RwSignal::new(None::<Vec<SiteStatus>>);
    let site = RwSignal::new(None::<String>);
    let load_error = RwSignal::new(Notice::None);
    let version = RwSignal::new(String::new());
    let reload_sites = Callback::new(move |_| {
        spawn_local(async move {
            match api::call(&Command::GetStatus).await {
                Reply::Status { sites: list } => {
                    let keep = site
                        .get_untracked()
                        .filter(|id| list.iter().any(|s| &s.site.id.0 == id));
                    let next = keep.or_else(|| list.first().map(|s| s.site.id.0.clone()));
                    if site.get_untracked() != next {
                        site.set(next);
                    }
                    if list.is_empty() && tab.get_untracked() != Tab::Transfer {
                        tab.set(Tab::Sites);
                    }
                    sites.set(Some(list));
                    load_error.set(Notice::None);
                }
                other => {
                    sites.set(Some(Vec::new()));
                    load_error.set(Notice::Error(Said::reply(other)));
                }
            }
        });
    });
    let shell = Shell {
        tab,
        sites,
        site,
        reload_sites,
    };
    provide_context(shell);
    reload_sites.run(());
    // A finished run changes "last run" and "next run" of its site.
    Effect::new(move |prev: Option<()>| {
        app.runs_changed.track();
        if prev.is_some() {
            reload_sites.run(());
        }
    });
    spawn_local(async move {
        if let Reply::Pong { version: v, .. } = api::call(&Command::Ping).await {
            version.set(v);
        }
    });
    // Screens are rebuilt only when these change, not on every status refresh.
    let loaded = Memo::new(move |_| sites.with(|s| s.is_some()));
    let has_site = Memo::new(move |_| site.with(|s| s.is_some()));
    view! {
        <header class="topbar">
            <h1>"msync"</h1>
            <span class="muted" data-testid="version">{move || (!version.get().is_empty()).then(|| format!("v{}", version.get()))}</span>
            <span class="spacer"></span>
            <SitePicker />
            <LangSwitch />
        </header>
        <div class="layout">
            <nav class="sidenav" aria-label=tr("nav.label")>
                {Tab::ALL.into_iter().map(|t| view! {
                    <button
                        class="navbtn"
                        class:active=move || tab.get() == t
                        aria-current=move || (tab.get() == t).then_some("page")
                        data-testid=format!("nav-{}", t.slug())
                        on:click=move |_| { tab.set(t); api::set_location_hash(t.slug()); }
                    >{tr(t.label())}</button>
                }).collect_view()}
            </nav>
            <main>
                <NoticeLine notice=load_error />
                {move || {
                    let t = tab.get();
                    if !loaded.get() {
                        return view! { <p class="muted">{tr("common.loading")}</p> }.into_any();
                    }
                    if t.per_site() && !has_site.get() {
                        return view! { <NoSiteYet /> }.into_any();
                    }
                    match t {
                        Tab::Sites => view! { <SitesScreen /> }.into_any(),
                        Tab::Sync => view! { <SyncScreen /> }.into_any(),
                        Tab::Settings => view! { <SettingsScreen /> }.into_any(),
                        Tab::Redirect => view! { <RedirectScreen /> }.into_any(),
                        Tab::Ratios => view! { <RatiosScreen /> }.into_any(),
                        Tab::History => view! { <HistoryScreen /> }.into_any(),
                        Tab::Notify => view! { <NotifyScreen /> }.into_any(),
                        Tab::Transfer => view! { <TransferScreen /> }.into_any(),
                    }
                }}
            </main>
        </div>
    }
}

#[component]
fn NoSiteYet() -> impl IntoView {
    let shell = expect_context::<Shell>();
    view! {
        <section class="empty" data-testid="empty-sites">
            <p><strong>{tr("sites.empty_title")}</strong></p>
            <p class="muted">{tr("sites.empty_body")}</p>
            <button class="primary" on:click=move |_| shell.tab.set(Tab::Sites)>{tr("sites.add")}</button>
        </section>
    }
}

/// Which site the per-site screens show (hidden with fewer than two sites).
#[component]
fn SitePicker() -> impl IntoView {
    let shell = expect_context::<Shell>();
    move || {
        let list = shell.sites.get().unwrap_or_default();
        (list.len() > 1).then(|| {
            view! {
                <label class="picker">
                    <span class="muted">{tr("nav.site")}</span>
                    <select
                        data-testid="site-picker"
                        prop:value=move || shell.site.get().unwrap_or_default()
                        on:change=move |ev| shell.site.set(Some(event_target_value(&ev)))
                    >
                        {list.into_iter().map(|s| view! {
                            <option value=s.site.id.0.clone()>{s.site.name.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
            }
        })
    }
}

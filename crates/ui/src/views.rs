use crate::api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_core::protocol::{Command, Reply, SiteSummary};
use wasm_bindgen::prelude::*;

#[derive(Clone, Debug, PartialEq)]
enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

fn load_sites(set: WriteSignal<Load<Vec<SiteSummary>>>) {
    spawn_local(async move {
        set.set(match api::call(&Command::ListSites).await {
            Reply::Sites { sites } => Load::Ready(sites),
            Reply::Error { message, .. } => Load::Failed(message),
            other => Load::Failed(format!("unexpected reply: {other:?}")),
        });
    });
}

fn load_version(set: WriteSignal<Option<String>>) {
    spawn_local(async move {
        if let Reply::Pong { version, .. } = api::call(&Command::Ping).await {
            set.set(Some(version));
        }
    });
}

#[component]
fn SiteList(sites: ReadSignal<Load<Vec<SiteSummary>>>) -> impl IntoView {
    move || {
        match sites.get() {
        Load::Loading => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Load::Failed(msg) => view! { <p class="error" role="alert">{msg}</p> }.into_any(),
        Load::Ready(list) if list.is_empty() => view! {
            <div class="empty" data-testid="empty-sites">
                <p><strong>"No sites yet."</strong></p>
                <p class="muted">"Add your New API, Veloera, DoneHub, Octopus or AxonHub site to start syncing channels."</p>
            </div>
        }
        .into_any(),
        Load::Ready(list) => view! {
            <ul class="sites" data-testid="sites">
                {list.into_iter().map(|s| view! {
                    <li>
                        <span class="site-name">{s.name}</span>
                        <span class="badge">{s.kind.label()}</span>
                        <span class="muted">{s.base_url}</span>
                    </li>
                }).collect_view()}
            </ul>
        }
        .into_any(),
    }
    }
}

#[component]
fn Options() -> impl IntoView {
    let (sites, set_sites) = signal(Load::Loading);
    let (version, set_version) = signal(None::<String>);
    load_sites(set_sites);
    load_version(set_version);
    view! {
        <header class="topbar">
            <h1>"msync"</h1>
            <span class="muted" data-testid="version">
                {move || version.get().map(|v| format!("v{v}")).unwrap_or_default()}
            </span>
        </header>
        <main>
            <section>
                <h2>"Sites"</h2>
                <SiteList sites=sites />
            </section>
        </main>
    }
}

#[component]
fn Popup() -> impl IntoView {
    let (sites, set_sites) = signal(Load::Loading);
    load_sites(set_sites);
    view! {
        <div class="popup">
            <header class="topbar"><h1>"msync"</h1></header>
            <SiteList sites=sites />
            <button class="primary" on:click=move |_| api::open_options_page()>"Open dashboard"</button>
        </div>
    }
}

#[wasm_bindgen]
pub fn mount_options() {
    console_error_panic_hook_lite();
    leptos::mount::mount_to_body(Options);
}

#[wasm_bindgen]
pub fn mount_popup() {
    console_error_panic_hook_lite();
    leptos::mount::mount_to_body(Popup);
}

/// Panics go to the console instead of vanishing (no extra crate needed).
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
}

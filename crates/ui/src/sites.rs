//! Sites: add, edit, test, remove; credentials per site type; host permission; HTTPS warning.

use crate::api;
use crate::common::*;
use crate::i18n::{lookup, lookup_built, site_hint_key};
use crate::options::{Shell, Tab};
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::gateway::{capabilities, ConnectionReport, CredentialField};
use msync_types::model::{CredentialFields, Secret, SiteKind};
use msync_types::protocol::{Command, Reply, SiteInput, SiteStatus, SiteSummary};

#[component]
pub fn SitesScreen() -> impl IntoView {
    let shell = expect_context::<Shell>();
    // `Some(None)` = the add form, `Some(Some(site))` = editing.
    let editing = RwSignal::new(None::<Option<SiteSummary>>);
    if api::location_hash().starts_with("#sites/new") {
        editing.set(Some(None));
    }
    let notice = RwSignal::new(Notice::None);
    view! {
        <section>
            <div class="row">
                <h2>{tr("nav.sites")}</h2>
                <span class="spacer"></span>
                <button class="primary" data-testid="add-site" on:click=move |_| editing.set(Some(None))>
                    {tr("sites.add")}
                </button>
            </div>
            <NoticeLine notice=notice />
            {move || editing.get().map(|s| view! { <SiteForm initial=s editing=editing notice=notice /> })}
            {move || {
                let list = shell.sites.get().unwrap_or_default();
                if list.is_empty() {
                    view! {
                        <div class="empty" data-testid="empty-sites">
                            <p><strong>{tr("sites.empty_title")}</strong></p>
                            <p class="muted">{tr("sites.empty_body")}</p>
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <ul class="sites" data-testid="sites">
                            {list.into_iter().map(|s| view! { <SiteRow status=s editing=editing notice=notice /> }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn SiteRow(
    status: SiteStatus,
    editing: RwSignal<Option<Option<SiteSummary>>>,
    notice: RwSignal<Notice>,
) -> impl IntoView {
    let shell = expect_context::<Shell>();
    let site = status.site.clone();
    let report = RwSignal::new(None::<Result<ConnectionReport, Said>>);
    let testing = RwSignal::new(false);
    let confirm_remove = RwSignal::new(false);
    let id = site.id.clone();
    let base_url = site.base_url.clone();
    let test = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            testing.set(true);
            spawn_local(async move {
                let r = api::call(&Command::TestSite { site: id }).await;
                testing.set(false);
                report.set(Some(match r {
                    Reply::Connection { report } => Ok(report),
                    other => Err(Said::reply(other)),
                }));
            });
        }
    };
    let remove = {
        let id = id.clone();
        move |_| {
            if !confirm_remove.get_untracked() {
                confirm_remove.set(true);
                return;
            }
            let id = id.clone();
            spawn_local(async move {
                match api::call(&Command::RemoveSite { site: id }).await {
                    Reply::Ok => {
                        notice.set(Notice::Ok(Said::key("sites.removed")));
                        shell.reload_sites.run(());
                    }
                    other => notice.set(Notice::Error(Said::reply(other))),
                }
            });
        }
    };
    let grant = move |_| {
        let Some(pattern) = api::host_pattern_of(&base_url) else {
            return;
        };
        let fut = api::request_host_permission(&pattern);
        spawn_local(async move {
            fut.await;
            shell.reload_sites.run(());
        });
    };
    let edit_site = site.clone();
    let open_sync = id.0.clone();
    view! {
        <li class="site" data-testid="site-row">
            <div class="row">
                <span class="site-name">{site.name.clone()}</span>
                <span class="badge">{site.kind.label()}</span>
                <span class="muted ellipsis">{site.base_url.clone()}</span>
                <span class="spacer"></span>
                <button on:click=move |_| { shell.site.set(Some(open_sync.clone())); shell.tab.set(Tab::Sync); }>{tr("sites.open_sync")}</button>
                <button on:click=test disabled=move || testing.get()>{move || if testing.get() { t("sites.testing") } else { t("sites.test") }}</button>
                <button on:click=move |_| editing.set(Some(Some(edit_site.clone())))>{tr("common.edit")}</button>
                <button class:danger=move || confirm_remove.get() on:click=remove>
                    {move || if confirm_remove.get() { t("sites.confirm_remove") } else { t("common.remove") }}
                </button>
            </div>
            {site.insecure.then(|| view! { <p class="notice warn" role="note">{tr("sites.http_warning")}</p> })}
            {(!status.host_permission).then(|| view! {
                <p class="notice warn">
                    {tr("sites.no_permission")}" "
                    <button on:click=grant>{tr("sites.grant")}</button>
                </p>
            })}
            {(!site.has_credentials).then(|| view! { <p class="notice warn">{tr("sites.no_credentials")}</p> })}
            {move || report.get().map(|r| view! { <ConnectionResult report=r /> })}
        </li>
    }
}

#[component]
fn ConnectionResult(report: Result<ConnectionReport, Said>) -> impl IntoView {
    let r = match report {
        Ok(r) => r,
        Err(m) => {
            let lang = app().lang;
            return view! {
                <p class="notice err" role="alert" data-testid="test-result">{move || m.text(lang.get())}</p>
            }
            .into_any();
        }
    };
    let check = |ok: bool, label: &'static str| {
        view! {
            <li class=if ok { "ok" } else { "bad" }>
                <span aria-hidden="true">{if ok { "✓ " } else { "✕ " }}</span>
                {tr(label)}
                <span class="sr-only">{move || if ok { t("common.yes") } else { t("common.no") }}</span>
            </li>
        }
    };
    let all_ok = r.reachable && r.authenticated && r.admin;
    view! {
        <div class=if all_ok { "testresult ok" } else { "testresult bad" } data-testid="test-result" role="status">
            <ul class="checks">
                {check(r.reachable, "test.reachable")}
                {check(r.authenticated, "test.authenticated")}
                {check(r.admin, "test.admin")}
                {r.root.map(|root| check(root, "test.root"))}
            </ul>
            <p class="muted small">
                {r.version.clone().map(|v| view! { <span>{tr("test.version")}" "{v}" · "</span> })}
                {r.flavour_hint.clone().map(|v| view! { <span>{v}" · "</span> })}
                {r.channel_count.map(|n| view! { <span>{tr("test.channels")}" "{n}" · "</span> })}
                <span>{tr("test.rtt")}" "{r.round_trip_ms}" ms"</span>
            </p>
        </div>
    }
    .into_any()
}

#[component]
fn SiteForm(
    initial: Option<SiteSummary>,
    editing: RwSignal<Option<Option<SiteSummary>>>,
    notice: RwSignal<Notice>,
) -> impl IntoView {
    let shell = expect_context::<Shell>();
    let lang = app().lang;
    let is_edit = initial.is_some();
    let id = initial.as_ref().map(|s| s.id.clone());
    let has_secret = initial.as_ref().map(|s| s.has_credentials).unwrap_or(false);
    let name = RwSignal::new(initial.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    let kind = RwSignal::new(initial.as_ref().map(|s| s.kind).unwrap_or(SiteKind::ALL[0]));
    let url = RwSignal::new(
        initial
            .as_ref()
            .map(|s| s.base_url.clone())
            .unwrap_or_default(),
    );
    let token = RwSignal::new(String::new());
    let user_id = RwSignal::new(
        initial
            .as_ref()
            .and_then(|s| s.user_id)
            .map(|u| u.to_string())
            .unwrap_or_default(),
    );
    let username = RwSignal::new(
        initial
            .as_ref()
            .and_then(|s| s.username.clone())
            .unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    let allow_insecure = RwSignal::new(initial.as_ref().map(|s| s.allow_insecure).unwrap_or(false));
    let error = RwSignal::new(Notice::None);
    let busy = RwSignal::new(false);

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let base = url.get_untracked().trim().to_string();
        let Some(pattern) = api::host_pattern_of(&base) else {
            error.set(Notice::Error(Said::key("sites.bad_url")));
            return;
        };
        if name.get_untracked().trim().is_empty() {
            error.set(Notice::Error(Said::key("sites.name_required")));
            return;
        }
        if api::is_insecure(&base) && !allow_insecure.get_untracked() {
            error.set(Notice::Error(Said::key("sites.http_consent_required")));
            return;
        }
        let k = kind.get_untracked();
        let need = capabilities(k).credentials;
        let uid = if need.uses_user_id() {
            match user_id.get_untracked().trim().parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    error.set(Notice::Error(Said::key("sites.user_id_required")));
                    return;
                }
            }
        } else {
            None
        };
        // Only the fields this site type uses (the form keeps another type's leftovers).
        let credentials = need
            .shape(CredentialFields {
                token: Secret(token.get_untracked().trim().to_string()),
                user_id: uid,
                username: Some(username.get_untracked().trim().to_string()),
                password: Secret(password.get_untracked()),
            })
            .fields();
        let input = SiteInput {
            id: id.clone(),
            name: name.get_untracked().trim().to_string(),
            kind: k,
            allow_insecure: api::is_insecure(&base) && allow_insecure.get_untracked(),
            base_url: base,
            credentials,
        };
        // The permission prompt needs this click's user gesture: ask before any await.
        let granted = api::request_host_permission(&pattern);
        busy.set(true);
        spawn_local(async move {
            let granted = granted.await;
            let r = api::call(&Command::SaveSite { site: input }).await;
            busy.set(false);
            match r {
                Reply::Site { site } => {
                    notice.set(if granted {
                        Notice::Ok(Said::key("sites.saved"))
                    } else {
                        Notice::Info(Said::new(|l| {
                            let saved = lookup(l, "sites.saved");
                            format!("{saved} {}", lookup(l, "sites.permission_denied"))
                        }))
                    });
                    shell.site.set(Some(site.id.0));
                    editing.set(None);
                    api::set_location_hash("sites");
                    shell.reload_sites.run(());
                }
                Reply::Ok => {
                    notice.set(Notice::Ok(Said::key("sites.saved")));
                    editing.set(None);
                    shell.reload_sites.run(());
                }
                other => error.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    let secret_hint = move || {
        if has_secret {
            t("sites.keep_secret")
        } else {
            ""
        }
    };
    view! {
        <form class="card form" on:submit=save data-testid="site-form" aria-label=tr(if is_edit { "sites.edit_title" } else { "sites.add_title" })>
            <h3>{tr(if is_edit { "sites.edit_title" } else { "sites.add_title" })}</h3>
            <div class="grid2">
                <label>{tr("sites.name")}
                    <input type="text" bind:value=name required placeholder="My gateway" />
                </label>
                <label>{tr("sites.kind")}
                    <select
                        prop:value=move || kind.get().as_str()
                        on:change=move |ev| if let Some(k) = SiteKind::parse(&event_target_value(&ev)) { kind.set(k) }
                        disabled=is_edit
                    >
                        {SiteKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="wide">{tr("sites.base_url")}
                    <input type="url" bind:value=url required placeholder="https://gateway.example.com" />
                </label>
            </div>
            {move || api::is_insecure(&url.get()).then(|| view! {
                <div class="notice warn" role="alert" data-testid="http-warning">
                    <p>{tr("sites.http_warning")}</p>
                    <label class="check">
                        <input type="checkbox" data-testid="allow-insecure" bind:checked=allow_insecure />
                        " "{tr("sites.http_consent")}
                    </label>
                </div>
            })}
            <div class="grid2">
                {move || match capabilities(kind.get()).credentials.login_field() {
                    None => view! {
                        <label>{tr("sites.token")}
                            <input type="password" autocomplete="off" bind:value=token placeholder=secret_hint />
                        </label>
                    }.into_any(),
                    Some(login) => view! {
                        <label>{t(if login == CredentialField::Email { "sites.email" } else { "sites.username" })}
                            <input type="text" autocomplete="off" bind:value=username />
                        </label>
                        <label>{tr("sites.password")}
                            <input type="password" autocomplete="off" bind:value=password placeholder=secret_hint />
                        </label>
                    }.into_any(),
                }}
                {move || capabilities(kind.get()).credentials.uses_user_id().then(|| view! {
                    <label>{tr("sites.user_id")}
                        <input type="text" inputmode="numeric" bind:value=user_id />
                    </label>
                })}
            </div>
            <p class="muted small">{move || lookup_built(lang.get(), &site_hint_key(kind.get())).unwrap_or_default()}</p>
            <NoticeLine notice=error />
            <div class="row">
                <button type="submit" class="primary" disabled=move || busy.get() data-testid="save-site">{tr("sites.save_grant")}</button>
                <button type="button" on:click=move |_| { editing.set(None); api::set_location_hash("sites"); }>{tr("common.cancel")}</button>
            </div>
        </form>
    }
}

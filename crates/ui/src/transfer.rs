//! Import / export of every site and its settings. Secrets leave only when ticked.

use crate::api;
use crate::common::*;
use crate::format::fill;
use crate::i18n::{lookup, Lang};
use crate::options::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::protocol::{AutoSyncTurnedOn, Command, Reply, UnattendedJob};
use msync_types::settings::DestructiveSetting;

#[component]
pub fn TransferScreen() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let lang = app().lang;
    let include_secrets = RwSignal::new(false);
    let export_notice = RwSignal::new(Notice::None);
    let import_notice = RwSignal::new(Notice::None);
    // A file waiting for the user's word: it turns auto-sync on under destructive settings.
    let pending = RwSignal::new(None::<(String, Vec<AutoSyncTurnedOn>)>);
    let send = move |content: String, confirm_auto_sync: bool| {
        spawn_local(async move {
            let cmd = Command::ImportSettings {
                content: content.clone(),
                confirm_auto_sync,
            };
            match api::call(&cmd).await {
                Reply::Ok | Reply::Sites { .. } => {
                    pending.set(None);
                    import_notice.set(Notice::Ok(Said::key("io.imported")));
                    shell.reload_sites.run(());
                }
                Reply::ImportNeedsConfirmation { sites } => {
                    import_notice.set(Notice::None);
                    pending.set(Some((content, sites)));
                }
                other => {
                    pending.set(None);
                    import_notice.set(Notice::Error(Said::new(move |l| {
                        let why = reply_problem_in(l, &other);
                        format!("{} {why}", lookup(l, "io.refused"))
                    })))
                }
            }
        });
    };
    let export = move |_| {
        let include_secrets = include_secrets.get_untracked();
        spawn_local(async move {
            match api::call(&Command::ExportSettings { include_secrets }).await {
                Reply::Export {
                    filename,
                    mime,
                    content,
                } => {
                    api::download(&filename, &mime, &content);
                    export_notice.set(Notice::Ok(Said::new(move |l| {
                        format!("{} {filename}", lookup(l, "io.exported"))
                    })));
                }
                other => export_notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    let import = move |ev: leptos::ev::Event| {
        let Some(file) = api::picked_file(&ev) else {
            return;
        };
        // The worker refuses a larger file too; checked here so it is never read into memory.
        let size = file.size() as u64;
        let max = msync_types::import::all_api_hub::MAX_FILE_BYTES;
        if size > max {
            let mib = |b: u64| format!("{:.1}", b as f64 / (1024.0 * 1024.0));
            let (size, max) = (mib(size), mib(max));
            import_notice.set(Notice::Error(Said::new(move |l| {
                fill(lookup(l, "io.too_large"), &[&size, &max])
            })));
            return;
        }
        spawn_local(async move {
            let content = match api::read_file(file).await {
                Ok(c) => c,
                Err(e) => {
                    import_notice.set(Notice::Error(Said::as_is(e)));
                    return;
                }
            };
            send(content, false);
        });
    };
    view! {
        <section>
            <h2>{tr("nav.transfer")}</h2>
            <div class="card">
                <h3>{tr("io.export_title")}</h3>
                <p class="muted">{tr("io.export_body")}</p>
                <label class="check">
                    <input type="checkbox" data-testid="include-secrets" prop:checked=move || include_secrets.get()
                        on:change=move |ev| include_secrets.set(event_target_checked(&ev)) />
                    <span>{tr("io.include_secrets")}</span>
                </label>
                {move || include_secrets.get().then(|| view! { <p class="notice warn">{tr("io.secrets_warning")}</p> })}
                <div class="row"><button class="primary" data-testid="export-settings" on:click=export>{tr("io.export")}</button></div>
                <NoticeLine notice=export_notice />
            </div>
            <div class="card">
                <h3>{tr("io.import_title")}</h3>
                <p class="muted">{tr("io.import_body")}</p>
                <label class="field">
                    <span>{tr("io.choose_file")}</span>
                    <input type="file" accept=".json,application/json" data-testid="import-file" on:change=import />
                </label>
                <NoticeLine notice=import_notice />
                {move || pending.get().map(|(content, sites)| {
                    let l = lang.get();
                    let has = |job: UnattendedJob| sites.iter().any(|s| s.job == job);
                    let sync_warning = has(UnattendedJob::AutoSync).then(|| view! { <p>{lookup(l, "io.autosync_warning")}</p> });
                    let watch_warning = has(UnattendedJob::PriceWatchApply).then(|| view! { <p>{lookup(l, "io.watch_apply_warning")}</p> });
                    view! {
                        <div class="notice warn" role="alert" data-testid="import-confirm">
                            {sync_warning}
                            {watch_warning}
                            <ul>
                                {sites.into_iter().map(|s| {
                                    let mut what: Vec<String> = s.settings.iter().map(|d| destructive_text(l, *d)).collect();
                                    let every = match s.job {
                                        UnattendedJob::AutoSync => fill(lookup(l, "io.autosync_every"), &[&s.interval_minutes]),
                                        UnattendedJob::PriceWatchApply => {
                                            if what.is_empty() {
                                                what.push(lookup(l, "io.price_default_guardrails").into());
                                            }
                                            fill(lookup(l, "io.watch_apply_every"), &[&s.interval_minutes])
                                        }
                                    };
                                    view! { <li data-job=match s.job { UnattendedJob::AutoSync => "auto_sync", UnattendedJob::PriceWatchApply => "price_watch_apply" }><b>{s.site}</b>": "{every}" — "{what.join("; ")}</li> }
                                }).collect_view()}
                            </ul>
                            <div class="row">
                                <button class="primary" data-testid="import-confirm-yes" on:click=move |_| send(content.clone(), true)>{lookup(l, "io.import_anyway")}</button>
                                <button data-testid="import-confirm-no" on:click=move |_| pending.set(None)>{lookup(l, "common.cancel")}</button>
                            </div>
                        </div>
                    }
                })}
            </div>
            <crate::aah::AllApiHubCard />
        </section>
    }
}

/// A destructive setting's explanation in `l`.
fn destructive_text(l: Lang, d: DestructiveSetting) -> String {
    let key = match d {
        DestructiveSetting::AllowEmpty => "io.destructive_allow_empty",
        DestructiveSetting::NoRemovalThreshold => "io.destructive_no_threshold",
        DestructiveSetting::PruneRedirectTargets => "io.destructive_prune",
        DestructiveSetting::PriceRaises { max_raise_pct } => {
            return fill(lookup(l, "io.price_raises"), &[&max_raise_pct]);
        }
        DestructiveSetting::PricesNewModels => "io.price_new_models",
        DestructiveSetting::UnconfidentPrices => "io.price_unconfident",
    };
    lookup(l, key).into()
}

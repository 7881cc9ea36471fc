//! Import / export of every site and its settings. Secrets leave only when ticked.

use crate::api;
use crate::common::*;
use crate::i18n::lookup;
use crate::options::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::protocol::{Command, Reply};

#[component]
pub fn TransferScreen() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let lang = app().lang;
    let include_secrets = RwSignal::new(false);
    let export_notice = RwSignal::new(Notice::None);
    let import_notice = RwSignal::new(Notice::None);
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
                    export_notice.set(Notice::Ok(format!(
                        "{} {filename}",
                        lookup(lang.get_untracked(), "io.exported")
                    )));
                }
                other => export_notice.set(Notice::Error(reply_problem(&other))),
            }
        });
    };
    let import = move |ev: leptos::ev::Event| {
        let Some(file) = api::picked_file(&ev) else {
            return;
        };
        spawn_local(async move {
            let content = match api::read_file(file).await {
                Ok(c) => c,
                Err(e) => {
                    import_notice.set(Notice::Error(e));
                    return;
                }
            };
            match api::call(&Command::ImportSettings { content }).await {
                Reply::Ok | Reply::Sites { .. } => {
                    import_notice.set(Notice::Ok(
                        lookup(lang.get_untracked(), "io.imported").into(),
                    ));
                    shell.reload_sites.run(());
                }
                other => import_notice.set(Notice::Error(format!(
                    "{} {}",
                    lookup(lang.get_untracked(), "io.refused"),
                    reply_problem(&other)
                ))),
            }
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
            </div>
            <crate::aah::AllApiHubCard />
        </section>
    }
}

//! Import from All API Hub (docs/import-all-api-hub.md): choose the export → a preview per site
//! and per setting with warnings → confirm. The worker computes everything; this view words the
//! typed preview in the page's language and sends the user's consent for each existing site.

use crate::api;
use crate::common::*;
use crate::format::fill;
use crate::i18n::{lookup, Lang};
use crate::options::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::filter::{FilterAction, Rule, RuleKind};
use msync_types::import::all_api_hub::{
    CredentialField, ImportError, ImportPreview, RuleSkip, SettingKey, SettingValue, SiteAction,
    SitePlan, Warning,
};
use msync_types::model::SiteId;
use msync_types::protocol::{Command, Reply};
use msync_types::settings::LimitScope;

// ----- words -------------------------------------------------------------------------------------

fn field_text(l: Lang, f: CredentialField) -> &'static str {
    lookup(
        l,
        match f {
            CredentialField::Token => "aah.f_token",
            CredentialField::UserId => "aah.f_user_id",
            CredentialField::Username => "aah.f_username",
            CredentialField::Email => "aah.f_email",
            CredentialField::Password => "aah.f_password",
        },
    )
}

pub fn key_text(l: Lang, k: &SettingKey) -> String {
    let id = match k {
        SettingKey::AutoSync => "aah.key_auto_sync",
        SettingKey::Interval => "aah.key_interval",
        SettingKey::Concurrency => "aah.key_concurrency",
        SettingKey::RequestsPerMinute => "aah.key_rpm",
        SettingKey::Burst => "aah.key_burst",
        SettingKey::Scope => "aah.key_scope",
        SettingKey::MaxRetries => "aah.key_retries",
        SettingKey::ChannelTimeout => "aah.key_timeout",
        SettingKey::AllowList => "aah.key_allow",
        SettingKey::Rules => "aah.key_rules",
        SettingKey::ChannelRules(id) => return fill(lookup(l, "aah.key_channel_rules"), &[id]),
        SettingKey::Redirect => "aah.key_redirect",
        SettingKey::Presets => "aah.key_presets",
        SettingKey::StandardModels => "aah.key_standard",
        SettingKey::PruneMissingTargets => "aah.key_prune",
    };
    lookup(l, id).to_string()
}

pub fn rule_text(l: Lang, r: &Rule) -> String {
    let action = match r.action {
        FilterAction::Include => "aah.rule_include",
        FilterAction::Exclude => "aah.rule_exclude",
    };
    let kind = match r.kind {
        RuleKind::Substring => "aah.rule_substring",
        RuleKind::Regex => "aah.rule_regex",
        RuleKind::Glob => "aah.rule_glob",
    };
    let off = if r.enabled {
        ""
    } else {
        lookup(l, "aah.rule_off")
    };
    format!(
        "{} {} “{}”{off}",
        lookup(l, action),
        lookup(l, kind),
        r.pattern
    )
}

pub fn value_text(l: Lang, v: &SettingValue) -> String {
    match v {
        SettingValue::Bool(b) => lookup(l, if *b { "common.on" } else { "common.off" }).into(),
        SettingValue::Number(n) => n.to_string(),
        SettingValue::Minutes(m) if m % 60 == 0 => fill(lookup(l, "aah.hours"), &[&(m / 60)]),
        SettingValue::Minutes(m) => fill(lookup(l, "aah.minutes"), &[m]),
        SettingValue::Seconds(0) => lookup(l, "aah.no_limit").into(),
        SettingValue::Seconds(s) => fill(lookup(l, "aah.seconds"), &[s]),
        SettingValue::Scope(LimitScope::Global) => lookup(l, "aah.scope_global").into(),
        SettingValue::Scope(LimitScope::PerHost) => lookup(l, "aah.scope_host").into(),
        SettingValue::Names(n) if n.is_empty() => lookup(l, "aah.none").into(),
        SettingValue::Names(n) => n.join(", "),
        SettingValue::Rules(r) if r.is_empty() => lookup(l, "aah.none").into(),
        SettingValue::Rules(r) => r
            .iter()
            .map(|r| rule_text(l, r))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn where_text(l: Lang, channel: &Option<String>) -> String {
    match channel {
        Some(c) => fill(lookup(l, "aah.w_of_channel"), &[c]),
        None => lookup(l, "aah.w_global").into(),
    }
}

pub fn warning_text(l: Lang, w: &Warning) -> String {
    let t = |id: &'static str| lookup(l, id);
    match w {
        Warning::NewerPreferences { version, known } => {
            fill(t("aah.w_newer_prefs"), &[version, known])
        }
        Warning::UnsupportedSiteType { source, base_url } => {
            fill(t("aah.w_unsupported"), &[source, base_url])
        }
        Warning::InvalidBaseUrl { source, base_url } => {
            fill(t("aah.w_bad_url"), &[source, base_url])
        }
        Warning::MissingCredentials { fields } => {
            let sep = if l == Lang::Zh { "、" } else { ", " };
            let list: Vec<&str> = fields.iter().map(|f| field_text(l, *f)).collect();
            fill(t("aah.w_missing"), &[&list.join(sep)])
        }
        Warning::InvalidUserId { value } => fill(t("aah.w_user_id"), &[value]),
        Warning::LoginFieldsIgnored { fields } => fill(t("aah.w_login"), &[&fields.join(", ")]),
        Warning::UserIdNotUsed => t("aah.w_user_id_unused").into(),
        Warning::AutoSyncOn { interval_minutes } => fill(
            t("aah.w_auto_sync_on"),
            &[&value_text(l, &SettingValue::Minutes(*interval_minutes))],
        ),
        Warning::PruneOn => t("aah.w_prune_on").into(),
        Warning::AutoSyncNotActive { active } => fill(t("aah.w_not_active"), &[active]),
        Warning::NewlySyncable => t("aah.w_newly").into(),
        Warning::OctopusGlobalFiltersSkipped { allow_list, rules } => {
            fill(t("aah.w_octopus"), &[allow_list, rules])
        }
        Warning::RedirectNotRun => t("aah.w_redirect_not_run").into(),
        Warning::ProbeRuleDropped { channel, name, .. } => {
            fill(t("aah.w_probe"), &[name, &where_text(l, channel)])
        }
        Warning::RuleSkipped {
            channel,
            name,
            reason,
        } => {
            let why = match reason {
                RuleSkip::NotAnObject => t("aah.r_not_object").to_string(),
                RuleSkip::NoName => t("aah.r_no_name").to_string(),
                RuleSkip::EmptyPattern => t("aah.r_empty").to_string(),
                RuleSkip::InvalidRegex { message } => fill(t("aah.r_regex"), &[message]),
            };
            fill(
                t("aah.w_rule_skipped"),
                &[name, &where_text(l, channel), &why],
            )
        }
        Warning::ValueClamped { key, from, to } => {
            fill(t("aah.w_clamped"), &[&key_text(l, key), from, to])
        }
        Warning::OrphanChannelRules {
            site_type,
            scope,
            channel,
            rules,
        } => fill(t("aah.w_orphan"), &[rules, channel, site_type, scope]),
        Warning::LegacyChannelConfigsIgnored { count } => fill(t("aah.w_legacy"), &[count]),
        Warning::SameUrlOtherType {
            existing,
            existing_kind,
        } => fill(t("aah.w_same_url"), &[existing, &existing_kind.label()]),
    }
}

pub fn error_text(l: Lang, e: &ImportError) -> String {
    let t = |id: &'static str| lookup(l, id);
    let body = match e {
        ImportError::TooLarge { bytes, max } => fill(t("aah.e_too_large"), &[bytes, max]),
        ImportError::Empty => t("aah.e_empty").into(),
        ImportError::Truncated => t("aah.e_truncated").into(),
        ImportError::NotJson { line, column } => fill(t("aah.e_not_json"), &[line, column]),
        ImportError::MsyncFile => t("aah.e_msync").into(),
        ImportError::Encrypted => t("aah.e_encrypted").into(),
        ImportError::NotAnExport => t("aah.e_not_export").into(),
        ImportError::UnsupportedVersion { version } => fill(t("aah.e_version"), &[version]),
        ImportError::NoPreferences => t("aah.e_no_prefs").into(),
        ImportError::NoSites => t("aah.e_no_sites").into(),
    };
    format!("{body} {}", t("aah.e_nothing"))
}

// ----- the view ----------------------------------------------------------------------------------

fn action_text(l: Lang, p: &SitePlan) -> (String, &'static str) {
    match &p.action {
        SiteAction::Conflict { existing_name, .. } => (
            fill(lookup(l, "aah.action_conflict"), &[existing_name]),
            "badge warn",
        ),
        _ if !p.missing.is_empty() => (lookup(l, "aah.action_incomplete").into(), "badge warn"),
        SiteAction::Create => (lookup(l, "aah.action_create").into(), "badge ok"),
        SiteAction::Update { existing_name, .. } => (
            fill(lookup(l, "aah.action_update"), &[existing_name]),
            "badge info",
        ),
    }
}

#[component]
fn SiteCard(plan: SitePlan, consent: RwSignal<Vec<SiteId>>) -> impl IntoView {
    let lang = app().lang;
    let update_id = match &plan.action {
        SiteAction::Update { existing, .. } if plan.missing.is_empty() => Some(existing.clone()),
        _ => None,
    };
    let is_update = matches!(plan.action, SiteAction::Update { .. });
    let p = plan.clone();
    let head = move || {
        let l = lang.get();
        let (text, class) = action_text(l, &p);
        let active = if p.active {
            format!(" · {}", lookup(l, "aah.active"))
        } else {
            String::new()
        };
        view! {
            <h4>{p.site.name.clone()} " " <span class=class data-testid="aah-action">{text}</span></h4>
            <p class="muted">{format!("{} · {}{active}", p.site.kind.label(), p.site.base_url)}</p>
        }
    };
    let consent_box = update_id.map(|id| {
        let id2 = id.clone();
        view! {
            <label class="check">
                <input type="checkbox" data-testid="aah-consent"
                    prop:checked=move || consent.get().contains(&id)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        consent.update(|c| {
                            c.retain(|x| x != &id2);
                            if on { c.push(id2.clone()); }
                        });
                    } />
                <span>{tr("aah.consent")}</span>
            </label>
        }
    });
    let cred = plan
        .credentials_change
        .then(|| view! { <p class="notice info">{tr("aah.credentials_change")}</p> });
    let changes = plan.changes.clone();
    let warnings = plan.warnings.clone();
    let table = move || {
        let l = lang.get();
        if changes.is_empty() {
            return view! { <p class="muted">{lookup(l, "aah.no_changes")}</p> }.into_any();
        }
        let rows: Vec<_> = changes
            .iter()
            .map(|c| {
                let old = c
                    .old
                    .as_ref()
                    .map(|v| value_text(l, v))
                    .unwrap_or_else(|| "—".into());
                view! {
                    <tr><td>{key_text(l, &c.key)}</td>
                        {is_update.then(|| view! { <td class="old">{old}</td> })}
                        <td>{value_text(l, &c.new)}</td></tr>
                }
            })
            .collect();
        view! {
            <table class="aah-changes">
                <thead><tr><th>{lookup(l, "aah.col_setting")}</th>
                    {is_update.then(|| view! { <th>{lookup(l, "aah.col_now")}</th> })}
                    <th>{lookup(l, "aah.col_imported")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let warn_list = move || {
        let l = lang.get();
        (!warnings.is_empty()).then(|| {
            let items: Vec<_> = warnings
                .iter()
                .map(|w| view! { <li>{warning_text(l, w)}</li> })
                .collect();
            view! { <ul class="notice warn aah-warnings" data-testid="aah-warnings">{items}</ul> }
        })
    };
    view! {
        <div class="card aah-site" data-testid="aah-site">
            {head}
            {consent_box}
            {cred}
            {table}
            {warn_list}
        </div>
    }
}

#[component]
pub fn AllApiHubCard() -> impl IntoView {
    let shell = expect_context::<Shell>();
    let lang = app().lang;
    let content = RwSignal::new(None::<String>);
    let preview = RwSignal::new(None::<ImportPreview>);
    let consent = RwSignal::new(Vec::<SiteId>::new());
    let notice = RwSignal::new(Notice::None);
    let busy = RwSignal::new(false);

    let choose = move |ev: leptos::ev::Event| {
        let Some(file) = api::picked_file(&ev) else {
            return;
        };
        preview.set(None);
        consent.set(Vec::new());
        notice.set(Notice::None);
        let size = file.size() as u64;
        if size > msync_types::import::all_api_hub::MAX_FILE_BYTES {
            let e = ImportError::TooLarge {
                bytes: size,
                max: msync_types::import::all_api_hub::MAX_FILE_BYTES,
            };
            notice.set(Notice::Error(Said::new(move |l| error_text(l, &e))));
            return;
        }
        spawn_local(async move {
            let text = match api::read_file(file).await {
                Ok(c) => c,
                Err(e) => {
                    notice.set(Notice::Error(Said::as_is(e)));
                    return;
                }
            };
            match api::call(&Command::PreviewAllApiHub {
                content: text.clone(),
            })
            .await
            {
                Reply::AllApiHubPreview { preview: p } => {
                    content.set(Some(text));
                    preview.set(Some(p));
                }
                Reply::ImportRefused { error } => {
                    notice.set(Notice::Error(Said::new(move |l| error_text(l, &error))))
                }
                other => notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };

    let confirm = move |_| {
        let (Some(text), Some(p)) = (content.get_untracked(), preview.get_untracked()) else {
            return;
        };
        let update = consent.get_untracked();
        // Host access for the new sites, asked inside this click (a user gesture).
        let origins: Vec<String> = p
            .sites
            .iter()
            .filter(|s| s.complete() && matches!(s.action, SiteAction::Create))
            .filter_map(|s| api::host_pattern_of(&s.site.base_url))
            .collect();
        // The import does not wait for the answer: a denied site shows "Grant access" on the
        // Sites page like any other.
        let granted = api::request_host_permissions(&origins);
        spawn_local(async move {
            let _ = granted.await;
        });
        busy.set(true);
        spawn_local(async move {
            let r = api::call(&Command::ImportAllApiHub {
                content: text,
                update,
            })
            .await;
            busy.set(false);
            match r {
                Reply::AllApiHubImported {
                    created,
                    updated,
                    skipped,
                } => {
                    let n = [created.len(), updated.len(), skipped.len()];
                    notice.set(Notice::Ok(Said::new(move |l| {
                        fill(lookup(l, "aah.done"), &[&n[0], &n[1], &n[2]])
                    })));
                    preview.set(None);
                    content.set(None);
                    shell.reload_sites.run(());
                }
                Reply::ImportRefused { error } => {
                    notice.set(Notice::Error(Said::new(move |l| error_text(l, &error))))
                }
                other => notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    let cancel = move |_| {
        preview.set(None);
        content.set(None);
        consent.set(Vec::new());
    };

    let body = move || {
        preview.get().map(|p| {
            let l = lang.get();
            let source = fill(
                lookup(l, "aah.source"),
                &[
                    &p.backup_version,
                    &p.preferences_version
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "?".into()),
                ],
            );
            let sites: Vec<_> = p
                .sites
                .iter()
                .map(|s| view! { <SiteCard plan=s.clone() consent=consent /> })
                .collect();
            let global: Vec<_> = p
                .warnings
                .iter()
                .map(|w| view! { <li>{warning_text(l, w)}</li> })
                .collect();
            let ignored: Vec<String> = p.ignored.iter().map(ToString::to_string).collect();
            let importable = p.sites.iter().any(|s| s.complete());
            view! {
                <div class="aah-preview" data-testid="aah-preview">
                    <p class="muted">{source}</p>
                    {sites}
                    {(!global.is_empty()).then(|| view! {
                        <h4>{lookup(l, "aah.warnings")}</h4>
                        <ul class="notice warn aah-warnings" data-testid="aah-global-warnings">{global}</ul>
                    })}
                    {(!ignored.is_empty()).then(|| view! {
                        <p class="muted" data-testid="aah-ignored">{fill(lookup(l, "aah.ignored"), &[&ignored.join(", ")])}</p>
                    })}
                    <div class="row">
                        <button class="primary" data-testid="aah-confirm"
                            prop:disabled=move || busy.get() || !importable
                            on:click=confirm>{lookup(l, "aah.confirm")}</button>
                        <button data-testid="aah-cancel" on:click=cancel>{lookup(l, "common.cancel")}</button>
                    </div>
                </div>
            }
        })
    };

    view! {
        <div class="card" data-testid="aah-card">
            <h3>{tr("aah.title")}</h3>
            <p class="muted">{tr("aah.body")}</p>
            <label class="field">
                <span>{tr("aah.choose_file")}</span>
                <input type="file" accept=".json,application/json" data-testid="aah-file" on:change=choose />
            </label>
            <NoticeLine notice=notice />
            {body}
        </div>
    }
}

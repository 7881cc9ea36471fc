//! Issue 19 in the options page: the Notifications screen (sinks with their events and sites,
//! secrets write-only, "Send test", the delivery log), the per-site price check fields of the
//! Settings screen, and the price notes of the sync results and plan. Everything shown comes
//! from typed values (`PriceCheck`, `PriceNote`, `Delivery`) rendered per language here.

use crate::api;
use crate::common::*;
use crate::format::fill;
use crate::i18n::{lookup, Lang};
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::model::Secret;
use msync_types::notify::{
    Delivery, DeliveryOutcome, EventKind, NotifySettings, Sink, SinkConfig, NTFY_SERVER,
    TELEGRAM_API,
};
use msync_types::pricing::{PriceCheck, PriceCheckMode, PriceNote, PriceWatchSettings, RunPricing};
use msync_types::protocol::{Command, Reply};
use msync_types::ratio::RatioUpstream;
use msync_types::settings::{SettingsIssue, SyncSettings};

fn event_label(k: EventKind) -> &'static str {
    match k {
        EventKind::RunFailed => "notify.ev_run_failed",
        EventKind::NeedsReview => "notify.ev_needs_review",
        EventKind::PriceChange => "notify.ev_price_change",
        EventKind::SiteUnreachable => "notify.ev_site_unreachable",
        EventKind::Test => "notify.ev_test",
    }
}

/// A price note in `lang`.
pub fn note_text(lang: Lang, n: &PriceNote) -> String {
    let unknown = |u: bool| if u { lookup(lang, "price.unknown") } else { "" };
    match n {
        PriceNote::Unpriced { count, unknown: u } => {
            fill(lookup(lang, "price.note_unpriced"), &[count, &unknown(*u)])
        }
        PriceNote::HeldBackNoPrice { count, unknown: u } => {
            fill(lookup(lang, "price.note_held"), &[count, &unknown(*u)])
        }
        PriceNote::Filled { count, upstream } => {
            fill(lookup(lang, "price.note_filled"), &[count, upstream])
        }
        PriceNote::NoPriceApi => lookup(lang, "price.note_no_api").to_string(),
    }
}

/// The unpriced / held-back models of one result row.
#[component]
pub fn PriceBadge(price: Option<PriceCheck>) -> impl IntoView {
    let lang = app().lang;
    price.filter(|p| !p.is_empty()).map(|p| {
        let held = !p.held.is_empty();
        let names = if held {
            p.held.join(", ")
        } else {
            p.unpriced.join(", ")
        };
        let (id, testid, class) = if held {
            ("price.held", "price-held", "badge st-needs_review small")
        } else {
            ("price.unpriced", "price-unpriced", "badge small")
        };
        let title = names.clone();
        view! {
            " "
            <span class=class data-testid=testid title=title>
                {move || fill(lookup(lang.get(), id), &[&names])}
            </span>
        }
    })
}

/// The run's price notes (plan review, results header).
#[component]
pub fn PricingNotes(pricing: Option<RunPricing>) -> impl IntoView {
    let lang = app().lang;
    pricing.map(|p| {
        let notes = p.notes();
        let fill_error = p.fill.as_ref().and_then(|f| f.error.as_ref()).cloned();
        view! {
            <ul class="price-notes" data-testid="price-notes">
                {notes.into_iter().map(|n| view! { <li>{move || note_text(lang.get(), &n)}</li> }).collect_view()}
                {fill_error.map(|m| view! { <li class="field-error">{tr("price.fill_failed")}": "{engine_tr(m, crate::reasons::error_text)}</li> })}
            </ul>
        }
    })
}

/// The price check of the Settings screen.
#[component]
pub fn PriceCheckFields(s: RwSignal<Option<SyncSettings>>) -> impl IntoView {
    let mode = move || s.with(|s| s.as_ref().map(|s| s.price_check.mode).unwrap_or_default());
    let up = move |f: fn(&RatioUpstream) -> String| {
        s.with(|s| {
            s.as_ref()
                .and_then(|s| s.price_check.fill_from.as_deref().map(f))
                .unwrap_or_default()
        })
    };
    let set_up = move |f: fn(&mut RatioUpstream, String), v: String| {
        s.update(|s| {
            if let Some(s) = s {
                let u = s.price_check.fill_from.get_or_insert_with(|| {
                    Box::new(RatioUpstream {
                        id: 0,
                        name: String::new(),
                        base_url: String::new(),
                        endpoint: msync_types::ratio::ENDPOINT_PRICING.into(),
                    })
                });
                f(u, v.trim().to_string());
            }
        })
    };
    view! {
        <fieldset data-testid="price-check">
            <legend>{tr("price.title")}</legend>
            <label class="field">
                <span>{tr("price.mode")}</span>
                <select data-testid="price-mode" prop:value=move || mode().as_str()
                    on:change=move |ev| {
                        let v = PriceCheckMode::parse(&event_target_value(&ev)).unwrap_or_default();
                        s.update(|s| if let Some(s) = s { s.price_check.mode = v });
                    }>
                    <option value="off">{tr("price.mode_off")}</option>
                    <option value="flag">{tr("price.mode_flag")}</option>
                    <option value="hold_back">{tr("price.mode_hold")}</option>
                    <option value="fill">{tr("price.mode_fill")}</option>
                </select>
                <span class="hint">{tr("price.hint")}</span>
            </label>
            {move || (mode() == PriceCheckMode::Fill).then(|| view! {
                <UpstreamFields prefix="price_check.fill_from" get=up set=set_up />
            })}
        </fieldset>
    }
}

/// A ratio upstream's name, address and endpoint (`prefix` names the settings field, e.g.
/// `price_watch.upstream`): read with `get`, written with `set` (the field's new text).
#[component]
fn UpstreamFields(
    prefix: &'static str,
    get: impl Fn(fn(&RatioUpstream) -> String) -> String + Copy + Send + Sync + 'static,
    set: impl Fn(fn(&mut RatioUpstream, String), String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class="grid3">
            <label class="field"><span>{tr("price.fill_name")}</span>
                <input data-field=format!("{prefix}.name") prop:value=move || get(|u| u.name.clone())
                    on:change=move |ev| set(|u, v| u.name = v, event_target_value(&ev)) /></label>
            <label class="field"><span>{tr("price.fill_url")}</span>
                <input data-field=format!("{prefix}.base_url") placeholder="https://" prop:value=move || get(|u| u.base_url.clone())
                    on:change=move |ev| set(|u, v| u.base_url = v, event_target_value(&ev)) /></label>
            <label class="field"><span>{tr("price.fill_endpoint")}</span>
                <input data-field=format!("{prefix}.endpoint") prop:value=move || get(|u| u.endpoint.clone())
                    on:change=move |ev| set(|u, v| u.endpoint = v, event_target_value(&ev)) /></label>
        </div>
    }
}

/// The "Price watch" fieldset of a site's settings (issue 19, `docs/pricing-check.md`): which
/// upstream to watch, how often the extension's alarm runs it, and the guardrails of the
/// optional unattended apply. Disabled, with the reason, where the site type has no ratio sync.
#[component]
pub fn PriceWatchFields(
    s: RwSignal<Option<SyncSettings>>,
    ratio_sync: Signal<bool>,
) -> impl IntoView {
    let watch = move |f: fn(&PriceWatchSettings) -> String| {
        s.with(|s| s.as_ref().map(|s| f(&s.price_watch)).unwrap_or_default())
    };
    let flag = move |f: fn(&PriceWatchSettings) -> bool| {
        s.with(|s| s.as_ref().is_some_and(|s| f(&s.price_watch)))
    };
    let set = move |f: Box<dyn FnOnce(&mut PriceWatchSettings)>| {
        s.update(|s| {
            if let Some(s) = s {
                f(&mut s.price_watch)
            }
        })
    };
    let set_up = move |f: fn(&mut RatioUpstream, String), v: String| {
        set(Box::new(move |w| {
            let u = w.upstream.get_or_insert_with(|| {
                Box::new(RatioUpstream {
                    id: 0,
                    name: String::new(),
                    base_url: String::new(),
                    endpoint: msync_types::ratio::ENDPOINT_PRICING.into(),
                })
            });
            f(u, v.trim().to_string());
        }))
    };
    let number = |v: String| v.trim().parse::<u32>().ok();
    let up = move |f: fn(&RatioUpstream) -> String| {
        s.with(|s| {
            s.as_ref()
                .and_then(|s| s.price_watch.upstream.as_deref().map(f))
                .unwrap_or_default()
        })
    };
    view! {
        <fieldset data-testid="price-watch" prop:disabled=move || !ratio_sync.get()>
            <legend>{tr("watch.title")}</legend>
            {move || (!ratio_sync.get()).then(|| view! { <p class="hint" data-testid="price-watch-unavailable">{tr("watch.unavailable")}</p> })}
            <label class="check">
                <input type="checkbox" data-field="price_watch.enabled" prop:checked=move || flag(|w| w.enabled)
                    on:change=move |ev| { let v = event_target_checked(&ev); set(Box::new(move |w| w.enabled = v)) } />
                <span>{tr("watch.enabled")}</span>
            </label>
            <span class="hint">{tr("watch.hint")}</span>
            <UpstreamFields prefix="price_watch.upstream" get=up set=set_up />
            <label class="field"><span>{tr("watch.interval")}</span>
                <input type="number" min="15" data-field="price_watch.interval_minutes" prop:value=move || watch(|w| w.interval_minutes.to_string())
                    on:change=move |ev| if let Some(v) = number(event_target_value(&ev)) { set(Box::new(move |w| w.interval_minutes = v)) } /></label>
            <h4>{tr("watch.apply_title")}</h4>
            <label class="check">
                <input type="checkbox" data-field="price_watch.apply.enabled" prop:checked=move || flag(|w| w.apply.enabled)
                    on:change=move |ev| { let v = event_target_checked(&ev); set(Box::new(move |w| w.apply.enabled = v)) } />
                <span>{tr("watch.apply_enabled")}</span>
            </label>
            {move || flag(|w| w.apply.enabled).then(|| view! {
                <div class="grid3" data-testid="price-watch-guardrails">
                    <label class="field"><span>{tr("watch.max_raise")}</span>
                        <input type="number" min="0" max="1000" data-field="price_watch.apply.max_raise_pct" prop:value=move || watch(|w| w.apply.max_raise_pct.to_string())
                            on:change=move |ev| if let Some(v) = number(event_target_value(&ev)) { set(Box::new(move |w| w.apply.max_raise_pct = v)) } />
                        <span class="hint">{tr("watch.max_raise_hint")}</span></label>
                    <label class="check">
                        <input type="checkbox" data-field="price_watch.apply.new_models" prop:checked=move || flag(|w| w.apply.new_models)
                            on:change=move |ev| { let v = event_target_checked(&ev); set(Box::new(move |w| w.apply.new_models = v)) } />
                        <span>{tr("watch.new_models")}</span></label>
                    <label class="check">
                        <input type="checkbox" data-field="price_watch.apply.only_confident" prop:checked=move || flag(|w| w.apply.only_confident)
                            on:change=move |ev| { let v = event_target_checked(&ev); set(Box::new(move |w| w.apply.only_confident = v)) } />
                        <span>{tr("watch.only_confident")}</span></label>
                </div>
            })}
        </fieldset>
    }
}

fn new_sink(kind: &str, name: String) -> SinkConfig {
    let sink = match kind {
        "ntfy" => Sink::Ntfy {
            server: NTFY_SERVER.into(),
            topic: String::new(),
            token: Secret::default(),
        },
        "telegram" => Sink::Telegram {
            api_base: TELEGRAM_API.into(),
            bot_token: Secret::default(),
            chat_id: String::new(),
        },
        _ => Sink::Webhook {
            url: String::new(),
            secret: Secret::default(),
        },
    };
    SinkConfig {
        name,
        enabled: true,
        events: Vec::new(),
        sites: Vec::new(),
        sink,
    }
}

/// The origins a save must be allowed to reach (asked for in the click, a user gesture).
fn sink_origins(s: &NotifySettings) -> Vec<String> {
    let mut out: Vec<String> = s
        .sinks
        .iter()
        .filter_map(|c| {
            let url = match &c.sink {
                Sink::Webhook { url, .. } => url,
                Sink::Ntfy { server, .. } => server,
                Sink::Telegram { api_base, .. } => api_base,
            };
            api::host_pattern_of(url).map(|p| p.trim_end_matches("/*").to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[component]
pub fn NotifyScreen() -> impl IntoView {
    let lang = app().lang;
    let settings = RwSignal::new(None::<NotifySettings>);
    let secrets = RwSignal::new(Vec::<bool>::new());
    let issues = RwSignal::new(Vec::<SettingsIssue>::new());
    let notice = RwSignal::new(Notice::None);
    let log = RwSignal::new(Vec::<Delivery>::new());
    let load_log = move || {
        spawn_local(async move {
            if let Reply::NotifyDeliveries { deliveries } = api::call(&Command::NotifyLog).await {
                log.set(deliveries);
            }
        })
    };
    spawn_local(async move {
        match api::call(&Command::GetNotify).await {
            Reply::Notify {
                settings: s,
                secrets: k,
            } => {
                settings.set(Some(s));
                secrets.set(k);
            }
            other => notice.set(Notice::Error(Said::reply(other))),
        }
    });
    load_log();
    let edit = move |i: usize, f: Box<dyn Fn(&mut SinkConfig)>| {
        settings.update(|s| {
            if let Some(c) = s.as_mut().and_then(|s| s.sinks.get_mut(i)) {
                f(c)
            }
        })
    };
    let save = move |_| {
        let Some(s) = settings.get_untracked() else {
            return;
        };
        let granted = api::request_host_permissions(&sink_origins(&s));
        spawn_local(async move {
            let _ = granted.await;
            match api::call(&Command::SaveNotify { settings: s }).await {
                Reply::Notify {
                    settings: s,
                    secrets: k,
                } => {
                    issues.set(Vec::new());
                    settings.set(Some(s));
                    secrets.set(k);
                    notice.set(Notice::Ok(Said::key("set.saved")));
                }
                Reply::Invalid { issues: list } => {
                    let n = list.len();
                    notice.set(Notice::Error(Said::new(move |l| {
                        fill(lookup(l, "set.invalid"), &[&n])
                    })));
                    issues.set(list);
                }
                other => notice.set(Notice::Error(Said::reply(other))),
            }
        });
    };
    let test = move |name: String| {
        spawn_local(async move {
            notice.set(Notice::Info(Said::key("notify.testing")));
            match api::call(&Command::TestNotify { sink: name.clone() }).await {
                Reply::NotifyDeliveries { deliveries } => {
                    match deliveries.first().map(|d| &d.outcome) {
                        Some(DeliveryOutcome::Sent) => {
                            notice.set(Notice::Ok(Said::new(move |l| {
                                fill(lookup(l, "notify.test_sent"), &[&name])
                            })))
                        }
                        Some(DeliveryOutcome::Failed { error }) => {
                            let error = error.clone();
                            notice.set(Notice::Error(Said::new(move |l| {
                                let why = crate::reasons::error_text(l, &error);
                                fill(lookup(l, "notify.test_failed"), &[&name, &why])
                            })))
                        }
                        _ => {}
                    }
                }
                other => notice.set(Notice::Error(Said::reply(other))),
            }
            load_log();
        });
    };
    let num = move |get: fn(&NotifySettings) -> u64| {
        move || settings.with(|s| s.as_ref().map(get).unwrap_or(0).to_string())
    };
    view! {
        <section data-testid="notify-screen">
            <h2>{tr("nav.notify")}</h2>
            <p class="muted">{tr("notify.intro")}</p>
            <div class="grid3">
                <label class="field"><span>{tr("notify.suppress")}</span>
                    <input type="number" data-field="suppress_hours" prop:value=num(|s| s.suppress_secs / 3600)
                        on:change=move |ev| { if let Ok(h) = event_target_value(&ev).trim().parse::<u64>() {
                            settings.update(|s| if let Some(s) = s { s.suppress_secs = h * 3600 })
                        } } />
                    <span class="hint">{tr("notify.suppress_hint")}</span></label>
                <label class="field"><span>{tr("notify.threshold")}</span>
                    <input type="number" data-field="price_threshold_pct" prop:value=num(|s| u64::from(s.price_threshold_pct))
                        on:change=move |ev| { if let Ok(p) = event_target_value(&ev).trim().parse::<u32>() {
                            settings.update(|s| if let Some(s) = s { s.price_threshold_pct = p })
                        } } />
                    <span class="hint">{tr("notify.threshold_hint")}</span></label>
            </div>
            {move || {
                let list = settings.with(|s| s.as_ref().map(|s| s.sinks.clone()).unwrap_or_default());
                list.into_iter().enumerate().map(|(i, c)| {
                    let has_secret = secrets.with(|k| k.get(i).copied().unwrap_or(false));
                    let kind = c.sink.type_name();
                    let name = c.name.clone();
                    let field = move |v: String, f: fn(&mut Sink, String)| {
                        edit(i, Box::new(move |c| f(&mut c.sink, v.trim().to_string())))
                    };
                    let (url_label, url_value, set_url): (&'static str, String, fn(&mut Sink, String)) = match &c.sink {
                        Sink::Webhook { url, .. } => ("notify.url", url.clone(), |s, v| if let Sink::Webhook { url, .. } = s { *url = v }),
                        Sink::Ntfy { server, .. } => ("notify.server", server.clone(), |s, v| if let Sink::Ntfy { server, .. } = s { *server = v }),
                        Sink::Telegram { api_base, .. } => ("notify.api_base", api_base.clone(), |s, v| if let Sink::Telegram { api_base, .. } = s { *api_base = v }),
                    };
                    let extra = match &c.sink {
                        Sink::Ntfy { topic, .. } => Some(("notify.topic", topic.clone(), (|s: &mut Sink, v: String| if let Sink::Ntfy { topic, .. } = s { *topic = v }) as fn(&mut Sink, String))),
                        Sink::Telegram { chat_id, .. } => Some(("notify.chat_id", chat_id.clone(), (|s: &mut Sink, v: String| if let Sink::Telegram { chat_id, .. } = s { *chat_id = v }) as fn(&mut Sink, String))),
                        Sink::Webhook { .. } => None,
                    };
                    let secret_label = match kind { "telegram" => "notify.bot_token", "ntfy" => "notify.ntfy_token", _ => "notify.hmac" };
                    let events = c.events.clone();
                    let sites = c.sites.join(", ");
                    let enabled = c.enabled;
                    view! {
                        <fieldset class="card" data-testid=format!("sink-{i}")>
                            <legend>{format!("{} ({kind})", c.name)}</legend>
                            <div class="grid3">
                                <label class="field"><span>{tr("notify.name")}</span>
                                    <input data-field="name" prop:value=c.name.clone()
                                        on:change=move |ev| { let v = event_target_value(&ev); edit(i, Box::new(move |c| c.name = v.trim().to_string())) } /></label>
                                <label class="field"><span>{tr(url_label)}</span>
                                    <input data-field="url" prop:value=url_value on:change=move |ev| field(event_target_value(&ev), set_url) /></label>
                                {extra.map(move |(label, value, set)| view! {
                                    <label class="field"><span>{tr(label)}</span>
                                        <input data-field="extra" prop:value=value on:change=move |ev| field(event_target_value(&ev), set) /></label>
                                })}
                                <label class="field"><span>{tr(secret_label)}</span>
                                    <input type="password" data-field="secret" autocomplete="off"
                                        placeholder=move || if has_secret { t("notify.secret_kept") } else { "" }
                                        on:change=move |ev| {
                                            let v = event_target_value(&ev);
                                            edit(i, Box::new(move |c| {
                                                let v = Secret(v.trim().to_string());
                                                match &mut c.sink {
                                                    Sink::Webhook { secret, .. } => *secret = v,
                                                    Sink::Ntfy { token, .. } => *token = v,
                                                    Sink::Telegram { bot_token, .. } => *bot_token = v,
                                                }
                                            }))
                                        } /></label>
                                <label class="field"><span>{tr("notify.sites")}</span>
                                    <input data-field="sites" prop:value=sites placeholder=move || t("notify.all_sites")
                                        on:change=move |ev| { let v = event_target_value(&ev); edit(i, Box::new(move |c| c.sites = v.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect())) } /></label>
                            </div>
                            <div class="row">
                                <span class="muted">{tr("notify.events")}</span>
                                {EventKind::CHOOSABLE.into_iter().map(|k| {
                                    let on = events.is_empty() || events.contains(&k);
                                    view! {
                                        <label class="check"><input type="checkbox" data-event=k.as_str() prop:checked=on
                                            on:change=move |ev| {
                                                let checked = event_target_checked(&ev);
                                                edit(i, Box::new(move |c| {
                                                    let mut set: Vec<EventKind> = if c.events.is_empty() { EventKind::CHOOSABLE.to_vec() } else { c.events.clone() };
                                                    set.retain(|x| *x != k);
                                                    if checked { set.push(k); }
                                                    set.sort();
                                                    c.events = if set.len() == EventKind::CHOOSABLE.len() { Vec::new() } else { set };
                                                }))
                                            } /><span>{tr(event_label(k))}</span></label>
                                    }
                                }).collect_view()}
                            </div>
                            <div class="row">
                                <label class="check"><input type="checkbox" prop:checked=enabled
                                    on:change=move |ev| { let v = event_target_checked(&ev); edit(i, Box::new(move |c| c.enabled = v)) } /><span>{tr("notify.enabled")}</span></label>
                                <span class="spacer"></span>
                                <button type="button" data-testid=format!("notify-test-{i}") on:click=move |_| test(name.clone())>{tr("notify.send_test")}</button>
                                <button type="button" class="danger" on:click=move |_| settings.update(|s| if let Some(s) = s { if i < s.sinks.len() { s.sinks.remove(i); } })>{tr("notify.remove")}</button>
                            </div>
                        </fieldset>
                    }
                }).collect_view()
            }}
            <div class="row">
                {["webhook", "ntfy", "telegram"].into_iter().map(|k| view! {
                    <button type="button" data-testid=format!("add-{k}") on:click=move |_| settings.update(|s| if let Some(s) = s {
                        let n = s.sinks.len() + 1;
                        s.sinks.push(new_sink(k, format!("{k}-{n}")));
                    })>{move || fill(lookup(lang.get(), "notify.add"), &[&k])}</button>
                }).collect_view()}
            </div>
            <NoticeLine notice=notice />
            {move || (!issues.with(|i| i.is_empty())).then(|| view! {
                <ul class="issues" data-testid="issues">
                    {issues.get().into_iter().map(|i| view! { <li><code>{i.field.clone()}</code>": "{crate::reasons::issue_text(lang.get(), &i)}</li> }).collect_view()}
                </ul>
            })}
            <div class="row sticky">
                <button type="button" class="primary" data-testid="save-notify" on:click=save>{tr("common.save")}</button>
            </div>
            <h3>{tr("notify.log")}</h3>
            {move || {
                let list = log.get();
                if list.is_empty() {
                    return view! { <p class="muted">{tr("notify.log_empty")}</p> }.into_any();
                }
                view! {
                    <table class="results" data-testid="notify-log">
                        <tbody>
                            {list.into_iter().rev().take(20).map(|d| {
                                let (cls, what) = match &d.outcome {
                                    DeliveryOutcome::Sent => ("st-success", t("notify.sent").to_string()),
                                    DeliveryOutcome::Suppressed { .. } => ("st-skipped", t("notify.suppressed").to_string()),
                                    DeliveryOutcome::Failed { error } => ("st-failed", format!("{}: {}", t("notify.failed"), crate::reasons::error_text(lang.get(), error))),
                                };
                                view! {
                                    <tr>
                                        <td class="mono">{api::local_clock(d.at_ms)}</td>
                                        <td>{d.sink.clone()}</td>
                                        <td>{tr(event_label(d.event))}</td>
                                        <td>{d.site.clone().unwrap_or_default()}</td>
                                        <td><span class=format!("badge {cls}")>{what}</span></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

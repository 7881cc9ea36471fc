//! Issue 21, probe before adding (`docs/probe.md`), in the options page:
//!
//! * [`ProbeSettingsFields`] — the Settings screen's "Probe before adding" fieldset, disabled
//!   with the reason where the gateway has no channel test, with DoneHub's warning;
//! * [`ProbeSummary`] — the Sync screen's line "this run would send N probes" / "N probes sent,
//!   K models held back";
//! * [`HeldBack`] — the held-back models of a results-table row with the gateway's reason;
//! * [`HealthLine`] and [`HealthSort`] — each channel's health (last good sync, failures in a
//!   row, from the worker's `GetProbeInfo`) as a line under the channel's name, and a sort by it
//!   beside the results table's filters. No extra columns: the table keeps its width, so the
//!   row actions stay inside the card.
//!
//! Outcomes are the core's typed values, rendered here per language; the gateway's own message
//! is shown as it came. Texts live in [`PROBE_TABLE`] (looked up through `i18n::lookup`).

use crate::api;
use crate::common::*;
use crate::format::fill;
use crate::i18n::{lookup, Lang};
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::model::SiteId;
use msync_types::probe::{
    CannotProbe, ChannelHealth, ChannelTest, ModelProbe, OnCannotProbe, ProbeFailure, ProbeOutcome,
};
use msync_types::protocol::{Command, Reply};
use msync_types::record::{ItemResult, RunHead, RunMode};
use msync_types::settings::{SettingsIssue, SyncSettings};
use std::collections::BTreeMap;

/// (id, English, 简体中文), sorted by id.
pub static PROBE_TABLE: &[(&str, &str, &str)] = &[
    ("probe.cannot", "could not probe: {0}", "无法探测：{0}"),
    ("probe.cannot_add", "Add the model anyway", "仍然添加该模型"),
    ("probe.cannot_hold", "Hold the model back", "暂缓添加该模型"),
    ("probe.col_failures", "Failures in a row", "连续失败"),
    ("probe.col_held", "Held back", "暂缓添加"),
    ("probe.col_last_good", "Last good sync", "上次成功同步"),
    ("probe.cost", "Each probe is a real request through the channel's key and spends tokens; the gateway's channel test runs it, so msync never sees the key.", "每次探测都是使用渠道密钥的真实请求，会消耗 token；请求由网关自身的渠道测试发出，msync 不会接触密钥。"),
    ("probe.disabled_by_gateway", "the gateway disabled the channel", "网关已禁用该渠道"),
    ("probe.enabled", "Probe new models before adding them", "添加新模型前先探测"),
    ("probe.estimate", "This run would send {0} probes ({1} from the cache).", "本次运行将发送 {0} 次探测（{1} 次来自缓存）。"),
    ("probe.f_model_not_found", "the upstream does not know the model", "上游不认识该模型"),
    ("probe.f_model_refused", "the key may not use the model", "该密钥无权使用该模型"),
    ("probe.f_other", "the test failed", "测试失败"),
    ("probe.f_price_missing", "the gateway has no price for the model", "网关未给该模型定价"),
    ("probe.f_quota", "out of quota or balance", "额度或余额不足"),
    ("probe.failed", "failed: {0}", "失败：{0}"),
    ("probe.legend", "Probe before adding", "添加前探测"),
    ("probe.max_per_channel", "Probes per channel and run", "每个渠道每次运行的探测数"),
    ("probe.max_per_run", "Probes per run", "每次运行的探测数"),
    ("probe.missing", "This gateway has no channel test, so models cannot be probed here; new models are added as before and shown as “could not probe”.", "该网关没有渠道测试接口，无法在此探测模型；新模型照常添加，并标记为“无法探测”。"),
    ("probe.never", "never", "从未"),
    ("probe.on_cannot", "When a model cannot be probed", "无法探测模型时"),
    ("probe.passed", "passed", "通过"),
    ("probe.sent", "{0} probes sent, {1} from the cache; {2} models held back.", "已发送 {0} 次探测，{1} 次来自缓存；{2} 个模型暂缓添加。"),
    ("probe.sort", "Sort", "排序"),
    ("probe.sort_failures", "Failures in a row (most first)", "连续失败（多者在前）"),
    ("probe.sort_last_good", "Last good sync (oldest first)", "上次成功同步（最早在前）"),
    ("probe.sort_run", "Run order", "运行顺序"),
    ("probe.timeout", "Probe time limit", "探测时限"),
    ("probe.ttl", "Trust a result for", "探测结果有效期"),
    ("probe.w_budget_channel", "the channel's probe budget is spent", "该渠道的探测次数已用完"),
    ("probe.w_budget_run", "the run's probe budget is spent", "本次运行的探测次数已用完"),
    ("probe.w_disabled", "the channel is disabled", "该渠道已禁用"),
    ("probe.w_error", "the test request failed ({0})", "测试请求失败（{0}）"),
    ("probe.w_no_endpoint", "this gateway has no channel test", "该网关没有渠道测试接口"),
    ("probe.w_no_route", "this gateway version has no channel test route", "该网关版本没有渠道测试路由"),
    ("probe.w_timeout", "no answer within the probe time limit", "探测时限内没有应答"),
    ("probe.warn_disables", "On this gateway a failed channel test can disable the whole channel (its automatic disabling). msync stops probing a channel the gateway disabled and shows it.", "在该网关上，渠道测试失败可能会使整个渠道被禁用（网关的自动禁用）。网关禁用渠道后 msync 会停止探测该渠道并显示出来。"),
    ("probe.would", "would be probed", "将被探测"),
];

/// The text of a `probe.*` id, if it is one.
pub fn lookup_probe(lang: Lang, id: &str) -> Option<&'static str> {
    PROBE_TABLE
        .binary_search_by(|(k, _, _)| k.cmp(&id))
        .ok()
        .map(|i| match lang {
            Lang::En => PROBE_TABLE[i].1,
            Lang::Zh => PROBE_TABLE[i].2,
        })
}

fn l(lang: Lang, id: &'static str) -> &'static str {
    lookup(lang, id)
}

pub fn failure_text(lang: Lang, f: ProbeFailure) -> &'static str {
    l(
        lang,
        match f {
            ProbeFailure::ModelNotFound => "probe.f_model_not_found",
            ProbeFailure::ModelRefused => "probe.f_model_refused",
            ProbeFailure::Quota => "probe.f_quota",
            ProbeFailure::PriceMissing => "probe.f_price_missing",
            ProbeFailure::Other => "probe.f_other",
        },
    )
}

pub fn cannot_text(lang: Lang, why: &CannotProbe) -> String {
    match why {
        CannotProbe::NoEndpoint => l(lang, "probe.w_no_endpoint").into(),
        CannotProbe::EndpointMissingOnVersion => l(lang, "probe.w_no_route").into(),
        CannotProbe::ChannelDisabled => l(lang, "probe.w_disabled").into(),
        CannotProbe::Timeout => l(lang, "probe.w_timeout").into(),
        CannotProbe::RunBudget => l(lang, "probe.w_budget_run").into(),
        CannotProbe::ChannelBudget => l(lang, "probe.w_budget_channel").into(),
        CannotProbe::Error {
            class,
            http_status,
            message,
        } => {
            let what = match http_status {
                Some(s) => format!("{class}, HTTP {s}: {message}"),
                None => format!("{class}: {message}"),
            };
            fill(l(lang, "probe.w_error"), &[&what])
        }
    }
}

/// One probe's outcome in `lang`: the classification in words, then the gateway's own answer.
pub fn outcome_text(lang: Lang, p: &ModelProbe) -> String {
    match &p.outcome {
        ProbeOutcome::Passed { answer } => match answer.response_ms {
            Some(ms) => format!("{} ({ms} ms)", l(lang, "probe.passed")),
            None => l(lang, "probe.passed").into(),
        },
        ProbeOutcome::Failed { failure, answer } => {
            let mut detail = failure_text(lang, *failure).to_string();
            detail.push_str(&format!(" — HTTP {}", answer.http_status));
            if let Some(ms) = answer.response_ms {
                detail.push_str(&format!(", {ms} ms"));
            }
            if let Some(m) = answer.message.as_deref().filter(|m| !m.is_empty()) {
                detail.push_str(&format!(": {m}"));
            }
            if answer.channel_disabled {
                detail.push_str(&format!(" ({})", l(lang, "probe.disabled_by_gateway")));
            }
            fill(l(lang, "probe.failed"), &[&detail])
        }
        ProbeOutcome::CannotProbe { why } => {
            fill(l(lang, "probe.cannot"), &[&cannot_text(lang, why)])
        }
        ProbeOutcome::WouldProbe => l(lang, "probe.would").into(),
    }
}

/// Probe counts of a run's items: (sent, from the cache, would send, held back).
pub fn counts(items: &[ItemResult]) -> (usize, usize, usize, usize) {
    let mut c = (0, 0, 0, 0);
    for p in items.iter().flat_map(|i| &i.probes) {
        c.0 += usize::from(p.sent());
        c.1 += usize::from(p.cached_from_ms.is_some());
        c.2 += usize::from(p.outcome == ProbeOutcome::WouldProbe);
        c.3 += usize::from(p.held_back);
    }
    c
}

// ----- the results table ------------------------------------------------------------------

/// Sort orders of the results table by channel health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthSortBy {
    /// Most failures in a row first.
    Failures,
    /// Oldest last good sync first (never first of all).
    LastGood,
}

/// The Sync screen's probe state: channel health and the chosen sort, provided as context.
#[derive(Clone, Copy)]
pub struct ProbeCtx {
    pub health: RwSignal<BTreeMap<String, ChannelHealth>>,
    pub test: RwSignal<Option<ChannelTest>>,
    pub sort: RwSignal<Option<HealthSortBy>>,
}

impl ProbeCtx {
    /// Create it, provide it, and reload it whenever the site changes or a run ends.
    pub fn provide(site: Signal<SiteId>) -> ProbeCtx {
        let ctx = ProbeCtx {
            health: RwSignal::new(BTreeMap::new()),
            test: RwSignal::new(None),
            sort: RwSignal::new(None),
        };
        let app = app();
        Effect::new(move |_| {
            app.runs_changed.track();
            let site = site.get();
            spawn_local(async move {
                if let Reply::ProbeInfo {
                    channel_test,
                    health,
                } = api::call(&Command::GetProbeInfo { site }).await
                {
                    ctx.test.set(Some(channel_test));
                    ctx.health.set(health);
                }
            });
        });
        provide_context(ctx);
        ctx
    }

    /// Sort `rows` by the chosen health order (stable: ties keep the run's order).
    pub fn sort_rows(&self, rows: &mut [&ItemResult]) {
        let Some(by) = self.sort.get() else {
            return;
        };
        self.health.with(|h| {
            let of = |i: &ItemResult| h.get(&i.channel_id.0).cloned().unwrap_or_default();
            match by {
                HealthSortBy::Failures => {
                    rows.sort_by_key(|i| std::cmp::Reverse(of(i).failures_in_row))
                }
                HealthSortBy::LastGood => rows.sort_by_key(|i| of(i).last_good_ms.unwrap_or(0)),
            }
        });
    }
}

/// The sort by channel health, beside the results table's filters.
#[component]
pub fn HealthSort() -> impl IntoView {
    let ctx = expect_context::<ProbeCtx>();
    let value = move || match ctx.sort.get() {
        None => "run",
        Some(HealthSortBy::Failures) => "failures",
        Some(HealthSortBy::LastGood) => "last_good",
    };
    view! {
        <label class="healthsort small">
            {tr("probe.sort")}" "
            <select data-testid="health-sort" prop:value=value
                on:change=move |ev| ctx.sort.set(match event_target_value(&ev).as_str() {
                    "failures" => Some(HealthSortBy::Failures),
                    "last_good" => Some(HealthSortBy::LastGood),
                    _ => None,
                })>
                <option value="run">{tr("probe.sort_run")}</option>
                <option value="failures">{tr("probe.sort_failures")}</option>
                <option value="last_good">{tr("probe.sort_last_good")}</option>
            </select>
        </label>
    }
}

/// Failures in a row are marked from two on.
fn badge_class(failures_in_row: u32) -> &'static str {
    if failures_in_row > 1 {
        "badge st-failed"
    } else {
        ""
    }
}

/// A channel's health under its name: last good sync (time; the full date in the tooltip) and
/// failures in a row (marked from two on).
#[component]
pub fn HealthLine(channel: String) -> impl IntoView {
    let ctx = expect_context::<ProbeCtx>();
    let lang = app().lang;
    let health = Signal::derive(move || {
        ctx.health
            .with(|h| h.get(&channel).cloned().unwrap_or_default())
    });
    view! {
        <div class="health small muted" data-testid="health">
            <span title=move || health.get().last_good_ms.map(api::local_time).unwrap_or_default()>
                {tr("probe.col_last_good")}": "
                <span class="mono" data-testid="last-good">{move || match health.get().last_good_ms {
                    Some(ms) => api::local_clock(ms),
                    None => lookup(lang.get(), "probe.never").to_string(),
                }}</span>
            </span>
            " · "
            <span>
                {tr("probe.col_failures")}": "
                <span data-testid="failures-in-row"
                    class=move || badge_class(health.get().failures_in_row)>
                    {move || health.get().failures_in_row}
                </span>
            </span>
        </div>
    }
}

/// The held-back models of one row with the gateway's reason, shown in the message column
/// (the column a written channel leaves empty; the table keeps its width).
#[component]
pub fn HeldBack(item: ItemResult) -> impl IntoView {
    let lang = app().lang;
    item.probes
        .into_iter()
        .filter(|p| p.held_back)
        .map(|p| {
            let p2 = p.clone();
            view! {
                <div class="heldmodel" data-testid="held-back" data-model=p.model.clone()>
                    <span class="badge st-needs_review" title=tr("probe.col_held")>{p.model.clone()}</span>" "
                    <span class="small">{move || outcome_text(lang.get(), &p2)}</span>
                </div>
            }
        })
        .collect_view()
}

/// "This run would send N probes" (dry run) or "N probes sent, K models held back".
#[component]
pub fn ProbeSummary(run: RwSignal<Option<(RunHead, Vec<ItemResult>)>>) -> impl IntoView {
    let lang = app().lang;
    move || {
        run.with(|r| {
            let (head, items) = r.as_ref()?;
            let (sent, cached, would, held) = counts(items);
            if sent + cached + would + held == 0 {
                return None;
            }
            let text = if head.mode == RunMode::DryRun {
                fill(lookup(lang.get(), "probe.estimate"), &[&would, &cached])
            } else {
                fill(lookup(lang.get(), "probe.sent"), &[&sent, &cached, &held])
            };
            Some(view! { <p class="notice info" data-testid="probe-summary">{text}</p> })
        })
    }
}

// ----- the Settings screen ------------------------------------------------------------------

fn issue(issues: RwSignal<Vec<SettingsIssue>>, field: &'static str) -> impl Fn() -> Option<String> {
    move || {
        issues.with(|l| {
            l.iter()
                .find(|i| i.field == field)
                .map(|i| crate::reasons::issue_text(app().lang.get(), i))
        })
    }
}

/// The "Probe before adding" fieldset. Disabled, with the reason, where the site's gateway has
/// no channel test (its adapter's `Capabilities::channel_test`).
#[component]
pub fn ProbeSettingsFields(
    s: RwSignal<Option<SyncSettings>>,
    site: Signal<SiteId>,
    issues: RwSignal<Vec<SettingsIssue>>,
) -> impl IntoView {
    let lang = app().lang;
    let test = RwSignal::new(None::<ChannelTest>);
    Effect::new(move |_| {
        let site = site.get();
        spawn_local(async move {
            if let Reply::ProbeInfo { channel_test, .. } =
                api::call(&Command::GetProbeInfo { site }).await
            {
                test.set(Some(channel_test));
            }
        });
    });
    let missing = move || test.get() == Some(ChannelTest::Missing);
    let disables = move || {
        matches!(
            test.get(),
            Some(ChannelTest::Supported {
                may_disable_channel: true,
                ..
            })
        )
    };
    let get = move |f: fn(&SyncSettings) -> u64| {
        move || s.with(|s| s.as_ref().map(f).unwrap_or(0)).to_string()
    };
    let num = move |label: &'static str,
                    field: &'static str,
                    unit: &'static str,
                    read: fn(&SyncSettings) -> u64,
                    write: fn(&mut SyncSettings, u32)| {
        view! {
            <label class="field">
                <span>{tr(label)}</span>
                <input type="number" data-field=field prop:value=get(read)
                    prop:disabled=missing
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                            s.update(|s| if let Some(s) = s { write(s, v) });
                        }
                    } />
                <span class="hint">{unit}</span>
                {move || issue(issues, field)().map(|m| view! { <span class="field-error" role="alert" data-testid="field-error">{m}</span> })}
            </label>
        }
    };
    let enabled = move || s.with(|s| s.as_ref().is_some_and(|s| s.probe.enabled));
    let on_cannot = move || {
        s.with(|s| {
            s.as_ref()
                .map(|s| s.probe.on_cannot_probe)
                .unwrap_or_default()
        })
    };
    view! {
        <fieldset data-testid="probe-settings">
            <legend>{tr("probe.legend")}</legend>
            {move || missing().then(|| view! { <p class="notice info" data-testid="probe-missing">{tr("probe.missing")}</p> })}
            <label class="check">
                <input type="checkbox" data-testid="probe-enabled" prop:checked=enabled prop:disabled=missing
                    on:change=move |ev| { let v = event_target_checked(&ev); s.update(|s| if let Some(s) = s { s.probe.enabled = v }) } />
                <span>{tr("probe.enabled")}</span>
            </label>
            <p class="hint">{tr("probe.cost")}</p>
            {move || disables().then(|| view! { <p class="notice warn" data-testid="probe-warn-disables">{tr("probe.warn_disables")}</p> })}
            <div class="grid3">
                {num("probe.max_per_run", "probe.max_per_run", "1–1000", |s| u64::from(s.probe.max_per_run), |s, v| s.probe.max_per_run = v)}
                {num("probe.max_per_channel", "probe.max_per_channel", "1–100", |s| u64::from(s.probe.max_per_channel), |s, v| s.probe.max_per_channel = v)}
                {num("probe.ttl", "probe.cache_ttl_days", "0–365 d", |s| u64::from(s.probe.cache_ttl_days), |s, v| s.probe.cache_ttl_days = v)}
                {num("probe.timeout", "probe.timeout_secs", "5–120 s", |s| u64::from(s.probe.timeout_secs), |s, v| s.probe.timeout_secs = v)}
                <label class="field">
                    <span>{tr("probe.on_cannot")}</span>
                    <select data-testid="probe-on-cannot" prop:disabled=missing
                        prop:value=move || if on_cannot() == OnCannotProbe::HoldBack { "hold_back" } else { "add_anyway" }
                        on:change=move |ev| {
                            let v = if event_target_value(&ev) == "hold_back" { OnCannotProbe::HoldBack } else { OnCannotProbe::AddAnyway };
                            s.update(|s| if let Some(s) = s { s.probe.on_cannot_probe = v });
                        }>
                        <option value="add_anyway">{move || lookup(lang.get(), "probe.cannot_add")}</option>
                        <option value="hold_back">{move || lookup(lang.get(), "probe.cannot_hold")}</option>
                    </select>
                </label>
            </div>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msync_types::probe::ProbeAnswer;

    #[test]
    fn the_table_is_sorted_and_both_languages_have_the_same_placeholders() {
        for w in PROBE_TABLE.windows(2) {
            assert!(w[0].0 < w[1].0, "{} / {}", w[0].0, w[1].0);
        }
        for (id, en, zh) in PROBE_TABLE {
            let holes = |s: &str| (0..5).filter(|i| s.contains(&format!("{{{i}}}"))).count();
            assert_eq!(holes(en), holes(zh), "{id}");
        }
    }

    #[test]
    fn every_probe_id_used_by_the_views_exists() {
        let re = regex::Regex::new(r#""(probe\.[a-z_0-9]+)""#).unwrap();
        let mut used = 0;
        for src in [
            include_str!("probe.rs"),
            include_str!("sync.rs"),
            include_str!("settings.rs"),
        ] {
            for cap in re.captures_iter(src) {
                used += 1;
                let id = cap.get(1).unwrap().as_str();
                // Settings field paths (`data-field`), not message ids.
                if ["probe.cache_ttl_days", "probe.timeout_secs", "probe.rs"].contains(&id) {
                    continue;
                }
                assert!(lookup_probe(Lang::En, id).is_some(), "untranslated {id}");
            }
        }
        assert!(used > 30, "{used}");
    }

    #[test]
    fn outcomes_render_in_both_languages_with_the_gateways_message() {
        let p = ModelProbe {
            model: "gpt-x".into(),
            outcome: ProbeOutcome::Failed {
                failure: ProbeFailure::ModelNotFound,
                answer: ProbeAnswer {
                    http_status: 200,
                    message: Some("model not found".into()),
                    response_ms: Some(900),
                    ..Default::default()
                },
            },
            held_back: true,
            cached_from_ms: None,
        };
        assert_eq!(
            outcome_text(Lang::En, &p),
            "failed: the upstream does not know the model — HTTP 200, 900 ms: model not found"
        );
        assert_eq!(
            outcome_text(Lang::Zh, &p),
            "失败：上游不认识该模型 — HTTP 200, 900 ms: model not found"
        );
        let c = ModelProbe {
            outcome: ProbeOutcome::CannotProbe {
                why: CannotProbe::NoEndpoint,
            },
            held_back: false,
            ..p
        };
        assert_eq!(
            outcome_text(Lang::Zh, &c),
            "无法探测：该网关没有渠道测试接口"
        );
    }
}

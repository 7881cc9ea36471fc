//! State and small pieces both pages share: the language, live progress from worker events, the
//! status badge, notices.

use crate::api;
use crate::i18n::{lookup, Lang};
use leptos::prelude::*;
use leptos::task::spawn_local;
use msync_types::error::ErrorClass;
use msync_types::protocol::{Command, Event, Reply};
use msync_types::record::ItemStatus;
use msync_types::run::Progress;
use std::collections::HashMap;
use std::sync::Arc;

/// Page-wide state, provided as context.
#[derive(Clone, Copy)]
pub struct App {
    pub lang: RwSignal<Lang>,
    /// Live progress per site id, from `Event::Progress`.
    pub progress: RwSignal<HashMap<String, Progress>>,
    /// Bumped on every `Event::RunFinished` (and after commands that change runs): views reload.
    pub runs_changed: RwSignal<u64>,
    /// The last `Event::Item` per site, for tables that patch rows live.
    pub last_item: RwSignal<Option<(String, msync_types::record::ItemResult)>>,
}

impl App {
    pub fn start() -> App {
        let initial = api::saved_language().unwrap_or_else(api::browser_language);
        let app = App {
            lang: RwSignal::new(Lang::from_tag(&initial)),
            progress: RwSignal::new(HashMap::new()),
            runs_changed: RwSignal::new(0),
            last_item: RwSignal::new(None),
        };
        api::set_document_lang(app.lang.get_untracked().code());
        api::on_event(move |ev| match ev {
            Event::Progress { site, progress } => {
                app.progress.update(|m| {
                    m.insert(site.0, progress);
                });
            }
            Event::Item { site, item } => app.last_item.set(Some((site.0, item))),
            Event::RunFinished { site, .. } => {
                app.progress.update(|m| {
                    m.remove(&site.0);
                });
                app.runs_changed.update(|n| *n += 1);
            }
        });
        provide_context(app);
        app
    }

    pub fn set_lang(&self, lang: Lang) {
        self.lang.set(lang);
        api::save_language(lang.code());
        api::set_document_lang(lang.code());
    }
}

pub fn app() -> App {
    expect_context::<App>()
}

/// What to do about a run's error, when there is something to do: a full store needs pruning.
pub fn error_hint(e: &msync_types::Error) -> Option<impl IntoView> {
    (e.class == ErrorClass::Storage).then(
        || view! { <p class="notice info" data-testid="storage-hint">{tr("error.storage")}</p> },
    )
}

/// A translated message that follows the language switch.
pub fn tr(id: &'static str) -> impl Fn() -> &'static str + Clone + Send + Sync + 'static {
    let lang = app().lang;
    move || lookup(lang.get(), id)
}

/// The current language's text for `id`, read once inside a reactive closure.
pub fn t(id: &'static str) -> &'static str {
    lookup(app().lang.get(), id)
}

/// Small outline icons for compact row actions (24×24 paths drawn with `currentColor`). The
/// button that holds one carries the words in `aria-label` and `title`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Icon {
    Sync,
    Exclude,
    Include,
    Diff,
    Revert,
}

pub fn icon(icon: Icon) -> impl IntoView {
    let d = match icon {
        Icon::Sync => "M20 11a8 8 0 0 0-14.9-3.9M4 4v4h4M4 13a8 8 0 0 0 14.9 3.9M20 20v-4h-4",
        Icon::Exclude => "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM5.6 5.6l12.8 12.8",
        Icon::Include => "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM8 12h8M12 8v8",
        Icon::Diff => "M12 3v8M8 7h8M8 17h8M6 21h12",
        Icon::Revert => "M9 14L4 9l5-5M4 9h10a6 6 0 0 1 0 12h-3",
    };
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d=d />
        </svg>
    }
}

pub fn status_id(s: ItemStatus) -> &'static str {
    match s {
        ItemStatus::Success => "status.success",
        ItemStatus::Unchanged => "status.unchanged",
        ItemStatus::Failed => "status.failed",
        ItemStatus::Skipped => "status.skipped",
        ItemStatus::NeedsReview => "status.needs_review",
        ItemStatus::Running => "status.running",
        ItemStatus::Queued => "status.queued",
    }
}

pub fn status_icon(s: ItemStatus) -> &'static str {
    match s {
        ItemStatus::Success => "✓",
        ItemStatus::Unchanged => "=",
        ItemStatus::Failed => "✕",
        ItemStatus::Skipped => "–",
        ItemStatus::NeedsReview => "!",
        ItemStatus::Running => "↻",
        ItemStatus::Queued => "…",
    }
}

#[component]
pub fn StatusBadge(status: ItemStatus) -> impl IntoView {
    view! {
        <span class=format!("badge st-{}", status.as_str())>
            <span aria-hidden="true">{status_icon(status)}" "</span>
            {tr(status_id(status))}
        </span>
    }
}

/// A message line: info, ok or error (errors are announced to screen readers).
#[derive(Clone)]
pub enum Notice {
    None,
    Info(Said),
    Ok(Said),
    Error(Said),
}

/// What a notice says, worded when it is shown: switching the language rewords a notice
/// already on screen.
#[derive(Clone)]
pub struct Said(Arc<dyn Fn(Lang) -> String + Send + Sync>);

impl Said {
    pub fn new(text: impl Fn(Lang) -> String + Send + Sync + 'static) -> Said {
        Said(Arc::new(text))
    }

    /// The text `id` of the pages' table (`i18n.rs`).
    pub fn key(id: &'static str) -> Said {
        Said::new(move |lang| lookup(lang, id).to_string())
    }

    /// Words that are the same in every language: the browser's or a server's own.
    pub fn as_is(text: String) -> Said {
        Said::new(move |_| text.clone())
    }

    /// What went wrong, from a reply that is not the expected one ([`reply_problem_in`]).
    pub fn reply(reply: Reply) -> Said {
        Said::new(move |lang| reply_problem_in(lang, &reply))
    }

    pub fn text(&self, lang: Lang) -> String {
        (self.0)(lang)
    }
}

#[component]
pub fn NoticeLine(notice: RwSignal<Notice>) -> impl IntoView {
    let lang = app().lang;
    move || match notice.get() {
        Notice::None => ().into_any(),
        Notice::Info(m) => {
            view! { <p class="notice info" role="status">{move || m.text(lang.get())}</p> }
                .into_any()
        }
        Notice::Ok(m) => {
            view! { <p class="notice ok" role="status">{move || m.text(lang.get())}</p> }.into_any()
        }
        Notice::Error(m) => view! {
            <p class="notice err" role="alert" data-testid="error">{move || m.text(lang.get())}</p>
        }
        .into_any(),
    }
}

/// A reply that is not the expected one, as text in `lang`: what msync found itself (`reason`,
/// `gave_up`) in that language, a server's text as it came.
pub fn reply_problem_in(lang: Lang, r: &Reply) -> String {
    match r {
        Reply::Error {
            class,
            message,
            reason,
            gave_up,
        } => {
            let text =
                crate::reasons::error_parts(lang, reason.as_ref(), message, gave_up.as_ref());
            if *class == ErrorClass::Storage {
                format!("{text}. {}", lookup(lang, "error.storage"))
            } else {
                text
            }
        }
        Reply::Invalid { issues } => issues
            .iter()
            .map(|i| format!("{}: {}", i.field, crate::reasons::issue_text(lang, i)))
            .collect::<Vec<_>>()
            .join("; "),
        // Not `{other:?}`: Debug of the whole protocol would be compiled into the page for
        // this one line.
        _ => "unexpected reply from the background worker".into(),
    }
}

/// Send a command; on success bump `runs_changed`, otherwise report the problem.
pub fn send_then(cmd: Command, notice: RwSignal<Notice>, ok_text: &'static str) {
    let app = app();
    spawn_local(async move {
        let r = api::call(&cmd).await;
        match r {
            Reply::Ok | Reply::RunStarted { .. } => {
                if !ok_text.is_empty() {
                    notice.set(Notice::Ok(Said::key(ok_text)));
                } else {
                    notice.set(Notice::None);
                }
                app.runs_changed.update(|n| *n += 1);
            }
            other => notice.set(Notice::Error(Said::reply(other))),
        }
    });
}

/// Progress bar with done/total, rate and ETA.
#[component]
pub fn ProgressBar(progress: Progress) -> impl IntoView {
    let lang = app().lang;
    let pct = if progress.total == 0 {
        0.0
    } else {
        progress.done as f64 * 100.0 / progress.total as f64
    };
    let current = progress
        .in_flight
        .iter()
        .map(|c| c.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let eta = progress.eta_ms;
    let rate = progress.rate_per_min;
    let (done, total) = (progress.done, progress.total);
    view! {
        <div class="progress" data-testid="progress">
            <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax=total aria-valuenow=done>
                <div class="fill" style=format!("width:{pct:.1}%")></div>
            </div>
            <p class="muted small">
                {move || crate::format::fill(lookup(lang.get(), "progress.line"), &[&done, &total])}
                {move || eta.map(|e| format!(" · {} {}", lookup(lang.get(), "progress.eta"), crate::format::duration(e))).unwrap_or_default()}
                {move || if rate > 0.0 { format!(" · {rate:.1}/min") } else { String::new() }}
            </p>
            {(!current.is_empty()).then(|| view! { <p class="muted small ellipsis">{tr("progress.current")}" "{current.clone()}</p> })}
        </div>
    }
}

#[component]
pub fn LangSwitch() -> impl IntoView {
    let app = app();
    view! {
        <label class="lang">
            <span class="sr-only">{tr("lang.label")}</span>
            <select
                aria-label=tr("lang.label")
                data-testid="lang"
                on:change=move |ev| app.set_lang(Lang::from_tag(&event_target_value(&ev)))
                prop:value=move || app.lang.get().code()
            >
                <option value="en">"English"</option>
                <option value="zh-CN">"简体中文"</option>
            </select>
        </label>
    }
}

/// A typed value the engine wrote (reason, note, run error) in the page's language, as it
/// changes (`render` is one of `crate::reasons`).
pub fn engine_tr<T: Send + Sync + 'static>(
    value: T,
    render: fn(Lang, &T) -> String,
) -> impl Fn() -> String + Send + Sync + 'static {
    let lang = app().lang;
    move || render(lang.get(), &value)
}

/// Elements a keyboard user can reach inside a dialog.
const FOCUSABLE: &str =
    "button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), \
                         textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

fn focusables(root: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    use wasm_bindgen::JsCast;
    let Ok(list) = root.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// A modal dialog: focus moves into it when it opens and stays inside (Tab and Shift+Tab wrap
/// around), Escape or a click outside closes it.
#[component]
pub fn Dialog(
    labelledby: &'static str,
    testid: &'static str,
    #[prop(into)] on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            if let Some(first) = focusables(&el).first() {
                let _ = first.focus();
            }
        }
    });
    let keydown = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_close.run(());
            return;
        }
        if ev.key() != "Tab" {
            return;
        }
        let Some(el) = node.get_untracked() else {
            return;
        };
        let items = focusables(&el);
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            ev.prevent_default();
            return;
        };
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element());
        let at = |e: &web_sys::HtmlElement| active.as_ref().is_some_and(|a| a == e.as_ref());
        if ev.shift_key() && (at(first) || !items.iter().any(at)) {
            ev.prevent_default();
            let _ = last.focus();
        } else if !ev.shift_key() && (at(last) || !items.iter().any(at)) {
            ev.prevent_default();
            let _ = first.focus();
        }
    };
    view! {
        <div class="overlay" on:click=move |_| on_close.run(())>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby=labelledby data-testid=testid
                node_ref=node
                on:click=|ev| ev.stop_propagation()
                on:keydown=keydown>
                {children()}
            </div>
        </div>
    }
}

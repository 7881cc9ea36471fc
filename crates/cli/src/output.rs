//! What the CLI prints for people: tables, colours, durations (the `--json` documents are in
//! [`crate::json`]).
//!
//! Records never hold secrets (core keeps them out), so nothing here needs to redact.

use msync_core::engine::record::{ItemResult, ItemStatus, RunHead, RunRecord, RunState};
use msync_core::error::ErrorClass;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::IsTerminal;

/// Text for a terminal with the control characters a gateway or an upstream could have put in
/// a channel name, a model name or an error message removed (C0 but newline and tab, DEL, C1):
/// an escape sequence there could move the cursor, retitle the window or hide lines. The colour
/// codes [`Style`] paints (`ESC [ digits;… m`) are kept. `--json` output is not passed through
/// here: JSON escapes those characters itself.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            // Keep a complete SGR sequence (colours), drop any other escape.
            let body = &rest[1..];
            if let Some(params) = body.strip_prefix('[') {
                let len = params
                    .find(|ch: char| !(ch.is_ascii_digit() || ch == ';'))
                    .unwrap_or(params.len());
                if params[len..].starts_with('m') {
                    let seq = 2 + len + 1;
                    out.push_str(&rest[..seq]);
                    rest = &rest[seq..];
                    continue;
                }
            }
        }
        if !unsafe_char(c) {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// Colours, only on a terminal and only without `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn stdout() -> Style {
        Style {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
    pub fn stderr() -> Style {
        Style {
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn status(&self, s: ItemStatus) -> String {
        match s {
            ItemStatus::Success => self.green(s.as_str()),
            ItemStatus::Failed => self.red(s.as_str()),
            ItemStatus::NeedsReview => self.yellow(s.as_str()),
            _ => s.as_str().to_string(),
        }
    }
}

/// Unix milliseconds as an RFC 3339 UTC timestamp (`2025-01-31T12:00:00.000Z`).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    }
}

/// A serde enum's snake_case name (`dry_run`, `manual`).
fn snake<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn short(s: &str, max: usize) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.chars().count() <= max {
        s
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The first `max` of `names`, and how many of `total` (the whole list, which `names` may be a
/// preview of) are left out.
fn list_preview(names: &[String], total: usize, max: usize) -> String {
    let mut s = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let shown = names.len().min(max);
    if total > shown {
        let _ = write!(s, " and {} more", total - shown);
    }
    s
}

/// A run as a human-readable report.
pub fn render_record(rec: &RunRecord, site_name: &str, st: Style, verbose: bool) -> String {
    let h = &rec.head;
    let mut out = String::new();
    let mode = snake(&h.mode);
    let trigger = snake(&h.trigger);
    let _ = writeln!(
        out,
        "{} {}  run {}  ({}, {})  {}",
        st.bold("site"),
        st.bold(site_name),
        h.id,
        mode.as_str().unwrap_or("?"),
        trigger.as_str().unwrap_or("?"),
        duration(h.duration_ms)
    );
    match h.state {
        RunState::Failed => {
            let msg = h
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.class, e.text()))
                .or_else(|| h.note.as_ref().map(ToString::to_string))
                .unwrap_or_else(|| "the run failed".into());
            let _ = writeln!(out, "  {} {}", st.red("run failed:"), msg);
            if h.error
                .as_ref()
                .is_some_and(|e| e.class == ErrorClass::Storage)
            {
                let _ = writeln!(out, "  {}", crate::app::STORAGE_HINT);
            }
        }
        RunState::Skipped => {
            let note = h.note.as_ref().map(ToString::to_string).unwrap_or_default();
            let _ = writeln!(out, "  skipped: {note}");
        }
        RunState::Cancelled => {
            let note = h.note.as_ref().map(ToString::to_string).unwrap_or_default();
            let _ = writeln!(out, "  {} {note}", st.yellow("cancelled:"));
        }
        RunState::Running => {
            let _ = writeln!(
                out,
                "  {}",
                st.yellow("interrupted; `msync resume` continues it")
            );
        }
        RunState::Finished => {}
    }
    let t = &h.totals;
    let _ = writeln!(
        out,
        "  {:<8} {:>7} {:>9} {:>6} {:>7} {:>12}",
        "total", "success", "unchanged", "failed", "skipped", "needs_review"
    );
    let _ = writeln!(
        out,
        "  {:<8} {:>7} {:>9} {:>6} {:>7} {:>12}",
        t.total, t.success, t.unchanged, t.failed, t.skipped, t.needs_review
    );
    let dry = matches!(h.mode, msync_core::engine::record::RunMode::DryRun);
    let changed: Vec<&ItemResult> = rec
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::Success)
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(
            out,
            "\n  {}",
            st.bold(if dry { "would change:" } else { "changed:" })
        );
        for i in &changed {
            let sizes = i.sizes();
            let _ = writeln!(
                out,
                "    #{:<6} {:<28} +{:<3} -{:<3} {}",
                i.channel_id.0,
                short(&i.channel_name, 28),
                sizes.added,
                sizes.removed,
                if verbose {
                    let mut parts = Vec::new();
                    if sizes.added > 0 {
                        parts.push(format!("added {}", list_preview(&i.added, sizes.added, 20)));
                    }
                    if sizes.removed > 0 {
                        parts.push(format!(
                            "removed {}",
                            list_preview(&i.removed, sizes.removed, 20)
                        ));
                    }
                    parts.join("; ")
                } else {
                    String::new()
                }
            );
        }
    }
    let failed: Vec<&ItemResult> = rec
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::Failed)
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\n  {}", st.red("failed:"));
        for i in failed {
            let status = i
                .http_status
                .map(|s| format!("HTTP {s} "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    #{:<6} {:<28} {:<16} {}{} ({} attempt{})",
                i.channel_id.0,
                short(&i.channel_name, 28),
                i.error_class.map(|c| c.as_str()).unwrap_or("error"),
                status,
                short(&i.error_text().unwrap_or_default(), 120),
                i.attempts,
                if i.attempts == 1 { "" } else { "s" }
            );
        }
    }
    reason_section(
        &mut out,
        rec,
        ItemStatus::NeedsReview,
        &st.yellow("needs review:"),
    );
    if verbose {
        reason_section(&mut out, rec, ItemStatus::Skipped, "skipped:");
    }
    price_section(&mut out, rec, st);
    probe_section(&mut out, rec, st, dry);
    out
}

/// The price check's findings (issue 19): the run's notes, then each channel's unpriced and
/// held-back models.
fn price_section(out: &mut String, rec: &RunRecord, st: Style) {
    let notes = rec
        .head
        .pricing
        .as_ref()
        .map(|p| p.notes())
        .unwrap_or_default();
    let items: Vec<&ItemResult> = rec
        .items
        .iter()
        .filter(|i| i.price.as_ref().is_some_and(|p| !p.is_empty()))
        .collect();
    if notes.is_empty() && items.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n  {}", st.yellow("prices:"));
    for n in notes {
        let _ = writeln!(out, "    {n}");
    }
    if let Some(f) = rec.head.pricing.as_ref().and_then(|p| p.fill.as_ref()) {
        if let Some(e) = &f.error {
            let _ = writeln!(
                out,
                "    fill from {} failed: {}: {}",
                f.upstream, e.class, e.message
            );
        }
        if let Some(s) = &f.snapshot {
            let _ = writeln!(out, "    fill snapshot {s} (msync ratios revert {s})");
        }
    }
    for i in items {
        let Some(p) = &i.price else { continue };
        let (label, names) = if p.held.is_empty() {
            ("unpriced", &p.unpriced)
        } else {
            ("held back", &p.held)
        };
        let _ = writeln!(
            out,
            "    #{:<6} {:<28} {label}: {}",
            i.channel_id.0,
            short(&i.channel_name, 28),
            list_preview(names, names.len(), 20)
        );
    }
}

/// Issue 21: the models held back by a probe, and what the probes cost (or would cost).
fn probe_section(out: &mut String, rec: &RunRecord, st: Style, dry: bool) {
    use msync_core::probe::ProbeOutcome;
    let probes: Vec<(&ItemResult, &msync_core::probe::ModelProbe)> = rec
        .items
        .iter()
        .flat_map(|i| i.probes.iter().map(move |p| (i, p)))
        .collect();
    if probes.is_empty() {
        return;
    }
    let sent = probes.iter().filter(|(_, p)| p.sent()).count();
    let would = probes
        .iter()
        .filter(|(_, p)| p.outcome == ProbeOutcome::WouldProbe)
        .count();
    let cached = probes
        .iter()
        .filter(|(_, p)| p.cached_from_ms.is_some())
        .count();
    let _ = writeln!(out);
    if dry {
        let _ = writeln!(
            out,
            "  {} this run would send {would} probe{} ({cached} cached)",
            st.bold("probes:"),
            if would == 1 { "" } else { "s" }
        );
    } else {
        let _ = writeln!(
            out,
            "  {} {sent} sent, {cached} from the cache",
            st.bold("probes:")
        );
    }
    let held: Vec<_> = probes.iter().filter(|(_, p)| p.held_back).collect();
    let cannot: Vec<_> = probes
        .iter()
        .filter(|(_, p)| !p.held_back && matches!(p.outcome, ProbeOutcome::CannotProbe { .. }))
        .collect();
    for (title, rows) in [
        (st.yellow("held back (not added):"), held),
        ("could not probe (added anyway):".to_string(), cannot),
    ] {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n  {title}");
        for (i, p) in rows {
            let _ = writeln!(
                out,
                "    #{:<6} {:<28} {}",
                i.channel_id.0,
                short(&i.channel_name, 28),
                terminal_safe(&short(&p.to_string(), 200))
            );
        }
    }
}

/// The items of `rec` with `status`, each with its reason, under `heading` (nothing if none).
fn reason_section(out: &mut String, rec: &RunRecord, status: ItemStatus, heading: &str) {
    let mut items = rec.items.iter().filter(|i| i.status == status).peekable();
    if items.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "\n  {heading}");
    for i in items {
        let _ = writeln!(
            out,
            "    #{:<6} {:<28} {}",
            i.channel_id.0,
            short(&i.channel_name, 28),
            i.reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
    }
}

/// The run list of `msync history`.
pub fn render_runs(rows: &[(String, RunHead)], st: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        st.bold(&format!(
            "{:<20} {:<10} {:<9} {:<9} {:<9} {:<24} {:>9}  {:>5} {:>5} {:>5} {:>5} {:>5}",
            "run",
            "site",
            "mode",
            "trigger",
            "state",
            "started",
            "duration",
            "total",
            "ok",
            "same",
            "fail",
            "hold"
        ))
    );
    for (site, h) in rows {
        let t = &h.totals;
        let fail = if t.failed > 0 {
            st.red(&format!("{:>5}", t.failed))
        } else {
            format!("{:>5}", t.failed)
        };
        let _ = writeln!(
            out,
            "{:<20} {:<10} {:<9} {:<9} {:<9} {:<24} {:>9}  {:>5} {:>5} {:>5} {} {:>5}",
            h.id.0,
            short(site, 10),
            snake(&h.mode).as_str().unwrap_or("?"),
            snake(&h.trigger).as_str().unwrap_or("?"),
            snake(&h.state).as_str().unwrap_or("?"),
            rfc3339(h.started_ms),
            duration(h.duration_ms),
            t.total,
            t.success,
            t.unchanged,
            fail,
            t.needs_review
        );
    }
    out
}

/// Items as a table (history detail and search).
pub fn render_items(items: &[(String, ItemResult)], st: Style) -> String {
    let mut out = String::new();
    for (run, i) in items {
        let detail = match i.status {
            ItemStatus::Failed => format!(
                "{} {}{}",
                i.error_class.map(|c| c.as_str()).unwrap_or("error"),
                i.http_status
                    .map(|s| format!("HTTP {s} "))
                    .unwrap_or_default(),
                short(&i.error_text().unwrap_or_default(), 100)
            ),
            ItemStatus::Success | ItemStatus::Unchanged => {
                format!("+{} -{}", i.sizes().added, i.sizes().removed)
            }
            _ => i
                .reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        };
        let _ = writeln!(
            out,
            "{:<20} #{:<6} {:<28} {:<12} {}",
            run,
            i.channel_id.0,
            short(&i.channel_name, 28),
            st.status(i.status),
            detail
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_loses_control_sequences_but_keeps_colours() {
        let hostile = "gpt\x1b]0;pwned\x07-4o\x1b[2J\r\x08\u{9b}31m\x7f ok\nnext\tcol";
        assert_eq!(terminal_safe(hostile), "gpt]0;pwned-4o[2J31m ok\nnext\tcol");
        let painted = Style { color: true }.red("x\x1b[1Ay");
        assert_eq!(terminal_safe(&painted), "\x1b[31mx[1Ay\x1b[0m");
        assert!(matches!(
            terminal_safe("plain 模型"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn timestamps_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_767_225_599_000), "2025-12-31T23:59:59.000Z");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(5), "5 ms");
        assert_eq!(duration(1500), "1.5 s");
        assert_eq!(duration(125_000), "2m05s");
    }
}

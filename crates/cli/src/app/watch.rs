//! `msync ratios watch` (issue 19): the price watch for cron. One run per invocation: the
//! upstream (from `[sync.price_watch]` or the arguments) is fetched through the site and
//! compared with what it said last time; changes are recorded in the state directory, moves over
//! the threshold are sent to the `[notify]` sinks (repeats suppressed), and with `--apply` (or
//! `price_watch.apply.enabled`) moves within the guardrails are written through the ratio apply
//! path. Exit 0 when the watch ran (alerts included), 1 when the upstream could not be read or
//! the apply failed, 2/3 as elsewhere.

use super::ratios::{find_source, parse_custom};
use super::*;
use msync_core::pricing::watch::{watch, watch_log, WatchRun};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The New API site (by name; optional when there is only one).
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// Watch this source (id or name, see `ratios sources`) instead of `price_watch.upstream`.
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
    /// Watch this custom upstream NAME=URL[,ENDPOINT] instead of `price_watch.upstream`.
    #[arg(long, value_name = "NAME=URL[,ENDPOINT]")]
    pub custom: Option<String>,
    /// Alert on moves larger than this (per cent; default `[notify] price_threshold_pct`, 20).
    #[arg(long, value_name = "PCT")]
    pub threshold: Option<u32>,
    /// Apply upstream moves unattended, within the guardrails of `price_watch.apply`.
    #[arg(long)]
    pub apply: bool,
    /// Guardrail: allow raises up to this many per cent (default `price_watch.apply.max_raise_pct`, 0).
    #[arg(long, value_name = "PCT")]
    pub max_raise_pct: Option<u32>,
    /// Show the recorded watch runs instead of running one.
    #[arg(long)]
    pub log: bool,
}

impl App {
    pub(super) async fn ratio_watch(&self, args: &WatchArgs) -> Res<i32> {
        let cfg = self.load_config()?;
        let sc = self.ratio_site(&cfg, args.site.as_deref())?;
        let store = self.store()?;
        let name = sc.site.name.clone();
        if args.log {
            let log = watch_log(&*store, &sc.site.id.0)
                .await
                .map_err(|e| from_error(&name, &e))?;
            if self.cli.json {
                self.print_json(&json!({ "site": name, "runs": log }));
            } else {
                for r in &log {
                    out!("{}", render(r));
                }
            }
            return Ok(EXIT_OK);
        }
        let sync = self.ratio_sync(sc, store.clone())?;
        let settings = &sc.settings.price_watch;
        let upstream = match (&args.source, &args.custom) {
            (Some(_), Some(_)) => return Err(usage("give --source or --custom, not both")),
            (Some(s), None) => {
                let sources = sync.sources().await.map_err(|e| from_error(&name, &e))?;
                find_source(&sources, s, &name)?
            }
            (None, Some(c)) => parse_custom(c, msync_core::ratio::ENDPOINT_PRICING)?,
            (None, None) => settings.upstream.as_deref().cloned().ok_or_else(|| {
                usage(format!(
                    "{name}: no upstream to watch: set [sync.price_watch] upstream, or give --source / --custom"
                ))
            })?,
        };
        let mut rules = settings.apply.clone();
        rules.enabled |= args.apply;
        if let Some(p) = args.max_raise_pct {
            rules.max_raise_pct = p;
        }
        let threshold = args.threshold.unwrap_or(cfg.notify.price_threshold_pct);
        let _lock = self.lock_site(&store, sc)?;
        let run = watch(
            &sync,
            &*store,
            &sc.site.id.0,
            &upstream,
            threshold,
            &rules,
            crate::clock::now_ms(),
        )
        .await
        .map_err(|e| from_error(&name, &e))?;
        let deliveries = match run.event(&name, threshold) {
            Some(e) => self.send_events(&cfg, &store, &[e]).await,
            None => Vec::new(),
        };
        if self.cli.json {
            self.print_json(&json!({ "site": name, "run": run, "notifications": deliveries }));
        } else {
            out!("{}", render(&run));
        }
        Ok(if run.error.is_some() {
            EXIT_FAILED
        } else {
            EXIT_OK
        })
    }
}

fn render(r: &WatchRun) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}  watch {}", output::rfc3339(r.at_ms), r.upstream);
    if let Some(e) = &r.error {
        let _ = writeln!(out, "  error: {}: {}", e.class, e.message);
    }
    if r.baseline {
        let _ = writeln!(out, "  first run: recorded what the upstream says now");
    } else if r.changes.is_empty() && r.error.is_none() {
        let _ = writeln!(out, "  no changes upstream");
    }
    let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v}"));
    for m in &r.changes {
        let alert = r.alert.contains(m);
        let pct = m
            .percent()
            .map(|p| format!(" ({}{p} %)", if p > 0 { "+" } else { "" }))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} {}: {} -> {}{pct}",
            if alert { "ALERT" } else { "     " },
            m.model,
            m.field,
            num(m.old),
            num(m.new)
        );
    }
    for c in &r.applied {
        let _ = writeln!(out, "  applied {} {} = {:?}", c.model, c.field, c.value);
    }
    if let Some(s) = &r.snapshot {
        let _ = writeln!(out, "  snapshot {s} (msync ratios revert {s})");
    }
    for x in &r.refused {
        let _ = writeln!(
            out,
            "  not applied {} {} = {}: {}",
            x.model, x.field, x.value, x.why
        );
    }
    out
}

//! `msync ratios …`: New API ratio / price sync (docs/ratios.md) on
//! [`msync_core::ratio::RatioSync`]: sources, diff, apply (preview, confirm, snapshot, write,
//! read back), snapshots, revert.
//!
//! Conventions are the other commands': `--json` prints one document on stdout, messages go to
//! stderr, and errors map to exit codes through [`code_for`] (so a non-root token, a
//! `permission` error, exits 3 like any refused credentials; a bad argument or a refused revert
//! exits 2; a failed upstream, write or read-back exits 1).

use super::*;
use msync_core::ratio::{
    Cell, DiffFilter, FetchRequest, FieldChange, RatioDiff, RatioField, RatioPreview,
    RatioSelection, RatioSources, RatioSync, RatioUpstream, RatioValue, MODELS_DEV_ID,
    OFFICIAL_PRESET_ID,
};
use std::collections::BTreeSet;
use std::fmt::Write as _;

pub const AFTER_HELP: &str = "\
Ratio sync needs a New API site and a root token (an admin token gets a `permission` error).
Exit codes: 0 ok, 1 an upstream failed (diff) or a write / read-back failed (apply, revert),
2 usage (bad argument, not a New API site, a revert refused because the site changed since),
3 the site could not be reached or refused the token (including a token that is not root).

Examples:
  msync ratios sources --site prod
  msync ratios diff --site prod --upstream -100 --custom friend=https://friend.example --only-differing
  msync ratios apply --site prod --from friend --custom friend=https://friend.example \\
      --confident-only --fields model_ratio,completion_ratio --dry-run
  msync ratios snapshots --site prod
  msync ratios revert 1767225600000-000 --site prod";

#[derive(Debug, Subcommand)]
pub enum RatiosCmd {
    /// The sources the site can compare with: its channels with a base URL, the official preset
    /// (-100) and models.dev (-101).
    Sources {
        /// The New API site (by name; optional when there is only one).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
    },
    /// Compare the site's ratios and prices with upstreams (writes nothing).
    Diff(DiffArgs),
    /// Take values from one upstream: preview old → new, confirm on a terminal, then write
    /// (snapshot first, read back after).
    Apply(ApplyArgs),
    /// Price watch (for cron): compare one upstream with what it said last time, record the
    /// changes, alert over the threshold, and optionally apply within guardrails.
    Watch(super::watch::WatchArgs),
    /// The snapshots taken before each apply, newest first.
    Snapshots {
        /// Only this site (by name; default every New API site).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
    },
    /// Restore the maps an apply replaced.
    Revert {
        /// The snapshot id (see `msync ratios snapshots`).
        snapshot: String,
        /// The site (by name; default the New API site that holds the snapshot).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
        /// Also restore keys that were changed on the site since the apply.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct CustomArgs {
    /// A custom upstream NAME=URL[,ENDPOINT] (endpoint: a path or an absolute URL; default
    /// `/api/pricing`, or `/api/ratio_config` on builds before v0.10). Repeatable.
    #[arg(long = "custom", value_name = "NAME=URL[,ENDPOINT]")]
    pub custom: Vec<String>,
    /// Seconds the site may wait for each upstream (it tries each up to 3 times).
    #[arg(long, value_name = "SECS", default_value_t = msync_core::ratio::DEFAULT_TIMEOUT_S)]
    pub timeout: u32,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The New API site (by name; optional when there is only one).
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// Compare with these sources, by id or name (see `msync ratios sources`; `official` and
    /// `models.dev` name the presets). Repeatable or comma-separated.
    #[arg(
        long = "upstream",
        value_name = "ID|NAME",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub upstreams: Vec<String>,
    #[command(flatten)]
    pub custom: CustomArgs,
    /// Only rows where some upstream offers a different value.
    #[arg(long)]
    pub only_differing: bool,
    /// Only rows where some upstream offers a value it is confident about.
    #[arg(long)]
    pub only_confident: bool,
    /// Only models whose name contains every word of this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub model: Option<String>,
    /// Only these ratio types (comma-separated: model_ratio, completion_ratio, cache_ratio,
    /// create_cache_ratio, image_ratio, audio_ratio, audio_completion_ratio, model_price,
    /// billing_mode, billing_expr).
    #[arg(long = "field", alias = "fields", value_name = "FIELDS", value_delimiter = ',', value_parser = parse_field)]
    pub fields: Vec<RatioField>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The New API site (by name; optional when there is only one).
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// The upstream to take values from: a source id or name, or the NAME of a --custom.
    #[arg(long, value_name = "UPSTREAM", allow_negative_numbers = true)]
    pub from: String,
    #[command(flatten)]
    pub custom: CustomArgs,
    /// Only values the upstream is confident about (skips New API's 37.5 / 1 default for
    /// unpriced models).
    #[arg(long)]
    pub confident_only: bool,
    /// Only these models (exact names, comma-separated).
    #[arg(long, value_name = "MODELS", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Only these ratio types (comma-separated, as in `diff --field`).
    #[arg(long = "fields", alias = "field", value_name = "FIELDS", value_delimiter = ',', value_parser = parse_field)]
    pub fields: Vec<RatioField>,
    /// Do not ask for confirmation on a terminal.
    #[arg(short, long)]
    pub yes: bool,
    /// Show the preview only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_field(s: &str) -> Result<RatioField, String> {
    RatioField::parse(s.trim()).ok_or_else(|| {
        let all: Vec<&str> = RatioField::ALL.iter().map(|f| f.as_str()).collect();
        format!("unknown ratio type {s:?} (one of {})", all.join(", "))
    })
}

/// Ctrl-C while reading: nothing has been written.
async fn until_ctrl_c<T>(fut: impl std::future::Future<Output = T>) -> Res<T> {
    tokio::select! {
        r = fut => Ok(r),
        _ = tokio::signal::ctrl_c() => Err(Fail(EXIT_INTERRUPTED, "interrupted; nothing was written".into())),
    }
}

/// A `NAME=URL[,ENDPOINT]` argument.
pub(super) fn parse_custom(arg: &str, default_endpoint: &str) -> Res<RatioUpstream> {
    let (name, rest) = arg
        .split_once('=')
        .ok_or_else(|| usage(format!("--custom {arg:?}: expected NAME=URL[,ENDPOINT]")))?;
    let (url, endpoint) = match rest.split_once(',') {
        Some((u, e)) => (u, Some(e)),
        None => (rest, None),
    };
    RatioUpstream::custom(name, url, endpoint, default_endpoint)
        .map_err(|e| usage(format!("--custom: {}", e.message)))
}

/// A source by id, name, column name (`name(id)`), `official` or `models.dev`.
pub(super) fn find_source(sources: &RatioSources, token: &str, site: &str) -> Res<RatioUpstream> {
    let t = token.trim();
    let id = match t.to_ascii_lowercase().as_str() {
        "official" | "preset" => Some(OFFICIAL_PRESET_ID),
        "models.dev" | "modelsdev" => Some(MODELS_DEV_ID),
        _ => t.parse::<i64>().ok(),
    };
    let found: Vec<_> = sources
        .sources
        .iter()
        .filter(|s| match id {
            Some(id) => s.id == id,
            None => s.name == t || s.upstream().display_name() == t,
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(one.upstream()),
        [] => Err(usage(format!(
            "{site}: no ratio source {t:?} (see `msync ratios sources --site {site}`; custom upstreams go in --custom NAME=URL)"
        ))),
        many => Err(usage(format!(
            "{site}: several sources are called {t:?} (ids {}); name one by id",
            many.iter()
                .map(|s| s.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Terminal width of a string: CJK and full-width characters take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = matches!(c,
                0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

fn pad(s: &str, w: usize) -> String {
    let n = width(s);
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

fn clip(s: &str, max: usize) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.chars().count() <= max {
        s
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn show_value(v: &RatioValue) -> String {
    match v {
        RatioValue::Number(n) => format!("{n}"),
        RatioValue::Text(t) => clip(t, 40),
    }
}

fn show_json(v: Option<&Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => clip(s, 60),
        Some(v) => clip(&v.to_string(), 60),
    }
}

/// The difference table: one line per model and ratio type.
fn render_diff(diff: &RatioDiff, st: Style) -> String {
    let mut out = String::new();
    let columns: Vec<&String> = diff
        .upstreams
        .iter()
        .filter(|u| diff.rows.iter().any(|r| r.cells.contains_key(*u)))
        .collect();
    let mut table: Vec<Vec<String>> = vec![];
    let mut header = vec!["model".to_string(), "type".into(), "current".into()];
    header.extend(columns.iter().map(|c| c.to_string()));
    table.push(header);
    for r in &diff.rows {
        let mut line = vec![
            r.model.clone(),
            r.field.as_str().to_string(),
            match r.locked {
                // The server uses its built-in ratio, whatever is stored.
                Some(enforced) => format!("locked {}", show_value(&RatioValue::Number(enforced))),
                None => r
                    .current
                    .as_ref()
                    .map(show_value)
                    .unwrap_or_else(|| "-".into()),
            },
        ];
        for c in &columns {
            line.push(match r.cells.get(*c) {
                Some(Cell::Value(value)) if !r.confident(c) => {
                    format!("{} ?", show_value(value))
                }
                Some(Cell::Value(value)) => show_value(value),
                Some(Cell::Same) => "same".into(),
                Some(Cell::Missing) => "-".into(),
                None => String::new(),
            });
        }
        table.push(line);
    }
    let cols = table[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| table.iter().map(|l| width(&l[i])).max().unwrap_or(0))
        .collect();
    for (n, line) in table.iter().enumerate() {
        let text = line
            .iter()
            .zip(&widths)
            .map(|(cell, w)| pad(cell, *w))
            .collect::<Vec<_>>()
            .join("  ");
        let text = text.trim_end();
        let _ = writeln!(
            out,
            "{}",
            if n == 0 {
                st.bold(text)
            } else {
                text.to_string()
            }
        );
    }
    out
}

fn render_tests(diff: &RatioDiff, st: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "upstreams:");
    for t in &diff.tests {
        match (&t.ok, &t.error) {
            (true, _) => {
                let _ = writeln!(out, "  {}      {}", st.green("ok"), t.name);
            }
            (false, e) => {
                let _ = writeln!(
                    out,
                    "  {}  {}: {}",
                    st.red("FAILED"),
                    t.name,
                    e.as_deref().unwrap_or("failed")
                );
            }
        }
        if let Some(note) = &t.note {
            let _ = writeln!(out, "          {}", st.dim(&note.to_string()));
        }
    }
    out
}

fn render_preview(p: &RatioPreview, st: Style) -> String {
    let mut out = String::new();
    for m in &p.models {
        let _ = writeln!(out, "  {}", st.bold(&m.model));
        for FieldChange {
            field,
            old,
            new,
            upstream,
        } in &m.changes
        {
            let from = match (new, upstream) {
                (Some(_), Some(u)) => format!("  ({u})"),
                (None, _) => "  (removed)".into(),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "      {:<24} {} → {}{}",
                field.as_str(),
                show_json(old.as_ref()),
                show_json(new.as_ref()),
                st.dim(&from)
            );
        }
    }
    out
}

impl App {
    pub(super) async fn ratios(&self, cmd: &RatiosCmd) -> Res<i32> {
        match cmd {
            RatiosCmd::Sources { site } => self.ratio_sources(site.as_deref()).await,
            RatiosCmd::Diff(args) => self.ratio_diff(args).await,
            RatiosCmd::Apply(args) => self.ratio_apply(args).await,
            RatiosCmd::Watch(args) => self.ratio_watch(args).await,
            RatiosCmd::Snapshots { site } => self.ratio_snapshots(site.as_deref()).await,
            RatiosCmd::Revert {
                snapshot,
                site,
                force,
            } => self.ratio_revert(snapshot, site.as_deref(), *force).await,
        }
    }

    /// The one New API site a ratio command works on.
    pub(super) fn ratio_site<'c>(
        &self,
        cfg: &'c Config,
        name: Option<&str>,
    ) -> Res<&'c SiteConfig> {
        let sc = match name {
            Some(n) => self
                .sites(cfg, Some(n), true)?
                .into_iter()
                .next()
                .ok_or_else(|| usage(format!("no site named {n:?}")))?,
            None => {
                let new_api: Vec<&SiteConfig> =
                    cfg.sites.iter().filter(|s| ratio_sync(s)).collect();
                match new_api.as_slice() {
                    [one] => self.sites(cfg, Some(&one.site.name), true)?[0],
                    [] => {
                        return Err(usage(format!(
                            "ratio sync works on New API sites, and {} has none",
                            cfg.path.display()
                        )))
                    }
                    many => {
                        return Err(usage(format!(
                            "several New API sites ({}); pick one with --site",
                            many.iter()
                                .map(|s| s.site.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )))
                    }
                }
            }
        };
        self.require_new_api(sc)?;
        Ok(sc)
    }

    pub(super) fn require_new_api(&self, sc: &SiteConfig) -> Res<()> {
        if !ratio_sync(sc) {
            return Err(usage(format!(
                "{}: ratio sync is only available on New API sites; this is a {} site",
                sc.site.name,
                sc.site.kind.label()
            )));
        }
        Ok(())
    }

    pub(super) fn ratio_sync(&self, sc: &SiteConfig, store: Rc<FileStore>) -> Res<RatioSync> {
        RatioSync::new(self.ctx(sc)?, store).map_err(|e| from_error(&sc.site.name, &e))
    }

    async fn ratio_sources(&self, site: Option<&str>) -> Res<i32> {
        let cfg = self.load_config()?;
        let sc = self.ratio_site(&cfg, site)?;
        let name = &sc.site.name;
        let sync = self.ratio_sync(sc, self.store()?)?;
        let s = until_ctrl_c(sync.sources())
            .await?
            .map_err(|e| from_error(name, &e))?;
        if self.cli.json {
            let mut v = serde_json::to_value(&s).unwrap_or(Value::Null);
            v["site"] = json!(name);
            self.print_json(&v);
            return Ok(EXIT_OK);
        }
        outln!(
            "{} ({}; custom upstreams default to {})",
            self.out.bold(name),
            s.version.as_deref().unwrap_or("version unknown"),
            s.default_endpoint
        );
        let mut rows = vec![[
            "id".to_string(),
            "name".into(),
            "kind".into(),
            "base url".into(),
            "endpoint".into(),
        ]];
        for x in &s.sources {
            let kind = serde_json::to_value(x.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            rows.push([
                x.id.to_string(),
                x.name.clone(),
                kind,
                x.base_url.clone(),
                x.default_endpoint.clone(),
            ]);
        }
        let widths: Vec<usize> = (0..5)
            .map(|i| rows.iter().map(|r| width(&r[i])).max().unwrap_or(0))
            .collect();
        for (n, r) in rows.iter().enumerate() {
            let line = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| pad(c, *w))
                .collect::<Vec<_>>()
                .join("  ");
            let line = line.trim_end();
            outln!(
                "  {}",
                if n == 0 {
                    self.out.bold(line)
                } else {
                    line.to_string()
                }
            );
        }
        Ok(EXIT_OK)
    }

    /// Build the upstream list: named sources, then custom ones.
    pub(super) fn upstreams(
        &self,
        sources: &RatioSources,
        names: &[String],
        custom: &[String],
        site: &str,
    ) -> Res<Vec<RatioUpstream>> {
        let mut ups = Vec::new();
        for n in names.iter().filter(|n| !n.trim().is_empty()) {
            ups.push(find_source(sources, n, site)?);
        }
        for c in custom {
            ups.push(parse_custom(c, &sources.default_endpoint)?);
        }
        Ok(ups)
    }

    async fn ratio_diff(&self, args: &DiffArgs) -> Res<i32> {
        let cfg = self.load_config()?;
        let sc = self.ratio_site(&cfg, args.site.as_deref())?;
        let name = &sc.site.name;
        let sync = self.ratio_sync(sc, self.store()?)?;
        let sources = until_ctrl_c(sync.sources())
            .await?
            .map_err(|e| from_error(name, &e))?;
        let ups = self.upstreams(&sources, &args.upstreams, &args.custom.custom, name)?;
        if ups.is_empty() {
            return Err(usage(format!(
                "name the upstreams to compare with: --upstream ID|NAME (see `msync ratios sources --site {name}`) or --custom NAME=URL"
            )));
        }
        let mut req = FetchRequest::new(ups);
        req.timeout_s = args.custom.timeout;
        self.info(&format!(
            "{name}: fetching {} upstream(s)…",
            req.upstreams.len()
        ));
        let diff = until_ctrl_c(sync.fetch(&req))
            .await?
            .map_err(|e| from_error(name, &e))?;
        let filter = DiffFilter {
            only_differing: args.only_differing,
            only_confident: args.only_confident,
            search: args.model.clone().unwrap_or_default(),
            fields: args.fields.clone(),
            upstream: None,
        };
        let view = diff.filtered(&filter);
        for w in &diff.warnings {
            self.warn(&format!("{name}: {w}"));
        }
        let failed = diff.failed().count();
        if self.cli.json {
            let mut v = serde_json::to_value(&view).unwrap_or(Value::Null);
            v["site"] = json!(name);
            v["total_rows"] = json!(diff.rows.len());
            self.print_json(&v);
        } else {
            if view.rows.is_empty() {
                outln!(
                    "no differences to show ({} rows before filters)",
                    diff.rows.len()
                );
            } else {
                out!("{}", render_diff(&view, self.out));
                outln!(
                    "{}",
                    self.out.dim(&format!(
                        "{} rows ({} models) of {}; same = equal to the site's value, - = the upstream lacks it, ? = not confident (New API's default 37.5 / 1 for an unpriced model), locked = New API enforces its built-in completion ratio for that model and ignores the option (never written)",
                        view.rows.len(),
                        view.models().len(),
                        diff.rows.len()
                    ))
                );
            }
            outln!("");
            out!("{}", render_tests(&diff, self.out));
        }
        Ok(if failed > 0 { EXIT_FAILED } else { EXIT_OK })
    }

    async fn ratio_apply(&self, args: &ApplyArgs) -> Res<i32> {
        let cfg = self.load_config()?;
        let sc = self.ratio_site(&cfg, args.site.as_deref())?;
        let name = &sc.site.name;
        let store = self.store()?;
        let _lock = self.lock_site(&store, sc)?;
        let sync = self.ratio_sync(sc, store)?;
        let sources = until_ctrl_c(sync.sources())
            .await?
            .map_err(|e| from_error(name, &e))?;

        // The one upstream to take from: a --custom of that name, else a source.
        let customs = self.upstreams(&sources, &[], &args.custom.custom, name)?;
        let from = args.from.trim();
        let upstream = match customs.into_iter().find(|u| u.name == from) {
            Some(u) => u,
            None => find_source(&sources, from, name)?,
        };
        let column = upstream.display_name();
        let mut req = FetchRequest::new(vec![upstream]);
        req.timeout_s = args.custom.timeout;
        self.info(&format!("{name}: fetching {column}…"));
        let diff = until_ctrl_c(sync.fetch(&req))
            .await?
            .map_err(|e| from_error(name, &e))?;
        for w in &diff.warnings {
            self.warn(&format!("{name}: {w}"));
        }
        if let Some(t) = diff.failed().next() {
            let why = match &t.note {
                Some(note) => format!("{} ({note})", t.error.as_deref().unwrap_or("failed")),
                None => t.error.as_deref().unwrap_or("failed").to_string(),
            };
            return Err(Fail(
                EXIT_FAILED,
                format!("{name}: upstream {} failed: {why}; nothing written", t.name),
            ));
        }
        for note in diff.tests.iter().filter_map(|t| t.note.as_ref()) {
            self.warn(&format!("{name}: {note}"));
        }

        let filter = DiffFilter {
            fields: args.fields.clone(),
            ..Default::default()
        };
        let selection = if args.confident_only {
            RatioSelection::new().all_confident(&column, filter)
        } else {
            RatioSelection::new().column(&column, filter)
        };
        let resolved = selection.resolve(&diff);
        let mut choices = resolved.choices;
        let mut skipped = Vec::new();
        if !args.models.is_empty() {
            let wanted: BTreeSet<&str> = args
                .models
                .iter()
                .map(|m| m.trim())
                .filter(|m| !m.is_empty())
                .collect();
            choices.retain(|c| wanted.contains(c.model.as_str()));
            for m in &wanted {
                if !choices.iter().any(|c| c.model == *m) {
                    skipped.push(format!("{m}: {column} offers no new value"));
                }
            }
        } else {
            skipped.extend(resolved.skipped);
        }
        for s in &skipped {
            self.info(&format!("{name}: {s}"));
        }
        let mut locked = resolved.locked;
        // Picked by --models or not, a locked completion ratio is never written.
        if !args.models.is_empty() {
            locked.retain(|l| args.models.iter().any(|m| m.trim() == l.model));
        }
        for l in &locked {
            self.warn(&format!(
                "{name}: {} completion_ratio is locked by the server at {} (New API ignores the option for this built-in model); not written",
                l.model, l.enforced
            ));
        }

        let preview = until_ctrl_c(sync.preview(&choices))
            .await?
            .map_err(|e| from_error(name, &e))?;
        let doc = |outcome: Value| {
            json!({
                "site": name,
                "from": column,
                "dry_run": args.dry_run,
                "choices": serde_json::to_value(&choices).unwrap_or(Value::Null),
                "skipped": skipped,
                "locked": serde_json::to_value(&locked).unwrap_or(Value::Null),
                "preview": serde_json::to_value(&preview).unwrap_or(Value::Null),
                "outcome": outcome,
            })
        };
        if !self.cli.json {
            outln!(
                "{} ratios from {}: {} model(s) change, option keys {}{}",
                self.out.bold(name),
                column,
                preview.models.len(),
                if preview.keys.is_empty() {
                    "none".to_string()
                } else {
                    preview.keys.join(", ")
                },
                if preview.unchanged > 0 {
                    format!(" ({} chosen value(s) already equal)", preview.unchanged)
                } else {
                    String::new()
                }
            );
            out!("{}", render_preview(&preview, self.out));
        }
        if preview.keys.is_empty() {
            if self.cli.json {
                self.print_json(&doc(Value::Null));
            }
            self.info(&format!("{name}: nothing to change"));
            return Ok(EXIT_OK);
        }
        if args.dry_run {
            if self.cli.json {
                self.print_json(&doc(Value::Null));
            }
            self.info("dry run: nothing written");
            return Ok(EXIT_OK);
        }
        let interactive = !args.yes
            && !self.cli.json
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        if interactive
            && !ask(&format!(
                "Write {} option key(s) on {name}?",
                preview.keys.len()
            ))
        {
            self.info("nothing written");
            return Ok(EXIT_OK);
        }

        // No Ctrl-C here: a write in progress finishes, and a failed one is rolled back.
        let outcome = sync
            .apply(&choices, Some(&preview.base))
            .await
            .map_err(|e| from_error(name, &e))?;
        let ok = outcome.ok() && outcome.verified;
        if self.cli.json {
            self.print_json(&doc(serde_json::to_value(&outcome).unwrap_or(Value::Null)));
        } else {
            if let Some(id) = &outcome.snapshot {
                outln!("snapshot {id} (undo with `msync ratios revert {id} --site {name}`)");
            }
            outln!("written: {}", written_list(&outcome.written));
            self.print_write_checks(
                outcome.error.as_ref(),
                &outcome.rolled_back,
                &outcome.mismatched,
                outcome.verified,
            );
        }
        Ok(if ok { EXIT_OK } else { EXIT_FAILED })
    }

    /// After a ratio write (apply or revert): the failure, what was rolled back, and the read-back.
    fn print_write_checks(
        &self,
        error: Option<&msync_core::Error>,
        rolled_back: &[String],
        mismatched: &[String],
        verified: bool,
    ) {
        if let Some(e) = error {
            outln!("{} {}: {}", self.out.red("failed:"), e.class, e.text());
        }
        if !rolled_back.is_empty() {
            outln!("rolled back: {}", rolled_back.join(", "));
        }
        if !mismatched.is_empty() {
            outln!(
                "{} {}",
                self.out.red("read-back differs:"),
                mismatched.join(", ")
            );
        } else if verified {
            outln!("read back: {}", self.out.green("verified"));
        }
    }

    async fn ratio_snapshots(&self, site: Option<&str>) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites: Vec<&SiteConfig> = match site {
            Some(_) => {
                let s = self.sites(&cfg, site, false)?;
                for sc in &s {
                    self.require_new_api(sc)?;
                }
                s
            }
            None => cfg.sites.iter().filter(|s| ratio_sync(s)).collect(),
        };
        let store = self.store()?;
        let mut rows = Vec::new();
        for sc in sites {
            let sync = self.ratio_sync(sc, store.clone())?;
            for h in sync
                .snapshots()
                .await
                .map_err(|e| from_error(&sc.site.name, &e))?
            {
                rows.push((sc.site.name.clone(), h));
            }
        }
        rows.sort_by(|a, b| b.1.id.cmp(&a.1.id));
        if self.cli.json {
            let list: Vec<Value> = rows
                .iter()
                .map(|(site, h)| {
                    json!({
                        "id": h.id,
                        "site": site,
                        "taken_at": output::rfc3339(h.taken_ms),
                        "keys": h.keys,
                        "models": h.models,
                        "reverted_at": h.reverted_ms.map(output::rfc3339),
                    })
                })
                .collect();
            self.print_json(&json!({ "snapshots": list }));
        } else if rows.is_empty() {
            outln!("no ratio snapshots yet");
        } else {
            outln!(
                "{}",
                self.out.bold(&format!(
                    "{:<18} {:<10} {:<24} {:>6}  {:<24} keys",
                    "snapshot", "site", "taken", "models", "reverted"
                ))
            );
            for (site, h) in &rows {
                outln!(
                    "{:<18} {:<10} {:<24} {:>6}  {:<24} {}",
                    h.id,
                    clip(site, 10),
                    output::rfc3339(h.taken_ms),
                    h.models,
                    h.reverted_ms
                        .map(output::rfc3339)
                        .unwrap_or_else(|| "-".into()),
                    h.keys.join(", ")
                );
            }
        }
        Ok(EXIT_OK)
    }

    async fn ratio_revert(&self, snapshot: &str, site: Option<&str>, force: bool) -> Res<i32> {
        let cfg = self.load_config()?;
        let store = self.store()?;
        let id = snapshot.trim();
        let sc = match site {
            Some(_) => self.ratio_site(&cfg, site)?,
            None => {
                let mut holder = None;
                for sc in cfg.sites.iter().filter(|s| ratio_sync(s)) {
                    let sync = self.ratio_sync(sc, store.clone())?;
                    if sync.snapshot(id).await.is_ok() {
                        holder = Some(sc);
                        break;
                    }
                }
                let sc = holder.ok_or_else(|| {
                    usage(format!(
                        "no ratio snapshot {id} on any configured New API site (see `msync ratios snapshots`)"
                    ))
                })?;
                self.sites(&cfg, Some(&sc.site.name), true)?;
                sc
            }
        };
        let name = &sc.site.name;
        let _lock = self.lock_site(&store, sc)?;
        let sync = self.ratio_sync(sc, store)?;
        if let Err(e) = sync.snapshot(id).await {
            return Err(usage(format!("{name}: {}", e.message)));
        }
        let outcome = sync
            .revert(id, force)
            .await
            .map_err(|e| from_error(name, &e))?;
        let ok = outcome.ok() && outcome.verified;
        if self.cli.json {
            self.print_json(&json!({
                "site": name,
                "outcome": serde_json::to_value(&outcome).unwrap_or(Value::Null),
            }));
        } else {
            outln!(
                "{} snapshot {}: restored {}",
                self.out.bold(name),
                outcome.snapshot,
                written_list(&outcome.written)
            );
            self.print_write_checks(
                outcome.error.as_ref(),
                &[],
                &outcome.mismatched,
                outcome.verified,
            );
        }
        Ok(if ok { EXIT_OK } else { EXIT_FAILED })
    }
}

/// The option keys written, or "nothing".
fn written_list(keys: &[String]) -> String {
    if keys.is_empty() {
        "nothing".to_string()
    } else {
        keys.join(", ")
    }
}

/// Whether the site's type has ratio sync ([`msync_core::gateway::Capabilities::ratio_sync`]).
fn ratio_sync(sc: &SiteConfig) -> bool {
    msync_core::gateway::capabilities(sc.site.kind).ratio_sync
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_upstream_arguments() {
        let u =
            parse_custom("friend=http://127.0.0.1:9/", "/api/pricing").unwrap_or_else(|_| panic!());
        assert_eq!(
            (u.name.as_str(), u.base_url.as_str(), u.endpoint.as_str()),
            ("friend", "http://127.0.0.1:9", "/api/pricing")
        );
        let u = parse_custom("f=http://h,api/ratio_config", "/api/pricing")
            .unwrap_or_else(|_| panic!());
        assert_eq!(u.endpoint, "/api/ratio_config");
        let u = parse_custom("f=http://h,https://o/p.json", "/x").unwrap_or_else(|_| panic!());
        assert_eq!(u.endpoint, "https://o/p.json");
        for bad in ["nourl", "=http://h", "f=ftp://h", "f=http://h,openrouter"] {
            let Err(Fail(code, _)) = parse_custom(bad, "/api/pricing") else {
                panic!("{bad} accepted")
            };
            assert_eq!(code, EXIT_USAGE, "{bad}");
        }
    }

    #[test]
    fn fields_parse_by_wire_name() {
        assert_eq!(parse_field(" cache_ratio"), Ok(RatioField::CacheRatio));
        let e = parse_field("ModelRatio").unwrap_err();
        assert!(e.contains("model_ratio"), "{e}");
    }

    #[test]
    fn cjk_takes_two_columns() {
        assert_eq!(width("官方倍率预设(-100)"), 18);
        assert_eq!(width("gpt-4o"), 6);
        assert_eq!(pad("官方", 6), "官方  ");
    }
}

//! The `msync` commands: argument parsing (clap) and what each command does.

use crate::clock::{now_ms, SystemClock};
use crate::config::{self, Config, SiteConfig};
use crate::output::{self, Style};
use crate::store::{FileStore, SiteLock};
use crate::transport::ReqwestTransport;
use async_trait::async_trait;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use msync_core::engine::plan::Decision;
use msync_core::engine::record::{ItemResult, ItemStatus, RunId, RunMode, RunRecord, RunState};
use msync_core::engine::redirect::{RedirectApplyOptions, RedirectOp};
use msync_core::engine::{ApplyOptions, Engine, Observer, Progress, RunRequest, Selection};
use msync_core::gateway::Ctx;
use msync_core::history::{export_csv, export_json, History, ItemQuery};
use msync_core::http::{Request, Response, Transport, TransportError};
use msync_core::model::{ChannelId, Mapping, SiteId};
use msync_core::redact::redact;
use msync_core::redirect::{MatchOptions, Matcher, PlanStatus};
use msync_core::{Error, ErrorClass};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// `print!`/`println!` that ignore a closed stdout (`msync history | head`) instead of panicking.
/// Human output only: names and messages from gateways lose their control characters
/// ([`output::terminal_safe`]); JSON goes out through [`App::print_json`] as it is.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = write!(std::io::stdout(), "{}", crate::output::terminal_safe(&format!($($t)*)));
    }};
}
macro_rules! outln {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), "{}", crate::output::terminal_safe(&format!($($t)*)));
    }};
}
/// `eprintln!` for text that may hold gateway data.
macro_rules! errln {
    ($($t:tt)*) => {{
        eprintln!("{}", crate::output::terminal_safe(&format!($($t)*)));
    }};
}

pub mod import;
pub mod notify;
pub mod ratios;
pub mod watch;

/// Exit codes.
pub const EXIT_OK: i32 = 0;
/// Some channels failed or need review.
pub const EXIT_FAILED: i32 = 1;
/// Configuration or usage error.
pub const EXIT_USAGE: i32 = 2;
/// The site could not be reached or refused the credentials.
pub const EXIT_UNREACHABLE: i32 = 3;
/// Interrupted with Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

const AFTER_HELP: &str = "\
Exit codes: 0 all good (succeeded, unchanged or skipped), 1 some channels failed or need review,
2 configuration or usage error, 3 a site could not be reached or refused the credentials,
130 interrupted (Ctrl-C; `msync resume` continues the run).

Examples:
  msync sites test                      check every site's connection and rights
  msync plan --site prod                dry run: what would change (stored; apply it later)
  msync apply 0001735689600000-0000     apply that stored plan
  msync sync --site prod --yes          sync every channel now
  msync sync --failed                   retry only the channels that failed last time
  msync revert 0001735689600000-0001    undo a run (every channel it wrote)
  msync history --status failed --search timeout
  msync redirect match --standard-file std.txt --models-file models.txt
  msync ratios diff --site prod --upstream official --only-differing   (New API; see `msync ratios --help`)";

/// Keep the channels of self-hosted LLM gateways (New API, Veloera, DoneHub, Octopus, AxonHub)
/// in step with their upstreams.
#[derive(Debug, Parser)]
#[command(name = "msync", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "MSYNC_CONFIG",
        default_value = "msync.toml"
    )]
    pub config: PathBuf,
    /// Where run history, snapshots and plans are kept [default: the platform data dir, e.g. ~/.local/share/msync].
    #[arg(long, global = true, value_name = "DIR", env = "MSYNC_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Print one JSON document on stdout (for scripts) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail: -v lists skipped channels and model names, -vv logs every request (never secrets).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress output and no warnings; only the result.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configured sites.
    #[command(subcommand)]
    Sites(SitesCmd),
    /// List a site's channels with their model counts and mappings.
    Channels {
        /// Only this site (by name).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
    },
    /// Sync the channels' model lists from their upstreams.
    Sync(SyncArgs),
    /// Dry run: fetch and decide, write nothing; the plan is stored for `msync apply`.
    Plan {
        /// Only this site (by name).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
        /// Only these channel ids (comma-separated).
        #[arg(long, value_name = "IDS", value_delimiter = ',')]
        channels: Option<Vec<String>>,
    },
    /// Apply the plan stored by a dry run (`msync plan`), after re-reading each channel.
    Apply {
        /// The dry run's id (see `msync history`).
        run: String,
        /// Only these channels of the plan (comma-separated ids).
        #[arg(long, value_name = "IDS", value_delimiter = ',')]
        channels: Option<Vec<String>>,
        /// Also write channels that changed since the plan was made.
        #[arg(long)]
        force: bool,
    },
    /// Continue a run that was interrupted (Ctrl-C, a crash, a reboot).
    Resume {
        /// Only this site (by name).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
    },
    /// Undo a run: restore the snapshot taken before each write.
    Revert {
        /// The run to undo (see `msync history`).
        run: String,
        /// Only this channel.
        #[arg(long, value_name = "ID")]
        channel: Option<String>,
        /// Also restore channels that changed since the run wrote them.
        #[arg(long)]
        force: bool,
    },
    /// Show stored runs, one run's items, or search them; export a run.
    History(HistoryArgs),
    /// Model redirects (standard name → the channel's actual model).
    #[command(subcommand)]
    Redirect(RedirectCmd),
    /// New API ratio / price sync: compare with upstreams, take values, revert.
    #[command(subcommand, after_help = ratios::AFTER_HELP)]
    Ratios(ratios::RatiosCmd),
    /// Import another tool's settings (All API Hub) into an msync.toml.
    #[command(subcommand)]
    Import(import::ImportCmd),
    /// Notifications: send a test, show the delivery log (`[notify]`, docs/notifications.md).
    #[command(subcommand)]
    Notify(notify::NotifyCmd),
}

#[derive(Debug, Subcommand)]
pub enum SitesCmd {
    /// Test each site: reachable, authenticated, admin rights, version, channel count.
    Test {
        /// Only this site (by name).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this site (by name).
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// Only these channel ids (comma-separated).
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        conflicts_with = "failed"
    )]
    pub channels: Option<Vec<String>>,
    /// Only the channels that failed in the previous run.
    #[arg(long)]
    pub failed: bool,
    /// Plan only: write nothing (same as `msync plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation on a terminal (cron and scripts never ask).
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Success,
    Unchanged,
    Failed,
    Skipped,
    NeedsReview,
}

impl StatusArg {
    fn status(self) -> ItemStatus {
        match self {
            StatusArg::Success => ItemStatus::Success,
            StatusArg::Unchanged => ItemStatus::Unchanged,
            StatusArg::Failed => ItemStatus::Failed,
            StatusArg::Skipped => ItemStatus::Skipped,
            StatusArg::NeedsReview => ItemStatus::NeedsReview,
        }
    }
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this site (by name).
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// Show this run's channels.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Only channels with these statuses (comma-separated).
    #[arg(long, value_name = "S", value_delimiter = ',')]
    pub status: Vec<StatusArg>,
    /// Only channels whose name, id, reason or error contains this text.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Export the run (with --run; default the newest run) as JSON or CSV on stdout.
    #[arg(long, value_name = "FORMAT")]
    pub export: Option<ExportFormat>,
}

#[derive(Debug, Subcommand)]
pub enum RedirectCmd {
    /// Offline: match standard model names against a channel's models and explain every one.
    Match {
        /// Standard model names, one per line (`#` starts a comment).
        #[arg(long, value_name = "FILE")]
        standard_file: PathBuf,
        /// The channel's actual models, one per line.
        #[arg(long, value_name = "FILE")]
        models_file: PathBuf,
        /// Never map to dated ids such as claude-sonnet-4-5-20250929.
        #[arg(long)]
        no_dated: bool,
    },
    /// Preview the mappings [sync.redirect] would merge into each channel; writes nothing.
    Plan {
        /// Only this site (by name).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
        /// Only these channel ids (comma-separated).
        #[arg(long, value_name = "IDS", value_delimiter = ',')]
        channels: Option<Vec<String>>,
    },
    /// Merge the mappings into the channels (a snapshot first; `msync revert RUN` undoes it).
    Apply {
        /// Only this site (by name).
        #[arg(long, value_name = "NAME")]
        site: Option<String>,
        /// Only these channel ids (comma-separated).
        #[arg(long, value_name = "IDS", value_delimiter = ',')]
        channels: Option<Vec<String>>,
        /// Apply this stored preview (from `msync redirect plan`) instead of previewing afresh.
        #[arg(long, value_name = "ID")]
        preview: Option<String>,
        /// Write channels that changed since the preview.
        #[arg(long)]
        force: bool,
        /// Replace mappings that are not valid JSON (otherwise they are held for review).
        #[arg(long)]
        overwrite_invalid: bool,
    },
}

// ----- plumbing --------------------------------------------------------------------------------

/// A failure that ends the command with an exit code.
struct Fail(i32, String);

type Res<T> = Result<T, Fail>;

fn usage(msg: impl Into<String>) -> Fail {
    Fail(EXIT_USAGE, msg.into())
}

/// The exit code for an error that ended a command.
fn code_for(e: &Error) -> i32 {
    match e.class {
        ErrorClass::Auth | ErrorClass::Permission | ErrorClass::Network | ErrorClass::Timeout => {
            EXIT_UNREACHABLE
        }
        ErrorClass::Validation => EXIT_USAGE,
        _ => EXIT_FAILED,
    }
}

/// What to do when the state directory refuses writes.
pub const STORAGE_HINT: &str = "the state directory could not be written (disk full?): free space \
     there, or keep fewer runs (keep_runs, history_max_bytes), then `msync resume` continues the run";

fn from_error(site: &str, e: &Error) -> Fail {
    let status = e
        .http_status
        .map(|s| format!(" (HTTP {s})"))
        .unwrap_or_default();
    let hint = if e.class == ErrorClass::Storage {
        format!("\n  {STORAGE_HINT}")
    } else {
        String::new()
    };
    Fail(
        code_for(e),
        format!("{site}: {}{status}: {}{hint}", e.class, e.message),
    )
}

/// Logs each request's method, path and status at `-vv`; never headers or bodies, and the
/// line is redacted with the site's secrets besides.
struct LoggingTransport {
    inner: ReqwestTransport,
    base: String,
    secrets: Vec<String>,
    log: bool,
}

#[async_trait(?Send)]
impl Transport for LoggingTransport {
    async fn send(&self, req: Request) -> Result<Response, TransportError> {
        if !self.log {
            return self.inner.send(req).await;
        }
        let started = std::time::Instant::now();
        let method = req.method.as_str();
        let path = req
            .url
            .strip_prefix(&self.base)
            .unwrap_or(&req.url)
            .to_string();
        let res = self.inner.send(req).await;
        let outcome = match &res {
            Ok(r) => format!("{}", r.status),
            Err(e) => e.to_string(),
        };
        let line = format!(
            "debug: {method} {path} -> {outcome} ({} ms)",
            started.elapsed().as_millis()
        );
        eprintln!("{}", redact(&line, &self.secrets));
        res
    }
}

struct App {
    cli: Cli,
    out: Style,
    err: Style,
}

impl App {
    fn warn(&self, msg: &str) {
        if !self.cli.quiet {
            errln!("{} {msg}", self.err.yellow("warning:"));
        }
    }

    fn info(&self, msg: &str) {
        if !self.cli.quiet && !self.cli.json {
            errln!("{msg}");
        }
    }

    fn debug(&self, msg: &str) {
        if self.cli.verbose > 0 && !self.cli.quiet {
            errln!("{}", self.err.dim(&format!("debug: {msg}")));
        }
    }

    fn print_json(&self, v: &Value) {
        let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
        let _ = writeln!(std::io::stdout(), "{text}");
    }

    fn load_config(&self) -> Res<Config> {
        let cfg = config::load(&self.cli.config).map_err(|e| usage(e.to_string()))?;
        for w in &cfg.warnings {
            self.warn(w);
        }
        self.debug(&format!(
            "config {} with {} site(s)",
            cfg.path.display(),
            cfg.sites.len()
        ));
        Ok(cfg)
    }

    fn store(&self) -> Res<Rc<FileStore>> {
        let dir = self
            .cli
            .state_dir
            .clone()
            .unwrap_or_else(config::default_state_dir);
        self.debug(&format!("state dir {}", dir.display()));
        FileStore::open(&dir)
            .map(Rc::new)
            .map_err(|e| usage(format!("state directory: {}", e.0)))
    }

    fn sites<'c>(
        &self,
        cfg: &'c Config,
        name: Option<&str>,
        need_credentials: bool,
    ) -> Res<Vec<&'c SiteConfig>> {
        let sites = cfg.select(name).map_err(usage)?;
        if need_credentials {
            let errs: Vec<String> = sites
                .iter()
                .flat_map(|s| s.credential_errors.iter().map(ToString::to_string))
                .collect();
            if !errs.is_empty() {
                return Err(usage(errs.join("\n")));
            }
        }
        Ok(sites)
    }

    /// The gateway context for a site: reqwest transport (logged at -vv), system clock, the
    /// site's request time limit.
    fn ctx(&self, sc: &SiteConfig) -> Res<Ctx> {
        let inner = ReqwestTransport::with_roots(
            std::time::Duration::from_secs(30),
            crate::transport::DEFAULT_MAX_BODY,
            &sc.ca_roots,
        )
        .map_err(|e| Fail(EXIT_FAILED, e.to_string()))?;
        let transport = LoggingTransport {
            inner,
            base: sc.site.api_base().to_string(),
            secrets: sc.site.credentials.secrets(),
            log: self.cli.verbose >= 2 && !self.cli.quiet,
        };
        let mut ctx = Ctx::new(sc.site.clone(), Rc::new(transport), Rc::new(SystemClock));
        ctx.timeout_ms = sc.timeout_ms;
        Ok(ctx)
    }

    fn engine(&self, sc: &SiteConfig, store: Rc<FileStore>) -> Res<Engine> {
        let ctx = self.ctx(sc)?;
        self.debug(&format!(
            "site {} ({}, {}): {} rpm, burst {}, concurrency {}, {} retries",
            sc.site.name,
            sc.site.kind,
            sc.site.api_base(),
            sc.settings.rate.rpm,
            sc.settings.rate.burst,
            sc.settings.concurrency,
            sc.settings.retry.max_retries
        ));
        Engine::connect(
            ctx,
            store,
            sc.settings.clone(),
            now_ms() ^ 0x9e37_79b9_7f4a_7c15,
        )
        .map_err(|e| from_error(&sc.site.name, &e))
    }

    /// Take the site's process lock for a command that writes (see [`FileStore::lock_site`]).
    fn lock_site(&self, store: &FileStore, sc: &SiteConfig) -> Res<SiteLock> {
        let name = &sc.site.name;
        match store.lock_site(&sc.site.id.0) {
            Ok(Some(lock)) => Ok(lock),
            Ok(None) => Err(usage(format!(
                "{name}: another msync process is working on this site (state dir {}); \
                 wait for it to finish, then try again",
                store.root().display()
            ))),
            Err(e) => Err(Fail(EXIT_FAILED, format!("{name}: {}", e.0))),
        }
    }

    /// Print run results (one document for one site, `{"runs": […]}` for several) and
    /// compute the exit code.
    fn finish_runs(&self, runs: &[(String, RunRecord)]) -> i32 {
        if self.cli.json {
            if let [(name, rec)] = runs {
                self.print_json(&output::record_json(rec, name));
            } else {
                let docs: Vec<Value> = runs
                    .iter()
                    .map(|(n, r)| output::record_json(r, n))
                    .collect();
                self.print_json(&json!({ "runs": docs }));
            }
        } else {
            for (i, (name, rec)) in runs.iter().enumerate() {
                if i > 0 {
                    outln!("");
                }
                out!(
                    "{}",
                    output::render_record(rec, name, self.out, self.cli.verbose > 0)
                );
            }
        }
        runs.iter()
            .map(|(_, r)| run_exit(r))
            .max()
            .unwrap_or(EXIT_OK)
    }
}

/// The exit code a finished run implies.
fn run_exit(rec: &RunRecord) -> i32 {
    let h = &rec.head;
    if h.state == RunState::Failed {
        return match &h.error {
            Some(e) if code_for(e) == EXIT_UNREACHABLE => EXIT_UNREACHABLE,
            _ => EXIT_FAILED,
        };
    }
    if h.totals.failed > 0 || h.totals.needs_review > 0 || h.state == RunState::Running {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// Progress: a bar on a terminal, one line per channel otherwise, nothing with --json/--quiet.
struct Reporter {
    bar: Option<ProgressBar>,
    lines: bool,
    done: RefCell<usize>,
    total: RefCell<usize>,
    st: Style,
}

impl Reporter {
    fn new(app: &App) -> Reporter {
        let quiet = app.cli.quiet || app.cli.json;
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Reporter {
            bar,
            lines: !quiet && !tty,
            done: RefCell::new(0),
            total: RefCell::new(0),
            st: app.err,
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Observer for Reporter {
    fn on_progress(&self, p: &Progress) {
        *self.total.borrow_mut() = p.total;
        *self.done.borrow_mut() = p.done;
        if let Some(b) = &self.bar {
            b.set_length(p.total as u64);
            b.set_position(p.done as u64);
            let names: Vec<&str> = p.in_flight.iter().map(|q| q.name.as_str()).collect();
            b.set_message(format!("failed {} · {}", p.totals.failed, names.join(", ")));
        }
    }

    fn on_item(&self, i: &ItemResult) {
        let detail = match i.status {
            ItemStatus::Failed => format!(
                "{} {}",
                i.error_class.map(|c| c.as_str()).unwrap_or("error"),
                i.message.as_deref().unwrap_or("")
            ),
            ItemStatus::Success | ItemStatus::Unchanged => {
                format!("+{} -{}", i.sizes().added, i.sizes().removed)
            }
            _ => i.reason.clone().unwrap_or_default(),
        };
        let line = format!(
            "[{}/{}] #{} {}: {} {}",
            *self.done.borrow() + 1,
            *self.total.borrow(),
            i.channel_id,
            i.channel_name,
            self.st.status(i.status),
            detail
        );
        let line = crate::output::terminal_safe(&line).into_owned();
        if let Some(b) = &self.bar {
            if i.status == ItemStatus::Failed {
                b.println(line);
            }
        } else if self.lines {
            eprintln!("{line}");
        }
    }
}

/// Run `fut`, or stop at Ctrl-C: the engine has checkpointed every finished channel.
async fn interruptible<T>(
    site: &str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, Fail> {
    tokio::select! {
        r = fut => Ok(r),
        _ = tokio::signal::ctrl_c() => Err(Fail(
            EXIT_INTERRUPTED,
            format!("interrupted: the finished channels are saved; continue with `msync resume --site {site}`"),
        )),
    }
}

fn parse_ids(ids: &[String]) -> Res<Vec<ChannelId>> {
    let out: Vec<ChannelId> = ids
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| ChannelId(s.to_string()))
        .collect();
    if out.is_empty() {
        return Err(usage("--channels needs at least one channel id"));
    }
    Ok(out)
}

/// Read a one-name-per-line file: trimmed, no blanks, `#` comments dropped.
fn read_names(path: &Path) -> Res<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

// ----- commands --------------------------------------------------------------------------------

impl App {
    async fn sites_test(&self, site: Option<&str>) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        let store = self.store()?;
        let mut code = EXIT_OK;
        let mut docs = Vec::new();
        for sc in sites {
            let engine = self.engine(sc, store.clone())?;
            let res = interruptible(&sc.site.name, engine.gateway().test_connection()).await?;
            let mut doc = json!({
                "site": sc.site.name,
                "type": sc.site.kind.as_str(),
                "base_url": sc.site.api_base(),
            });
            match res {
                Ok(r) => {
                    let ok = r.reachable && r.authenticated && r.admin;
                    if !ok {
                        code = code.max(EXIT_UNREACHABLE);
                    }
                    doc["ok"] = json!(ok);
                    doc["report"] = serde_json::to_value(&r).unwrap_or(Value::Null);
                    if !self.cli.json {
                        let mark = if ok {
                            self.out.green("ok")
                        } else {
                            self.out.red("FAILED")
                        };
                        outln!(
                            "{} {} ({})  {}",
                            mark,
                            self.out.bold(&sc.site.name),
                            sc.site.kind.label(),
                            sc.site.api_base()
                        );
                        outln!(
                            "    reachable {} · authenticated {} · admin {} · root {} · {} channels · {} ms",
                            yes_no(r.reachable),
                            yes_no(r.authenticated),
                            yes_no(r.admin),
                            r.root.map(yes_no).unwrap_or("unknown"),
                            r.channel_count.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
                            r.round_trip_ms
                        );
                        if let Some(v) = r.version.as_deref().or(r.flavour_hint.as_deref()) {
                            outln!("    version {v}");
                        }
                    }
                }
                Err(e) => {
                    code = code.max(code_for(&e).max(EXIT_FAILED));
                    doc["ok"] = json!(false);
                    doc["error"] = json!({
                        "class": e.class.as_str(),
                        "http_status": e.http_status,
                        "message": e.message,
                    });
                    if !self.cli.json {
                        outln!(
                            "{} {} ({})  {}",
                            self.out.red("FAILED"),
                            self.out.bold(&sc.site.name),
                            sc.site.kind.label(),
                            sc.site.api_base()
                        );
                        outln!("    {}: {}", e.class, e.message);
                    }
                }
            }
            docs.push(doc);
        }
        if self.cli.json {
            self.print_json(&json!({ "sites": docs }));
        }
        Ok(code)
    }

    async fn channels(&self, site: Option<&str>) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        let store = self.store()?;
        let mut docs = Vec::new();
        for sc in sites {
            let engine = self.engine(sc, store.clone())?;
            let chans = interruptible(&sc.site.name, engine.gateway().list_channels())
                .await?
                .map_err(|e| from_error(&sc.site.name, &e))?;
            if self.cli.json {
                let list: Vec<Value> = chans
                    .iter()
                    .map(|c| {
                        let mapping = match &c.mapping {
                            Mapping::Valid { pairs } => json!(pairs
                                .iter()
                                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                                .collect::<serde_json::Map<_, _>>()),
                            Mapping::Empty => json!({}),
                            Mapping::Invalid { error, .. } => json!({ "invalid": error }),
                            Mapping::Unsupported => Value::Null,
                        };
                        json!({
                            "id": c.id.0,
                            "name": c.name,
                            "enabled": c.enabled,
                            "type": c.channel_type,
                            "models": c.models,
                            "mapping": mapping,
                            "tag": c.tag,
                        })
                    })
                    .collect();
                docs.push(json!({ "site": sc.site.name, "channels": list }));
            } else {
                outln!(
                    "{} ({} channels)",
                    self.out.bold(&sc.site.name),
                    chans.len()
                );
                outln!(
                    "{}",
                    self.out.bold(&format!(
                        "  {:<8} {:<30} {:<8} {:<12} {:>6} {:>8}",
                        "id", "name", "enabled", "type", "models", "mappings"
                    ))
                );
                for c in &chans {
                    let mapping = match &c.mapping {
                        Mapping::Valid { pairs } => pairs.len().to_string(),
                        Mapping::Empty => "0".into(),
                        Mapping::Invalid { .. } => self.out.red("invalid"),
                        Mapping::Unsupported => "-".into(),
                    };
                    outln!(
                        "  {:<8} {:<30} {:<8} {:<12} {:>6} {:>8}",
                        c.id.0,
                        c.name.chars().take(30).collect::<String>(),
                        if c.enabled { "yes" } else { "no" },
                        c.channel_type.chars().take(12).collect::<String>(),
                        c.models.len(),
                        mapping
                    );
                }
            }
        }
        if self.cli.json {
            self.print_json(&json!({ "sites": docs }));
        }
        Ok(EXIT_OK)
    }

    async fn sync(&self, args: &SyncArgs) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, args.site.as_deref(), true)?;
        let store = self.store()?;
        let selection = if args.failed {
            Selection::FailedOnly
        } else if let Some(ids) = &args.channels {
            Selection::Channels(parse_ids(ids)?)
        } else {
            Selection::All
        };
        let interactive = !args.yes
            && !args.dry_run
            && !self.cli.json
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        let mut runs = Vec::new();
        for sc in sites {
            let _lock = self.lock_site(&store, sc)?;
            let engine = self.engine(sc, store.clone())?;
            let name = sc.site.name.clone();
            if args.failed {
                // Nothing to retry is not an error for cron.
                let last = engine
                    .history()
                    .last_sync_run()
                    .await
                    .map_err(|e| from_error(&name, &e))?;
                match last {
                    None => {
                        return Err(usage(format!(
                            "{name}: there is no previous run to retry (run `msync sync` first)"
                        )))
                    }
                    Some(r) if !r.items.iter().any(|i| i.status == ItemStatus::Failed) => {
                        self.info(&format!(
                            "{name}: the last run ({}) has no failed channels; nothing to retry",
                            r.head.id
                        ));
                        continue;
                    }
                    Some(_) => {}
                }
            }
            let reporter = Reporter::new(self);
            let rec = if interactive {
                let (plan_rec, plan) =
                    interruptible(&name, engine.plan(selection.clone(), &reporter))
                        .await?
                        .map_err(|e| from_error(&name, &e))?;
                reporter.finish();
                out!(
                    "{}",
                    output::render_record(&plan_rec, &name, self.out, true)
                );
                let writes: Vec<ChannelId> = plan
                    .channels
                    .iter()
                    .filter(|c| c.decision == Decision::Write)
                    .map(|c| c.channel_id.clone())
                    .collect();
                if writes.is_empty() {
                    self.info(&format!("{name}: nothing to write"));
                    runs.push((name, plan_rec));
                    continue;
                }
                if !ask(&format!("Write {} channel(s) on {name}?", writes.len())) {
                    self.info(&format!(
                        "nothing written; the plan is stored: `msync apply {}` applies it later",
                        plan.run
                    ));
                    runs.push((name, plan_rec));
                    continue;
                }
                let reporter = Reporter::new(self);
                let opts = ApplyOptions {
                    force: false,
                    channels: Some(writes),
                };
                let r = interruptible(&name, engine.apply_plan(plan, opts, &reporter)).await?;
                reporter.finish();
                r
            } else {
                let mut req = RunRequest::new(
                    selection.clone(),
                    if args.failed {
                        msync_core::engine::record::Trigger::Retry
                    } else {
                        msync_core::engine::record::Trigger::Manual
                    },
                );
                req.dry_run = args.dry_run;
                let r = interruptible(&name, engine.run(req, &reporter)).await?;
                reporter.finish();
                r
            };
            let rec = rec.map_err(|e| from_error(&name, &e))?;
            if rec.head.mode == RunMode::DryRun && !self.cli.json {
                self.info(&format!(
                    "dry run: nothing written. Apply this plan with `msync apply {}`",
                    rec.head.id
                ));
            }
            let after = if sc.settings.redirect.enabled && rec.head.mode != RunMode::DryRun {
                let reporter = Reporter::new(self);
                let r = interruptible(&name, engine.redirect_after_sync(&rec, &reporter)).await?;
                reporter.finish();
                r.map_err(|e| from_error(&name, &e))?
            } else {
                None
            };
            runs.push((name.clone(), rec));
            if let Some(r) = after {
                runs.push((name, r));
            }
        }
        if runs.is_empty() {
            if self.cli.json {
                self.print_json(&json!({ "runs": [] }));
            }
            return Ok(EXIT_OK);
        }
        self.notify_runs(&cfg, &store, &runs).await; // issue 19
        Ok(self.finish_runs(&runs))
    }

    /// The site whose history holds `run` (among the selected sites).
    async fn site_of_run<'c>(
        &self,
        cfg: &'c Config,
        store: &FileStore,
        run: &RunId,
    ) -> Res<&'c SiteConfig> {
        for sc in &cfg.sites {
            let h = History::new(store, sc.site.id.clone());
            if h.head(run)
                .await
                .map_err(|e| from_error(&sc.site.name, &e))?
                .is_some()
            {
                let errs: Vec<String> = sc
                    .credential_errors
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                if !errs.is_empty() {
                    return Err(usage(errs.join("\n")));
                }
                return Ok(sc);
            }
        }
        Err(usage(format!(
            "run {run} is not in the history of any configured site (see `msync history`)"
        )))
    }

    async fn apply(&self, run: &str, channels: Option<&[String]>, force: bool) -> Res<i32> {
        let cfg = self.load_config()?;
        let store = self.store()?;
        let run = RunId(run.trim().to_string());
        let sc = self.site_of_run(&cfg, &store, &run).await?;
        let _lock = self.lock_site(&store, sc)?;
        let engine = self.engine(sc, store.clone())?;
        let name = sc.site.name.clone();
        let head = engine
            .history()
            .head(&run)
            .await
            .map_err(|e| from_error(&name, &e))?;
        // A run whose price check held models back stored the entries that confirm them
        // (issue 19); it can be applied like a dry run.
        let held = |h: &msync_core::engine::record::RunHead| {
            h.pricing.as_ref().is_some_and(|p| !p.held.is_empty())
        };
        if let Some(h) = head.filter(|h| h.mode != RunMode::DryRun && !held(h)) {
            let mode = serde_json::to_value(h.mode).unwrap_or(Value::Null);
            return Err(usage(format!(
                "run {run} is a {} run, not a dry run; only the plan of a dry run (`msync plan`) can be applied",
                mode.as_str().unwrap_or("?")
            )));
        }
        let plan = engine
            .history()
            .plan(&run)
            .await
            .map_err(|e| from_error(&name, &e))?
            .ok_or_else(|| {
                usage(format!(
                    "run {run} stored no plan; only dry runs (`msync plan`) can be applied"
                ))
            })?;
        let opts = ApplyOptions {
            force,
            channels: channels.map(parse_ids).transpose()?,
        };
        let reporter = Reporter::new(self);
        let rec = interruptible(&name, engine.apply_plan(plan, opts, &reporter)).await?;
        reporter.finish();
        let rec = rec.map_err(|e| from_error(&name, &e))?;
        Ok(self.finish_runs(&[(name, rec)]))
    }

    async fn resume(&self, site: Option<&str>) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        let store = self.store()?;
        let mut runs = Vec::new();
        for sc in sites {
            let _lock = self.lock_site(&store, sc)?;
            let engine = self.engine(sc, store.clone())?;
            let name = sc.site.name.clone();
            let reporter = Reporter::new(self);
            let rec = interruptible(&name, engine.resume(&reporter)).await?;
            reporter.finish();
            match rec.map_err(|e| from_error(&name, &e))? {
                Some(r) => runs.push((name, r)),
                None => self.info(&format!("{name}: no interrupted run to resume")),
            }
        }
        if runs.is_empty() {
            if self.cli.json {
                self.print_json(&json!({ "runs": [] }));
            }
            return Ok(EXIT_OK);
        }
        self.notify_runs(&cfg, &store, &runs).await; // issue 19
        Ok(self.finish_runs(&runs))
    }

    async fn revert(&self, run: &str, channel: Option<&str>, force: bool) -> Res<i32> {
        let cfg = self.load_config()?;
        let store = self.store()?;
        let run = RunId(run.trim().to_string());
        let sc = self.site_of_run(&cfg, &store, &run).await?;
        let _lock = self.lock_site(&store, sc)?;
        let engine = self.engine(sc, store.clone())?;
        let name = sc.site.name.clone();
        let reporter = Reporter::new(self);
        let rec = match channel {
            Some(c) => {
                let id = ChannelId(c.trim().to_string());
                interruptible(&name, engine.revert_channel(&run, &id, force, &reporter)).await?
            }
            None => interruptible(&name, engine.revert_run(&run, force, &reporter)).await?,
        };
        reporter.finish();
        let rec = rec.map_err(|e| from_error(&name, &e))?;
        Ok(self.finish_runs(&[(name, rec)]))
    }

    async fn history(&self, args: &HistoryArgs) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, args.site.as_deref(), false)?;
        let store = self.store()?;
        let query = ItemQuery {
            statuses: args.status.iter().map(|s| s.status()).collect(),
            text: args.search.clone(),
        };
        let filtering = !query.statuses.is_empty() || query.text.is_some();
        let hist = |sc: &SiteConfig| History::new(&*store, SiteId(sc.site.id.0.clone()));
        let err = |sc: &SiteConfig, e: Error| from_error(&sc.site.name, &e);

        // One run: detail or export.
        let wanted = match (&args.run, args.export) {
            (Some(r), _) => Some(RunId(r.trim().to_string())),
            (None, Some(_)) => {
                // The newest run across the selected sites.
                let mut newest: Option<RunId> = None;
                for sc in &sites {
                    if let Some(id) = hist(sc).run_ids().await.map_err(|e| err(sc, e))?.pop() {
                        if newest.as_ref().is_none_or(|n| &id > n) {
                            newest = Some(id);
                        }
                    }
                }
                Some(newest.ok_or_else(|| usage("there is no run to export yet"))?)
            }
            (None, None) => None,
        };
        if let Some(run) = wanted {
            for sc in &sites {
                let Some(mut rec) = hist(sc).run(&run).await.map_err(|e| err(sc, e))? else {
                    continue;
                };
                rec.items.retain(|i| query.matches(i));
                match args.export {
                    // Exports are data: written as they are (JSON escapes controls itself).
                    Some(ExportFormat::Json) => {
                        let _ = writeln!(std::io::stdout(), "{}", export_json(&rec));
                    }
                    Some(ExportFormat::Csv) => {
                        let _ = write!(std::io::stdout(), "{}", export_csv(&rec));
                    }
                    None if self.cli.json => {
                        self.print_json(&output::record_json(&rec, &sc.site.name))
                    }
                    None => {
                        out!(
                            "{}",
                            output::render_record(&rec, &sc.site.name, self.out, true)
                        );
                        if filtering || self.cli.verbose > 0 {
                            let rows: Vec<(String, ItemResult)> = rec
                                .items
                                .iter()
                                .map(|i| (run.0.clone(), i.clone()))
                                .collect();
                            outln!("");
                            out!("{}", output::render_items(&rows, self.out));
                        }
                    }
                }
                return Ok(EXIT_OK);
            }
            return Err(usage(format!("run {run} is not in the history")));
        }

        if filtering {
            let mut rows = Vec::new();
            for sc in &sites {
                for (run, item) in hist(sc).search(&query).await.map_err(|e| err(sc, e))? {
                    rows.push((sc.site.name.clone(), run, item));
                }
            }
            rows.sort_by(|a, b| b.1.cmp(&a.1));
            if self.cli.json {
                let items: Vec<Value> = rows
                    .iter()
                    .map(|(site, run, i)| {
                        let mut v = output::item_json(i);
                        v["run"] = json!(run.0);
                        v["site"] = json!(site);
                        v
                    })
                    .collect();
                self.print_json(&json!({ "items": items }));
            } else {
                let table: Vec<(String, ItemResult)> =
                    rows.into_iter().map(|(_, r, i)| (r.0, i)).collect();
                if table.is_empty() {
                    outln!("no matching channels");
                } else {
                    out!("{}", output::render_items(&table, self.out));
                }
            }
            return Ok(EXIT_OK);
        }

        let mut rows = Vec::new();
        for sc in &sites {
            for head in hist(sc).runs().await.map_err(|e| err(sc, e))? {
                rows.push((sc.site.name.clone(), head));
            }
        }
        rows.sort_by(|a, b| b.1.id.cmp(&a.1.id));
        if self.cli.json {
            let runs: Vec<Value> = rows.iter().map(|(s, h)| output::run_json(h, s)).collect();
            self.print_json(&json!({ "runs": runs }));
        } else if rows.is_empty() {
            outln!("no runs yet");
        } else {
            out!("{}", output::render_runs(&rows, self.out));
        }
        Ok(EXIT_OK)
    }

    async fn redirect_plan(&self, site: Option<&str>, channels: Option<&[String]>) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        let store = self.store()?;
        let ids = channels.map(parse_ids).transpose()?;
        let mut docs = Vec::new();
        for sc in sites {
            let engine = self.engine(sc, store.clone())?;
            let name = sc.site.name.clone();
            let op = RedirectOp::Redirect {
                settings: sc.settings.redirect.clone(),
            };
            let preview = interruptible(&name, engine.preview_redirect(op, ids.as_deref(), false))
                .await?
                .map_err(|e| from_error(&name, &e))?;
            if self.cli.json {
                let mut v = serde_json::to_value(&preview).unwrap_or(Value::Null);
                v["site_name"] = json!(name);
                docs.push(v);
                continue;
            }
            let t = &preview.totals;
            outln!(
                "{} redirect preview {}: {} to change, {} unchanged, {} blocked ({} keys set, {} removed)",
                self.out.bold(&name),
                preview.id,
                t.change,
                t.unchanged,
                t.blocked,
                t.keys_set,
                t.keys_removed
            );
            for c in &preview.channels {
                match &c.status {
                    PlanStatus::Change => {
                        outln!("  #{:<6} {}", c.channel_id.0, c.channel_name);
                        for ch in &c.changes {
                            let v = serde_json::to_value(ch).unwrap_or(Value::Null);
                            outln!("      {}", change_line(&v));
                        }
                    }
                    PlanStatus::Blocked { message, .. } => outln!(
                        "  #{:<6} {}  {} {}",
                        c.channel_id.0,
                        c.channel_name,
                        self.out.yellow("blocked:"),
                        message
                    ),
                    PlanStatus::Unchanged => {
                        if self.cli.verbose > 0 {
                            outln!("  #{:<6} {}  unchanged", c.channel_id.0, c.channel_name);
                        }
                    }
                }
                if self.cli.verbose > 0 {
                    for o in &c.outcomes {
                        outln!(
                            "      {:<28} {}",
                            o.standard,
                            self.out.dim(&o.outcome.describe())
                        );
                    }
                }
            }
            self.info(&format!(
                "nothing written; apply with `msync redirect apply --site {name} --preview {}`",
                preview.id
            ));
        }
        if self.cli.json {
            self.print_json(&json!({ "previews": docs }));
        }
        Ok(EXIT_OK)
    }

    async fn redirect_apply(
        &self,
        site: Option<&str>,
        channels: Option<&[String]>,
        preview: Option<&str>,
        force: bool,
        overwrite_invalid: bool,
    ) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        if preview.is_some() && sites.len() > 1 {
            return Err(usage("--preview names one site's preview; add --site"));
        }
        let store = self.store()?;
        let ids = channels.map(parse_ids).transpose()?;
        let mut runs = Vec::new();
        for sc in sites {
            let _lock = self.lock_site(&store, sc)?;
            let engine = self.engine(sc, store.clone())?;
            let name = sc.site.name.clone();
            let opts = RedirectApplyOptions {
                channels: ids.clone(),
                confirm_overwrite_invalid: overwrite_invalid,
                confirm_clear: false,
                force,
            };
            let reporter = Reporter::new(self);
            let rec = match preview {
                Some(id) => {
                    interruptible(&name, engine.apply_stored_redirect(id, opts, &reporter)).await?
                }
                None => {
                    let op = RedirectOp::Redirect {
                        settings: sc.settings.redirect.clone(),
                    };
                    let p = interruptible(
                        &name,
                        engine.preview_redirect(op, ids.as_deref(), overwrite_invalid),
                    )
                    .await?
                    .map_err(|e| from_error(&name, &e))?;
                    if p.totals.change == 0 {
                        self.info(&format!("{name}: every mapping is already up to date"));
                        continue;
                    }
                    interruptible(&name, engine.apply_redirect(&p, opts, &reporter)).await?
                }
            };
            reporter.finish();
            runs.push((name.clone(), rec.map_err(|e| from_error(&name, &e))?));
        }
        if runs.is_empty() {
            if self.cli.json {
                self.print_json(&json!({ "runs": [] }));
            }
            return Ok(EXIT_OK);
        }
        Ok(self.finish_runs(&runs))
    }

    fn redirect_match(&self, standard_file: &Path, models_file: &Path, no_dated: bool) -> Res<i32> {
        let standards = read_names(standard_file)?;
        let models = read_names(models_file)?;
        if standards.is_empty() {
            return Err(usage(format!(
                "{} lists no standard model",
                standard_file.display()
            )));
        }
        let matcher = Matcher::new(
            &standards,
            &[],
            MatchOptions {
                allow_dated_targets: !no_dated,
            },
        );
        let result = matcher.match_models(&models);
        if self.cli.json {
            let mapping: serde_json::Map<String, Value> = result
                .mapping
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let explanations: Vec<Value> = result
                .outcomes
                .iter()
                .map(|o| {
                    let kind = serde_json::to_value(&o.outcome)
                        .ok()
                        .and_then(|v| v.get("kind").cloned())
                        .unwrap_or(Value::Null);
                    json!({
                        "standard": o.standard,
                        "outcome": kind,
                        "target": o.outcome.target(),
                        "reason": o.outcome.describe(),
                    })
                })
                .collect();
            self.print_json(&json!({ "mapping": mapping, "explanations": explanations }));
        } else {
            let width = result
                .outcomes
                .iter()
                .map(|o| o.standard.chars().count())
                .max()
                .unwrap_or(8)
                .clamp(8, 40);
            for o in &result.outcomes {
                let line = match o.outcome.target() {
                    Some(t) => format!(
                        "{:<width$} → {}   {}",
                        o.standard,
                        self.out.green(t),
                        self.out.dim(&o.outcome.describe())
                    ),
                    None => format!("{:<width$}   {}", o.standard, o.outcome.describe()),
                };
                outln!("{line}");
            }
            outln!(
                "\n{} of {} standard models mapped",
                result.mapping.len(),
                result.outcomes.len()
            );
        }
        Ok(EXIT_OK)
    }
}

/// One mapping change as text (`+ key → value`, `~ key: old → new`, `- key`).
fn change_line(v: &Value) -> String {
    let get = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    let key = get("key");
    match (
        v.get("old").and_then(Value::as_str),
        v.get("new").and_then(Value::as_str),
    ) {
        (None, Some(n)) => format!("+ {key} → {n}"),
        (Some(o), Some(n)) => format!("~ {key}: {o} → {n}"),
        (Some(o), None) => format!("- {key} (was {o})"),
        (None, None) => v.to_string(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Run the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let app = App {
        cli,
        out: Style::stdout(),
        err: Style::stderr(),
    };
    let result = match &app.cli.command {
        Command::Sites(SitesCmd::Test { site }) => app.sites_test(site.as_deref()).await,
        Command::Channels { site } => app.channels(site.as_deref()).await,
        Command::Sync(args) => app.sync(args).await,
        Command::Plan { site, channels } => {
            let args = SyncArgs {
                site: site.clone(),
                channels: channels.clone(),
                failed: false,
                dry_run: true,
                yes: true,
            };
            app.sync(&args).await
        }
        Command::Apply {
            run,
            channels,
            force,
        } => app.apply(run, channels.as_deref(), *force).await,
        Command::Resume { site } => app.resume(site.as_deref()).await,
        Command::Revert {
            run,
            channel,
            force,
        } => app.revert(run, channel.as_deref(), *force).await,
        Command::History(args) => app.history(args).await,
        Command::Redirect(RedirectCmd::Match {
            standard_file,
            models_file,
            no_dated,
        }) => app.redirect_match(standard_file, models_file, *no_dated),
        Command::Redirect(RedirectCmd::Plan { site, channels }) => {
            app.redirect_plan(site.as_deref(), channels.as_deref())
                .await
        }
        Command::Redirect(RedirectCmd::Apply {
            site,
            channels,
            preview,
            force,
            overwrite_invalid,
        }) => {
            app.redirect_apply(
                site.as_deref(),
                channels.as_deref(),
                preview.as_deref(),
                *force,
                *overwrite_invalid,
            )
            .await
        }
        Command::Ratios(cmd) => app.ratios(cmd).await,
        Command::Import(cmd) => app.import(cmd),
        Command::Notify(cmd) => app.notify_cmd(cmd).await,
    };
    match result {
        Ok(code) => code,
        Err(Fail(code, msg)) => {
            if app.cli.json {
                app.print_json(&json!({ "error": { "code": code, "message": msg } }));
            }
            errln!("{} {msg}", app.err.red("error:"));
            code
        }
    }
}

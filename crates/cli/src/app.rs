//! The `msync` commands: argument parsing (clap) and what each command does.

use crate::clock::{now_ms, SystemClock};
use crate::config::{self, Config, SiteConfig};
use crate::json;
use crate::output::{self, Style};
use crate::store::{FileStore, SiteLock};
use crate::transport::ReqwestTransport;
use async_trait::async_trait;
use clap::{Args, Subcommand};
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

mod apply;
mod channels;
mod cli;
mod history;
pub mod import;
pub mod notify;
pub mod probe; // issue 21: probe before adding
pub mod ratios;
mod redirect;
mod resume;
mod revert;
mod sites;
mod sync;
pub mod watch;

pub use cli::*;

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
        format!("{site}: {}{status}: {}{hint}", e.class, e.text()),
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

    /// Print one `--json` document (`crate::json`, `docs/cli-json.md`).
    fn print_json<T: serde::Serialize>(&self, doc: &T) {
        let _ = writeln!(std::io::stdout(), "{}", json::to_text(doc));
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
        let dir = self.cli.state_dir.clone().unwrap_or_else(|| {
            let dir = config::default_state_dir();
            if dir == Path::new(config::FALLBACK_STATE_DIR) {
                self.warn(&format!(
                    "neither HOME nor XDG_DATA_HOME is set: keeping run history and snapshots in ./{} under the current directory (set --state-dir or MSYNC_STATE_DIR to choose)",
                    config::FALLBACK_STATE_DIR
                ));
            }
            dir
        });
        self.debug(&format!("state dir {}", dir.display()));
        let store =
            FileStore::open(&dir).map_err(|e| usage(format!("state directory: {}", e.0)))?;
        match store.make_private() {
            Ok(Some(mode)) => self.warn(&format!(
                "the state directory {} was open to other users (mode {mode:04o}); set it to 0700 (it holds run history and snapshots of every channel)",
                dir.display()
            )),
            Ok(None) => {}
            Err(e) => self.warn(&format!("state directory: {}", e.0)),
        }
        Ok(Rc::new(store))
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
        self.engine_with(sc, store, sc.settings.clone())
    }

    /// [`Self::engine`] with settings changed for one command (`sync --probe`).
    fn engine_with(
        &self,
        sc: &SiteConfig,
        store: Rc<FileStore>,
        settings: msync_core::settings::SyncSettings,
    ) -> Res<Engine> {
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
        Engine::connect(ctx, store, settings, now_ms() ^ 0x9e37_79b9_7f4a_7c15)
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
                self.print_json(&json::RecordJson::new(rec, name));
            } else {
                let runs = runs
                    .iter()
                    .map(|(n, r)| json::RecordJson::new(r, n))
                    .collect();
                self.print_json(&json::Runs { runs });
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
                i.error_text().unwrap_or_default()
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

impl App {
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
        Command::Channels { site, sort } => app.channels(site.as_deref(), *sort).await,
        Command::Probe(args) => app.probe(args).await,
        Command::Sync(args) => app.sync(args).await,
        Command::Plan { site, channels } => {
            let args = SyncArgs {
                site: site.clone(),
                channels: channels.clone(),
                failed: false,
                dry_run: true,
                yes: true,
                probe: false,
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
                app.print_json(&json::Failure {
                    error: json::FailureDetail {
                        code,
                        message: msg.clone(),
                    },
                });
            }
            errln!("{} {msg}", app.err.red("error:"));
            code
        }
    }
}

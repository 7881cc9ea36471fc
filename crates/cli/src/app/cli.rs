//! The command line as clap reads it: every command, argument and help text (the commands
//! themselves are in the sibling files, one per command).

use super::import;
use super::notify;
use super::probe;
use super::ratios;
use clap::{Args, Parser, Subcommand, ValueEnum};
use msync_core::engine::record::ItemStatus;
use std::path::PathBuf;

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
        /// Sort by id, name, failures in a row or last good sync (issue 21).
        #[arg(long, value_name = "BY", default_value = "id")]
        sort: probe::ChannelSort,
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
    /// Test models on a channel through the gateway's own channel test (docs/probe.md).
    Probe(probe::ProbeArgs),
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
    /// Probe each model this run would add through the gateway's channel test first; models
    /// that fail are held back (docs/probe.md). Also `[sync.probe] enabled = true`.
    #[arg(long)]
    pub probe: bool,
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
    pub(super) fn status(self) -> ItemStatus {
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

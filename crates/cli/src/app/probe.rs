//! Issue 21, probe before adding (`docs/probe.md`):
//!
//! * `msync probe --site S --channel ID --model M[,M2]` tests models now through the gateway's
//!   channel test (cache bypassed, results stored);
//! * `msync probe --site S --channel ID --all` re-verifies every model on the channel: it states
//!   the number of tests first and sends them only with `--yes`;
//! * `msync sync --probe` turns the probe step on for one run (see `App::sync`);
//! * the health columns of `msync channels` (last good sync, failures in a row).
//!
//! Outcomes are the core's typed values, rendered with `Display`.

use super::*;
use clap::{Args, ValueEnum};
use msync_core::engine::ProbeMode;
use msync_core::probe::{ChannelHealth, ChannelTest, HealthStore, ModelProbe, ProbeOutcome};
use std::collections::BTreeMap;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The site (by name); needed when several are configured.
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// The channel id.
    #[arg(long, value_name = "ID")]
    pub channel: String,
    /// The models to test (comma-separated).
    #[arg(
        long,
        value_name = "MODELS",
        value_delimiter = ',',
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub model: Vec<String>,
    /// Re-verify every model on the channel (states the cost; sends only with --yes).
    #[arg(long)]
    pub all: bool,
    /// Send the tests of --all without asking.
    #[arg(short, long)]
    pub yes: bool,
}

/// Sort orders of `msync channels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChannelSort {
    Id,
    Name,
    /// Most failures in a row first.
    Failures,
    /// Oldest last good sync first (never synced first of all).
    LastGood,
}

/// What the admin should know about a gateway's channel test before spending on it.
pub(super) fn cost_note(test: ChannelTest) -> Option<&'static str> {
    match test {
        ChannelTest::Missing => None,
        ChannelTest::Supported {
            may_disable_channel: true,
            ..
        } => Some(
            "each test spends tokens on the channel's key; this gateway may disable the channel when a test fails",
        ),
        ChannelTest::Supported { .. } => Some("each test spends tokens on the channel's key"),
    }
}

/// "3 h ago" / "never".
pub(super) fn ago(ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "never".into();
    };
    let secs = now_ms().saturating_sub(ms) / 1000;
    match secs {
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

pub(super) async fn health_of(
    store: &FileStore,
    site: &SiteId,
    name: &str,
) -> Res<BTreeMap<String, ChannelHealth>> {
    HealthStore::new(store, site.clone())
        .all()
        .await
        .map_err(|e| from_error(name, &e))
}

impl App {
    pub(super) async fn probe(&self, args: &ProbeArgs) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, args.site.as_deref(), true)?;
        let [sc] = sites.as_slice() else {
            return Err(usage(
                "several sites are configured: choose one with --site NAME",
            ));
        };
        let sc = *sc;
        let store = self.store()?;
        let engine = self.engine(sc, store.clone())?;
        let name = sc.site.name.clone();
        let test = engine.gateway().capabilities().channel_test;
        let id = ChannelId(args.channel.trim().to_string());
        let channel = interruptible(&name, engine.gateway().get_channel(&id))
            .await?
            .map_err(|e| from_error(&name, &e))?;
        let models: Vec<String> = if args.all {
            channel.models.clone()
        } else {
            args.model
                .iter()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect()
        };
        if models.is_empty() {
            return Err(usage("no model to probe"));
        }
        let estimate_only = args.all && !args.yes;
        let mode = if estimate_only {
            ProbeMode::Estimate
        } else {
            ProbeMode::Send
        };
        if let (Some(note), false) = (cost_note(test), self.cli.json) {
            self.info(&format!("{name}: {note}"));
        }
        let probes = interruptible(&name, engine.probe_models(&channel, &models, mode, true))
            .await?
            .map_err(|e| from_error(&name, &e))?;
        let would = probes
            .iter()
            .filter(|p| p.outcome == ProbeOutcome::WouldProbe)
            .count();
        if self.cli.json {
            self.print_json(&json::ProbeJson {
                site: name.clone(),
                channel: json::ChannelRef {
                    id: channel.id.0.clone(),
                    name: channel.name.clone(),
                },
                channel_test: test,
                estimate_only,
                would_send: would,
                probes: probes.clone(),
            });
        } else {
            outln!(
                "{} #{} {}",
                self.out.bold(&name),
                channel.id.0,
                output::terminal_safe(&channel.name)
            );
            for p in &probes {
                outln!("  {}", self.render_probe(p));
            }
            if estimate_only {
                outln!(
                    "re-verifying {} model{} would send {would} channel test{}; run again with --yes to send them",
                    models.len(),
                    if models.len() == 1 { "" } else { "s" },
                    if would == 1 { "" } else { "s" }
                );
            }
        }
        let bad = probes.iter().any(|p| {
            !matches!(
                p.outcome,
                ProbeOutcome::Passed { .. } | ProbeOutcome::WouldProbe
            )
        });
        Ok(if bad { EXIT_FAILED } else { EXIT_OK })
    }

    fn render_probe(&self, p: &ModelProbe) -> String {
        let line = output::terminal_safe(&p.to_string()).into_owned();
        match p.outcome {
            ProbeOutcome::Passed { .. } => self.out.green(&line),
            ProbeOutcome::Failed { .. } => self.out.red(&line),
            _ => self.out.yellow(&line),
        }
    }
}

//! `msync notify test|log` and the notifications sent after runs (issue 19,
//! `docs/notifications.md`). A notification that cannot be sent is a warning and an entry in
//! the delivery log (`notify log`), never a failed command.

use super::*;
use msync_core::notify::{events_of_run, Delivery, DeliveryOutcome, Notifier, NotifyEvent};

#[derive(Debug, Subcommand)]
pub enum NotifyCmd {
    /// Send a test notification to one sink (or every sink) of `[notify]`.
    Test {
        /// The sink's name (default: every sink).
        #[arg(long, value_name = "NAME")]
        sink: Option<String>,
    },
    /// Show the delivery log (sent, suppressed and failed notifications), oldest first.
    Log,
}

impl App {
    fn notifier(&self, cfg: &Config, store: Rc<FileStore>) -> Res<Notifier> {
        let transport = ReqwestTransport::new().map_err(|e| Fail(EXIT_FAILED, e.to_string()))?;
        Ok(Notifier::new(
            Rc::new(transport),
            Rc::new(SystemClock),
            store,
            cfg.notify.clone(),
        ))
    }

    pub(super) async fn notify_cmd(&self, cmd: &NotifyCmd) -> Res<i32> {
        let cfg = self.load_config()?;
        let store = self.store()?;
        let n = self.notifier(&cfg, store)?;
        match cmd {
            NotifyCmd::Test { sink } => {
                let names: Vec<String> = match sink {
                    Some(s) => vec![s.clone()],
                    None => cfg.notify.sinks.iter().map(|s| s.name.clone()).collect(),
                };
                if names.is_empty() {
                    return Err(usage(
                        "no notification sink is configured ([[notify.sinks]])",
                    ));
                }
                let mut out = Vec::new();
                for name in names {
                    out.push(n.send_test(&name).await.map_err(|e| usage(e.message))?);
                }
                self.print_deliveries(&out);
                Ok(if out.iter().all(Delivery::sent) {
                    EXIT_OK
                } else {
                    EXIT_FAILED
                })
            }
            NotifyCmd::Log => {
                let log = n.history().await;
                self.print_deliveries(&log);
                Ok(EXIT_OK)
            }
        }
    }

    fn print_deliveries(&self, ds: &[Delivery]) {
        if self.cli.json {
            self.print_json(&json!({ "deliveries": ds }));
            return;
        }
        if ds.is_empty() {
            outln!("no notifications yet");
        }
        for d in ds {
            let what = match &d.outcome {
                DeliveryOutcome::Sent => self.out.green("sent"),
                DeliveryOutcome::Suppressed { until_ms } => {
                    format!("suppressed until {}", output::rfc3339(*until_ms))
                }
                DeliveryOutcome::Failed { error } => self
                    .out
                    .red(&format!("failed: {}: {}", error.class, error.message)),
            };
            outln!(
                "{}  {:<12} {:<16} {:<12} {}",
                output::rfc3339(d.at_ms),
                d.sink,
                d.event.as_str(),
                d.site.as_deref().unwrap_or("-"),
                what
            );
        }
    }

    /// Notify about finished runs (failures, items held for review, an unreachable site).
    /// Never fails the command: delivery failures are warnings and log entries.
    pub(super) async fn notify_runs(
        &self,
        cfg: &Config,
        store: &Rc<FileStore>,
        runs: &[(String, RunRecord)],
    ) {
        if cfg.notify.sinks.is_empty() {
            return;
        }
        let events: Vec<NotifyEvent> = runs
            .iter()
            .filter(|(_, r)| r.head.mode != RunMode::DryRun)
            .flat_map(|(name, r)| events_of_run(name, r))
            .collect();
        self.send_events(cfg, store, &events).await;
    }

    pub(super) async fn send_events(
        &self,
        cfg: &Config,
        store: &Rc<FileStore>,
        events: &[NotifyEvent],
    ) -> Vec<Delivery> {
        if cfg.notify.sinks.is_empty() || events.is_empty() {
            return Vec::new();
        }
        let n = match self.notifier(cfg, store.clone()) {
            Ok(n) => n,
            Err(Fail(_, m)) => {
                self.warn(&format!("notifications not sent: {m}"));
                return Vec::new();
            }
        };
        let mut all = Vec::new();
        for e in events {
            for d in n.notify(e).await {
                match &d.outcome {
                    DeliveryOutcome::Failed { error } => self.warn(&format!(
                        "notification to {} failed ({}): {}",
                        d.sink, error.class, error.message
                    )),
                    DeliveryOutcome::Sent => {
                        self.debug(&format!("notified {} of {}", d.sink, d.event))
                    }
                    DeliveryOutcome::Suppressed { .. } => self.debug(&format!(
                        "{} of {} not sent again (suppressed)",
                        d.event, d.sink
                    )),
                }
                all.push(d);
            }
        }
        all
    }
}

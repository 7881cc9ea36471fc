//! `msync sync` and `msync plan` (a dry run): sync the channels' model lists, asking first on a terminal.

use super::*;

impl App {
    pub(super) async fn sync(&self, args: &SyncArgs) -> Res<i32> {
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
            let mut settings = sc.settings.clone();
            settings.probe.enabled |= args.probe; // issue 21
            let engine = self.engine_with(sc, store.clone(), settings)?;
            let name = sc.site.name.clone();
            if engine.settings().probe.enabled {
                let test = engine.gateway().capabilities().channel_test;
                match probe::cost_note(test) {
                    Some(note) => self.info(&format!("{name}: probing new models; {note}")),
                    None => self.info(&format!(
                        "{name}: {} has no channel test: new models are added without a probe and shown as \"could not probe\" (docs/probe.md)",
                        sc.site.kind.label()
                    )),
                }
            }
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
                self.print_json(&json::Runs::<json::RecordJson> { runs: Vec::new() });
            }
            return Ok(EXIT_OK);
        }
        self.notify_runs(&cfg, &store, &runs).await; // issue 19
        Ok(self.finish_runs(&runs))
    }
}

//! `msync apply RUN`: apply the plan a dry run stored, after re-reading each channel.

use super::*;

impl App {
    pub(super) async fn apply(
        &self,
        run: &str,
        channels: Option<&[String]>,
        force: bool,
    ) -> Res<i32> {
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
}

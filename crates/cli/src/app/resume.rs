//! `msync resume`: continue a run that was interrupted.

use super::*;

impl App {
    pub(super) async fn resume(&self, site: Option<&str>) -> Res<i32> {
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
                self.print_json(&json::Runs::<json::RecordJson> { runs: Vec::new() });
            }
            return Ok(EXIT_OK);
        }
        self.notify_runs(&cfg, &store, &runs).await; // issue 19
        Ok(self.finish_runs(&runs))
    }
}

//! `msync revert RUN`: restore the snapshots a run took.

use super::*;

impl App {
    pub(super) async fn revert(&self, run: &str, channel: Option<&str>, force: bool) -> Res<i32> {
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
}

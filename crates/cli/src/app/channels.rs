//! `msync channels`: a site's channels with their model counts and mappings.

use super::*;

impl App {
    pub(super) async fn channels(&self, site: Option<&str>, sort: probe::ChannelSort) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        let store = self.store()?;
        let mut docs = Vec::new();
        for sc in sites {
            let engine = self.engine(sc, store.clone())?;
            let mut chans = interruptible(&sc.site.name, engine.gateway().list_channels())
                .await?
                .map_err(|e| from_error(&sc.site.name, &e))?;
            // Issue 21: last good sync and failures in a row per channel.
            let health = probe::health_of(&store, &sc.site.id, &sc.site.name).await?;
            let h = |id: &ChannelId| health.get(&id.0).cloned().unwrap_or_default();
            match sort {
                probe::ChannelSort::Id => {}
                probe::ChannelSort::Name => chans.sort_by(|a, b| a.name.cmp(&b.name)),
                probe::ChannelSort::Failures => {
                    chans.sort_by_key(|c| std::cmp::Reverse(h(&c.id).failures_in_row))
                }
                probe::ChannelSort::LastGood => {
                    chans.sort_by_key(|c| h(&c.id).last_good_ms.unwrap_or(0))
                }
            }
            if self.cli.json {
                docs.push(json::SiteChannels {
                    site: sc.site.name.clone(),
                    channels: chans
                        .iter()
                        .map(|c| json::ChannelJson::from(c).with_health(&h(&c.id)))
                        .collect(),
                });
            } else {
                outln!(
                    "{} ({} channels)",
                    self.out.bold(&sc.site.name),
                    chans.len()
                );
                outln!(
                    "{}",
                    self.out.bold(&format!(
                        "  {:<8} {:<30} {:<8} {:<12} {:>6} {:>8}  {:<14} {:>8}",
                        "id",
                        "name",
                        "enabled",
                        "type",
                        "models",
                        "mappings",
                        "last good",
                        "failures"
                    ))
                );
                for c in &chans {
                    let mapping = match &c.mapping {
                        Mapping::Valid { pairs } => pairs.len().to_string(),
                        Mapping::Empty => "0".into(),
                        Mapping::Invalid { .. } => self.out.red("invalid"),
                        Mapping::Unsupported => "-".into(),
                    };
                    let hc = h(&c.id);
                    let fails = if hc.failures_in_row > 1 {
                        self.out.red(&hc.failures_in_row.to_string())
                    } else {
                        hc.failures_in_row.to_string()
                    };
                    outln!(
                        "  {:<8} {:<30} {:<8} {:<12} {:>6} {:>8}  {:<14} {:>8}",
                        c.id.0,
                        c.name.chars().take(30).collect::<String>(),
                        if c.enabled { "yes" } else { "no" },
                        c.channel_type.chars().take(12).collect::<String>(),
                        c.models.len(),
                        mapping,
                        probe::ago(hc.last_good_ms),
                        fails
                    );
                }
            }
        }
        if self.cli.json {
            self.print_json(&json::Sites { sites: docs });
        }
        Ok(EXIT_OK)
    }
}

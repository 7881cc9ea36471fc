//! `msync channels`: a site's channels with their model counts and mappings.

use super::*;

impl App {
    pub(super) async fn channels(&self, site: Option<&str>) -> Res<i32> {
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
                docs.push(json::SiteChannels {
                    site: sc.site.name.clone(),
                    channels: chans.iter().map(json::ChannelJson::from).collect(),
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
            self.print_json(&json::Sites { sites: docs });
        }
        Ok(EXIT_OK)
    }
}

//! `msync sites test`: each site's connection, rights, version and channel count.

use super::*;

impl App {
    pub(super) async fn sites_test(&self, site: Option<&str>) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        let store = self.store()?;
        let mut code = EXIT_OK;
        let mut docs = Vec::new();
        for sc in sites {
            let engine = self.engine(sc, store.clone())?;
            let res = interruptible(&sc.site.name, engine.gateway().test_connection()).await?;
            let mut doc = json::SiteTest {
                site: sc.site.name.clone(),
                kind: sc.site.kind.as_str().to_string(),
                base_url: sc.site.api_base().to_string(),
                ok: false,
                report: None,
                error: None,
            };
            match res {
                Ok(r) => {
                    let ok = r.reachable && r.authenticated && r.admin;
                    if !ok {
                        code = code.max(EXIT_UNREACHABLE);
                    }
                    doc.ok = ok;
                    if !self.cli.json {
                        let mark = if ok {
                            self.out.green("ok")
                        } else {
                            self.out.red("FAILED")
                        };
                        outln!(
                            "{} {} ({})  {}",
                            mark,
                            self.out.bold(&sc.site.name),
                            sc.site.kind.label(),
                            sc.site.api_base()
                        );
                        outln!(
                            "    reachable {} · authenticated {} · admin {} · root {} · {} channels · {} ms",
                            yes_no(r.reachable),
                            yes_no(r.authenticated),
                            yes_no(r.admin),
                            r.root.map(yes_no).unwrap_or("unknown"),
                            r.channel_count.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
                            r.round_trip_ms
                        );
                        if let Some(v) = r.version.as_deref().or(r.flavour_hint.as_deref()) {
                            outln!("    version {v}");
                        }
                    }
                    doc.report = Some(r);
                }
                Err(e) => {
                    code = code.max(code_for(&e).max(EXIT_FAILED));
                    doc.error = Some(json::ErrorJson::from(&e));
                    if !self.cli.json {
                        outln!(
                            "{} {} ({})  {}",
                            self.out.red("FAILED"),
                            self.out.bold(&sc.site.name),
                            sc.site.kind.label(),
                            sc.site.api_base()
                        );
                        outln!("    {}: {}", e.class, e.text());
                    }
                }
            }
            docs.push(doc);
        }
        if self.cli.json {
            self.print_json(&json::Sites { sites: docs });
        }
        Ok(code)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

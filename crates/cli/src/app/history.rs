//! `msync history`: stored runs, one run's items, search, export.

use super::*;

impl App {
    pub(super) async fn history(&self, args: &HistoryArgs) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, args.site.as_deref(), false)?;
        let store = self.store()?;
        let query = ItemQuery {
            statuses: args.status.iter().map(|s| s.status()).collect(),
            text: args.search.clone(),
        };
        let filtering = !query.statuses.is_empty() || query.text.is_some();
        let hist = |sc: &SiteConfig| History::new(&*store, SiteId(sc.site.id.0.clone()));
        let err = |sc: &SiteConfig, e: Error| from_error(&sc.site.name, &e);

        // One run: detail or export.
        let wanted = match (&args.run, args.export) {
            (Some(r), _) => Some(RunId(r.trim().to_string())),
            (None, Some(_)) => {
                // The newest run across the selected sites.
                let mut newest: Option<RunId> = None;
                for sc in &sites {
                    if let Some(id) = hist(sc).run_ids().await.map_err(|e| err(sc, e))?.pop() {
                        if newest.as_ref().is_none_or(|n| &id > n) {
                            newest = Some(id);
                        }
                    }
                }
                Some(newest.ok_or_else(|| usage("there is no run to export yet"))?)
            }
            (None, None) => None,
        };
        if let Some(run) = wanted {
            for sc in &sites {
                let Some(mut rec) = hist(sc).run(&run).await.map_err(|e| err(sc, e))? else {
                    continue;
                };
                rec.items.retain(|i| query.matches(i));
                match args.export {
                    // Exports are data: written as they are (JSON escapes controls itself).
                    Some(ExportFormat::Json) => {
                        let _ = writeln!(std::io::stdout(), "{}", export_json(&rec));
                    }
                    Some(ExportFormat::Csv) => {
                        let _ = write!(std::io::stdout(), "{}", export_csv(&rec));
                    }
                    None if self.cli.json => {
                        self.print_json(&json::RecordJson::new(&rec, &sc.site.name))
                    }
                    None => {
                        out!(
                            "{}",
                            output::render_record(&rec, &sc.site.name, self.out, true)
                        );
                        if filtering || self.cli.verbose > 0 {
                            let rows: Vec<(String, ItemResult)> = rec
                                .items
                                .iter()
                                .map(|i| (run.0.clone(), i.clone()))
                                .collect();
                            outln!("");
                            out!("{}", output::render_items(&rows, self.out));
                        }
                    }
                }
                return Ok(EXIT_OK);
            }
            return Err(usage(format!("run {run} is not in the history")));
        }

        if filtering {
            let mut rows = Vec::new();
            for sc in &sites {
                for (run, item) in hist(sc).search(&query).await.map_err(|e| err(sc, e))? {
                    rows.push((sc.site.name.clone(), run, item));
                }
            }
            rows.sort_by(|a, b| b.1.cmp(&a.1));
            if self.cli.json {
                let items = rows
                    .iter()
                    .map(|(site, run, i)| json::FoundItem {
                        item: json::ItemJson::from(i),
                        run: run.0.clone(),
                        site: site.clone(),
                    })
                    .collect();
                self.print_json(&json::Items { items });
            } else {
                let table: Vec<(String, ItemResult)> =
                    rows.into_iter().map(|(_, r, i)| (r.0, i)).collect();
                if table.is_empty() {
                    outln!("no matching channels");
                } else {
                    out!("{}", output::render_items(&table, self.out));
                }
            }
            return Ok(EXIT_OK);
        }

        let mut rows = Vec::new();
        for sc in &sites {
            for head in hist(sc).runs().await.map_err(|e| err(sc, e))? {
                rows.push((sc.site.name.clone(), head));
            }
        }
        rows.sort_by(|a, b| b.1.id.cmp(&a.1.id));
        if self.cli.json {
            let runs = rows.iter().map(|(s, h)| json::RunJson::new(h, s)).collect();
            self.print_json(&json::Runs { runs });
        } else if rows.is_empty() {
            outln!("no runs yet");
        } else {
            out!("{}", output::render_runs(&rows, self.out));
        }
        Ok(EXIT_OK)
    }
}

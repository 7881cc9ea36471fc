//! `msync redirect match | plan | apply`: model redirects.

use super::*;

impl App {
    pub(super) async fn redirect_plan(
        &self,
        site: Option<&str>,
        channels: Option<&[String]>,
    ) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        let store = self.store()?;
        let ids = channels.map(parse_ids).transpose()?;
        let mut docs = Vec::new();
        for sc in sites {
            let engine = self.engine(sc, store.clone())?;
            let name = sc.site.name.clone();
            let op = RedirectOp::Redirect {
                settings: sc.settings.redirect.clone(),
            };
            let preview = interruptible(&name, engine.preview_redirect(op, ids.as_deref(), false))
                .await?
                .map_err(|e| from_error(&name, &e))?;
            if self.cli.json {
                docs.push(json::PreviewJson {
                    preview,
                    site_name: name,
                });
                continue;
            }
            let t = &preview.totals;
            outln!(
                "{} redirect preview {}: {} to change, {} unchanged, {} blocked ({} keys set, {} removed)",
                self.out.bold(&name),
                preview.id,
                t.change,
                t.unchanged,
                t.blocked,
                t.keys_set,
                t.keys_removed
            );
            for c in &preview.channels {
                match &c.status {
                    PlanStatus::Change => {
                        outln!("  #{:<6} {}", c.channel_id.0, c.channel_name);
                        for ch in &c.changes {
                            let v = serde_json::to_value(ch).unwrap_or(Value::Null);
                            outln!("      {}", change_line(&v));
                        }
                    }
                    PlanStatus::Blocked { why, .. } => outln!(
                        "  #{:<6} {}  {} {}",
                        c.channel_id.0,
                        c.channel_name,
                        self.out.yellow("blocked:"),
                        why
                    ),
                    PlanStatus::Unchanged => {
                        if self.cli.verbose > 0 {
                            outln!("  #{:<6} {}  unchanged", c.channel_id.0, c.channel_name);
                        }
                    }
                }
                if self.cli.verbose > 0 {
                    for o in &c.outcomes {
                        outln!(
                            "      {:<28} {}",
                            o.standard,
                            self.out.dim(&o.outcome.describe())
                        );
                    }
                }
            }
            self.info(&format!(
                "nothing written; apply with `msync redirect apply --site {name} --preview {}`",
                preview.id
            ));
        }
        if self.cli.json {
            self.print_json(&json::Previews { previews: docs });
        }
        Ok(EXIT_OK)
    }

    pub(super) async fn redirect_apply(
        &self,
        site: Option<&str>,
        channels: Option<&[String]>,
        preview: Option<&str>,
        force: bool,
        overwrite_invalid: bool,
    ) -> Res<i32> {
        let cfg = self.load_config()?;
        let sites = self.sites(&cfg, site, true)?;
        if preview.is_some() && sites.len() > 1 {
            return Err(usage("--preview names one site's preview; add --site"));
        }
        let store = self.store()?;
        let ids = channels.map(parse_ids).transpose()?;
        let mut runs = Vec::new();
        for sc in sites {
            let _lock = self.lock_site(&store, sc)?;
            let engine = self.engine(sc, store.clone())?;
            let name = sc.site.name.clone();
            let opts = RedirectApplyOptions {
                channels: ids.clone(),
                confirm_overwrite_invalid: overwrite_invalid,
                confirm_clear: false,
                force,
            };
            let reporter = Reporter::new(self);
            let rec = match preview {
                Some(id) => {
                    interruptible(&name, engine.apply_stored_redirect(id, opts, &reporter)).await?
                }
                None => {
                    let op = RedirectOp::Redirect {
                        settings: sc.settings.redirect.clone(),
                    };
                    let p = interruptible(
                        &name,
                        engine.preview_redirect(op, ids.as_deref(), overwrite_invalid),
                    )
                    .await?
                    .map_err(|e| from_error(&name, &e))?;
                    if p.totals.change == 0 {
                        self.info(&format!("{name}: every mapping is already up to date"));
                        continue;
                    }
                    interruptible(&name, engine.apply_redirect(&p, opts, &reporter)).await?
                }
            };
            reporter.finish();
            runs.push((name.clone(), rec.map_err(|e| from_error(&name, &e))?));
        }
        if runs.is_empty() {
            if self.cli.json {
                self.print_json(&json::Runs::<json::RecordJson> { runs: Vec::new() });
            }
            return Ok(EXIT_OK);
        }
        Ok(self.finish_runs(&runs))
    }

    pub(super) fn redirect_match(
        &self,
        standard_file: &Path,
        models_file: &Path,
        no_dated: bool,
    ) -> Res<i32> {
        let standards = read_names(standard_file)?;
        let models = read_names(models_file)?;
        if standards.is_empty() {
            return Err(usage(format!(
                "{} lists no standard model",
                standard_file.display()
            )));
        }
        let matcher = Matcher::new(
            &standards,
            &[],
            MatchOptions {
                allow_dated_targets: !no_dated,
            },
        );
        let result = matcher.match_models(&models);
        if self.cli.json {
            let explanations = result
                .outcomes
                .iter()
                .map(|o| json::Explanation {
                    standard: o.standard.clone(),
                    outcome: Some(o.outcome.kind().to_string()),
                    target: o.outcome.target().map(str::to_string),
                    reason: o.outcome.describe(),
                })
                .collect();
            self.print_json(&json::MatchJson {
                mapping: result.mapping.iter().cloned().collect(),
                explanations,
            });
        } else {
            let width = result
                .outcomes
                .iter()
                .map(|o| o.standard.chars().count())
                .max()
                .unwrap_or(8)
                .clamp(8, 40);
            for o in &result.outcomes {
                let line = match o.outcome.target() {
                    Some(t) => format!(
                        "{:<width$} → {}   {}",
                        o.standard,
                        self.out.green(t),
                        self.out.dim(&o.outcome.describe())
                    ),
                    None => format!("{:<width$}   {}", o.standard, o.outcome.describe()),
                };
                outln!("{line}");
            }
            outln!(
                "\n{} of {} standard models mapped",
                result.mapping.len(),
                result.outcomes.len()
            );
        }
        Ok(EXIT_OK)
    }
}

/// One mapping change as text (`+ key → value`, `~ key: old → new`, `- key`).
fn change_line(v: &Value) -> String {
    let get = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    let key = get("key");
    match (
        v.get("old").and_then(Value::as_str),
        v.get("new").and_then(Value::as_str),
    ) {
        (None, Some(n)) => format!("+ {key} → {n}"),
        (Some(o), Some(n)) => format!("~ {key}: {o} → {n}"),
        (Some(o), None) => format!("- {key} (was {o})"),
        (None, None) => v.to_string(),
    }
}

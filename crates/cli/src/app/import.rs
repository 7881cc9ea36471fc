//! `msync import all-api-hub FILE [--out DIR | --stdout]`: an All API Hub export becomes an
//! `msync.toml` plus one secret file per site (mode 0600), or the TOML on stdout with environment
//! variables in place of the secrets. The mapping is [`msync_core::import::all_api_hub`]
//! (docs/import-all-api-hub.md); this module only words the preview and writes files.
//!
//! Nothing is written when the file is refused or a target file exists (unless `--force`); a
//! secret value is never printed.

use super::*;
use msync_core::filter::{FilterAction, Rule, RuleKind};
use msync_core::import::all_api_hub::{
    self as aah, describe_rule, CredentialField, ImportPreview, SitePlan,
};
use msync_core::settings::LimitScope;

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Turn an All API Hub export (its "Export all data" or "Export settings" JSON) into an
    /// msync.toml plus secret files; prints what it carries over and what it cannot.
    AllApiHub(AllApiHubArgs),
}

#[derive(Debug, Args)]
pub struct AllApiHubArgs {
    /// The All API Hub export (.json).
    pub file: PathBuf,
    /// Write msync.toml and the secret files (mode 0600) into this directory [default: .].
    #[arg(long, value_name = "DIR", conflicts_with = "stdout")]
    pub out: Option<PathBuf>,
    /// Print the TOML on stdout instead; secrets are replaced by environment variables to set.
    #[arg(long)]
    pub stdout: bool,
    /// Replace msync.toml and secret files that already exist in DIR.
    #[arg(long)]
    pub force: bool,
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", q.join(", "))
}

fn rule_toml(r: &Rule) -> String {
    let kind = match r.kind {
        RuleKind::Substring => "substring",
        RuleKind::Regex => "regex",
        RuleKind::Glob => "glob",
    };
    let action = match r.action {
        FilterAction::Include => "include",
        FilterAction::Exclude => "exclude",
    };
    let name = r
        .name
        .as_deref()
        .map(|n| format!("name = {}, ", quote(n)))
        .unwrap_or_default();
    format!(
        "{{ {name}kind = \"{kind}\", pattern = {}, action = \"{action}\", enabled = {} }}",
        quote(&r.pattern),
        r.enabled
    )
}

fn rules_toml(rules: &[Rule]) -> String {
    if rules.is_empty() {
        return "[]".into();
    }
    let lines: Vec<String> = rules
        .iter()
        .map(|r| format!("  {},", rule_toml(r)))
        .collect();
    format!("[\n{}\n]", lines.join("\n"))
}

/// `newapi.example.com` → `newapi.example.com` (file names), `NEWAPI_EXAMPLE_COM` (variables).
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '-' || c == '.').to_string();
    if s.is_empty() {
        "site".into()
    } else {
        s
    }
}

fn env_name(name: &str, what: &str) -> String {
    let s: String = slug(name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("MSYNC_{s}_{what}")
}

/// A secret the generated config refers to.
struct SecretOut {
    /// File name next to msync.toml (`--out`), or the variable to set (`--stdout`).
    target: String,
    value: String,
}

/// One cron line for "every N minutes", when cron can say it simply.
fn cron_for(minutes: u32) -> Option<String> {
    let h = minutes / 60;
    if !minutes.is_multiple_of(60) || h == 0 {
        return None;
    }
    if h == 24 {
        return Some("0 3 * * *".into());
    }
    24_u32.is_multiple_of(h).then(|| format!("0 */{h} * * *"))
}

/// The `[[sites]]` block of one plan; secrets become files or variables.
fn site_block(p: &SitePlan, to_files: bool, secrets: &mut Vec<SecretOut>) -> String {
    let s = &p.site;
    let c = s.credentials.fields();
    let mut t = format!(
        "# {} (All API Hub {})\n[[sites]]\nname = {}\ntype = \"{}\"\nbase_url = {}\n",
        s.kind.label(),
        if p.active {
            "— its active managed site"
        } else {
            "— one of its managed sites"
        },
        quote(&s.name),
        s.kind.as_str(),
        quote(&s.base_url)
    );
    let mut secret = |t: &mut String, what: &str, ext: &str, value: &str| {
        if value.is_empty() {
            let var = env_name(&s.name, &what.to_ascii_uppercase());
            t.push_str(&format!(
                "{what}_env = \"{var}\"   # not in the export: set this variable (or use {what}_file)\n"
            ));
        } else if to_files {
            let file = format!("{}.{ext}", slug(&s.name));
            t.push_str(&format!("{what}_file = {}\n", quote(&file)));
            secrets.push(SecretOut {
                target: file,
                value: value.to_string(),
            });
        } else {
            let var = env_name(&s.name, &what.to_ascii_uppercase());
            t.push_str(&format!(
                "{what}_env = \"{var}\"   # the {what} from All API Hub's settings\n"
            ));
            secrets.push(SecretOut {
                target: var,
                value: String::new(),
            });
        }
    };
    let need = msync_core::gateway::capabilities(s.kind).credentials;
    if need.uses_user_id() {
        match c.user_id {
            Some(id) => t.push_str(&format!("user_id = {id}\n")),
            None => t.push_str(
                "# user_id = ?   not in the export: the id of the admin user the token belongs to\n",
            ),
        }
    }
    if need.uses_token() {
        secret(&mut t, "token", "token", c.token.expose());
    }
    if let Some(field) = need.login_field() {
        let key = if field == CredentialField::Email {
            "email"
        } else {
            "username"
        };
        match &c.username {
            Some(u) => t.push_str(&format!("{key} = {}\n", quote(u))),
            None => t.push_str(&format!("# {key} = ?   not in the export\n")),
        }
        secret(&mut t, "password", "password", c.password.expose());
    }
    let g = &p.settings;
    if g.auto_sync.enabled {
        let every = aah::SettingValue::Minutes(g.auto_sync.interval_minutes);
        t.push_str(&format!(
            "# All API Hub synced this site automatically every {every}; msync's CLI has no scheduler: use cron, e.g.\n"
        ));
        match cron_for(g.auto_sync.interval_minutes) {
            Some(cron) => t.push_str(&format!(
                "#   {cron}  cd /etc/msync && msync sync --site {} --yes\n",
                quote(&s.name)
            )),
            None => t.push_str("#   (pick a cron schedule close to that interval)\n"),
        }
    }
    t.push_str("[sites.sync]\n");
    t.push_str(&format!(
        "requests_per_minute = {}\nburst = {}\nscope = \"{}\"\nconcurrency = {}\nmax_retries = {}\nchannel_timeout_secs = {}\n",
        g.rate.rpm,
        g.rate.burst,
        match g.rate.scope {
            LimitScope::Global => "global",
            LimitScope::PerHost => "per-host",
        },
        g.concurrency,
        g.retry.max_retries,
        g.channel_timeout_secs
    ));
    t.push_str(&format!("allow_list = {}\n", list(&g.allow_list)));
    t.push_str(&format!("rules = {}\n", rules_toml(&g.rules)));
    for (id, ch) in &g.channels {
        if !ch.rules.is_empty() {
            t.push_str(&format!(
                "[sites.sync.channels.{}]\nrules = {}\n",
                quote(id),
                rules_toml(&ch.rules)
            ));
        }
    }
    let r = &g.redirect;
    t.push_str(&format!(
        "[sites.sync.redirect]\nenabled = {}\npresets = {}\nstandard_models = {}\nprune_missing_targets = {}\n\n",
        r.enabled,
        list(&r.presets),
        list(&r.standard_models),
        r.prune_missing_targets
    ));
    t
}

/// The whole msync.toml and the secrets it refers to.
fn render(preview: &ImportPreview, to_files: bool) -> (String, Vec<SecretOut>) {
    let mut secrets = Vec::new();
    let mut t = String::from(
        "# msync.toml imported from an All API Hub export by `msync import all-api-hub`.\n\
         # What was carried over and what was not: docs/import-all-api-hub.md.\n\
         # Keep this file and every secret file chmod 600.\n\n",
    );
    for p in &preview.sites {
        t.push_str(&site_block(p, to_files, &mut secrets));
    }
    (t, secrets)
}

impl App {
    fn print_preview(&self, p: &ImportPreview) {
        self.info(&format!(
            "All API Hub backup {} (preferences version {})",
            p.backup_version,
            p.preferences_version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "?".into())
        ));
        for s in &p.sites {
            let active = if s.active {
                "  (active in All API Hub)"
            } else {
                ""
            };
            self.info(&format!(
                "\n+ {}  {}  {}{active}",
                s.site.kind.as_str(),
                s.site.name,
                s.site.base_url
            ));
            for c in &s.changes {
                let value = match &c.new {
                    aah::SettingValue::Rules(r) if !r.is_empty() => {
                        let parts: Vec<String> = r.iter().map(describe_rule).collect();
                        parts.join("; ")
                    }
                    v => v.to_string(),
                };
                self.info(&format!("    {}: {value}", c.key));
            }
            for w in &s.warnings {
                self.warn(&format!("{}: {w}", s.site.name));
            }
        }
        for w in &p.warnings {
            self.warn(&w.to_string());
        }
        if !p.ignored.is_empty() {
            let what: Vec<String> = p.ignored.iter().map(ToString::to_string).collect();
            self.info(&format!(
                "\nnot imported (no msync equivalent): {}",
                what.join(", ")
            ));
        }
    }

    pub(super) fn import(&self, cmd: &ImportCmd) -> Res<i32> {
        let ImportCmd::AllApiHub(args) = cmd;
        let path = &args.file;
        let meta =
            std::fs::metadata(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        if meta.len() > aah::MAX_FILE_BYTES {
            return Err(usage(format!(
                "{}: {}",
                path.display(),
                aah::ImportError::TooLarge {
                    bytes: meta.len(),
                    max: aah::MAX_FILE_BYTES
                }
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            usage(format!(
                "{}: not a text file; choose the .json file All API Hub exported. Nothing was imported",
                path.display()
            ))
        })?;
        let preview =
            aah::preview(&text, &[]).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        self.print_preview(&preview);
        let missing: Vec<String> = preview
            .sites
            .iter()
            .filter(|s| !s.missing.is_empty())
            .map(|s| {
                let f: Vec<String> = s.missing.iter().map(CredentialField::to_string).collect();
                format!("{} ({})", s.site.name, f.join(", "))
            })
            .collect();
        if !missing.is_empty() {
            self.warn(&format!(
                "credentials not in the export, to fill in before `msync sites test`: {}",
                missing.join("; ")
            ));
        }

        if args.stdout {
            let (toml, secrets) = render(&preview, false);
            out!("{toml}");
            let vars: Vec<&str> = secrets.iter().map(|s| s.target.as_str()).collect();
            if !vars.is_empty() {
                self.info(&format!(
                    "\nset {} to the secrets shown in All API Hub's settings (they are not printed)",
                    vars.join(", ")
                ));
            }
            return Ok(EXIT_OK);
        }

        let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&dir).map_err(|e| usage(format!("{}: {e}", dir.display())))?;
        let (toml, secrets) = render(&preview, true);
        let config_path = dir.join("msync.toml");
        let mut targets: Vec<PathBuf> = secrets.iter().map(|s| dir.join(&s.target)).collect();
        targets.push(config_path.clone());
        if !args.force {
            if let Some(p) = targets.iter().find(|p| p.exists()) {
                return Err(usage(format!(
                    "{} already exists: choose another --out DIR or add --force to replace it. Nothing was written",
                    p.display()
                )));
            }
        }
        for s in &secrets {
            write_private(&dir.join(&s.target), &format!("{}\n", s.value))?;
        }
        write_private(&config_path, &toml)?;
        // What we wrote must load: a mistake here is ours, not the user's.
        if let Err(e) = config::load(&config_path) {
            return Err(Fail(
                EXIT_FAILED,
                format!("the generated {} does not load: {e}", config_path.display()),
            ));
        }
        if self.cli.json {
            self.print_json(&json!({
                "config": config_path.display().to_string(),
                "secret_files": secrets.iter().map(|s| dir.join(&s.target).display().to_string()).collect::<Vec<_>>(),
                "preview": preview.redacted(),
            }));
        }
        self.info(&format!(
            "\nwrote {} and {} secret file(s) (mode 0600); check it with: msync --config {} sites test",
            config_path.display(),
            secrets.len(),
            config_path.display()
        ));
        Ok(EXIT_OK)
    }
}

/// Write a file readable by its owner only: created with mode 0600, through a temporary name so
/// a failure leaves no half-written file.
fn write_private(path: &Path, text: &str) -> Res<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".msync-tmp");
    let tmp = PathBuf::from(tmp);
    let fail = |e: std::io::Error| Fail(EXIT_FAILED, format!("{}: {e}", path.display()));
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp).map_err(fail)?;
        f.write_all(text.as_bytes()).map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

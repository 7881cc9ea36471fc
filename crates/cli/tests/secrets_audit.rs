//! Secrets audit of the CLI: sites with recognisable secrets against every mockgw flavour,
//! every feature run (sites test, channels, dry run + apply, sync with failures injected — some
//! of them echoing the secret back —, `--failed`, redirect plan/apply, revert, history, exports),
//! each plain, with `--json` and with `-vv`. Then everything the CLI printed and every file it
//! wrote in its state directory is scanned for the secrets: the configured token/password, the
//! session tokens the gateways issued at run time, and the channels' upstream keys.

mod support;

use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, MockGateway, MockHandle, Op};
use serde_json::Value;
use support::{all_text, run_msync, write_private, Out, FAST};

const TOKEN: &str = "SECRET-TOKEN-9f8e7d";
const PASSWORD: &str = "SECRET-PASS-1a2b3c";

struct Audit {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    state: std::path::PathBuf,
    /// Every stdout and stderr, labelled by command.
    printed: Vec<(String, String)>,
}

impl Audit {
    fn run(&mut self, args: &[&str]) -> Out {
        let mut all = vec![
            "--config".to_string(),
            self.config.display().to_string(),
            "--state-dir".to_string(),
            self.state.display().to_string(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        let out = run_msync(&all, &[("MSYNC_AUDIT_TOKEN", TOKEN)]);
        let label = args.join(" ");
        self.printed
            .push((format!("{label} (stdout)"), out.stdout.clone()));
        self.printed
            .push((format!("{label} (stderr)"), out.stderr.clone()));
        out
    }

    /// Run a command three ways: plain, `--json`, `-vv`; the JSON one is returned.
    fn run_all_ways(&mut self, args: &[&str]) -> Out {
        self.run(args);
        let mut vv = vec!["-vv"];
        vv.extend_from_slice(args);
        self.run(&vv);
        let mut json = vec!["--json"];
        json.extend_from_slice(args);
        self.run(&json)
    }
}

fn mock(flavor: Flavor) -> MockHandle {
    let mut cfg = MockConfig::new(flavor).channels(6);
    cfg.token = TOKEN.into();
    cfg.password = PASSWORD.into();
    MockGateway::start(cfg).unwrap()
}

/// Credentials in each way the config allows: plain value (warned), env var, file.
fn credentials(flavor: Flavor, mock: &MockHandle, how: usize) -> String {
    let cfg = mock.config();
    let (what, value, who) = match flavor {
        Flavor::NewApi | Flavor::Veloera => {
            ("token", TOKEN, format!("user_id = {}\n", cfg.user_id))
        }
        Flavor::DoneHub => ("token", TOKEN, String::new()),
        Flavor::Octopus => (
            "password",
            PASSWORD,
            format!("username = \"{}\"\n", cfg.username),
        ),
        Flavor::Axonhub => ("password", PASSWORD, format!("email = \"{}\"\n", cfg.email)),
    };
    match (how % 3, what) {
        (0, _) => format!("{who}{what} = \"{value}\"\n"),
        (1, "token") => format!("{who}token_env = \"MSYNC_AUDIT_TOKEN\"\n"),
        _ => format!("{who}{what}_file = \"secret-{what}\"\n"),
    }
}

fn site_block(name: &str, flavor: Flavor, mock: &MockHandle, creds: &str) -> String {
    format!(
        "[[sites]]\nname = \"{name}\"\ntype = \"{}\"\nbase_url = \"{}/\"\nrequest_timeout_secs = 2\n{creds}",
        flavor.as_str(),
        mock.base_url()
    )
}

/// Strings in the mock's channels that look like upstream keys.
fn channel_keys(mock: &MockHandle) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.starts_with("sk-") && s.len() >= 16 => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for c in mock.channels() {
        walk(&c, &mut out);
    }
    out
}

/// Bearer/session tokens the CLI sent (learnt at run time for Octopus and AxonHub).
fn sent_tokens(mock: &MockHandle) -> Vec<String> {
    let mut out = Vec::new();
    for r in mock.requests() {
        for (k, v) in &r.headers {
            if k == "authorization" || k == "x-api-key" {
                let t = v.trim_start_matches("Bearer ").trim();
                if t.len() >= 12 && !out.iter().any(|o| o == t) {
                    out.push(t.to_string());
                }
            }
        }
    }
    out
}

fn id_of(out: &Out) -> Option<String> {
    let doc: Value = serde_json::from_str(&out.stdout).ok()?;
    doc["run"]["id"].as_str().map(str::to_string)
}

fn audit_flavour(flavor: Flavor, how: usize) {
    let label = format!("{} (credentials way {})", flavor.as_str(), how % 3);
    let main = mock(flavor);
    // A second site of the same flavour that refuses the credentials.
    let refusing = {
        let mut cfg = MockConfig::new(flavor).channels(2);
        cfg.token = "other-token-abcdef".into();
        cfg.password = "other-password-abcdef".into();
        MockGateway::start(cfg).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    write_private(&dir.path().join("secret-token"), &format!("{TOKEN}\n"));
    write_private(
        &dir.path().join("secret-password"),
        &format!("{PASSWORD}\n"),
    );
    let redirect = "[sync.redirect]\npresets = [\"openai\", \"anthropic\"]\nstandard_models = [\"gpt-4o-mini\"]\n";
    let text = format!(
        "{}\n{}\n[sync]\n{FAST}\n{redirect}",
        site_block("main", flavor, &main, &credentials(flavor, &main, how)),
        site_block(
            "refusing",
            flavor,
            &refusing,
            &credentials(flavor, &refusing, how + 1)
        ),
    );
    let config = dir.path().join("msync.toml");
    std::fs::write(&config, text).unwrap();
    let state = dir.path().join("state");
    let mut a = Audit {
        dir,
        config,
        state,
        printed: Vec::new(),
    };

    // Failures, some of them echoing the site's secret back in the gateway's message.
    let own = match flavor {
        Flavor::Octopus | Flavor::Axonhub => PASSWORD,
        _ => TOKEN,
    };
    let echo = format!("invalid credentials {own}");
    main.set_fault(
        FaultRule::new(FaultKind::BusinessError {
            message: echo.clone(),
        })
        .op(Op::FetchModels)
        .channel(1),
    );
    main.set_fault(
        FaultRule::new(FaultKind::Status {
            status: 500,
            retry_after: None,
            body: Some(format!(
                "{{\"success\":false,\"message\":\"{echo}\",\"error\":\"{echo}\"}}"
            )),
        })
        .op(Op::FetchModels)
        .channel(2),
    );
    main.set_fault(FaultRule::new(FaultKind::UpstreamStatus { status: 401 }).channel(3));
    main.set_fault(
        FaultRule::new(FaultKind::Status {
            status: 429,
            retry_after: Some(0),
            body: None,
        })
        .op(Op::ListChannels)
        .times(1),
    );

    a.run_all_ways(&["sites", "test"]);
    a.run_all_ways(&["channels", "--site", "main"]);
    a.run_all_ways(&["channels", "--site", "refusing"]);
    let plan = a.run_all_ways(&["plan", "--site", "main"]);
    let plan_id = id_of(&plan).unwrap_or_else(|| panic!("{label}: plan: {}", plan.stderr));
    a.run(&["--json", "-vv", "apply", &plan_id]);
    a.run(&["-vv", "sync", "--site", "main", "--yes"]);
    let sync = a.run(&["--json", "sync", "--site", "main", "--yes"]);
    a.run_all_ways(&["sync", "--site", "refusing", "--yes"]);
    main.clear_faults();
    a.run_all_ways(&["sync", "--site", "main", "--failed", "--yes"]);
    if flavor != Flavor::Octopus {
        let plan = a.run_all_ways(&["redirect", "plan", "--site", "main"]);
        let doc: Value = serde_json::from_str(&plan.stdout).unwrap_or(Value::Null);
        let preview = doc["previews"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{label}: redirect plan: {}", plan.stdout))
            .to_string();
        let applied = a.run(&[
            "--json",
            "-vv",
            "redirect",
            "apply",
            "--site",
            "main",
            "--preview",
            &preview,
        ]);
        assert_eq!(
            applied.code, 0,
            "{label}: redirect apply: {}",
            applied.stderr
        );
    } else {
        a.run_all_ways(&["redirect", "plan", "--site", "main"]);
    }
    let id = id_of(&sync).unwrap_or_else(|| panic!("{label}: sync: {}", sync.stderr));
    {
        a.run_all_ways(&["revert", &id]);
        a.run_all_ways(&["history", "--run", &id]);
        a.run(&["history", "--run", &id, "--export", "json"]);
        a.run(&["history", "--run", &id, "--export", "csv"]);
    }
    a.run_all_ways(&["history"]);
    a.run_all_ways(&["history", "--status", "failed"]);
    a.run(&["history", "--export", "json"]);
    a.run(&["history", "--export", "csv"]);

    // The runs really did fail where faults were injected (the audit covers error paths).
    let errors: String = a
        .printed
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        errors.contains("failed") || errors.contains("error"),
        "{label}: no failure was reported at all"
    );
    assert!(
        a.state.is_dir() && !all_text(&a.state).is_empty(),
        "{label}: nothing in the state dir"
    );

    let mut secrets = vec![TOKEN.to_string(), PASSWORD.to_string()];
    secrets.extend(channel_keys(&main));
    secrets.extend(sent_tokens(&main));
    secrets.extend(sent_tokens(&refusing));
    // The configured secret really was sent (else the audit proves nothing).
    let sent: String = main
        .requests()
        .iter()
        .flat_map(|r| {
            r.headers
                .iter()
                .map(|(_, v)| v.clone())
                .chain([r.body.clone()])
        })
        .collect();
    assert!(
        sent.contains(TOKEN) || sent.contains(PASSWORD),
        "{label}: the secret was never sent"
    );

    for s in &secrets {
        for (what, text) in &a.printed {
            assert!(
                !text.contains(s.as_str()),
                "{label}: a secret ({}…) in the output of `{what}`:\n{text}",
                &s[..6]
            );
        }
        let stored = all_files(&a.state);
        for (path, text) in &stored {
            assert!(
                !text.contains(s.as_str()),
                "{label}: a secret ({}…) in {}",
                &s[..6],
                path.display()
            );
        }
    }
    drop(a.dir);
}

fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(all_files(&p));
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

#[test]
fn new_api_leaks_no_secret() {
    audit_flavour(Flavor::NewApi, 0);
    audit_flavour(Flavor::NewApi, 1);
}

#[test]
fn veloera_leaks_no_secret() {
    audit_flavour(Flavor::Veloera, 2);
}

#[test]
fn done_hub_leaks_no_secret() {
    audit_flavour(Flavor::DoneHub, 0);
}

#[test]
fn octopus_leaks_no_secret() {
    audit_flavour(Flavor::Octopus, 0);
    audit_flavour(Flavor::Octopus, 2);
}

#[test]
fn axonhub_leaks_no_secret() {
    audit_flavour(Flavor::Axonhub, 2);
}

/// Fuzzer finding (cli_config): a malformed table header holding a value made the error's key
/// the raw line, secret included (`…: [[sites token = ["sk-…"]: unclosed array table`).
#[test]
fn config_errors_never_echo_a_value_from_a_malformed_line() {
    let path = std::path::Path::new("/nowhere/msync.toml");
    let cases = [
        format!("[[sites token = [\"{TOKEN}\"]\n"),
        format!("[[o\u{fffd} c\u{fffd}n = [\"{TOKEN}\"w\nuser_id \"SECRET\"\n"),
        format!("[sync\nburst = \"{TOKEN}\"\n"),
        format!("[[sites]]\nname = \"a\"\ntoken \"{TOKEN}\" = 1\n"),
        format!("[[sites]]\ntoken = \"{TOKEN}\" junk\n"),
    ];
    for text in cases {
        let errors = msync_cli::config::parse(path, &text).expect_err("malformed");
        for e in &errors.0 {
            let shown = e.to_string();
            assert!(!shown.contains(TOKEN), "{shown}\nfrom:\n{text}");
            assert!(e.line.is_some(), "{shown}");
        }
    }
    // Well-formed keys are still named.
    let errors = msync_cli::config::parse(path, "[sync]\nburstt = 1\n").expect_err("unknown key");
    assert_eq!(errors.0[0].key.as_deref(), Some("sync.burstt"), "{errors}");
}

/// `s` percent-encoded (space as `%20`, or as `+` in a form body).
fn percent(s: &str, plus: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' if plus => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn encoded_echoes_of_the_password_never_reach_output_or_state() {
    let password = "Pw&<>+/ x-9'\"q";
    let mut cfg = MockConfig::new(Flavor::Octopus).channels(3);
    cfg.password = password.into();
    let mock = MockGateway::start(cfg).unwrap();
    let user = mock.config().username.clone();
    let html = password
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let forms = [
        percent(password, false),
        percent(password, true),
        html,
        msync_core::redact::base64(format!("{user}:{password}").as_bytes()),
        password.to_string(),
    ];
    let echo = format!(
        "upstream refused ({}) ({}) ({}) (Basic {}) ({})",
        forms[0], forms[1], forms[2], forms[3], forms[4]
    );
    mock.set_fault(
        FaultRule::new(FaultKind::BusinessError { message: echo })
            .op(Op::FetchModels)
            .channel(1),
    );
    let dir = tempfile::tempdir().unwrap();
    write_private(
        &dir.path().join("secret-password"),
        &format!("{password}\n"),
    );
    let config = dir.path().join("msync.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[sync]\n{FAST}",
            site_block(
                "main",
                Flavor::Octopus,
                &mock,
                &format!("username = \"{user}\"\npassword_file = \"secret-password\"\n")
            )
        ),
    )
    .unwrap();
    let state = dir.path().join("state");
    let mut a = Audit {
        dir,
        config,
        state,
        printed: Vec::new(),
    };
    let out = a.run(&["--json", "sync", "--yes"]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let failed: Vec<&Value> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", out.stdout);
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("upstream refused ([REDACTED])"),
        "{}",
        failed[0]
    );
    a.run(&["-vv", "sync", "--yes"]);
    a.run(&["history", "--status", "failed"]);
    a.run(&["history", "--export", "csv"]);
    for form in &forms {
        for (what, text) in &a.printed {
            assert!(
                !text.contains(form.as_str()),
                "{form:?} in `{what}`:\n{text}"
            );
        }
        for (path, text) in all_files(&a.state) {
            assert!(
                !text.contains(form.as_str()),
                "{form:?} in {}",
                path.display()
            );
        }
    }
}

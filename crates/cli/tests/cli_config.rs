//! Bad configurations, bad credentials, secrets and offline commands, through the real binary.

mod support;

use msync_mockgw::{Flavor, MockConfig};
use support::*;

/// A config whose site block is valid; `extra` is appended.
fn base(env: &Env, extra: &str) -> String {
    format!("{}{extra}", site_toml(&env.mock, "it", "secret"))
}

#[test]
fn bad_configs_name_file_line_and_key() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    // (appended text, the line the error must name, the key, a fragment of the message)
    let site_lines = base(&env, "").lines().count();
    let rows: Vec<(String, usize, &str, &str)> = vec![
        (
            "[sync]\nburstt = 3\n".into(),
            site_lines + 2,
            "sync.burstt",
            "unknown field",
        ),
        (
            "[sync]\nburst = \"five\"\n".into(),
            site_lines + 2,
            "sync.burst",
            "invalid type",
        ),
        (
            "[sync]\nburst = 0\n".into(),
            site_lines + 2,
            "sync.burst",
            "between 1 and 50",
        ),
        (
            "[sync]\nrequests_per_minute = 601\n".into(),
            site_lines + 2,
            "sync.requests_per_minute",
            "between 1 and 600",
        ),
        (
            "[sites.sync]\nconcurrency = 99\n".into(),
            site_lines + 2,
            "sites[0].sync.concurrency",
            "between 1 and 16",
        ),
        (
            "[sync]\nscope = \"planet\"\n".into(),
            site_lines + 2,
            "sync.scope",
            "unknown variant",
        ),
        (
            "[[sync.rules]]\npattern = \"gpt-(4\"\nkind = \"regex\"\n".into(),
            site_lines + 1,
            "sync.rules[0].pattern",
            "gpt-(4",
        ),
        (
            "colour = \"blue\"\n".into(),
            site_lines + 1,
            "sites[0].colour",
            "unknown field",
        ),
        (
            "[sync.channels.7]\nmode = \"sideways\"\n".into(),
            site_lines + 2,
            "sync.channels.7.mode",
            "unknown variant",
        ),
    ];
    for (extra, line, key, fragment) in rows {
        env.write_config(&base(&env, &extra));
        let out = env.run(&["sync"]);
        assert_eq!(out.code, 2, "{extra}: {}", out.stderr);
        let want = format!("{}:{line}: {key}: ", env.config.display());
        assert!(
            out.stderr.contains(&want),
            "{extra}\nwant {want}\ngot {}",
            out.stderr
        );
        assert!(out.stderr.contains(fragment), "{extra}: {}", out.stderr);
        assert!(
            env.mock.requests().is_empty(),
            "nothing is sent with a bad config"
        );
        // --json carries the same message.
        let out = env.run(&["--json", "sync"]);
        assert_eq!(out.json()["error"]["code"], 2);
    }
    // A value in the wrong place may be a secret: never echoed.
    env.write_config(&base(&env, "[sync]\nburst = \"sk-supersecret\"\n"));
    let out = env.run(&["sync"]);
    assert_eq!(out.code, 2);
    assert!(!out.stderr.contains("supersecret"), "{}", out.stderr);
    // No config at all.
    let out = run_msync(
        &[
            "--config".into(),
            env.dir.path().join("nope.toml").display().to_string(),
            "sync".into(),
        ],
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("nope.toml: cannot read the config file"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_and_misplaced_credentials_are_reported() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let url = env.mock.base_url();
    let rows: Vec<(String, &str, &str)> = vec![
        (
            format!("[[sites]]\nname = \"a\"\ntype = \"new-api\"\nbase_url = \"{url}\"\nuser_id = 1\ntoken_env = \"MSYNC_TEST_UNSET_VAR\"\n"),
            ":6: sites[0].token_env: ",
            "environment variable MSYNC_TEST_UNSET_VAR is not set",
        ),
        (
            format!("[[sites]]\nname = \"a\"\ntype = \"new-api\"\nbase_url = \"{url}\"\nuser_id = 1\n"),
            ":1: sites[0].token_env: ",
            "no token given",
        ),
        (
            format!("[[sites]]\nname = \"a\"\ntype = \"new-api\"\nbase_url = \"{url}\"\ntoken_file = \"secret\"\n"),
            ":1: sites[0].user_id: ",
            "needs user_id",
        ),
        (
            format!("[[sites]]\nname = \"a\"\ntype = \"octopus\"\nbase_url = \"{url}\"\nusername = \"admin\"\n"),
            ":1: sites[0].password_env: ",
            "no password given",
        ),
        (
            format!("[[sites]]\nname = \"a\"\ntype = \"done-hub\"\nbase_url = \"{url}\"\ntoken_file = \"missing-file\"\n"),
            ":5: sites[0].token_file: ",
            "cannot read",
        ),
        (
            format!("[[sites]]\nname = \"a\"\ntype = \"done-hub\"\nbase_url = \"{url}\"\ntoken_file = \"secret\"\npassword = \"x\"\n"),
            ":6: sites[0].password: ",
            "not used by DoneHub sites",
        ),
        (
            format!("[[sites]]\nname = \"a\"\ntype = \"gateway9000\"\nbase_url = \"{url}\"\n"),
            ":3: sites[0].type: ",
            "unknown site type",
        ),
        (
            "[[sites]]\nname = \"a\"\ntype = \"done-hub\"\nbase_url = \"ftp://x\"\ntoken_file = \"secret\"\n".to_string(),
            ":4: sites[0].base_url: ",
            "not an http(s) URL",
        ),
    ];
    for (text, at, fragment) in rows {
        env.write_config(&text);
        let out = env.run(&["sites", "test"]);
        assert_eq!(out.code, 2, "{text}: {}", out.stderr);
        assert!(out.stderr.contains(at), "{text}\nwant {at}\n{}", out.stderr);
        assert!(out.stderr.contains(fragment), "{text}: {}", out.stderr);
    }
    // History does not need credentials.
    env.write_config(&format!(
        "[[sites]]\nname = \"a\"\ntype = \"new-api\"\nbase_url = \"{url}\"\nuser_id = 1\ntoken_env = \"MSYNC_TEST_UNSET_VAR\"\n"
    ));
    let out = env.run(&["history"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn loose_secret_files_and_plain_tokens_are_warned_about() {
    let env = Env::new(MockConfig::new(Flavor::DoneHub).channels(3));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = env.dir.path().join("secret");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = env.run(&["sites", "test"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.contains("sites[0].token_file"), "{}", out.stderr);
        assert!(
            out.stderr.contains("readable by other users (mode 0644)"),
            "{}",
            out.stderr
        );
    }
    let url = env.mock.base_url();
    env.write_config(&format!(
        "[[sites]]\nname = \"a\"\ntype = \"done-hub\"\nbase_url = \"{url}\"\ntoken = \"{}\"\n",
        env.secret
    ));
    let out = env.run(&["--json", "sites", "test"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(":5: sites[0].token: the token is stored in plain text"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&env.secret) && !out.stdout.contains(&env.secret));
    let doc = out.json();
    assert_eq!(doc["sites"][0]["ok"], true);
    assert_eq!(doc["sites"][0]["report"]["authenticated"], true);
    assert_eq!(doc["sites"][0]["report"]["channel_count"], 3);
}

#[test]
fn bad_credentials_exit_3_for_every_flavour() {
    for cfg in [
        MockConfig::new(Flavor::NewApi),
        MockConfig::new(Flavor::Veloera),
        MockConfig::new(Flavor::DoneHub),
        MockConfig::new(Flavor::Octopus),
        MockConfig::new(Flavor::Axonhub),
    ] {
        let flavor = cfg.flavor;
        let env = Env::new(cfg.channels(3));
        write_private(&env.dir.path().join("secret"), "definitely-wrong\n");
        let out = env.run(&["--json", "sites", "test"]);
        assert_eq!(out.code, 3, "{flavor}: {}\n{}", out.stdout, out.stderr);
        let doc = out.json();
        assert_eq!(doc["sites"][0]["ok"], false, "{flavor}");

        let out = env.run(&["--json", "sync"]);
        assert_eq!(out.code, 3, "{flavor}: {}\n{}", out.stdout, out.stderr);
        let doc = out.json();
        assert_eq!(doc["run"]["state"], "failed", "{flavor}");
        assert_eq!(
            doc["run"]["error"]["class"], "auth",
            "{flavor}: {}",
            out.stdout
        );
        assert!(env.mock.write_counts().values().all(|w| *w == 0));
        assert!(
            !out.stdout.contains("definitely-wrong") && !out.stderr.contains("definitely-wrong")
        );
    }
}

#[test]
fn verbose_logging_never_shows_secrets() {
    for flavor in [Flavor::NewApi, Flavor::Octopus, Flavor::Axonhub] {
        let env = Env::new(MockConfig::new(flavor).channels(4));
        let out = env.run(&["-vv", "sync"]);
        assert!(out.code <= 1, "{flavor}: {}", out.stderr);
        assert!(
            out.stderr.contains("debug: GET") || out.stderr.contains("debug: POST"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("debug: state dir"), "{}", out.stderr);
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains(&env.secret),
                "{flavor}: secret printed:\n{text}"
            );
        }
        // The mock did receive it (so the test would see a leak).
        assert!(env
            .mock
            .requests()
            .iter()
            .any(|r| r.body.contains(&env.secret)
                || r.headers.iter().any(|(_, v)| v.contains(&env.secret))));
        assert!(!all_text(&env.state).contains(&env.secret));
    }
}

#[test]
fn state_files_are_private() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let out = env.run(&["sync"]);
    assert!(out.code <= 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fn walk(p: &std::path::Path, n: &mut usize) {
            for e in std::fs::read_dir(p).unwrap().flatten() {
                let mode = e.metadata().unwrap().permissions().mode() & 0o777;
                if e.path().is_dir() {
                    assert_eq!(mode, 0o700, "{}", e.path().display());
                    walk(&e.path(), n);
                } else {
                    assert_eq!(mode, 0o600, "{}", e.path().display());
                    *n += 1;
                }
            }
        }
        let mut n = 0;
        walk(&env.state, &mut n);
        assert!(n > 3, "history was stored ({n} files)");
    }
}

#[test]
fn unknown_site_and_usage_errors_exit_2() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(3));
    let out = env.run(&["sync", "--site", "nope"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no site named \"nope\""),
        "{}",
        out.stderr
    );
    let out = env.run(&["sync", "--failed", "--channels", "1"]);
    assert_eq!(out.code, 2, "clap usage error");
    let out = env.run(&["sync", "--failed"]);
    assert_eq!(out.code, 2, "no previous run: {}", out.stderr);
    let out = env.run(&["frobnicate"]);
    assert_eq!(out.code, 2);
}

#[test]
fn help_reads_well() {
    let out = run_msync(&["--help".into()], &[]);
    assert_eq!(out.code, 0);
    for word in [
        "sync",
        "plan",
        "apply",
        "revert",
        "history",
        "redirect",
        "Exit codes",
        "--json",
        "--state-dir",
    ] {
        assert!(out.stdout.contains(word), "{word}: {}", out.stdout);
    }
    for sub in [
        vec!["sync", "--help"],
        vec!["sites", "test", "--help"],
        vec!["history", "--help"],
        vec!["revert", "--help"],
        vec!["redirect", "match", "--help"],
    ] {
        let args: Vec<String> = sub.iter().map(|s| s.to_string()).collect();
        let out = run_msync(&args, &[]);
        assert_eq!(out.code, 0, "{sub:?}");
        assert!(
            out.stdout.contains("Usage: msync"),
            "{sub:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn redirect_match_is_offline_and_explains_every_standard_model() {
    let dir = tempfile::tempdir().unwrap();
    let std_file = dir.path().join("std.txt");
    let models_file = dir.path().join("models.txt");
    std::fs::write(
        &std_file,
        "# standard names\nclaude-sonnet-4-5\ngpt-4o-mini\ngpt-4o\nclaude-3-5-haiku\n\n",
    )
    .unwrap();
    std::fs::write(
        &models_file,
        "anthropic/claude-4.5-sonnet:free\ngpt-4.1-mini\ngpt-4o\nclaude-3-5-haiku-20241022\n",
    )
    .unwrap();
    let args = |json: bool| {
        let mut v: Vec<String> = vec![];
        if json {
            v.push("--json".into());
        }
        v.extend([
            "--config".into(),
            dir.path()
                .join("no-config-needed.toml")
                .display()
                .to_string(),
            "redirect".into(),
            "match".into(),
            "--standard-file".into(),
            std_file.display().to_string(),
            "--models-file".into(),
            models_file.display().to_string(),
        ]);
        v
    };
    let out = run_msync(&args(true), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(
        doc["mapping"]["claude-sonnet-4-5"],
        "anthropic/claude-4.5-sonnet:free"
    );
    assert_eq!(
        doc["mapping"]["claude-3-5-haiku"],
        "claude-3-5-haiku-20241022"
    );
    assert!(
        doc["mapping"].get("gpt-4o-mini").is_none(),
        "version guard: never gpt-4.1-mini"
    );
    assert!(doc["mapping"].get("gpt-4o").is_none(), "already present");
    let ex = doc["explanations"].as_array().unwrap();
    assert_eq!(ex.len(), 4);
    let by = |s: &str| ex.iter().find(|e| e["standard"] == s).unwrap().clone();
    assert_eq!(by("gpt-4o")["outcome"], "already_present");
    assert_eq!(by("gpt-4o-mini")["outcome"], "only_other_versions");
    assert!(by("gpt-4o-mini")["reason"]
        .as_str()
        .unwrap()
        .contains("gpt-4.1-mini"));
    assert_eq!(by("gpt-4o-mini")["target"], serde_json::Value::Null);
    assert_eq!(by("claude-3-5-haiku")["outcome"], "dated_fallback");
    assert!(by("claude-sonnet-4-5")["reason"]
        .as_str()
        .unwrap()
        .contains("same model and version"));

    let out = run_msync(&args(false), &[]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("claude-sonnet-4-5"), "{}", out.stdout);
    assert!(
        out.stdout.contains("2 of 4 standard models mapped"),
        "{}",
        out.stdout
    );

    let mut no_dated = args(true);
    no_dated.push("--no-dated".into());
    let doc = run_msync(&no_dated, &[]).json();
    assert!(doc["mapping"].get("claude-3-5-haiku").is_none());
}

/// Issue 20 item 10: an existing state directory that others can read is tightened to 0700,
/// and the user is told (it holds run history and snapshots of every channel).
#[cfg(unix)]
#[test]
fn an_open_state_directory_is_set_to_0700_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(2));
    std::fs::create_dir_all(&env.state).unwrap();
    std::fs::set_permissions(&env.state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env.run(&["history"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mode = std::fs::metadata(&env.state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(
        out.stderr.contains("0755") && out.stderr.contains("0700"),
        "{}",
        out.stderr
    );
    // Once tight, nothing more is said.
    let out = env.run(&["history"]);
    assert!(!out.stderr.contains("0700"), "{}", out.stderr);
}

/// Issue 20 item 10: with no HOME (and no XDG_DATA_HOME) the state goes to `./.msync`; msync
/// says so instead of scattering state directories silently.
#[cfg(unix)]
#[test]
fn without_home_the_state_fallback_is_announced() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(2));
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_msync"));
    cmd.args(["--config", &env.config.display().to_string(), "history"])
        .current_dir(cwd.path())
        .env_remove("HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("MSYNC_STATE_DIR")
        .env_remove("MSYNC_CONFIG")
        .env("NO_COLOR", "1");
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(cwd.path().join(".msync").is_dir());
    assert!(
        stderr.contains("./.msync") && stderr.contains("HOME"),
        "{stderr}"
    );
}

//! `msync import all-api-hub` through the real binary: the hand-built All API Hub export of
//! `tests/fixtures/all-api-hub/` pointed at three mock gateways; the generated config must load
//! and pass `msync sites test`, secrets go only to 0600 files, bad input writes nothing.

mod support;

use msync_mockgw::{Flavor, MockConfig, MockGateway, MockHandle};
use support::*;

const V4: &str = include_str!("../../../tests/fixtures/all-api-hub/v4-full.json");

/// The v4 fixture with its New API, Octopus and AxonHub sites pointed at mocks and their
/// credentials replaced by the mocks' ones.
fn fixture_for(newapi: &MockHandle, octopus: &MockHandle, axonhub: &MockHandle) -> String {
    // addresses everywhere (per-channel rules are scoped by the site's origin)
    let text = V4
        .replace("https://newapi.example.com", &newapi.base_url())
        .replace("https://octopus.example.com", &octopus.base_url())
        .replace("https://axonhub.example.com", &axonhub.base_url());
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = &mut v["preferences"];
    p["newApi"]["adminToken"] = newapi.token().into();
    p["newApi"]["userId"] = newapi.config().user_id.to_string().into();
    p["octopus"]["username"] = octopus.config().username.clone().into();
    p["octopus"]["password"] = octopus.config().password.clone().into();
    p["axonHub"]["email"] = axonhub.config().email.clone().into();
    p["axonHub"]["password"] = axonhub.config().password.clone().into();
    v.to_string()
}

fn run(args: &[&str]) -> Out {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    run_msync(&args, &[])
}

#[test]
fn imported_config_passes_sites_test_against_the_mocks() {
    let newapi = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(4)).unwrap();
    // distinctive passwords, so a leak is visible
    let mut oc = MockConfig::new(Flavor::Octopus).channels(2);
    oc.password = "octopus-mock-secret-7741".into();
    let octopus = MockGateway::start(oc).unwrap();
    let mut ac = MockConfig::new(Flavor::Axonhub).channels(2);
    ac.password = "axonhub-mock-secret-9913".into();
    let axonhub = MockGateway::start(ac).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("all-api-hub-backup-2026-12-04.json");
    std::fs::write(&export, fixture_for(&newapi, &octopus, &axonhub)).unwrap();
    let out_dir = dir.path().join("conf");
    let o = run(&[
        "import",
        "all-api-hub",
        export.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // the preview names what is not carried over
    assert!(
        o.stderr.contains("msync has no probe filters yet"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("Claude Code Hub"), "{}", o.stderr);
    let config = out_dir.join("msync.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    for secret in [
        newapi.token(),
        octopus.config().password.clone(),
        axonhub.config().password.clone(),
    ] {
        assert!(!text.contains(&secret), "a secret is in msync.toml");
        assert!(!o.stderr.contains(&secret) && !o.stdout.contains(&secret));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for e in std::fs::read_dir(&out_dir).unwrap().flatten() {
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", e.path().display());
        }
    }
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        4,
        "msync.toml + 3 secret files"
    );

    // the CLI's own loader takes it, with the imported settings
    let cfg = msync_cli::config::load(&config).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(cfg.sites.len(), 3);
    let n = &cfg.sites[0];
    assert_eq!(n.site.base_url, newapi.base_url());
    assert_eq!(
        (
            n.settings.rate.rpm,
            n.settings.rate.burst,
            n.settings.concurrency
        ),
        (60, 8, 3)
    );
    assert_eq!(n.settings.channels["1"].rules.len(), 1);
    assert!(n.settings.redirect.enabled && n.settings.redirect.prune_missing_targets);
    assert!(cfg.sites.iter().all(|s| s.credential_errors.is_empty()));

    let state = dir.path().join("state");
    let o = run(&[
        "--config",
        config.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--json",
        "sites",
        "test",
    ]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout.matches("\"ok\": true").count() + o.stdout.matches("\"ok\":true").count(),
        3,
        "{}",
        o.stdout
    );
}

#[test]
fn stdout_never_prints_secrets() {
    let o = run(&[
        "import",
        "all-api-hub",
        "../../tests/fixtures/all-api-hub/v4-full.json",
        "--stdout",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let all = format!("{}{}", o.stdout, o.stderr);
    for secret in [
        "fixture-newapi-admin-token-0001",
        "fixture-octopus-password",
        "fixture-axonhub-password",
        "fixture-newapi-login-password",
        "fixture-webdav-password",
    ] {
        assert!(!all.contains(secret), "{secret} printed");
    }
    assert!(
        o.stdout
            .contains("token_env = \"MSYNC_NEWAPI_EXAMPLE_COM_TOKEN\""),
        "{}",
        o.stdout
    );
    assert!(o
        .stdout
        .contains("password_env = \"MSYNC_OCTOPUS_EXAMPLE_COM_PASSWORD\""));
    // the printed TOML loads once the variables are set
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("msync.toml");
    std::fs::write(&path, &o.stdout).unwrap();
    std::env::set_var("MSYNC_NEWAPI_EXAMPLE_COM_TOKEN", "t");
    std::env::set_var("MSYNC_OCTOPUS_EXAMPLE_COM_PASSWORD", "p");
    std::env::set_var("MSYNC_AXONHUB_EXAMPLE_COM_PASSWORD", "p");
    let cfg = msync_cli::config::load(&path).unwrap();
    assert!(cfg.sites.iter().all(|s| s.credential_errors.is_empty()));
}

#[test]
fn bad_input_and_existing_files_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let rows: Vec<(&str, String, &str)> = vec![
        (
            "cut.json",
            V4[..V4.len() / 3].to_string(),
            "ends in the middle",
        ),
        (
            "newer.json",
            V4.replace("\"version\": \"4.0\"", "\"version\": \"9.0\""),
            "backup version 9.0",
        ),
        ("notes.txt", "hello".into(), "not JSON"),
        (
            "accounts.json",
            r#"{"version":"4.0","timestamp":1,"type":"accounts","accounts":{"accounts":[]}}"#
                .into(),
            "accounts only",
        ),
    ];
    for (name, text, want) in rows {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let o = run(&[
            "import",
            "all-api-hub",
            f.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 2, "{name}: {}", o.stderr);
        assert!(o.stderr.contains(want), "{name}: {}", o.stderr);
        assert!(
            o.stderr.contains("Nothing was imported"),
            "{name}: {}",
            o.stderr
        );
        assert!(!out_dir.join("msync.toml").exists());
    }
    // an existing msync.toml is not replaced without --force
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("msync.toml"), "# mine\n").unwrap();
    let fixture = "../../tests/fixtures/all-api-hub/v4-full.json";
    let o = run(&[
        "import",
        "all-api-hub",
        fixture,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("already exists"), "{}", o.stderr);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("msync.toml")).unwrap(),
        "# mine\n"
    );
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        1,
        "no secret file written either"
    );
    let o = run(&[
        "import",
        "all-api-hub",
        fixture,
        "--out",
        out_dir.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(std::fs::read_to_string(out_dir.join("msync.toml"))
        .unwrap()
        .contains("[[sites]]"));
}

//! The real `msync` binary against the mock gateway of every flavour: sync, dry run + apply,
//! failed-only, revert and history, asserting the JSON and what the mock recorded.

mod support;

use msync_mockgw::{Era, FaultKind, FaultRule, Flavor, MockConfig, Op};
use support::*;

fn flavours() -> Vec<MockConfig> {
    vec![
        MockConfig::new(Flavor::NewApi).channels(12),
        MockConfig::new(Flavor::NewApi).channels(12).era(Era::A),
        MockConfig::new(Flavor::NewApi).channels(12).legacy(true),
        MockConfig::new(Flavor::Veloera).channels(12),
        MockConfig::new(Flavor::DoneHub).channels(12),
        MockConfig::new(Flavor::Octopus).channels(8),
        MockConfig::new(Flavor::Axonhub).channels(12),
    ]
}

#[test]
fn every_flavour_syncs_then_is_unchanged_then_reverts() {
    for cfg in flavours() {
        let label = format!("{} legacy={} era={:?}", cfg.flavor, cfg.legacy, cfg.era);
        let env = Env::new(cfg);
        let before: Vec<serde_json::Value> = env.mock.channels();

        let out = env.run(&["--json", "sync"]);
        let doc = out.json();
        // Exit 1 exactly when channels failed or are held for review.
        let held = doc["run"]["totals"]["needs_review"].as_u64().unwrap();
        assert_eq!(
            out.code,
            i32::from(held > 0),
            "{label}: {}\n{}",
            out.stdout,
            out.stderr
        );
        let run_id = doc["run"]["id"].as_str().unwrap().to_string();
        assert_eq!(doc["run"]["site"], "it");
        assert_eq!(doc["run"]["mode"], "all", "{label}");
        assert_eq!(doc["run"]["trigger"], "manual");
        assert!(doc["run"]["started_at"].as_str().unwrap().ends_with('Z'));
        let its = items(&doc);
        let t = &doc["run"]["totals"];
        assert_eq!(t["total"].as_u64().unwrap() as usize, its.len(), "{label}");
        assert_eq!(t["failed"], 0, "{label}: {its:?}");
        let success = with_status(&its, "success");
        assert!(
            !success.is_empty(),
            "{label}: the seeded mock has drift to sync"
        );
        assert_eq!(t["success"].as_u64().unwrap() as usize, success.len());
        // Exactly the channels reported as written were written, once each.
        for i in &its {
            let id = num(i["channel_id"].as_str().unwrap());
            let want = u64::from(i["status"] == "success");
            assert_eq!(
                env.mock.writes(id),
                want,
                "{label}: channel {id} {}",
                i["status"]
            );
        }
        for i in &success {
            let added = strs(&i["added"]);
            let new = strs(&i["new_models"]);
            assert!(added.iter().all(|a| new.contains(a)), "{label}");
            assert!(strs(&i["removed"]).iter().all(|r| !new.contains(r)));
        }
        // New API family: the stored `models` field is exactly the reported new list.
        if matches!(
            env.mock.config().flavor,
            Flavor::NewApi | Flavor::Veloera | Flavor::DoneHub
        ) {
            for i in &success {
                let id = num(i["channel_id"].as_str().unwrap());
                let ch = env.mock.channel(id).unwrap();
                let stored: Vec<String> = ch["models"]
                    .as_str()
                    .unwrap()
                    .split(',')
                    .map(str::to_string)
                    .collect();
                assert_eq!(stored, strs(&i["new_models"]), "{label}: channel {id}");
            }
        }

        // A second sync finds nothing to do and writes nothing.
        let out = env.run(&["--json", "sync"]);
        assert_eq!(out.code, i32::from(held > 0), "{label}: {}", out.stderr);
        let doc2 = out.json();
        assert_eq!(doc2["run"]["totals"]["needs_review"], held, "{label}");
        assert_eq!(
            doc2["run"]["totals"]["success"], 0,
            "{label}: {}",
            out.stdout
        );
        let total_writes: u64 = env.mock.write_counts().values().sum();
        assert_eq!(total_writes as usize, success.len(), "{label}");

        // Revert the first run: every written channel is back to what it was.
        let out = env.run(&["--json", "revert", &run_id]);
        assert_eq!(out.code, 0, "{label}: {}\n{}", out.stdout, out.stderr);
        let rdoc = out.json();
        assert_eq!(rdoc["run"]["mode"], "revert");
        assert_eq!(
            rdoc["run"]["totals"]["success"].as_u64().unwrap() as usize,
            success.len()
        );
        let after = env.mock.channels();
        let models_of = |v: &[serde_json::Value]| -> Vec<String> {
            v.iter()
                .map(|c| {
                    let m = c
                        .get("models")
                        .or_else(|| c.get("supportedModels"))
                        .or_else(|| c.get("model"))
                        .cloned()
                        .unwrap_or_default();
                    format!("{}={m}", c["id"])
                })
                .collect()
        };
        assert_eq!(models_of(&after), models_of(&before), "{label}");

        // History lists the three runs, newest first.
        let out = env.run(&["--json", "history"]);
        assert_eq!(out.code, 0);
        let h = out.json();
        let modes: Vec<&str> = h["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["mode"].as_str().unwrap())
            .collect();
        assert_eq!(modes, ["revert", "all", "all"], "{label}");
        // No secret anywhere in the state directory.
        assert!(!all_text(&env.state).contains(&env.secret), "{label}");
    }
}

#[test]
fn dry_run_writes_nothing_and_apply_writes_the_plan() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(10));
    let out = env.run(&["--json", "plan"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["run"]["mode"], "dry_run");
    let planned: Vec<String> = with_status(&items(&doc), "success")
        .iter()
        .map(|i| i["channel_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!planned.is_empty());
    assert!(env.mock.write_counts().values().all(|w| *w == 0));
    let puts = env
        .mock
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 0);
    // `sync --dry-run` is the same thing.
    let out = env.run(&["--json", "sync", "--dry-run"]);
    assert_eq!(out.json()["run"]["mode"], "dry_run");
    assert!(env.mock.write_counts().values().all(|w| *w == 0));

    let plan_run = doc["run"]["id"].as_str().unwrap();
    let out = env.run(&["--json", "apply", plan_run]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let applied = out.json();
    assert_eq!(applied["run"]["mode"], "apply");
    let written: Vec<String> = with_status(&items(&applied), "success")
        .iter()
        .map(|i| i["channel_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(written, planned);
    for id in &planned {
        assert_eq!(env.mock.writes(num(id)), 1, "channel {id}");
        // The PUT body carried the planned list.
        let put = env
            .mock
            .requests()
            .into_iter()
            .find(|r| r.method == "PUT" && r.json().is_some_and(|b| b["id"] == num(id)))
            .unwrap();
        let planned_item = items(&doc)
            .into_iter()
            .find(|i| i["channel_id"] == id.as_str())
            .unwrap();
        assert_eq!(
            put.json().unwrap()["models"].as_str().unwrap(),
            strs(&planned_item["new_models"]).join(",")
        );
    }
    // A run that is not a dry run has no plan to apply.
    let out = env.run(&["apply", applied["run"]["id"].as_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a dry run"), "{}", out.stderr);
    let out = env.run(&["apply", "0000000000000-0000"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not in the history"), "{}", out.stderr);
}

#[test]
fn failed_channels_are_retried_alone() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(8));
    env.mock.set_fault(
        FaultRule::new(FaultKind::UpstreamStatus { status: 503 })
            .op(Op::FetchModels)
            .channel(2),
    );
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    let failed = with_status(&items(&doc), "failed")
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 1, "{}", out.stdout);
    assert_eq!(failed[0]["channel_id"], "2");
    assert_eq!(failed[0]["error_class"], "upstream");
    assert_eq!(failed[0]["http_status"], 503);
    assert_eq!(failed[0]["attempts"], 2, "one retry (max_retries = 1)");
    assert_eq!(env.mock.writes(2), 0);
    let writes_before = env.mock.write_counts();

    // Human output names the failure and its class.
    env.mock.clear_faults();
    env.mock.set_fault(
        FaultRule::new(FaultKind::UpstreamStatus { status: 503 })
            .op(Op::FetchModels)
            .channel(2),
    );
    let out = env.run(&["sync", "--failed"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("failed:"), "{}", out.stdout);
    assert!(out.stdout.contains("upstream"), "{}", out.stdout);
    assert!(
        out.stderr.contains("[1/1] #2"),
        "plain progress lines off a TTY: {}",
        out.stderr
    );

    env.mock.clear_faults();
    let out = env.run(&["--json", "sync", "--failed"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["run"]["mode"], "failed");
    assert_eq!(doc["run"]["trigger"], "retry");
    let its = items(&doc);
    assert_eq!(its.len(), 1);
    assert_eq!(its[0]["channel_id"], "2");
    assert_eq!(its[0]["status"], "success");
    // Only channel 2 was touched by the retry.
    let mut expected = writes_before.clone();
    *expected.entry(2).or_default() += 1;
    assert_eq!(env.mock.write_counts(), expected);

    // Nothing left to retry: fine for cron.
    let out = env.run(&["sync", "--failed"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("nothing to retry"), "{}", out.stderr);
}

#[test]
fn selected_channels_and_revert_of_one_channel() {
    let env = Env::new(MockConfig::new(Flavor::DoneHub).channels(8));
    let before1 = env.mock.channel(1).unwrap();
    let out = env.run(&["--json", "sync", "--channels", "1,2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["run"]["mode"], "selected");
    let ids: Vec<&str> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["channel_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2"]);
    assert!(env.mock.write_counts().keys().all(|k| *k == 1 || *k == 2));
    assert_eq!(env.mock.writes(1), 1, "{}", out.stdout);
    let run = doc["run"]["id"].as_str().unwrap();
    let out = env.run(&["--json", "revert", run, "--channel", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(items(&out.json()).len(), 1);
    assert_eq!(env.mock.channel(1).unwrap()["models"], before1["models"]);
    // A channel the run did not write cannot be reverted.
    let out = env.run(&["revert", run, "--channel", "7"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn history_filters_and_exports() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(8));
    env.mock.set_fault(
        FaultRule::new(FaultKind::Status {
            status: 404,
            retry_after: None,
            body: None,
        })
        .op(Op::FetchModels)
        .channel(5),
    );
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 1);
    let run = out.json()["run"]["id"].as_str().unwrap().to_string();

    let out = env.run(&["--json", "history", "--status", "failed"]);
    let found = out.json()["items"].as_array().unwrap().clone();
    assert_eq!(found.len(), 1, "{}", out.stdout);
    assert_eq!(found[0]["channel_id"], "5");
    assert_eq!(found[0]["run"], run.as_str());

    let name = found[0]["channel_name"].as_str().unwrap().to_string();
    let out = env.run(&["--json", "history", "--search", &name.to_uppercase()]);
    assert!(out.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["channel_name"] == name.as_str()));

    let out = env.run(&["--json", "history", "--run", &run, "--status", "success"]);
    let doc = out.json();
    assert!(items(&doc).iter().all(|i| i["status"] == "success"));
    assert!(!items(&doc).is_empty());

    let out = env.run(&["history", "--run", &run, "--export", "csv"]);
    assert_eq!(out.code, 0);
    let mut lines = out.stdout.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("run_id,channel_id,channel_name,status"));
    assert_eq!(lines.count(), 8);
    let out = env.run(&["history", "--export", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["head"]["id"], run.as_str());

    let out = env.run(&["history"]);
    assert!(out.stdout.contains(&run), "{}", out.stdout);
    let out = env.run(&["history", "--run", "nope"]);
    assert_eq!(out.code, 2);
}

#[test]
fn a_second_process_on_the_same_site_is_refused_until_the_first_is_done() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(4));
    let store = msync_cli::store::FileStore::open(&env.state).unwrap();
    drop(
        store
            .lock_site("it")
            .unwrap()
            .expect("the lock is free at first"),
    );
    // Another process holds the site: util-linux `flock` on the same lock file (an flock(2)
    // lock, as `File::try_lock`). Not this test process: a child that another test thread
    // forks would share its lock until that child execs, and keep the site held a moment
    // after the release below.
    // `-o`: the lock stays with `flock` itself; `cat` keeps it running until its stdin closes.
    let mut holder = std::process::Command::new("flock")
        .arg("-o")
        .arg(env.state.join(".locks/it.lock"))
        .arg("cat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("util-linux flock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.lock_site("it").unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "flock never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for args in [&["sync"][..], &["sync", "--dry-run"][..], &["resume"][..]] {
        let out = env.run(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("another msync process is working on this site"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert_eq!(
        env.mock.write_counts().values().sum::<u64>(),
        0,
        "nothing written"
    );
    // Reading is not blocked.
    assert_eq!(env.run(&["channels"]).code, 0);
    drop(holder.stdin.take()); // `cat` ends, `flock` lets go and exits
    assert!(holder.wait().unwrap().success());
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Run `msync` on a pseudo-terminal (util-linux `script`), typing `input` at it.
fn run_on_tty(env: &Env, args: &str, input: &str) -> (i32, String) {
    use std::io::Write;
    let cmd = format!(
        "{} --config {} --state-dir {} {args}",
        env!("CARGO_BIN_EXE_msync"),
        env.config.display(),
        env.state.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .env_remove("MSYNC_CONFIG")
        .env_remove("MSYNC_STATE_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux script");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn on_a_terminal_sync_shows_the_plan_and_asks_before_writing() {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(6));
    let (code, screen) = run_on_tty(&env, "sync", "n\n");
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("would change:"),
        "the plan is shown: {screen}"
    );
    assert!(screen.contains("channel(s) on it? [y/N]"), "{screen}");
    assert!(screen.contains("nothing written"), "{screen}");
    assert_eq!(env.mock.write_counts().values().sum::<u64>(), 0);

    let (code, screen) = run_on_tty(&env, "sync", "y\n");
    assert!(code <= 1, "{screen}");
    assert!(screen.contains("[y/N]"), "{screen}");
    assert!(
        env.mock.write_counts().values().sum::<u64>() > 0,
        "{screen}"
    );
    // --yes never asks.
    let (code, screen) = run_on_tty(&env, "sync --yes", "");
    assert!(code <= 1, "{screen}");
    assert!(!screen.contains("[y/N]"), "{screen}");
}

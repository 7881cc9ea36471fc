//! The real `msync` killed with SIGKILL between a snapshot file and the PUT it precedes, and run
//! on a disk that refuses writes: `msync resume` (or the next `msync sync`) ends every channel
//! as an uninterrupted run does, no channel is written twice, and no write lacks its snapshot.

mod support;

use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, Op};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn config() -> MockConfig {
    MockConfig::new(Flavor::NewApi).channels(4)
}

/// One channel at a time, so a kill lands between one channel's snapshot and its PUT.
fn one_at_a_time() -> String {
    FAST.replace("concurrency = 4", "concurrency = 1")
}

/// Each channel's models as the mock holds them.
fn models(env: &Env) -> BTreeMap<u64, String> {
    env.mock
        .channels()
        .iter()
        .map(|c| {
            (
                c["id"].as_u64().unwrap_or(0),
                c["models"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Channel ids with a snapshot file in the state directory.
fn snapshot_files(dir: &Path, out: &mut Vec<u64>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            snapshot_files(&p, out);
        } else if p.parent().and_then(|d| d.file_name()) == Some("snap".as_ref()) {
            if let Some(id) = p.file_name().and_then(|n| n.to_str()?.parse().ok()) {
                out.push(id);
            }
        }
    }
}

fn snapshots(env: &Env) -> Vec<u64> {
    let mut out = Vec::new();
    snapshot_files(&env.state, &mut out);
    out.sort();
    out
}

fn msync_cmd(env: &Env, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_msync"));
    cmd.arg("--config")
        .arg(&env.config)
        .arg("--state-dir")
        .arg(&env.state)
        .args(args)
        .env_remove("MSYNC_CONFIG")
        .env_remove("MSYNC_STATE_DIR")
        .env("NO_COLOR", "1");
    cmd
}

/// The uninterrupted run's result.
fn reference() -> BTreeMap<u64, String> {
    let env = Env::with_sync(config(), &one_at_a_time());
    let out = env.run(&["--json", "sync", "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let want = models(&env);
    assert_ne!(
        want,
        models(&Env::new(config())),
        "the sync changes channels"
    );
    want
}

/// After recovery: the site as the reference, each channel written at most once, a snapshot
/// for every channel written, one finished run.
fn assert_recovered(env: &Env, want: &BTreeMap<u64, String>, label: &str) {
    assert_eq!(&models(env), want, "{label}");
    let counts = env.mock.write_counts();
    assert!(counts.values().all(|n| *n <= 1), "{label}: {counts:?}");
    let snaps = snapshots(env);
    for (id, n) in &counts {
        if *n > 0 {
            assert!(
                snaps.contains(id),
                "{label}: channel {id} written without a snapshot"
            );
        }
    }
    let out = env.run(&["--json", "history"]);
    let doc = out.json();
    let runs = doc["runs"].as_array().cloned().unwrap_or_default();
    let states: Vec<&str> = runs.iter().filter_map(|r| r["state"].as_str()).collect();
    assert_eq!(states, vec!["finished"], "{label}: {}", out.stdout);
}

#[test]
fn a_sync_killed_between_snapshot_and_put_resumes_without_loss() {
    let want = reference();
    for kill_after in 1..=3 {
        let env = Env::with_sync(config(), &one_at_a_time());
        // Each PUT waits 1.5 s at the server: the window between snapshot file and write.
        env.mock
            .set_fault(FaultRule::new(FaultKind::Delay { ms: 1_500 }).op(Op::UpdateChannel));
        let mut child = msync_cmd(&env, &["--json", "sync", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while snapshots(&env).len() < kill_after {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no snapshot {kill_after} within a minute"
            );
            if let Ok(Some(status)) = child.try_wait() {
                panic!("msync ended before the kill: {status}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // SIGKILL: no destructor, no flush, no goodbye.
        child.kill().unwrap();
        child.wait().unwrap();
        let label = format!("killed after snapshot {kill_after}");
        assert!(
            env.mock.writes(snapshots(&env)[kill_after - 1]) <= 1,
            "{label}"
        );
        // Whatever PUT was in flight has landed or been dropped by now.
        std::thread::sleep(Duration::from_millis(2_000));
        env.mock.clear_faults();
        let out = env.run(&["--json", "resume"]);
        assert_eq!(out.code, 0, "{label}: {}\n{}", out.stdout, out.stderr);
        assert_recovered(&env, &want, &label);
    }
}

#[test]
fn a_full_disk_stops_the_sync_with_a_storage_error_and_the_next_run_finishes() {
    let want = reference();
    // `ulimit -f N`: files above N × 512 bytes cannot be written (EFBIG, as on a full disk).
    // No room refuses the run's head; a little lets the head and small snapshots through and
    // refuses a larger snapshot or result mid-run; more lets the run finish.
    let (mut before_any_write, mut mid_run) = (0, 0);
    for blocks in [0, 1, 2, 3] {
        let env = Env::with_sync(config(), &one_at_a_time());
        let script = format!(
            "trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" --config '{}' --state-dir '{}' sync --yes",
            env.config.display(),
            env.state.display()
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_msync"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        // The error and what to do: on stderr when the run could not even be recorded, in the
        // run summary on stdout when it stopped mid-way.
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let label = format!("ulimit -f {blocks}");
        if out.status.code() == Some(0) {
            continue;
        }
        assert_eq!(
            out.status.code(),
            Some(1),
            "{label}: {:?} {text}",
            out.status
        );
        assert!(text.contains("storage: "), "{label}: {text}");
        assert!(text.contains("free space"), "{label}: {text}");
        let counts = env.mock.write_counts();
        let snaps = snapshots(&env);
        for (id, n) in &counts {
            assert!(
                *n == 0 || snaps.contains(id),
                "{label}: channel {id} written without a snapshot"
            );
        }
        if counts.values().sum::<u64>() == 0 {
            before_any_write += 1;
        } else {
            mid_run += 1;
        }
        // Space again: resume finishes the run (or, when none was recorded, a new sync runs).
        let out = env.run(&["--json", "resume"]);
        assert_eq!(out.code, 0, "{label}: {}\n{}", out.stdout, out.stderr);
        if models(&env) != want {
            let out = env.run(&["--json", "sync", "--yes"]);
            assert_eq!(out.code, 0, "{label}: {}\n{}", out.stdout, out.stderr);
        }
        assert_eq!(models(&env), want, "{label}");
        assert!(
            env.mock.write_counts().values().all(|n| *n <= 1),
            "{label}: {:?}",
            env.mock.write_counts()
        );
    }
    assert!(
        before_any_write > 0 && mid_run > 0,
        "the limits must refuse both before the first write and mid-run: {before_any_write}, {mid_run}"
    );
}

//! `cargo xtask fuzz`: run every cargo-fuzz (libFuzzer) target in `fuzz/` for a while.
//!
//! * installs cargo-fuzz from crates.io when it is missing;
//! * builds all targets once (`--sanitizer none`: the fuzzed code is safe Rust, so libFuzzer's
//!   coverage guidance and panics are what matter, and this builds on the stable toolchain);
//! * runs each target for `--seconds N` (default 60) over its committed seeds
//!   (`fuzz/seeds/<target>/`, crashers found earlier included) and a scratch corpus
//!   (`fuzz/corpus/<target>/`, git-ignored), with the JSON dictionary for JSON-reading targets.
//!
//! A crash ends that target's run (the others still run) and leaves the input in
//! `fuzz/artifacts/<target>/`; the command then fails.
//! `--record-seeds` rewrites the gateway seeds from the mock gateway instead
//! (`fuzz/examples/record_seeds.rs`).

use crate::proc::{cargo_bin_dir, output, run};
use crate::{root, setup, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Targets whose inputs are JSON (they get `fuzz/dict/json.dict`).
const JSON_TARGETS: &[&str] = &[
    "gw_new_api",
    "gw_veloera",
    "gw_done_hub",
    "gw_octopus",
    "gw_axon_hub",
    "ratio",
    "mapping",
    "settings",
];

struct Options {
    seconds: u64,
    only: Vec<String>,
    record_seeds: bool,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut o = Options {
        seconds: 60,
        only: Vec::new(),
        record_seeds: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().ok_or("--seconds needs a number")?;
                o.seconds = v
                    .parse()
                    .map_err(|_| format!("--seconds: not a number: {v:?}"))?;
            }
            "--target" => {
                let v = it.next().ok_or("--target needs a name")?;
                o.only.extend(v.split(',').map(str::to_string));
            }
            "--record-seeds" => o.record_seeds = true,
            other => return Err(format!("fuzz: unknown option {other:?}")),
        }
    }
    Ok(o)
}

pub fn fuzz(args: &[String]) -> Result {
    let opts = parse_args(args)?;
    let dir = root().join("fuzz");
    if opts.record_seeds {
        return run(fuzz_cargo(&dir).args([
            "run",
            "--manifest-path",
            "Cargo.toml",
            "--example",
            "record_seeds",
        ]));
    }
    ensure_cargo_fuzz()?;
    let all = targets(&dir)?;
    let chosen: Vec<String> = if opts.only.is_empty() {
        all
    } else {
        for t in &opts.only {
            if !all.contains(t) {
                return Err(format!("no fuzz target {t:?} (have: {})", all.join(", ")));
            }
        }
        opts.only.clone()
    };
    let started = Instant::now();
    run(fuzz_cargo(&dir).args(["fuzz", "build", "--sanitizer", "none", "-O"]))?;
    eprintln!("fuzz: built in {:.0?}", started.elapsed());
    let mut timings = Vec::new();
    let mut failed = Vec::new();
    for t in &chosen {
        let t0 = Instant::now();
        let result = run_target(&dir, t, opts.seconds);
        timings.push((t.clone(), t0.elapsed(), result.is_ok()));
        if result.is_err() {
            failed.push(t.clone());
        }
    }
    for (t, d, ok) in &timings {
        let verdict = if *ok {
            "ok"
        } else {
            "CRASH (see fuzz/artifacts/)"
        };
        eprintln!("fuzz: {t:<12} {:>6.1}s  {verdict}", d.as_secs_f64());
    }
    eprintln!(
        "fuzz: {} targets, {:.0?} in all",
        timings.len(),
        started.elapsed()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets crashed: {}", failed.join(", ")))
    }
}

fn run_target(dir: &Path, target: &str, seconds: u64) -> Result {
    let corpus = dir.join("corpus").join(target);
    std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let seeds = dir.join("seeds").join(target);
    let mut cmd = fuzz_cargo(dir);
    cmd.args(["fuzz", "run", "--sanitizer", "none", "-O", target])
        .arg(&corpus);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-max_len=65536")
        .arg("-print_final_stats=1");
    if JSON_TARGETS.contains(&target) {
        cmd.arg(format!("-dict={}", dir.join("dict/json.dict").display()));
    }
    run(&mut cmd)
}

/// The fuzz targets, from `fuzz/fuzz_targets/*.rs`.
fn targets(dir: &Path) -> Result<Vec<String>> {
    let src = dir.join("fuzz_targets");
    let mut out: Vec<String> = std::fs::read_dir(&src)
        .map_err(|e| format!("{}: {e}", src.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            if p.extension()? != "rs" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    out.sort();
    Ok(out)
}

/// rustup's stable cargo in `fuzz/`. No RUSTC_BOOTSTRAP: with it, cargo would obey the
/// repository's `[unstable] build-std` (meant for wasm) and try to rebuild std.
/// Type-check the fuzz crate (library, targets, seed recorder) against the workspace as it is,
/// so a change elsewhere cannot leave it broken until someone fuzzes (`cargo xtask test` runs
/// this). Shares the workspace's target directory: no second copy of every dependency.
pub fn check() -> Result {
    let dir = root().join("fuzz");
    run(fuzz_cargo(&dir)
        .env("CARGO_TARGET_DIR", root().join("target"))
        .args(["check", "--locked", "--lib", "--bins", "--examples"]))
}

fn fuzz_cargo(dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let mut path: Vec<PathBuf> = vec![cargo_bin_dir()];
    if let Some(p) = std::env::var_os("PATH") {
        path.extend(std::env::split_paths(&p));
    }
    cmd.current_dir(dir)
        .env("PATH", std::env::join_paths(path).unwrap_or_default())
        .env_remove("RUSTC_BOOTSTRAP")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

fn ensure_cargo_fuzz() -> Result {
    let bin = cargo_bin_dir().join("cargo-fuzz");
    if output(Command::new(&bin).arg("--version")).is_some() {
        return Ok(());
    }
    eprintln!("fuzz: installing cargo-fuzz from crates.io");
    setup::cargo_install(&["cargo-fuzz", "--locked"])
}

//! `cargo xtask fresh-check [demo|test|dist|e2e] [--keep]`: the README's first command as a
//! stranger runs it. Clones this checkout's HEAD into a temporary folder and runs the command
//! there with `CARGO_HOME` pointing at an empty folder, so every crate (the workspace's, xtask's
//! own and the ones `-Zbuild-std` needs for wasm32's std) comes from the registry again. Only the
//! already-installed tool binaries are reused (symlinked into the new `CARGO_HOME/bin`), so trunk
//! and wasm-bindgen-cli are not recompiled. Without a display the demo runs headless.
//!
//! Uncommitted changes are not part of the check: it tests what a clone would get.

use crate::proc::{cargo_bin_dir, describe};
use crate::{root, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const COMMANDS: [&str; 4] = ["demo", "test", "dist", "e2e"];

pub fn fresh_check(args: &[String]) -> Result {
    let keep = args.iter().any(|a| a == "--keep");
    let command = match args.iter().find(|a| !a.starts_with("--")) {
        None => "demo",
        Some(c) if COMMANDS.contains(&c.as_str()) => c.as_str(),
        Some(other) => {
            return Err(format!(
                "fresh-check: unknown command {other:?} (one of {})",
                COMMANDS.join(", ")
            ))
        }
    };
    let dir = temp_dir()?;
    let result = check_in(&dir, command);
    if keep {
        eprintln!("fresh-check: kept {}", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("fresh-check: could not remove {}: {e}", dir.display());
    }
    result
}

fn check_in(dir: &Path, command: &str) -> Result {
    let clone = dir.join("msync");
    let cargo_home = dir.join("cargo-home");
    git_clone(&clone)?;
    link_tools(&cargo_home.join("bin"))?;
    eprintln!(
        "fresh-check: `cargo xtask {command}` in {} with an empty CARGO_HOME ({})",
        clone.display(),
        cargo_home.display()
    );
    let mut cmd = Command::new(cargo_program());
    cmd.args(["xtask", command])
        .current_dir(&clone)
        .env("CARGO_HOME", &cargo_home)
        // What `cargo run` set for this xtask must not leak into the stranger's shell.
        .env_remove("CARGO")
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTC_BOOTSTRAP")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {}: {e}", describe(&cmd)))?;
    let took = started.elapsed().as_secs();
    let took = format!("{}:{:02} min", took / 60, took % 60);
    if status.success() {
        eprintln!("fresh-check: `cargo xtask {command}` succeeded first time in {took}");
        Ok(())
    } else {
        Err(format!(
            "fresh-check: `cargo xtask {command}` failed after {took} ({status})"
        ))
    }
}

/// rustup's `cargo` proxy (from the user's own PATH), as a new user would type it.
fn cargo_program() -> PathBuf {
    let proxy = crate::proc::home().join(".cargo/bin/cargo");
    if proxy.exists() {
        proxy
    } else {
        PathBuf::from("cargo")
    }
}

fn temp_dir() -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("msync-fresh-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn git_clone(to: &Path) -> Result {
    crate::proc::run(
        Command::new("git")
            .args(["clone", "--quiet", "--no-hardlinks"])
            .arg(root())
            .arg(to),
    )
}

/// The installed binaries of the real `CARGO_HOME/bin` (rustup's proxies, trunk,
/// wasm-bindgen, its test runner…) linked into the empty one; nothing else is carried over.
fn link_tools(bin: &Path) -> Result {
    std::fs::create_dir_all(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let from = cargo_bin_dir();
    let entries = std::fs::read_dir(&from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let Some(name) = path.file_name() {
            std::os::unix::fs::symlink(&path, bin.join(name))
                .map_err(|e| format!("linking {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

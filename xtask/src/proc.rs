//! Running commands, with the environment the wasm toolchain needs.

use crate::{root, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Print and run a command; fail with its exit status.
pub fn run(cmd: &mut Command) -> Result {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(cmd)))
    }
}

/// Run quietly and return stdout, or None if it could not run or failed.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Warn early when the disk under the workspace is nearly full: a cold build of everything
/// (native tests, wasm tests, release tools) takes several GB, and a linker that runs out of
/// space dies with SIGBUS rather than saying so.
pub fn check_free_disk(need_gb: u64) {
    let Some(out) = output(Command::new("df").args(["-Pk"]).arg(root())) else {
        return;
    };
    let free_kb = out
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(kb) = free_kb {
        let gb = kb / (1024 * 1024);
        if gb < need_gb {
            eprintln!(
                "xtask: warning: only {gb} GB free under {}; a cold build needs about {need_gb} GB. \
                 If linking fails with 'Bus error', free disk space (old target/ directories) first.",
                root().display()
            );
        }
    }
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

pub fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

pub fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cargo"))
        .join("bin")
}

/// How wasm32 gets built on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmToolchain {
    /// rustup's toolchain has the wasm32-unknown-unknown std installed.
    Rustup,
    /// Debian's rustc-web with std built from rust-web-src (`-Zbuild-std`).
    DebianWeb,
}

pub fn wasm_toolchain() -> WasmToolchain {
    let has_rustup_wasm = output(Command::new("rustc").args(["--print", "sysroot"]))
        .map(|s| {
            Path::new(s.trim())
                .join("lib/rustlib/wasm32-unknown-unknown/lib")
                .is_dir()
        })
        .unwrap_or(false);
    if has_rustup_wasm {
        WasmToolchain::Rustup
    } else {
        WasmToolchain::DebianWeb
    }
}

/// PATH with the project's npm tools (wasm-opt 132) and cargo-installed tools first.
fn tool_path(first: &[PathBuf]) -> std::ffi::OsString {
    let mut parts: Vec<PathBuf> = first.to_vec();
    parts.push(root().join("node_modules/.bin"));
    parts.push(cargo_bin_dir());
    if let Some(p) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(parts).unwrap_or_default()
}

/// A command for the wasm side (trunk, cargo for wasm32, wasm-bindgen-test-runner).
/// With Debian's toolchain, /usr/bin's cargo/rustc must win over rustup's shims and rustc
/// must accept build-std's -Z flags.
pub fn wasm_cmd(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root());
    match wasm_toolchain() {
        WasmToolchain::DebianWeb => {
            cmd.env("PATH", tool_path(&[PathBuf::from("/usr/bin")]))
                .env("CARGO", "/usr/bin/cargo")
                .env("RUSTC", "/usr/bin/rustc")
                .env("RUSTDOC", "/usr/bin/rustdoc")
                .env("RUSTC_BOOTSTRAP", "1")
                .env_remove("RUSTUP_TOOLCHAIN")
                // cargo's `-Zlockfile-path`: resolve with the wasm lockfile (`wasm_lockfile`)
                .env("CARGO_UNSTABLE_LOCKFILE_PATH", "true")
                .env("CARGO_RESOLVER_LOCKFILE_PATH", wasm_lockfile());
        }
        WasmToolchain::Rustup => {
            cmd.env("PATH", tool_path(&[]))
                // build-std is not needed with a prebuilt std
                .env_remove("CARGO_UNSTABLE_BUILD_STD");
        }
    }
    cmd
}

/// `idna_adapter` version the wasm builds pin: the 1.0 line has no Unicode back end.
const IDNA_ADAPTER_ASCII: &str = "1.0.0";

/// The lockfile every wasm32 build resolves with (Debian toolchain): `Cargo.lock` with one
/// change, `idna_adapter` pinned to 1.0, the line without Unicode data (issue 18: the worker
/// came out 44 kB gzip -9 smaller). The `url` crate then refuses non-ASCII host names in wasm,
/// so the worker turns such a URL into its ASCII form with the browser's own URL parser first
/// (`msync_types::base_url::set_idna`, `crates/worker/src/platform.rs`). Native builds (the
/// CLI, every native test) keep `Cargo.lock` and its full IDNA, and so does a rustup toolchain
/// with a prebuilt wasm32 std (the flag needs a nightly cargo). `idna_adapter`'s README
/// describes this pin: <https://docs.rs/crate/idna_adapter/latest>.
pub fn wasm_lockfile() -> PathBuf {
    root().join("target/wasm-lock/Cargo.lock")
}

/// Derive [`wasm_lockfile`] from `Cargo.lock` when that changed (online on a fresh machine:
/// cargo reads `idna_adapter`'s index entry).
pub fn prepare_wasm_lockfile() -> Result {
    if wasm_toolchain() != WasmToolchain::DebianWeb {
        return Ok(());
    }
    let source =
        std::fs::read(root().join("Cargo.lock")).map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let lock = wasm_lockfile();
    let copy = lock.with_extension("lock.source");
    if lock.is_file() && std::fs::read(&copy).ok().as_deref() == Some(&source[..]) {
        return Ok(());
    }
    let dir = lock.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    std::fs::write(&lock, &source).map_err(|e| format!("writing {}: {e}", lock.display()))?;
    run(wasm_cmd("cargo").args([
        "update",
        "--package",
        "idna_adapter",
        "--precise",
        IDNA_ADAPTER_ASCII,
    ]))?;
    std::fs::write(&copy, &source).map_err(|e| format!("writing {}: {e}", copy.display()))
}

/// A command for the native side: rustup's cargo, whatever the wasm side uses.
pub fn native_cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root())
        .env("PATH", tool_path(&[]))
        .env_remove("RUSTC_BOOTSTRAP");
    cmd
}

/// The extension's version, from manifest.json.
pub fn manifest_version() -> Result<String> {
    let text = std::fs::read_to_string(root().join("manifest.json"))
        .map_err(|e| format!("reading manifest.json: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("manifest.json: {e}"))?;
    v.get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| "manifest.json has no version".into())
}

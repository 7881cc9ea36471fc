//! `cargo xtask setup`: everything the build and tests need, installed from the package
//! registries only (apt, crates.io, npm). Nothing downloads a prebuilt binary from elsewhere.
//! Idempotent: each step checks first and is skipped when already satisfied.

use crate::proc::{cargo_bin_dir, output, run, wasm_toolchain, WasmToolchain};
use crate::{root, Result};
use std::path::Path;
use std::process::Command;

/// trunk 0.22.x declares rust-version 1.96.1, newer than both toolchains here.
pub const TRUNK_VERSION: &str = "0.21.14";

pub fn setup() -> Result {
    apt_packages()?;
    cargo_tools()?;
    npm_tools()?;
    crate::proc::prepare_wasm_lockfile()?;
    eprintln!("setup: done ({:?} wasm toolchain)", wasm_toolchain());
    Ok(())
}

fn apt_packages() -> Result {
    // A CJK font so the Chinese UI renders in headless screenshots; Firefox ESR for the Firefox
    // package's end-to-end test (tests/e2e/firefox.test.mjs, driven over WebDriver BiDi).
    let mut wanted = vec![
        "chromium",
        "chromium-driver",
        "fonts-wqy-microhei",
        "firefox-esr",
    ];
    if wasm_toolchain() == WasmToolchain::DebianWeb {
        wanted.extend(["rustc-web", "cargo-web", "rust-web-src", "lld-22"]);
    }
    if output(Command::new("node").arg("--version")).is_none() {
        wanted.extend(["nodejs", "npm"]);
    }
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|p| {
            output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .map(|s| !s.contains("install ok installed"))
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "setup: first run on this machine: installing the toolchain. This takes about 10–15 minutes \
         on 2 cores (Debian packages ≈ 1 min, compiling trunk and wasm-bindgen-cli from crates.io \
         ≈ 8–12 min, then a first build of the extension ≈ 5 min). Later runs skip all of it."
    );
    let is_root = output(Command::new("id").arg("-u")).map(|s| s.trim() == "0");
    let sudo: &[&str] = if is_root == Some(true) {
        &[]
    } else {
        &["sudo"]
    };
    eprintln!("setup: installing Debian packages: {}", missing.join(" "));
    let apt = |args: &[&str]| {
        let mut argv: Vec<&str> = sudo.to_vec();
        argv.push("apt-get");
        argv.extend_from_slice(args);
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    apt(&["update", "-q"])?;
    let mut args = vec!["install", "-y", "-q"];
    args.extend(&missing);
    apt(&args)
}

/// The wasm-bindgen version pinned in Cargo.lock (the CLI must match it exactly).
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                return Ok(v.trim_matches('"').to_string());
            }
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

fn tool_version(bin: &Path) -> Option<String> {
    output(Command::new(bin).arg("--version")).map(|s| s.trim().to_string())
}

fn cargo_tools() -> Result {
    let bin = cargo_bin_dir();
    let wb = locked_wasm_bindgen_version()?;
    if tool_version(&bin.join("wasm-bindgen")).as_deref() != Some(&format!("wasm-bindgen {wb}")) {
        eprintln!("setup: compiling wasm-bindgen-cli {wb} from crates.io (≈ 2–3 min on 2 cores)");
        let [locked, resolved] = wasm_bindgen_install_args(&wb);
        if cargo_install(&locked.iter().map(String::as_str).collect::<Vec<_>>()).is_err() {
            // Some registry mirrors lack a release its Cargo.lock pins (webpki-roots 1.0.11 on
            // this project's build machines); it fails while resolving, before compiling.
            eprintln!(
                "setup: warning: wasm-bindgen-cli {wb} could not be installed with --locked (its \
                 Cargo.lock pins a crate release this registry does not have); installing it \
                 with freshly resolved dependencies instead"
            );
            cargo_install(&resolved.iter().map(String::as_str).collect::<Vec<_>>())?;
        }
    }
    if tool_version(&bin.join("trunk")).as_deref() != Some(&format!("trunk {TRUNK_VERSION}")) {
        eprintln!("setup: compiling trunk {TRUNK_VERSION} from crates.io (≈ 5–8 min on 2 cores)");
        cargo_install(&["trunk", "--version", TRUNK_VERSION, "--locked"])?;
    }
    Ok(())
}

/// The `cargo install` arguments for wasm-bindgen-cli: first with its own Cargo.lock
/// (`--locked`, the dependency versions its maintainers released with), then — only if that
/// cannot resolve — without.
fn wasm_bindgen_install_args(version: &str) -> [Vec<String>; 2] {
    let base = ["wasm-bindgen-cli", "--version", version].map(str::to_string);
    let mut locked = base.to_vec();
    locked.push("--locked".into());
    [locked, base.to_vec()]
}

/// `cargo install` from outside the project (its .cargo/config.toml is for our build), with
/// rustup's cargo when present (faster), else Debian's with an explicit RUSTC so rustup's
/// shim cannot obey a dependency's own rust-toolchain file.
pub fn cargo_install(args: &[&str]) -> Result {
    let rustup_cargo = crate::proc::home().join(".cargo/bin/cargo");
    let mut cmd = if rustup_cargo.exists() {
        Command::new(rustup_cargo)
    } else {
        let mut c = Command::new("/usr/bin/cargo");
        c.env("RUSTC", "/usr/bin/rustc")
            .env("RUSTDOC", "/usr/bin/rustdoc");
        c
    };
    cmd.arg("install")
        .args(args)
        .current_dir("/")
        .env_remove("RUSTC_BOOTSTRAP")
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_TARGET_DIR");
    run(&mut cmd)
}

fn npm_tools() -> Result {
    let r = root();
    let stamp = r.join("node_modules/.package-lock.json");
    let fresh = match (
        std::fs::metadata(&stamp).and_then(|m| m.modified()),
        std::fs::metadata(r.join("package-lock.json")).and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(lock)) => installed >= lock,
        _ => false,
    };
    if fresh && r.join("node_modules/.bin/wasm-opt").exists() {
        return Ok(());
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_bindgen_cli_is_installed_locked_first() {
        let [first, fallback] = wasm_bindgen_install_args("0.2.130");
        assert_eq!(
            first,
            ["wasm-bindgen-cli", "--version", "0.2.130", "--locked"]
        );
        assert!(!fallback.contains(&"--locked".to_string()));
    }
}

//! dist, demo, test, e2e.

use crate::proc::{
    cargo_bin_dir, manifest_version, native_cargo, run, wasm_cmd, wasm_toolchain, WasmToolchain,
};
use crate::{root, setup, Result};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Build the extension: `dist/extension/` (Chrome, unpacked), `dist/extension-firefox/`,
/// `dist/msync-<version>.zip`, `dist/msync-<version>-firefox.zip`.
pub fn dist() -> Result<PathBuf> {
    setup::setup()?;
    let r = root();
    let dist = r.join("dist");
    let ext = dist.join("extension");
    // Trunk runs cargo --offline (so it never downloads a tool binary). `cargo fetch` gets the
    // workspace's crates but not the ones -Zbuild-std needs for wasm32's std (dlmalloc, …);
    // compiling the worker first, online, brings those into the registry before Trunk runs.
    run(wasm_cmd("cargo").arg("fetch"))?;
    compile_worker()?;
    run(shipped(wasm_cmd("trunk")).args(["build", "--release"]))?;
    // Trunk names its output after index.html; the manifest calls it options.html.
    fs::rename(ext.join("index.html"), ext.join("options.html"))
        .map_err(|e| format!("renaming index.html: {e}"))?;
    build_worker(&ext)?;

    let version = manifest_version()?;
    let firefox = dist.join("extension-firefox");
    copy_dir(&ext, &firefox)?;
    edit_manifest(&firefox, firefox_manifest)?;
    zip_dir(&ext, &dist.join(format!("msync-{version}.zip")))?;
    zip_dir(&firefox, &dist.join(format!("msync-{version}-firefox.zip")))?;
    eprintln!(
        "dist: {} (unpacked), msync-{version}.zip, msync-{version}-firefox.zip",
        ext.display()
    );
    Ok(ext)
}

/// The service worker crate for wasm32 (online: the first wasm build on a machine fetches
/// std's own dependencies for -Zbuild-std). Built as a cdylib only: the crate is also an rlib
/// for its wasm tests, and with both types Cargo cannot run LTO across the dependencies
/// (the worker came out 8 % larger).
fn compile_worker() -> Result {
    run(shipped(wasm_cmd("cargo")).args([
        "rustc",
        "--release",
        "-p",
        "msync-worker",
        "--lib",
        "--crate-type",
        "cdylib",
        "--target",
        WASM_TARGET,
    ]))
}

/// The release wasm the extension ships: with Debian's toolchain (std built here by
/// build-std), panics abort at once (`panic = "immediate-abort"`): no panic messages, location
/// tables or formatting machinery in the modules. A panic still stops the module (as
/// `panic = "abort"` does) and shows as "RuntimeError: unreachable" in the console, without its
/// message; debug builds and the wasm tests keep the messages. Set through the environment,
/// since the release profile is shared with the native CLI, whose stable toolchain knows no
/// such strategy.
fn shipped(mut cmd: Command) -> Command {
    if wasm_toolchain() == WasmToolchain::DebianWeb {
        cmd.env("CARGO_UNSTABLE_PANIC_IMMEDIATE_ABORT", "true")
            .env("CARGO_PROFILE_RELEASE_PANIC", "immediate-abort")
            // std's own size-over-speed choices (smaller sort and formatting code; issue 18):
            // the worker came out 22 kB gzip -9 smaller (687,179 → 664,921 B).
            .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size");
    }
    // Leptos' type-erased views (leptos 0.8 `erase_components`, read by leptos, leptos_macro and
    // tachys): view trees are boxed instead of monomorphized per component, issue 18. Set for
    // the worker too: it links no Leptos, so the flag changes nothing there.
    cmd.env("RUSTFLAGS", "--cfg erase_components");
    cmd
}

/// The compiled service worker → wasm-bindgen (ES module) → wasm-opt, into `ext/worker`.
fn build_worker(ext: &Path) -> Result {
    let out = ext.join("worker");
    let wasm = root().join(format!("target/{WASM_TARGET}/release/msync_worker.wasm"));
    run(wasm_cmd(cargo_bin_dir().join("wasm-bindgen"))
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&out)
        .arg(&wasm))?;
    let bg = out.join("msync_worker_bg.wasm");
    run(wasm_cmd(root().join("node_modules/.bin/wasm-opt"))
        .arg("-Oz")
        .arg(&bg)
        .arg("-o")
        .arg(&bg))
}

fn firefox_manifest(m: &mut serde_json::Value) {
    // Firefox runs MV3 background pages as event pages: `scripts`, not `service_worker`.
    m["background"] = serde_json::json!({ "scripts": ["background.js"], "type": "module" });
    m["browser_specific_settings"] = serde_json::json!({
        "gecko": { "id": "msync@msync.dev", "strict_min_version": "128.0" }
    });
    if let Some(obj) = m.as_object_mut() {
        obj.remove("minimum_chrome_version");
    }
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> Result {
    let path = dir.join("manifest.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut m: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    edit(&mut m);
    let pretty = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
    fs::write(&path, pretty + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    if to.exists() {
        fs::remove_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    for file in walk(from)? {
        let rel = file.strip_prefix(from).map_err(|e| e.to_string())?;
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::copy(&file, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    Ok(())
}

/// Every file under `dir`, sorted (so zips are reproducible).
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `zip`'s deflate level for Zopfli with 5 iterations (levels above 9 select Zopfli).
const ZOPFLI_LEVEL: i64 = 14;

fn zip_dir(dir: &Path, zip_path: &Path) -> Result {
    let file = fs::File::create(zip_path).map_err(|e| format!("{}: {e}", zip_path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // Zopfli's deflate (level 10 + n = n iterations): the package's size is a target (issue
        // 18). Any unzip reads it; with 5 iterations the two wasm modules come out 53 kB (4.5 %)
        // smaller than with zlib's level 9, for about 8 s per package.
        .compression_level(Some(ZOPFLI_LEVEL))
        .last_modified_time(zip::DateTime::default());
    for path in walk(dir)? {
        let rel = path
            .strip_prefix(dir)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        zip.start_file(rel, opts).map_err(|e| e.to_string())?;
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
    }
    zip.finish().map_err(|e| e.to_string())?;
    Ok(())
}

/// The Chrome build plus a host permission for 127.0.0.1 only, for tests and the demo:
/// Chromium offers automation no way to accept an optional-permission prompt. The shipped
/// package keeps `optional_host_permissions` only.
pub fn loopback_extension(ext: &Path) -> Result<PathBuf> {
    let dir = root().join("target/extension-loopback");
    copy_dir(ext, &dir)?;
    edit_manifest(&dir, |m| {
        m["host_permissions"] = serde_json::json!(["http://127.0.0.1/*"]);
    })?;
    Ok(dir)
}

/// Native binaries the browser tests and the demo run.
pub fn build_native_tools() -> Result {
    run(native_cargo().args(["build", "-p", "msync-mockgw", "-p", "msync-cli"]))
}

/// Build, then run the end-to-end tests (`only`: these test files instead of all of them).
pub fn e2e(only: &[String]) -> Result {
    let ext = dist()?;
    e2e_files(&ext, only)
}

fn e2e_with(ext: &Path) -> Result {
    e2e_files(ext, &[])
}

fn e2e_files(ext: &Path, only: &[String]) -> Result {
    // Firefox gets the package as shipped: its test grants the gateway's host the way a user
    // does, through the options page's permissions.request (see tests/e2e/firefox_harness.mjs).
    let firefox = ext.with_file_name("extension-firefox");
    let ext = loopback_extension(ext)?;
    build_native_tools()?;
    let r = root();
    let artifacts = r.join("target/e2e-artifacts");
    fs::create_dir_all(&artifacts).map_err(|e| e.to_string())?;
    let files: Vec<String> = if only.is_empty() {
        vec!["tests/e2e/".into()]
    } else {
        only.to_vec()
    };
    run(Command::new("node")
        .args(["--test", "--test-concurrency=1"])
        .args(&files)
        .current_dir(&r)
        .env("MSYNC_EXTENSION_DIR", &ext)
        .env("MSYNC_FIREFOX_EXTENSION_DIR", &firefox)
        .env("MSYNC_MOCKGW", r.join("target/debug/msync-mockgw"))
        .env("MSYNC_CLI", r.join("target/debug/msync"))
        .env("MSYNC_ARTIFACTS", &artifacts))
}

pub fn test(quick: bool) -> Result {
    crate::proc::check_free_disk(8);
    crate::layers::check()?;
    run(native_cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(native_cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    crate::fuzz::check()?;
    run(native_cargo().args(["test", "--workspace"]))?;
    if quick {
        eprintln!("test: --quick, skipping the wasm and browser tests");
        return Ok(());
    }
    setup::setup()?;
    // wasm-bindgen-test in headless Chromium (the runner starts /usr/bin/chromedriver itself).
    run(wasm_cmd("cargo").args(["test", "-p", "msync-worker", "--target", WASM_TARGET]))?;
    let ext = dist()?;
    e2e_with(&ext)?;
    eprintln!("test: all green");
    Ok(())
}

/// Build, start the demo gateway, load the extension against it.
pub fn demo() -> Result {
    let ext = dist()?;
    let ext = loopback_extension(&ext)?;
    build_native_tools()?;
    let r = root();
    let mut gw = Command::new(r.join("target/debug/msync-mockgw"))
        // The demo raises the site's speed settings (tests/demo.mjs), so its gateway does not
        // enforce New API's own admin API limit (180 requests / 180 s).
        .args(["--port", "0", "--flavor", "new-api", "--channels", "60"])
        .args(["--rate-limit", "off"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the demo gateway: {e}"))?;
    let url = read_listen_url(gw.stdout.take())?;
    eprintln!("demo: gateway at {url}");
    let out = r.join("target/demo");
    fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let result = run(Command::new("node")
        .arg("tests/demo.mjs")
        .current_dir(&r)
        .env("MSYNC_EXTENSION_DIR", &ext)
        .env("MSYNC_GATEWAY_URL", &url)
        .env("MSYNC_DEMO_OUT", &out));
    let _ = gw.kill();
    let _ = gw.wait();
    result?;
    let headless =
        std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none();
    if headless {
        eprintln!(
            "demo: done. Screenshots: {} and {}",
            out.join("options.png").display(),
            out.join("popup.png").display()
        );
    }
    eprintln!(
        "demo: to use the extension yourself: open chrome://extensions, turn on Developer mode, \
         click \"Load unpacked\" and choose {} (Firefox: about:debugging → This Firefox → \
         Load Temporary Add-on… → {}).",
        r.join("dist/extension").display(),
        r.join("dist/extension-firefox/manifest.json").display()
    );
    Ok(())
}

/// mockgw prints `mockgw listening on http://127.0.0.1:PORT …` first.
fn read_listen_url(stdout: Option<std::process::ChildStdout>) -> Result<String> {
    let stdout = stdout.ok_or("no stdout from the gateway")?;
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    // Keep draining so the gateway never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(str::to_string)
        .ok_or_else(|| format!("unexpected first line from the gateway: {line:?}"))
}

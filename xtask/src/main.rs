//! `cargo xtask …`: every multi-step chore of the project, so nothing lives in shell history.
//!
//! * `setup` — install what the build needs (idempotent, quick when done): Debian's
//!   rustc-web + rust-web-src + lld-22 (wasm32 std is built with -Zbuild-std; there is no
//!   prebuilt one) unless rustup has a wasm32 target, chromium + chromedriver, wasm-bindgen-cli
//!   at the Cargo.lock version, trunk, and the npm tooling (playwright-core, binaryen's wasm-opt).
//! * `dist` — the MV3 extension in `dist/extension/` (+ Firefox variant) and zips.
//! * `demo` — build, start the mock gateway, open the extension against it.
//! * `test` — crate layering, fmt, clippy, native tests, wasm tests in headless Chromium,
//!   end-to-end tests.
//! * `layers` — only the crate layering check (pure core and types; no engine in the UI).
//! * `bench` — every benchmark; rewrites BENCHMARKS.md.
//! * `fresh-check` — the README's first command in a fresh clone with an empty cargo registry.
//! * `size` — what the two wasm modules are made of (twiggy), per crate and per function.

mod bench;
mod build;
#[cfg(test)]
mod checks;
mod fresh;
mod fuzz;
mod layers;
mod proc;
mod setup;
mod size;

use std::path::PathBuf;
use std::process::ExitCode;

pub type Result<T = ()> = std::result::Result<T, String>;

fn usage() -> &'static str {
    "usage: cargo xtask <command>

commands:
  setup            install the toolchain and test tools (idempotent)
  dist             build the extension into dist/ (Chrome + Firefox, unpacked and zipped)
  demo             build, start the demo gateway and open the extension against it
                   (headless without a display: saves screenshots under target/demo/)
  test [--quick]   crate layering, fmt, clippy, native tests, wasm tests, end-to-end tests
                   (--quick: skip the wasm and browser parts)
  e2e [FILE…]      only the end-to-end browser tests (builds what they need);
                   FILE: run these test files (tests/e2e/*.test.mjs) only
  layers           check the crate layering only: msync-types and msync-core depend on no I/O
                   crate, msync-ui does not depend on msync-core (part of test)
  bench            run every benchmark and rewrite BENCHMARKS.md (see xtask/src/bench.rs)
  fresh-check [demo|test|dist|e2e] [--keep]
                   clone HEAD into a temporary folder and run that command there with an
                   empty CARGO_HOME (installed tools reused), as a new user would (default demo)
  size [--no-build]
                   build the extension and print what its wasm is made of (twiggy);
                   --no-build: measure the last build as it is
  fuzz [--seconds N] [--target a,b] [--record-seeds]
                   run every cargo-fuzz target N seconds (default 60; not part of test)"
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::setup(),
        Some("dist") => build::dist().map(|_| ()),
        Some("demo") => build::demo(),
        Some("test") => build::test(args.iter().any(|a| a == "--quick")),
        Some("layers") => layers::check(),
        Some("e2e") => build::e2e(&args[1..]),
        Some("bench") => bench::bench(),
        Some("size") => size::size(args.iter().any(|a| a == "--no-build")),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("fresh-check") => fresh::fresh_check(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            println!("{}", usage());
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{}", usage())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

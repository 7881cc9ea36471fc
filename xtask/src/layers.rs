//! The crate layering `cargo xtask test` holds the tree to (ARCHITECTURE.md):
//!
//! * `msync-types` (the vocabulary) and `msync-core` (the engine) are pure: no crate that does
//!   I/O or binds a platform (an async runtime, an HTTP client, the browser bindings) anywhere in
//!   their normal dependency trees, on any target (one narrow exception, [`ALLOWED_VIA`]: libc
//!   reached only through `cpufeatures`, sha2's CPU feature probe);
//! * `msync-ui` (options page and popup) renders and sends the vocabulary only: `msync-core`
//!   (engine, adapters, ratio apply) is not in its tree.
//!
//! Read from `cargo tree`, so a dependency that arrives transitively counts too.

use crate::proc::{describe, native_cargo};
use crate::Result;
use std::collections::BTreeSet;

/// Crates that do I/O or bind a platform; none may be in the pure crates' trees.
const IO_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "async-std",
    "smol",
    "reqwest",
    "hyper",
    "ureq",
    "wasm-bindgen",
    "wasm-bindgen-futures",
    "js-sys",
    "web-sys",
    "gloo-timers",
    "gloo-storage",
    "gloo-net",
    "getrandom",
    "libc",
];

const PURE: &[&str] = &["msync-types", "msync-core"];

/// A forbidden crate a pure crate may reach only through one crate that does no I/O with it:
/// `(forbidden, only through, why)`. Reached through anything else, it is still a violation.
const ALLOWED_VIA: &[(&str, &str, &str)] = &[(
    "libc",
    "cpufeatures",
    "sha2 (the webhook signature, crates/core/src/notify) asks the CPU whether it has SHA \
     instructions: `getauxval` on aarch64 Linux, no I/O",
)];

/// The package names `cargo tree` prints for `package`'s normal dependencies on every target,
/// one per line, with `extra` arguments (an inversion, a depth).
fn tree_names(package: &str, extra: &[&str]) -> Result<BTreeSet<String>> {
    let mut cmd = native_cargo();
    cmd.args(["tree", "--package", package])
        .args(extra)
        .args(["--edges", "normal", "--target", "all"])
        .args(["--prefix", "none", "--format", "{p}"]);
    let out = cmd
        .output()
        .map_err(|e| format!("could not start {}: {e}", describe(&cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            describe(&cmd),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// The package names in `package`'s normal dependency tree on every target (itself included).
fn tree(package: &str) -> Result<BTreeSet<String>> {
    tree_names(package, &[])
}

/// The crates that depend on `krate` directly in `package`'s normal tree (every target).
fn dependents(package: &str, krate: &str) -> Result<BTreeSet<String>> {
    let mut names = tree_names(package, &["--invert", krate, "--depth", "1"])?;
    names.remove(krate);
    Ok(names)
}

/// Whether `krate`, whose direct dependents are `dependents`, is reached only the way
/// [`ALLOWED_VIA`] allows.
fn excused(krate: &str, dependents: &BTreeSet<String>) -> bool {
    ALLOWED_VIA.iter().any(|(f, via, _)| {
        *f == krate && !dependents.is_empty() && dependents.iter().all(|d| d == via)
    })
}

fn violations(
    package: &str,
    names: &BTreeSet<String>,
    forbidden: &[&str],
    why: &str,
) -> Vec<String> {
    forbidden
        .iter()
        .filter(|f| names.contains(**f))
        .map(|f| format!("{package} depends on {f} ({why})"))
        .collect()
}

/// Fail when a pure crate reaches an I/O crate, or the UI reaches the engine.
pub fn check() -> Result {
    let mut problems = Vec::new();
    for p in PURE {
        let mut names = tree(p)?;
        if !names.contains(*p) {
            return Err(format!("cargo tree -p {p} did not list {p} itself"));
        }
        for (f, _, _) in ALLOWED_VIA {
            if names.contains(*f) && excused(f, &dependents(p, f)?) {
                names.remove(*f);
            }
        }
        problems.extend(violations(
            p,
            &names,
            IO_CRATES,
            "it must stay pure: I/O only through its traits",
        ));
    }
    let ui = tree("msync-ui")?;
    if !ui.contains("msync-types") {
        return Err("cargo tree -p msync-ui did not list msync-types".into());
    }
    problems.extend(violations(
        "msync-ui",
        &ui,
        &["msync-core"],
        "pages depend on the vocabulary, msync-types, only",
    ));
    if problems.is_empty() {
        eprintln!("layers: msync-types and msync-core are pure; msync-ui has no msync-core");
        Ok(())
    } else {
        Err(format!(
            "crate layering broken:\n  {}",
            problems.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forbidden_crate_in_the_tree_is_reported() {
        let names: BTreeSet<String> = ["msync-core", "serde", "tokio"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            violations("msync-core", &names, IO_CRATES, "pure"),
            ["msync-core depends on tokio (pure)"]
        );
        let clean: BTreeSet<String> = ["msync-core", "serde"]
            .into_iter()
            .map(String::from)
            .collect();
        assert!(violations("msync-core", &clean, IO_CRATES, "pure").is_empty());
    }

    #[test]
    fn libc_is_excused_only_through_cpufeatures() {
        let set = |v: &[&str]| {
            v.iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<String>>()
        };
        assert!(excused("libc", &set(&["cpufeatures"])));
        assert!(!excused("libc", &set(&["cpufeatures", "mio"])));
        assert!(!excused("libc", &set(&["getrandom"])));
        assert!(!excused("libc", &set(&[])));
        assert!(!excused("tokio", &set(&["cpufeatures"])));
    }
}

//! Checks on the source tree that no compiler makes (run by `cargo test --workspace`, so by
//! `cargo xtask test --quick` too).
//!
//! **One home per site type.** What differs between gateways lives in the gateway's adapter
//! (`crates/core/src/gateway/`) and its `Capabilities` (`crates/types/src/gateway/capabilities.rs`);
//! the CLI, the worker, the UI and the rest of core read `Capabilities` instead of asking which
//! site type they have. A site-type variant
//! (`SiteKind::Octopus`) named anywhere else — a `match`, a `==`, a `matches!` — is a place a
//! sixth gateway would have to be added by hand, so it fails here.

use std::path::{Path, PathBuf};

/// Where naming a site type is the point, and why.
const ALLOWED: &[(&str, &str)] = &[
    (
        "crates/core/src/gateway/",
        "the adapters and the `connect` registry",
    ),
    (
        "crates/types/src/gateway/capabilities.rs",
        "each site type's capabilities and their registry",
    ),
    (
        "crates/types/src/model.rs",
        "the definition of `SiteKind` (names and labels)",
    ),
    (
        "crates/core/src/import/all_api_hub.rs",
        "All API Hub's own names for the site types and what it did per type",
    ),
    (
        "crates/types/src/import/all_api_hub.rs",
        "All API Hub's own names for the site types",
    ),
    ("crates/mockgw/", "the mock's flavours (one per gateway)"),
    (
        "crates/core/src/crash.rs",
        "test infrastructure: the crash matrices run a New API site",
    ),
    (
        "crates/core/src/sim.rs",
        "test infrastructure: the virtual-time executor",
    ),
];

const VARIANTS: &[&str] = &["NewApi", "Veloera", "DoneHub", "Octopus", "AxonHub"];

/// `file:line: text` for every site-type variant named outside [`ALLOWED`], test code left out
/// (files named `tests.rs`, `*_tests.rs`, `testing.rs`, and everything after a file's top-level
/// `#[cfg(test)]`, which clippy keeps last).
pub fn site_kind_outside_adapters(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    collect_rs(&root.join("crates"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let in_src = rel.contains("/src/");
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let test_file = name == "tests.rs" || name.ends_with("_tests.rs") || name == "testing.rs";
        if !in_src || test_file || ALLOWED.iter().any(|(p, _)| rel.starts_with(p)) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        found.extend(scan(&rel, &text));
    }
    found
}

fn scan(rel: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let named = VARIANTS
            .iter()
            .any(|v| code.contains(&format!("SiteKind::{v}")))
            || code.contains("SiteKind::*");
        if named {
            found.push(format!("{rel}:{}: {}", i + 1, line.trim()));
        }
    }
    found
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_types_are_named_only_by_their_adapters() {
        let found = site_kind_outside_adapters(&crate::root());
        assert!(
            found.is_empty(),
            "read `msync_core::gateway::capabilities(kind)` instead of naming a site type here \
             (xtask/src/checks.rs says why):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_scan_sees_matches_and_comparisons_but_not_tests_or_comments() {
        let text = "fn a(k: SiteKind) -> bool {\n    matches!(k, SiteKind::Octopus)\n}\n\
                    // SiteKind::NewApi in a comment\n\
                    fn b(k: SiteKind) -> bool { k == SiteKind::NewApi }\n\
                    #[cfg(test)]\nmod tests { const K: SiteKind = SiteKind::AxonHub; }\n";
        let found = scan("crates/ui/src/x.rs", text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("crates/ui/src/x.rs:2:"));
        assert!(found[1].starts_with("crates/ui/src/x.rs:5:"));
    }
}

//! What the two wasm modules are made of: the largest functions and data, and each crate's
//! share, measured with twiggy (`cargo xtask size`, and a section of `cargo xtask bench`).
//!
//! The shipped files carry no names (wasm-opt drops the name section), so each module is
//! measured as a twin built the same way with names kept: the release `cargo` output →
//! `wasm-bindgen --target web` → `wasm-opt -Oz --debuginfo`. Its code and data are the shipped
//! module's (the table shows both sizes); the name section itself is left out of every sum.
//!
//! Sizes are twiggy's *shallow* sizes: the bytes of each function body or data segment itself.
//! A crate's share is the sum over the functions it owns. Generic code is owned by the type
//! it was instantiated for when that type is not std's (`<msync_core::X as serde::Serialize>`
//! is msync_core; `<alloc::vec::Vec<T> as serde::Serialize>` is serde), drop glue by the type
//! it drops.

use crate::proc::{cargo_bin_dir, output, run, wasm_cmd};
use crate::{root, setup, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Installed from crates.io with `cargo install --locked` when missing (never a prebuilt binary).
pub const TWIGGY_VERSION: &str = "0.8.0";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
const TOP_ITEMS: usize = 15;
const TOP_CRATES: usize = 16;

/// The two modules: label, cargo's output file stem, the shipped file under dist/extension.
const MODULES: [(&str, &str, &str); 2] = [
    ("options page + popup", "msync_ui", "msync-ui_bg.wasm"),
    (
        "service worker",
        "msync_worker",
        "worker/msync_worker_bg.wasm",
    ),
];

/// Measured the same way on main at e7e8bc5, before issue 18 (rlib + cdylib, panic=abort,
/// serde-wasm-bindgen, `regex`): shipped bytes, gzip -9, and the crates then largest.
const BEFORE_COMMIT: &str = "e7e8bc5";
/// (shipped bytes, gzip -9 bytes, (crate, bytes) of the largest crates)
type Baseline = (u64, u64, &'static [(&'static str, u64)]);
const BEFORE: [Baseline; 2] = [
    (
        1_700_905,
        613_700,
        &[
            ("msync_ui", 383_300),
            ("(data segments: strings, tables)", 215_700),
            ("tachys", 208_300),
            ("serde", 175_800),
            ("msync_core", 148_700),
            ("reactive_graph", 145_100),
            ("core", 141_500),
            ("leptos", 43_400),
            ("alloc", 40_400),
            ("url", 31_500),
            ("(imports, exports, types, tables)", 30_800),
            ("(unnamed functions)", 21_300),
            ("hashbrown", 12_800),
            ("either_of", 12_300),
        ],
    ),
    (
        1_755_900,
        680_100,
        &[
            ("msync_core", 483_100),
            ("(data segments: strings, tables)", 289_400),
            ("core", 172_400),
            ("js_sys", 146_000),
            ("serde_json", 130_700),
            ("msync_worker", 125_600),
            ("regex_automata", 81_500),
            ("regex_syntax", 69_100),
            ("serde", 54_900),
            ("alloc", 50_400),
            ("url", 34_700),
            ("(imports, exports, types, tables)", 22_200),
            ("hashbrown", 22_200),
            ("serde_wasm_bindgen", 21_000),
        ],
    ),
];

fn twiggy() -> Result<PathBuf> {
    let bin = cargo_bin_dir().join("twiggy");
    // It answers `twiggy-opt 0.8.0`.
    let version = output(Command::new(&bin).arg("--version"));
    if version.is_some_and(|v| v.split_whitespace().last() == Some(TWIGGY_VERSION)) {
        return Ok(bin);
    }
    eprintln!("size: compiling twiggy {TWIGGY_VERSION} from crates.io (≈ 2 min on 2 cores)");
    setup::cargo_install(&["twiggy", "--version", TWIGGY_VERSION, "--locked"])?;
    Ok(bin)
}

struct Item {
    name: String,
    bytes: u64,
}

/// twiggy's `top` of a module, every item.
fn items(twiggy: &Path, wasm: &Path) -> Result<Vec<Item>> {
    let out = Command::new(twiggy)
        .args(["top", "--format", "json"])
        .arg(wasm)
        .output()
        .map_err(|e| format!("twiggy: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "twiggy top {} failed: {}",
            wasm.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("twiggy output: {e}"))?;
    Ok(v.as_array()
        .ok_or("twiggy output is not a list")?
        .iter()
        .filter_map(|i| {
            Some(Item {
                name: i.get("name")?.as_str()?.to_string(),
                bytes: i.get("shallow_size")?.as_u64()?,
            })
        })
        .collect())
}

/// The name section and the other custom sections the shipped module does not carry.
fn is_names(name: &str) -> bool {
    name.ends_with(" subsection")
        || name.starts_with("custom section")
        || name == "producers"
        || name == "target_features"
}

/// `core::fmt::write::h0123456789abcdef` → `core::fmt::write`.
fn strip_hash(name: &str) -> &str {
    match name.rfind("::h") {
        Some(i) if name.len() - i == 19 && name[i + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => {
            &name[..i]
        }
        _ => name,
    }
}

const STD: [&str; 5] = ["core", "alloc", "std", "compiler_builtins", "dlmalloc"];

/// The crate a path starts with (`msync_core::engine::Engine` → `msync_core`), or None for a
/// primitive (`str`, `[T]`, `&T`…).
fn path_crate(path: &str) -> Option<&str> {
    let p = path.trim_start_matches(['&', '*', ' ']);
    let p = p
        .strip_prefix("mut ")
        .or_else(|| p.strip_prefix("const "))
        .or_else(|| p.strip_prefix("dyn "))
        .unwrap_or(p);
    if p.starts_with('<') {
        return owner(p);
    }
    let end = p.find("::")?;
    let head = &p[..end];
    (!head.is_empty() && head.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(head)
}

/// `<A as B>::f` → (A, B), with nested brackets balanced.
fn split_qualified(name: &str) -> Option<(&str, &str)> {
    let inner = name.strip_prefix('<')?;
    let mut depth = 0usize;
    let bytes = inner.as_bytes();
    let mut as_at = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' if depth == 0 => {
                let a_end = as_at.unwrap_or(i);
                let a = &inner[..a_end];
                let b = as_at.map(|s| &inner[s + 4..i]).unwrap_or("");
                return Some((a, b));
            }
            b'>' | b')' | b']' => depth = depth.saturating_sub(1),
            b' ' if depth == 0 && inner[i..].starts_with(" as ") => as_at = Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The crate a function belongs to, for the per-crate table.
fn owner(name: &str) -> Option<&str> {
    let name = strip_hash(name);
    if let Some(rest) = name.strip_prefix("core::ptr::drop_in_place<") {
        return path_crate(rest).or(Some("core"));
    }
    if let Some((a, b)) = split_qualified(name) {
        let a_crate = path_crate(a);
        // `<PhantomData<msync_core::X> as serde::DeserializeSeed>`: the type argument's crate.
        let a_arg = a
            .find('<')
            .and_then(|i| path_crate(&a[i + 1..]))
            .filter(|c| !STD.contains(c));
        return match a_crate {
            Some(c) if !STD.contains(&c) => Some(c),
            _ => a_arg.or_else(|| path_crate(b)).or(a_crate),
        };
    }
    path_crate(name)
}

/// v0 symbol names carry a disambiguator per crate (`msync_ui[35e429b337ddefdb]::api`): drop it.
fn strip_disambiguators(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        match tail.find(']') {
            Some(j) if j > 0 && tail[..j].bytes().all(|b| b.is_ascii_hexdigit()) => {
                rest = &tail[j + 1..];
            }
            _ => {
                out.push('[');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

fn group(name: &str) -> String {
    if name.starts_with("data[") || name.starts_with("data segment") {
        return "(data segments: strings, tables)".into();
    }
    if name.starts_with("code[") {
        return "(unnamed functions)".into();
    }
    let name = &strip_disambiguators(name);
    if name.starts_with("__wbg_") || name.starts_with("__wbindgen") {
        return "wasm_bindgen".into();
    }
    match owner(name) {
        Some(c) => c.to_string(),
        None => "(imports, exports, types, tables)".into(),
    }
}

fn kb(bytes: u64) -> String {
    format!("{:.1} kB", bytes as f64 / 1e3)
}

fn pct(part: u64, total: u64) -> String {
    format!("{:.1} %", 100.0 * part as f64 / total.max(1) as f64)
}

fn cell(name: &str) -> String {
    let short: String = if name.chars().count() > 100 {
        name.chars().take(99).chain(['…']).collect()
    } else {
        name.to_string()
    };
    format!("`{}`", short.replace('|', "\\|").replace('`', "'"))
}

/// Build the named twins of both modules (the release cargo output must exist: run after
/// `cargo xtask dist`) and describe them.
pub fn breakdown(ext: &Path) -> Result<String> {
    let twiggy = twiggy()?;
    let work = root().join("target/size");
    fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let mut md = String::new();
    md.push_str("### Wasm size breakdown (twiggy)\n\n");
    let _ = writeln!(
        md,
        "`xtask/src/size.rs` (twiggy {TWIGGY_VERSION}; `cargo xtask size` prints this section alone). Each module is\n\
         rebuilt with names kept (release cargo output → wasm-bindgen → `wasm-opt -Oz --debuginfo`) and\n\
         measured with `twiggy top`: shallow sizes, the name section left out. A crate's share is the sum of\n\
         the functions it owns; generic code belongs to the non-std type it was instantiated for\n\
         (`<msync_core::X as serde::Serialize>` is msync_core), drop glue to the type it drops.\n"
    );
    for ((label, stem, shipped), (before_size, before_gz, before_crates)) in
        MODULES.into_iter().zip(BEFORE)
    {
        let raw = root().join(format!("target/{WASM_TARGET}/release/{stem}.wasm"));
        if !raw.exists() {
            return Err(format!(
                "{} is missing: run `cargo xtask dist` first",
                raw.display()
            ));
        }
        let dir = work.join(stem);
        let bg = dir.join(format!("{stem}_bg.wasm"));
        let named = dir.join(format!("{stem}_named.wasm"));
        let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
        // wasm-opt takes a minute per module: keep the twin while the cargo output is older.
        if modified(&named).is_none() || modified(&named) < modified(&raw) {
            run(wasm_cmd(cargo_bin_dir().join("wasm-bindgen"))
                .args(["--target", "web", "--no-typescript", "--out-dir"])
                .arg(&dir)
                .arg(&raw))?;
            run(wasm_cmd(root().join("node_modules/.bin/wasm-opt"))
                .args(["-Oz", "--debuginfo"])
                .arg(&bg)
                .arg("-o")
                .arg(&named))?;
        }
        let all = items(&twiggy, &named)?;
        let mut body: Vec<&Item> = all.iter().filter(|i| !is_names(&i.name)).collect();
        body.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
        let total: u64 = body.iter().map(|i| i.bytes).sum();
        let shipped_size = fs::metadata(ext.join(shipped)).map(|m| m.len()).ok();
        let mut per_crate: BTreeMap<String, u64> = BTreeMap::new();
        for i in &body {
            *per_crate.entry(group(&i.name)).or_default() += i.bytes;
        }
        let mut ranked: Vec<(&String, &u64)> = per_crate.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));

        let _ = writeln!(
            md,
            "#### {label} (`{shipped}`)\n\n\
             {} of code and data in {} items (shipped file: {}; before issue 18, at {BEFORE_COMMIT}:\n\
             {}, {} gzip -9).\n",
            kb(total),
            body.len(),
            shipped_size.map(kb).unwrap_or_else(|| "—".into()),
            kb(before_size),
            kb(before_gz),
        );
        md.push_str("| crate | size | share | before |\n|---|---:|---:|---:|\n");
        let before_of = |c: &str| {
            before_crates
                .iter()
                .find(|(n, _)| *n == c)
                .map(|(_, b)| kb(*b))
                .unwrap_or_else(|| "—".into())
        };
        let mut rest = 0u64;
        for (i, (c, b)) in ranked.iter().enumerate() {
            if i < TOP_CRATES {
                let _ = writeln!(
                    md,
                    "| {c} | {} | {} | {} |",
                    kb(**b),
                    pct(**b, total),
                    before_of(c)
                );
            } else {
                rest += **b;
            }
        }
        // Crates that were among the largest before and are now gone or small.
        for (c, b) in before_crates.iter() {
            if !ranked
                .iter()
                .take(TOP_CRATES)
                .any(|(n, _)| n.as_str() == *c)
            {
                let now = per_crate.get(*c).copied().unwrap_or(0);
                rest = rest.saturating_sub(now);
                let _ = writeln!(
                    md,
                    "| {c} | {} | {} | {} |",
                    kb(now),
                    pct(now, total),
                    kb(*b)
                );
            }
        }
        if rest > 0 {
            let _ = writeln!(md, "| others | {} | {} | |", kb(rest), pct(rest, total));
        }
        md.push_str("\n| largest items | size | share |\n|---|---:|---:|\n");
        for i in body.iter().take(TOP_ITEMS) {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                cell(strip_hash(&strip_disambiguators(&i.name))),
                kb(i.bytes),
                pct(i.bytes, total)
            );
        }
        md.push('\n');
    }
    Ok(md)
}

/// `cargo xtask size [--no-build]`: build the extension (or take the last build) and print
/// the breakdown.
pub fn size(no_build: bool) -> Result {
    let ext = if no_build {
        root().join("dist/extension")
    } else {
        crate::build::dist()?
    };
    println!("{}", breakdown(&ext)?.trim_end());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_grouped_by_the_crate_that_owns_them() {
        let cases = [
            ("core::fmt::write::h0123456789abcdef", "core"),
            ("msync_core::engine::Engine::run::h0123456789abcdef", "msync_core"),
            (
                "<msync_core::protocol::Reply as serde::ser::Serialize>::serialize::h0123456789abcdef",
                "msync_core",
            ),
            (
                "<alloc::vec::Vec<T> as serde::ser::Serialize>::serialize::h0123456789abcdef",
                "serde",
            ),
            ("<&T as core::fmt::Debug>::fmt::h0123456789abcdef", "core"),
            (
                "core::ptr::drop_in_place<leptos::view::View<()>>::h0123456789abcdef",
                "leptos",
            ),
            (
                "<serde_json::de::Deserializer<R> as serde::de::Deserializer>::deserialize_any",
                "serde_json",
            ),
            (
                "<core::marker::PhantomData<msync_core::engine::record::Job> as serde_core::de::DeserializeSeed>::deserialize",
                "msync_core",
            ),
            ("data[3]", "(data segments: strings, tables)"),
            (
                "data segment \".rodata.236\"",
                "(data segments: strings, tables)",
            ),
            (
                "<msync_core[96762cb419c99582]::protocol::Reply as serde_core[713dc5114cc3d0ee]::ser::Serialize>::serialize",
                "msync_core",
            ),
            (
                "js_sys[e851790fe8efae00]::futures::future_to_promise::<msync_worker[ffc028fb9ff38662]::exports::X>",
                "js_sys",
            ),
            ("__wbg_call_12345", "wasm_bindgen"),
            ("code[17]", "(unnamed functions)"),
            ("export \"memory\"", "(imports, exports, types, tables)"),
        ];
        for (name, want) in cases {
            assert_eq!(group(name), want, "{name}");
        }
        assert!(is_names("\"function names\" subsection"));
        assert!(!is_names("data[0]"));
    }
}

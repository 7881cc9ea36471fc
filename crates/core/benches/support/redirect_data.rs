//! The redirect benchmark's data: 1,000 channels × 300 models × 50 standard models, generated
//! from a fixed seed. Shared by the native benchmark (`benches/redirect.rs`) and the wasm one
//! (`crates/worker/tests/bench_redirect.rs`), so both time the same work.

use msync_core::redirect::presets;

pub const CHANNELS: usize = 1_000;
pub const MODELS: usize = 300;
pub const STANDARDS: usize = 50;

pub struct Lcg(u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() as usize) % n
    }
}

/// Names a gateway would list: the standard models in vendor/suffix/date/case variants, plus
/// other versions and unrelated models.
pub fn pool(standards: &[String], r: &mut Lcg) -> Vec<String> {
    let mut out = Vec::new();
    for s in standards {
        out.push(format!("openai/{s}"));
        out.push(format!("{s}:free"));
        out.push(format!("{s}-20250101"));
        out.push(format!("{s}-2024-08-06"));
        out.push(s.to_uppercase());
        out.push(format!("{s}-thinking"));
        out.push(format!("{s}-preview"));
    }
    const FAMILIES: &[&str] = &[
        "gpt", "claude", "gemini", "glm", "qwen", "deepseek", "llama", "mistral", "grok", "kimi",
        "doubao", "yi", "ernie", "hunyuan", "step", "minimax",
    ];
    const WORDS: &[&str] = &[
        "mini",
        "pro",
        "flash",
        "sonnet",
        "opus",
        "haiku",
        "chat",
        "coder",
        "instruct",
        "vision",
        "turbo",
        "air",
        "max",
        "plus",
        "lite",
        "reasoning",
    ];
    while out.len() < 4_000 {
        let f = FAMILIES[r.below(FAMILIES.len())];
        let w = WORDS[r.below(WORDS.len())];
        let (a, b) = (r.below(6), r.below(10));
        let name = match r.below(4) {
            0 => format!("{f}-{a}.{b}-{w}"),
            1 => format!("vendor{}/{f}-{a}-{b}-{w}", r.below(9)),
            2 => format!(
                "{f}-{w}-{a}-{b}-2025{:02}{:02}",
                r.below(12) + 1,
                r.below(28) + 1
            ),
            _ => format!("{f}{a}-{b}b-{w}:free"),
        };
        out.push(name);
    }
    out
}

pub struct Data {
    pub standards: Vec<String>,
    /// Distinct names the shared-pool channels draw from.
    pub pool_len: usize,
    /// Channel model lists drawn from a shared pool (names repeat across channels, as on a real site).
    pub shared: Vec<Vec<String>>,
    /// Every one of the 300,000 names different (no cache help: the worst case).
    pub distinct: Vec<Vec<String>>,
}

pub fn data() -> Data {
    let standards: Vec<String> = presets::all_preset_models()
        .into_iter()
        .take(STANDARDS)
        .collect();
    assert_eq!(standards.len(), STANDARDS);
    let mut r = Lcg(2026);
    let pool = pool(&standards, &mut r);
    let shared: Vec<Vec<String>> = (0..CHANNELS)
        .map(|_| {
            (0..MODELS)
                .map(|_| pool[r.below(pool.len())].clone())
                .collect()
        })
        .collect();
    let distinct: Vec<Vec<String>> = (0..CHANNELS)
        .map(|c| {
            (0..MODELS)
                .map(|m| {
                    let base = &pool[r.below(pool.len())];
                    format!("ch{c}m{m}/{base}")
                })
                .collect()
        })
        .collect();
    Data {
        standards,
        pool_len: pool.len(),
        shared,
        distinct,
    }
}

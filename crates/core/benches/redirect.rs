//! Redirect matcher benchmark: 1,000 channels × 300 models × 50 standard models.
//!
//! `cargo bench -p msync-core --bench redirect`. std::time only; prints markdown table rows.
//! Three cases:
//! * `shared pool` — channel model names drawn from a pool of a few thousand distinct ids, as on a
//!   real site where channels repeat the same upstream names (the parse cache helps here);
//! * `all distinct` — every one of the 300,000 names is different (no cache help: worst case);
//! * `plan` — the full `plan_redirect` (match + merge + models list) on the shared pool.

use msync_core::gateway::Capabilities;
use msync_core::model::{Channel, ChannelId, Mapping, SiteKind};
use msync_core::redirect::{
    plan_redirect, presets, ApplyOptions, MatchOptions, Matcher, PlanStatus,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

const CHANNELS: usize = 1_000;
const MODELS: usize = 300;
const STANDARDS: usize = 50;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() as usize) % n
    }
}

/// Names a gateway would list: the standard models in vendor/suffix/date/case variants, plus
/// other versions and unrelated models.
fn pool(standards: &[String], r: &mut Lcg) -> Vec<String> {
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

fn channel(i: usize, models: Vec<String>) -> Channel {
    Channel {
        id: ChannelId(i.to_string()),
        name: format!("channel {i}"),
        enabled: true,
        channel_type: "1".into(),
        upstream_base_url: None,
        models,
        mapping: Mapping::Empty,
        tag: None,
    }
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        last = Some(v);
    }
    (best, last.expect("runs > 0"))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
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

    println!("| case | size | time (best of 5) | mappings |");
    println!("|---|---|---|---|");

    // a run builds its matcher once and matches every channel
    let (t, mapped) = best_of(5, || {
        let m = Matcher::new(&standards, &[], MatchOptions::default());
        shared
            .iter()
            .map(|models| black_box(m.match_models(models)).mapping.len())
            .sum::<usize>()
    });
    println!(
        "| redirect match, shared pool ({} distinct names) | {CHANNELS} ch × {MODELS} models × {STANDARDS} std | {} | {mapped} |",
        pool.len(),
        ms(t)
    );

    let (t, mapped) = best_of(5, || {
        let m = Matcher::new(&standards, &[], MatchOptions::default());
        distinct
            .iter()
            .map(|models| black_box(m.match_models(models)).mapping.len())
            .sum::<usize>()
    });
    println!(
        "| redirect match, all names distinct | {CHANNELS} ch × {MODELS} models × {STANDARDS} std | {} | {mapped} |",
        ms(t)
    );

    let channels: Vec<Channel> = shared
        .iter()
        .enumerate()
        .map(|(i, m)| channel(i, m.clone()))
        .collect();
    let caps = Capabilities {
        model_mapping: true,
        ratio_sync: true,
        aliases_must_be_listed: true,
    };
    let (t, changed) = best_of(5, || {
        let m = Matcher::new(&standards, &[], MatchOptions::default());
        channels
            .iter()
            .map(|c| plan_redirect(&m, c, &caps, SiteKind::NewApi, &ApplyOptions::default()))
            .filter(|p| p.status == PlanStatus::Change)
            .count()
    });
    println!(
        "| redirect plan (match + merge + models), shared pool | {CHANNELS} ch × {MODELS} models × {STANDARDS} std | {} | {changed} channels changed |",
        ms(t)
    );
}

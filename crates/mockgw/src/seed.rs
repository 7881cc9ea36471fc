//! Deterministic, believable seed data, independent of any flavour.
//!
//! Every flavour turns these [`SeedChannel`]s into its own JSON shape (see `flavors/*`). The same
//! `--seed` always gives the same channels and the same upstream model lists, so tests and the
//! demo can rely on them.

/// A tiny deterministic PRNG (SplitMix64); no `rand` dependency and stable across versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(len);
        s
    }
}

/// The upstream family of a channel; decides its type number/name in each flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    OpenAi,
    Anthropic,
    OpenRouter,
    DeepSeek,
    Gemini,
    Moonshot,
    Zhipu,
    Ali,
    SiliconFlow,
    Xai,
    Mistral,
    Ollama,
    /// An OpenAI-compatible reseller/relay that serves many vendors' models.
    Relay,
}

impl Vendor {
    /// New API `type` (`constant/channel.go`; `docs/admin-apis.md` §1.1). Relays and Groq-likes use OpenAI (1).
    pub fn new_api_type(self) -> i64 {
        match self {
            Vendor::OpenAi | Vendor::Relay => 1,
            Vendor::Ollama => 4,
            Vendor::Anthropic => 14,
            Vendor::Ali => 17,
            Vendor::OpenRouter => 20,
            Vendor::Gemini => 24,
            Vendor::Moonshot => 25,
            Vendor::Zhipu => 26,
            Vendor::SiliconFlow => 40,
            Vendor::Mistral => 42,
            Vendor::DeepSeek => 43,
            Vendor::Xai => 48,
        }
    }

    /// Octopus v0.10+ `type` string (`docs/admin-apis.md` §4.2).
    pub fn octopus_type(self) -> &'static str {
        match self {
            Vendor::Anthropic => "anthropic",
            Vendor::Gemini => "gemini",
            _ => "openai",
        }
    }

    /// AxonHub channel `type` enum value (`docs/admin-apis.md` §5.2).
    pub fn axonhub_type(self) -> &'static str {
        match self {
            Vendor::OpenAi | Vendor::Relay | Vendor::Mistral | Vendor::Ollama => "openai",
            Vendor::Anthropic => "anthropic",
            Vendor::OpenRouter => "openrouter",
            Vendor::DeepSeek => "deepseek",
            Vendor::Gemini => "gemini",
            Vendor::Moonshot => "moonshot",
            Vendor::Zhipu => "zhipu",
            Vendor::Ali => "bailian",
            Vendor::SiliconFlow => "siliconflow",
            Vendor::Xai => "xai",
        }
    }

    fn key_prefix(self) -> &'static str {
        match self {
            Vendor::Anthropic => "sk-ant-api03-",
            Vendor::OpenRouter => "sk-or-v1-",
            Vendor::Gemini => "AIza",
            Vendor::Xai => "xai-",
            _ => "sk-",
        }
    }

    /// What the vendor's `/v1/models` serves (vendor-style ids, dated snapshots, `:free`).
    pub fn catalog(self) -> &'static [&'static str] {
        match self {
            Vendor::OpenAi => &[
                "gpt-4o",
                "gpt-4o-2024-08-06",
                "gpt-4o-2024-11-20",
                "gpt-4o-mini",
                "gpt-4o-mini-2024-07-18",
                "chatgpt-4o-latest",
                "gpt-4.1",
                "gpt-4.1-2025-04-14",
                "gpt-4.1-mini",
                "gpt-4.1-nano",
                "gpt-5",
                "gpt-5-2025-08-07",
                "gpt-5-mini",
                "gpt-5-nano",
                "o3",
                "o3-mini",
                "o4-mini",
                "o4-mini-2025-04-16",
                "gpt-3.5-turbo",
                "text-embedding-3-small",
                "text-embedding-3-large",
                "whisper-1",
                "tts-1",
                "dall-e-3",
            ],
            Vendor::Anthropic => &[
                "claude-sonnet-4-5-20250929",
                "claude-haiku-4-5-20251001",
                "claude-opus-4-1-20250805",
                "claude-opus-4-20250514",
                "claude-sonnet-4-20250514",
                "claude-3-7-sonnet-20250219",
                "claude-3-5-haiku-20241022",
                "claude-3-5-sonnet-20241022",
            ],
            Vendor::OpenRouter => &[
                "openai/gpt-4o",
                "openai/gpt-4o-mini",
                "openai/gpt-5",
                "openai/gpt-oss-120b:free",
                "anthropic/claude-sonnet-4.5",
                "anthropic/claude-opus-4.1",
                "google/gemini-2.5-pro",
                "google/gemini-2.5-flash",
                "google/gemini-2.0-flash-exp:free",
                "deepseek/deepseek-chat-v3.1:free",
                "deepseek/deepseek-r1:free",
                "deepseek/deepseek-chat-v3-0324",
                "meta-llama/llama-3.3-70b-instruct:free",
                "meta-llama/llama-4-maverick",
                "qwen/qwen3-coder:free",
                "qwen/qwen3-235b-a22b-2507",
                "mistralai/mistral-small-3.2-24b-instruct:free",
                "z-ai/glm-4.5-air:free",
                "moonshotai/kimi-k2:free",
                "x-ai/grok-4",
                "x-ai/grok-code-fast-1",
            ],
            Vendor::DeepSeek => &["deepseek-chat", "deepseek-reasoner"],
            Vendor::Gemini => &[
                "gemini-2.5-pro",
                "gemini-2.5-flash",
                "gemini-2.5-flash-lite",
                "gemini-2.5-flash-preview-09-2025",
                "gemini-2.0-flash",
                "gemini-2.0-flash-001",
                "gemini-2.0-flash-lite",
                "gemini-embedding-001",
                "text-embedding-004",
            ],
            Vendor::Moonshot => &[
                "kimi-k2-0905-preview",
                "kimi-k2-0711-preview",
                "kimi-k2-turbo-preview",
                "kimi-latest",
                "moonshot-v1-8k",
                "moonshot-v1-32k",
                "moonshot-v1-128k",
            ],
            Vendor::Zhipu => &[
                "glm-4.6",
                "glm-4.5",
                "glm-4.5-air",
                "glm-4.5-flash",
                "glm-4-plus",
                "glm-4v-plus-0111",
            ],
            Vendor::Ali => &[
                "qwen-max",
                "qwen-max-2025-01-25",
                "qwen-plus",
                "qwen-turbo",
                "qwen3-max",
                "qwen3-235b-a22b",
                "qwen3-coder-plus",
                "qwen-vl-max",
                "text-embedding-v4",
            ],
            Vendor::SiliconFlow => &[
                "deepseek-ai/DeepSeek-V3",
                "deepseek-ai/DeepSeek-V3.1",
                "deepseek-ai/DeepSeek-R1",
                "Qwen/Qwen2.5-72B-Instruct",
                "Qwen/Qwen3-8B",
                "Qwen/Qwen3-Coder-480B-A35B-Instruct",
                "THUDM/GLM-4-9B-0414",
                "moonshotai/Kimi-K2-Instruct",
                "BAAI/bge-m3",
            ],
            Vendor::Xai => &[
                "grok-4",
                "grok-4-0709",
                "grok-4-fast-reasoning",
                "grok-3",
                "grok-3-mini",
                "grok-code-fast-1",
            ],
            Vendor::Mistral => &[
                "mistral-large-latest",
                "mistral-large-2411",
                "mistral-medium-2508",
                "mistral-small-latest",
                "codestral-latest",
                "codestral-2508",
                "ministral-8b-latest",
                "mistral-embed",
            ],
            Vendor::Ollama => &[
                "llama3.1:8b",
                "qwen2.5:14b",
                "qwen3:30b-a3b",
                "deepseek-r1:7b",
                "gpt-oss:20b",
                "nomic-embed-text:latest",
            ],
            Vendor::Relay => &[
                "gpt-4o",
                "gpt-4o-mini",
                "gpt-4.1",
                "gpt-5",
                "gpt-5-mini",
                "o3",
                "claude-sonnet-4-5-20250929",
                "claude-opus-4-1-20250805",
                "claude-3-5-haiku-20241022",
                "gemini-2.5-pro",
                "gemini-2.5-flash",
                "deepseek-chat",
                "deepseek-reasoner",
                "deepseek-v3.1",
                "qwen3-coder-plus",
                "glm-4.5",
                "kimi-k2-0905-preview",
                "grok-4",
            ],
        }
    }

    /// Names the upstream no longer serves but a stale channel may still list.
    fn retired(self) -> &'static [&'static str] {
        match self {
            Vendor::OpenAi | Vendor::Relay => {
                &["gpt-4-turbo-preview", "gpt-4-0613", "gpt-4-vision-preview"]
            }
            Vendor::Anthropic => &["claude-2.1", "claude-3-opus-20240229"],
            Vendor::OpenRouter => &[
                "google/gemini-pro-1.5",
                "mistralai/mistral-7b-instruct:free",
            ],
            Vendor::Gemini => &["gemini-1.5-pro", "gemini-pro"],
            Vendor::DeepSeek => &["deepseek-coder"],
            _ => &[],
        }
    }

    /// Friendly request-side aliases that map to an upstream id: `(alias, target)`.
    fn aliases(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Vendor::OpenAi => &[
                ("gpt-4o", "gpt-4o-2024-08-06"),
                ("gpt-5-latest", "gpt-5-2025-08-07"),
            ],
            Vendor::Anthropic => &[
                ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
                ("claude-opus-4-1", "claude-opus-4-1-20250805"),
            ],
            Vendor::OpenRouter => &[
                ("deepseek-v3.1", "deepseek/deepseek-chat-v3.1:free"),
                ("claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"),
            ],
            Vendor::DeepSeek => &[
                ("deepseek-v3", "deepseek-chat"),
                ("deepseek-r1", "deepseek-reasoner"),
            ],
            Vendor::Gemini => &[("gemini-pro-latest", "gemini-2.5-pro")],
            Vendor::Moonshot => &[("kimi-k2", "kimi-k2-0905-preview")],
            Vendor::Relay => &[("claude-sonnet-4-5", "claude-sonnet-4-5-20250929")],
            _ => &[],
        }
    }
}

/// `(name, vendor, base_url, tag)` templates; base hosts repeat on purpose so that per-host rate
/// limiting in the client matters.
const TEMPLATES: &[(&str, Vendor, &str, Option<&str>)] = &[
    (
        "openai-main",
        Vendor::OpenAi,
        "https://api.openai.com",
        Some("openai-pool"),
    ),
    (
        "openrouter-free",
        Vendor::OpenRouter,
        "https://openrouter.ai/api",
        Some("openrouter"),
    ),
    (
        "anthropic-direct",
        Vendor::Anthropic,
        "https://api.anthropic.com",
        None,
    ),
    (
        "deepseek",
        Vendor::DeepSeek,
        "https://api.deepseek.com",
        None,
    ),
    (
        "gemini",
        Vendor::Gemini,
        "https://generativelanguage.googleapis.com",
        None,
    ),
    (
        "openai-backup",
        Vendor::OpenAi,
        "https://api.openai.com",
        Some("openai-pool"),
    ),
    (
        "relay-aihubmix",
        Vendor::Relay,
        "https://aihubmix.com",
        Some("relays"),
    ),
    (
        "moonshot-kimi",
        Vendor::Moonshot,
        "https://api.moonshot.cn",
        None,
    ),
    ("zhipu-glm", Vendor::Zhipu, "https://open.bigmodel.cn", None),
    (
        "openrouter-paid",
        Vendor::OpenRouter,
        "https://openrouter.ai/api",
        Some("openrouter"),
    ),
    (
        "qwen-dashscope",
        Vendor::Ali,
        "https://dashscope.aliyuncs.com",
        None,
    ),
    (
        "siliconflow",
        Vendor::SiliconFlow,
        "https://api.siliconflow.cn",
        None,
    ),
    ("xai-grok", Vendor::Xai, "https://api.x.ai", None),
    ("mistral", Vendor::Mistral, "https://api.mistral.ai", None),
    (
        "relay-oneapi-hk",
        Vendor::Relay,
        "https://api.relay-hk.example.net",
        Some("relays"),
    ),
    (
        "anthropic-backup",
        Vendor::Anthropic,
        "https://api.anthropic.com",
        None,
    ),
    (
        "ollama-local",
        Vendor::Ollama,
        "http://10.0.0.12:11434",
        None,
    ),
    (
        "openai-batch",
        Vendor::OpenAi,
        "https://api.openai.com",
        Some("openai-pool"),
    ),
    (
        "relay-cheap",
        Vendor::Relay,
        "https://api.relay-hk.example.net",
        Some("relays"),
    ),
    (
        "deepseek-backup",
        Vendor::DeepSeek,
        "https://api.deepseek.com",
        None,
    ),
];

/// A channel in flavour-neutral terms. `models` is request-side (New API semantics: it includes
/// mapping aliases); `upstream` is what the upstream's `/v1/models` returns right now.
#[derive(Debug, Clone)]
pub struct SeedChannel {
    pub id: u64,
    pub name: String,
    pub vendor: Vendor,
    pub base_url: String,
    pub key: String,
    pub models: Vec<String>,
    /// `(alias, upstream target)`, alias ∈ `models`.
    pub mapping: Vec<(String, String)>,
    pub upstream: Vec<String>,
    pub tag: Option<String>,
    /// 1 enabled, 2 manually disabled, 3 auto disabled (`docs/admin-apis.md` §1.1).
    pub status: i64,
    pub group: String,
    pub priority: i64,
    pub weight: i64,
    pub created_time: i64,
    pub test_model: Option<String>,
    pub used_quota: i64,
    pub balance: f64,
}

/// Generates `n` channels from `seed`.
pub fn channels(n: usize, seed: u64) -> Vec<SeedChannel> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (base_name, vendor, base_url, tag) = TEMPLATES[i % TEMPLATES.len()];
        let round = i / TEMPLATES.len();
        let name = if round == 0 {
            base_name.to_string()
        } else {
            format!("{base_name}-{}", round + 1)
        };
        out.push(one_channel(
            &mut rng,
            i as u64 + 1,
            name,
            vendor,
            base_url,
            tag,
        ));
    }
    out
}

fn one_channel(
    rng: &mut Rng,
    id: u64,
    name: String,
    vendor: Vendor,
    base_url: &str,
    tag: Option<&str>,
) -> SeedChannel {
    let catalog = vendor.catalog();
    // Upstream: most of the catalog, in catalog order (deterministic).
    let upstream: Vec<String> = catalog
        .iter()
        .filter(|_| rng.chance(85))
        .map(|s| s.to_string())
        .collect();
    let upstream = if upstream.is_empty() {
        vec![catalog[0].to_string()]
    } else {
        upstream
    };
    // Channel models: a subset of upstream (some new upstream models are missing) plus, now and
    // then, a retired name the upstream dropped.
    let mut models: Vec<String> = upstream
        .iter()
        .filter(|_| rng.chance(75))
        .cloned()
        .collect();
    if models.is_empty() {
        models.push(upstream[0].clone());
    }
    for r in vendor.retired() {
        if rng.chance(35) {
            models.push(r.to_string());
        }
    }
    let mut mapping = Vec::new();
    if rng.chance(40) {
        for (alias, target) in vendor.aliases() {
            if rng.chance(70) && !mapping.iter().any(|(a, _): &(String, String)| a == alias) {
                mapping.push((alias.to_string(), target.to_string()));
                if !models.iter().any(|m| m == alias) {
                    models.push(alias.to_string());
                }
            }
        }
    }
    let status = match rng.below(100) {
        0..=8 => 2,
        9..=14 => 3,
        _ => 1,
    };
    let group = match rng.below(4) {
        0 => "default,vip",
        1 => "vip",
        _ => "default",
    };
    let key = format!("{}mock{}", vendor.key_prefix(), rng.hex(32));
    let test_model = if rng.chance(50) {
        Some(models[0].clone())
    } else {
        None
    };
    SeedChannel {
        id,
        name,
        vendor,
        base_url: base_url.to_string(),
        key,
        models,
        mapping,
        upstream,
        tag: tag.map(str::to_string),
        status,
        group: group.to_string(),
        priority: rng.below(4) as i64 * 10,
        weight: rng.below(3) as i64,
        created_time: 1_719_800_000 + (id as i64) * 86_400 + rng.below(3600) as i64,
        test_model,
        used_quota: rng.below(5_000_000) as i64,
        balance: (rng.below(10_000) as f64) / 100.0,
    }
}

/// Renders a mapping the New API way: a JSON *string* holding an object (`docs/admin-apis.md` §1.3).
pub fn mapping_json(mapping: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = mapping
        .iter()
        .map(|(a, t)| (a.clone(), serde_json::Value::String(t.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_channels_other_seed_differs() {
        let a = channels(40, 7);
        let b = channels(40, 7);
        let c = channels(40, 8);
        let names = |v: &[SeedChannel]| v.iter().map(|c| c.models.join(",")).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
    }

    #[test]
    fn seed_is_believable() {
        let chans = channels(60, 1);
        assert_eq!(chans.len(), 60);
        assert_eq!(chans[0].name, "openai-main");
        assert!(chans.iter().any(|c| c.status != 1), "some disabled");
        assert!(chans.iter().any(|c| c.tag.is_some()), "some tagged");
        assert!(chans.iter().any(|c| !c.mapping.is_empty()), "some mapped");
        let openai_hosts = chans
            .iter()
            .filter(|c| c.base_url == "https://api.openai.com")
            .count();
        assert!(openai_hosts >= 3, "shared hosts");
        for c in &chans {
            for (alias, _) in &c.mapping {
                assert!(c.models.contains(alias), "aliases are listed in models");
            }
        }
        // Same tag ⇒ same vendor (DoneHub's tag consistency rule, `docs/admin-apis.md` §3.4).
        for a in &chans {
            for b in &chans {
                if a.tag.is_some() && a.tag == b.tag {
                    assert_eq!(a.vendor.new_api_type(), b.vendor.new_api_type());
                }
            }
        }
    }
}

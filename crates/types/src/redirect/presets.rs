//! Built-in standard model lists by vendor (names as the vendors publish them, late 2025 / early
//! 2026). Admins pick vendors and add their own names; presets are a starting point, not a
//! registry, and never need the network.

use serde::{Deserialize, Serialize};

/// One vendor's standard models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preset {
    /// Stable id used in settings (`openai`, `anthropic`, …).
    pub id: &'static str,
    /// Display name.
    pub vendor: &'static str,
    pub models: &'static [&'static str],
}

/// Every built-in preset, in display order.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "openai",
        vendor: "OpenAI",
        models: &[
            "gpt-5.2",
            "gpt-5.1",
            "gpt-5.1-codex",
            "gpt-5.1-codex-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
            "gpt-5-codex",
            "gpt-5-pro",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "gpt-4o",
            "gpt-4o-mini",
            "o3",
            "o3-pro",
            "o3-mini",
            "o4-mini",
            "gpt-oss-120b",
            "gpt-oss-20b",
        ],
    },
    Preset {
        id: "anthropic",
        vendor: "Anthropic",
        models: &[
            "claude-opus-4-5",
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
            "claude-opus-4-1",
            "claude-opus-4",
            "claude-sonnet-4",
            "claude-3-7-sonnet",
            "claude-3-5-haiku",
        ],
    },
    Preset {
        id: "google",
        vendor: "Google",
        models: &[
            "gemini-3-pro-preview",
            "gemini-3-flash-preview",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-2.0-flash",
        ],
    },
    Preset {
        id: "deepseek",
        vendor: "DeepSeek",
        models: &[
            "deepseek-chat",
            "deepseek-reasoner",
            "deepseek-v3.2",
            "deepseek-v3.1",
            "deepseek-v3",
            "deepseek-r1",
        ],
    },
    Preset {
        id: "qwen",
        vendor: "Qwen (Alibaba)",
        models: &[
            "qwen3-max",
            "qwen-max",
            "qwen-plus",
            "qwen-flash",
            "qwen-turbo",
            "qwen3-coder-plus",
            "qwen3-coder-flash",
            "qwen3-235b-a22b",
            "qwen3-30b-a3b",
            "qwen3-32b",
            "qwen3-vl-plus",
        ],
    },
    Preset {
        id: "zhipu",
        vendor: "GLM (Zhipu / Z.ai)",
        models: &["glm-4.7", "glm-4.6", "glm-4.5", "glm-4.5-air", "glm-4.5v"],
    },
    Preset {
        id: "mistral",
        vendor: "Mistral",
        models: &[
            "mistral-large",
            "mistral-medium",
            "mistral-small",
            "magistral-medium",
            "magistral-small",
            "codestral",
            "devstral-medium",
            "devstral-small",
            "pixtral-large",
            "ministral-8b",
        ],
    },
    Preset {
        id: "xai",
        vendor: "xAI",
        models: &[
            "grok-4",
            "grok-4-1-fast-reasoning",
            "grok-4-1-fast-non-reasoning",
            "grok-4-fast-reasoning",
            "grok-4-fast-non-reasoning",
            "grok-code-fast-1",
            "grok-3",
            "grok-3-mini",
        ],
    },
    Preset {
        id: "moonshot",
        vendor: "Moonshot (Kimi)",
        models: &[
            "kimi-k2",
            "kimi-k2-thinking",
            "kimi-k2-turbo-preview",
            "moonshot-v1-8k",
            "moonshot-v1-32k",
            "moonshot-v1-128k",
        ],
    },
    Preset {
        id: "minimax",
        vendor: "MiniMax",
        models: &["minimax-m2", "minimax-m1"],
    },
    Preset {
        id: "doubao",
        vendor: "Doubao (ByteDance)",
        models: &[
            "doubao-seed-1-6",
            "doubao-seed-1-6-thinking",
            "doubao-seed-1-6-flash",
            "doubao-1-5-pro-32k",
        ],
    },
    Preset {
        id: "meta",
        vendor: "Meta",
        models: &["llama-4-maverick", "llama-4-scout", "llama-3.3-70b"],
    },
];

/// A preset as an owned value (for messages: the Redirect screen lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresetInfo {
    pub id: String,
    pub vendor: String,
    pub models: Vec<String>,
}

impl From<&Preset> for PresetInfo {
    fn from(p: &Preset) -> PresetInfo {
        PresetInfo {
            id: p.id.to_string(),
            vendor: p.vendor.to_string(),
            models: p.models.iter().map(|m| m.to_string()).collect(),
        }
    }
}

/// Every built-in preset as [`PresetInfo`], in display order.
pub fn preset_infos() -> Vec<PresetInfo> {
    PRESETS.iter().map(PresetInfo::from).collect()
}

/// A preset by id.
pub fn preset(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// The standard list for a selection: the chosen presets' models (in preset order), then the
/// user's own names; trimmed, empty names dropped, duplicates kept once. Unknown preset ids are
/// ignored (returned separately so settings can warn).
pub fn standard_list(preset_ids: &[String], extra: &[String]) -> (Vec<String>, Vec<String>) {
    let mut out: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    let push = |name: &str, out: &mut Vec<String>| {
        let n = name.trim();
        if !n.is_empty() && !out.iter().any(|x| x == n) {
            out.push(n.to_string());
        }
    };
    for id in preset_ids {
        match preset(id.trim()) {
            Some(p) => p.models.iter().for_each(|m| push(m, &mut out)),
            None => unknown.push(id.clone()),
        }
    }
    for e in extra {
        push(e, &mut out);
    }
    (out, unknown)
}

/// Every preset model, in preset order.
pub fn all_preset_models() -> Vec<String> {
    let ids: Vec<String> = PRESETS.iter().map(|p| p.id.to_string()).collect();
    standard_list(&ids, &[]).0
}

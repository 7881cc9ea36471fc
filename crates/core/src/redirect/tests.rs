//! Table-driven tests: every row is a rule. Property checks at the end.

use super::normalize::{normalize, split_date, strip_dates, TokenKey};
use super::*;
use crate::gateway::Capabilities;
use crate::model::{Channel, ChannelId, Mapping, SiteKind};

// ---------------------------------------------------------------------------------------------
// 1. normalization: core identity + date suffix
// ---------------------------------------------------------------------------------------------

#[test]
fn normalization_table() {
    // (input, normalized, date as displayed)
    let rows: &[(&str, &str, Option<&str>)] = &[
        // dates in every shape
        (
            "claude-3-5-sonnet-20241022",
            "claude-3-5-sonnet",
            Some("2024-10-22"),
        ),
        ("gpt-4o-2024-08-06", "gpt-4o", Some("2024-08-06")),
        ("gpt_4o_2024_08_15", "gpt_4o", Some("2024-08-15")),
        ("gpt-4o_20240806", "gpt-4o", Some("2024-08-06")),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", Some("2024-07-18")),
        ("o1-2024-12-17", "o1", Some("2024-12-17")),
        ("o3-mini-2025-01-31", "o3-mini", Some("2025-01-31")),
        ("gpt-4-0613", "gpt-4", Some("06-13")),
        ("gpt-4-0314", "gpt-4", Some("03-14")),
        ("gpt-3.5-turbo-1106", "gpt-3.5-turbo", Some("11-06")),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo", Some("01-25")),
        ("deepseek-r1-0528", "deepseek-r1", Some("05-28")),
        ("deepseek-v3-0324", "deepseek-v3", Some("03-24")),
        ("grok-4-0709", "grok-4", Some("07-09")),
        ("mistral-large-2411", "mistral-large", Some("2024-11")),
        ("codestral-2501", "codestral", Some("2025-01")),
        (
            "qwen3-235b-a22b-instruct-2507",
            "qwen3-235b-a22b-instruct",
            Some("2025-07"),
        ),
        ("gemini-exp-11-2024", "gemini-exp", Some("2024-11")),
        (
            "gemini-2.5-flash-preview-04-17",
            "gemini-2.5-flash-preview",
            Some("04-17"),
        ),
        (
            "gemini-2.5-pro-preview-05-06",
            "gemini-2.5-pro-preview",
            Some("05-06"),
        ),
        (
            "doubao-seed-1-6-250615",
            "doubao-seed-1-6",
            Some("2025-06-15"),
        ),
        ("model-202406", "model", Some("2024-06")),
        (
            "claude-3-5-sonnet@20241022",
            "claude-3-5-sonnet",
            Some("2024-10-22"),
        ),
        (
            "claude-3-5-sonnet-v2@20241022",
            "claude-3-5-sonnet-v2",
            Some("2024-10-22"),
        ),
        (
            "Claude-3-5-Sonnet-20241022",
            "Claude-3-5-Sonnet",
            Some("2024-10-22"),
        ),
        (
            "通义千问-max-2024-09-19",
            "通义千问-max",
            Some("2024-09-19"),
        ),
        // several dates: all removed, the outermost is reported
        ("foo-0613-20241022", "foo", Some("2024-10-22")),
        // vendor paths and :suffix
        (
            "anthropic/claude-sonnet-4-5:free",
            "claude-sonnet-4-5",
            None,
        ),
        (
            "openrouter/anthropic/claude-sonnet-4-5-20250929:beta",
            "claude-sonnet-4-5",
            Some("2025-09-29"),
        ),
        ("BigModel/deepseek/deepseek-r1:free", "deepseek-r1", None),
        ("deepseek-r1:free:extended", "deepseek-r1", None),
        ("/model", "model", None),
        ("vendor/", "", None),
        (":free", "", None),
        ("", "", None),
        ("   ", "", None),
        // whitespace
        ("  gpt-4o  ", "gpt-4o", None),
        (" openai / gpt-4o ", "gpt-4o", None),
        // numbers that are not dates
        ("gpt-4-32k", "gpt-4-32k", None),
        ("qwen-2.5-72b", "qwen-2.5-72b", None),
        ("llama-3.1-405b", "llama-3.1-405b", None),
        ("glm-4-9b", "glm-4-9b", None),
        ("gemini-1.5-pro-002", "gemini-1.5-pro-002", None),
        ("mixtral-8x7b-32768", "mixtral-8x7b-32768", None),
        ("llama-2-70b-4096", "llama-2-70b-4096", None),
        ("model-2048", "model-2048", None),
        ("model-8192", "model-8192", None),
        ("model-3072", "model-3072", None),
        ("text-embedding-3-large", "text-embedding-3-large", None),
        ("moonshot-v1-128k", "moonshot-v1-128k", None),
        ("x-12345", "x-12345", None),
        ("x-123456789", "x-123456789", None),
        ("20241022", "20241022", None),
        ("-20241022", "-20241022", None),
        ("model-20241399", "model-20241399", None),
        ("model-20241032", "model-20241032", None),
        ("model-18991231", "model-18991231", None),
        ("model-21001231", "model-21001231", None),
        ("model-1332", "model-1332", None),
        ("model-0000", "model-0000", None),
        ("x-12-10-05", "x-12-10-05", None),
        ("gpt-4o-2024-8-6", "gpt-4o-2024-8-6", None),
        ("model-2024-08", "model-2024-08", None),
        ("gpt-4-1106-preview", "gpt-4-1106-preview", None),
        ("modelx20241022", "modelx20241022", None),
        ("模型-٢٠٢٤", "模型-٢٠٢٤", None),
    ];
    for (input, want, date) in rows {
        let (got, d) = strip_dates(core_identity(input));
        assert_eq!(got, *want, "normalize({input:?})");
        assert_eq!(normalize(input), *want, "normalize({input:?})");
        assert_eq!(
            d.map(|d| d.to_string()).as_deref(),
            *date,
            "date of {input:?}"
        );
    }
}

#[test]
fn a_date_needs_a_separator_and_a_name() {
    assert_eq!(split_date("a-0613").map(|x| x.0), Some(1));
    assert_eq!(split_date("a0613"), None);
    assert_eq!(split_date("-0613"), None);
    assert_eq!(split_date("a.0613"), None);
}

// ---------------------------------------------------------------------------------------------
// 2. token keys: same model + same version, or not
// ---------------------------------------------------------------------------------------------

#[test]
fn token_key_table() {
    // (a, b, same?)
    let rows: &[(&str, &str, bool)] = &[
        ("claude-4.5-sonnet", "claude-sonnet-4-5", true),
        (
            "claude-4.5-sonnet",
            "anthropic/claude-sonnet-4-5:free",
            true,
        ),
        ("claude-4.5-sonnet", "claude_sonnet_4_5", true),
        ("claude-4.5-sonnet", "Claude-Sonnet-4.5", true),
        ("claude-4.5-sonnet", "claude sonnet 4.5", true),
        ("claude-4.5-sonnet", "claude-sonnet-4-5-20250929", true),
        ("claude-4.5-sonnet", "claude-5.4-sonnet", false),
        ("claude-4.5-sonnet", "claude-3.5-sonnet", false),
        ("claude-4.5-sonnet", "claude-4.6-sonnet", false),
        ("claude-4.5-sonnet", "claude-4.5-sonnet-thinking", false),
        ("claude-4.5-sonnet", "claude-sonnet-4", false),
        ("claude-4.5-sonnet", "claude-sonnet-4-5-free", false),
        ("claude-4.5-sonnet", "claude-sonnet-4-5-latest", false),
        ("claude-3-5-sonnet", "claude-3-sonnet", false),
        ("gpt-4o-mini", "gpt-4.1-mini", false),
        ("gpt-4o-mini", "o4-mini", false),
        ("gpt-4o", "gpt-4", false),
        ("gpt-4o", "gpt-4-o", false),
        ("gpt-4o", "GPT-4O", true),
        ("gpt-4o", "gpt-4o-2024-08-06", true),
        ("gpt-4", "gpt-4-32k", false),
        ("gpt-4.1", "gpt-4-1", true),
        ("gpt-4.1", "gpt-41", false),
        ("gpt-5", "gpt5", true),
        ("gpt-5", "gpt-5-chat", false),
        ("gemini-2.5-pro", "gemini-3-pro", false),
        ("gemini-2.5-pro", "gemini-2.5-pro-preview", false),
        ("gemini-2.5-pro", "gemini-2.5-pro-latest", false),
        ("gemini-2.5-pro", "google/gemini-2.5-pro", true),
        ("gemini-2.0-flash", "gemini-2-flash", false),
        ("gemini-1.5-pro", "gemini-1.5-pro-002", false),
        ("deepseek-chat", "deepseek-chat-free", false),
        ("deepseek-chat", "deepseek/deepseek-chat:free", true),
        ("deepseek-v3", "DeepSeek-V3", true),
        ("deepseek-v3", "deepseek-v-3", true),
        ("deepseek-v3", "deepseek-v3.1", false),
        ("deepseek-v3.1", "deepseek-v1.3", false),
        ("qwen2.5-72b-instruct", "qwen-2.5-72b-instruct", true),
        ("qwen2.5-72b-instruct", "Qwen/Qwen2.5-72B-Instruct", true),
        ("qwen-2.5-72b", "qwen-2.5-72b-instruct", false),
        ("qwen3-max", "qwen-3-max", true),
        ("qwen3-max", "qwen-max", false),
        ("qwen3-235b-a22b", "qwen3-30b-a3b", false),
        ("o3", "o3-mini", false),
        ("o3", "o-3", true),
        ("o1", "o3", false),
        ("glm-4.5", "GLM-4.5", true),
        ("glm-4.5", "glm-4-5", true),
        ("glm-4.5", "glm-4.5-air", false),
        ("glm-4.5", "glm-4.5v", false),
        ("glm-4-9b", "glm-4.9b", true),
        ("llama-3.1-405b", "llama3.1-405b", true),
        ("llama-3.1-405b", "llama-3.1-70b", false),
        ("llama-3.1-405b", "llama-1.3-405b", false),
        ("gpt-oss-120b", "gpt-oss-20b", false),
        ("mistral-large", "mistral-large-latest", false),
        ("mistral-large", "mistral-large-2411", true),
        ("grok-4-fast-reasoning", "grok-4-fast-non-reasoning", false),
        ("kimi-k2", "kimi-k2-thinking", false),
        ("kimi-k2", "Kimi-K2", true),
        ("claude-sonnet-4", "claude-sonnet-4-0", false),
        ("doubao-seed-1.6", "doubao-seed-1-6-250615", true),
        ("通义千问-max", "通义千问-MAX", true),
        ("通义千问-max", "通义千问-plus", false),
        ("gpt-3.5-turbo", "gpt-3.5-turbo-1106", true),
        ("gpt-4-turbo", "gpt-4-1106-preview", false),
    ];
    for (a, b, same) in rows {
        let (ka, kb) = (TokenKey::of(a), TokenKey::of(b));
        assert!(ka.is_some() && kb.is_some(), "{a:?} / {b:?} have keys");
        assert_eq!(ka == kb, *same, "{a:?} vs {b:?}: {ka:?} {kb:?}");
    }
}

#[test]
fn token_key_encoding_and_version() {
    let k = TokenKey::of("claude-4.5-sonnet").unwrap();
    assert_eq!(k.as_str(), "claude-sonnet#4.5");
    assert_eq!(k.version(), "4.5");
    assert_eq!(TokenKey::of("gpt-4o").unwrap().version(), "");
    assert_eq!(TokenKey::of("vendor/"), None);
    assert_eq!(TokenKey::of(" - _ . "), None);
}

// ---------------------------------------------------------------------------------------------
// 3. matcher
// ---------------------------------------------------------------------------------------------

/// Expected outcome, compactly.
#[derive(Debug)]
enum E {
    /// mapped, same key
    M(&'static str),
    /// mapped, exact snapshot
    S(&'static str),
    /// mapped, dated fallback
    D(&'static str),
    /// mapped, alias
    A(&'static str),
    /// already present
    P,
    /// no candidate
    N,
    /// only other versions (exact list of named models)
    O(&'static [&'static str]),
    /// taken by (standards)
    T(&'static [&'static str]),
    /// dated fallback disabled (candidates)
    X(&'static [&'static str]),
    /// invalid name
    I,
}

fn check(out: &Outcome, want: &E, ctx: &str) -> Option<String> {
    let ok = match (want, out) {
        (E::M(t), Outcome::Mapped { target, rule }) => target == t && *rule == MatchRule::SameKey,
        (E::S(t), Outcome::Mapped { target, rule }) => {
            target == t && *rule == MatchRule::ExactSnapshot
        }
        (E::A(t), Outcome::Mapped { target, rule }) => {
            target == t && matches!(rule, MatchRule::Alias { .. })
        }
        (E::D(t), Outcome::DatedFallback { target, .. }) => target == t,
        (E::P, Outcome::AlreadyPresent) => true,
        (E::N, Outcome::NoCandidate) => true,
        (E::O(names), Outcome::OnlyOtherVersions { models, total }) => {
            models == names && *total == names.len()
        }
        (E::T(by_want), Outcome::TakenByOther { by, .. }) => by == by_want,
        (E::X(c), Outcome::DatedFallbackDisabled { candidates }) => candidates == c,
        (E::I, Outcome::InvalidName { .. }) => true,
        _ => false,
    };
    (!ok).then(|| format!("{ctx}: want {want:?}, got {out:?}"))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

struct Row {
    standards: &'static [&'static str],
    aliases: &'static [(&'static str, &'static str)],
    models: &'static [&'static str],
    dated: bool,
    /// (standard, expected)
    want: &'static [(&'static str, E)],
}

const fn row(
    standards: &'static [&'static str],
    models: &'static [&'static str],
    want: &'static [(&'static str, E)],
) -> Row {
    Row {
        standards,
        aliases: &[],
        models,
        dated: true,
        want,
    }
}

const fn no_dated(r: Row) -> Row {
    Row { dated: false, ..r }
}

const fn alias(aliases: &'static [(&'static str, &'static str)], r: Row) -> Row {
    Row { aliases, ..r }
}

use E::*;

#[rustfmt::skip]
const MATCH_ROWS: &[Row] = &[
    // the version guard
    row(&["claude-4.5-sonnet"], &["claude-sonnet-4-5"], &[("claude-4.5-sonnet", M("claude-sonnet-4-5"))]),
    row(&["claude-4.5-sonnet"], &["anthropic/claude-sonnet-4-5:free"], &[("claude-4.5-sonnet", M("anthropic/claude-sonnet-4-5:free"))]),
    row(&["claude-4.5-sonnet"], &["claude-3.5-sonnet"], &[("claude-4.5-sonnet", O(&["claude-3.5-sonnet"]))]),
    row(&["claude-4.5-sonnet"], &["claude-4.6-sonnet"], &[("claude-4.5-sonnet", O(&["claude-4.6-sonnet"]))]),
    row(&["claude-4.5-sonnet"], &["claude-5.4-sonnet"], &[("claude-4.5-sonnet", O(&["claude-5.4-sonnet"]))]),
    row(&["claude-4.5-sonnet"], &["claude-4.5-sonnet-thinking"], &[("claude-4.5-sonnet", O(&["claude-4.5-sonnet-thinking"]))]),
    row(&["claude-4.5-sonnet"], &["claude-sonnet-4-5-free"], &[("claude-4.5-sonnet", O(&["claude-sonnet-4-5-free"]))]),
    row(&["claude-3.5-sonnet"], &["claude-3-5-sonnet-latest"], &[("claude-3.5-sonnet", O(&["claude-3-5-sonnet-latest"]))]),
    row(&["gpt-4o-mini"], &["gpt-4.1-mini"], &[("gpt-4o-mini", O(&["gpt-4.1-mini"]))]),
    row(&["gpt-4.1-mini"], &["gpt-4o-mini", "gpt-5-mini"], &[("gpt-4.1-mini", O(&["gpt-4o-mini", "gpt-5-mini"]))]),
    row(&["gemini-2.5-pro"], &["gemini-3-pro"], &[("gemini-2.5-pro", O(&["gemini-3-pro"]))]),
    row(&["gemini-2.5-pro"], &["gemini-3-pro-preview"], &[("gemini-2.5-pro", O(&["gemini-3-pro-preview"]))]),
    row(&["gemini-2.5-flash"], &["gemini-2.5-flash-preview-05-20"], &[("gemini-2.5-flash", O(&["gemini-2.5-flash-preview-05-20"]))]),
    row(&["gemini-2.5-flash-preview"], &["gemini-2.5-flash-preview-05-20"], &[("gemini-2.5-flash-preview", D("gemini-2.5-flash-preview-05-20"))]),
    row(&["gemini-2.0-flash"], &["gemini-2-flash"], &[("gemini-2.0-flash", O(&["gemini-2-flash"]))]),
    row(&["gpt-4"], &["gpt-4-32k", "gpt-4-turbo"], &[("gpt-4", O(&["gpt-4-32k"]))]),
    row(&["gpt-4.1"], &["gpt-41"], &[("gpt-4.1", O(&["gpt-41"]))]),
    row(&["gpt-4.1"], &["gpt-4-1"], &[("gpt-4.1", M("gpt-4-1"))]),
    row(&["gpt-5"], &["gpt-5.1", "gpt-5-mini"], &[("gpt-5", O(&["gpt-5.1"]))]),
    row(&["gpt-5"], &["gpt-5-chat-latest"], &[("gpt-5", N)]),
    row(&["o3"], &["o3-mini", "o3-pro"], &[("o3", N)]),
    row(&["o3-mini"], &["o3", "o4-mini"], &[("o3-mini", O(&["o4-mini"]))]),
    row(&["glm-4.5"], &["glm-4.5-air", "zhipu/GLM-4.5"], &[("glm-4.5", M("zhipu/GLM-4.5"))]),
    row(&["glm-4.5-air"], &["glm-4.5"], &[("glm-4.5-air", N)]),
    row(&["deepseek-v3.1"], &["deepseek-ai/DeepSeek-V3"], &[("deepseek-v3.1", O(&["deepseek-ai/DeepSeek-V3"]))]),
    row(&["deepseek-v3"], &["deepseek-ai/DeepSeek-V3", "deepseek-v3-0324"], &[("deepseek-v3", M("deepseek-ai/DeepSeek-V3"))]),
    row(&["deepseek-chat"], &["deepseek-chat-free"], &[("deepseek-chat", O(&["deepseek-chat-free"]))]),
    row(&["deepseek-chat"], &["deepseek/deepseek-chat:free"], &[("deepseek-chat", M("deepseek/deepseek-chat:free"))]),
    row(&["gpt-4o"], &["gpt-4o-free"], &[("gpt-4o", O(&["gpt-4o-free"]))]),
    row(&["kimi-k2-thinking"], &["kimi-k2"], &[("kimi-k2-thinking", O(&["kimi-k2"]))]),
    row(&["kimi-k2"], &["moonshotai/Kimi-K2-Instruct"], &[("kimi-k2", N)]),
    row(&["grok-4-fast-reasoning"], &["grok-4-fast-non-reasoning"], &[("grok-4-fast-reasoning", N)]),
    row(&["claude-sonnet-4"], &["claude-sonnet-4-0"], &[("claude-sonnet-4", O(&["claude-sonnet-4-0"]))]),
    row(&["claude-opus-4"], &["claude-opus-4-1-20250805"], &[("claude-opus-4", O(&["claude-opus-4-1-20250805"]))]),
    row(&["text-embedding-3-large"], &["text-embedding-3-small"], &[("text-embedding-3-large", N)]),
    row(&["qwen-2.5-72b"], &["Qwen/Qwen2.5-72B-Instruct"], &[("qwen-2.5-72b", N)]),
    row(&["qwen2.5-72b-instruct"], &["Qwen/Qwen2.5-72B-Instruct"], &[("qwen2.5-72b-instruct", M("Qwen/Qwen2.5-72B-Instruct"))]),
    row(&["qwen3-max"], &["qwen-max", "qwen3-max-preview"], &[("qwen3-max", O(&["qwen-max", "qwen3-max-preview"]))]),
    row(&["llama-3.1-405b"], &["meta-llama/llama-3.1-405b-instruct", "llama3.1-405b"], &[("llama-3.1-405b", M("llama3.1-405b"))]),
    // present verbatim
    row(&["gpt-4o"], &["gpt-4o"], &[("gpt-4o", P)]),
    row(&["gpt-4o"], &["gpt-4o:free", "gpt-4o"], &[("gpt-4o", P)]),
    row(&["gpt-4o"], &[" gpt-4o "], &[("gpt-4o", P)]),
    row(&["gpt-4o-2024-08-06"], &["gpt-4o-2024-08-06"], &[("gpt-4o-2024-08-06", P)]),
    // case differs: not verbatim, but the same model
    row(&["gpt-4o"], &["GPT-4o"], &[("gpt-4o", M("GPT-4o"))]),
    row(&["通义千问-max"], &["阿里/通义千问-MAX"], &[("通义千问-max", M("阿里/通义千问-MAX"))]),
    // no candidate
    row(&["gpt-4o"], &[], &[("gpt-4o", N)]),
    row(&["gpt-4o"], &["deepseek-chat"], &[("gpt-4o", N)]),
    row(&["gpt-4o"], &["", "  "], &[("gpt-4o", N)]),
    // tie-breaking: undated first, then channel order
    row(&["gpt-4o"], &["a/gpt-4o", "b/gpt-4o"], &[("gpt-4o", M("a/gpt-4o"))]),
    row(&["gpt-4o"], &["b/gpt-4o", "a/gpt-4o"], &[("gpt-4o", M("b/gpt-4o"))]),
    row(&["gpt-4o"], &["gpt-4o-2024-08-06", "x/gpt-4o"], &[("gpt-4o", M("x/gpt-4o"))]),
    row(&["gpt-4o"], &["openai/gpt-4o", "gpt-4o-2024-08-06"], &[("gpt-4o", M("openai/gpt-4o"))]),
    // dated fallback: newest date, then channel order
    row(&["gpt-4o"], &["gpt-4o-2024-05-13", "gpt-4o-2024-11-20", "gpt-4o-2024-08-06"], &[("gpt-4o", D("gpt-4o-2024-11-20"))]),
    row(&["gpt-4o"], &["a/gpt-4o-2024-08-06", "b/gpt-4o-20240806"], &[("gpt-4o", D("a/gpt-4o-2024-08-06"))]),
    row(&["gpt-4o"], &["b/gpt-4o-20240806", "a/gpt-4o-2024-08-06"], &[("gpt-4o", D("b/gpt-4o-20240806"))]),
    row(&["claude-sonnet-4-5"], &["claude-sonnet-4-5-20250929"], &[("claude-sonnet-4-5", D("claude-sonnet-4-5-20250929"))]),
    row(&["claude-4.5-sonnet"], &["claude-sonnet-4-6-20260101", "claude-sonnet-4-5-20250929"], &[("claude-4.5-sonnet", D("claude-sonnet-4-5-20250929"))]),
    row(&["claude-opus-4-1"], &["claude-opus-4-1-20250805", "claude-opus-4-20250514"], &[("claude-opus-4-1", D("claude-opus-4-1-20250805"))]),
    row(&["claude-3.5-sonnet"], &["claude-3-5-sonnet-20240620", "claude-3-5-sonnet-20241022"], &[("claude-3.5-sonnet", D("claude-3-5-sonnet-20241022"))]),
    row(&["claude-3-7-sonnet"], &["claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"], &[("claude-3-7-sonnet", D("claude-3-7-sonnet-20250219"))]),
    row(&["claude-haiku-4-5"], &["claude-haiku-4-5@20251001"], &[("claude-haiku-4-5", D("claude-haiku-4-5@20251001"))]),
    row(&["gpt-4"], &["gpt-4-0314", "gpt-4-0613"], &[("gpt-4", D("gpt-4-0613"))]),
    row(&["gpt-4-32k"], &["gpt-4-32k-0613"], &[("gpt-4-32k", D("gpt-4-32k-0613"))]),
    // MMDD carries no year: 1106 (2023) sorts after 0125 (2024). Documented limitation.
    row(&["gpt-3.5-turbo"], &["gpt-3.5-turbo-0125", "gpt-3.5-turbo-1106"], &[("gpt-3.5-turbo", D("gpt-3.5-turbo-1106"))]),
    row(&["mistral-large"], &["mistral-large-2407", "mistral-large-2411"], &[("mistral-large", D("mistral-large-2411"))]),
    row(&["mistral-large"], &["mistral-large-latest"], &[("mistral-large", O(&["mistral-large-latest"]))]),
    row(&["o3-mini"], &["openai/o3-mini-2025-01-31"], &[("o3-mini", D("openai/o3-mini-2025-01-31"))]),
    row(&["grok-4"], &["grok-4-0709", "grok-4-fast-reasoning"], &[("grok-4", D("grok-4-0709"))]),
    row(&["doubao-seed-1.6"], &["doubao-seed-1-6-250615", "doubao-seed-1-6-250828"], &[("doubao-seed-1.6", D("doubao-seed-1-6-250828"))]),
    // dated fallback turned off
    no_dated(row(&["gpt-4o"], &["gpt-4o-2024-08-06"], &[("gpt-4o", X(&["gpt-4o-2024-08-06"]))])),
    no_dated(row(&["gpt-4o"], &["gpt-4o-2024-05-13", "gpt-4o-2024-11-20"], &[("gpt-4o", X(&["gpt-4o-2024-11-20", "gpt-4o-2024-05-13"]))])),
    no_dated(row(&["gpt-4o"], &["gpt-4o-2024-05-13", "openai/gpt-4o"], &[("gpt-4o", M("openai/gpt-4o"))])),
    no_dated(row(&["gpt-4o-2024-08-06"], &["x/gpt-4o-2024-08-06"], &[("gpt-4o-2024-08-06", S("x/gpt-4o-2024-08-06"))])),
    // dated standards ask for that snapshot only
    row(&["gpt-4o-2024-08-06"], &["azure/gpt-4o-2024-08-06:free"], &[("gpt-4o-2024-08-06", S("azure/gpt-4o-2024-08-06:free"))]),
    row(&["gpt-4o-2024-08-06"], &["gpt-4o-20240806"], &[("gpt-4o-2024-08-06", S("gpt-4o-20240806"))]),
    row(&["claude-3-5-sonnet-20241022"], &["claude-3.5-sonnet-20241022"], &[("claude-3-5-sonnet-20241022", S("claude-3.5-sonnet-20241022"))]),
    row(&["gpt-4o-2024-08-06"], &["gpt-4o", "gpt-4o-2024-11-20"], &[("gpt-4o-2024-08-06", O(&["gpt-4o", "gpt-4o-2024-11-20"]))]),
    row(&["gpt-4-0613"], &["openai/gpt-4-0613"], &[("gpt-4-0613", S("openai/gpt-4-0613"))]),
    row(&["gpt-4-0613"], &["gpt-4-0314"], &[("gpt-4-0613", O(&["gpt-4-0314"]))]),
    row(&["gpt-4o-2024-08-06"], &["gpt-4o-mini-2024-08-06"], &[("gpt-4o-2024-08-06", N)]),
    // each actual model serves one standard model
    row(&["claude-4.5-sonnet", "claude-sonnet-4-5"], &["anthropic/claude-sonnet-4-5"], &[("claude-4.5-sonnet", M("anthropic/claude-sonnet-4-5")), ("claude-sonnet-4-5", T(&["claude-4.5-sonnet"]))]),
    row(&["claude-4.5-sonnet", "claude-sonnet-4-5"], &["claude-sonnet-4-5"], &[("claude-sonnet-4-5", P), ("claude-4.5-sonnet", T(&["claude-sonnet-4-5"]))]),
    row(&["claude-4.5-sonnet", "claude-sonnet-4-5"], &["x/claude-sonnet-4-5", "claude-sonnet-4-5-20250929"], &[("claude-4.5-sonnet", M("x/claude-sonnet-4-5")), ("claude-sonnet-4-5", D("claude-sonnet-4-5-20250929"))]),
    row(&["gpt-4o-2024-08-06", "gpt-4o-20240806"], &["x/gpt-4o-2024-08-06"], &[("gpt-4o-2024-08-06", S("x/gpt-4o-2024-08-06")), ("gpt-4o-20240806", T(&["gpt-4o-2024-08-06"]))]),
    // duplicates, whitespace
    row(&["gpt-4o", "gpt-4o", " gpt-4o "], &["openai/gpt-4o"], &[("gpt-4o", M("openai/gpt-4o"))]),
    row(&["  gpt-4o  "], &[" openai/gpt-4o "], &[("gpt-4o", M("openai/gpt-4o"))]),
    row(&["gpt-4o", "gpt-4o-mini"], &["x/gpt-4o", "x/gpt-4o"], &[("gpt-4o", M("x/gpt-4o")), ("gpt-4o-mini", N)]),
    // standards with vendor paths and :suffix
    row(&["anthropic/claude-sonnet-4-5"], &["claude-sonnet-4-5"], &[("anthropic/claude-sonnet-4-5", M("claude-sonnet-4-5"))]),
    row(&["gpt-4o:free"], &["openai/gpt-4o"], &[("gpt-4o:free", M("openai/gpt-4o"))]),
    row(&["vendor/"], &["x"], &[("vendor/", I)]),
    // user aliases
    alias(&[("my-sonnet", "claude-sonnet-4-5*")], row(&[], &["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"], &[("my-sonnet", A("claude-sonnet-4-5"))])),
    alias(&[("my-sonnet", "claude-sonnet-4-5*")], row(&[], &["claude-sonnet-4-5-20250514", "claude-sonnet-4-5-20250929"], &[("my-sonnet", A("claude-sonnet-4-5-20250929"))])),
    alias(&[("fast", "*HAIKU*")], row(&[], &["anthropic/claude-haiku-4-5"], &[("fast", A("anthropic/claude-haiku-4-5"))])),
    alias(&[("fast", "*haiku*")], row(&[], &["gpt-4o"], &[("fast", N)])),
    alias(&[("sonnet", "claude-4.5-sonnet")], row(&[], &["claude-sonnet-4-5"], &[("sonnet", A("claude-sonnet-4-5"))])),
    alias(&[("sonnet", "claude-4.5-sonnet")], row(&[], &["claude-3.5-sonnet"], &[("sonnet", O(&["claude-3.5-sonnet"]))])),
    alias(&[("sonnet", "claude-sonnet-4-5")], row(&[], &["a/claude-sonnet-4-5", "claude-sonnet-4-5"], &[("sonnet", A("claude-sonnet-4-5"))])),
    alias(&[("snap", "gpt-4o-2024-08-06")], row(&[], &["x/gpt-4o-2024-08-06"], &[("snap", A("x/gpt-4o-2024-08-06"))])),
    alias(&[("my-sonnet", "*claude-sonnet-4-5*")], row(&["claude-sonnet-4-5"], &["anthropic/claude-sonnet-4-5"], &[("claude-sonnet-4-5", T(&["my-sonnet"]))])),
    alias(&[("gpt-4o", "*gpt-4o-2024-11-20*")], row(&["gpt-4o"], &["openai/gpt-4o", "gpt-4o-2024-11-20"], &[("gpt-4o", A("gpt-4o-2024-11-20"))])),
    alias(&[("x", "   ")], row(&[], &["x1"], &[("x", I)])),
    alias(&[("x1", "*")], row(&[], &["x1"], &[("x1", P)])),
    alias(&[("all", "*")], row(&[], &["b", "a"], &[("all", A("b"))])),
];

#[test]
fn matcher_table() {
    assert!(MATCH_ROWS.len() >= 90, "{}", MATCH_ROWS.len());
    let mut failures = Vec::new();
    for (i, r) in MATCH_ROWS.iter().enumerate() {
        let aliases: Vec<Alias> = r
            .aliases
            .iter()
            .map(|(n, p)| Alias {
                name: n.to_string(),
                pattern: p.to_string(),
            })
            .collect();
        let m = Matcher::new(
            &strs(r.standards),
            &aliases,
            MatchOptions {
                allow_dated_targets: r.dated,
            },
        );
        let res = m.match_models(&strs(r.models));
        for (std, want) in r.want {
            let ctx = format!("row {i} {:?} in {:?}", std, r.models);
            let out = res
                .outcome(std)
                .unwrap_or_else(|| panic!("{ctx}: no outcome; {res:?}"));
            failures.extend(check(out, want, &ctx));
            // the mapping agrees with the outcome
            let mapped = res.mapping.iter().find(|(k, _)| k == std).map(|(_, v)| v);
            assert_eq!(mapped.map(String::as_str), out.target(), "{ctx}");
        }
        // every standard has exactly one outcome, once
        let names: Vec<&str> = res.outcomes.iter().map(|o| o.standard.as_str()).collect();
        let mut dedup = names.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), names.len(), "row {i}: duplicate outcomes");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn other_versions_are_capped_and_counted() {
    let models: Vec<String> = (0..12).map(|i| format!("gpt-{i}.9")).collect();
    let m = Matcher::new(&strs(&["gpt-4.1"]), &[], MatchOptions::default());
    match m.match_models(&models).outcome("gpt-4.1") {
        Some(Outcome::OnlyOtherVersions {
            models: named,
            total,
        }) => {
            assert_eq!(*total, 12);
            assert_eq!(named.len(), matcher::MAX_NAMED);
            assert_eq!(named[0], "gpt-0.9");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn outcomes_describe_themselves() {
    let m = Matcher::new(
        &strs(&["gpt-4o", "gpt-4o-mini", "o3"]),
        &[],
        MatchOptions::default(),
    );
    let r = m.match_models(&strs(&["x/gpt-4o", "gpt-4.1-mini", "gpt-5-mini"]));
    let text: Vec<String> = r.outcomes.iter().map(|o| o.outcome.describe()).collect();
    assert_eq!(text[0], "mapped to x/gpt-4o (same model and version)");
    assert_eq!(
        text[1],
        "only other versions: gpt-4.1-mini, gpt-5-mini (version guard)"
    );
    assert_eq!(text[2], "no candidate in this channel");
    // serde's default enum form for the UI and the CLI's --json
    let json = serde_json::to_value(&r.outcomes[0]).unwrap();
    assert_eq!(json["standard"], "gpt-4o");
    assert_eq!(json["outcome"]["mapped"]["target"], "x/gpt-4o");
    assert_eq!(json["outcome"]["mapped"]["rule"], "same_key");
    let back: StandardOutcome = serde_json::from_value(json).unwrap();
    assert_eq!(back, r.outcomes[0]);
    // `kind` names the variant as serde writes it
    let every = [
        Outcome::Mapped {
            target: "t".into(),
            rule: MatchRule::SameKey,
        },
        Outcome::DatedFallback {
            target: "t".into(),
            date: DateStamp {
                year: Some(2025),
                month: 9,
                day: Some(29),
            },
        },
        Outcome::AlreadyPresent,
        Outcome::NoCandidate,
        Outcome::OnlyOtherVersions {
            models: vec![],
            total: 0,
        },
        Outcome::TakenByOther {
            candidates: vec![],
            by: vec![],
        },
        Outcome::DatedFallbackDisabled { candidates: vec![] },
        Outcome::InvalidName { reason: "r".into() },
    ];
    for o in every {
        let v = serde_json::to_value(&o).unwrap();
        let name = v.as_str().or_else(|| {
            v.as_object()
                .and_then(|m| m.keys().next())
                .map(String::as_str)
        });
        assert_eq!(name, Some(o.kind()), "{o:?}");
    }
    // the internally tagged form of earlier builds is not read (nothing stored it)
    assert!(
        serde_json::from_value::<Outcome>(serde_json::json!({"kind": "no_candidate"})).is_err()
    );
    assert_eq!(
        serde_json::to_value(Outcome::NoCandidate).unwrap(),
        serde_json::json!("no_candidate")
    );
    assert_eq!(
        serde_json::to_value(MatchRule::Alias {
            pattern: "g*".into()
        })
        .unwrap(),
        serde_json::json!({"alias": {"pattern": "g*"}})
    );
}

#[test]
fn owns_pair_follows_the_rules() {
    let m = Matcher::new(
        &strs(&["claude-4.5-sonnet", "gpt-4o-2024-08-06"]),
        &[Alias {
            name: "fast".into(),
            pattern: "*haiku*".into(),
        }],
        MatchOptions::default(),
    );
    assert!(m.owns_pair("claude-4.5-sonnet", "anthropic/claude-sonnet-4-5"));
    assert!(m.owns_pair("claude-4.5-sonnet", "claude-sonnet-4-5-20250929"));
    assert!(!m.owns_pair("claude-4.5-sonnet", "claude-3-5-sonnet"));
    assert!(m.owns_pair("gpt-4o-2024-08-06", "x/gpt-4o-20240806"));
    assert!(!m.owns_pair("gpt-4o-2024-08-06", "gpt-4o-2024-11-20"));
    assert!(m.owns_pair("fast", "claude-haiku-4-5"));
    assert!(!m.owns_pair("my-own", "claude-haiku-4-5"));
}

// ---------------------------------------------------------------------------------------------
// 4. presets and settings
// ---------------------------------------------------------------------------------------------

#[test]
fn presets_are_clean() {
    let all = presets::all_preset_models();
    assert!(all.len() > 60);
    for p in PRESETS {
        for m in p.models {
            assert_eq!(m.trim(), *m);
            // preset names are undated families, so they match dated snapshots as fallback
            let parsed = ParsedName::parse(m).unwrap();
            assert!(parsed.date.is_none(), "{m} parses as dated");
        }
    }
    // no two preset names are the same model (they would compete for one actual model)
    let mut keys: Vec<TokenKey> = all.iter().map(|m| TokenKey::of(m).unwrap()).collect();
    keys.sort();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n);
}

#[test]
fn settings_build_lists_and_validate() {
    let s = RedirectSettings {
        presets: vec!["anthropic".into(), "nope".into()],
        standard_models: strs(&["my-model", " claude-sonnet-4-5 ", "vendor/"]),
        aliases: vec![Alias {
            name: "x".into(),
            pattern: "".into(),
        }],
        ..RedirectSettings::default()
    };
    let list = s.standard_list();
    assert_eq!(list[0], "claude-opus-4-5");
    assert_eq!(list.iter().filter(|m| *m == "claude-sonnet-4-5").count(), 1);
    assert!(list.contains(&"my-model".to_string()));
    let problems = s.validate();
    assert_eq!(problems.len(), 3, "{problems:?}");
    let d: RedirectSettings = serde_json::from_str("{}").unwrap();
    assert_eq!(d, RedirectSettings::default());
    assert!(d.matching.allow_dated_targets);
}

// ---------------------------------------------------------------------------------------------
// 5. apply: merge, models, invalid, capabilities
// ---------------------------------------------------------------------------------------------

const NEW_API: Capabilities = Capabilities::NEW_API;
const DONE_HUB: Capabilities = Capabilities::DONE_HUB;
const AXON: Capabilities = Capabilities::AXON_HUB;
const OCTOPUS: Capabilities = Capabilities::OCTOPUS;

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn chan(models: &[&str], mapping: Mapping) -> Channel {
    Channel {
        id: ChannelId("7".into()),
        name: "c7".into(),
        enabled: true,
        channel_type: "1".into(),
        upstream_base_url: None,
        models: strs(models),
        mapping,
        tag: None,
        rules: Default::default(),
    }
}

fn valid(v: &[(&str, &str)]) -> Mapping {
    Mapping::Valid { pairs: pairs(v) }
}

fn matcher(stds: &[&str]) -> Matcher {
    Matcher::new(&strs(stds), &[], MatchOptions::default())
}

/// Apply a preview's update to the channel, as a gateway would store it.
fn applied(c: &Channel, p: &ChannelPreview) -> Channel {
    let mut c = c.clone();
    if let Some(m) = &p.update.models {
        c.models = m.clone();
    }
    if let Some(m) = &p.update.mapping {
        c.mapping = Mapping::from_json_text(Some(&Mapping::to_json_text(m)));
    }
    c
}

#[test]
fn redirect_merges_and_lists_standard_names() {
    let m = matcher(&["gpt-4o", "claude-4.5-sonnet"]);
    let c = chan(
        &["openai/gpt-4o", "anthropic/claude-sonnet-4-5", "mine"],
        valid(&[("mine", "upstream-mine"), ("gpt-4o", "old-target")]),
    );
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &ApplyOptions::default());
    assert_eq!(p.status, PlanStatus::Change);
    // existing order kept, new key wins, new keys appended, hand-written key kept
    assert_eq!(
        p.new_mapping,
        pairs(&[
            ("mine", "upstream-mine"),
            ("gpt-4o", "openai/gpt-4o"),
            ("claude-4.5-sonnet", "anthropic/claude-sonnet-4-5"),
        ])
    );
    assert_eq!(
        p.changes,
        vec![
            MappingChange {
                key: "gpt-4o".into(),
                old: Some("old-target".into()),
                new: Some("openai/gpt-4o".into())
            },
            MappingChange {
                key: "claude-4.5-sonnet".into(),
                old: None,
                new: Some("anthropic/claude-sonnet-4-5".into())
            },
        ]
    );
    assert_eq!(p.added_models, strs(&["gpt-4o", "claude-4.5-sonnet"]));
    assert!(p.removed_models.is_empty());
    assert_eq!(p.update.mapping.as_ref(), Some(&p.new_mapping));
    // run again on the stored result: nothing to do
    let c2 = applied(&c, &p);
    let p2 = plan_redirect(
        &m,
        &c2,
        &NEW_API,
        SiteKind::NewApi,
        &ApplyOptions::default(),
    );
    assert_eq!(p2.status, PlanStatus::Unchanged, "{p2:?}");
    assert!(p2.update.is_empty());
    // the standard names are aliases, not "already present" models
    assert!(matches!(p2.outcomes[0].outcome, Outcome::Mapped { .. }));
}

#[test]
fn standard_names_dropped_by_a_sync_are_listed_again() {
    // the anchor's bug: mapping unchanged, names gone from models → it never re-adds them
    let m = matcher(&["gpt-4o"]);
    let c = chan(&["openai/gpt-4o"], valid(&[("gpt-4o", "openai/gpt-4o")]));
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &ApplyOptions::default());
    assert_eq!(p.status, PlanStatus::Change);
    assert_eq!(p.update.mapping, None);
    assert_eq!(p.update.models, Some(strs(&["openai/gpt-4o", "gpt-4o"])));
}

#[test]
fn axonhub_does_not_list_aliases() {
    let m = matcher(&["gpt-4o"]);
    let c = chan(&["openai/gpt-4o"], Mapping::Empty);
    let p = plan_redirect(&m, &c, &AXON, SiteKind::AxonHub, &ApplyOptions::default());
    assert_eq!(p.update.models, None);
    assert_eq!(
        p.update.mapping,
        Some(pairs(&[("gpt-4o", "openai/gpt-4o")]))
    );
    // every `to` is in the channel's models
    for (_, to) in &p.new_mapping {
        assert!(c.models.contains(to));
    }
}

#[test]
fn axonhub_plans_drop_entries_whose_target_is_no_longer_supported() {
    // AxonHub ignores such an entry and refuses a write that carries one
    let m = matcher(&["gpt-4o"]);
    let c = chan(
        &["openai/gpt-4o", "gpt-5"],
        valid(&[("gpt-5-latest", "gpt-5-2025-08-07"), ("five", "gpt-5")]),
    );
    let p = plan_redirect(&m, &c, &AXON, SiteKind::AxonHub, &ApplyOptions::default());
    assert_eq!(
        p.new_mapping,
        pairs(&[("five", "gpt-5"), ("gpt-4o", "openai/gpt-4o")])
    );
    assert_eq!(p.pruned, pairs(&[("gpt-5-latest", "gpt-5-2025-08-07")]));
    for (_, to) in &p.new_mapping {
        assert!(c.models.contains(to), "{to}");
    }
    // New API keeps it unless pruning is asked for (a chain may still route it there)
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &ApplyOptions::default());
    assert!(p.pruned.is_empty());
    assert_eq!(p.new_mapping.len(), 3);
    // a clear of msync's entries drops the dead entry too, and says so
    let c = chan(
        &["openai/gpt-4o", "gpt-5"],
        valid(&[
            ("gpt-5-latest", "gpt-5-2025-08-07"),
            ("gpt-4o", "openai/gpt-4o"),
            ("five", "gpt-5"),
        ]),
    );
    let opts = ClearOptions {
        scope: ClearScope::Generated,
        remove_added_names: false,
        confirm_overwrite_invalid: false,
    };
    let p = plan_clear(&m, &c, &AXON, SiteKind::AxonHub, &opts);
    assert_eq!(p.new_mapping, pairs(&[("five", "gpt-5")]));
    assert_eq!(p.pruned, pairs(&[("gpt-5-latest", "gpt-5-2025-08-07")]));
}

#[test]
fn octopus_is_refused_clearly() {
    let m = matcher(&["gpt-4o"]);
    let c = chan(&["gpt-4o-x"], Mapping::Unsupported);
    for caps in [OCTOPUS, NEW_API] {
        let p = plan_redirect(&m, &c, &caps, SiteKind::Octopus, &ApplyOptions::default());
        match &p.status {
            PlanStatus::Blocked { reason, why } => {
                let message = why.to_string();
                assert_eq!(*reason, BlockReason::NoMappingSupport);
                assert!(message.contains("Octopus"), "{message}");
                assert!(message.contains("model mapping"), "{message}");
            }
            s => panic!("{s:?}"),
        }
        assert!(p.update.is_empty());
    }
    let p = plan_prune(&c, &OCTOPUS, SiteKind::Octopus);
    assert!(matches!(p.status, PlanStatus::Blocked { .. }));
}

#[test]
fn invalid_mapping_is_never_overwritten_without_confirmation() {
    let m = matcher(&["gpt-4o"]);
    let bad = Mapping::from_json_text(Some("{not json"));
    assert!(matches!(bad, Mapping::Invalid { .. }));
    let c = chan(&["openai/gpt-4o"], bad.clone());
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &ApplyOptions::default());
    match &p.status {
        PlanStatus::Blocked { reason, why } => {
            let message = why.to_string();
            assert_eq!(*reason, BlockReason::InvalidMapping);
            assert!(message.contains("confirm"), "{message}");
        }
        s => panic!("{s:?}"),
    }
    assert!(p.update.is_empty());
    assert_eq!(p.old_mapping, bad);
    // the explanation is still there for the preview
    assert_eq!(p.outcomes.len(), 1);

    // confirmed: replaced
    let opts = ApplyOptions {
        confirm_overwrite_invalid: true,
        ..ApplyOptions::default()
    };
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &opts);
    assert_eq!(p.status, PlanStatus::Change);
    assert_eq!(
        p.update.mapping,
        Some(pairs(&[("gpt-4o", "openai/gpt-4o")]))
    );

    // nothing generated: untouched even when confirmed
    let c = chan(&["deepseek-chat"], bad);
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &opts);
    assert_eq!(p.status, PlanStatus::Unchanged);
    assert!(p.update.is_empty());
}

#[test]
fn donehub_plus_is_kept_when_the_target_is_the_same() {
    let m = matcher(&["gpt-4o"]);
    let c = chan(
        &["gpt-4o", "openai/gpt-4o"],
        valid(&[("gpt-4o", "+openai/gpt-4o")]),
    );
    let p = plan_redirect(
        &m,
        &c,
        &DONE_HUB,
        SiteKind::DoneHub,
        &ApplyOptions::default(),
    );
    assert_eq!(p.status, PlanStatus::Unchanged, "{p:?}");
    // on New API `+` is part of the id: the generated value differs and wins
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &ApplyOptions::default());
    assert_eq!(
        p.update.mapping,
        Some(pairs(&[("gpt-4o", "openai/gpt-4o")]))
    );
}

#[test]
fn actual_models_leave_out_alias_keys() {
    let c = chan(
        &["gpt-4o", " openai/gpt-4o ", "same", "", "x"],
        valid(&[("gpt-4o", "openai/gpt-4o"), ("same", "same"), ("y", "z")]),
    );
    assert_eq!(
        actual_models(&c, NEW_API.mapping),
        strs(&["openai/gpt-4o", "same", "x"])
    );
}

// ---------------------------------------------------------------------------------------------
// 6. prune
// ---------------------------------------------------------------------------------------------

#[test]
fn prune_table() {
    // (site, mapping, available models, kept keys)
    type PruneRow = (
        SiteKind,
        &'static [(&'static str, &'static str)],
        &'static [&'static str],
        &'static [&'static str],
    );
    let rows: &[PruneRow] = &[
        (
            SiteKind::Veloera,
            &[("a", "x"), ("b", "gone")],
            &["x"],
            &["a"],
        ),
        (SiteKind::Veloera, &[("a", " x ")], &["x"], &["a"]),
        (SiteKind::AxonHub, &[("a", "x"), ("b", "y")], &["y"], &["b"]),
        // New API chains resolve through the mapping
        (
            SiteKind::NewApi,
            &[("a", "b"), ("b", "c")],
            &["c"],
            &["a", "b"],
        ),
        (
            SiteKind::NewApi,
            &[("a", "b"), ("b", "c"), ("c", "d")],
            &["d"],
            &["a", "b", "c"],
        ),
        (SiteKind::NewApi, &[("a", "b"), ("b", "c")], &["x"], &[]),
        (SiteKind::NewApi, &[("a", "b"), ("b", "a")], &["x"], &[]),
        (SiteKind::NewApi, &[("a", "a")], &["x"], &[]),
        // other sites do not chain
        (SiteKind::Veloera, &[("a", "b"), ("b", "c")], &["c"], &["b"]),
        (SiteKind::DoneHub, &[("a", "b"), ("b", "c")], &["c"], &["b"]),
        // DoneHub `+`
        (
            SiteKind::DoneHub,
            &[("a", "+x"), ("b", "+gone")],
            &["x"],
            &["a"],
        ),
        (SiteKind::NewApi, &[("a", "+x")], &["x"], &[]),
        (SiteKind::NewApi, &[], &["x"], &[]),
    ];
    for (site, mapping, avail, want) in rows {
        let (kept, pruned) = prune_missing_targets(
            crate::gateway::capabilities(*site).mapping,
            &pairs(mapping),
            &strs(avail),
        );
        let keys: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, *want, "{site:?} {mapping:?} {avail:?}");
        assert_eq!(kept.len() + pruned.len(), mapping.len());
        // stored values keep their `+`
        for (k, v) in &kept {
            assert!(mapping.contains(&(k.as_str(), v.as_str())));
        }
    }
}

#[test]
fn prune_runs_with_redirect_when_asked() {
    let m = matcher(&["gpt-4o"]);
    let c = chan(
        &["gpt-4o", "openai/gpt-4o", "old-alias"],
        valid(&[("old-alias", "vanished-model"), ("gpt-4o", "openai/gpt-4o")]),
    );
    let keep = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &ApplyOptions::default());
    assert_eq!(keep.status, PlanStatus::Unchanged);
    let opts = ApplyOptions {
        prune_missing_targets: true,
        ..ApplyOptions::default()
    };
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &opts);
    assert_eq!(p.pruned, pairs(&[("old-alias", "vanished-model")]));
    assert_eq!(p.new_mapping, pairs(&[("gpt-4o", "openai/gpt-4o")]));
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].new, None);
    let p = plan_prune(&c, &NEW_API, SiteKind::NewApi);
    assert_eq!(
        p.update.mapping,
        Some(pairs(&[("gpt-4o", "openai/gpt-4o")]))
    );
    assert_eq!(p.update.models, None);
    // prune never touches an unparseable mapping
    let bad = chan(&["x"], Mapping::from_json_text(Some("[1]")));
    assert_eq!(
        plan_prune(&bad, &NEW_API, SiteKind::NewApi).status,
        PlanStatus::Unchanged
    );
}

// ---------------------------------------------------------------------------------------------
// 7. bulk clear
// ---------------------------------------------------------------------------------------------

#[test]
fn clear_generated_keeps_hand_written_entries() {
    let m = matcher(&["gpt-4o", "claude-4.5-sonnet"]);
    let c = chan(
        &["gpt-4o", "claude-4.5-sonnet", "openai/gpt-4o", "mine"],
        valid(&[
            ("gpt-4o", "openai/gpt-4o"),
            ("claude-4.5-sonnet", "vanished/claude-sonnet-4-5"),
            ("mine", "upstream-mine"),
            ("gpt-4o-mini", "gpt-4.1-mini"),
        ]),
    );
    let opts = ClearOptions {
        scope: ClearScope::Generated,
        remove_added_names: false,
        confirm_overwrite_invalid: false,
    };
    let p = plan_clear(&m, &c, &NEW_API, SiteKind::NewApi, &opts);
    assert_eq!(
        p.new_mapping,
        pairs(&[("mine", "upstream-mine"), ("gpt-4o-mini", "gpt-4.1-mini")])
    );
    assert_eq!(p.update.models, None);
    let opts = ClearOptions {
        remove_added_names: true,
        ..opts
    };
    let p = plan_clear(&m, &c, &NEW_API, SiteKind::NewApi, &opts);
    assert_eq!(p.new_models(), strs(&["openai/gpt-4o", "mine"]));
    assert_eq!(p.removed_models, strs(&["gpt-4o", "claude-4.5-sonnet"]));
    // AxonHub never had names added
    let p = plan_clear(&m, &c, &AXON, SiteKind::AxonHub, &opts);
    assert_eq!(p.update.models, None);
}

#[test]
fn clear_all_and_its_guards() {
    let m = matcher(&["gpt-4o"]);
    let all = ClearOptions {
        scope: ClearScope::All,
        remove_added_names: true,
        confirm_overwrite_invalid: false,
    };
    let channels = vec![
        chan(
            &["gpt-4o", "openai/gpt-4o", "mine"],
            valid(&[("gpt-4o", "openai/gpt-4o"), ("mine", "x")]),
        ),
        chan(&["a"], Mapping::Empty),
        chan(&["a"], Mapping::from_json_text(Some("nope"))),
    ];
    let ps = plan_clear_all(&m, &channels, &NEW_API, SiteKind::NewApi, &all);
    assert_eq!(ps[0].update.mapping, Some(vec![]));
    // only the msync-style key leaves the models list; `mine` stays (hand-written)
    assert_eq!(ps[0].update.models, Some(strs(&["openai/gpt-4o", "mine"])));
    assert_eq!(ps[1].status, PlanStatus::Unchanged);
    assert!(matches!(
        ps[2].status,
        PlanStatus::Blocked {
            reason: BlockReason::InvalidMapping,
            ..
        }
    ));
    let t = totals(&ps);
    assert_eq!((t.change, t.unchanged, t.blocked), (1, 1, 1));
    assert_eq!(t.keys_removed, 2);

    let confirmed = ClearOptions {
        confirm_overwrite_invalid: true,
        ..all
    };
    let p = plan_clear(&m, &channels[2], &NEW_API, SiteKind::NewApi, &confirmed);
    assert_eq!(p.status, PlanStatus::Change);
    assert_eq!(p.update.mapping, Some(vec![]));
    let generated = ClearOptions {
        scope: ClearScope::Generated,
        ..confirmed
    };
    let p = plan_clear(&m, &channels[2], &NEW_API, SiteKind::NewApi, &generated);
    assert!(matches!(
        p.status,
        PlanStatus::Blocked {
            reason: BlockReason::CannotReadMapping,
            ..
        }
    ));
    let p = plan_clear(&m, &channels[0], &OCTOPUS, SiteKind::Octopus, &all);
    assert!(matches!(p.status, PlanStatus::Blocked { .. }));
}

#[test]
fn clear_on_donehub_sees_through_plus() {
    let m = matcher(&["gpt-4o"]);
    let c = chan(
        &["gpt-4o", "openai/gpt-4o"],
        valid(&[("gpt-4o", "+openai/gpt-4o")]),
    );
    let opts = ClearOptions {
        scope: ClearScope::Generated,
        remove_added_names: true,
        confirm_overwrite_invalid: false,
    };
    let p = plan_clear(&m, &c, &DONE_HUB, SiteKind::DoneHub, &opts);
    assert_eq!(p.update.mapping, Some(vec![]));
    assert_eq!(p.update.models, Some(strs(&["openai/gpt-4o"])));
}

#[test]
fn redirect_then_clear_restores_the_channel() {
    let m = matcher(&["gpt-4o", "claude-4.5-sonnet", "gemini-2.5-pro"]);
    let c = chan(
        &["openai/gpt-4o", "claude-sonnet-4-5-20250929", "mine"],
        valid(&[("mine", "upstream")]),
    );
    let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &ApplyOptions::default());
    let c2 = applied(&c, &p);
    assert_eq!(c2.mapping.pairs().len(), 3);
    let opts = ClearOptions {
        scope: ClearScope::Generated,
        remove_added_names: true,
        confirm_overwrite_invalid: false,
    };
    let p = plan_clear(&m, &c2, &NEW_API, SiteKind::NewApi, &opts);
    let c3 = applied(&c2, &p);
    assert_eq!(c3.models, c.models);
    assert_eq!(c3.mapping, c.mapping);
}

// ---------------------------------------------------------------------------------------------
// 8. properties over generated names
// ---------------------------------------------------------------------------------------------

/// A tiny deterministic PRNG (no dev-dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() as usize) % v.len()]
    }
}

fn random_name(r: &mut Lcg) -> String {
    const VENDORS: &[&str] = &["", "", "", "openai/", "anthropic/", "x/y/", "Pro/"];
    const FAMILIES: &[&str] = &[
        "gpt", "claude", "gemini", "glm", "qwen", "deepseek", "o", "llama", "通义", "Mistral",
    ];
    const VERSIONS: &[&str] = &[
        "4", "4o", "4.1", "4.5", "5.4", "3-5", "5", "2.5", "3", "v3", "r1", "1", "4-32k", "72b",
    ];
    const WORDS: &[&str] = &[
        "", "", "mini", "sonnet", "pro", "flash", "thinking", "preview", "latest", "chat", "free",
        "air", "turbo",
    ];
    const DATES: &[&str] = &[
        "",
        "",
        "",
        "-20241022",
        "-2024-08-06",
        "_2024_08_15",
        "-0613",
        "-1106",
        "-11-2024",
        "-2411",
        "@20250929",
        "-250615",
        "-04-17",
        "-32768",
        "-4096",
        "-002",
    ];
    const SUFFIX: &[&str] = &["", "", "", ":free", ":beta"];
    const SEPS: &[&str] = &["-", "_", ".", " "];
    let sep = r.pick(SEPS);
    let mut s = format!(
        "{}{}{sep}{}",
        r.pick(VENDORS),
        r.pick(FAMILIES),
        r.pick(VERSIONS)
    );
    let w = r.pick(WORDS);
    if !w.is_empty() {
        if r.next().is_multiple_of(2) {
            s = format!("{s}{sep}{w}");
        } else {
            s = format!("{w}{sep}{s}");
        }
    }
    s.push_str(r.pick(DATES));
    s.push_str(r.pick(SUFFIX));
    if r.next().is_multiple_of(5) {
        s = s.to_uppercase();
    }
    if r.next().is_multiple_of(7) {
        s = format!("  {s} ");
    }
    s
}

#[test]
fn normalization_is_idempotent() {
    let mut r = Lcg(7);
    for _ in 0..5000 {
        let n = random_name(&mut r);
        let once = normalize(&n);
        assert_eq!(normalize(once), once, "{n:?}");
        assert_eq!(TokenKey::of(once), TokenKey::of(&n), "{n:?}");
        if let Some(k) = TokenKey::of(&n) {
            // the key is stable under case and separator changes
            assert_eq!(TokenKey::of(&n.to_lowercase()), Some(k.clone()), "{n:?}");
            assert_eq!(TokenKey::of(&once.replace('_', "-")), Some(k), "{n:?}");
        }
    }
}

#[test]
fn matcher_properties() {
    let mut r = Lcg(42);
    for round in 0..300 {
        let standards: Vec<String> = (0..(r.next() % 12 + 1))
            .map(|_| random_name(&mut r))
            .collect();
        let models: Vec<String> = (0..(r.next() % 40)).map(|_| random_name(&mut r)).collect();
        let dated = round % 3 != 0;
        let m = Matcher::new(
            &standards,
            &[],
            MatchOptions {
                allow_dated_targets: dated,
            },
        );
        let res = m.match_models(&models);
        let trimmed: Vec<&str> = models.iter().map(|s| s.trim()).collect();
        let mut targets = std::collections::HashSet::new();
        for (std, target) in &res.mapping {
            // targets come from the input list
            assert!(
                trimmed.contains(&target.as_str()),
                "{target:?} not in input"
            );
            // each actual model serves one standard model
            assert!(targets.insert(target.clone()), "{target:?} used twice");
            // never across token keys
            assert_eq!(TokenKey::of(std), TokenKey::of(target), "{std} → {target}");
            let (sd, td) = (
                ParsedName::parse(std).unwrap().date,
                ParsedName::parse(target).unwrap().date,
            );
            // a dated standard maps only to the same snapshot
            if sd.is_some() {
                assert_eq!(sd, td, "{std} → {target}");
            }
            if !dated && sd.is_none() {
                assert!(
                    td.is_none(),
                    "dated target with dated targets off: {std} → {target}"
                );
            }
            // a standard present verbatim is never mapped
            assert!(!trimmed.contains(&std.as_str()), "{std} is present");
        }
        // a dated fallback only when no undated same-key model was left unused
        for o in &res.outcomes {
            if let Outcome::DatedFallback { .. } = o.outcome {
                let k = TokenKey::of(&o.standard);
                for a in &trimmed {
                    let p = ParsedName::parse(a);
                    if let Some(p) = p {
                        if Some(&p.key) == k.as_ref() && p.date.is_none() {
                            let serves_other = targets.contains(*a)
                                || res.outcomes.iter().any(|x| {
                                    x.standard == *a && x.outcome == Outcome::AlreadyPresent
                                });
                            assert!(serves_other, "{} skipped undated {a}", o.standard);
                        }
                    }
                }
            }
        }
        // deterministic: a warm matcher and a fresh one agree
        assert_eq!(m.match_models(&models), res);
        let fresh = Matcher::new(
            &standards,
            &[],
            MatchOptions {
                allow_dated_targets: dated,
            },
        );
        assert_eq!(fresh.match_models(&models), res);
    }
}

#[test]
fn plans_are_idempotent_over_generated_channels() {
    let mut r = Lcg(99);
    let standards: Vec<String> = presets::all_preset_models();
    let m = Matcher::new(&standards, &[], MatchOptions::default());
    for _ in 0..100 {
        let models: Vec<String> = (0..(r.next() % 30)).map(|_| random_name(&mut r)).collect();
        let c = chan(&[], Mapping::Empty);
        let c = Channel { models, ..c };
        let p = plan_redirect(&m, &c, &NEW_API, SiteKind::NewApi, &ApplyOptions::default());
        let c2 = applied(&c, &p);
        let p2 = plan_redirect(
            &m,
            &c2,
            &NEW_API,
            SiteKind::NewApi,
            &ApplyOptions::default(),
        );
        assert_eq!(p2.status, PlanStatus::Unchanged, "{:?}", c2);
    }
}

/// Fuzzer finding (matcher): names are trimmed like `str::trim` everywhere, also of U+000B
/// (vertical tab), which the matcher's ASCII fast path used to keep, so the mapping target was
/// a name the (trimmed) channel list does not hold.
#[test]
fn names_with_a_vertical_tab_are_trimmed_like_everywhere_else() {
    let m = Matcher::new(&["gpt-4o".to_string()], &[], MatchOptions::default());
    for raw in [
        "\u{b}gpt-4o",
        "gpt-4o\u{b}",
        "\u{b}openai/gpt-4o\u{c}",
        "\u{85}gpt-4o",
    ] {
        let r = m.match_models(&[raw]);
        let trimmed = raw.trim();
        match r.outcome("gpt-4o") {
            Some(Outcome::AlreadyPresent) => assert_eq!(trimmed, "gpt-4o", "{raw:?}"),
            Some(Outcome::Mapped { target, .. }) => assert_eq!(target, trimmed, "{raw:?}"),
            other => panic!("{raw:?}: {other:?}"),
        }
        for (_, t) in &r.mapping {
            assert_eq!(t, t.trim(), "{raw:?}: untrimmed target {t:?}");
        }
    }
}

//! Model-name normalization: core identity, date suffixes, token keys.
//!
//! Everything here is a pure function of one name. The matcher builds on three facts about a name:
//!
//! * its **core identity** — the text after the last `/`, cut at the first `:`, trimmed
//!   (`openrouter/anthropic/claude-sonnet-4-5:free` → `claude-sonnet-4-5`);
//! * its **snapshot date**, if the core identity ends in one (see [`split_date`] for the shapes);
//! * its **token key** — what "the same model, the same version" means (see [`TokenKey`]).
//!
//! Rules are documented with examples in `docs/redirect.md`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The core identity of a model id: text after the last `/`, cut at the first `:`, trimmed.
/// Case is preserved. An id like `vendor/` has an empty core identity.
pub fn core_identity(name: &str) -> &str {
    let t = fast_trim(name);
    // byte scans: `/` and `:` are ASCII, so they never match inside a multi-byte char
    let after = match t.bytes().rposition(|b| b == b'/') {
        Some(i) => &t[i + 1..],
        None => t,
    };
    let cut = match after.bytes().position(|b| b == b':') {
        Some(i) => &after[..i],
        None => after,
    };
    fast_trim(cut)
}

/// `str::trim` with a fast path for the common already-trimmed ASCII name. The fast path takes
/// printable ASCII ends only: `u8::is_ascii_whitespace` leaves out U+000B, which `str::trim`
/// removes (a fuzzer finding: a name starting with it became a target the channel never lists).
pub(crate) fn fast_trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

pub use msync_types::redirect::DateStamp;

fn is_date_sep(b: u8) -> bool {
    b == b'-' || b == b'_'
}

/// A separator allowed between the name and its date (`@` for Vertex-style `model@20241022`).
fn is_lead_sep(b: u8) -> bool {
    b == b'-' || b == b'_' || b == b'@'
}

fn num(s: &[u8]) -> u32 {
    s.iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
}

fn valid_md(m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

fn century_year(y: u32) -> bool {
    (1900..=2099).contains(&y)
}

/// Two-digit years that may start a `YYMM`/`YYMMDD` stamp. 23+ can never be a month, so these
/// shapes never collide with `MMDD`.
fn short_year(y: u32) -> bool {
    (23..=49).contains(&y)
}

/// Up to three trailing runs of ASCII digits of a name, last first (no allocation).
#[derive(Debug, Default, PartialEq, Eq)]
struct Groups {
    spans: [(usize, usize); 3],
    len: usize,
}

impl Groups {
    fn get(&self, i: usize) -> Option<&(usize, usize)> {
        self.spans[..self.len].get(i)
    }
}

/// The trailing runs of ASCII digits of `s`, last first, each with the byte range it spans.
/// Stops after three runs or at the first token that is not all digits.
fn trailing_digit_groups(s: &[u8]) -> Groups {
    let mut out = Groups::default();
    let mut end = s.len();
    while out.len < 3 && end > 0 {
        let mut start = end;
        while start > 0 && s[start - 1].is_ascii_digit() {
            start -= 1;
        }
        if start == end {
            break;
        }
        out.spans[out.len] = (start, end);
        out.len += 1;
        // the group must be a whole token: preceded by a separator (or nothing)
        if start == 0 || !is_lead_sep(s[start - 1]) {
            break;
        }
        end = start - 1;
    }
    out
}

/// Find a date suffix at the end of a core identity. Returns the byte length of the part before
/// the date (separator excluded) and the date. The shapes, tried in this order:
///
/// 1. `yyyy-mm-dd` / `yyyy_mm_dd` (year 1900–2099, valid month and day)
/// 2. `mm-yyyy`
/// 3. `yyyymmdd`
/// 4. six digits: `yyyymm` (year 1900–2099) or `yymmdd` (yy 23–49: ByteDance `-250615`)
/// 5. four digits: `mmdd` (OpenAI `-0613`, `-1106`) or `yymm` (yy 23–49: Mistral `-2411`,
///    Qwen `-2507`)
/// 6. `mm-dd` after a word (Google `-preview-05-06`); not after a number (`x-12-10-05` stays)
///
/// The date must be a whole token: `-`, `_` or `@` before it, and a non-empty name before that.
/// Numbers that fail these checks (`-32k`, `-405b`, `-4096`, `-2048`, `-002`, `-12345`) are not dates.
pub fn split_date(core: &str) -> Option<(usize, DateStamp)> {
    let s = core.as_bytes();
    let groups = trailing_digit_groups(s);
    let g = |i: usize| -> Option<&[u8]> { groups.get(i).map(|&(a, b)| &s[a..b]) };
    // byte index of the name end before group i, if group i is preceded by a separator
    // and a non-empty name
    let base_before = |i: usize, lead: bool| -> Option<usize> {
        let (start, _) = *groups.get(i)?;
        if start < 2 {
            return None;
        }
        let sep = s[start - 1];
        let ok = if lead {
            is_lead_sep(sep)
        } else {
            is_date_sep(sep)
        };
        ok.then_some(start - 1)
    };
    let last = g(0)?;
    // 1. yyyy-mm-dd
    if let (Some(d), Some(m), Some(y)) = (g(0), g(1), g(2)) {
        if y.len() == 4
            && m.len() == 2
            && d.len() == 2
            && base_before(0, false).is_some()
            && base_before(1, false).is_some()
        {
            let (y, m, d) = (num(y), num(m), num(d));
            if century_year(y) && valid_md(m, d) {
                if let Some(end) = base_before(2, true) {
                    return Some((end, date(Some(y), m, Some(d))));
                }
            }
        }
    }
    // 2. mm-yyyy
    if let (Some(y), Some(m)) = (g(0), g(1)) {
        if y.len() == 4 && m.len() == 2 && base_before(0, false).is_some() {
            let (y, m) = (num(y), num(m));
            if century_year(y) && (1..=12).contains(&m) {
                if let Some(end) = base_before(1, true) {
                    return Some((end, date(Some(y), m, None)));
                }
            }
        }
    }
    if let Some(end) = base_before(0, true) {
        match last.len() {
            // 3. yyyymmdd
            8 => {
                let (y, m, d) = (num(&last[..4]), num(&last[4..6]), num(&last[6..]));
                if century_year(y) && valid_md(m, d) {
                    return Some((end, date(Some(y), m, Some(d))));
                }
            }
            // 4. yyyymm / yymmdd
            6 => {
                let (y4, m4) = (num(&last[..4]), num(&last[4..]));
                if century_year(y4) && (1..=12).contains(&m4) {
                    return Some((end, date(Some(y4), m4, None)));
                }
                let (y, m, d) = (num(&last[..2]), num(&last[2..4]), num(&last[4..]));
                if short_year(y) && valid_md(m, d) {
                    return Some((end, date(Some(2000 + y), m, Some(d))));
                }
            }
            // 5. mmdd / yymm
            4 => {
                let (a, b) = (num(&last[..2]), num(&last[2..]));
                if valid_md(a, b) {
                    return Some((end, date(None, a, Some(b))));
                }
                if short_year(a) && (1..=12).contains(&b) {
                    return Some((end, date(Some(2000 + a), b, None)));
                }
            }
            _ => {}
        }
    }
    // 6. mm-dd after a word
    if let (Some(d), Some(m)) = (g(0), g(1)) {
        if d.len() == 2 && m.len() == 2 && base_before(0, false).is_some() {
            let (mm, dd) = (num(m), num(d));
            if valid_md(mm, dd) {
                if let Some(end) = base_before(1, true) {
                    // the token before the month must not be a number
                    let prev_is_word = s[..end]
                        .iter()
                        .rev()
                        .take_while(|b| !is_lead_sep(**b) && **b != b'.')
                        .any(|b| !b.is_ascii_digit());
                    if prev_is_word {
                        return Some((end, date(None, mm, Some(dd))));
                    }
                }
            }
        }
    }
    None
}

fn date(year: Option<u32>, month: u32, day: Option<u32>) -> DateStamp {
    // callers validated the ranges, so these narrowings cannot truncate
    DateStamp {
        year: year.map(|y| y as u16),
        month: month as u8,
        day: day.map(|d| d as u8),
    }
}

/// Remove every trailing date from a core identity. Returns the remaining name (trimmed) and the
/// outermost (last) date. Repeating until no date is left makes normalization idempotent.
pub fn strip_dates(core: &str) -> (&str, Option<DateStamp>) {
    let mut rest = fast_trim(core);
    let mut first = None;
    while let Some((end, d)) = split_date(rest) {
        first.get_or_insert(d);
        rest = fast_trim(&rest[..end]);
    }
    (rest, first)
}

/// The normalized model name: core identity with date suffixes removed; case kept.
/// Idempotent: `normalize(normalize(x)) == normalize(x)`.
pub fn normalize(name: &str) -> &str {
    strip_dates(core_identity(name)).0
}

/// "The same model, the same version". Built from the normalized name: lowercase; `-`, `_`, `.`,
/// `@` and whitespace separate tokens; a token that starts with letters and continues with a digit
/// is split there (`qwen2` → `qwen`, `2`; `v3` → `v`, `3`; `a22b` → `a`, `22b`; but `4o` stays).
/// Word tokens (anything not all digits) are order-insensitive; all-digit tokens keep their
/// relative order. So `claude-4.5-sonnet` ≡ `claude-sonnet-4-5`, but ≢ `claude-5.4-sonnet`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenKey(String);

/// Separates the word part from the number part inside a [`TokenKey`]'s text.
const KEY_SPLIT: char = '#';

impl TokenKey {
    /// The key of a model id (vendor path, `:suffix` and date are removed first).
    pub fn of(name: &str) -> Option<TokenKey> {
        let (key, _) = key_and_skeleton(normalize(name));
        key
    }

    /// Encoded text: sorted words joined by `-`, `#`, numbers in order joined by `.`
    /// (`claude-sonnet#4.5`). Tokens never contain separators, so the encoding is unambiguous.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The version part (numeric tokens in order), e.g. `4.5`; empty when there is none.
    pub fn version(&self) -> &str {
        self.0.split_once(KEY_SPLIT).map_or("", |(_, v)| v)
    }
}

impl fmt::Display for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Words that only qualify a model (`-thinking`, `-preview`). Used for the "only other versions"
/// explanation, never for matching.
const QUALIFIERS: &[&str] = &[
    "alpha",
    "beta",
    "exp",
    "experimental",
    "free",
    "latest",
    "nothink",
    "nothinking",
    "online",
    "preview",
    "think",
    "thinking",
];

fn is_sep(c: char) -> bool {
    matches!(c, '-' | '_' | '.' | '@') || c.is_whitespace() || c.is_control()
}

/// Lowercase, borrowing when there is nothing to change.
fn lowercase(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(s.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    } else {
        std::borrow::Cow::Owned(s.to_lowercase())
    }
}

fn is_sep_byte(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.' | b'@') || b.is_ascii_whitespace() || b.is_ascii_control()
}

/// Lowercase into `buf` (cleared first) when there is something to change; `s` itself otherwise.
pub(crate) fn lowercase_into<'a>(s: &'a str, buf: &'a mut String) -> &'a str {
    if s.is_ascii() {
        if !s.bytes().any(|b| b.is_ascii_uppercase()) {
            return s;
        }
        buf.clear();
        buf.push_str(s);
        buf.make_ascii_lowercase();
    } else {
        // `str::to_lowercase`, not per char: it lowercases a final sigma differently
        buf.clear();
        buf.push_str(&s.to_lowercase());
    }
    buf
}

/// One raw token, with the letter→digit split applied.
#[inline]
fn split_token<'a>(raw: &'a str, f: &mut impl FnMut(&'a str)) {
    // letters then a digit: split once at the first digit
    match raw.bytes().position(|b| b.is_ascii_digit()) {
        Some(i) if i > 0 && all_alphabetic(&raw[..i]) => {
            f(&raw[..i]);
            f(&raw[i..]);
        }
        _ => f(raw),
    }
}

/// The tokens of an already-lowercased name, in order, with the letter→digit split applied.
fn for_each_token<'a>(lower: &'a str, mut f: impl FnMut(&'a str)) {
    if lower.is_ascii() {
        // byte scan; every separator is one ASCII byte, so the slices stay on char boundaries
        let b = lower.as_bytes();
        let mut start = 0;
        for i in 0..=b.len() {
            if i == b.len() || is_sep_byte(b[i]) {
                if i > start {
                    split_token(&lower[start..i], &mut f);
                }
                start = i + 1;
            }
        }
    } else {
        for raw in lower.split(is_sep).filter(|t| !t.is_empty()) {
            split_token(raw, &mut f);
        }
    }
}

/// Push the tokens of an already-lowercased name, applying the letter→digit split.
fn push_tokens<'a>(lower: &'a str, out: &mut Vec<&'a str>) {
    for_each_token(lower, |t| out.push(t));
}

/// Split a normalized name into tokens (lowercased), applying the letter→digit split.
pub fn tokens(normalized: &str) -> Vec<String> {
    let lower = lowercase(normalized);
    let mut out = Vec::new();
    push_tokens(&lower, &mut out);
    out.into_iter().map(str::to_string).collect()
}

fn is_number(t: &str) -> bool {
    t.bytes().all(|b| b.is_ascii_digit())
}

/// `char::is_alphabetic` for every char, by bytes when the text is ASCII.
fn all_alphabetic(t: &str) -> bool {
    if t.is_ascii() {
        t.bytes().all(|b| b.is_ascii_alphabetic())
    } else {
        t.chars().all(char::is_alphabetic)
    }
}

/// A word that belongs to the family skeleton: all letters, not a qualifier.
fn is_skeleton_word(w: &str) -> bool {
    all_alphabetic(w) && !QUALIFIERS.contains(&w)
}

/// Hashes of what a name's [`TokenKey`] and family skeleton are made of, computed in one pass
/// without sorting or allocating: word hashes are summed (order-insensitive, as the key sorts its
/// words), number hashes folded in order. Equal keys give equal `key` hashes and equal skeletons
/// equal `skeleton` hashes (a key's text determines its sorted words and its numbers, a skeleton's
/// its words), so a name whose hashes belong to no standard model cannot share its key or skeleton;
/// the matcher skips building those for it and compares the real texts on a hash hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyHashes {
    pub key: u64,
    pub skeleton: u64,
}

/// splitmix64's finalizer: spreads every input bit over the output (sums of hashes stay spread).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The sums and fold [`KeyHashes`] are made of.
#[derive(Default)]
struct HashAcc {
    words: u64,
    nums: u64,
    skeleton: u64,
}

/// One byte of a token's hash (FxHash's step).
#[inline]
fn hash_step(h: u64, b: u8) -> u64 {
    (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0xf135_7aea_2e62_a9c5)
}

impl HashAcc {
    /// A token whose bytes hash to `h`; `digits` / `letters`: all its bytes are ASCII digits /
    /// ASCII letters.
    #[inline]
    fn token(&mut self, t: &str, h: u64, digits: bool, letters: bool) {
        let h = mix(h);
        if digits {
            self.nums = mix(self.nums ^ h).wrapping_add(1);
        } else {
            self.words = self.words.wrapping_add(h);
            let skeleton_word = if letters {
                !QUALIFIERS.contains(&t)
            } else {
                !t.is_ascii() && is_skeleton_word(t)
            };
            if skeleton_word {
                self.skeleton = self.skeleton.wrapping_add(h);
            }
        }
    }

    fn token_str(&mut self, t: &str) {
        let (mut h, mut digits, mut letters) = (0u64, true, true);
        for &b in t.as_bytes() {
            h = hash_step(h, b);
            digits &= b.is_ascii_digit();
            letters &= b.is_ascii_alphabetic();
        }
        self.token(t, h, digits, letters);
    }

    /// An ASCII name in one pass: [`for_each_token`]'s byte scan and letter→digit split, and
    /// [`Self::token_str`] of each token.
    fn ascii(&mut self, lower: &str) {
        let b = lower.as_bytes();
        // the current token: where it starts, its hash so far, whether its bytes so far are all
        // ASCII digits / letters, whether its raw token has had a digit yet
        let (mut start, mut h, mut digits, mut letters, mut seen_digit) =
            (0, 0u64, true, true, false);
        for (i, &c) in b.iter().enumerate() {
            if is_sep_byte(c) {
                if i > start {
                    self.token(&lower[start..i], h, digits, letters);
                }
                (start, h, digits, letters, seen_digit) = (i + 1, 0, true, true, false);
                continue;
            }
            let digit = c.is_ascii_digit();
            if digit && !seen_digit {
                seen_digit = true;
                // letters then a digit: the letters are a token of their own
                if i > start && letters {
                    self.token(&lower[start..i], h, false, true);
                    (start, h, digits, letters) = (i, 0, true, true);
                }
            }
            h = hash_step(h, c);
            digits &= digit;
            letters &= c.is_ascii_alphabetic();
        }
        if b.len() > start {
            self.token(&lower[start..], h, digits, letters);
        }
    }
}

/// [`KeyHashes`] of an already-lowercased normalized name (see [`lowercase_into`]).
pub(crate) fn key_hashes(lower: &str) -> KeyHashes {
    let mut acc = HashAcc::default();
    if lower.is_ascii() {
        acc.ascii(lower);
    } else {
        for_each_token(lower, |t| acc.token_str(t));
    }
    KeyHashes {
        key: mix(acc.words ^ acc.nums.rotate_left(32)),
        skeleton: acc.skeleton,
    }
}

/// [`key_hashes`] of a normalized name (lowercased here).
pub(crate) fn key_hashes_of(normalized: &str) -> KeyHashes {
    key_hashes(&lowercase(normalized))
}

/// The token key and the "family skeleton" (sorted alphabetic words minus qualifiers) of a
/// normalized name. The skeleton groups other versions and variants of a model for explanations.
pub(crate) fn key_and_skeleton(normalized: &str) -> (Option<TokenKey>, String) {
    let (mut key, mut skeleton) = (String::new(), String::new());
    if key_and_skeleton_into(normalized, &mut key, &mut skeleton) {
        (Some(TokenKey(key)), skeleton)
    } else {
        (None, String::new())
    }
}

/// [`key_and_skeleton`] into caller-owned buffers (cleared first); `false` when there is no key.
pub(crate) fn key_and_skeleton_into(
    normalized: &str,
    key: &mut String,
    skeleton: &mut String,
) -> bool {
    key_and_skeleton_lower(&lowercase(normalized), key, skeleton)
}

/// [`key_and_skeleton_into`] of an already-lowercased normalized name.
pub(crate) fn key_and_skeleton_lower(lower: &str, key: &mut String, skeleton: &mut String) -> bool {
    key.clear();
    skeleton.clear();
    let mut toks: Vec<&str> = Vec::with_capacity(12);
    push_tokens(lower, &mut toks);
    if toks.is_empty() {
        return false;
    }
    // words first, sorted; numbers after, in their original order (the sort is stable)
    toks.sort_by(|a, b| match (is_number(a), is_number(b)) {
        (false, false) => a.cmp(b),
        (true, true) => std::cmp::Ordering::Equal,
        (false, true) => std::cmp::Ordering::Less,
        (true, false) => std::cmp::Ordering::Greater,
    });
    let n_words = toks.iter().take_while(|t| !is_number(t)).count();
    let (words, nums) = toks.split_at(n_words);
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            key.push('-');
        }
        key.push_str(w);
    }
    key.push(KEY_SPLIT);
    for (i, n) in nums.iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        key.push_str(n);
    }
    for w in words.iter().filter(|w| is_skeleton_word(w)) {
        if !skeleton.is_empty() {
            skeleton.push('-');
        }
        skeleton.push_str(w);
    }
    true
}

/// Everything the matcher needs to know about one model id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedName {
    /// The normalized name (core identity without date), case kept.
    pub normalized: String,
    pub key: TokenKey,
    pub date: Option<DateStamp>,
    /// Sorted alphabetic words without qualifiers; groups versions/variants of one family.
    pub skeleton: String,
}

impl ParsedName {
    /// `None` when the id has no usable core identity (`""`, `vendor/`, `:free`).
    pub fn parse(name: &str) -> Option<ParsedName> {
        let (normalized, date) = strip_dates(core_identity(name));
        let (key, skeleton) = key_and_skeleton(normalized);
        Some(ParsedName {
            normalized: normalized.to_string(),
            key: key?,
            date,
            skeleton,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_groups_stop_at_words() {
        let g = trailing_digit_groups(b"gpt-4-0613");
        assert_eq!(&g.spans[..g.len], &[(6, 10), (4, 5)]);
        let g = trailing_digit_groups(b"x4096");
        assert_eq!(&g.spans[..g.len], &[(1, 5)]);
        assert_eq!(trailing_digit_groups(b"abc").len, 0);
        let g = trailing_digit_groups(b"a-1-2-3-4");
        assert_eq!(&g.spans[..g.len], &[(8, 9), (6, 7), (4, 5)]);
    }

    #[test]
    fn date_display_and_order() {
        let full = DateStamp {
            year: Some(2024),
            month: 8,
            day: Some(6),
        };
        assert_eq!(full.to_string(), "2024-08-06");
        let mmdd = DateStamp {
            year: None,
            month: 6,
            day: Some(13),
        };
        assert_eq!(mmdd.to_string(), "06-13");
        assert!(mmdd < full);
    }
}

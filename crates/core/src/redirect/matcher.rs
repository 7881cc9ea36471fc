//! The version-guarded matcher: for one channel's model list, which standard model maps to which
//! actual model, and why every other standard model does not.
//!
//! A [`Matcher`] is built once per run from the standard list, the alias table and the options;
//! the standard models' token keys are interned there, and every channel's names are looked up
//! against them (one hash lookup per name; parsed names are cached across channels), so a run
//! over thousands of channels does no quadratic string work.

use super::normalize::{
    core_identity, fast_trim, key_and_skeleton, key_and_skeleton_lower, key_hashes, key_hashes_of,
    lowercase_into, strip_dates, DateStamp,
};
use rustc_hash::{FxHashMap as FxMap, FxHashSet as FxSet};
use std::cell::RefCell;

pub use msync_types::redirect::{
    Alias, MatchOptions, MatchResult, MatchRule, Outcome, StandardOutcome, MAX_NAMED,
};

#[derive(Debug, Clone)]
enum Rule {
    Key {
        key: u32,
        date: Option<DateStamp>,
        /// Alias pattern text (for an alias with a plain-name pattern).
        alias: Option<String>,
    },
    Glob {
        pattern: String,
        lower: Vec<char>,
    },
    Invalid(String),
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    rule: Rule,
    skeleton: Option<u32>,
    /// Id of `name` in the name table (entries are interned first, so ids are `0..entries`).
    name_id: u32,
}

/// What the matcher remembers about one actual id. The ids are plain `u32`s with a "none" value
/// rather than `Option<u32>`s: with options, copying an `Info` into a channel's list compiled to
/// a bit-by-bit repacking that cost more than everything else done per name.
#[derive(Debug, Clone, Copy)]
struct Info {
    /// Interned id of the token key, when it equals some entry's key; [`NONE`] otherwise.
    key: u32,
    /// Interned id of the skeleton, when it equals some entry's skeleton; [`NONE`] otherwise.
    skeleton: u32,
    date: Option<DateStamp>,
}

/// No key or skeleton id (ids count entries, so they never reach it).
const NONE: u32 = u32::MAX;

impl Info {
    fn new(key: Option<u32>, skeleton: Option<u32>, date: Option<DateStamp>) -> Info {
        Info {
            key: key.unwrap_or(NONE),
            skeleton: skeleton.unwrap_or(NONE),
            date,
        }
    }

    fn key(&self) -> Option<u32> {
        (self.key != NONE).then_some(self.key)
    }

    fn skeleton(&self) -> Option<u32> {
        (self.skeleton != NONE).then_some(self.skeleton)
    }
}

/// The name table stops growing at this many names (memory bound for huge sites); names beyond
/// it are parsed on each use and de-duplicated through a per-channel map.
const CACHE_LIMIT: usize = 65_536;

/// Names the matcher has seen, interned (up to [`CACHE_LIMIT`]; the standard names always): one
/// hash lookup per name and channel gives the parsed facts and, through an epoch stamp,
/// de-duplication and "present verbatim" checks without a per-channel hash map.
#[derive(Debug, Default)]
struct NameTable {
    ids: FxMap<Box<str>, u32>,
    infos: Vec<Info>,
    /// (epoch, position in the current channel) per name id.
    stamps: Vec<(u32, u32)>,
    epoch: u32,
    /// Reused buffers for parsing new names.
    scratch: Scratch,
}

/// Buffers [`Matcher::compute_info_with`] reuses across names.
#[derive(Debug, Default)]
struct Scratch {
    lower: String,
    key: String,
    skeleton: String,
}

impl NameTable {
    fn intern(&mut self, name: &str, info: impl FnOnce() -> Info) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.infos.len() as u32;
        self.ids.insert(name.into(), id);
        self.infos.push(info());
        self.stamps.push((0, 0));
        id
    }

    /// Start a channel: a fresh epoch makes every stamp stale.
    fn next_epoch(&mut self) -> u32 {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.iter_mut().for_each(|s| *s = (0, 0));
            self.epoch = 1;
        }
        self.epoch
    }
}

/// A prepared standard list. Build once per run, then call [`Matcher::match_models`] per channel.
#[derive(Debug)]
pub struct Matcher {
    /// Processing order: aliases first (explicit intent wins contested models), then standards
    /// in list order.
    entries: Vec<Entry>,
    keys: FxMap<String, u32>,
    skeletons: FxMap<String, u32>,
    /// [`KeyHashes`](super::normalize::KeyHashes) of `keys` and `skeletons`: a name whose hashes
    /// are in neither set shares no key or skeleton with an entry (no key needs building).
    key_hashes: FxSet<u64>,
    skeleton_hashes: FxSet<u64>,
    opts: MatchOptions,
    names: RefCell<NameTable>,
}

impl Matcher {
    /// Standard names are trimmed; empty ones dropped; duplicates (exact text) kept once. An alias
    /// whose name equals a standard name replaces that standard.
    pub fn new(standards: &[String], aliases: &[Alias], opts: MatchOptions) -> Matcher {
        let mut m = Matcher {
            entries: Vec::new(),
            keys: FxMap::default(),
            skeletons: FxMap::default(),
            key_hashes: FxSet::default(),
            skeleton_hashes: FxSet::default(),
            opts,
            names: RefCell::new(NameTable::default()),
        };
        let mut seen = FxSet::default();
        for a in aliases {
            let name = a.name.trim();
            if name.is_empty() || !seen.insert(name.to_string()) {
                continue;
            }
            let pattern = a.pattern.trim();
            let (rule, skeleton) = if pattern.is_empty() {
                (Rule::Invalid("the alias pattern is empty".into()), None)
            } else if pattern.contains(['*', '?']) {
                let rule = Rule::Glob {
                    pattern: pattern.to_string(),
                    lower: pattern.to_lowercase().chars().collect(),
                };
                (rule, None)
            } else {
                m.key_rule(pattern, Some(pattern.to_string()))
            };
            m.entries.push(Entry {
                name: name.to_string(),
                rule,
                skeleton,
                name_id: 0,
            });
        }
        for s in standards {
            let name = s.trim();
            if name.is_empty() || !seen.insert(name.to_string()) {
                continue;
            }
            let (rule, skeleton) = m.key_rule(name, None);
            m.entries.push(Entry {
                name: name.to_string(),
                rule,
                skeleton,
                name_id: 0,
            });
        }
        m.reset_names();
        m
    }

    /// (Re)build the name table with the entries' own names first.
    fn reset_names(&mut self) {
        let mut table = NameTable::default();
        for i in 0..self.entries.len() {
            let info = self.compute_info(&self.entries[i].name);
            self.entries[i].name_id = table.intern(&self.entries[i].name, || info);
        }
        *self.names.get_mut() = table;
    }

    fn key_rule(&mut self, name: &str, alias: Option<String>) -> (Rule, Option<u32>) {
        let (normalized, date) = strip_dates(core_identity(name));
        let (key, skeleton) = key_and_skeleton(normalized);
        let Some(key) = key else {
            return (
                Rule::Invalid(format!("{name:?} has no model name after the vendor path")),
                None,
            );
        };
        let hashes = key_hashes_of(normalized);
        self.key_hashes.insert(hashes.key);
        let n = self.keys.len() as u32;
        let key = *self.keys.entry(key.as_str().to_string()).or_insert(n);
        let skeleton = (!skeleton.is_empty()).then(|| {
            self.skeleton_hashes.insert(hashes.skeleton);
            let n = self.skeletons.len() as u32;
            *self.skeletons.entry(skeleton).or_insert(n)
        });
        (Rule::Key { key, date, alias }, skeleton)
    }

    pub fn options(&self) -> MatchOptions {
        self.opts
    }

    /// The standard and alias names, in processing order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    fn compute_info(&self, name: &str) -> Info {
        self.compute_info_with(name, &mut Scratch::default())
    }

    fn compute_info_with(&self, name: &str, scratch: &mut Scratch) -> Info {
        let (normalized, date) = strip_dates(core_identity(name));
        let Scratch {
            lower,
            key,
            skeleton,
        } = scratch;
        let lower = lowercase_into(normalized, lower);
        let hashes = key_hashes(lower);
        if !self.key_hashes.contains(&hashes.key)
            && !self.skeleton_hashes.contains(&hashes.skeleton)
        {
            // most names of a big site: no entry's key or skeleton, found without building them
            return Info::new(None, None, date);
        }
        let has_key = key_and_skeleton_lower(lower, key, skeleton);
        let key = if has_key {
            self.keys.get(key.as_str()).copied()
        } else {
            None
        };
        Info::new(key, self.skeletons.get(skeleton.as_str()).copied(), date)
    }

    /// Whether `standard → target` is a pair this matcher could generate (the key is one of its
    /// names and the target satisfies that name's rule). Used by bulk clear to find msync's
    /// entries even when their target has since vanished. `target` must already be stripped of
    /// any site marker (DoneHub `+`).
    pub fn owns_pair(&self, standard: &str, target: &str) -> bool {
        let Some(e) = self.entries.iter().find(|e| e.name == standard.trim()) else {
            return false;
        };
        let target = target.trim();
        match &e.rule {
            Rule::Key { key, date, .. } => {
                let info = self.compute_info(target);
                info.key() == Some(*key) && (date.is_none() || info.date == *date)
            }
            Rule::Glob { lower, .. } => glob_match(lower, &target.to_lowercase()),
            Rule::Invalid(_) => false,
        }
    }

    /// Match one channel's models. `models` are the channel's *actual* models (for New API-style
    /// sites: the `models` list without the mapping's own alias keys, see
    /// [`super::apply::actual_models`]). Names are trimmed; empty and duplicate names ignored.
    pub fn match_models<S: AsRef<str>>(&self, models: &[S]) -> MatchResult {
        // index the channel once
        let mut table = self.names.borrow_mut();
        // names not in the (full) table: position in this channel
        let mut overflow: FxMap<&str, usize> = FxMap::default();
        let epoch = table.next_epoch();
        let mut actual: Vec<(&str, Info)> = Vec::with_capacity(models.len());
        let mut by_key: Vec<Vec<usize>> = vec![Vec::new(); self.keys.len()];
        let mut by_skeleton: Vec<Vec<usize>> = vec![Vec::new(); self.skeletons.len()];
        for m in models {
            let name = fast_trim(m.as_ref());
            if name.is_empty() {
                continue;
            }
            let i = actual.len();
            let info = match table.ids.get(name) {
                Some(&id) => {
                    let id = id as usize;
                    if table.stamps[id].0 == epoch {
                        continue; // duplicate in this channel
                    }
                    table.stamps[id] = (epoch, i as u32);
                    table.infos[id]
                }
                None => {
                    let t = &mut *table;
                    let info = self.compute_info_with(name, &mut t.scratch);
                    if t.infos.len() < CACHE_LIMIT {
                        let id = t.intern(name, || info) as usize;
                        t.stamps[id] = (epoch, i as u32);
                    } else {
                        if overflow.capacity() == 0 {
                            // one allocation per channel; on failure the map just grows
                            let _ = overflow.try_reserve(models.len());
                        }
                        if overflow.insert(name, i).is_some() {
                            continue; // duplicate in this channel
                        }
                    }
                    info
                }
            };
            if let Some(k) = info.key() {
                by_key[k as usize].push(i);
            }
            if let Some(s) = info.skeleton() {
                by_skeleton[s as usize].push(i);
            }
            actual.push((name, info));
        }
        // present verbatim: the entry's own name was stamped in this epoch
        let present: Vec<Option<usize>> = self
            .entries
            .iter()
            .map(|e| {
                let (ep, p) = table.stamps[e.name_id as usize];
                (ep == epoch).then_some(p as usize)
            })
            .collect();
        drop(table);

        let n = self.entries.len();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
        // which entry an actual model serves
        let mut used: Vec<Option<usize>> = vec![None; actual.len()];

        // pass 0: names present verbatim serve themselves
        for (ei, _) in self.entries.iter().enumerate() {
            if let Some(ai) = present[ei] {
                if used[ai].is_none() {
                    used[ai] = Some(ei);
                }
                outcomes[ei] = Some(Outcome::AlreadyPresent);
            }
        }

        let mut mapping = Vec::new();
        for (ei, e) in self.entries.iter().enumerate() {
            if outcomes[ei].is_some() {
                continue;
            }
            let outcome = match &e.rule {
                Rule::Invalid(reason) => Outcome::InvalidName {
                    reason: reason.clone(),
                },
                Rule::Glob { pattern, lower } => {
                    let mut undated = Vec::new();
                    let mut dated = Vec::new();
                    for (ai, (name, info)) in actual.iter().enumerate() {
                        if glob_match(lower, &name.to_lowercase()) {
                            match info.date {
                                None => undated.push(ai),
                                Some(d) => dated.push((d, ai)),
                            }
                        }
                    }
                    dated.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                    let all: Vec<usize> = undated
                        .into_iter()
                        .chain(dated.into_iter().map(|(_, ai)| ai))
                        .collect();
                    match all.iter().find(|&&ai| used[ai].is_none()) {
                        Some(&ai) => {
                            used[ai] = Some(ei);
                            Outcome::Mapped {
                                target: actual[ai].0.to_string(),
                                rule: MatchRule::Alias {
                                    pattern: pattern.clone(),
                                },
                            }
                        }
                        None if all.is_empty() => Outcome::NoCandidate,
                        None => self.taken(&all, &actual, &used),
                    }
                }
                Rule::Key { key, date, alias } => {
                    let cands = &by_key[*key as usize];
                    let rule = match alias {
                        Some(p) => MatchRule::Alias { pattern: p.clone() },
                        None if date.is_some() => MatchRule::ExactSnapshot,
                        None => MatchRule::SameKey,
                    };
                    match date {
                        Some(want) => {
                            let exact: Vec<usize> = cands
                                .iter()
                                .copied()
                                .filter(|&ai| actual[ai].1.date == Some(*want))
                                .collect();
                            // an alias naming an exact id prefers that id
                            let pick = alias
                                .as_deref()
                                .and_then(|p| exact.iter().copied().find(|&ai| actual[ai].0 == p))
                                .filter(|&ai| used[ai].is_none())
                                .or_else(|| exact.iter().copied().find(|&ai| used[ai].is_none()));
                            match pick {
                                Some(ai) => {
                                    used[ai] = Some(ei);
                                    Outcome::Mapped {
                                        target: actual[ai].0.to_string(),
                                        rule,
                                    }
                                }
                                None if !exact.is_empty() => self.taken(&exact, &actual, &used),
                                None => self.other_versions(e, cands, &by_skeleton, &actual, *key),
                            }
                        }
                        None => {
                            let undated: Vec<usize> = cands
                                .iter()
                                .copied()
                                .filter(|&ai| actual[ai].1.date.is_none())
                                .collect();
                            let pick = alias
                                .as_deref()
                                .and_then(|p| undated.iter().copied().find(|&ai| actual[ai].0 == p))
                                .filter(|&ai| used[ai].is_none())
                                .or_else(|| undated.iter().copied().find(|&ai| used[ai].is_none()));
                            if let Some(ai) = pick {
                                used[ai] = Some(ei);
                                Outcome::Mapped {
                                    target: actual[ai].0.to_string(),
                                    rule,
                                }
                            } else {
                                let mut dated: Vec<(DateStamp, usize)> = cands
                                    .iter()
                                    .filter_map(|&ai| actual[ai].1.date.map(|d| (d, ai)))
                                    .collect();
                                dated.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                                let free: Vec<(DateStamp, usize)> = dated
                                    .iter()
                                    .copied()
                                    .filter(|&(_, ai)| used[ai].is_none())
                                    .collect();
                                match free.first() {
                                    Some(&(d, ai)) if self.opts.allow_dated_targets => {
                                        used[ai] = Some(ei);
                                        Outcome::DatedFallback {
                                            target: actual[ai].0.to_string(),
                                            date: d,
                                        }
                                    }
                                    Some(_) => Outcome::DatedFallbackDisabled {
                                        candidates: free
                                            .iter()
                                            .map(|&(_, ai)| actual[ai].0.to_string())
                                            .collect(),
                                    },
                                    None if !cands.is_empty() => self.taken(cands, &actual, &used),
                                    None => {
                                        self.other_versions(e, cands, &by_skeleton, &actual, *key)
                                    }
                                }
                            }
                        }
                    }
                }
            };
            if let Some(t) = outcome.target() {
                mapping.push((e.name.clone(), t.to_string()));
            }
            outcomes[ei] = Some(outcome);
        }

        MatchResult {
            mapping,
            outcomes: self
                .entries
                .iter()
                .zip(outcomes)
                .map(|(e, o)| StandardOutcome {
                    standard: e.name.clone(),
                    outcome: o.unwrap_or(Outcome::NoCandidate),
                })
                .collect(),
        }
    }

    fn taken(&self, cands: &[usize], actual: &[(&str, Info)], used: &[Option<usize>]) -> Outcome {
        let mut by: Vec<String> = Vec::new();
        for &ai in cands {
            if let Some(ei) = used[ai] {
                let name = &self.entries[ei].name;
                if !by.contains(name) {
                    by.push(name.clone());
                }
            }
        }
        Outcome::TakenByOther {
            candidates: cands.iter().map(|&ai| actual[ai].0.to_string()).collect(),
            by,
        }
    }

    /// Other versions: same key but another date (for a dated standard), or the same family
    /// skeleton with a different key.
    fn other_versions(
        &self,
        e: &Entry,
        same_key: &[usize],
        by_skeleton: &[Vec<usize>],
        actual: &[(&str, Info)],
        key: u32,
    ) -> Outcome {
        let mut idx: Vec<usize> = same_key.to_vec();
        if let Some(s) = e.skeleton {
            idx.extend(
                by_skeleton[s as usize]
                    .iter()
                    .copied()
                    .filter(|&ai| actual[ai].1.key() != Some(key)),
            );
        }
        if idx.is_empty() {
            return Outcome::NoCandidate;
        }
        idx.sort_unstable();
        idx.dedup();
        Outcome::OnlyOtherVersions {
            total: idx.len(),
            models: idx
                .iter()
                .take(MAX_NAMED)
                .map(|&ai| actual[ai].0.to_string())
                .collect(),
        }
    }
}

/// Glob match (`*` any run, `?` one character) over chars. Linear backtracking on the last `*`.
pub(crate) fn glob_match(pattern: &[char], text: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < t.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == t[i]) {
            p += 1;
            i += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What [`Matcher::compute_info`] must give: the key and skeleton built and looked up for
    /// every name, without the hash prefilter.
    fn full_info(m: &Matcher, name: &str) -> (Option<u32>, Option<u32>, Option<DateStamp>) {
        let (normalized, date) = strip_dates(core_identity(name));
        let (key, skeleton) = key_and_skeleton(normalized);
        (
            key.and_then(|k| m.keys.get(k.as_str()).copied()),
            m.skeletons.get(skeleton.as_str()).copied(),
            date,
        )
    }

    fn info_of(m: &Matcher, name: &str) -> (Option<u32>, Option<u32>, Option<DateStamp>) {
        let i = m.compute_info(name);
        (i.key(), i.skeleton(), i.date)
    }

    #[test]
    fn the_prefilter_lets_every_spelling_of_a_key_or_skeleton_through() {
        let stds: Vec<String> = [
            "claude-4.5-sonnet",
            "qwen-2",
            "gpt-4o",
            "模型-1",
            // U+212A KELVIN SIGN lowercases to an ASCII `k`
            "gpt-\u{212A}",
            "gemini-2.5-flash-preview-05-20",
            // a qualifier and a number: the key alone (the skeleton is empty) must let it through
            "beta-3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = Matcher::new(&stds, &[], MatchOptions::default());
        for (name, key, skeleton) in [
            ("anthropic/Claude-Sonnet-4-5:free", true, true),
            ("claude-sonnet-3-7-thinking", false, true),
            ("QWEN2", true, true),
            ("qwen_2@20240101", true, true),
            ("gpt-4o-2024-08-06", true, true),
            ("x/模型_1", true, true),
            ("GPT-K", true, true),
            ("Gemini-Preview-Flash-2-5", true, true),
            ("gemini-flash-thinking-1.5", false, true),
            ("llama-3-70b", false, false),
            ("BETA3", true, false),
            ("x/beta_3:free", true, false),
        ] {
            let got = info_of(&m, name);
            assert_eq!(got, full_info(&m, name), "{name}");
            assert_eq!(
                (got.0.is_some(), got.1.is_some()),
                (key, skeleton),
                "{name}"
            );
        }
    }

    /// Names from a small vocabulary (cases, digits glued to letters, qualifiers, non-ASCII
    /// letters and separators), so that standards and names often share keys and skeletons.
    fn model_name() -> impl Strategy<Value = String> {
        const TOKENS: &[&str] = &[
            "gpt", "GPT", "4o", "4", "5", "05", "20", "mini", "Mini", "claude", "sonnet", "qwen2",
            "qwen", "2", "a22b", "22b", "thinking", "preview", "free", "2024", "08", "06", "0613",
            "模型", "Σ", "\u{212A}", "k", "x#1", "v3", "beta", "exp1", "preview2", "think",
        ];
        const SEPS: &[&str] = &["-", "_", ".", "@", " ", "/", ":", "\u{3000}", "\u{B}", "--"];
        proptest::collection::vec((0..TOKENS.len(), 0..SEPS.len()), 1..6).prop_map(|parts| {
            let mut s = String::new();
            for (i, (t, sep)) in parts.into_iter().enumerate() {
                if i > 0 {
                    s.push_str(SEPS[sep]);
                }
                s.push_str(TOKENS[t]);
            }
            s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn property_the_prefilter_never_changes_what_a_name_is(
            stds in proptest::collection::vec(model_name(), 1..6),
            names in proptest::collection::vec(model_name(), 1..40),
        ) {
            let m = Matcher::new(&stds, &[], MatchOptions::default());
            // the standards themselves, respelled, always share their keys
            let respelled = stds.iter().flat_map(|s| {
                [s.to_uppercase(), format!("vendor/{s}:free"), s.replace('-', "_")]
            });
            for name in names.iter().cloned().chain(respelled) {
                prop_assert_eq!(info_of(&m, &name), full_info(&m, &name), "{:?}", name);
            }
        }
    }

    fn g(p: &str, t: &str) -> bool {
        glob_match(&p.chars().collect::<Vec<_>>(), t)
    }

    #[test]
    fn a_full_name_table_still_matches_and_dedupes() {
        let stds: Vec<String> = ["gpt-4o", "claude-4.5-sonnet"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = Matcher::new(&stds, &[], MatchOptions::default());
        let filler: Vec<String> = (0..CACHE_LIMIT + 10).map(|i| format!("f{i}")).collect();
        m.match_models(&filler);
        assert_eq!(m.names.borrow().infos.len(), CACHE_LIMIT);
        // these names are new and the table is full: the overflow path
        let models: Vec<String> = [
            "x/claude-sonnet-4-5",
            "x/claude-sonnet-4-5",
            "gpt-4o",
            "y/gpt-4o",
            "y/gpt-4o",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let got = m.match_models(&models);
        let fresh = Matcher::new(&stds, &[], MatchOptions::default()).match_models(&models);
        assert_eq!(got, fresh);
        assert_eq!(got.outcome("gpt-4o"), Some(&Outcome::AlreadyPresent));
        assert_eq!(
            got.mapping,
            vec![(
                "claude-4.5-sonnet".to_string(),
                "x/claude-sonnet-4-5".to_string()
            )]
        );
    }

    #[test]
    fn globs() {
        assert!(g("claude-haiku-4-5*", "claude-haiku-4-5-20251001"));
        assert!(g("*haiku*", "anthropic/claude-haiku-4-5"));
        assert!(!g("claude-haiku-4-5*", "x/claude-haiku-4-5"));
        assert!(g("gpt-?o", "gpt-4o"));
        assert!(!g("gpt-?o", "gpt-4.1o"));
        assert!(g("*", ""));
        assert!(g("a*b*c", "axxbyyc"));
        assert!(!g("a*b*c", "axxbyy"));
        assert!(g("模型*", "模型-1"));
    }
}
